"""Tables of push subscription (migration 6).

``push_subscriptions``: one row per waybill, the provider's answer to our subscription and
what its pushes said since (state: submitted, accepted, duplicate, refused, retry, shutdown,
abort). ``pending_notices``: new tracking events waiting to be offered to the notifier,
written in the same transaction as the events, so a crash between storing an event and
offering its notice is finished by the next run instead of being forgotten.
"""

PUSH_STATEMENTS: list[str] = [
    """CREATE TABLE push_subscriptions (
        waybill_no TEXT PRIMARY KEY,
        carrier_code TEXT,
        company TEXT NOT NULL,
        state TEXT NOT NULL,
        return_code TEXT,
        message TEXT NOT NULL DEFAULT '',
        hint TEXT NOT NULL DEFAULT '',
        callback_url TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        subscribed_at TEXT,
        accepted_at TEXT,
        next_try_at TEXT,
        last_push_at TEXT,
        last_push_status TEXT,
        pushes INTEGER NOT NULL DEFAULT 0,
        resubscribes INTEGER NOT NULL DEFAULT 0,
        escalated_at TEXT,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX push_subscriptions_state ON push_subscriptions (state)",
    """CREATE TABLE pending_notices (
        event_key TEXT PRIMARY KEY,
        waybill_no TEXT NOT NULL,
        queued_at TEXT NOT NULL)""",
]
