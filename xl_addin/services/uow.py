"""The unit of work a use case runs in: everything it may touch, built once by ``bootstrap.build_uow``.

A use case is ``run(uow, request) -> Report``. It reads and writes the state store through the
repositories below (the ``*Store`` classes of ``adapters/store``), finds the desk's workbooks in
``books``, evaluates every time rule at ``now`` and shows moments in ``tz``, the desk's zone. One
``with uow.transaction():`` block is one store transaction: it commits at the end of the block, or
nothing of it is kept. The tracking provider and the notifier are built on first use (a use case
that never asks for them needs no tracking account and no mail settings).

Nothing here builds a connection, a client or a channel: ``bootstrap.build_uow`` passes them in.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from xl_addin.adapters.providers.base import TrackingProvider
    from xl_addin.adapters.store.cases import CaseStore
    from xl_addin.adapters.store.followups import ClosingStore
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.adapters.store.store import Store
    from xl_addin.adapters.store.tracking import TrackingStore
    from xl_addin.adapters.store.waybills import WaybillStore
    from xl_addin.desk import Desk
    from xl_addin.services.notify.notifications import Notifier


@dataclass(frozen=True)
class DeskBooks:
    """The desk's workbooks (None: the file is not there, the store keeps everything) and its backups."""

    orders: Path | None
    bindings: Path | None
    tracking: Path | None
    exceptions: Path | None
    backup_dir: Path | None

    @classmethod
    def of(cls, desk: Desk) -> DeskBooks:
        def there(key: str) -> Path | None:
            path = desk.workbook(key)
            return path if path.exists() else None

        return cls(there("orders"), there("bindings"), there("tracking"), there("exceptions"), desk.backup_dir)


class UnitOfWork:
    """One job's store, repositories, workbooks, provider, notifier and clock; a context manager."""

    def __init__(self, *, desk: Desk, store: Store, now: datetime, tz: tzinfo, books: DeskBooks,
                 provider: Callable[[], TrackingProvider], notifier: Callable[[Store], Notifier]) -> None:
        self.desk, self.store, self.now, self.tz, self.books = desk, store, now, tz, books
        self._make_provider, self._make_notifier = provider, notifier
        self._provider: TrackingProvider | None = None
        self._notifier: Notifier | None = None

    # ------------------------------------------------------------ the store

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One store transaction: committed when the block ends, rolled back when it raises."""
        with self.store.transaction():
            yield

    @cached_property
    def orders(self) -> OrderRecords:
        from xl_addin.adapters.store.orders import OrderRecords

        return OrderRecords(self.store)

    @cached_property
    def waybills(self) -> WaybillStore:
        from xl_addin.adapters.store.waybills import WaybillStore

        return WaybillStore(self.store)

    @cached_property
    def tracking(self) -> TrackingStore:
        from xl_addin.adapters.store.tracking import TrackingStore

        return TrackingStore(self.store)

    @cached_property
    def cases(self) -> CaseStore:
        from xl_addin.adapters.store.cases import CaseStore

        return CaseStore(self.store)

    @cached_property
    def closing(self) -> ClosingStore:
        from xl_addin.adapters.store.followups import ClosingStore

        return ClosingStore(self.store)

    # ------------------------------------------------------------ built on first use

    def provider(self) -> TrackingProvider:
        """The desk's tracking-provider client; a ConfigError saying what to set when it has no account."""
        if self._provider is None:
            self._provider = self._make_provider()
        return self._provider

    def notifier(self) -> Notifier:
        """The desk's customer notifier (its templates, channels and outbox) on this store."""
        if self._notifier is None:
            self._notifier = self._make_notifier(self.store)
        return self._notifier

    # ------------------------------------------------------------ the end of the job

    def close(self) -> None:
        try:
            if self._provider is not None:
                self._provider.close()
        finally:
            self.store.close()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
