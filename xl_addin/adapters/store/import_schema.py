"""Tables for bringing orders in from back-office and ERP exports (migration 5).

Kept apart from ``orders`` (which ``validate`` owns) so an import never looks
like a checked order: ``import_sources`` holds each source's confirmed header
mapping, ``import_orders`` what each source last said about an order (to tell
a changed re-send from a plain repeat), ``import_mismatches`` each
SOURCE_MISMATCH and how a person resolved it. No imports here: ``migrations``
loads this module while ``store`` is still being imported.
"""

IMPORT_STATEMENTS: list[str] = [
    """CREATE TABLE import_sources (
        name TEXT PRIMARY KEY,
        mapping TEXT NOT NULL DEFAULT '{{}}',
        headers TEXT NOT NULL DEFAULT '[]',
        confirmed_by TEXT,
        confirmed_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE import_orders (
        source TEXT NOT NULL,
        order_no TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{{}}',
        file TEXT NOT NULL,
        file_row INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (source, order_no))""",
    """CREATE TABLE import_mismatches (
        id {id},
        source TEXT NOT NULL,
        order_no TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        differences TEXT NOT NULL DEFAULT '[]',
        file TEXT NOT NULL,
        file_row INTEGER NOT NULL,
        found_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        resolved_by TEXT,
        resolved_at TEXT)""",
    "CREATE INDEX import_mismatches_order ON import_mismatches (order_no, state)",
]
