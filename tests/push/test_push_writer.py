"""Group commit on a real SQLite store: a push that fails rolls back alone, a batch that cannot commit is
answered non-success as a whole, and a request that waits too long is answered non-success — never an
acknowledgement for something not stored."""

import sqlite3
from datetime import timedelta

from support.push_desk import NOW, SALT, event_item, make_desk, push_form
from xl_addin.bootstrap import store_for
from xl_addin.services.push import writer as push_writer
from xl_addin.services.push.ingest import verify_push
from xl_addin.services.push.writer import PushWriter, _Pending

LATER = NOW + timedelta(hours=6)


def verified(waybill: str, nodes: int = 2):
    items = [event_item(NOW + timedelta(hours=j), f"【第{j + 1}站】 已到达", "1002" if j else "103")
             for j in range(nodes)]
    v = verify_push(push_form(waybill, items), SALT)
    assert not hasattr(v, "ack"), v
    return v


def nodes(desk) -> dict:
    with store_for(desk) as st:
        return dict(st.conn.execute("SELECT waybill_no, COUNT(*) FROM tracking_events GROUP BY waybill_no").fetchall())


def test_a_failing_push_rolls_back_alone_and_is_not_acknowledged(tmp_path):
    desk = make_desk(tmp_path / "desk", 3)
    with store_for(desk) as st:  # the store itself refuses this one waybill's nodes
        st.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON tracking_events WHEN NEW.waybill_no = 'WB00000001' "
                        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    writer = PushWriter(lambda: store_for(desk)).start()
    try:
        batch = [_Pending(verified(f"WB{i:08d}"), LATER) for i in range(3)]
        writer._write(batch)
    finally:
        writer.close()
    outcomes = [(p.verdict.outcome, p.verdict.ack) for p in batch]
    assert outcomes == [("ingested", True), ("error", False), ("ingested", True)]
    assert nodes(desk) == {"WB00000000": 2, "WB00000002": 2}
    with store_for(desk) as st:  # the refused push left no receipt, so Kuaidi100's re-send is taken in
        assert st.conn.execute("SELECT COUNT(*) FROM push_receipts WHERE waybill_no = 'WB00000001'").fetchone()[0] == 0


def test_a_batch_that_cannot_commit_is_answered_non_success_and_stored_on_resend(tmp_path, monkeypatch):
    desk = make_desk(tmp_path / "desk", 2)
    monkeypatch.setattr(push_writer, "WRITER_BUSY_TIMEOUT_MS", 100)
    other = sqlite3.connect(_store_file(desk), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    writer = PushWriter(lambda: store_for(desk)).start()
    try:
        batch = [_Pending(verified(f"WB{i:08d}"), LATER) for i in range(2)]
        writer._write(batch)
        assert [(p.verdict.outcome, p.verdict.ack) for p in batch] == [("error", False), ("error", False)]
        assert "locked" in batch[0].verdict.detail
        other.execute("ROLLBACK")
        again = [writer.submit(verified(f"WB{i:08d}"), LATER) for i in range(2)]
    finally:
        other.close()
        writer.close()
    assert [(v.outcome, v.ack) for v in again] == [("ingested", True), ("ingested", True)]
    assert nodes(desk) == {"WB00000000": 2, "WB00000001": 2}


def test_a_request_waits_boundedly_then_is_not_acknowledged(tmp_path):
    desk = make_desk(tmp_path / "desk", 1)
    other = sqlite3.connect(_store_file(desk), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the writer is stuck on the lock (its 5 s busy timeout)
    writer = PushWriter(lambda: store_for(desk), answer_within=0.3).start()
    try:
        verdict = writer.submit(verified("WB00000000"), LATER)
        assert (verdict.outcome, verdict.ack) == ("error", False)
    finally:
        other.execute("ROLLBACK")
        other.close()
        writer.close()


def _store_file(desk) -> str:
    with store_for(desk) as st:
        return st.location
