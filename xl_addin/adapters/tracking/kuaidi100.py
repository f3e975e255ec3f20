"""Moved to ``xl_addin.adapters.providers.kuaidi100``. Kept only for ``services/push.py``, changed in parallel
elsewhere; point it at the new module with its next change and delete this package."""

from xl_addin.adapters.providers.kuaidi100 import CONFIG_ERROR, PUSH_ACK, WAYBILL_PROBLEM, Kuaidi100Client  # noqa: F401
