"""Evidence files of exception cases: checked, copied into the desk's evidence folder, hashed.

A claim needs its photos months later, after the original file on someone's desktop has moved.
A file given with a report is copied to ``<desk>/evidence/<YYYY-MM>/<first 12 hex of SHA-256>-<name>``
and its SHA-256 is recorded with the case (``case_evidence``), so the copy can be shown to be the
file that was reported. A link (``http://…``) is kept as given.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from xl_addin.adapters.store.evidence import add_evidence, evidence_of  # noqa: F401  (evidence_of re-exported)
from xl_addin.adapters.store.store import Store
from xl_addin.errors import UserError

EVIDENCE_FOLDER = "evidence"
_LINK = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class KeptFile:
    original: str
    stored: str      # relative to the desk folder
    sha256: str
    size: int


def evidence_folder(desk_root: Path) -> Path:
    return Path(desk_root) / EVIDENCE_FOLDER


def is_link(text: str) -> bool:
    return bool(_LINK.match(text.strip()))


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def keep_evidence(text: str | None, desk_root: Path, now: datetime, tz: tzinfo) -> KeptFile | None:
    """Copy the evidence file named by ``text`` into the desk (None for a link or nothing).

    UserError naming the path when it does not exist or is not a file; nothing is copied then."""
    if text is None or not str(text).strip() or is_link(str(text)):
        return None
    given = str(text).strip().strip('"')
    path = Path(given).expanduser()
    if not path.exists():
        raise UserError(f"凭证文件不存在: {given}", "请核对路径（可把文件拖进命令行窗口得到完整路径），或给出链接 http…")
    if not path.is_file():
        raise UserError(f"凭证不是一个文件: {given}", "请给出照片或截图文件本身，不要给文件夹")
    digest, size = _sha256(path)
    folder = evidence_folder(desk_root) / now.astimezone(tz).strftime("%Y-%m")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest[:12]}-{path.name}"
    if not target.exists() or _sha256(target)[0] != digest:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        shutil.copyfile(path, tmp)
        if _sha256(tmp)[0] != digest:  # the original changed while it was copied
            tmp.unlink()
            raise UserError(f"凭证文件在复制时被改动: {given}", "请等文件保存完毕后重试")
        os.replace(tmp, target)
    return KeptFile(str(path.resolve()), target.relative_to(Path(desk_root)).as_posix(), digest, size)


def record_evidence(store: Store, case_id: str, kept: KeptFile, by: str, now: datetime) -> None:
    """Inside a transaction."""
    add_evidence(store, case_id, kept.original, kept.stored, kept.sha256, kept.size, by, now)
    store.audit(now, by, "case_evidence", "case", case_id,
                {"original": kept.original, "stored": kept.stored, "sha256": kept.sha256, "size": kept.size})
