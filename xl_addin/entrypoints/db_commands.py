"""The state-store commands: db status, db upgrade, db copy (SQLite ↔ PostgreSQL)."""

from __future__ import annotations

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_FAILED, EXIT_OK, UserError


@cli.group()
def db() -> None:
    """The state store: schema version, upgrades, moving a desk to a shared PostgreSQL database.

    The store is the desk's SQLite file unless [store] url or XL_LOGISTICS_DATABASE_URL names
    postgresql://user@host:port/dbname (put the password in PGPASSWORD or ~/.pgpass, never in the URL).
    See docs/team-deployment.md."""


def _open(url: str | None, opts: Options, *, upgrade: bool | None = None, migrate: bool = True):
    from xl_addin.adapters.store import open_store
    from xl_addin.bootstrap import load_desk

    if not url:
        desk = load_desk(opts.desk)
        url = (desk.settings.store_url() or "").strip() or str(desk.store_path)
    return open_store(url, upgrade=upgrade, migrate=migrate)


def _status(store) -> dict:
    from xl_addin.adapters.store import SCHEMA_VERSION

    return {"backend": store.dialect, "location": store.location, "schema_version": store.schema_version(),
            "program_schema_version": SCHEMA_VERSION,
            "pending": [{"version": v, "title": t} for v, t in store.pending_migrations()],
            "problems": store.check()}


@db.command("status")
@click.option("--url", default=None, help="A store URL instead of the desk's (sqlite:///path or postgresql://...).")
@common_options
def db_status(url: str | None, opts: Options) -> int:
    """Show which store the desk uses, its schema version and the migrations still to apply."""
    setup_logs(opts)
    store = _open(url, opts, migrate=False)
    with store:
        payload = _status(store)
    lines = [f"状态库: {payload['location']}（{'PostgreSQL' if payload['backend'] == 'postgresql' else 'SQLite'}）",
             f"版本: {payload['schema_version']}（本程序需要 {payload['program_schema_version']}）"]
    lines += [f"  待升级: {p['version']} {p['title']}" for p in payload["pending"]]
    lines += [f"  ! {p}" for p in payload["problems"]] or ["  正常"]
    emit(opts, payload, "\n".join(lines))
    return EXIT_OK if not payload["problems"] else EXIT_FAILED


@db.command("upgrade")
@click.option("--url", default=None, help="A store URL instead of the desk's.")
@common_options
def db_upgrade(url: str | None, opts: Options) -> int:
    """Apply the schema migrations this program needs (back up a shared database first).

    Safe to run twice and from two machines at once: each migration is applied exactly once."""
    setup_logs(opts)
    store = _open(url, opts, migrate=False)  # a SQLite file migrates on opening; PostgreSQL here
    with store:
        applied = store.migrate()
        payload = _status(store) | {"applied": applied}
    emit(opts, payload, f"状态库 {payload['location']} 已是版本 {payload['schema_version']}"
                        + (f"（本次升级: {', '.join(map(str, applied))}）" if applied else "（无需升级）"))
    return EXIT_OK


@db.command("copy")
@click.option("--from", "source_url", required=True, metavar="URL",
              help="The store to copy from, e.g. sqlite:///D:/台账/.xl-logistics/state.sqlite3")
@click.option("--to", "target_url", required=True, metavar="URL",
              help="A new, empty store to copy into, e.g. postgresql://xl@dbserver:5432/logistics")
@common_options
def db_copy(source_url: str, target_url: str, opts: Options) -> int:
    """Move a desk's store to another database without losing a row.

    The target is created (schema) if empty and must hold no data. Every table is verified by row
    count and checksum; any difference is reported and the command fails. Stop the desk's jobs first."""
    from xl_addin.adapters.store import open_store
    from xl_addin.adapters.store.copy import copy_store

    setup_logs(opts)
    if source_url == target_url:
        raise UserError("--from 和 --to 是同一个库", "请给出一个新的目标库")
    with open_store(source_url, create=False) as source, open_store(target_url, upgrade=True) as target:
        result = copy_store(source, target)
    bad = [r for r in result if not r.ok]
    payload = {"from": source.location, "to": target.location, "tables": [r.as_dict() for r in result],
               "rows": sum(r.target_rows for r in result), "ok": not bad}

    def text() -> str:
        lines = [f"已复制 {len(result)} 张表、{payload['rows']} 行: {source.location} → {target.location}"]
        lines += [f"  {'✓' if r.ok else '✗'} {r.table}: {r.source_rows} → {r.target_rows} 行"
                  + ("" if r.ok else "（校验不一致）") for r in result]
        lines.append("全部一致（行数与校验和）" if not bad else "有表不一致，请不要切换到目标库，并把以上结果发给管理员")
        return "\n".join(lines)

    emit(opts, payload, text)
    return EXIT_OK if not bad else EXIT_FAILED
