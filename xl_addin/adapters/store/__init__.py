"""The state store: what a workbook cannot guarantee (uniqueness, history, caches, the audit log)."""

from xl_addin.adapters.store.store import Store, open_store, SCHEMA_VERSION

__all__ = ["Store", "open_store", "SCHEMA_VERSION"]
