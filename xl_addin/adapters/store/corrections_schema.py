"""Tables of carrier corrections and push receipts (migration 15).

``carrier_corrections``: the provider company code a waybill is really tracked under, when it
differs from the one its binding implies — set by Kuaidi100 (a push with ``autoCheck=1``, or an
abort naming ``comNew``) or by a person. Every later query and subscription reads it.
``push_receipts``: one row per distinct push body taken in (its SHA-256), so a copy Kuaidi100
re-sends because our answer was lost is recognised and changes nothing a second time.
``push_subscriptions`` gains this month's subscription count (Kuaidi100 allows four a month);
``waybill_status`` links a re-bound or forwarded (转投) number to the one that took over.
"""

CORRECTIONS_STATEMENTS: list[str] = [
    """CREATE TABLE carrier_corrections (
        waybill_no TEXT PRIMARY KEY,
        com_old TEXT,
        com_new TEXT NOT NULL,
        corrected_at TEXT NOT NULL,
        corrected_by TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE push_receipts (
        digest TEXT PRIMARY KEY,
        waybill_no TEXT NOT NULL,
        status TEXT,
        received_at TEXT NOT NULL)""",
    "CREATE INDEX push_receipts_received ON push_receipts (received_at)",
    "ALTER TABLE push_subscriptions ADD COLUMN month_key TEXT",
    # a re-bound or forwarded (转投) number is no longer tracked; it names the number that took over
    "ALTER TABLE waybill_status ADD COLUMN replaced_by TEXT",
    "ALTER TABLE waybill_status ADD COLUMN forwarded_from TEXT",
    "ALTER TABLE push_subscriptions ADD COLUMN month_count INTEGER NOT NULL DEFAULT 0",
]
