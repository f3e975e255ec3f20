"""Is an address detailed to province, city, district, street and house number?

The division part is read left to right against the national division index
(province → city → district), each step restricted to the children of what
was already found. A part that is missing but follows without ambiguity from
a lower one (杭州市 → 浙江省) is filled in and reported as filled; a district
name shared by several cities (朝阳区, 鼓楼区) with no city written is
ambiguous and stays an error. Road names made of place names (中山路, 上海路,
香港中路) are recognised by what follows the name: 路/街/大道 means the name
was a road, not a division.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from .divisions import CITY, COUNTY, PROVINCE, REVIEW_PROVINCES, Division, DivisionIndex, division_index
from .text import fold

# Labels used in messages and in AddressParse.missing.
PROVINCE_PART, CITY_PART, DISTRICT_PART, STREET_PART, NUMBER_PART = "省", "市", "区/县", "街道/路名", "门牌号"

_STRIP = re.compile(r"[\s,，、;；|]+")
_COUNTRY = re.compile(r"^(?:中华人民共和国|中国大陆|中国)")
_ROAD_AFTER = re.compile(r"[东西南北中]?[一二三四五六七八九十]?(?:路|街|大街|大道|道|巷|弄|胡同|马路)")
_SUFFIX_AFTER_SHORT = set("省市区县旗州盟")
# Hong Kong, Macau and Taiwan: the division table stops at the region, so these
# place names (written without the region) also send an address to review.
_HK_MO_TW_START = re.compile(r"(?:台湾|台北|新北|桃园|台中|台南|高雄|基隆|新竹|嘉义|香港|九龙|新界|澳门|氹仔|路环)")
_ZONE = re.compile(
    r"[\u4e00-\u9fffa-z0-9]{0,12}?(?:高新技术产业开发区|经济技术开发区|经济开发区|高新技术开发区|高新区|开发区|"
    r"工业园区|产业园区|工业园|科技园|保税区|经开区|新区|园区|试验区|示范区)"
)
_SUB_DISTRICT = re.compile(r"^[\u4e00-\u9fff]{1,8}?(?:街道办事处|街道办|街道|镇|乡)(?![路街巷道])")
_STREET = re.compile(
    r"路|街|大道|(?<!街)道|巷|弄|胡同|村|社区|小区|大厦|大楼|广场|花园|公寓|家园|新村|苑|园|庄|屯|院|中心|工业区|嘎查|里|坊|城"
)
_NUMBER = re.compile(
    r"(?:\d+|[零〇一二三四五六七八九十百千两]+|[a-z]\d*)\s*(?:号|栋|幢|座|单元|室|楼|层|组|户|弄|排|门|#)"
    r"|\d+(?:-\d+)+"
)
_DIGITS = re.compile(r"\d+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True)
class AddressParse:
    """What the address says, what was inferred, and what is missing."""

    text: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    detail: str = ""
    filled: tuple[str, ...] = ()  # "province", "city" when inferred
    missing: tuple[str, ...] = ()  # labels: 省 市 区/县 街道/路名 门牌号
    ambiguous_name: str | None = None
    candidates: tuple[str, ...] = ()  # e.g. ("北京市朝阳区", "长春市朝阳区")
    review: str | None = None  # reason a person must look at it
    zone: str | None = None  # economic zone written in place of a district

    @property
    def complete(self) -> bool:
        return not self.missing and not self.ambiguous_name


@dataclass
class _State:
    province: Division | None = None
    city: Division | None = None
    county: Division | None = None
    filled: list[str] = field(default_factory=list)


def parse_address(text: str) -> AddressParse:
    """Parse one address (cached: real sheets repeat addresses a lot)."""
    return _parse(text if isinstance(text, str) else str(text))


@lru_cache(maxsize=32768)
def _parse(raw: str) -> AddressParse:
    norm = _COUNTRY.sub("", _STRIP.sub("", fold(raw)))
    written = _as_written(raw, norm)
    if _CJK.search(norm) is None or (_LATIN.search(norm) is not None
                                     and len(_LATIN.findall(norm)) >= 2 * len(_CJK.findall(norm))):
        return AddressParse(norm, detail=written, review="英文或拼音地址，离线数据无法核对，请人工复核。")
    idx = division_index()
    st = _State()
    pos = _match_province(idx, norm, 0, st)
    if st.province and st.province.code in REVIEW_PROVINCES:
        return AddressParse(norm, province=st.province.name, detail=written[pos:],
                            review=f"{st.province.name}地址，离线数据无法核对到街道门牌，请人工复核。")
    hk = _HK_MO_TW_START.match(norm) if st.province is None else None
    if hk and not _ROAD_AFTER.match(norm, hk.end()):
        return AddressParse(norm, detail=written, review="港澳台地址，离线数据无法核对到街道门牌，请人工复核。")
    pos = _match_city(idx, norm, pos, st)
    ambiguous: tuple[str, tuple[str, ...]] | None = None
    if st.city is None or idx.has_districts(st.city):
        pos, ambiguous = _match_county(idx, norm, pos, st)
    if st.province and st.province.code in REVIEW_PROVINCES:  # reached through a city/district
        return AddressParse(norm, province=st.province.name, detail=written[pos:],
                            review=f"{st.province.name}地址，离线数据无法核对到街道门牌，请人工复核。")
    zone = None
    if st.county is None and ambiguous is None and st.city is not None and idx.has_districts(st.city):
        m = _ZONE.match(norm, pos)
        if m:
            zone = m.group(0)
            pos = m.end()
    detail = written[pos:]
    missing: list[str] = []
    if ambiguous is None:
        if st.province is None:
            missing.append(PROVINCE_PART)
        if st.city is None:
            missing.append(CITY_PART)
        if st.county is None and zone is None and (st.city is None or idx.has_districts(st.city)):
            missing.append(DISTRICT_PART)
    missing.extend(_street_and_number(detail))
    review = f"用“{zone}”代替了区/县，请人工核对所属区县。" if zone else None
    return AddressParse(
        norm,
        province=st.province.name if st.province else None,
        city=st.city.name if st.city else None,
        district=st.county.name if st.county else None,
        detail=detail,
        filled=tuple(st.filled),
        missing=tuple(missing),
        ambiguous_name=ambiguous[0] if ambiguous else None,
        candidates=ambiguous[1] if ambiguous else (),
        review=review,
        zone=zone,
    )


def _as_written(raw: str, norm: str) -> str:
    """``norm`` with the letters' case as the address was written (B座 stays B座, not b座).

    Matching runs on the folded text; what goes back to the workbook keeps the writer's capitals."""
    from .text import INVISIBLE, to_simplified

    cased = _COUNTRY.sub("", _STRIP.sub("", to_simplified(INVISIBLE.sub("", unicodedata.normalize("NFKC", raw)))))
    return cased if len(cased) == len(norm) and cased.lower() == norm else norm


def _street_and_number(detail: str) -> list[str]:
    """Street-level word and house-number word; a leading 街道/镇/乡 is a sub-district, not a street."""
    rest = _SUB_DISTRICT.sub("", detail, count=1)
    missing = []
    street = _STREET.search(rest)
    if not street:
        missing.append(STREET_PART)
    if not (_NUMBER.search(rest) or (street and _DIGITS.search(rest, street.end()))):
        missing.append(NUMBER_PART)
    return missing


def _acceptable(text: str, end: int, is_short: bool) -> bool:
    """A name is a division unless what follows shows it is part of a road name or a longer name.

    Only short names can start a road name (中山路, 上海路); a full name with its suffix
    (哈尔滨市道里区, 锦江区东大街) is the division even when a road word follows.
    """
    if not is_short:
        return True
    if _ROAD_AFTER.match(text, end):
        return False
    if is_short and end < len(text) and text[end] in _SUFFIX_AFTER_SHORT:
        return False
    return True


def _match_province(idx: DivisionIndex, text: str, pos: int, st: _State) -> int:
    for name, hits in idx.names_at(text, pos):
        for d, is_short in hits:
            if d.level == PROVINCE and _acceptable(text, pos + len(name), is_short):
                st.province = d
                return pos + len(name)
    return pos


def _match_city(idx: DivisionIndex, text: str, pos: int, st: _State) -> int:
    for name, hits in idx.names_at(text, pos):
        found = {d.code: d for d, is_short in hits
                 if d.level == CITY and (st.province is None or d.parent == st.province.code)
                 and _acceptable(text, pos + len(name), is_short)}
        if len(found) == 1:
            st.city = next(iter(found.values()))
            if st.province is None:
                st.province = idx.province_of(st.city)
                st.filled.append("province")
            return pos + len(name)
    if st.city is None and st.province is not None:
        st.city = idx.only_city(st.province)  # 北京市 is its own city: nothing to fill
    return pos


def _match_county(idx: DivisionIndex, text: str, pos: int, st: _State) -> tuple[int, tuple[str, tuple[str, ...]] | None]:
    context = st.city is not None or st.province is not None
    for name, hits in idx.names_at(text, pos):
        found = {}
        for d, is_short in hits:
            if d.level != COUNTY or (is_short and not context):
                continue
            if st.city is not None and d.parent != st.city.code:
                continue
            if st.province is not None and idx.province_of(d).code != st.province.code:
                continue
            if _acceptable(text, pos + len(name), is_short):
                found[d.code] = d
        if len(found) == 1:
            st.county = next(iter(found.values()))
            if st.city is None:
                st.city = idx.city_of(st.county)
                st.filled.append("city")
            if st.province is None:
                st.province = idx.province_of(st.county)
                st.filled.insert(0, "province")
            return pos + len(name), None
        if len(found) > 1:
            where = tuple(sorted(f"{idx.city_of(d).name}{d.name}" for d in found.values()))  # type: ignore[union-attr]
            return pos + len(name), (name, where)
    return pos, None
