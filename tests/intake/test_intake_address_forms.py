"""Addresses as people write them: 自治州 short forms, the 市辖区 level, national new areas, retired district
names, vague delivery points and foreign addresses — in both directions.

The division cases are generated from the national division table itself (data/divisions.tsv, national
statistics codes), so every autonomous prefecture and every municipality is covered, not a few examples.
"""

from importlib import resources

import pytest

from xl_addin.domain.intake import check_order
from xl_addin.domain.intake.address import parse_address


def _rows():
    text = resources.files("xl_addin.domain.intake").joinpath("data").joinpath("divisions.tsv").read_text("utf-8")
    rows = [ln.split("\t") for ln in text.splitlines() if ln and not ln.startswith(("#", "code\t"))]
    return {r[0]: r for r in rows}


ROWS = _rows()
PREFECTURES = [r for r in ROWS.values() if r[1] == "2" and r[2].endswith("自治州")]


def _first_county(code):
    return next(r for r in ROWS.values() if r[1] == "3" and r[4] == code)


def codes(text):
    return [p.code for p in check_order({"address": text}).problems if p.code.startswith("ADDRESS")]


def test_the_table_has_all_thirty_autonomous_prefectures():
    assert len(PREFECTURES) == 30


@pytest.mark.parametrize("pref", PREFECTURES, ids=lambda r: r[2])
def test_every_autonomous_prefecture_in_its_short_form(pref):
    code, _, name, short, parent = pref
    county = _first_county(code)
    province = ROWS[parent][2]
    p = parse_address(f"{province}{short}州{county[2]}人民路1号")
    assert (p.province, p.city, p.district, p.missing) == (province, name, county[2], ()), p
    without_province = parse_address(f"{short}州{county[2]}人民路1号")
    assert without_province.city == name and without_province.missing == ()


@pytest.mark.parametrize("pref", PREFECTURES[:8], ids=lambda r: r[2])
def test_a_short_prefecture_without_its_county_is_still_incomplete(pref):
    province = ROWS[pref[4]][2]
    p = parse_address(f"{province}{pref[3]}州人民路1号")
    assert p.city == pref[2] and "区/县" in p.missing


@pytest.mark.parametrize("municipality", ["北京市", "天津市", "上海市", "重庆市"])
def test_the_municipal_district_level_of_erp_exports(municipality):
    city = next(r for r in ROWS.values() if r[1] == "2" and r[2] == municipality)
    county = _first_county(city[0])
    for written in (f"{municipality}市辖区{county[2]}人民路1号", f"{municipality} 市辖区 {county[2]} 人民路1号"):
        p = parse_address(written)
        assert (p.city, p.district, p.missing, p.review) == (municipality, county[2], (), None), written
    assert "区/县" in parse_address(f"{municipality}市辖区人民路1号").missing


def test_counties_directly_under_a_province_written_with_their_statistical_level():
    p = parse_address("湖北省省直辖县级行政区划仙桃市钱沟路3号")
    assert (p.province, p.city, p.missing) == ("湖北省", "仙桃市", ())


@pytest.mark.parametrize("text, city, district", [
    ("河北省雄安新区容城县奥威路1号", "保定市", "容城县"),
    ("河北省雄安新区雄县雄州路8号", "保定市", "雄县"),
    ("贵州省贵阳市贵安新区平坝区安平路8号", "安顺市", "平坝区"),
    ("四川省成都市天府新区仁寿县文林路5号", "眉山市", "仁寿县"),
    ("四川省成都市天府新区双流区华阳大道100号", "成都市", "双流区"),
])
def test_a_national_new_area_followed_by_its_county(text, city, district):
    p = parse_address(text)
    assert (p.city, p.district, p.missing) == (city, district, ()), p
    assert codes(text) in ([], ["ADDRESS_REVIEW"])


def test_a_county_of_another_city_inside_a_new_area_goes_to_review_naming_it():
    p = parse_address("贵州省贵阳市贵安新区平坝区安平路8号")
    assert "安顺市" in p.review and "贵阳市" in p.review


def test_a_new_area_without_county_is_review_not_incomplete():
    text = "四川省天府新区华阳街道正东街10号"
    assert codes(text) == ["ADDRESS_REVIEW"]
    assert "天府新区" in parse_address(text).review


@pytest.mark.parametrize("text, city, current", [
    ("上海市闸北区共和新路100号", "上海市", "静安区"),
    ("上海市卢湾区淮海中路1号", "上海市", "黄浦区"),
    ("北京市崇文区崇文门外大街3号", "北京市", "东城区"),
    ("北京市宣武区广安门内大街5号", "北京市", "西城区"),
    ("天津市塘沽区解放路10号", "天津市", "滨海新区"),
    ("广州市萝岗区科学大道1号", "广州市", "黄埔区"),
    ("江苏省苏州市平江区干将东路2号", "苏州市", "姑苏区"),
    ("杭州市下城区延安路300号", "杭州市", "拱墅区"),
    ("北京市密云县鼓楼东大街3号", "北京市", "密云区"),  # only the suffix changed (县 → 区)
])
def test_retired_district_names_go_to_review_with_the_current_name(text, city, current):
    p = parse_address(text)
    assert (p.city, p.district, p.missing) == (city, current, ())
    assert current in p.review
    assert codes(text) == ["ADDRESS_REVIEW"]


def test_a_district_split_between_two_is_review_listing_both():
    p = parse_address("浙江省杭州市江干区钱江路58号")
    assert p.district is None and p.missing == () and "上城区" in p.review and "钱塘区" in p.review


@pytest.mark.parametrize("text", ["上海市静安区共和新路100号", "北京市东城区崇文门外大街3号", "北京市密云区鼓楼东大街3号",
                                  "浙江省杭州市上城区钱江路58号"])
def test_current_names_are_not_sent_to_review(text):
    assert codes(text) == []


@pytest.mark.parametrize("text", [
    "浙江省杭州市西湖区西湖文化广场附近", "北京市朝阳区建国路88号对面", "上海市浦东新区世纪大道地铁站旁边",
    "广东省深圳市南山区科技园一带",
])
def test_vague_delivery_points_go_to_review_not_incomplete(text):
    assert codes(text) == ["ADDRESS_REVIEW"]
    assert "模糊" in parse_address(text).review


def test_a_vague_point_still_needs_its_divisions():
    assert "ADDRESS_INCOMPLETE" in codes("西湖文化广场附近")


@pytest.mark.parametrize("text, country", [
    ("日本东京都新宿区西新宿2-8-1", "日本"), ("美国加州旧金山市市场街100号", "美国"), ("新加坡乌节路1号", "新加坡"),
    ("123 Main St, Springfield, IL, USA", "USA"), ("Flat 2, 10 Downing Street, London, UK", "UK"),
    ("1-2-3 Shinjuku, Tokyo, Japan", "JAPAN"), ("88 Queen St, Auckland, New Zealand", "NEW ZEALAND"),
])
def test_foreign_addresses_have_their_own_problem(text, country):
    result = check_order({"address": text})
    [problem] = [p for p in result.problems if p.code.startswith("ADDRESS")]
    assert problem.code == "ADDRESS_FOREIGN" and problem.severity == "error" and country in problem.message


@pytest.mark.parametrize("text, code", [
    ("北京市朝阳区安家楼路55号美国大使馆", None), ("Room 501, No.8 Jianguo Road, Beijing, China", "ADDRESS_REVIEW"),
    ("香港九龙尖沙咀弥敦道100号", "ADDRESS_REVIEW"), ("浙江省杭州市西湖区文三路100号", None),
])
def test_domestic_addresses_are_not_called_foreign(text, code):
    assert codes(text) == ([code] if code else [])
