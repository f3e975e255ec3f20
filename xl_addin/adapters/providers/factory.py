"""How a tracking-provider client is built from its ``ProviderSpec``: one factory per run, one client per worker
thread. Only the composition root calls it (``bootstrap.tracking_clients``)."""

from __future__ import annotations

from typing import Callable

from xl_addin.adapters.providers.base import ProviderSpec, TrackingProvider


def settings_tz(settings):
    """The desk's time zone for reading the provider's local times ([desk] timezone, checked when read)."""
    from xl_addin.config.timezone import desk_timezone

    return desk_timezone(settings)


def client_factory(spec: ProviderSpec, settings) -> Callable[[], TrackingProvider]:
    """A function that builds one client of the provider ``spec`` names."""
    from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client

    tz = settings_tz(settings)

    def make() -> TrackingProvider:
        return Kuaidi100Client(spec.base_url, spec.customer, spec.key, tz=tz)

    return make
