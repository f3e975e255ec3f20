"""Running a waitress server in a background thread (the sandbox, the push receiver, tests and the demo)."""

from __future__ import annotations

import threading
from typing import Any

#: waitress's select() timeout. It takes whole seconds (``int``): 0.2 became 0 and its loop spun, a core
#: busy even with no request at all. Stopping does not wait for it: ``stop_background`` pulls the trigger.
LOOP_TIMEOUT_S = 1


def serve_in_background(server: Any, name: str) -> threading.Thread:
    """Run the server's loop in a daemon thread until ``stop_background``; closing its sockets on stop
    is not an error."""
    stop = threading.Event()
    socket_map = getattr(server, "_map", None)
    if socket_map is None:
        socket_map = server.map

    def run_quietly() -> None:
        try:
            while socket_map and not stop.is_set():
                server.asyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=socket_map,
                                     use_poll=server.adj.asyncore_use_poll, count=1)
        except (OSError, ValueError):  # sockets closed under select() while stopping
            pass

    thread = threading.Thread(target=run_quietly, daemon=True, name=name)
    thread._xl_stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def stop_background(server: Any, thread: threading.Thread, timeout: float = 5.0) -> None:
    """End the loop started by ``serve_in_background`` now (not after its select timeout), then close the
    listening socket, every connection and the worker threads."""
    stop = getattr(thread, "_xl_stop", None)
    if stop is not None:
        stop.set()
        try:
            server.pull_trigger()  # wakes select() at once
        except Exception:
            pass
        thread.join(timeout)
    server.close()
    for channel in list(getattr(server, "_map", {}).values()):  # trigger + open connections
        try:
            channel.close()
        except Exception:
            pass
    server.task_dispatcher.shutdown(timeout=2)
    thread.join(timeout)
