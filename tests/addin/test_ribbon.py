"""The ribbon XML: valid against Microsoft's customUI schema, and every button wired to a handler."""

import hashlib
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from xl_addin.excel import handlers
from xl_addin.excel.ribbon_schema import CUSTOMUI_NS, load_schema

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "tests" / "data" / "customui14.xsd"  # Microsoft's, unmodified (tests/data/README.md)
XSD_SHA256 = "c912e38f6938d79af9d1dc83a05077510f7bb407da386a52e7cfcb13e8afdfd5"
BAD_RIBBON = (f'<customUI xmlns="{CUSTOMUI_NS}"><ribbon><tabs><tab id="t" label="x">'
              '<group id="g" label="g"><button id="b" label="b" colour="red"/></group>'
              '</tab></tabs></ribbon></customUI>')
RIBBON = REPO / "macros" / "customUI14.xml"
NS = {"c": CUSTOMUI_NS}


@pytest.fixture(scope="module")
def ribbon():
    return etree.parse(str(RIBBON))


def test_the_schema_is_microsofts_unmodified_file():
    assert hashlib.sha256(XSD.read_bytes()).hexdigest() == XSD_SHA256


def test_ribbon_validates_against_the_unmodified_schema_with_xmlschema():
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(str(RIBBON))  # raises with the first violation
    assert not schema.is_valid(BAD_RIBBON)


def test_ribbon_validates_against_the_lxml_adapted_schema(ribbon):
    schema = load_schema(XSD)
    assert schema.validate(ribbon), schema.error_log
    assert not schema.validate(etree.fromstring(BAD_RIBBON))


def test_tab_and_groups(ribbon):
    tab = ribbon.find(".//c:tab", NS)
    assert tab.get("label") == "物流助手"
    groups = {g.get("label"): [b.get("label") for b in g.findall("c:button", NS)] for g in tab.findall("c:group", NS)}
    assert groups == {"订单": ["校验订单", "客户确认"], "运单": ["分配运单", "补录运单", "主管审核"],
                      "跟踪": ["刷新跟踪", "人工录入节点"], "异常": ["上报异常", "同步台账"],
                      "报表": ["周报", "发送邮件", "月度归档"], "设置": ["检查环境"]}


def test_every_button_is_complete_and_keytips_unique(ribbon):
    buttons = ribbon.findall(".//c:button", NS)
    for b in buttons:
        for attr in ("id", "label", "imageMso", "keytip", "screentip", "supertip", "tag"):
            assert b.get(attr), (b.get("id"), attr)
        assert b.get("onAction") == "XlLogistics_OnAction"
    keytips = [b.get("keytip") for b in buttons]
    assert len(set(keytips)) == len(keytips)


def test_tags_and_handlers_match_both_ways(ribbon):
    tags = [b.get("tag") for b in ribbon.findall(".//c:button", NS)]
    assert len(set(tags)) == len(tags)
    assert set(tags) == set(handlers.HANDLERS)
    for tag in tags:
        assert handlers.HANDLERS[tag].label == ribbon.find(f".//c:button[@tag='{tag}']", NS).get("label")
