"""The composition root: the one place that builds settings, store and adapters.

Entry points call these functions; nothing here runs at import time.
"""

from __future__ import annotations

from pathlib import Path

from xl_addin.adapters.store import Store, open_store
from xl_addin.adapters.store.dialect import backend_of, redact_url
from xl_addin.config import load_settings
from xl_addin.desk import Desk
from xl_addin.errors import StoreError, UserError


def load_desk(root: Path | str, *, must_exist: bool = True) -> Desk:
    """The desk at ``root`` with its settings; a clear error when it is not a desk."""
    root = Path(root).resolve()
    desk = Desk(root, load_settings(root))
    if must_exist and not desk.is_initialised():
        raise UserError(f"{root} 不是一个物流台账文件夹", "请先运行 xl-logistics init 该文件夹，或用 --desk 指定台账")
    return desk


def store_for(desk: Desk, *, upgrade: bool | None = None) -> Store:
    """The desk's store: [store] url / XL_LOGISTICS_DATABASE_URL (sqlite:/// or postgresql://), else the desk's file."""
    url = (desk.settings.store_url() or "").strip()
    if not url:
        return open_store(desk.store_path)
    try:
        backend = backend_of(url)
    except ValueError:
        raise StoreError(f"不支持的状态库地址: {redact_url(url)}",
                         "请写 sqlite:///文件路径 或 postgresql://用户@服务器:端口/数据库（密码放在环境变量或 .pgpass）")
    if backend == "postgresql":
        return open_store(url, upgrade=upgrade)
    return open_store(Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else desk.store_path)
