"""The Tracking Log workbook: overview and nodes from the store, manual nodes, Excel-open case, export."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.adapters.store.waybills import Binding, WaybillStore
from xl_addin.adapters.workbook.books import MANUAL_NODES_SHEET
from xl_addin.adapters.workbook.xml_patch import write_cells
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.desk.setup import init_desk
from xl_addin.services.tracking import export_tracking, refresh

CN = timezone(timedelta(hours=8))
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=CN)


@pytest.fixture
def desk_and_sandbox(tmp_path, monkeypatch):
    sb = serve_sandbox(start=NOW, speed=0.0, seed=2)
    monkeypatch.setenv("KUAIDI100_BASE_URL", sb.base_url)
    cfg = DEFAULT_CONFIG_TEXT.replace('provider = ""  ', 'provider = "sandbox"', 1).replace(
        "requests_per_second = 1.0", "requests_per_second = 200.0")
    init_desk(tmp_path / "desk", NOW, config_text=cfg)
    desk = load_desk(tmp_path / "desk")
    with store_for(desk) as st, st.transaction():
        WaybillStore(st).insert_bindings([
            Binding(order_no=f"O{i}", waybill_no=f"YT{i:010d}", carrier="圆通", carrier_code="yuantong",
                    source="auto", bound_at=NOW - timedelta(hours=3), bound_by="系统") for i in range(3)])
    for i, scen in enumerate(("normal", "stalled_in_transit", "no_record")):
        sb.app.pin(f"YT{i:010d}", "yuantong", scenario=scen, shipped_at=(NOW - timedelta(hours=2)).isoformat())
    yield desk, sb
    sb.stop()


def sheet_rows(path: Path, name: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:] if any(v is not None for v in r)]


def test_overview_and_nodes_follow_the_store(desk_and_sandbox):
    desk, sb = desk_and_sandbox
    book = desk.workbook("tracking")
    refresh(desk, NOW)
    ov = sheet_rows(book, "跟踪总览")
    assert [r["物流单号"] for r in ov] == ["YT0000000000", "YT0000000001", "YT0000000002"]
    assert ov[2]["当前状态"] == "暂无轨迹" and ov[0]["物流商名称"] == "圆通"
    nodes = sheet_rows(book, "节点明细")
    with store_for(desk) as st:
        assert len(nodes) == st.conn.execute("SELECT COUNT(*) FROM tracking_events").fetchone()[0] > 0
    # days later: the normal parcel is delivered, the stalled one flagged; rows update in place, nodes appended
    t = NOW + timedelta(days=4)
    sb.app.clock.set(t, 0.0)
    refresh(desk, t)
    ov = {r["物流单号"]: r for r in sheet_rows(book, "跟踪总览")}
    assert ov["YT0000000000"]["当前状态"] == "已签收" and ov["YT0000000000"]["异常标记"] == "否"
    assert ov["YT0000000001"]["异常标记"] == "是" and "中转停滞超48小时" in ov["YT0000000001"]["异常原因"]
    assert "未揽收" in ov["YT0000000002"]["异常原因"]
    nodes2 = sheet_rows(book, "节点明细")
    assert len(nodes2) > len(nodes) and len({(r["物流单号"], r["实际时间"], r["状态说明"]) for r in nodes2}) == len(nodes2)
    # the delivered waybill leaves the overview after 3 days (the others stay)
    later = t + timedelta(days=4)
    sb.app.clock.set(later, 0.0)
    refresh(desk, later)
    left = [r["物流单号"] for r in sheet_rows(book, "跟踪总览")]
    assert "YT0000000000" not in left and "YT0000000001" in left


def test_workbook_open_in_excel_is_not_overwritten_and_catches_up(desk_and_sandbox):
    desk, _ = desk_and_sandbox
    book = desk.workbook("tracking")
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(b"\x05Alice" + b"\x00" * 40)
    before = book.read_bytes()
    r = refresh(desk, NOW)
    assert r.queried == 3 and not r.workbook_written and "Excel" in r.workbook_message
    assert book.read_bytes() == before
    with store_for(desk) as st:
        assert TrackingStore(st).status("YT0000000000")["status_zh"]
    owner.unlink()
    r2 = refresh(desk, NOW + timedelta(minutes=5))  # nothing due, but the log catches up from the store
    assert r2.queried == 0 and r2.workbook_written
    assert len(sheet_rows(book, "跟踪总览")) == 3 and sheet_rows(book, "节点明细")


def test_manual_nodes_are_ingested_marked_and_never_overwritten(desk_and_sandbox):
    desk, sb = desk_and_sandbox
    book = desk.workbook("tracking")
    refresh(desk, NOW)
    cols = {c.key: i + 1 for i, c in enumerate(MANUAL_NODES_SHEET.columns)}
    when = datetime(2024, 11, 5, 10, 30)
    write_cells(book, "人工录入", 1, {}, {
        (2, cols["waybill_no"]): "YT0000000002", (2, cols["node_name"]): "已揽收", (2, cols["actual_time"]): when,
        (2, cols["outlet"]): "杭州萧山网点", (2, cols["status_note"]): "电话确认已揽收，系统未更新",
        (2, cols["evidence"]): "D:/凭证/截图1.png", (2, cols["entered_by"]): "李娜",
        (3, cols["waybill_no"]): "YT0000000001", (3, cols["node_name"]): "飞走了", (3, cols["actual_time"]): when,
    }, backup_dir=None)
    r = refresh(desk, NOW + timedelta(hours=2, minutes=1))
    assert r.manual_ingested == 1 and any("第3行" in p["message"] for p in r.problems)
    manual = sheet_rows(book, "人工录入")
    assert manual[0]["已导入"] is not None and manual[1]["已导入"] is None
    with store_for(desk) as st:
        ts = TrackingStore(st)
        evs = [e for e in ts.events_for("YT0000000002") if e.source == "manual"]
        assert len(evs) == 1 and evs[0].extra["evidence"] == "D:/凭证/截图1.png"
        assert ts.status("YT0000000002")["status_zh"] == "已揽收"
        assert not any(a["rule"] == "no_pickup_after_binding" for a in ts.anomalies(waybill_no="YT0000000002"))
    # the next sync neither duplicates nor touches it
    refresh(desk, NOW + timedelta(hours=4, minutes=2))
    with store_for(desk) as st:
        assert len([e for e in TrackingStore(st).events_for("YT0000000002") if e.source == "manual"]) == 1
    nodes = [n for n in sheet_rows(book, "节点明细") if n["来源"] == "人工"]
    assert len(nodes) == 1 and nodes[0]["凭证"] == "D:/凭证/截图1.png"


def test_export_writes_one_days_nodes(desk_and_sandbox):
    desk, sb = desk_and_sandbox
    t = NOW + timedelta(days=3)
    sb.app.clock.set(t, 0.0)
    refresh(desk, t)
    out = export_tracking(desk, (NOW + timedelta(days=1)).date())
    path = Path(out["path"])
    assert path.name == "实时物流跟踪记录-2024-11-06.xlsx" and path.exists()
    rows = sheet_rows(path, "节点明细")
    assert len(rows) == out["rows"] > 0
    assert all(r["实际时间"].date().isoformat() == "2024-11-06" for r in rows)


def test_writer_rounds_add_only_what_changed_and_match_a_single_write(desk_and_sandbox, tmp_path):
    """The refresh writes the log in rounds while it queries; the result must equal one write at the end."""
    import shutil

    from xl_addin.config.timezone import desk_timezone
    from xl_addin.services.tracking.tracking_log import LogWriter, write_tracking_log

    desk, sb = desk_and_sandbox
    book = desk.workbook("tracking")
    template = tmp_path / "template.xlsx"
    shutil.copy(book, template)
    refresh(desk, NOW, write_workbook=False)
    tz = desk_timezone(desk.settings)
    shutil.copy(template, book)
    with store_for(desk) as st:
        writer = LogWriter(book, NOW, tz, backup_dir=desk.backup_dir)
        first = writer.write(st, overview=False)
        assert first.nodes_added > 0 and first.overview_rows == 0
        before = book.stat().st_mtime_ns
        again = writer.write(st, overview=False)  # nothing new: the file is not rewritten
        assert again.nodes_added == 0 and book.stat().st_mtime_ns == before
        last = writer.write(st)
        assert last.overview_rows == 3 and last.nodes_added == 0
        rounds = (sheet_rows(book, "跟踪总览"), sheet_rows(book, "节点明细"))
        shutil.copy(template, book)
        write_tracking_log(book, st, NOW, tz, backup_dir=None)
    assert (sheet_rows(book, "跟踪总览"), sheet_rows(book, "节点明细")) == rounds
