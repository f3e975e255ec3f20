"""The composition root: the one place that builds settings, store and adapters.

Entry points call these functions; nothing here runs at import time.
"""

from __future__ import annotations

from pathlib import Path

from xl_addin.adapters.store import Store, open_store
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


def store_for(desk: Desk) -> Store:
    url = desk.settings.store_url()
    if url and not url.startswith("sqlite"):
        raise StoreError(f"暂不支持的状态库地址: {url.split('@')[-1]}", "目前仅支持内置 SQLite；请清空 [store] url")
    if url.startswith("sqlite:///"):
        return open_store(Path(url[len("sqlite:///"):]))
    return open_store(desk.store_path)
