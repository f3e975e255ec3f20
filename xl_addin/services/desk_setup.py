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
