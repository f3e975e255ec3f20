"""The day's tracking export into the archive folder."""

from __future__ import annotations

from datetime import date
from typing import Any

from xl_addin.config.timezone import desk_timezone

def export_tracking(desk, day: date) -> dict[str, Any]:
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking.tracking_log import export_day

    with store_for(desk) as store:
        path, rows = export_day(store, day, desk_timezone(desk.settings), desk.archive_dir / "tracking")
    return {"date": day.isoformat(), "path": str(path), "rows": rows}
