"""Realistic, seeded sample orders for the demo, the tests and the benchmarks.

Why: the demo must look like a real desk's day (Chinese names, real provinces,
cities and districts, allocated phone blocks, goods with sensible weights) and
must carry a few deliberately bad rows of every kind the order checks know, so
that each check can be seen catching something. Everything is fictional: the
names, the companies, the streets' house numbers and the phone numbers.

``generate_orders`` is deterministic for a seed (and a ``start``); it never
reads the clock. ``write_orders_xlsx`` writes a plain Order Confirmation sheet
fast enough for 100,000-row benchmark files.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from xl_addin.demo.sample_file import (  # noqa: F401  (re-exported: the file's columns and writer)
    ORDER_COLUMNS, SHEET_NAME, write_orders_xlsx)

# When ``start`` is not given: a fixed moment, so a seed always yields the same orders.
DEFAULT_START = datetime(2026, 11, 26, 18, 0, 0)

# The problem codes of issue 3 that bad rows are made to trigger.
DEFECT_KINDS: tuple[str, ...] = (
    "MISSING_FIELD",
    "PHONE_INVALID",
    "ADDRESS_INCOMPLETE",
    "ADDRESS_REVIEW",
    "PROHIBITED_GOODS",
    "RESTRICTED_GOODS",
    "QUANTITY_INVALID",
    "WEIGHT_INVALID",
    "DUPLICATE_ORDER",
    "SPECIAL_REQUIREMENT_UNCLEAR",
)

CHANNELS = ("电商后台", "ERP", "邮件", "电话")
CHANNEL_WEIGHTS = (55, 25, 12, 8)
CARRIERS = ("顺丰", "京东物流", "中通", "圆通", "申通", "韵达", "EMS", "极兔", "德邦")
KNOWN_TAGS = ("易碎", "加急", "冷链", "大件", "贵重", "到付", "保价")

# ---------------------------------------------------------------- people
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
)
GIVEN_NAMES = tuple(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 鹏 宇 婷 浩 琳 欢 斌 颖 倩 帆 "
    "秀英 桂英 玉兰 建华 建国 志强 海燕 晓东 丹丹 雪梅 春燕 国庆 秋月 文博 浩然 欣怡 梓涵 子轩 雨婷 思远 "
    "佳琪 俊杰 昊天 诗晴 嘉怡 一鸣 若曦 子墨 昕悦 宇航 晨阳 雅琴 立新 红梅 晓燕 志刚 丽华 淑珍 明轩 语桐 "
    "嘉豪 欣然 泽宇 可馨 家乐 梦瑶 天佑 书瑶 振华 慧敏".split()
)

# ---------------------------------------------------------------- companies (invented)
BRAND_WORDS = (
    "云舟", "禾初", "拓澜", "星屿", "沐森", "青岚", "悦橙", "栖木", "知禾", "澄屿", "朗驰", "瀚予",
    "微澜", "岚图", "森屿", "曜石", "途亦", "汇舟", "启衡", "苇渡", "槿年", "川岳", "蔓禾", "泊远",
)
INDUSTRIES = (
    "电子商务", "贸易", "服饰", "家居用品", "食品", "数码科技", "供应链管理", "商贸", "生鲜", "家具制造",
)

# ---------------------------------------------------------------- places
# province | city | area code | district:street,street;district:street,...
# Real divisions; streets are real-sounding road names of those cities.
_PLACES = """
北京市|北京市|010|朝阳区:建国路,朝阳北路,望京街,酒仙桥路;海淀区:中关村大街,学院路,知春路,苏州街;丰台区:丰台北路,南三环西路,科学城路;通州区:新华大街,九棵树西路
上海市|上海市|021|浦东新区:张杨路,世纪大道,杨高南路,博云路;徐汇区:漕溪北路,虹桥路,宜山路;闵行区:沪闵路,虹井路,七莘路;静安区:南京西路,共和新路,万荣路
天津市|天津市|022|南开区:鞍山西道,白堤路,长江道;河西区:友谊路,围堤道,解放南路;滨海新区:第三大街,洞庭路,黄海路
重庆市|重庆市|023|渝中区:民族路,中山三路,大坪正街;江北区:建新北路,洋河路;渝北区:金开大道,龙山大道;南岸区:南坪西路,江南大道
广东省|广州市|020|天河区:天河路,体育西路,黄埔大道西,华夏路;越秀区:环市东路,东风中路,北京路;番禺区:番禺大道北,迎宾路,汉溪大道
广东省|深圳市|0755|南山区:科苑路,深南大道,南海大道,后海大道;福田区:深南中路,福华路,彩田路,益田路;宝安区:宝安大道,新湖路;龙岗区:龙岗大道,龙翔大道
广东省|佛山市|0757|禅城区:季华五路,汾江中路;南海区:南海大道,桂澜路;顺德区:德胜东路,新城路
江苏省|南京市|025|鼓楼区:中山北路,湖南路,汉中门大街;玄武区:珠江路,北京东路,龙蟠路;江宁区:双龙大道,胜太路
江苏省|苏州市|0512|姑苏区:人民路,干将西路;吴中区:东吴北路,宝带东路;虎丘区:狮山路,长江路
江苏省|无锡市|0510|梁溪区:中山路,解放西路;滨湖区:蠡湖大道,太湖大道
浙江省|杭州市|0571|西湖区:文三路,文一西路,天目山路,古墩路;上城区:解放路,庆春路,秋涛路;滨江区:江南大道,滨盛路,长河路;余杭区:五常大道,良睦路
浙江省|宁波市|0574|鄞州区:天童南路,四明中路,钱湖北路;海曙区:解放南路,药行街;江北区:人民路,洪塘中路
浙江省|金华市|0579|义乌市:城中北路,稠州北路,宾王路;婺城区:八一南街,李渔路
浙江省|温州市|0577|鹿城区:车站大道,人民西路;瓯海区:温州大道,瓯海大道
湖北省|武汉市|027|武昌区:中北路,武珞路,中南路;洪山区:珞喻路,雄楚大道,光谷大道;江汉区:建设大道,新华路
湖南省|长沙市|0731|岳麓区:麓山南路,枫林三路,桐梓坡路;芙蓉区:五一大道,八一路;雨花区:韶山中路,劳动东路
四川省|成都市|028|武侯区:人民南路四段,科华北路;锦江区:东大街,红星路三段;青羊区:蜀都大道,清江东路
陕西省|西安市|029|雁塔区:小寨东路,长安南路,科技路;碑林区:南大街,友谊东路;未央区:凤城八路,未央路
河南省|郑州市|0371|金水区:花园路,经三路,农业路;中原区:建设西路,中原中路;二七区:大学路,航海中路
河北省|石家庄市|0311|裕华区:槐安东路,裕华东路,体育南大街;桥西区:自强路,新华路;长安区:建设北大街,中山东路
辽宁省|沈阳市|024|和平区:三好街,南京南街;沈河区:青年大街,北站路;皇姑区:黄河北大街,崇山中路
吉林省|长春市|0431|朝阳区:西安大路,红旗街,工农大路;南关区:人民大街,亚泰大街
黑龙江省|哈尔滨市|0451|南岗区:西大直街,学府路,果戈里大街;道里区:中央大街,友谊路
山东省|济南市|0531|历下区:泉城路,经十路,解放路;槐荫区:经七路,经十路
山东省|青岛市|0532|市南区:香港中路,东海西路,南京路;崂山区:海尔路,松岭路;黄岛区:长江中路,井冈山路
安徽省|合肥市|0551|蜀山区:长江西路,黄山路,潜山路;包河区:马鞍山路,徽州大道
福建省|福州市|0591|鼓楼区:五四路,湖东路,杨桥中路;仓山区:浦上大道,首山路
福建省|厦门市|0592|思明区:湖滨南路,莲前西路,厦禾路;湖里区:嘉禾路,枋湖北二路
江西省|南昌市|0791|西湖区:孺子路,象山南路;青山湖区:北京东路,京东大道
广西壮族自治区|南宁市|0771|青秀区:民族大道,东葛路,金湖路;西乡塘区:大学东路,明秀东路
云南省|昆明市|0871|五华区:东风西路,人民中路,学府路;盘龙区:北京路,白塔路
贵州省|贵阳市|0851|云岩区:中华北路,延安中路;观山湖区:林城西路,长岭北路
山西省|太原市|0351|小店区:长治路,体育路,平阳路;迎泽区:迎泽大街,五一路
内蒙古自治区|呼和浩特市|0471|赛罕区:大学东街,昭乌达路;新城区:新华大街,兴安北路
新疆维吾尔自治区|乌鲁木齐市|0991|沙依巴克区:友好南路,西北路;新市区:北京南路,长春中路
甘肃省|兰州市|0931|城关区:东岗西路,庆阳路,张掖路;七里河区:西津西路,建兰路
海南省|海口市|0898|龙华区:国贸大道,金龙路,滨海大道;美兰区:海甸二东路,人民大道
宁夏回族自治区|银川市|0951|兴庆区:解放东街,北京东路;金凤区:正源北街,宁安大街
西藏自治区|拉萨市|0891|城关区:北京中路,江苏路
青海省|西宁市|0971|城西区:五四大街,胜利路;城东区:八一中路,东关大街
"""
# Area codes whose local numbers have 7 digits (the rest have 8).
_SEVEN_DIGIT_AREAS = frozenset({"0771", "0471", "0991", "0931", "0951", "0891", "0971", "0592", "0351"})

ESTATES = ("锦绣华庭", "阳光花园", "翠苑小区", "金色家园", "绿城玉兰苑", "东方明珠苑", "和谐家园", "世纪新城",
           "滨江花园", "御景湾", "书香名邸", "碧水云天")
TOWERS = ("创新大厦", "汇金中心", "时代广场", "国际商务中心", "科技大厦", "金融港", "星光大厦", "万通中心")
PARKS = ("智慧产业园", "电商产业园", "科技园", "物流园")

# ---------------------------------------------------------------- goods
# name, specs, unit weight kg (lo, hi), unit volume m3, quantity (lo, hi), likely tags
_GOODS: tuple[tuple[str, tuple[str, ...], tuple[float, float], float, tuple[int, int], tuple[str, ...]], ...] = (
    # 服装
    ("纯棉T恤", ("白色 L", "黑色 XL", "藏青 M", "灰色 S"), (0.2, 0.3), 0.002, (1, 30), ()),
    ("羽绒服", ("女款 M 米白", "男款 XL 黑色", "童装 130 红色"), (0.9, 1.4), 0.02, (1, 10), ()),
    ("牛仔裤", ("直筒 30码", "修身 28码", "阔腿 M"), (0.5, 0.7), 0.003, (1, 20), ()),
    ("运动鞋", ("42码 白蓝", "38码 粉色", "44码 黑色"), (0.8, 1.2), 0.012, (1, 10), ()),
    ("羊毛围巾", ("180×30cm 驼色", "200×70cm 格纹"), (0.2, 0.35), 0.002, (1, 15), ()),
    # 数码配件
    ("蓝牙耳机", ("TWS 白色", "头戴式 黑色 降噪"), (0.1, 0.4), 0.002, (1, 10), ("贵重",)),
    ("Type-C数据线", ("1m 快充", "2m 编织"), (0.04, 0.07), 0.0003, (5, 100), ()),
    ("手机壳", ("iPhone 16 透明", "Mate 70 素皮"), (0.03, 0.06), 0.0004, (5, 200), ()),
    ("机械键盘", ("87键 茶轴", "104键 红轴 RGB"), (0.9, 1.3), 0.006, (1, 5), ("易碎",)),
    ("无线鼠标", ("静音 灰色", "人体工学 黑色"), (0.1, 0.15), 0.001, (1, 20), ()),
    ("智能手表", ("46mm 黑色", "42mm 银色"), (0.25, 0.35), 0.001, (1, 3), ("贵重", "保价")),
    ("笔记本电脑", ("14英寸 16G/512G", "16英寸 32G/1T"), (1.8, 2.6), 0.01, (1, 2), ("贵重", "保价", "易碎")),
    # 家居
    ("陶瓷餐具套装", ("12件套 釉下彩", "26件套 骨瓷"), (3.0, 5.5), 0.03, (1, 4), ("易碎",)),
    ("玻璃花瓶", ("高30cm 透明", "高45cm 琥珀色"), (0.8, 1.6), 0.01, (1, 6), ("易碎",)),
    ("纯棉四件套", ("1.8m床 灰白", "1.5m床 浅蓝"), (2.2, 2.8), 0.02, (1, 5), ()),
    ("收纳箱", ("60L 透明", "30L 三只装"), (1.5, 2.2), 0.07, (1, 8), ()),
    ("保温杯", ("500ml 不锈钢", "350ml 儿童款"), (0.3, 0.45), 0.0015, (1, 24), ()),
    ("不锈钢炒锅", ("32cm 无涂层", "30cm 带盖"), (1.8, 2.5), 0.012, (1, 4), ()),
    # 食品（含冷链）
    ("速冻水饺", ("猪肉白菜 1kg×4袋", "三鲜 1kg×2袋"), (2.2, 4.5), 0.008, (1, 10), ("冷链",)),
    ("冰鲜三文鱼", ("中段 500g", "整条 4kg"), (0.6, 4.5), 0.006, (1, 5), ("冷链", "加急")),
    ("冷冻牛排", ("西冷 10片装", "眼肉 5片装"), (1.2, 2.0), 0.005, (1, 6), ("冷链",)),
    ("冰淇淋", ("香草 12支装", "抹茶 24支装"), (0.9, 1.8), 0.006, (1, 8), ("冷链", "加急")),
    ("坚果礼盒", ("1.5kg 每日坚果", "2kg 年货款"), (1.6, 2.3), 0.01, (1, 20), ()),
    ("东北大米", ("10kg 长粒香", "5kg 稻花香"), (5.1, 10.3), 0.015, (1, 10), ()),
    ("茶叶", ("明前龙井 250g", "铁观音 500g"), (0.3, 0.7), 0.002, (1, 10), ("贵重",)),
    # 大件家具
    ("三人布艺沙发", ("2.1m 浅灰", "2.4m 墨绿 可拆洗"), (55.0, 75.0), 2.2, (1, 1), ("大件",)),
    ("实木餐桌", ("1.4m 胡桃色", "1.6m 原木色 含四椅"), (35.0, 60.0), 0.6, (1, 2), ("大件",)),
    ("双人床", ("1.8m 含床垫", "1.5m 框架床"), (70.0, 95.0), 2.5, (1, 1), ("大件",)),
    ("人体工学办公椅", ("黑色 网布", "灰色 带头枕"), (15.0, 20.0), 0.25, (1, 10), ("大件",)),
    ("五层书柜", ("0.8m 白橡", "1.2m 胡桃"), (30.0, 42.0), 0.4, (1, 2), ("大件",)),
)

# Legitimate goods whose names look like prohibited words; they must pass the checks.
DECOY_GOODS: tuple[tuple[str, str, float, float], ...] = (
    ("筋膜枪", "深层按摩 6档", 0.9, 0.003),
    ("测温枪", "红外额温 家用", 0.2, 0.001),
    ("子弹杯", "玻璃 6只装", 0.5, 0.002),
    ("象牙白衬衫", "长袖 M", 0.3, 0.002),
    ("汽油滤清器", "适配卡罗拉 1.8L", 0.4, 0.002),
    ("沐浴炸弹", "精油 6颗礼盒", 0.8, 0.003),
)

# ---------------------------------------------------------------- phones
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "166", "173", "175", "176", "177", "178", "191", "193", "195", "198", "199",
)


def _parse_places() -> list[tuple[str, str, str, tuple[tuple[str, tuple[str, ...]], ...]]]:
    places = []
    for line in _PLACES.strip().splitlines():
        province, city, area, rest = line.split("|")
        districts = []
        for part in rest.split(";"):
            district, streets = part.split(":")
            districts.append((district, tuple(streets.split(","))))
        places.append((province, city, area, tuple(districts)))
    return places


PLACES = _parse_places()


class _Maker:
    """Draws the parts of one good order from a seeded random source."""

    def __init__(self, rng: random.Random, start: datetime):
        self.rng = rng
        self.start = start
        self.customers = [self._customer() for _ in range(40)]

    # people and phones
    def name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + r.choice(GIVEN_NAMES)

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def landline(self, area: str) -> str:
        digits = 7 if area in _SEVEN_DIGIT_AREAS else 8
        local = self.rng.choice("2345678") + f"{self.rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"
        return f"{area}-{local}"

    def receiver_phone(self, area: str) -> str:
        x = self.rng.random()
        if x < 0.08:
            return self.landline(area)
        m = self.mobile()
        if x < 0.11:
            return f"{m[:3]} {m[3:7]} {m[7:]}"   # typed with spaces
        if x < 0.13:
            return "+86 " + m
        return m

    def _customer(self) -> tuple[str, str]:
        r = self.rng
        province, city, _, _ = r.choice(PLACES)
        company = f"{city.removesuffix('市')}{r.choice(BRAND_WORDS)}{r.choice(INDUSTRIES)}有限公司"
        return company, f"{self.name()} {self.mobile()}"

    # addresses
    def place(self):
        province, city, area, districts = self.rng.choice(PLACES)
        district, streets = self.rng.choice(districts)
        return province, city, area, district, self.rng.choice(streets)

    def address_head(self, province: str, city: str, district: str) -> str:
        return f"{city}{district}" if province == city else f"{province}{city}{district}"

    def detail(self, city: str) -> str:
        r = self.rng
        no = r.randint(1, 999)
        kind = r.random()
        if kind < 0.45:
            return (f"{no}号{r.choice(ESTATES)}{r.randint(1, 30)}栋{r.randint(1, 4)}单元"
                    f"{r.randint(1, 33)}{r.randint(1, 4):02d}室")
        if kind < 0.7:
            return f"{no}号{r.choice(TOWERS)}{r.choice('ABC')}座{r.randint(2, 40)}{r.randint(1, 20):02d}室"
        if kind < 0.8:
            return f"{no}号{r.choice(PARKS)}{r.randint(1, 12)}号楼{r.randint(1, 6)}层"
        if kind < 0.9 and city == "上海市":
            return f"{no}弄{r.randint(1, 60)}号{r.randint(1, 6)}0{r.randint(1, 4)}室"
        return f"{no}号"

    # the order
    def order(self, i: int) -> dict[str, Any]:
        r = self.rng
        province, city, area, district, street = self.place()
        customer, contact = r.choice(self.customers)
        name, specs, (w_lo, w_hi), unit_vol, (q_lo, q_hi), tags = r.choice(_GOODS)
        qty = r.randint(q_lo, q_hi)
        weight = round(qty * r.uniform(w_lo, w_hi), 2)
        volume = round(qty * unit_vol * r.uniform(0.9, 1.1), 3) if r.random() < 0.75 else None
        received = self.start - timedelta(seconds=r.randrange(3 * 86400))
        if received.hour < 8 and received + timedelta(hours=8) <= self.start:
            received += timedelta(hours=8)  # desks receive during the day: night arrivals move to the morning
        return {
            "order_no": None,  # assigned after ordering by time
            "customer": customer,
            "goods_name": name,
            "spec": r.choice(specs),
            "quantity": qty,
            "weight_kg": max(weight, 0.01),
            "volume_m3": volume if volume is None else max(volume, 0.001),
            "receiver": self.name(),
            "receiver_phone": self.receiver_phone(area),
            "address": self.address_head(province, city, district) + street + self.detail(city),
            "special_requirements": self.requirements(tags),
            "channel": r.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
            "received_at": received.replace(microsecond=0),
            "customer_contact": contact,
            "preferred_carrier": r.choice(CARRIERS) if r.random() < 0.3 else "",
            "_defect": None,
        }

    def requirements(self, goods_tags: tuple[str, ...]) -> str:
        r = self.rng
        tags = [t for t in goods_tags if r.random() < 0.7]
        if r.random() < 0.12:
            tags.append(r.choice(("加急", "到付", "保价")))
        tags = list(dict.fromkeys(tags))
        return "、".join(tags)


# ---------------------------------------------------------------- bad rows
def _defect_variants() -> dict[str, list]:
    """Each defect kind as small functions that spoil one field of a good row."""

    def setf(key, value):
        def spoil(row, maker, rows):
            row[key] = value
        return spoil

    def goods(name, spec):
        def spoil(row, maker, rows):
            row["goods_name"], row["spec"] = name, spec
        return spoil

    def ten_digits(row, maker, rows):
        row["receiver_phone"] = maker.mobile()[:10]

    def no_house_number(row, maker, rows):
        province, city, _, district, street = maker.place()
        row["address"] = maker.address_head(province, city, district) + street

    def duplicate(row, maker, rows):
        while True:  # row 0 is always clean, so this ends
            earlier = rows[maker.rng.randrange(len(rows))]
            if earlier["_defect"] is None:
                row["order_no"] = earlier["order_no"]
                return

    return {
        "MISSING_FIELD": [setf("receiver_phone", ""), setf("address", ""), setf("goods_name", "")],
        "PHONE_INVALID": [ten_digits, setf("receiver_phone", "14012345678"),
                          setf("receiver_phone", "138****8000"), setf("receiver_phone", "0755-1234567")],
        "ADDRESS_INCOMPLETE": [no_house_number, setf("address", "朝阳区建国路88号"), setf("address", "北京市")],
        "ADDRESS_REVIEW": [setf("address", "Flat 3, 12 Nathan Road, Kowloon, Hong Kong")],
        "PROHIBITED_GOODS": [goods("仿真手枪", "1:1 合金模型"), goods("手 枪", "玩具收藏"),
                             goods("煙花", "礼花 36发"), goods("管制刀具", "户外直刀"), goods("汽油", "92号 5L")],
        "RESTRICTED_GOODS": [goods("充电宝", "20000mAh"), goods("磁铁", "钕铁硼强磁 100片")],
        "QUANTITY_INVALID": [setf("quantity", 0), setf("quantity", -2), setf("quantity", 2.5)],
        "WEIGHT_INVALID": [setf("weight_kg", -1)],
        "DUPLICATE_ORDER": [duplicate],
        "SPECIAL_REQUIREMENT_UNCLEAR": [setf("special_requirements", "周末勿送货 请小心轻放谢谢"),
                                        setf("special_requirements", "放门卫室就行，别敲门")],
    }


class _Earlier:
    """The rows above a spot, without copying them (a slice per bad row is quadratic)."""

    def __init__(self, rows: list[dict], end: int):
        self.rows, self.end = rows, end

    def __len__(self) -> int:
        return self.end

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.end:
            raise IndexError(i)
        return self.rows[i]


def _defect_plan(count: int) -> list[tuple[str, int]]:
    """(kind, variant index) for ``count`` bad rows: every kind once before any repeats, then every variant."""
    variants = _defect_variants()
    plan: list[tuple[str, int]] = []
    rnd = 0
    while len(plan) < count:
        for kind in DEFECT_KINDS:
            if len(plan) < count:
                plan.append((kind, rnd % len(variants[kind])))
        rnd += 1
    return plan


# ---------------------------------------------------------------- public API
def generate_orders(n: int, seed: int = 7, *, bad_rows: bool = True,
                    start: datetime | None = None) -> list[dict]:
    """``n`` sample orders received in the three days before ``start``, oldest first.

    With ``bad_rows`` about 5 % are spoiled, one defect each (``_defect`` names
    the problem code; at least one of every kind when n >= 200); a few
    legitimate look-alike goods (筋膜枪, 子弹杯 …) are always planted as good rows.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    maker = _Maker(rng, start or DEFAULT_START)
    rows = [maker.order(i) for i in range(n)]
    rows.sort(key=lambda o: o["received_at"])
    for i, row in enumerate(rows, 1):
        row["order_no"] = f"DD{row['received_at']:%Y%m%d}{i:06d}"

    n_bad = 0
    if bad_rows:
        n_bad = round(n * 0.05)
        if n >= 200:
            n_bad = max(n_bad, len(DEFECT_KINDS))
    n_decoy = min(len(DECOY_GOODS), n // 30)
    # Row 0 stays clean so a duplicate always has an earlier original.
    spots = rng.sample(range(1, n), min(n_bad + n_decoy, max(n - 1, 0))) if n > 1 else []
    decoy_spots, bad_spots = spots[:n_decoy], spots[n_decoy:]

    for spot, (name, spec, unit_w, unit_v) in zip(decoy_spots, DECOY_GOODS):
        row = rows[spot]
        qty = rng.randint(1, 5)
        row.update(goods_name=name, spec=spec, quantity=qty, weight_kg=round(qty * unit_w, 2),
                   volume_m3=round(qty * unit_v, 3), special_requirements="")

    variants = _defect_variants()
    plan = _defect_plan(len(bad_spots))
    for spot, (kind, v) in zip(sorted(bad_spots), plan):
        row = rows[spot]
        variants[kind][v](row, maker, _Earlier(rows, spot))
        row["_defect"] = kind
    return rows
