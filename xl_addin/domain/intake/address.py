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
from dataclasses import dataclass, field
from functools import lru_cache

from .divisions import CITY, COUNTY, PROVINCE, REVIEW_PROVINCES, Division, DivisionIndex, division_index
from .text import unfolded_case

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
# ERP exports put a statistical level between a province/municipality and its district
_LEVEL_FILLER = re.compile(r"(?:市辖区|市辖县|(?:省|自治区)?直辖县级行政(?:区划|单位)|省直辖县级)")
# a delivery point only described by what is near it
_FILLER_STARTS = frozenset("市省自直")
_VAGUE = re.compile(r"附近|旁边|对面|周边|一带|隔壁|周围|大概|左右(?!江)|往[东南西北前里]走|拐角")
_FOREIGN_CN = re.compile(
    r"^(?:美国|日本|韩国|朝鲜|英国|法国|德国|意大利|西班牙|葡萄牙|荷兰|比利时|瑞士|瑞典|挪威|芬兰|丹麦|爱尔兰|奥地利|波兰|"
    r"俄罗斯|乌克兰|土耳其|以色列|沙特|阿联酋|迪拜|卡塔尔|加拿大|墨西哥|巴西|阿根廷|智利|澳大利亚|澳洲|新西兰|新加坡|"
    r"马来西亚|泰国|越南|柬埔寨|老挝|缅甸|菲律宾|印度尼西亚|印尼|印度|巴基斯坦|孟加拉|蒙古国|哈萨克斯坦|南非|埃及|尼日利亚|肯尼亚)"
)
_FOREIGN_EN = re.compile(
    r"\b(?:usa|u\.s\.a\.?|united states|america|japan|south korea|korea|united kingdom|uk|england|scotland|"
    r"germany|france|italy|spain|portugal|netherlands|belgium|switzerland|sweden|norway|finland|denmark|ireland|"
    r"austria|poland|russia|ukraine|turkey|israel|saudi arabia|uae|dubai|qatar|canada|mexico|brazil|argentina|"
    r"chile|australia|new zealand|singapore|malaysia|thailand|vietnam|viet nam|cambodia|myanmar|philippines|"
    r"indonesia|india|pakistan|bangladesh|mongolia|kazakhstan|south africa|egypt|nigeria|kenya)\b\.?\s*$"
    r"|^\s*(?:usa|japan|korea|uk|germany|france|canada|australia|singapore|malaysia|thailand)\b"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]")
_LATIN_WORD = re.compile(r"[a-z]{2}")


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
    foreign: str | None = None  # the country named, for an address outside China

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
    base = unfolded_case(raw)  # fold(raw) is base.lower(): the normalisation runs once for both
    folded = base.lower()
    norm = _COUNTRY.sub("", _STRIP.sub("", folded))
    written = _as_written(base, folded, norm)
    abroad = _FOREIGN_CN.match(norm) or (_LATIN_WORD.search(norm) is not None
                                         and _FOREIGN_EN.search(" ".join(folded.replace(",", " ").split())))
    if abroad:
        country = abroad.group(0).strip(" .")
        return AddressParse(norm, detail=written, foreign=country.upper() if country.isascii() else country)
    if _CJK.search(norm) is None or (_LATIN.search(norm) is not None
                                     and len(_LATIN.findall(norm)) >= 2 * len(_CJK.findall(norm))):
        return AddressParse(norm, detail=written, review="英文或拼音地址，离线数据无法核对，请人工复核。")
    head = _divisions(division_index(), norm)
    pos = head[1]
    if head[0] is not None:  # Taiwan, Hong Kong, Macau: a person reviews it
        return AddressParse(norm, province=head[2], detail=written[pos:] if head[0] == "region" else written,
                            review=head[8])
    _, _, province, city, district, filled, ambiguous, head_notes, zone, missing_head = head
    detail = written[pos:]
    missing = list(missing_head)
    notes = list(head_notes)
    street_number = _street_and_number(detail)
    vague = _VAGUE.search(detail)
    if vague:
        notes.append(f"收货地点只写了“{detail}”（{vague.group(0)}），是模糊位置，快递员难以派送，请与客户确认具体门牌。")
        street_number = []
    missing.extend(street_number)
    if zone:
        notes.insert(0, f"用“{zone}”代替了区/县，请人工核对所属区县。")
    # what AddressParse(...) builds, filled in one step (its __init__ sets the 12 frozen fields one by one)
    parsed = _new(AddressParse)
    parsed.__dict__.update(text=norm, province=province, city=city, district=district, detail=detail, filled=filled,
                           missing=tuple(missing), ambiguous_name=ambiguous[0] if ambiguous else None,
                           candidates=ambiguous[1] if ambiguous else (), review="".join(notes) or None, zone=zone,
                           foreign=None)
    return parsed


_new = object.__new__


# The division part of an address (province, city, district, what was filled in, notes) depends only on
# the characters the matching read, and real sheets write the same few thousand heads (广东省深圳市南山区)
# before ever-different streets and numbers. So it is cached under exactly the prefix it read: every
# read below raises ``hz[0]`` to the end of what it looked at (regular expressions: their longest
# possible match, plus one), and a result is kept under ``norm[:hz[0]]``. Any text with that prefix
# (and at least that long) reads the same characters, so it gets the same division part.
# tests/intake/test_address_differential.py compares it with the same parsing, the cache bypassed.
_HEADS: dict[str, tuple] = {}
# first two characters → prefix lengths kept for them, shortest first. Threads may share the cache: an entry is
# only ever a correct one, so a race costs at most a miss (the head is matched again)
_HEAD_LENGTHS: dict[str, list[int]] = {}
_HEADS_MAX = 65536
_heads_of: list = [None]  # the index the cache was filled from
_ROAD_AFTER_MAX = 4 + 1  # [东…中]? [一…十]? 大街/胡同/…: at most 4 characters
# every text _LEVEL_FILLER can match, spelled out
_FILLER_WORDS = ("市辖区", "市辖县", "省直辖县级",
                 *(p + "直辖县级行政" + s for p in ("", "省", "自治区") for s in ("区划", "单位")))
_ZONE_MAX = 12 + 9 + 1   # 12 characters, then 高新技术产业开发区
_HK_MAX = 2 + 1


def _divisions(idx: DivisionIndex, norm: str) -> tuple:
    """(kind, end of the division part, province, city, district, filled, ambiguous, notes, zone or review,
    missing division labels); kind is None, or "region"/"hk" for an address a person reviews."""
    if _heads_of[0] is not idx:
        _HEADS.clear()
        _HEAD_LENGTHS.clear()
        _heads_of[0] = idx
    n = len(norm)
    lengths = _HEAD_LENGTHS.get(norm[:2])
    if lengths:
        heads = _HEADS
        for h in lengths:
            if h > n:
                break
            found = heads.get(norm[:h])
            if found is not None:
                return found
    hz = [2]
    head = _read_divisions(idx, norm, hz)
    h = hz[0]
    if h <= n:
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
            _HEAD_LENGTHS.clear()
        key = norm[:h]
        if key not in _HEADS:
            _HEADS[key] = head
            known = _HEAD_LENGTHS.get(norm[:2], ())
            if h not in known:  # a new list, never one sorted in place under another thread's loop
                _HEAD_LENGTHS[norm[:2]] = sorted([*known, h])
    return head


def _read_divisions(idx: DivisionIndex, norm: str, hz: list[int]) -> tuple:
    st = _State()
    pos = _match_province(idx, norm, 0, st, hz)
    if st.province and st.province.code in REVIEW_PROVINCES:
        return ("region", pos, st.province.name, None, None, (), None, (), _region_review(st.province), ())
    if st.province is None:
        hz[0] = max(hz[0], _HK_MAX)
        hk = _HK_MO_TW_START.match(norm)
        if hk:
            hz[0] = max(hz[0], hk.end() + _ROAD_AFTER_MAX)
            if not _ROAD_AFTER.match(norm, hk.end()):
                return ("hk", 0, None, None, None, (), None, (), "港澳台地址，离线数据无法核对到街道门牌，请人工复核。", ())
    pos = _skip_filler(norm, pos, hz)
    pos = _match_city(idx, norm, pos, st, hz)
    pos = _skip_filler(norm, pos, hz)
    ambiguous: tuple[str, tuple[str, ...]] | None = None
    notes: list[str] = []
    renamed = False
    hz[0] = max(hz[0], pos + (idx.new_area_max if norm[pos:pos + 2] in idx.new_area_starts else 2))
    area = idx.new_area_at(norm, pos)
    if area and (st.province is None or st.province.code == area[1].code):
        pos, renamed = _in_new_area(idx, norm, pos, st, area, notes, hz)
    elif st.city is None or idx.has_districts(st.city):
        pos, ambiguous = _match_county(idx, norm, pos, st, hz)
        if st.county is None and ambiguous is None and (st.city is not None or st.province is not None):
            pos, renamed = _match_renamed(idx, norm, pos, st, notes, hz)
    if st.province and st.province.code in REVIEW_PROVINCES:  # reached through a city/district
        return ("region", pos, st.province.name, None, None, (), None, (), _region_review(st.province), ())
    zone = None
    if st.county is None and ambiguous is None and st.city is not None and idx.has_districts(st.city):
        hz[0] = max(hz[0], pos + _ZONE_MAX)
        m = _ZONE.match(norm, pos)
        if m:
            zone = m.group(0)
            pos = m.end()
    missing: list[str] = []
    if ambiguous is None:
        if st.province is None:
            missing.append(PROVINCE_PART)
        if st.city is None and not renamed:
            missing.append(CITY_PART)
        if st.county is None and zone is None and not renamed and (st.city is None or idx.has_districts(st.city)):
            missing.append(DISTRICT_PART)
    return (None, pos, st.province.name if st.province else None, st.city.name if st.city else None,
            st.county.name if st.county else None, tuple(st.filled), ambiguous, tuple(notes), zone, tuple(missing))


def _common_prefix(text: str, pos: int, word: str) -> int:
    n = 0
    for ch in word:
        if text[pos + n:pos + n + 1] != ch:
            break
        n += 1
    return n


def _region_review(province: Division) -> str:
    return f"{province.name}地址，离线数据无法核对到街道门牌，请人工复核。"


def _names_at(idx: DivisionIndex, text: str, pos: int, hz: list[int]):
    """``idx.names_at``, noting how far it looked (the longest name starting with these two characters)."""
    lengths = idx.lengths.get(text[pos:pos + 2])
    end = pos + (lengths[0] if lengths else 2)
    if end > hz[0]:
        hz[0] = end
    return idx.names_at(text, pos) if lengths else ()


def _as_written(base: str, folded: str, norm: str) -> str:
    """``norm`` with the letters' case as the address was written (B座 stays B座, not b座).

    Matching runs on the folded text; what goes back to the workbook keeps the writer's capitals.
    ``base`` is the address normalised but not lower-cased (``folded`` = ``base.lower()``)."""
    if base == folded:  # nothing lower-cased: the written form is the folded one
        return norm
    cased = _COUNTRY.sub("", _STRIP.sub("", base))
    return cased if len(cased) == len(norm) and cased.lower() == norm else norm


def _skip_filler(text: str, pos: int, hz: list[int]) -> int:
    if text[pos:pos + 1] not in _FILLER_STARTS:
        if pos + 1 > hz[0]:
            hz[0] = pos + 1
        return pos  # the common case, without a regex
    # how far the pattern looks: up to the first character that no filler word continues with (市南区: 2)
    seen = max(_common_prefix(text, pos, word) for word in _FILLER_WORDS)
    hz[0] = max(hz[0], pos + seen + 1)
    m = _LEVEL_FILLER.match(text, pos)
    return m.end() if m else pos


def _in_new_area(idx: DivisionIndex, text: str, pos: int, st: _State, area, notes: list[str],
                 hz: list[int]) -> tuple[int, bool]:
    """A national new area written between the city and the county; its county may belong to another city."""
    name, province, cities = area
    pos += len(name)
    if st.province is None:
        st.province = province
        st.filled.append("province")
    written_city = st.city
    st.city = None
    filled_before = list(st.filled)
    pos, _ = _match_county(idx, text, pos, st, hz)
    if st.county is not None:
        st.filled = [f for f in st.filled if f != "city" or "city" in filled_before]
        city = st.city
        if written_city is not None and city is not None and city.code != written_city.code:
            notes.append(f"“{name}”是国家级新区，地址里的{st.county.name}属{city.name}（不属{written_city.name}），"
                         f"已按{city.name}{st.county.name}解析，请人工核对。")
        elif written_city is None and city is not None:
            st.filled.append("city")
        return pos, False
    st.city = written_city or (cities[0] if len(cities) == 1 else None)
    where = "、".join(c.name for c in cities)
    notes.append(f"用国家级新区“{name}”（涉及{where}）代替了区/县，请人工核对所属区县。")
    return pos, True


def _match_renamed(idx: DivisionIndex, text: str, pos: int, st: _State, notes: list[str],
                   hz: list[int]) -> tuple[int, bool]:
    """A district under its old name: retired (闸北区 → 静安区) or with its old suffix (密云县 → 密云区)."""
    hz[0] = max(hz[0], pos + (idx.retired_max if text[pos:pos + 2] in idx.retired_starts else 2))
    found = idx.retired_at(text, pos)
    if found:
        old, entries = found
        entries = [e for e in entries if (st.city is None or e[0].code == st.city.code)
                   and (st.province is None or idx.province_of(e[0]).code == st.province.code)]
        if len(entries) == 1:
            city, now, year = entries[0]
            if st.city is None:
                st.city = city
                st.filled.append("city")
            if len(now) == 1:
                st.county = now[0]
                notes.append(f"“{old}”已于{year}年撤销，现属{now[0].name}，已按{city.name}{now[0].name}解析，请与客户核对。")
            else:
                listed = "或".join(d.name for d in now)
                notes.append(f"“{old}”已于{year}年撤销，现分属{listed}，请与客户核对属于哪个区。")
            return pos + len(old), True
    for name, hits in _names_at(idx, text, pos, hz):
        end = pos + len(name)
        hz[0] = max(hz[0], end + 1)
        if end >= len(text) or text[end] not in "县区市":
            continue
        found_d = {d.code: d for d, is_short in hits
                   if is_short and d.level == COUNTY and d.name != text[pos:end + 1]
                   and (st.city is None or d.parent == st.city.code)
                   and (st.province is None or idx.province_of(d).code == st.province.code)}
        if len(found_d) == 1:
            d = next(iter(found_d.values()))
            st.county = d
            if st.city is None:
                st.city = idx.city_of(d)
                st.filled.append("city")
            notes.append(f"“{text[pos:end + 1]}”现名“{d.name}”，已按{d.name}解析，请与客户核对。")
            return end + 1, False
    return pos, False


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


def _acceptable(text: str, end: int, is_short: bool, hz: list[int]) -> bool:
    """A name is a division unless what follows shows it is part of a road name or a longer name.

    Only short names can start a road name (中山路, 上海路); a full name with its suffix
    (哈尔滨市道里区, 锦江区东大街) is the division even when a road word follows.
    """
    if not is_short:
        return True
    if end + _ROAD_AFTER_MAX > hz[0]:
        hz[0] = end + _ROAD_AFTER_MAX
    if _ROAD_AFTER.match(text, end):
        return False
    if is_short and end < len(text) and text[end] in _SUFFIX_AFTER_SHORT:
        return False
    return True


def _match_province(idx: DivisionIndex, text: str, pos: int, st: _State, hz: list[int]) -> int:
    for name, hits in _names_at(idx, text, pos, hz):
        for d, is_short in hits:
            if d.level == PROVINCE and _acceptable(text, pos + len(name), is_short, hz):
                st.province = d
                return pos + len(name)
    return pos


def _match_city(idx: DivisionIndex, text: str, pos: int, st: _State, hz: list[int]) -> int:
    for name, hits in _names_at(idx, text, pos, hz):
        found = {d.code: d for d, is_short in hits
                 if d.level == CITY and (st.province is None or d.parent == st.province.code)
                 and _acceptable(text, pos + len(name), is_short, hz)}
        if len(found) == 1:
            st.city = next(iter(found.values()))
            if st.province is None:
                st.province = idx.province_of(st.city)
                st.filled.append("province")
            return pos + len(name)
    if st.city is None and st.province is not None:
        st.city = idx.only_city(st.province)  # 北京市 is its own city: nothing to fill
    return pos


def _match_county(idx: DivisionIndex, text: str, pos: int, st: _State,
                  hz: list[int]) -> tuple[int, tuple[str, tuple[str, ...]] | None]:
    context = st.city is not None or st.province is not None
    for name, hits in _names_at(idx, text, pos, hz):
        found = {}
        for d, is_short in hits:
            if d.level != COUNTY or (is_short and not context):
                continue
            if st.city is not None and d.parent != st.city.code:
                continue
            if st.province is not None and idx.province_of(d).code != st.province.code:
                continue
            if _acceptable(text, pos + len(name), is_short, hz):
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
