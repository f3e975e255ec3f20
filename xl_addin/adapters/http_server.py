"""Running a waitress server in a background thread (the sandbox, the push receiver, tests and the demo)."""

from __future__ import annotations

import threading
from typing import Any


def serve_in_background(server: Any, name: str) -> threading.Thread:
    """Start ``server.run()`` in a daemon thread; closing its sockets on stop is not an error."""

    def run_quietly() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # sockets closed under select() while stopping
            pass

    thread = threading.Thread(target=run_quietly, daemon=True, name=name)
    thread.start()
    return thread
