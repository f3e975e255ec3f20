"""The whole push loop over real HTTP on 127.0.0.1: subscribe to the sandbox, the sandbox pushes on its
simulated clock, the receiver verifies and ingests, notices go to a real SMTP server (aiosmtpd) and a
local webhook robot — each exactly once, also when pushes repeat, when the SMTP server is down for a
while, and when the receiver process is killed between storing a push and answering it."""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller

from support.net import free_port
from support.push_desk import CN, NOW, make_desk
from support.smtp import Inbox
from xl_addin.adapters.store.notifications import NotificationLog
from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client
from xl_addin.bootstrap import store_for
from xl_addin.receiver import serve_receiver
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.push.service import CRASH_ENV, subscribe_waybills

ROOT = Path(__file__).resolve().parents[2]
LIVE = {'enabled = false ': 'enabled = true ', 'quiet_hours = "22:00-08:00"': 'quiet_hours = ""',
        'channels = ["email", "sms", "webhook"]': 'channels = ["email", "webhook"]'}


class Robot:
    """A WeCom-style robot endpoint that records each text message."""

    def __init__(self):
        self.texts = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robot.texts.append(body["text"]["content"])
                out = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=t"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def pin(sb, n, scenario="normal", start=NOW):
    for i in range(n):
        sb.app.pin(f"WB{i:08d}", ("zhongtong", "yuantong")[i % 2], scenario=scenario, phone="13800138000",
                   shipped_at=(start + timedelta(minutes=30)).isoformat())


@pytest.mark.slow
def test_full_loop_exactly_once_with_repeats_and_smtp_down(tmp_path):
    n = 4
    desk = make_desk(tmp_path / "desk", n, emails=True, config_extra=LIVE)
    smtp_port = free_port()
    robot = Robot()
    env = {"XL_LOGISTICS_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "XL_LOGISTICS_WEBHOOK_URL": robot.url,
           "KUAIDI100_SALT": "loop-salt"}
    sb = serve_sandbox(start=NOW, speed=0.0, seed=5)
    rx = serve_receiver(desk, clock=sb.app.clock.now, env=env, send_interval=3600, access_log=False)
    inbox, ctl = Inbox(), None
    try:
        pin(sb, n)
        c = Kuaidi100Client(sb.base_url, sb.customer, sb.key, timeout=(2, 5))
        res = subscribe_waybills(desk, NOW, client=c, url=rx.url + "/kuaidi100/callback", env=env)
        c.close()
        assert res.accepted == n
        t = NOW
        for step in range(24 * 6):
            t += timedelta(hours=1)
            sb.app.clock.set(t, 0.0)
            if step == 4:  # the SMTP server comes up after being down for the first hours
                ctl = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
                ctl.start()
            if step % 7 == 3:  # the provider repeats itself: full re-push of every journey
                for sub in sb.app.subscriptions.values():
                    if sub.status == "polling":
                        sub.pushed_nodes, sub.next_push_at = -1, t
            sb.app.push_due(t, workers=4)
            rx.service.flush(t)
        rx.service.flush(t + timedelta(hours=1))
        assert all(s.status == "shutdown" for s in sb.app.subscriptions.values())
        assert sb.app.stats["pushes_failed"] == 0 and sb.app.stats["pushes_ok"] > n * 3
        with store_for(desk) as st:
            rows = NotificationLog(st).all()
            assert {r.state for r in rows} == {"sent"}
            assert any(r.attempts > 1 for r in rows if r.channel == "email")  # some waited for the SMTP server
        keys = Counter(m["X-XL-Notice-Key"] for m in inbox.messages)
        assert len(keys) == 3 * n and set(keys.values()) == {1}  # picked up, out for delivery, signed: once each
        assert len(robot.texts) == 3 * n and len(set(robot.texts)) == 3 * n
        assert {r.key for r in rows if r.channel == "email"} == set(keys)
    finally:
        rx.stop()
        sb.stop()
        robot.close()
        if ctl:
            ctl.stop()


def start_serve(desk_root, port, env):
    code = ("import sys; import xl_addin.entrypoints.push_commands; from xl_addin.entrypoints.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--desk", str(desk_root)],
                            env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stderr.read().decode())


@pytest.mark.slow
def test_receiver_killed_mid_ingest_and_restarted_sends_each_notice_once(tmp_path):
    n = 6
    desk = make_desk(tmp_path / "desk", n, config_extra={'quiet_hours = "22:00-08:00"': 'quiet_hours = ""'})
    port = free_port()
    env = dict(os.environ, KUAIDI100_SALT="kill-salt", PYTHONPATH=str(ROOT))
    for k in ("XL_LOGISTICS_SMTP_URL", "XL_LOGISTICS_WEBHOOK_URL", "XL_LOGISTICS_SMS_URL"):
        env.pop(k, None)
    # the served receiver reads the wall clock, so this journey happens now
    start = datetime.now(CN).replace(microsecond=0) - timedelta(hours=1)
    sb = serve_sandbox(start=start, speed=0.0, seed=8)
    try:
        pin(sb, n, start=start)
        c = Kuaidi100Client(sb.base_url, sb.customer, sb.key, timeout=(2, 5))
        subscribe_waybills(desk, start, client=c, url=f"http://127.0.0.1:{port}/kuaidi100/callback",
                           env={"KUAIDI100_SALT": "kill-salt"})
        c.close()
        # the receiver dies right after storing its 3rd push, before answering: the provider sees a failure
        proc = start_serve(desk.root, port, dict(env, **{CRASH_ENV: "3"}))
        t = start + timedelta(hours=5)
        sb.app.clock.set(t, 0.0)
        first = sb.app.push_due(t)
        assert proc.wait(timeout=10) == 137 and first["failed"] >= 1
        proc = start_serve(desk.root, port, env)  # restarted; the provider retries 35 minutes later
        try:
            for _ in range(24 * 5):
                t += timedelta(hours=1)
                sb.app.clock.set(t, 0.0)
                sb.app.push_due(t, workers=3)
            time.sleep(1.0)
        finally:
            proc.terminate()  # graceful: finishes what is in flight, sends what is due
            assert proc.wait(timeout=20) == 0
        logs = [json.loads(l) for l in (desk.log_dir / "receiver.jsonl").read_text(encoding="utf-8").splitlines()]
        assert any(l["event"] == "shutting_down" and l.get("signal") == "SIGTERM" for l in logs)
    finally:
        sb.stop()
    with store_for(desk) as st:
        rows = NotificationLog(st).all()
        queued = st.conn.execute("SELECT COUNT(*) FROM pending_notices").fetchone()[0]
    assert queued == 0
    per_node = Counter((r.waybill_no, r.node) for r in rows if r.channel == "webhook")
    assert len(per_node) == 3 * n and set(per_node.values()) == {1}
    files = {p.name for p in desk.outbox_dir.rglob("*") if p.is_file()}
    assert {r.state for r in rows} == {"sent"}
    assert {r.receipt.split()[-1] for r in rows} == files, [r.receipt for r in rows]
