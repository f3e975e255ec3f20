"""The push writer's batch path (one statement per table for a whole batch) against the per-push path on real
SQLite files: the same pushes — repeated, out of order, several for one waybill in one batch, with the cases
the batch path hands to the per-push code (signing, abort, carrier correction, 转投) in between — leave
exactly the same rows in every table and get the same verdicts; one bad push in a batch is refused alone."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta

import pytest

from support.push_desk import NOW, SALT, event_item, make_desk, push_form
from xl_addin.adapters.store.subscriptions import SubscriptionStore
from xl_addin.adapters.store.tracking import TrackingStore
from xl_addin.bootstrap import store_for
from xl_addin.services.push.batch import store_alone, store_batch
from xl_addin.services.push.ingest import verify_push
from xl_addin.services.push.writer import PushWriter, _Pending

AT = NOW + timedelta(days=1)
KW = {"resubscribe_on_abort": True, "refresh_interval": timedelta(hours=2)}


def node(hours: float, text: str, code: str) -> dict:
    return event_item(NOW + timedelta(hours=hours), text, code)


def journey(k: int) -> list[dict]:
    stops = [node(0, "【杭州市西湖区网点】 快递员 张三 13800001111 已揽收", "1"),
             node(2, "【杭州转运中心】 已发出 下一站 【南京转运中心】", "1002"),
             node(5, "【南京转运中心】 已收入", "1002"),
             node(9, "【南京市鼓楼区营业部】 派件员 李四 正在派件", "5")]
    return stops[:k]


def forms() -> list[dict]:
    """Pushes for eight waybills and one that is not on the desk, as Kuaidi100 might send them within minutes."""
    f = []
    # WB0: tracked and subscribed; grows, arrives out of order, repeated, then signed, then a late copy
    for k in (2, 1, 2, 4, 3):
        f.append(push_form("WB00000000", journey(k)))
    f.append(push_form("WB00000000", journey(4), extra={"message": "查询成功"}))  # another body, no new node
    signed = journey(4) + [node(11, "【南京市鼓楼区营业部】 已签收，签收人：本人", "3")]
    f.append(push_form("WB00000000", signed, status="shutdown", state="3"))
    f.append(push_form("WB00000000", journey(3)))
    # WB1: bound but not tracked yet, no subscription row (tracked and subscribed from its first push on)
    for k in (1, 3, 1, 2):
        f.append(push_form("WB00000001", journey(k)))
    # WB2: an abort between ordinary pushes
    f.append(push_form("WB00000002", journey(1)))
    f.append(push_form("WB00000002", [], status="abort", extra={"message": "3天查询无记录"}))
    f.append(push_form("WB00000002", journey(2)))
    # WB3: Kuaidi100 corrects the carrier (autoCheck)
    f.append(push_form("WB00000003", journey(2)))
    f.append(push_form("WB00000003", journey(3), com="yuantong",
                       extra={"autoCheck": "1", "comOld": "zhongtong", "comNew": "yuantong"}))
    f.append(push_form("WB00000003", journey(4), com="yuantong"))
    # WB4: handed to another carrier (转投)
    f.append(push_form("WB00000004", journey(2) + [node(6, "快件已转投 中国邮政，新单号：9876543210123", "7")],
                       state="7"))
    f.append(push_form("WB00000004", journey(1)))
    # not on this desk
    f.append(push_form("ZZ99999999", journey(2)))
    # WB6: a status code we do not know, then none (the unknown codes stay), a newer node without a status
    f.append(push_form("WB00000006", journey(1) + [node(3, "【杭州转运中心】 已处理", "999")]))
    f.append(push_form("WB00000006", journey(2)))
    f.append(push_form("WB00000006", journey(2) + [node(7, "【南京转运中心】 到达", "")], state="1002"))
    # WB7: shutdown without a signing node, then a polling push after it
    f.append(push_form("WB00000007", journey(3), status="shutdown"))
    f.append(push_form("WB00000007", journey(4)))
    f.append(push_form("WB00000007", journey(2)))  # nothing new: only the check schedule changes
    # WB5: returned to the sender (final without a signing), a late node, then a copy with another message
    returned = journey(2) + [node(8, "【杭州市西湖区网点】 已退回寄件人，已签收", "4")]
    f.append(push_form("WB00000005", journey(2)))
    f.append(push_form("WB00000005", returned, state="4"))
    f.append(push_form("WB00000005", returned + [node(10, "【杭州市西湖区网点】 已处理", "")], state="4"))
    f.append(push_form("WB00000005", returned, state="4", extra={"message": "退签"}))
    # an identical body twice in the batch: the second is a copy
    f.append(push_form("WB00000001", journey(4)))
    f.append(push_form("WB00000001", journey(4)))
    return f


def prepared(tmp_path):
    """A desk with 8 bound waybills: WB0, WB2–WB7 tracked and subscribed (WB1 neither), as after refresh and
    subscribe; copied once per path, so both start from the same file."""
    desk = make_desk(tmp_path / "desk", 8)
    with store_for(desk) as st, st.transaction():
        ts, subs = TrackingStore(st), SubscriptionStore(st)
        ts.register([{"waybill_no": f"WB{i:08d}", "order_no": f"O{i:05d}", "carrier_code": "ZTO",
                      "bound_at": NOW - timedelta(hours=3)} for i in range(8) if i != 1], NOW)
        for i in (0, 2, 3, 4, 5, 6, 7):
            subs.submitted(f"WB{i:08d}", "ZTO", "zhongtong", "https://desk.example/kuaidi100/callback", NOW)
            subs.answered(f"WB{i:08d}", "accepted", "200", "提交成功", "", NOW)
    return desk


def items_of(batch_forms, start=AT):
    out = []
    for j, f in enumerate(batch_forms):
        v = verify_push(f, SALT)
        assert not hasattr(v, "ack"), v
        out.append((v, start + timedelta(seconds=j)))
    return out


def dump(desk) -> dict:
    with store_for(desk) as st:
        return {t: st.conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall() for t in st.tables()}


def run(desk, batches, batch_path: bool):
    verdicts = []
    with store_for(desk) as st:
        for items in batches:
            with st.transaction():
                if batch_path:
                    verdicts += store_batch(st, items, **KW)
                else:
                    verdicts += [store_alone(st, v, now, **KW) for v, now in items]
    return [v.as_tuple() for v in verdicts]


def twin(tmp_path, desk, name):
    shutil.copytree(desk.root, tmp_path / name)
    from xl_addin.bootstrap import load_desk

    return load_desk(tmp_path / name)


@pytest.mark.parametrize("sizes", ["one", "random", "pairs"])
def test_the_batch_path_stores_exactly_what_push_by_push_stores(tmp_path, sizes):
    base = prepared(tmp_path)
    items = items_of(forms())
    if sizes == "one":
        batches = [items]
    elif sizes == "pairs":
        batches = [items[i:i + 2] for i in range(0, len(items), 2)]
    else:
        rnd, batches, i = random.Random(21), [], 0
        while i < len(items):
            k = rnd.randint(1, 9)
            batches.append(items[i:i + k])
            i += k
    one, alone = twin(tmp_path, base, "batch"), twin(tmp_path, base, "alone")
    got, want = run(one, batches, True), run(alone, batches, False)
    assert got == want
    outcomes = [v[0] for v in want]  # the scenario reaches every case
    assert {"ingested", "repeat", "unknown_waybill"} <= set(outcomes)
    a, b = dump(one), dump(alone)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], table
    assert a["order_closings"] and a["pending_notices"]  # the signing completed its order; notices queued
    with store_for(one) as st:
        assert st.conn.execute("SELECT unknown_codes FROM waybill_status WHERE waybill_no = 'WB00000006'"
                               ).fetchone()[0] == "999"
        assert st.conn.execute("SELECT COUNT(*) FROM waybill_status WHERE waybill_no = '9876543210123'").fetchone()[0]
        assert st.conn.execute("SELECT is_final, next_check_at FROM waybill_status WHERE waybill_no = 'WB00000005'"
                               ).fetchone() == (1, None)


def test_shuffled_pushes_again_on_a_store_that_has_them(tmp_path):
    """A second round of the same pushes, shuffled, an hour later and three hours later (copies within and
    outside Kuaidi100's re-send window)."""
    base = prepared(tmp_path)
    first = items_of(forms())
    again = list(forms())
    random.Random(5).shuffle(again)
    later = items_of(again, AT + timedelta(hours=1)) + items_of(again, AT + timedelta(hours=3))
    batches = [first] + [later[i:i + 7] for i in range(0, len(later), 7)]
    one, alone = twin(tmp_path, base, "batch"), twin(tmp_path, base, "alone")
    assert run(one, batches, True) == run(alone, batches, False)
    assert dump(one) == dump(alone)


def test_one_bad_push_in_a_batch_is_refused_alone(tmp_path):
    desk = prepared(tmp_path)
    with store_for(desk) as st:  # the store itself refuses this one waybill's nodes
        st.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON tracking_events WHEN NEW.waybill_no = 'WB00000006' "
                        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    batch_forms = [push_form("WB00000000", journey(2)), push_form("WB00000006", journey(2)),
                   push_form("WB00000000", journey(1)), push_form("WB00000007", journey(3)),
                   push_form("WB00000000", journey(2))]
    writer = PushWriter(lambda: store_for(desk)).start()
    try:
        batch = [_Pending(v, now) for v, now in items_of(batch_forms)]
        writer._write(batch)
    finally:
        writer.close()
    assert [(p.verdict.outcome, p.verdict.ack) for p in batch] == [
        ("ingested", True), ("error", False), ("ingested", True), ("ingested", True), ("repeat", True)]
    with store_for(desk) as st:
        nodes = dict(st.conn.execute("SELECT waybill_no, COUNT(*) FROM tracking_events GROUP BY waybill_no"))
        assert nodes == {"WB00000000": 2, "WB00000007": 3}
        assert st.conn.execute("SELECT COUNT(*) FROM push_receipts WHERE waybill_no = 'WB00000006'").fetchone()[0] == 0
        assert st.conn.execute("SELECT pushes FROM push_subscriptions WHERE waybill_no = 'WB00000006'").fetchone()[0] == 0
