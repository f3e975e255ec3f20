"""The state store: what a workbook cannot guarantee (uniqueness, history, caches, the audit log)."""

from xl_addin.adapters.store.store import (IntegrityError, OperationalError, SCHEMA_VERSION, Store, open_postgres_store,
                                           open_store)

__all__ = ["Store", "open_store", "open_postgres_store", "SCHEMA_VERSION", "IntegrityError", "OperationalError"]
