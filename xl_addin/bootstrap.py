"""The composition root: the one place that builds settings, store and adapters.

Entry points call these functions; nothing here runs at import time. ``build_uow`` gives a use case
everything it may touch (``services/uow.py``): the store, the desk's workbooks, the tracking provider
and the notifier (both built on first use), ``now`` and the desk's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from xl_addin.adapters.store import Store, open_store
from xl_addin.adapters.store.dialect import backend_of, redact_url
from xl_addin.config import Settings, load_settings
from xl_addin.desk import Desk
from xl_addin.errors import ConfigError, StoreError, UserError

if TYPE_CHECKING:
    from xl_addin.adapters.providers.base import ProviderSpec, TrackingProvider
    from xl_addin.services.notify.notifications import Notifier
    from xl_addin.services.uow import UnitOfWork


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


def build_uow(desk: Desk, now: datetime, env: Mapping[str, str] | None = None) -> UnitOfWork:
    """The unit of work of one job on ``desk`` at ``now``: its store opened, the rest built when first used.

    ``env`` stands for the process environment (the tracking account, mail and webhook secrets)."""
    from xl_addin.config.timezone import desk_timezone
    from xl_addin.services.uow import DeskBooks, UnitOfWork

    tz = desk_timezone(desk.settings)
    books = DeskBooks.of(desk)

    def provider() -> TrackingProvider:
        return tracking_clients(desk.settings, env)[1]()

    def notifier(store: Store) -> Notifier:
        from xl_addin.services.notify.notifications import build_notifier

        return build_notifier(desk, store, env=env)

    return UnitOfWork(desk=desk, store=store_for(desk), now=now, tz=tz, books=books,
                      provider=provider, notifier=notifier)


def tracking_clients(settings: Settings, env: Mapping[str, str] | None = None
                     ) -> tuple[ProviderSpec, Callable[[], TrackingProvider]]:
    """Which tracking provider the desk uses (a ConfigError saying what to set when it has no account) and a
    factory of its clients: the only place provider clients are made (one per worker thread for refresh)."""
    from xl_addin.adapters.providers.base import provider_spec
    from xl_addin.adapters.providers.factory import client_factory

    spec = provider_spec(settings, dict(env) if env is not None else None)
    return spec, client_factory(spec, settings)


def provider_autonumber(settings: Settings, env: Mapping[str, str] | None = None) -> Callable[[str], Any] | None:
    """The configured provider's carrier auto-detection as a function (one client per question), or None when
    the desk has no tracking account (bind and rebind then suggest carriers from the number's format only)."""
    try:
        _, make = tracking_clients(settings, env)
    except ConfigError:
        return None

    def ask(number: str) -> Any:
        client = make()
        try:
            return client.autonumber(number)
        finally:
            client.close()

    return ask
