"""Where a desk keeps its things. A desk is one folder: workbooks, config, state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xl_addin.config import CONFIG_FILENAME, Settings

STATE_DIRNAME = ".xl-logistics"


@dataclass(frozen=True)
class Desk:
    root: Path
    settings: Settings

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIRNAME

    @property
    def store_path(self) -> Path:
        return self.state_dir / "state.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def backup_dir(self) -> Path:
        return self.state_dir / "backups"

    @property
    def lock_dir(self) -> Path:
        return self.state_dir / "locks"

    @property
    def outbox_dir(self) -> Path:
        return self.root / "outbox"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def workbook(self, key: str) -> Path:
        """Path of one of the desk's workbooks by book key (orders, bindings, tracking, exceptions)."""
        return self.root / getattr(self.settings.workbooks, key)

    def is_initialised(self) -> bool:
        """A config, and a store: the SQLite file inside the desk, or a shared server the config names."""
        if not self.config_path.exists():
            return False
        url = self.settings.store_url()
        return self.store_path.exists() or bool(url and not url.startswith("sqlite"))
