"""Exception reports name a real shipment, and their evidence files are kept with a hash.

A real desk (workbooks, SQLite store), real files on disk, the CLI in a subprocess."""

import hashlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from support.order_desk import run

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.services.cases import case_handling as sc
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.cases.evidence import evidence_of

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)


@pytest.fixture
def desk(tmp_path):
    init_desk(tmp_path / "desk", NOW)
    d = load_desk(tmp_path / "desk")
    with store_for(d) as s, s.transaction():
        TrackingStore(s).register([{"waybill_no": "SF1001", "order_no": "DD1001", "carrier_code": "shunfeng"}], NOW)
    return d


def _report(desk, **kw):
    with store_for(desk) as s:
        return sc.report_exception(s, NOW, type="破损", description="外箱压扁", by="李娜", tz=TZ,
                                   desk_root=desk.root, **kw)


def _cases(desk):
    with store_for(desk) as s:
        return CaseStore(s).all()


@pytest.mark.parametrize("named", [dict(waybill_no="NOPE123"), dict(order_no="NOPE-ORDER"),
                                   dict(waybill_no="SF1001", order_no="NOPE-ORDER")])
def test_an_unknown_shipment_is_refused_and_nothing_is_recorded(desk, named):
    with pytest.raises(sc.CaseInputError, match="不是本台账的运单或订单"):
        _report(desk, **named)
    assert _cases(desk) == []


def test_an_off_system_shipment_needs_a_reason_which_is_kept(desk):
    with pytest.raises(sc.CaseInputError, match="原因"):
        _report(desk, waybill_no="NOPE123", off_system="  ")
    case = _report(desk, waybill_no="NOPE123", off_system="客户自行寄出的退货件")
    with store_for(desk) as s:
        history = CaseStore(s).history(case["case_id"])
        audit = [a for a in s.audit_entries("case", case["case_id"]) if a["action"] == "case_off_system"]
    assert [h["new_value"] for h in history if h["field"] == "台账外运单"] == ["客户自行寄出的退货件"]
    assert audit and audit[0]["detail"]["reason"] == "客户自行寄出的退货件"


def test_a_known_waybill_or_order_is_accepted(desk):
    assert _report(desk, waybill_no="SF1001")["order_no"] == "DD1001"
    assert _report(desk, order_no="DD1001", off_system=None)["duplicate"]  # same waybill and type: joins the case


def test_a_missing_evidence_file_is_refused(desk, tmp_path):
    with pytest.raises(sc.UserError, match="凭证文件不存在"):
        _report(desk, waybill_no="SF1001", evidence=str(tmp_path / "没有这张图.jpg"))
    with pytest.raises(sc.UserError, match="不是一个文件"):
        _report(desk, waybill_no="SF1001", evidence=str(tmp_path))
    assert _cases(desk) == []


def test_evidence_is_copied_with_its_hash_and_outlives_the_original(desk, tmp_path):
    photo = tmp_path / "外箱照片.jpg"
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    photo.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    case = _report(desk, waybill_no="SF1001", evidence=str(photo))
    photo.unlink()  # the original moves away
    with store_for(desk) as s:
        [kept] = evidence_of(s, case["case_id"])
    assert kept["sha256"] == digest and kept["size"] == len(data)
    copy = desk.root / kept["stored"]
    assert copy.parent == desk.root / "evidence" / "2026-11"
    assert copy.read_bytes() == data and hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    assert case["evidence"] == kept["stored"]


def test_a_link_is_kept_as_given(desk):
    case = _report(desk, order_no="DD1001", evidence="https://img.example/2.jpg")
    assert case["evidence"] == "https://img.example/2.jpg"
    with store_for(desk) as s:
        assert evidence_of(s, case["case_id"]) == []


def test_cli_report_exception_on_a_real_desk(tmp_path):
    root = tmp_path / "desk"
    assert run("init", str(root)).returncode == 0
    with store_for(load_desk(root)) as s, s.transaction():
        TrackingStore(s).register([{"waybill_no": "SF1001", "order_no": "DD1001", "carrier_code": "shunfeng"}], NOW)
    base = ["report-exception", "--type", "破损", "--description", "外箱压扁", "--by", "李娜", "--desk", str(root),
            "--now", NOW.isoformat()]
    nope = run(*base, "--waybill", "NOPE123")
    assert nope.returncode == 2 and "NOPE123" in nope.stderr and "--off-system" in nope.stderr
    assert "Traceback" not in nope.stderr
    missing = run(*base, "--waybill", "SF1001", "--evidence", str(tmp_path / "no.jpg"))
    assert missing.returncode == 2 and "凭证文件不存在" in missing.stderr
    photo = tmp_path / "照片.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 500)
    ok = run(*base, "--waybill", "SF1001", "--evidence", str(photo), "--json")
    assert ok.returncode == 0, ok.stderr
    case_id = json.loads(ok.stdout)["case_id"]
    photo.unlink()
    shown = json.loads(run("case", case_id, "--desk", str(root), "--now", NOW.isoformat(), "--json").stdout)
    [kept] = shown["evidence_files"]
    assert (root / kept["stored"]).exists()
    assert kept["sha256"] == hashlib.sha256(b"\x89PNG\r\n\x1a\n" + b"x" * 500).hexdigest()
    off = run(*base, "--waybill", "NOPE123", "--off-system", "客户自行寄出的退货件", "--type", "丢件")
    assert off.returncode == 0, off.stderr
