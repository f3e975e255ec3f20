"""The whole 禁止寄递物品指导目录 (2016) and the postal ban on currency and live animals, in both directions.

Cases are written from the catalogue's own wording (第2类 names 弩、催泪器、催泪枪、电击器; 第11类 names
蓄电池), the postal regulations' 禁寄 clause (各种货币; 各种活的动物 except bees, silkworms, leeches), and
ordinary product names that contain a trigger word (soaps, patent medicines, foods, electronic and toy versions).
"""

import pytest

from xl_addin.domain.intake import IntakeRules, check_goods
from xl_addin.domain.intake.goods import goods_key

RULES = IntakeRules.default()


def found(name):
    return [(p.code, p.severity) for p in check_goods(name, RULES)]


@pytest.mark.parametrize("name, category", [
    # 第11类 蓄电池: lead-acid, vehicle batteries ("电瓶")
    ("汽车蓄电池 12V 60Ah", "第11类"), ("电动车电瓶 48V20Ah", "第11类"), ("摩托车电瓶", "第11类"),
    ("免维护铅酸蓄电池", "第11类"), ("旧电瓶 回收", "第11类"),
    # 第2类 弩 in its many names, 催泪器/催泪枪 and other incapacitating sprays
    ("复合弩 狩猎款", "第2类"), ("反曲弩", "第2类"), ("十字弓 户外", "第2类"), ("手枪弩配弩箭", "第2类"),
    ("弩机 配件 弩臂", "第2类"), ("催泪瓦斯", "第2类"), ("防狼喷剂 女士", "第2类"), ("胡椒喷雾", "第2类"),
    ("催泪器", "第2类"), ("麻醉喷雾", "第2类"), ("迷药", "第2类"),
    # English and pinyin
    ("Glock pistol replica", "第1类"), ("Stun-Gun 2000kv", "第2类"), ("Pepper Spray 60ml", "第2类"),
    ("CROSSBOW hunting", "第2类"), ("fireworks set", "第3类"), ("Ivory carving", "第17类"),
    ("shouqiang moxing", "第1类"), ("Shou Qiang", "第1类"), ("yanhua", "第3类"), ("ketamine", "第12类"),
    # live animals and currency (第19类: banned by the postal regulations)
    ("仓鼠活体", "第19类"), ("活体宠物 布偶猫", "第19类"), ("活鸡 2只", "第19类"), ("鸡苗 100只", "第19类"),
    ("人民币现金", "第19类"), ("现金 5万", "第19类"), ("外币现钞", "第19类"), ("cash", "第19类"),
    # self-declared counterfeits and obscene publications
    ("超A货包 女款", "第16类"), ("高仿手表", "第16类"), ("淫秽光盘", "第13类"),
])
def test_newly_caught_classes(name, category):
    problems = check_goods(name, RULES)
    assert [(p.code, p.severity) for p in problems] == [("PROHIBITED_GOODS", "error")], name
    assert category in problems[0].message


@pytest.mark.parametrize("name", [
    # soaps and ointments whose name holds a flammable solid (硫磺)
    "硫磺皂 除螨", "硫磺香皂 3块装", "硫黄软膏",
    # patent medicines holding a controlled substance's or wildlife product's name
    "复方盐酸伪麻黄碱缓释胶囊", "麝香保心丸", "马应龙麝香痔疮膏", "熊胆救心丸", "麝香追风膏",
    # foods and household goods
    "火麻仁", "活性炭包 除甲醛", "竹炭包", "大闸蟹礼券 8只装",
    # electronic and toy versions
    "电子鞭炮 LED", "电子烟花 婚庆", "玩具手枪 儿童", "积木枪", "玩具弩 吸盘", "穿山甲玩偶",
    # accessories and books
    "电瓶车坐垫", "电瓶搭火线", "蓄电池检测仪", "现金券 100元", "现金日记账", "钞票夹", "鸦片战争 历史读物",
    "活体检测模块", "匕首吊坠",
    # Latin words inside longer words, and ordinary English product names
    "Pink粉色T恤", "bulletin board", "cashmere scarf", "Cash Box 金属", "dagger necklace", "ivory white vase",
    "massage gun", "glue gun 20W", "Diesel jeans", "zidantou列车模型", "钴600", "A货架 三层",
])
def test_longer_legitimate_names_are_not_called_prohibited(name):
    assert not [c for c, _ in found(name) if c == "PROHIBITED_GOODS"], name


@pytest.mark.parametrize("name, term", [
    ("电瓶车 整车", "电瓶车"), ("电子打火机 USB充电", "电子打火机"), ("阳澄湖大闸蟹 鲜活", "大闸蟹"), ("活虾 2斤", "活虾"),
])
def test_restricted_not_prohibited(name, term):
    problems = check_goods(name, RULES)
    assert [(p.code, p.severity) for p in problems] == [("RESTRICTED_GOODS", "warning")]
    assert f"“{term}”" in problems[0].message


def test_a_legitimate_compound_does_not_hide_a_second_real_hit():
    assert found("电瓶车电瓶") == [("PROHIBITED_GOODS", "error")]  # the e-bike is fine, its battery is not
    assert found("硫磺皂+硫磺粉") == [("PROHIBITED_GOODS", "error")]


@pytest.mark.parametrize("raw, key", [("Stun-Gun", "stun gun"), ("手 枪", "手枪"), ("ＢＢ 彈", "bb弹"),
                                      ("铯-137", "铯137"), ("a  b", "a b")])
def test_goods_key_keeps_only_the_space_between_latin_words(raw, key):
    assert goods_key(raw) == key
