"""followups / archive --email against a real local SMTP server (aiosmtpd); a down server is a clear error."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from support.archive_month import NOV, build_month
from support.net import free_port
from support.smtp import Inbox


@pytest.fixture
def desk(tmp_path):
    return build_month(tmp_path / "desk")


def cli(*args):
    from xl_addin.entrypoints import closing_commands  # noqa: F401
    from xl_addin.entrypoints.cli import main
    return main(list(args))


def test_archive_email_subject_recipients_html_and_attachment(desk, monkeypatch):
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        monkeypatch.setenv("XL_LOGISTICS_SMTP_URL", f"smtp://127.0.0.1:{ctl.port}")
        code = cli("archive", "--month", "2026-10", "--email", "boss@example.com,ops@example.com",
                   "--desk", str(desk.root), "--now", NOV.isoformat())
    finally:
        ctl.stop()
    assert code == 0 and len(inbox.messages) == 1
    _, rcpts, raw = inbox.received[0]
    assert rcpts == ["boss@example.com", "ops@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "月度归档 2026-10：订单 3 单"
    html = msg.get_body(("html",)).get_content()
    assert "归档订单" in html and "<table" in html and "订单确认单-2026-10.xlsx" in html
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    folder = desk.archive_dir / "2026-10"
    assert files["订单确认单-2026-10.xlsx"] == (folder / "订单确认单-2026-10.xlsx").read_bytes()
    assert b'"state": "complete"' in files["manifest.json"]


def test_followups_email_with_server_down_still_writes_report(desk, monkeypatch, capsys):
    monkeypatch.setenv("XL_LOGISTICS_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    at = NOV + timedelta(hours=1)
    code = cli("followups", "--email", "desk@example.com", "--desk", str(desk.root), "--now", at.isoformat())
    err = capsys.readouterr().err
    assert code == 2 and "未能发送" in err and "回访清单已写入" in err
    assert list(desk.reports_dir.glob("满意度回访-*.xlsx"))
    assert list(desk.outbox_dir.glob("*.eml"))            # the message is kept for a later send
    assert "\tfollowups-list\tfailed\t" in (desk.log_dir / "jobs.log").read_text(encoding="utf-8")


def test_no_smtp_writes_eml_to_outbox(desk, monkeypatch, capsys):
    monkeypatch.delenv("XL_LOGISTICS_SMTP_URL", raising=False)
    code = cli("followups", "--email", "desk@example.com", "--desk", str(desk.root), "--now", NOV.isoformat())
    assert code == 0 and "邮件已保存到" in capsys.readouterr().out
    eml = list(desk.outbox_dir.glob("*.eml"))
    msg = email.message_from_bytes(eml[0].read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("满意度回访提醒") and any(True for _ in msg.iter_attachments())
