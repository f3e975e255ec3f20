"""A local Kuaidi100 look-alike for the demo and the tests (``xl-logistics sandbox``)."""

from __future__ import annotations

__all__ = ["SandboxApp", "RunningSandbox", "serve_sandbox", "run_forever"]


def __getattr__(name: str):  # keep ``import xl_addin.sandbox`` light
    if name == "SandboxApp":
        from .app import SandboxApp

        return SandboxApp
    if name in ("RunningSandbox", "serve_sandbox", "run_forever"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
