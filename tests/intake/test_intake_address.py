"""Addresses detailed to province, city, district, street and number — with the pitfalls of order-checks.md."""

import time
from importlib import resources

import pytest

from xl_addin.domain.intake import parse_address
from xl_addin.domain.intake.divisions import division_index


@pytest.mark.parametrize(
    "text, province, city, district, detail",
    [
        ("浙江省杭州市西湖区文三路100号", "浙江省", "杭州市", "西湖区", "文三路100号"),
        ("广东省深圳市南山区科技园南路15号腾讯大厦", "广东省", "深圳市", "南山区", "科技园南路15号腾讯大厦"),
        ("北京市朝阳区建国路88号SOHO现代城A座1201", "北京市", "北京市", "朝阳区", "建国路88号SOHO现代城A座1201"),
        ("上海 上海市 浦东新区 世纪大道100号", "上海市", "上海市", "浦东新区", "世纪大道100号"),
        ("浙江 杭州 西湖 文三路100号", "浙江省", "杭州市", "西湖区", "文三路100号"),  # short names
        ("四川省成都市武侯区人民南路四段1号3-2-501", "四川省", "成都市", "武侯区", "人民南路四段1号3-2-501"),
        ("重庆市忠县忠州街道巴王路1号", "重庆市", "重庆市", "忠县", "忠州街道巴王路1号"),
        ("吉林省吉林市船营区北京路1号", "吉林省", "吉林市", "船营区", "北京路1号"),
        ("山东省青岛市市南区香港中路10号", "山东省", "青岛市", "市南区", "香港中路10号"),
        ("中国福建省福州市鼓楼区五四路158号", "福建省", "福州市", "鼓楼区", "五四路158号"),
        ("河南省郑州市金水区花园路街道农业路东72号院3号楼2单元", "河南省", "郑州市", "金水区",
         "花园路街道农业路东72号院3号楼2单元"),
        ("广西南宁市青秀区民族大道136号", "广西壮族自治区", "南宁市", "青秀区", "民族大道136号"),
        ("湖南省长沙市岳麓区某某镇桃花村三组", "湖南省", "长沙市", "岳麓区", "某某镇桃花村三组"),
    ],
)
def test_complete_addresses(text, province, city, district, detail):
    p = parse_address(text)
    assert (p.province, p.city, p.district, p.detail) == (province, city, district, detail)
    assert p.complete, p.missing


def test_traditional_and_full_width_are_folded():
    p = parse_address("廣東省廣州市天河區體育西路１０３號")
    assert (p.province, p.city, p.district) == ("广东省", "广州市", "天河区")
    assert p.complete


@pytest.mark.parametrize(
    "text, filled, province, city",
    [
        ("杭州市西湖区文三路100号", ("province",), "浙江省", "杭州市"),
        ("海淀区中关村大街1号", ("province", "city"), "北京市", "北京市"),
        ("浙江省余杭区文一西路969号", ("city",), "浙江省", "杭州市"),
        ("江苏省昆山市玉山镇前进西路1号", ("city",), "江苏省", "苏州市"),  # county-level city
    ],
)
def test_unambiguous_parts_are_filled_and_reported(text, filled, province, city):
    p = parse_address(text)
    assert p.filled == filled
    assert (p.province, p.city) == (province, city)
    assert p.complete


@pytest.mark.parametrize("text, name, some_city", [
    ("朝阳区建国路88号", "朝阳区", "长春市朝阳区"),
    ("鼓楼区中山路1号", "鼓楼区", "南京市鼓楼区"),
    ("西湖区文三路100号", "西湖区", "南昌市西湖区"),
])
def test_ambiguous_district_without_city_is_not_guessed(text, name, some_city):
    p = parse_address(text)
    assert p.ambiguous_name == name
    assert some_city in p.candidates and len(p.candidates) >= 2
    assert p.city is None and not p.complete


@pytest.mark.parametrize("text", ["中山路100号", "中山一路100号", "上海路5号", "香港中路10号", "朝阳路1号"])
def test_road_names_made_of_place_names_are_not_divisions(text):
    p = parse_address(text)
    assert p.province is None and p.city is None
    assert p.review is None
    assert {"省", "市", "区/县"} <= set(p.missing)


def test_road_name_after_a_city_is_detail_not_district():
    p = parse_address("上海市中山路100号")
    assert (p.province, p.city, p.district) == ("上海市", "上海市", None)
    assert p.missing == ("区/县",)
    p = parse_address("辽宁省沈阳市和平路1号")  # 和平区 exists in 沈阳, but 和平路 is a road
    assert p.district is None and "区/县" in p.missing


@pytest.mark.parametrize("text, city", [
    ("广东省东莞市南城街道鸿福路88号", "东莞市"),
    ("广东省中山市石岐街道孙文中路1号", "中山市"),
    ("海南省儋州市那大镇人民中路1号", "儋州市"),
    ("甘肃省嘉峪关市雄关区新华中路1号", "嘉峪关市"),
    ("湖北省仙桃市干河街道仙桃大道1号", "仙桃市"),  # directly under the province
])
def test_cities_without_districts_need_none(text, city):
    p = parse_address(text)
    assert p.city == city and p.district is None
    assert p.complete, p.missing


def test_sub_district_is_not_a_street():
    p = parse_address("杭州市西湖区西溪街道12号")
    assert p.missing == ("街道/路名",)
    p = parse_address("浙江省杭州市余杭区良渚镇8号")
    assert p.missing == ("街道/路名",)


@pytest.mark.parametrize("text, missing", [
    ("北京市朝阳区", ("街道/路名", "门牌号")),
    ("浙江省杭州市西湖区文三路", ("门牌号",)),
    ("河南省郑州市金水区某某小区", ("门牌号",)),
    ("浙江省杭州市文三路100号", ("区/县",)),
    ("文三路100号", ("省", "市", "区/县")),
])
def test_missing_parts_are_named(text, missing):
    assert parse_address(text).missing == missing


def test_economic_zone_instead_of_district_is_for_review():
    p = parse_address("浙江省杭州市高新区江虹路1号")
    assert p.zone == "高新区" and p.district is None
    assert "高新区" in p.review
    assert p.missing == ()
    p = parse_address("苏州工业园区星湖街328号")
    assert p.zone == "工业园区" and p.city == "苏州市" and p.missing == ()
    # a 新区 that is a real district is a district, not a zone
    p = parse_address("天津市滨海新区第三大街1号")
    assert p.district == "滨海新区" and p.review is None


@pytest.mark.parametrize("text", [
    "Room 501, No.10 Wensan Road, Xihu District, Hangzhou, Zhejiang",
    "Wensan Lu 100 Hao, Xihu Qu, Hangzhou",
    "香港九龙尖沙咀弥敦道100号",
    "新界沙田正街1号",
    "澳门氹仔孙逸仙大马路1号",
    "臺北市信義區市府路1號",
    "台湾省高雄市前镇区中山二路1号",
])
def test_foreign_scripts_and_hk_mo_tw_go_to_review(text):
    p = parse_address(text)
    assert p.review
    assert p.missing == ()


def test_division_data_is_compact_and_whole():
    idx = division_index()
    provinces = [d for d in idx.by_code.values() if d.level == 1]
    assert len(provinces) == 34
    counties = [d for d in idx.by_code.values() if d.level == 3]
    assert 2800 < len(counties) < 3100
    dongguan = idx.by_name["东莞市"][0][0]
    assert not idx.has_districts(dongguan)
    size = resources.files("xl_addin.domain.intake").joinpath("data").joinpath("divisions.tsv").read_bytes()
    assert len(size) < 400_000


def test_index_is_fast_on_unique_addresses():
    """No linear scan: thousands of distinct addresses parse in well under a second."""
    parse_address("预热")
    texts = [f"广东省深圳市南山区科技园南路{i}号{i % 7}栋" for i in range(3000)]
    start = time.perf_counter()
    for t in texts:
        assert parse_address(t).complete
    assert time.perf_counter() - start < 1.5


def test_line_breaks_and_invisible_characters_inside_the_cell():
    p = parse_address("浙江省\n杭州市\r\n西湖区\u200b文三路1号")
    assert (p.province, p.city, p.district, p.detail) == ("浙江省", "杭州市", "西湖区", "文三路1号")


def test_odd_cells_do_not_crash():
    for text in ["", "a" * 20000, "=1+1", "省市区", "路1号", "𠀀𠀁", "北京"]:
        assert isinstance(parse_address(text).missing, tuple)


@pytest.mark.parametrize("address", [
    "天津市和平区鞍山西道12号", "天津市南开区长江道88号", "四川省成都市锦江区东大街99号",
    "陕西省西安市碑林区南大街1号", "黑龙江省哈尔滨市道里区中央大街120号", "黑龙江省哈尔滨市道里区友谊路5号",
])
def test_real_streets_that_look_like_road_words_pass(address):
    """Tianjin's 道 roads and a full division name followed by a road word (道里区, 东大街) are complete."""
    parsed = parse_address(address)
    assert parsed.complete, parsed.missing
    assert parsed.district is not None


def test_the_detail_keeps_the_capitals_as_written():
    from xl_addin.domain.intake import parse_address

    p = parse_address("浙江省杭州市西湖区文三路 90 号东部软件园 B 座 3 楼")
    assert p.detail == "文三路90号东部软件园B座3楼" and p.complete
    assert parse_address("浙江省杭州市西湖区文三路90号东部软件园b座3楼").detail.endswith("b座3楼")
    assert "Road" in parse_address("88 Nanjing Road, Shanghai").detail
