"""Run the sandbox on 127.0.0.1 with waitress, in a background thread (tests, demo) or forever (CLI)."""

from __future__ import annotations

import threading
from typing import Any

from .app import SandboxApp


class RunningSandbox:
    """A sandbox served in a background thread; ``base_url`` points the client at it."""

    def __init__(self, app: SandboxApp, server: Any, thread: threading.Thread, push_interval: float | None) -> None:
        self.app = app
        self._server = server
        self._thread = thread
        host, port = server.effective_host, server.effective_port
        self.host, self.port = host, port
        self.base_url = f"http://{host}:{port}"
        self.customer, self.key = next(iter(app.credentials.items()))
        self._stop = threading.Event()
        self._pusher = None
        if push_interval:
            self._pusher = threading.Thread(target=self._push_loop, args=(push_interval,), daemon=True,
                                            name="sandbox-pusher")
            self._pusher.start()

    def _push_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.app.push_due()
            except Exception:  # a broken receiver must not kill the pusher
                pass

    def stop(self) -> None:
        self._stop.set()
        from xl_addin.adapters.http_server import stop_background

        stop_background(self._server, self._thread)
        if self._pusher:
            self._pusher.join(timeout=5)

    def __enter__(self) -> "RunningSandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _make_server(app: SandboxApp, host: str, port: int, threads: int):
    from waitress.server import create_server

    from xl_addin.adapters.http_server import LOOP_TIMEOUT_S

    return create_server(app, host=host, port=port, threads=threads, ident="kuaidi100-sandbox",
                         channel_timeout=30, connection_limit=200, asyncore_loop_timeout=LOOP_TIMEOUT_S)


def serve_sandbox(host: str = "127.0.0.1", port: int = 0, *, threads: int = 8,
                  push_interval: float | None = None, **options: Any) -> RunningSandbox:
    """Start a sandbox (options go to ``SandboxApp``: customer, key, seed, mix, start, speed, faults…)."""
    app = SandboxApp(**options)
    from xl_addin.adapters.http_server import serve_in_background

    server = _make_server(app, host, port, threads)
    return RunningSandbox(app, server, serve_in_background(server, "kuaidi100-sandbox"), push_interval)


def run_forever(host: str = "127.0.0.1", port: int = 8765, *, threads: int = 8,
                push_interval: float | None = 5.0, **options: Any) -> None:
    """Blocking entry for ``xl-logistics sandbox``; Ctrl+C stops it."""
    running = serve_sandbox(host, port, threads=threads, push_interval=push_interval, **options)
    print(f"快递100 沙箱已启动：{running.base_url}  (customer={running.customer}, key={running.key})", flush=True)
    print(f"模拟时钟: {running.app.clock.now():%Y-%m-%d %H:%M}，{running.app.clock.speed:g} 倍速。"
          f"拨快两天: POST {running.base_url}/_sandbox/clock {{\"advance_days\": 2}}；Ctrl+C 停止", flush=True)
    try:
        running._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
