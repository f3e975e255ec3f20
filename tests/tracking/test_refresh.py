"""The refresh job against the sandbox over real HTTP on 127.0.0.1: counts, idempotency, frequency
rules, config errors stopping early, the lock, resume after a kill, and `track --json`."""

import json
import signal
import sqlite3
import subprocess
import time
from datetime import timedelta

import pytest

from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.bootstrap import store_for
from xl_addin.config import load_settings
from xl_addin.errors import ConfigError, JobLocked
from xl_addin.services.tracking import job_lock, provider_spec, refresh

from tests.support.refresh_desk import NOW, make_desk, pin_all
from tests.support.refresh_desk import refresh_cli as _cli


def test_refresh_queries_due_waybills_once_and_ingests_idempotently(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 12)
    pin_all(sandbox, 12)
    sandbox.app.pin("WB00000003", "yuantong", scenario="no_record")
    r = refresh(desk, NOW)
    assert (r.queried, r.updated, r.not_found, r.failed) == (12, 11, 1, 0)
    assert r.workbook_written and sandbox.app.stats["served_queries"] == 12
    with store_for(desk) as st:
        ts = TrackingStore(st)
        total = st.conn.execute("SELECT COUNT(*) FROM tracking_events").fetchone()[0]
        s = ts.status("WB00000000")
        assert s["status_zh"] and s["last_checked_at"] and not s["is_final"]
        # the same answer again adds nothing
        again = ts.events_for("WB00000000")
        with st.transaction():
            assert ts.add_events(again, NOW) == []
        assert st.conn.execute("SELECT COUNT(*) FROM tracking_events").fetchone()[0] == total
    # nothing is due 1 hour later (2-hour interval): no request at all
    r2 = refresh(desk, NOW + timedelta(hours=1))
    assert r2.queried == 0 and sandbox.app.stats["queries"] == 12
    # 2 hours later, same sandbox time: everything is queried again and nothing changes
    r3 = refresh(desk, NOW + timedelta(hours=2, minutes=1))
    assert (r3.queried, r3.updated, r3.unchanged) == (12, 0, 11)
    with store_for(desk) as st:
        assert st.conn.execute("SELECT COUNT(*) FROM tracking_events").fetchone()[0] == total


def test_final_waybills_are_never_queried_again_and_rules_hold(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 6)
    pin_all(sandbox, 6)
    t = NOW
    for _ in range(10):  # five days, every 12 hours
        t += timedelta(hours=12)
        sandbox.app.clock.set(t, 0.0)
        refresh(desk, t)
    with store_for(desk) as st:
        finals = [s for s in TrackingStore(st).all_status() if s["is_final"]]
    assert len(finals) == 6
    before = dict(sandbox.app.stats["queried_numbers"])
    sandbox.app.clock.set(t + timedelta(hours=12), 0.0)
    r = refresh(desk, t + timedelta(hours=12))
    assert r.queried == 0 and sandbox.app.stats["queried_numbers"] == before
    assert sandbox.app.stats["violations"] == 0


def test_anomalies_are_recorded_and_visible(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 4)
    for i, scen in enumerate(("stalled_after_pickup", "lost", "no_record", "normal")):
        sandbox.app.pin(f"WB{i:08d}", ("zhongtong", "yuantong")[i % 2], scenario=scen, phone="13800138000",
                        shipped_at=(NOW - timedelta(hours=2)).isoformat())
    t = NOW
    for _ in range(6):
        t += timedelta(hours=24)
        sandbox.app.clock.set(t, 0.0)
        r = refresh(desk, t)
    from xl_addin.adapters.store.tracking import open_anomalies

    with store_for(desk) as st:
        rules = {(a["waybill_no"], a["rule"]) for a in open_anomalies(st)}
    assert ("WB00000000", "no_update_after_pickup") in rules
    assert ("WB00000001", "carrier_problem") in rules
    assert ("WB00000002", "no_pickup_after_binding") in rules
    assert not any(w == "WB00000003" for w, _ in rules)
    assert r.anomalies == len(rules)


def test_wrong_key_stops_the_run_with_one_config_error_after_few_requests(tmp_path, sandbox, monkeypatch):
    desk = make_desk(tmp_path / "desk", 60, concurrency=4)
    monkeypatch.setenv("KUAIDI100_KEY", "wrong-key")
    with pytest.raises(ConfigError) as err:
        refresh(desk, NOW)
    assert "503" in str(err.value) and "KUAIDI100_KEY" in str(err.value)
    assert sandbox.app.stats["queries"] <= 12


def test_provider_not_configured_says_what_to_set(tmp_path):
    settings = load_settings(tmp_path)  # defaults: provider ""
    with pytest.raises(ConfigError) as err:
        provider_spec(settings, env={})
    assert "KUAIDI100_CUSTOMER" in str(err.value) and "KUAIDI100_KEY" in str(err.value)
    spec = provider_spec(settings, env={"KUAIDI100_CUSTOMER": "c", "KUAIDI100_KEY": "k"})
    assert spec.name == "kuaidi100" and spec.base_url == "https://poll.kuaidi100.com"


def test_a_second_copy_exits_at_once(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 3)
    with job_lock(desk.lock_dir, "refresh"):
        started = time.monotonic()
        with pytest.raises(JobLocked):
            refresh(desk, NOW)
        assert time.monotonic() - started < 2
    assert sandbox.app.stats["queries"] == 0
    assert refresh(desk, NOW).queried == 3  # the lock is released


@pytest.mark.slow
def test_resume_after_kill_mid_run(tmp_path, sandbox):
    n = 60
    desk = make_desk(tmp_path / "desk", n, rate=20.0, concurrency=2)
    pin_all(sandbox, n)
    sandbox.app.set_faults({"latency_ms": 100})
    cmd, env = _cli(desk, "refresh", "--now", NOW.isoformat(), env={"KUAIDI100_BASE_URL": sandbox.base_url})
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = desk.store_path
    deadline = time.monotonic() + 30
    done = 0
    while time.monotonic() < deadline and done < 15:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db, timeout=5) as c:
                done = c.execute("SELECT COUNT(*) FROM tracking_run_items WHERE done_at IS NOT NULL").fetchone()[0]
        except sqlite3.OperationalError:
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert 15 <= done < n
    sandbox.app.set_faults({"latency_ms": 0})
    r = refresh(desk, NOW + timedelta(minutes=1))  # the killed run's lock is stale and taken over
    assert r.resumed_from is not None and r.resumed_done >= 15
    first_two = r.queried + done
    # numbers that were in flight at the kill are not asked again within 30 minutes
    assert first_two + r.skipped_by_rule >= n and sandbox.app.stats["violations"] == 0
    sandbox.app.clock.set(NOW + timedelta(minutes=40), 0.0)
    r2 = refresh(desk, NOW + timedelta(minutes=40))
    counts = sandbox.app.stats["queried_numbers"]
    assert set(counts) == {f"WB{i:08d}" for i in range(n)}
    assert sandbox.app.stats["violations"] == 0 and r2.skipped_by_rule == 0


def test_track_json_prints_binding_status_and_nodes(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 2)
    pin_all(sandbox, 2)
    refresh(desk, NOW)
    cmd, env = _cli(desk, "track", "WB00000001", "--json", env={})
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["binding"]["order_no"] == "O00001" and info["status"]["status_zh"]
    assert info["nodes"] and all(n["source"] == "query" for n in info["nodes"])
    bad = subprocess.run(_cli(desk, "track", "NOPE123", env={})[0], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "NOPE123" in bad.stderr


def test_rate_limiter_slots_do_not_drift_after_a_late_worker():
    """Slots are k / rate from the first request: one late caller does not push the later ones back."""
    from xl_addin.services.tracking import RateLimiter

    now = [100.0]
    sent = []

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(50.0, clock=lambda: now[0], sleep=sleep)  # a slot every 20 ms
    for k in range(11):
        limiter.wait()
        sent.append(round(now[0] - 100.0, 6))
        if k == 3:
            now[0] += 0.1  # this worker comes back late; a drifting schedule would end at 0.3 s
    assert sent[:4] == [0.0, 0.02, 0.04, 0.06]
    assert sent[4] == 0.16  # the late one goes at once ...
    assert sent[5:] == [0.16, 0.16, 0.16, 0.16, 0.18, 0.2]  # ... and the schedule catches up to k / rate
    assert limiter.lost == 0.0


def test_rate_limiter_restarts_after_a_long_stall_instead_of_bursting():
    from xl_addin.services.tracking import RateLimiter

    now = [0.0]
    limiter = RateLimiter(10.0, max_lag=1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    limiter.wait()
    now[0] += 5.0  # the whole run stalled for 5 s
    times = []
    for _ in range(15):
        limiter.wait()
        times.append(round(now[0], 6))
    assert limiter.lost == pytest.approx(3.9)
    # at most max_lag worth of slots (10) go at once, then the pace is 10/s again
    assert times.count(5.0) == 11 and times[11:] == [5.1, 5.2, 5.3, 5.4]
