"""The writer in its own process, on a real SQLite store: an acknowledged push is in the store the moment
it is acknowledged (the parent answers only after the child's commit), and when the child dies a waiting or
later push is answered non-success, never acknowledged."""

import os
import signal
from datetime import timedelta

from support.push_desk import NOW, SALT, event_item, make_desk, push_form
from xl_addin.bootstrap import store_for
from xl_addin.services.push.ingest import verify_push
from xl_addin.services.push.writer_process import PushWriterProcess

LATER = NOW + timedelta(hours=6)


def verified(waybill: str):
    items = [event_item(NOW + timedelta(hours=j), f"【第{j + 1}站】 已到达", "1002" if j else "103") for j in range(2)]
    return verify_push(push_form(waybill, items), SALT)


def stored(desk, waybill: str) -> int:
    with store_for(desk) as st:
        return st.conn.execute("SELECT COUNT(*) FROM tracking_events WHERE waybill_no = ?", (waybill,)).fetchone()[0]


def test_an_acknowledged_push_is_committed_before_the_answer(tmp_path):
    desk = make_desk(tmp_path / "desk", 3)
    seen_at_commit: list[int] = []
    writer = PushWriterProcess(desk.store_path, after_commit=lambda verdicts: seen_at_commit.append(stored(desk, "WB00000000")))
    writer.start()
    try:
        verdict = writer.submit(verified("WB00000000"), LATER)
        again = writer.submit(verified("WB00000000"), LATER)
    finally:
        writer.close()
    assert (verdict.outcome, verdict.ack, verdict.new_events) == ("ingested", True, 2)
    assert seen_at_commit[0] == 2  # already committed by the child when the parent is told, before answering
    assert (again.outcome, again.ack) == ("repeat", True)


def test_a_dead_writer_process_acknowledges_nothing(tmp_path):
    desk = make_desk(tmp_path / "desk", 3)
    writer = PushWriterProcess(desk.store_path).start()
    try:
        os.kill(writer._proc.pid, signal.SIGKILL)
        writer._proc.join(5)
        verdict = writer.submit(verified("WB00000001"), LATER)
    finally:
        writer.close()
    assert (verdict.outcome, verdict.ack) == ("error", False)
    assert stored(desk, "WB00000001") == 0


def test_writer_process_killed_mid_run_loses_no_acknowledged_push(tmp_path):
    """Senders push while the writer process is SIGKILLed after its third commit: every acknowledged push
    is in the store, every other one was answered non-success (none left waiting), and the raw text the
    child parsed stored exactly the nodes it carried."""
    from concurrent.futures import ThreadPoolExecutor

    from xl_addin.services.push.ingest import check_sign

    n = 120
    desk = make_desk(tmp_path / "desk", n)
    commits: list[int] = []

    def after_commit(verdicts):
        commits.append(len(verdicts))
        if len(commits) == 3:
            os.kill(writer._proc.pid, signal.SIGKILL)  # batches after this one are in flight or still to come

    writer = PushWriterProcess(desk.store_path, after_commit=after_commit, max_batch=4).start()
    forms = [push_form(f"WB{i:08d}", [event_item(NOW + timedelta(hours=j), f"【第{j + 1}站】 已到达",
                                                 "1002" if j else "103") for j in range(2)]) for i in range(n)]
    params = [check_sign(f, SALT) for f in forms]
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            verdicts = list(pool.map(lambda p: writer.submit(p, LATER), params))
    finally:
        writer.close()
    acked = [i for i, v in enumerate(verdicts) if v.ack]
    refused = [i for i, v in enumerate(verdicts) if not v.ack]
    assert acked and refused  # killed mid-run
    assert all(verdicts[i].outcome == "error" for i in refused)
    assert all(stored(desk, f"WB{i:08d}") == 2 for i in acked)
    assert len(acked) <= sum(commits)
