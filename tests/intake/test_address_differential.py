"""The address parser's division cache (issue 21) is invisible: every text parses as it does when each
division part is read afresh (``_read_divisions`` called directly, the cache bypassed).

The cache keeps a division part under exactly the prefix the matching read, so texts that share a head but
differ right after it (广东省佛山市禅城区 + 汾江中路… / + 路… / + 区…), texts cut short just before or after a
name, fillers, renamed districts, new areas, zones, Hong Kong/Taiwan words and road names made of place names
must all come out as the uncached reading gives them. The texts are generated from the national division table
and parsed in one process one after another, so later texts hit what earlier ones left in the cache. (When the
cache came in, the same texts were also compared with the parser before it: identical.)
"""

from __future__ import annotations

import random
from importlib import resources

import pytest

import xl_addin.domain.intake.address as address
from xl_addin.demo.sample_orders import generate_orders
from xl_addin.domain.intake.divisions import division_index


def _table(name):
    text = resources.files("xl_addin.domain.intake").joinpath("data").joinpath(name).read_text("utf-8")
    return [ln.split("\t") for ln in text.splitlines() if ln.strip() and not ln.startswith(("#", "code\t"))]


ROWS = _table("divisions.tsv")
BY_CODE = {r[0]: r for r in ROWS}
COUNTIES = [r for r in ROWS if r[1] == "3"]
CITIES = [r for r in ROWS if r[1] == "2"]
RETIRED = [r[1].strip() for r in _table("retired_divisions.tsv")]
NEW_AREAS = [r[0].strip() for r in _table("new_areas.tsv")]
FILLERS = ["市辖区", "市辖县", "省直辖县级行政区划", "自治区直辖县级行政单位", "直辖县级行政区划", "省直辖县级", "市辖",
           "省直辖", "自治区直"]
ROAD_WORDS = ["路", "街", "大街", "大道", "道", "巷", "弄", "胡同", "马路", "中路", "东一路", "北街", "南大街", "西"]
AFTER_SHORT = list("省市区县旗州盟")
ZONES = ["高新区", "经济技术开发区", "高新技术产业开发区", "工业园区", "新区", "保税区", "软件园区", "科技园"]
HK_TW = ["香港", "九龙", "台北", "台湾", "澳门", "氹仔", "新界", "高雄"]
TAILS = ["汾江中路170号绿城玉兰苑24栋1单元1403室", "人民路1号", "1号", "", "中山路", "解放大道88号", "XX街道办事处幸福路3号",
         "某某镇某某村5组", "万达广场B座1201", "附近", "地铁站对面", "科技园2号楼2层", "88-2-301", "三单元五楼", "大厦",
         "城西区胜利路151号", "市南区南京路473号", "开发区12号", "路 3号", "，长安街1号", "長安街1號", "ＢＢ座５号"]
PREFIXES = ["", "", "", "中国", "中华人民共和国", "中国大陆", " ", "收货地址：", "美国", "japan "]


def _name(row, rng):
    return row[3] if row[3] and rng.random() < 0.35 else row[2]


def _chain(county):
    city = BY_CODE.get(county[4])
    province = BY_CODE.get(city[4]) if city and city[1] == "2" else city
    return (province if province is not city else None), city, county


def _head(rng):
    county = rng.choice(COUNTIES)
    province, city, _ = _chain(county)
    parts = []
    if province is not None and rng.random() < 0.8:
        parts.append(_name(province, rng))
    if city is not None and rng.random() < 0.8:
        parts.append(_name(city, rng))
    if rng.random() < 0.08:
        parts.append(rng.choice(FILLERS))
    pick = rng.random()
    if pick < 0.05:
        parts.append(rng.choice(RETIRED))
    elif pick < 0.09:
        parts.append(rng.choice(NEW_AREAS))
    elif pick < 0.14:
        parts.append(rng.choice(ZONES))
    elif pick < 0.9:
        parts.append(_name(county, rng))
    return "".join(parts)


def _address(rng):
    head = _head(rng)
    pick = rng.random()
    if pick < 0.15:
        head += rng.choice(ROAD_WORDS)
    elif pick < 0.22:
        head += rng.choice(AFTER_SHORT)
    elif pick < 0.26:
        head = rng.choice(HK_TW) + rng.choice(["", "中路", "九龙湾", "路1号", "信义区1号"]) + head
    elif pick < 0.30:
        head = rng.choice(CITIES)[3] + rng.choice(ROAD_WORDS) + head  # 上海路 written before the head
    text = rng.choice(PREFIXES) + head + rng.choice(TAILS)
    if rng.random() < 0.1:
        text = text[:rng.randrange(len(text) + 1)]  # cut anywhere, also inside a name
    if rng.random() < 0.05:
        text = text.replace("区", "區").replace("门", "門")
    return text


def _uncached(texts):
    """What each text parses to with every division part read afresh."""
    cached = address._divisions
    address._divisions = lambda idx, norm: address._read_divisions(idx, norm, [2])
    try:
        return {t: address._parse.__wrapped__(t) for t in texts}
    finally:
        address._divisions = cached


def _same(texts):
    expected = _uncached(texts)
    address._parse.cache_clear()
    address._HEADS.clear()
    address._HEAD_LENGTHS.clear()
    for text in texts:
        assert address.parse_address(text) == expected[text], text


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_addresses_parse_as_before(seed):
    rng = random.Random(seed)
    texts = [_address(rng) for _ in range(4000)]
    # the same heads again with other tails, and every head cut around the end of what it matched
    for text in texts[:300]:
        for cut in range(max(0, len(text) - 14), len(text) + 1):
            texts.append(text[:cut])
    rng.shuffle(texts)
    _same(texts)


def test_sample_orders_addresses_parse_as_before():
    _same([row["address"] for row in generate_orders(3000, seed=11) if isinstance(row.get("address"), str)])


def test_hand_picked_addresses_parse_as_before():
    texts = [
        "广东省佛山市禅城区汾江中路170号", "广东省佛山市禅城区", "广东省佛山市禅城", "广东佛山禅城区路1号", "广东佛山禅城路1号",
        "山东省青岛市市南区南京路473号", "山东省青岛市市辖区市南区香港中路1号", "青岛市市南区", "青岛市市", "青岛市市辖",
        "北京市朝阳区建国路1号", "朝阳区建国路1号", "朝阳区", "长春市朝阳区西安大路23号", "吉林朝阳区1号",
        "上海市闸北区共和新路1号", "上海闸北区", "北京市密云县鼓楼大街1号", "密云县", "上海路1号", "中山路8号",
        "香港中路100号", "香港九龙弥敦道1号", "台北市信义区1号", "台湾省台北市", "澳门氹仔", "浙江省杭州市滨江区",
        "四川省成都市天府新区华阳街道1号", "天府新区1号", "河北省雄安新区容城县1号", "雄安新区",
        "浙江省杭州市高新区1号", "浙江省杭州市高新技术产业开发区1号", "浙江省杭州市高新技术产业开", "江苏省苏州市工业园区",
        "新疆维吾尔自治区乌鲁木齐市沙依巴克区友好路1号", "新疆伊犁哈萨克自治州伊宁市1号", "湖北省恩施州恩施市1号",
        "河南省直辖县级行政区划济源市1号", "海南省省直辖县级行政单位五指山市1号", "湖北省潜江市1号",
        "美国纽约第五大道1号", "1 Main Street, New York, USA", "beijing chaoyang", "北京市", "北京", "北", "",
        "   ", "广东省深圳市南山区科技园附近", "广东省深圳市南山区深南大道对面", "广东省深圳市南山区粤海街道1号",
        "廣東省深圳市南山區深南大道1號", "ＡＢ广东省深圳市南山区", "中国广东省深圳市南山区1号", "中华人民共和国北京市",
    ]
    texts += [t[:k] for t in texts[:40] for k in range(len(t))]
    _same(texts + texts[::-1])


def test_the_cache_is_filled_and_bounded(monkeypatch):
    monkeypatch.setattr(address, "_HEADS_MAX", 50)
    address._parse.cache_clear()
    rng = random.Random(5)
    texts = [_address(rng) for _ in range(2000)]
    _same(texts)
    assert 0 < len(address._HEADS) <= 50
    assert address._heads_of[0] is division_index()


def test_threads_sharing_the_cache_parse_as_before(monkeypatch):
    monkeypatch.setattr(address, "_HEADS_MAX", 200)  # the cache is also cleared while others read it
    rng = random.Random(9)
    texts = [_address(rng) for _ in range(3000)]
    expected = _uncached(texts)
    address._parse.cache_clear()
    address._HEADS.clear()
    address._HEAD_LENGTHS.clear()
    wrong: list[str] = []

    def work(seed):
        mine = texts[:]
        random.Random(seed).shuffle(mine)
        wrong.extend(t for t in mine if address._parse.__wrapped__(t) != expected[t])

    import threading
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
