import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from xl_addin.adapters.store import SCHEMA_VERSION, open_store
from xl_addin.errors import StoreError

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def test_new_store_is_migrated_in_wal_mode(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.check() == []


def test_migrate_twice_applies_nothing(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.migrate() == []


def test_store_newer_than_program_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert "999" in str(err.value)


def test_corrupt_store_is_a_clear_error(tmp_path):
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert str(path) in str(err.value)


def test_audit_log_keeps_utc_times_and_details(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as store:
        store.audit(T0, "张三", "confirm", "order", "DD1", {"channel": "电话"})
        entries = store.audit_entries("order", "DD1")
    assert entries == [{"at": "2026-11-26T01:00:00+00:00", "actor": "张三", "action": "confirm",
                        "entity": "order", "entity_id": "DD1", "detail": {"channel": "电话"}}]


def test_failed_transaction_leaves_nothing(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as store:
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                store.audit(T0, "a", "x", "order", "1")
                store.conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
        assert store.audit_entries() == []


def test_last_runs_shows_the_latest_run_per_job(tmp_path):
    with open_store(tmp_path / "s.sqlite3") as store:
        first = store.start_job("refresh", T0)
        store.finish_job(first, T0, "failed", "网络错误")
        second = store.start_job("refresh", T0 + timedelta(hours=2))
        store.finish_job(second, T0 + timedelta(hours=2), "ok", "查询 12 条")
        runs = store.last_runs()
    assert [(r["job"], r["status"], r["summary"]) for r in runs] == [("refresh", "ok", "查询 12 条")]


def test_a_migration_added_below_the_current_version_is_still_applied(tmp_path, monkeypatch):
    """Versions landing out of order (parallel work) must not be skipped."""
    from xl_addin.adapters.store import migrations, store as store_module

    path = tmp_path / "s.sqlite3"
    with open_store(path):
        pass
    extra = (SCHEMA_VERSION + 1, "late", ["CREATE TABLE late_table (x TEXT)"])
    newer = (SCHEMA_VERSION + 2, "newer", ["CREATE TABLE newer_table (x TEXT)"])
    monkeypatch.setattr(store_module, "MIGRATIONS", [*migrations.MIGRATIONS, newer])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", newer[0])
    with open_store(path) as store:
        assert store.schema_version() == newer[0]
    monkeypatch.setattr(store_module, "MIGRATIONS", [*migrations.MIGRATIONS, extra, newer])
    with open_store(path) as store:
        assert store.conn.execute("SELECT count(*) FROM late_table").fetchone()[0] == 0
        assert store.schema_version() == newer[0]
