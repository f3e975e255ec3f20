"""What staff read: every command's text and every workbook and e-mail the product writes show moments in
the desk's time zone (no ISO ``T``, no ``+00:00``); click's own messages are Chinese; ``--desk`` and
``--now`` mistakes are named. The desk is a real demo desk; the commands run as the console script does."""

import email
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[2]
CN = timezone(timedelta(hours=8))
START = datetime(2026, 11, 24, 9, 0, tzinfo=CN)
AFTER = "2026-12-05T10:00+08:00"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\+00:00")
# internal codes in brackets or as a label: [DUPLICATE_ORDER], [query], 来源: anomaly, {'picked_up': 3}
CODE = re.compile(r"\[[A-Z][A-Z_]{3,}\]|\[(?:query|push|manual)\]|来源: [a-z_]+|'[a-z_]+': \d|规则 [a-z_]{6,}")


def cli(*args, env=None):
    full = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True,
                          env=full, timeout=120)


@pytest.fixture(scope="module")
def demo_desk(tmp_path_factory):
    from xl_addin.demo.run import run_demo

    root = tmp_path_factory.mktemp("people") / "demo"
    run_demo(root, START, orders=40)
    return root


def _first(desk: Path, sql: str) -> str:
    import sqlite3

    with sqlite3.connect(desk / ".xl-logistics" / "state.sqlite3") as c:
        return c.execute(sql).fetchone()[0]


def _commands(desk: Path, csv: Path) -> dict[str, list[str]]:
    """Every command's invocation on the demo desk (a command missing here fails the coverage test)."""
    waybill = _first(desk, "SELECT waybill_no FROM tracking_events GROUP BY waybill_no ORDER BY COUNT(*) DESC")
    case = _first(desk, "SELECT case_id FROM cases ORDER BY case_id")
    order = _first(desk, "SELECT order_no FROM orders ORDER BY order_no")
    bound = _first(desk, f"SELECT order_no FROM bindings WHERE waybill_no = '{waybill}'")
    return {
        "track": ["track", waybill], "cases": ["cases"], "case": ["case", case], "followups": ["followups"],
        "followup": ["followup", bound, "--intact", "是", "--speed-ok", "是", "--by", "王芳"],
        "doctor": ["doctor"], "close": ["close"], "sync-ledger": ["sync-ledger"],
        "summary": ["summary", "--week", "2026-W48"], "notify": ["notify"], "validate": ["validate"],
        "review": ["review", "--date", "2026-11-24", "--by", "赵主管"], "allocate": ["allocate"],
        "export-tracking": ["export-tracking", "--date", "2026-11-25"], "subscribe": ["subscribe", "--list"],
        "db status": ["db", "status"], "refresh": ["refresh"], "confirm": ["confirm", order, "--outcome", "已确认",
                                                                          "--by", "王芳"],
        "bind": ["bind", order, "SF1234567890123", "--carrier", "顺丰", "--by", "李强"],
        "rebind": ["rebind", bound, "JD20261124999999", "--by", "李强", "--reason", "物流商重新出单"],
        "report-exception": ["report-exception", "--waybill", waybill, "--type", "破损", "--description", "外箱压坏",
                             "--by", "张敏"],
        "case-update": ["case-update", case, "--by", "异常处理专员", "--cause", "暴雨"],
        "archive": ["archive", "--month", "2026-11"], "import": ["import", str(csv), "--source", "某平台"],
        "sandbox-clock": ["sandbox-clock"],
        "override": ["override", order, "PHONE_INVALID", "--by", "赵主管", "--role", "物流主管", "--reason", "客户电话确认"],
    }


# long-running servers, or commands that do not read a desk: their text is covered elsewhere
NOT_RUN_HERE = {"demo": "builds the desk of this test", "sandbox": "a server (tests/tracking/test_init_sandbox.py)",
                "serve": "a server (tests/push/test_push_receiver.py)", "schedule": "runs until Ctrl-C",
                "init": "tests/tracking/test_init_sandbox.py", "addin": "a group", "addin build": "writes an .xlam",
                "addin install": "Windows only", "db": "a group", "db upgrade": "nothing to upgrade on a new desk",
                "db copy": "needs a second database"}


def test_every_command_is_scanned(demo_desk, tmp_path):
    from support.cli_commands import all_commands

    names = {" ".join(path) for path, _cmd in all_commands()}
    covered = set(_commands(demo_desk, tmp_path / "x.csv")) | set(NOT_RUN_HERE)
    assert names <= covered, f"add these to _commands or NOT_RUN_HERE: {sorted(names - covered)}"


def test_command_text_shows_desk_time_only(demo_desk, tmp_path):
    from xl_addin.sandbox import serve_sandbox

    csv = tmp_path / "orders.csv"
    csv.write_text("订单编号,客户名称,货物名称,数量,收件人,收件人电话,收货地址\n"
                   "DD20261205000001,某公司,茶叶,2,李雷,13800138000,浙江省杭州市西湖区文三路90号B座3楼\n",
                   encoding="utf-8")
    with serve_sandbox(speed=0.0, start=START + timedelta(days=11), seed=7) as sb:
        for name, args in _commands(demo_desk, csv).items():
            port = ["--port", sb.base_url.rsplit(":", 1)[1]] if name == "sandbox-clock" else []
            out = cli(*args, *port, "--desk", str(demo_desk), "--now", AFTER, env={"KUAIDI100_BASE_URL": sb.base_url})
            text = out.stdout + out.stderr
            assert "Traceback" not in text and "出错了" not in text, (args, text)
            assert text.strip(), args
            bad = ISO.findall(text)
            assert not bad, (args, bad, text[:2000])
            codes = CODE.findall(text)
            assert not codes, (args, codes, text[:2000])


def test_track_shows_the_node_time_the_tracking_log_shows(demo_desk):
    waybill = _first(demo_desk, "SELECT waybill_no FROM tracking_events GROUP BY waybill_no ORDER BY COUNT(*) DESC")
    stored = _first(demo_desk, f"SELECT MAX(time) FROM tracking_events WHERE waybill_no = '{waybill}'")
    local = datetime.fromisoformat(stored).astimezone(CN).strftime("%Y-%m-%d %H:%M")
    out = cli("track", waybill, "--desk", str(demo_desk))
    assert out.returncode == 0, out.stderr
    assert local in out.stdout and "[query]" not in out.stdout and "[push]" not in out.stdout
    as_json = json.loads(cli("track", waybill, "--desk", str(demo_desk), "--json").stdout)
    assert any(re.search(r"T\d{2}:\d{2}.*[+-]\d{2}:\d{2}$", n["time"]) for n in as_json["nodes"])  # JSON keeps ISO


def test_every_workbook_and_email_shows_desk_time_only(demo_desk):
    cli("summary", "--week", "2026-W48", "--desk", str(demo_desk), "--now", AFTER)
    books = [p for p in demo_desk.rglob("*.xlsx") if ".xl-logistics" not in p.parts and not p.name.startswith("~$")]
    assert any(p.name == "最近运行.xlsx" for p in books) and any("周度汇总" in p.name for p in books)
    assert any("archive" in p.parts for p in books)
    found = []
    for path in books:
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                found += [(path.name, ws.title, v) for v in row if isinstance(v, str) and ISO.search(v)]
        wb.close()
    assert not found, found[:10]
    mails = list((demo_desk / "outbox").rglob("*.eml"))
    assert mails
    for path in mails:
        msg = email.message_from_bytes(path.read_bytes())
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                assert not ISO.search(body), (path.name, ISO.findall(body))


def test_last_runs_workbook_speaks_chinese(demo_desk):
    cli("followups", "--desk", str(demo_desk), "--now", AFTER)
    wb = openpyxl.load_workbook(demo_desk / "最近运行.xlsx", read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("任务", "开始时间", "结束时间", "结果")
    text = " ".join(str(v) for r in rows for v in r if v is not None)
    for code in ("followups-list", "followups", "refresh", "done", "queried=", "updated="):
        assert code not in text, (code, text)
    assert "回访清单" in text


@pytest.mark.parametrize("args, words", [
    (["trak"], ["没有命令 'trak'", "是不是要写 'track'"]),
    (["refresh", "--dsk", "x"], ["没有选项 '--dsk'", "--desk", "用法: xl-logistics refresh"]),
    (["track"], ["缺少参数 'WAYBILL'", "查看帮助: xl-logistics track --help"]),
    (["review"], ["缺少选项 '--date'"]),
    (["sandbox", "--port", "abc"], ["'--port' 的值不对", "不是有效的整数"]),
    (["demo", "--orders", "5"], ["'--orders' 的值不对", "不在范围"]),
    (["report-exception", "--type", "延误", "--description", "x", "--by", "王", "--source", "fax"],
     ["'--source' 的值不对", "不在可选范围内"]),
])
def test_click_messages_are_chinese(args, words):
    out = cli(*args)
    assert out.returncode == 2
    for w in words:
        assert w in out.stderr, (w, out.stderr)
    for english in ("Usage:", "Error:", "Try '", "No such", "Missing", "Invalid value", "is not"):
        assert english not in out.stderr, (english, out.stderr)


def test_a_desk_folder_that_does_not_exist_is_named(tmp_path):
    out = cli("cases", "--desk", str(tmp_path / "nope"))
    assert out.returncode == 2 and "不存在" in out.stderr and str(tmp_path / "nope") in out.stderr
    assert not (tmp_path / "nope").exists()


def test_now_without_a_time_of_day_is_refused_with_an_example(tmp_path):
    cli("init", str(tmp_path / "d"))
    out = cli("cases", "--desk", str(tmp_path / "d"), "--now", "2026-12-07")
    assert out.returncode == 2 and "只写了日期" in out.stderr and "2026-12-07 09:00" in out.stderr
    ok = cli("cases", "--desk", str(tmp_path / "d"), "--now", "2026-12-07 09:00")
    assert ok.returncode == 0, ok.stderr
