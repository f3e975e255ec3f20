"""The unit of work ``bootstrap.build_uow`` gives a use case, on a real desk: its store and repositories,
one transaction per block, the desk's workbooks and zone, and the provider and notifier built on first use."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from support.closing_desk import make_desk
from xl_addin.bootstrap import build_uow
from xl_addin.errors import ConfigError
from xl_addin.services.report import Report

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture()
def desk(tmp_path):
    return make_desk(tmp_path / "desk", NOW)


def test_the_unit_of_work_holds_the_desks_store_workbooks_clock_and_zone(desk):
    from xl_addin.adapters.store.followups import ClosingStore
    from xl_addin.adapters.store.waybills import WaybillStore

    with build_uow(desk, NOW) as uow:
        assert uow.now == NOW and uow.tz.utcoffset(NOW) == timedelta(hours=8)
        assert uow.books.orders == desk.workbook("orders") and uow.books.backup_dir == desk.backup_dir
        assert isinstance(uow.waybills, WaybillStore) and uow.waybills.store is uow.store
        assert isinstance(uow.closing, ClosingStore) and uow.waybills is uow.waybills
        assert uow.store.location.endswith("state.sqlite3")
    with pytest.raises(sqlite3.ProgrammingError):  # closed at the end of the with block
        uow.store.conn.execute("SELECT 1")


def test_a_missing_workbook_is_none(desk):
    desk.workbook("tracking").unlink()
    with build_uow(desk, NOW) as uow:
        assert uow.books.tracking is None and uow.books.bindings == desk.workbook("bindings")


def test_a_transaction_commits_at_the_end_of_its_block_or_not_at_all(desk):
    with build_uow(desk, NOW) as uow:
        with uow.transaction():
            uow.store.audit(NOW, "王芳", "test:kept", "order", "O1", {})
        with pytest.raises(RuntimeError), uow.transaction():
            uow.store.audit(NOW, "王芳", "test:dropped", "order", "O2", {})
            raise RuntimeError("stopped halfway")
    with build_uow(desk, NOW) as again:
        assert [e["action"] for e in again.store.audit_entries("order", "O1")] == ["test:kept"]
        assert again.store.audit_entries("order", "O2") == []


def test_no_tracking_account_is_a_config_error_only_when_the_provider_is_asked_for(desk):
    with build_uow(desk, NOW, env={}) as uow:  # a use case that never tracks needs no account
        with pytest.raises(ConfigError) as err:
            uow.provider()
    assert "KUAIDI100_CUSTOMER" in err.value.message


def test_the_provider_is_the_configured_kuaidi100_client_built_once(desk):
    from xl_addin.sandbox import serve_sandbox
    from xl_addin.services.tracking import SANDBOX_CUSTOMER, SANDBOX_KEY

    sandbox = serve_sandbox(customer=SANDBOX_CUSTOMER, key=SANDBOX_KEY)
    env = {"KUAIDI100_CUSTOMER": SANDBOX_CUSTOMER, "KUAIDI100_KEY": SANDBOX_KEY, "KUAIDI100_BASE_URL": sandbox.base_url}
    try:
        with build_uow(desk, NOW, env=env) as uow:
            client = uow.provider()
            assert uow.provider() is client
            outcome = client.autonumber("SF1234567890123")  # a real request to the sandbox on 127.0.0.1
            assert outcome.kind == "ok", outcome
    finally:
        sandbox.stop()


def test_the_notifier_is_the_desks_built_once_on_the_same_store(desk):
    with build_uow(desk, NOW, env={}) as uow:
        notifier = uow.notifier()
        assert uow.notifier() is notifier
        assert notifier.log.store is uow.store and notifier.outbox.folder == desk.outbox_dir / "notifications"


# ---------------------------------------------------------------- the Report and its renderers

def _render(report: Report, as_json: bool = False) -> tuple[int, str, str]:
    from xl_addin.entrypoints.common import Options, render

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = render(Options(desk=None, json=as_json, now_text=None), report)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_the_cli_prints_lines_in_desk_time_json_on_request_warnings_on_stderr():
    stamp = datetime(2026, 11, 26, 1, 30, tzinfo=timezone.utc).isoformat()
    report = Report("完结订单", (f"签收于 {stamp}", "第二行"), {"at": stamp}, 1, ("回访表未更新",), tz=ZoneInfo("Asia/Shanghai"))
    assert _render(report) == (1, "签收于 2026-11-26 09:30\n第二行\n", "回访表未更新\n")
    assert _render(report, as_json=True) == (1, '{\n  "at": "2026-11-26T01:30:00+00:00"\n}\n', "回访表未更新\n")
    assert _render(Report("", ("无 JSON 形式",)), as_json=True)[1] == "无 JSON 形式\n"


def test_the_excel_message_is_the_same_text_with_the_warnings_below_and_the_title():
    tz = ZoneInfo("Asia/Shanghai")
    ok = Report("主管审核", ("审核 6 条", "  ⚠ 无"), tz=tz).excel_message()
    assert (ok.title, ok.text, ok.kind) == ("物流助手 · 主管审核", "审核 6 条\n  ⚠ 无", "info")
    noted = Report("完结订单", ("已完结 1 单",), warnings=("回访表未更新",), tz=tz).excel_message()
    assert (noted.text, noted.kind) == ("已完结 1 单\n回访表未更新", "warning")
    failed = Report("", (), exit_code=1).excel_message()
    assert (failed.title, failed.text, failed.kind) == ("物流助手", "完成", "warning")
