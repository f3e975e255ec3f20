"""Shared test set-up: the state store's tests run on SQLite and, when a server is given, on PostgreSQL.

``XL_LOGISTICS_TEST_POSTGRES_URL`` names a PostgreSQL database the tests may use (``scripts/test``
starts a throwaway one and sets it). Each test gets its own schema, dropped afterwards. Modules in
``BOTH_BACKENDS`` run every test twice: ``[sqlite]`` and ``[postgresql]``; on PostgreSQL the module's
``open_store`` (and bootstrap's) open that schema instead of a file. In CI (``CI=true``) a missing
server fails those tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_URL = os.environ.get("XL_LOGISTICS_TEST_POSTGRES_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BOTH_BACKENDS = {"test_store", "test_waybill_store", "test_notifications", "test_cases",
                 "test_followups", "test_subscribe", "test_ledger_sync", "test_push_receiver", "test_refresh",
                 "test_tracking_log", "test_import"}
# Tests about SQLite itself (WAL mode, a corrupt file, sqlite_master, the file read by the UDFs).
SQLITE_ONLY = {"test_new_store_is_migrated_in_wal_mode", "test_corrupt_store_is_a_clear_error",
               "test_migration_two_is_applied",
               # these run the CLI in another process, on the desk's file:
               "test_cli_report_list_show_update", "test_track_json_prints_binding_status_and_nodes",
               "test_resume_after_kill_mid_run"}


def require_postgres() -> str:
    """The test server's URL; fails in CI and skips elsewhere when there is none."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: XL_LOGISTICS_TEST_POSTGRES_URL is not set (scripts/test starts one)")
        pytest.skip("no PostgreSQL: set XL_LOGISTICS_TEST_POSTGRES_URL or run scripts/test")
    return PG_URL


def fresh_schema_url(base: str, created: list[str]) -> str:
    """A new empty schema on the test server; its URL carries the search_path."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    created.append(name)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{name}"


def drop_schemas(base: str, names: list[str]) -> None:
    import psycopg

    from xl_addin.adapters.store import pg

    pg.close_pools()
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as conn:
        for name in names:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture()
def pg_schema_url():
    """A fresh schema on the test PostgreSQL server (dropped afterwards)."""
    base = require_postgres()
    created: list[str] = []
    yield lambda: fresh_schema_url(base, created)
    drop_schemas(base, created)


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_backend" in metafunc.fixturenames and module in BOTH_BACKENDS and (PG_URL or IN_CI):
        names = ["sqlite"] if metafunc.function.__name__ in SQLITE_ONLY else ["sqlite", "postgresql"]
        metafunc.parametrize("store_backend", names, indirect=True)


@pytest.fixture(autouse=True)
def store_backend(request, monkeypatch):
    """'sqlite' (no change) or 'postgresql': the module's stores open on a fresh PostgreSQL schema each."""
    backend = getattr(request, "param", "sqlite")
    if backend != "postgresql":
        yield backend
        return
    base = require_postgres()
    from xl_addin import bootstrap
    from xl_addin.adapters.store import store as store_module

    created: list[str] = []
    urls: dict[str, str] = {}
    real_open = store_module.open_store

    def open_on_postgres(path, *args, **kwargs):
        text = str(path)
        if text.startswith("postgres"):
            return real_open(path, *args, **kwargs)
        if text not in urls:
            urls[text] = fresh_schema_url(base, created)
        kwargs["upgrade"] = True
        kwargs.pop("create", None)
        return real_open(urls[text], **kwargs)

    monkeypatch.setattr(request.module, "open_store", open_on_postgres, raising=False)
    monkeypatch.setattr(bootstrap, "open_store", open_on_postgres)
    import xl_addin.adapters.store as store_package  # tests that import open_store inside the test body

    monkeypatch.setattr(store_package, "open_store", open_on_postgres)
    # the desk's SQLite file is never made (its store is redirected here): tests whose desks name no store URL
    # count as set up once they have a config
    from xl_addin.desk import Desk

    real = Desk.is_initialised
    monkeypatch.setattr(Desk, "is_initialised", lambda self: real(self) or self.config_path.exists())
    yield backend
    drop_schemas(base, created)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI nothing skips silently: a skipped test (missing server, tool or package) is a failure there."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


@pytest.fixture
def sandbox(monkeypatch):
    """The project's Kuaidi100 sandbox on 127.0.0.1, its clock stopped at the push/refresh tests' NOW, the desk's
    client pointed at it and no real account in the environment (a module may define its own)."""
    from support.push_desk import NOW
    from xl_addin.sandbox import serve_sandbox

    sb = serve_sandbox(start=NOW, speed=0.0, seed=1)
    monkeypatch.setenv("KUAIDI100_BASE_URL", sb.base_url)
    monkeypatch.delenv("KUAIDI100_CUSTOMER", raising=False)
    monkeypatch.delenv("KUAIDI100_KEY", raising=False)
    yield sb
    sb.stop()
