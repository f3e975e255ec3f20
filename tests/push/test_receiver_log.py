"""The receiver's JSON-line log is buffered: lines are written together (by a background thread, on an error,
on flush and on stop) instead of one write per push — and none is lost on a graceful stop."""

from __future__ import annotations

import json
import logging
import time

import requests

from support.push_desk import NOW, SALT, event_item, make_desk, push_form
from xl_addin.receiver.jsonlog import BufferedLines, JsonLineFormatter, event
from xl_addin.receiver.server import serve_receiver


def logger_to(path, interval):
    handler = BufferedLines(lambda: open(path, "a", encoding="utf-8"), close_stream=True, interval=interval)
    handler.setFormatter(JsonLineFormatter())
    log = logging.getLogger(f"test.receiver.{path.name}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log, handler


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_lines_wait_for_a_flush_an_error_writes_at_once(tmp_path):
    path = tmp_path / "r.jsonl"
    log, handler = logger_to(path, interval=3600)
    try:
        for i in range(3):
            event(log, "push", waybill_no=f"WB{i}")
        assert path.read_text(encoding="utf-8") == ""  # gathered, not written yet
        handler.flush()
        assert [line["waybill_no"] for line in lines(path)] == ["WB0", "WB1", "WB2"]
        event(log, "push", waybill_no="WB3")
        event(log, "writer_failed", logging.ERROR)  # an error is written at once, with what came before it
        assert [line["event"] for line in lines(path)][-2:] == ["push", "writer_failed"]
    finally:
        log.removeHandler(handler)
        handler.close()


def test_the_background_thread_writes_without_being_asked(tmp_path):
    path = tmp_path / "r.jsonl"
    log, handler = logger_to(path, interval=0.05)
    try:
        event(log, "push", waybill_no="WB0")
        deadline = time.monotonic() + 10  # a liveness bound, not a speed claim
        while not path.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [line["waybill_no"] for line in lines(path)] == ["WB0"]
    finally:
        log.removeHandler(handler)
        handler.close()


def test_a_graceful_stop_writes_every_line(tmp_path):
    desk = make_desk(tmp_path / "desk", 2)
    log_path = tmp_path / "receiver.jsonl"
    rx = serve_receiver(desk, clock=lambda: NOW, env={"KUAIDI100_SALT": SALT}, send_interval=3600, log_path=log_path,
                        notify=False)
    try:
        for i in range(2):
            form = push_form(f"WB{i:08d}", [event_item(NOW, "【杭州市西湖区网点】 已揽收", "1")])
            assert requests.post(rx.url + "/kuaidi100/callback", data=form, timeout=10).status_code == 200
    finally:
        rx.stop()
    got = lines(log_path)
    assert sorted(line.get("waybill_no") for line in got if line["event"] == "push") == ["WB00000000", "WB00000001"]
    assert got[-1]["event"] == "stopped"
