"""The real ``xl-logistics serve`` process, SIGKILLed while 20 senders push into it: every push it had
acknowledged is in the store afterwards (the answer comes only after the batch commit), and after a
restart the senders re-send what was not acknowledged — as Kuaidi100 does — without any node stored twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from support.net import free_port
from support.push_desk import CN, event_item, make_desk, push_form
from xl_addin.bootstrap import store_for

ROOT = Path(__file__).resolve().parents[2]
ACK = '{"result":true,"returnCode":"200","message":"成功"}'
SALT = "kill-mid-run-salt"
WAYBILLS, NODES, SENDERS = 100, 4, 20


def start_serve(desk_root: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, KUAIDI100_SALT=SALT, PYTHONPATH=str(ROOT))
    for k in ("XL_LOGISTICS_SMTP_URL", "XL_LOGISTICS_WEBHOOK_URL", "XL_LOGISTICS_SMS_URL"):
        env.pop(k, None)
    code = "import sys; from xl_addin.entrypoints.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--desk", str(desk_root)],
                            env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("xl-logistics serve did not start")


def journeys() -> list[tuple[str, int, dict]]:
    """(waybill, nodes in this push, form): each waybill pushed as its journey grows, interleaved."""
    start = datetime.now(CN).replace(microsecond=0) - timedelta(hours=NODES + 1)
    out = []
    for k in range(1, NODES + 1):
        for w in range(WAYBILLS):
            items = [event_item(start + timedelta(hours=j), f"【第{j + 1}站】 快件已到达", "1002" if j else "103")
                     for j in range(k)]
            out.append((f"WB{w:08d}", k, push_form(f"WB{w:08d}", items, salt=SALT)))
    return out


def send_all(url: str, payloads: list, kill_after: int | None = None, proc=None) -> list[bool]:
    acked = [False] * len(payloads)
    count = [0]
    lock = threading.Lock()
    sessions = [requests.Session() for _ in range(SENDERS)]

    def one(i: int) -> None:
        try:
            r = sessions[i % SENDERS].post(url, data=payloads[i][2], timeout=20)
        except requests.RequestException:
            return
        if r.status_code == 200 and r.text == ACK:
            acked[i] = True
            with lock:
                count[0] += 1
                if kill_after is not None and count[0] == kill_after:
                    os.kill(proc.pid, signal.SIGKILL)  # mid-run: other requests are in flight right now

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        list(pool.map(one, range(len(payloads))))
    return acked


def stored(desk) -> tuple[dict[str, int], int, int]:
    with store_for(desk) as st:
        per = dict(st.conn.execute("SELECT waybill_no, COUNT(*) FROM tracking_events GROUP BY waybill_no").fetchall())
        total, distinct = st.conn.execute("SELECT COUNT(*), COUNT(DISTINCT event_key) FROM tracking_events").fetchone()
    return per, total, distinct


@pytest.mark.slow
def test_sigkill_mid_run_loses_no_acknowledged_push(tmp_path):
    desk = make_desk(tmp_path / "desk", WAYBILLS)
    port = free_port()
    url = f"http://127.0.0.1:{port}/kuaidi100/callback"
    payloads = journeys()

    proc = start_serve(desk.root, port)
    try:
        first = send_all(url, payloads, kill_after=len(payloads) // 3, proc=proc)
        assert proc.wait(timeout=20) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    acked_before = sum(first)
    assert 0 < acked_before < len(payloads)  # killed mid-run: some acknowledged, some not

    # every acknowledged push's nodes survived the kill
    per, total, distinct = stored(desk)
    need: dict[str, int] = {}
    for (waybill, k, _form), ok in zip(payloads, first):
        if ok:
            need[waybill] = max(need.get(waybill, 0), k)
    lost = {w: (k, per.get(w, 0)) for w, k in need.items() if per.get(w, 0) < k}
    assert lost == {}
    assert total == distinct

    # restarted: the provider re-sends what was not acknowledged (a stored-but-unanswered one is a repeat)
    proc = start_serve(desk.root, port)
    try:
        todo = [p for p, ok in zip(payloads, first) if not ok]
        for _ in range(3):
            if not todo:
                break
            again = send_all(url, todo)
            todo = [p for p, ok in zip(todo, again) if not ok]
        assert todo == []
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    per, total, distinct = stored(desk)
    assert per == {f"WB{w:08d}": NODES for w in range(WAYBILLS)}
    assert total == distinct == WAYBILLS * NODES
