"""The waybill registry and serial counters: blocks, uniqueness forever, exhaustion, void on abandon."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest

from xl_addin.adapters.store import SCHEMA_VERSION, open_store
from xl_addin.adapters.store.waybills import (
    MAX_SERIAL, Binding, SerialsExhausted, WaybillStore, binding_fingerprint, new_batch_id,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))
DAY = date(2026, 11, 26)


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as s:
        yield s


def test_migration_two_is_applied(store):
    assert SCHEMA_VERSION >= 2 and store.schema_version() == SCHEMA_VERSION
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"waybill_counters", "waybill_registry", "bindings", "waybill_batches"} <= tables


def test_blocks_are_consecutive_per_prefix_and_day(store):
    ws = WaybillStore(store)
    with store.transaction():
        assert ws.reserve_serials("JD", DAY, 10) == 1
        assert ws.reserve_serials("JD", DAY, 5) == 11
        assert ws.reserve_serials("SF", DAY, 3) == 1
        assert ws.reserve_serials("JD", DAY + timedelta(days=1), 1) == 1
    assert ws.last_serial("JD", DAY) == 15


def test_exhaustion_is_an_error_not_a_wrap(store):
    ws = WaybillStore(store)
    with store.transaction():
        assert ws.reserve_serials("XL", DAY, MAX_SERIAL - 1) == 1
        assert ws.reserve_serials("XL", DAY, 1) == MAX_SERIAL
    with pytest.raises(SerialsExhausted) as err:
        with store.transaction():
            ws.reserve_serials("XL", DAY, 1)
    assert "还剩 0 个" in str(err.value) and err.value.exit_code == 2
    assert ws.last_serial("XL", DAY) == MAX_SERIAL


def test_rolled_back_block_is_not_lost_after_commit_but_a_committed_one_is_never_reused(store):
    ws = WaybillStore(store)
    with store.transaction():
        ws.reserve_serials("XL", DAY, 5)
    with pytest.raises(RuntimeError):
        with store.transaction():
            ws.reserve_serials("XL", DAY, 5)
            raise RuntimeError("crash before commit")
    with store.transaction():
        assert ws.reserve_serials("XL", DAY, 1) == 6  # nothing committed was handed out again


def test_registry_refuses_a_number_twice(store):
    ws = WaybillStore(store)
    with store.transaction():
        ws.register([("SF1234567890123", "SF", "A")], "bound", "manual", None, T0)
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction():
            ws.register([("SF1234567890123", "SF", "B")], "bound", "manual", None, T0)
    assert ws.registry_entry("SF1234567890123")["order_no"] == "A"


def test_current_binding_unique_per_order_and_per_waybill(store):
    ws = WaybillStore(store)
    b = Binding("A", "W1", "顺丰速运", "SF", "manual", T0, "张三")
    with store.transaction():
        ws.insert_bindings([b])
    for dup in (Binding("A", "W2", "顺丰速运", "SF", "manual", T0, "张三"),
                Binding("B", "W1", "顺丰速运", "SF", "manual", T0, "张三")):
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                ws.insert_bindings([dup])
    old = ws.current("A")
    with store.transaction():
        ws.retire(old, T0, "李四", "重新出单", "W2")
        ws.insert_bindings([Binding("A", "W2", "顺丰速运", "SF", "manual", T0, "李四")])
    assert ws.current("A").waybill_no == "W2" and ws.history("A")[0].replace_reason == "重新出单"


def test_abandoned_batch_numbers_become_void(store):
    ws = WaybillStore(store)
    batch = new_batch_id(T0)
    with store.transaction():
        ws.open_batch(batch, "系统", T0)
        store.conn.execute("UPDATE waybill_batches SET pid = 999999999 WHERE batch_id = ?", (batch,))
        first = ws.reserve_serials("XL", DAY, 3)
        ws.register([(f"XL20261126{first + i:06d}", "SF", f"O{i}") for i in range(3)], "reserved", "auto", batch, T0)
    assert ws.claimed_orders() == {"O0", "O1", "O2"}
    voided = ws.void_abandoned(T0, "系统", is_alive=lambda pid: False)
    assert len(voided) == 3 and ws.registry_counts() == {"void": 3}
    assert ws.claimed_orders() == set()
    assert ws.void_abandoned(T0, "系统") == []  # idempotent


def test_fingerprint_changes_with_any_reviewed_field():
    b = Binding("A", "W1", "顺丰速运", "SF", "auto", T0, "系统", DAY, False, "标准快递", "12.0")
    same = Binding("A", "W1", "顺丰速运", "SF", "auto", T0 + timedelta(seconds=20), "系统", DAY, False, "标准快递", "12.0")
    assert binding_fingerprint(b) == binding_fingerprint(same)
    for field, value in (("carrier", "京东"), ("waybill_no", "W2"), ("est_freight", "13.0"), ("bound_by", "某人")):
        other = Binding(**{**b.__dict__, field: value})
        assert binding_fingerprint(other) != binding_fingerprint(b)
