"""A small map of Chinese cities and hubs for plausible sandbox routes (area codes are GB/T 2260)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    province: str  # short name as Kuaidi100 prints it ("广东")
    province_full: str
    city: str
    district: str
    area_code: str  # CN + 6-digit admin code of the district + 000000
    lng: float
    lat: float
    pinyin: str

    @property
    def area_name(self) -> str:
        return f"{self.province},{self.city},{self.district}"

    @property
    def center(self) -> str:
        return f"{self.lng:.6f},{self.lat:.6f}"


CITIES: tuple[City, ...] = (
    City("广东", "广东省", "广州市", "白云区", "CN440111000000", 113.273034, 23.157290, "bai yun qu"),
    City("广东", "广东省", "深圳市", "龙华区", "CN440309000000", 114.044346, 22.691963, "long hua qu"),
    City("广东", "广东省", "惠州市", "惠城区", "CN441302000000", 114.416196, 23.111847, "hui cheng qu"),
    City("广东", "广东省", "东莞市", "东莞市", "CN441900000000", 113.751765, 23.020536, "dong guan shi"),
    City("上海", "上海市", "上海市", "浦东新区", "CN310115000000", 121.544379, 31.221517, "pu dong xin qu"),
    City("北京", "北京市", "北京市", "朝阳区", "CN110105000000", 116.443108, 39.921470, "chao yang qu"),
    City("浙江", "浙江省", "杭州市", "西湖区", "CN330106000000", 120.130203, 30.259324, "xi hu qu"),
    City("浙江", "浙江省", "义乌市", "义乌市", "CN330782000000", 120.075058, 29.306841, "yi wu shi"),
    City("江苏", "江苏省", "苏州市", "虎丘区", "CN320505000000", 120.566833, 31.294845, "hu qiu qu"),
    City("江苏", "江苏省", "南京市", "鼓楼区", "CN320106000000", 118.769739, 32.066966, "gu lou qu"),
    City("江苏", "江苏省", "无锡市", "梁溪区", "CN320213000000", 120.296595, 31.575706, "liang xi qu"),
    City("四川", "四川省", "成都市", "双流区", "CN510116000000", 103.923648, 30.574473, "shuang liu qu"),
    City("重庆", "重庆市", "重庆市", "渝北区", "CN500112000000", 106.630153, 29.718142, "yu bei qu"),
    City("湖北", "湖北省", "武汉市", "武昌区", "CN420106000000", 114.316200, 30.554030, "wu chang qu"),
    City("湖南", "湖南省", "长沙市", "岳麓区", "CN430104000000", 112.931383, 28.235243, "yue lu qu"),
    City("陕西", "陕西省", "西安市", "雁塔区", "CN610113000000", 108.948024, 34.222170, "yan ta qu"),
    City("河南", "河南省", "郑州市", "金水区", "CN410105000000", 113.686037, 34.775838, "jin shui qu"),
    City("山东", "山东省", "济南市", "历下区", "CN370102000000", 117.076441, 36.666282, "li xia qu"),
    City("山东", "山东省", "青岛市", "市南区", "CN370202000000", 120.412392, 36.075651, "shi nan qu"),
    City("福建", "福建省", "厦门市", "湖里区", "CN350206000000", 118.146769, 24.512905, "hu li qu"),
    City("天津", "天津市", "天津市", "河西区", "CN120103000000", 117.223372, 39.109563, "he xi qu"),
    City("辽宁", "辽宁省", "沈阳市", "和平区", "CN210102000000", 123.420368, 41.789450, "he ping qu"),
    City("云南", "云南省", "昆明市", "五华区", "CN530102000000", 102.704412, 25.043609, "wu hua qu"),
    City("河北", "河北省", "石家庄市", "长安区", "CN130102000000", 114.539395, 38.036600, "chang an qu"),
)

#: cities with a national transfer hub, used as the middle stop of long routes
HUB_CITIES = ("武汉市", "郑州市", "长沙市", "南京市", "济南市", "西安市", "上海市", "广州市", "杭州市")


def by_city(name: str) -> City:
    for c in CITIES:
        if c.city == name:
            return c
    raise KeyError(name)


def match_city(text: str | None) -> City | None:
    """Best city for a free address text ("广东省惠州市…", "成都"), or None."""
    if not text:
        return None
    for c in CITIES:
        if c.city.rstrip("市") in text and c.city != c.province_full:
            return c
    for c in CITIES:
        if c.province in text:
            return c
    return None


def locate(text: str | None) -> City | None:
    """Where an order's address (or a Kuaidi100 ``from``/``to`` text) is, as a sandbox city.

    The address is read with the product's own offline division data, so the route ends in the order's
    real city and district (its GB/T 2260 area code); a city this small map has no coordinates for gets
    those of a mapped city in the same province (the route's hubs and distances stay plausible)."""
    if not text:
        return None
    from xl_addin.domain.intake import parse_address
    from xl_addin.domain.intake.divisions import COUNTY, division_index

    parsed = parse_address(text)
    if not parsed.province:
        return match_city(text)
    known = [c for c in CITIES if c.province_full == parsed.province]
    city_name = parsed.city or parsed.province
    exact = [c for c in known if c.city == city_name]
    anchor = (exact or known or [None])[0]
    if anchor is None:
        return match_city(text)
    district = parsed.district or anchor.district if exact else parsed.district
    if not district:
        return anchor if exact else None
    code = anchor.area_code if district == anchor.district else _area_code(division_index(), district, city_name, COUNTY)
    if code is None:
        return anchor
    pinyin = anchor.pinyin if (exact and district == anchor.district) else ""
    return City(anchor.province, parsed.province, city_name, district, code, anchor.lng, anchor.lat, pinyin)


def _area_code(idx, district: str, city: str, level: int) -> str | None:
    for d, _short in idx.by_name.get(district, []):
        parent = idx.city_of(d) or idx.province_of(d)
        if d.level == level and parent is not None and parent.name == city:
            return f"CN{d.code}000000"
    return None


def distance_km(a: City, b: City) -> float:
    import math

    dx = (a.lng - b.lng) * 111 * math.cos(math.radians((a.lat + b.lat) / 2))
    dy = (a.lat - b.lat) * 111
    return math.hypot(dx, dy)


def route(origin: City, dest: City) -> list[City]:
    """Origin → (a middle hub for long hauls) → destination."""
    stops = [origin]
    if distance_km(origin, dest) > 700:
        mid_lng, mid_lat = (origin.lng + dest.lng) / 2, (origin.lat + dest.lat) / 2
        hubs = [by_city(n) for n in HUB_CITIES]
        hubs = [h for h in hubs if h.city not in (origin.city, dest.city)]
        best = min(hubs, key=lambda h: (h.lng - mid_lng) ** 2 + (h.lat - mid_lat) ** 2)
        stops.append(best)
    if dest.city != origin.city:
        stops.append(dest)
    return stops
