"""Tables of the notification send log (migration 4).

One row per intended message; UNIQUE (waybill, node, channel, recipient) is what makes
"each message at most once" hold across reruns, crashes, duplicate pushes and two
processes: the row is written before anything is sent.
"""

NOTIFY_STATEMENTS: list[str] = [
    """CREATE TABLE notifications (
        id {id},
        notice_key TEXT NOT NULL UNIQUE,
        waybill_no TEXT NOT NULL,
        node TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        via TEXT NOT NULL,
        state TEXT NOT NULL,
        urgent INTEGER NOT NULL DEFAULT 0,
        subject TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        message_id TEXT NOT NULL,
        event_time TEXT,
        created_at TEXT NOT NULL,
        not_before TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sending_since TEXT,
        finished_at TEXT,
        last_error TEXT,
        receipt TEXT,
        UNIQUE (waybill_no, node, channel, recipient))""",
    "CREATE INDEX notifications_due ON notifications (state, not_before)",
    "CREATE INDEX notifications_waybill ON notifications (waybill_no)",
]
