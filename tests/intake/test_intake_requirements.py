"""Special requirements that carry a value or an instruction: declared value, temperature, delivery, freight collect, fragile."""

from decimal import Decimal

import pytest

from xl_addin.domain.intake import IntakeRules, check_order
from xl_addin.domain.intake.requirements import read_values

RULES = IntakeRules.default()


def read(text):
    r = check_order({"special_requirements": text}, RULES)
    unclear = [p for p in r.problems if p.code == "SPECIAL_REQUIREMENT_UNCLEAR"]
    return r.normalized["tags"], r.normalized.get("declared_value"), r.normalized.get("temperature"), unclear


@pytest.mark.parametrize("text, amount", [
    ("保价5000元", "5000"), ("保价 5,000 元", "5000"), ("足额保价3000", "3000"), ("保价金额：2万元", "20000"),
    ("5000元保价", "5000"), ("声明价值¥8000", "8000"), ("insured 5000", "5000"), ("保价1.5万", "15000"),
    ("保价5千块，易碎", "5000"), ("Declared value: 1200 RMB", "1200"),
])
def test_declared_value_is_read_into_its_own_field_with_the_insured_tag(text, amount):
    tags, value, _, unclear = read(text)
    assert "保价" in tags and value == Decimal(amount) and not unclear


@pytest.mark.parametrize("text", ["保价", "贵重物品", "易碎 3件", "无需保价5000元", "不要保价"])
def test_no_amount_no_declared_value(text):
    _, value, _, _ = read(text)
    assert value is None


def test_negated_declared_value_gives_no_tag():
    tags, value, _, _ = read("无需保价5000元")
    assert "保价" not in tags and value is None


@pytest.mark.parametrize("text, temperature", [
    ("2-8℃", "2-8℃"), ("冷藏2~8度", "2-8℃"), ("2至8°C保存", "2-8℃"), ("-18℃以下冷冻", "≤-18℃"),
    ("零下18度", "-18℃"), ("0-4℃", "0-4℃"), ("8度以下", "≤8℃"),
])
def test_cold_temperatures_mean_cold_chain(text, temperature):
    tags, _, temp, unclear = read(text)
    assert "冷链" in tags and temp == temperature and not unclear


@pytest.mark.parametrize("text", ["常温15-25℃", "常温保存", "25度以下"])
def test_room_temperature_is_not_cold_chain(text):
    tags, _, _, unclear = read(text)
    assert "冷链" not in tags and not unclear


@pytest.mark.parametrize("text, tag", [
    ("不要放驿站", "勿放驿站"), ("别放快递柜", "勿放驿站"), ("不放代收点，送货上门", "勿放驿站"),
    ("送货上门", "送货上门"), ("送到家", "送货上门"), ("放门口", "指定放置"),
    ("到付", "到付"), ("邮费到付", "到付"), ("运费由收件人支付", "到付"), ("收件人付运费", "到付"),
    ("对方付款", "到付"), ("运费对方出", "到付"),
    ("怕摔", "易碎"), ("别压", "易碎"), ("轻点放", "易碎"), ("玻璃的", "易碎"), ("小心搬运", "易碎"), ("不要扔", "易碎"),
])
def test_instructions_and_colloquial_wordings_are_understood(text, tag):
    tags, _, _, unclear = read(text)
    assert tag in tags and not unclear, (tags, unclear)


def test_one_cell_with_everything():
    tags, value, temp, unclear = read("保价5000元，2-8℃冷藏，不要放驿站，怕摔")
    assert tags == ["保价", "冷链", "勿放驿站", "易碎"] and value == Decimal("5000") and temp == "2-8℃"
    assert not unclear


@pytest.mark.parametrize("text", ["周末别送", "送到隔壁老王家的狗窝"])
def test_still_unclear_when_not_understood(text):
    _, _, _, unclear = read(text)
    assert unclear


def test_read_values_leaves_plain_text_alone():
    assert read_values("易碎") == read_values("易碎")
    assert read_values("易碎").rest == "易碎" and read_values("易碎").tags == ()


def test_declared_value_reaches_carrier_choice():
    from xl_addin.domain.waybills.carriers import load_default_carriers
    from xl_addin.domain.waybills.selection import OrderForShipping, select_carrier

    carriers = load_default_carriers()
    plain = select_carrier(OrderForShipping("A1", "江苏省", tags=(), weight_kg=1), carriers, "浙江省")
    insured = select_carrier(OrderForShipping("A1", "江苏省", tags=(), weight_kg=1, declared_value="5000.00"),
                             carriers, "浙江省")
    assert "insured" not in plain.addons
    assert insured.addons == ("insured",) and "5000" in insured.reason


def test_validate_writes_the_declared_value_column_into_the_real_workbook(tmp_path):
    import openpyxl

    from support.order_desk import NOW, fill_desk, order, run

    from xl_addin.adapters.workbook.books import ORDERS

    root = tmp_path / "desk"
    assert run("init", str(root)).returncode == 0
    book = fill_desk(root, [order(order_no="V1", special_requirements="保价5000元，易碎"),
                            order(order_no="V2", special_requirements="易碎")])
    done = run("validate", "--desk", str(root), "--now", NOW.isoformat(), cwd=root)
    assert done.returncode in (0, 1), done.stderr
    ws = openpyxl.load_workbook(book)[ORDERS.sheets[0].name]
    header = [c.value for c in ws[1]]
    col = header.index("保价金额")
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2) if r[0].value}
    assert rows["V1"][col].value == 5000 and rows["V1"][col].number_format.startswith("¥")
    assert rows["V2"][col].value is None
    assert "保价" in rows["V1"][header.index("要求标签")].value
