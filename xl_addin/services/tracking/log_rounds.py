"""The Tracking Log written in rounds on its own thread while a refresh's queries run."""

from __future__ import annotations

import threading
from datetime import datetime

from xl_addin.errors import WorkbookError
from xl_addin.services.tracking.config import setting, anomaly_config
from xl_addin.services.tracking.report import RefreshResult

LOG_ROUND_GAP = 3.0   # seconds between Tracking Log rounds while the queries run


class LogRounds:
    """Brings the Tracking Log up to date in rounds on its own thread and store connection while the
    queries run, so the round after the last answer has little left to write. A workbook open in
    Excel or unreadable ends the rounds; the store keeps everything and the next run catches up."""

    def __init__(self, desk, now: datetime, tz, names: dict[str, str]) -> None:
        from xl_addin.services.tracking.tracking_log import LogWriter

        t = desk.settings.tracking
        self.desk = desk
        self.writer = LogWriter(desk.workbook("tracking"), now, tz, backup_dir=desk.backup_dir,
                                keep_delivered_days=int(setting(t, "keep_delivered_days", 3)),
                                node_days=int(setting(t, "node_days", 7)), config=anomaly_config(desk.settings),
                                carrier_names=names)
        self._final = threading.Event()
        self._abandon = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracking-log", daemon=True)
        self.written = False
        self.message = ""
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Everything is stored: write the last round (the thread carries on with it)."""
        self._final.set()
        self._wake.set()

    def abandon(self) -> None:
        self._abandon.set()
        self._wake.set()
        self._thread.join()

    def join(self, res: RefreshResult) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error
        res.workbook_written = self.written
        if self.message:
            res.workbook_message = self.message

    def _run(self) -> None:
        from xl_addin.bootstrap import store_for

        try:
            with store_for(self.desk) as store:
                while not self._abandon.is_set():
                    final = self._final.is_set()
                    self._round(store, final)
                    if final or self.message:
                        return
                    self._wake.wait(LOG_ROUND_GAP)
                    self._wake.clear()
        except BaseException as exc:  # handed to the run's thread in join()
            self.error = exc

    def _round(self, store, final: bool) -> None:
        try:
            self.written = self.writer.write(store, overview=final).written
        except WorkbookError as exc:  # WorkbookLocked included: open in Excel
            self.written = False
            self.message = str(exc)
            self._abandon.set()
