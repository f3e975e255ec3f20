"""Creating a desk: the four workbooks, the commented config and the state store."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xl_addin.config import CONFIG_FILENAME, DEFAULT_CONFIG_TEXT, load_settings
from xl_addin.desk import Desk
from xl_addin.errors import UserError

BOOK_KEYS = ("orders", "bindings", "tracking", "exceptions")


@dataclass
class InitResult:
    desk: Path
    created: list[str] = field(default_factory=list)
    backup: Path | None = None
    store_kept: bool = False

    def as_dict(self) -> dict:
        return {"desk": str(self.desk), "created": self.created,
                "backup": str(self.backup) if self.backup else None, "store_kept": self.store_kept}


SANDBOX_PORT = 8765


def sandbox_config(port: int = SANDBOX_PORT) -> str:
    """The default config tracking against the local sandbox ``xl-logistics sandbox`` serves on ``port``."""
    text = DEFAULT_CONFIG_TEXT
    for old, new in (('provider = ""  ', 'provider = "sandbox"'),
                     ('base_url = ""  ', f'base_url = "http://127.0.0.1:{port}"')):
        if old not in text:
            raise AssertionError(f"default config has no {old.strip()!r} line")  # caught by tests, never by staff
        text = text.replace(old, new, 1)
    return text


def sandbox_port(settings) -> int | None:
    """The local port of a desk that tracks against the sandbox on 127.0.0.1 (None otherwise)."""
    from urllib.parse import urlsplit

    t = settings.tracking
    if t.provider != "sandbox" or not t.base_url:
        return None
    u = urlsplit(t.base_url)
    return u.port if u.hostname in ("127.0.0.1", "localhost") and u.port else None


def init_desk(root: Path, now: datetime, *, force: bool = False, config_text: str | None = None) -> InitResult:
    """Create a desk in ``root``.

    An existing desk is refused unless ``force``; then its config and
    workbooks are first copied to a dated backup folder. The state store is
    always kept: waybill numbers must stay unique forever.
    """
    from xl_addin.adapters.workbook.books import book
    from xl_addin.adapters.workbook.templates import write_book
    from xl_addin.bootstrap import store_for

    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    probe = Desk(root, load_settings(root))
    existing = [p for p in [probe.config_path, *(probe.workbook(k) for k in BOOK_KEYS)] if p.exists()]
    result = InitResult(desk=root)
    if existing and not force:
        names = "、".join(p.name for p in existing)
        raise UserError(f"{root} 已经有台账文件（{names}）",
                        "不会覆盖。确需重建请加 --force（旧文件会先备份）", path=None)
    if existing:
        backup = probe.backup_dir / f"init-{now.strftime('%Y%m%d-%H%M%S')}"
        backup.mkdir(parents=True, exist_ok=True)
        for p in existing:
            shutil.copy2(p, backup / p.name)
        result.backup = backup
    result.store_kept = probe.store_path.exists()

    config_path = root / CONFIG_FILENAME
    if config_text is not None or not config_path.exists() or force:
        tmp = config_path.with_suffix(".toml.tmp")
        tmp.write_text(config_text if config_text is not None else DEFAULT_CONFIG_TEXT, encoding="utf-8")
        tmp.replace(config_path)
        result.created.append(config_path.name)
    desk = Desk(root, load_settings(root))
    for key in BOOK_KEYS:
        path = desk.workbook(key)
        write_book(book(key), path)
        result.created.append(path.name)
    for folder in (desk.outbox_dir, desk.log_dir, desk.backup_dir, desk.lock_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with store_for(desk) as store:
        store.audit(now, "系统", "init", "desk", str(root), {"force": force, "backup": str(result.backup or "")})
    result.created.append(str(desk.store_path.relative_to(root)))
    return result
