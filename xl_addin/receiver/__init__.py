"""The push-callback receiver: a small WSGI service Kuaidi100 POSTs tracking updates to.

``POST /kuaidi100/callback`` (form ``param`` + ``sign``), ``GET /healthz``. Served by waitress;
see docs/push-receiver.md for exposing it behind a reverse proxy with TLS.
"""

from __future__ import annotations

__all__ = ["CallbackApp", "RunningReceiver", "serve_receiver", "run_receiver"]


def __getattr__(name: str):  # keep ``import xl_addin.receiver`` light
    if name == "CallbackApp":
        from .app import CallbackApp

        return CallbackApp
    if name in ("RunningReceiver", "serve_receiver", "run_receiver"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
