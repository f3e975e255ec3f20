"""Serve the receiver with waitress: in a background thread (tests, demo) or in the foreground
with graceful shutdown on SIGTERM/SIGINT (``xl-logistics serve``).

Shutdown order: /healthz turns "draining", the listening socket closes, callbacks in flight
finish (their pushes are stored and answered), the notifier sends what is due, then exit.
A push cut off anyway was not acknowledged, so the provider sends it again.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from .app import MAX_BODY, CallbackApp
from .jsonlog import event, flush_log, receiver_logger


class RunningReceiver:
    def __init__(self, app: CallbackApp, service: Any, server: Any, thread: threading.Thread) -> None:
        self.app, self.service, self._server, self._thread = app, service, server, thread
        self.host, self.port = server.effective_host, server.effective_port
        self.url = f"http://{self.host}:{self.port}"
        self._stopped = False

    def stop(self, grace: float = 15.0) -> None:
        """Stop accepting, let callbacks in flight finish (up to ``grace`` seconds), then close."""
        if self._stopped:
            return
        self._stopped = True
        self.app.draining = True
        server = self._server  # new callbacks now get a 503 (retried by the provider); finish the rest
        deadline = time.monotonic() + grace
        while self.app.active and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # let the last answers leave the socket buffers
        from xl_addin.adapters.http_server import stop_background

        stop_background(server, self._thread)
        if self.service is not None:
            self.service.close()
        event(self.app.logger, "stopped", url=self.url)
        flush_log(self.app.logger)

    def flush_log(self) -> None:
        """Write out the buffered log lines now (they are written at least every half second anyway)."""
        flush_log(self.app.logger)

    def wait(self) -> None:
        self._thread.join()

    def __enter__(self) -> "RunningReceiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_app(app: CallbackApp, host: str = "127.0.0.1", port: int = 0, *, threads: int = 8,
              service: Any = None) -> RunningReceiver:
    """Serve any CallbackApp (the bench's minimal receiver uses this too)."""
    import logging

    from waitress.server import create_server

    from xl_addin.adapters.http_server import LOOP_TIMEOUT_S, serve_in_background

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" notes are not problems here
    server = create_server(app, host=host, port=port, threads=threads, ident="xl-logistics-receiver",
                           max_request_body_size=app.max_body * 2, max_request_header_size=64 * 1024,
                           channel_timeout=30, connection_limit=500, asyncore_loop_timeout=LOOP_TIMEOUT_S,
                           clear_untrusted_proxy_headers=True)

    return RunningReceiver(app, service, server, serve_in_background(server, "push-receiver"))


def serve_receiver(desk, host: str = "127.0.0.1", port: int = 0, *, clock: Callable[[], datetime] | None = None,
                   env: Mapping[str, str] | None = None, threads: int = 32, send_interval: float = 30.0,
                   access_log: bool = True, log_path: Path | None = None, max_body: int = MAX_BODY,
                   notify: bool = True) -> RunningReceiver:
    """The desk's receiver in a background thread; ``.url``, ``.service`` (PushService), ``.stop()``."""
    from xl_addin.services.push.service import PushService

    import logging

    if access_log:
        logger = receiver_logger(log_path, stream=None)
    else:
        logger = logging.getLogger("xl_addin.receiver.quiet")
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
    service = PushService(desk, clock=clock, env=env, send_interval=send_interval, notify=notify).start()
    app = CallbackApp(service.handle, health=service.health, logger=logger, max_body=max_body)
    running = serve_app(app, host, port, threads=threads, service=service)
    event(app.logger, "started", url=running.url, desk=str(desk.root))
    return running


def run_receiver(desk, host: str = "127.0.0.1", port: int = 8780, *, threads: int = 32,
                 on_ready: Callable[[RunningReceiver], None] | None = None) -> int:
    """Blocking entry for ``xl-logistics serve``: JSON-line logs to stderr and the desk's log folder,
    graceful stop on SIGTERM or SIGINT (Ctrl+C)."""
    import sys

    logger = receiver_logger(desk.log_dir / "receiver.jsonl", stream=sys.stderr)
    running = serve_receiver(desk, host, port, threads=threads, log_path=desk.log_dir / "receiver.jsonl")
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum, _frame) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready:
            on_ready(running)
        while not stop.wait(0.5):
            if not running._thread.is_alive():
                break
        event(logger, "shutting_down", signal=received[0] if received else None, in_flight=running.app.active)
        running.stop()
    finally:
        flush_log(logger)
        for s, h in previous.items():
            signal.signal(s, h)
    return 0
