"""Stage 3: tracking — the scheduled refresh, one waybill's story, manual nodes, notices, the daily export.

One use case per module: ``refresh_run`` (the refresh), ``results`` (storing answers), ``anomalies``
(rules and cases), ``registration`` (what is tracked), ``log_rounds`` (the Tracking Log while a run
goes), ``notices`` (customer notices), ``lookup`` (``track``, manual nodes), ``export``; with
``locks`` and ``rate_limit`` beside them. Which provider and how its clients are built live at the
edge, in ``adapters.providers``. The names below are the stage's public face.
"""

from xl_addin.adapters.providers.base import SANDBOX_CUSTOMER, SANDBOX_KEY, ProviderSpec, provider_spec
from xl_addin.services.tracking.anomalies import detect_for_waybills, open_exception_cases
from xl_addin.services.tracking.config import anomaly_config, provider_code, provider_codes
from xl_addin.services.tracking.export import export_tracking
from xl_addin.services.tracking.locks import job_lock
from xl_addin.services.tracking.lookup import ingest_manual_nodes, track_one
from xl_addin.services.tracking.notices import STALE_NOTICE, notify_queued, notify_quietly
from xl_addin.services.tracking.rate_limit import RateLimiter
from xl_addin.services.tracking.refresh_run import refresh
from xl_addin.services.tracking.registration import destination_text, follow_forwarding, register_bindings
from xl_addin.services.tracking.report import RefreshResult

__all__ = ["SANDBOX_CUSTOMER", "SANDBOX_KEY", "STALE_NOTICE", "ProviderSpec", "RateLimiter", "RefreshResult",
           "anomaly_config", "destination_text", "detect_for_waybills", "export_tracking", "follow_forwarding",
           "ingest_manual_nodes", "job_lock", "notify_queued", "notify_quietly", "open_exception_cases",
           "provider_code", "provider_codes", "provider_spec", "refresh", "register_bindings", "track_one"]
