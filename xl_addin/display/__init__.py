"""What people read: moments in the desk's own time and one Chinese vocabulary for every code.

``moments`` turns an instant into the desk's wall-clock text; ``vocabulary`` is the one table from
internal codes (status, source, rule, job, outcome, type, severity …) to their Chinese labels.
JSON output keeps ISO 8601 with offset; only text for people goes through here.
"""
