"""Where tracking-provider clients are built: one factory per run, one client per worker thread."""

from __future__ import annotations

from typing import Any, Callable

from xl_addin.adapters.providers.base import ProviderSpec, TrackingProvider, provider_spec
from xl_addin.errors import ConfigError


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


def provider_autonumber(settings) -> Callable[[str], Any] | None:
    """The configured tracking provider's auto-detection as a function, or None when no provider is configured."""
    try:
        spec = provider_spec(settings)
    except ConfigError:
        return None
    make = client_factory(spec, settings)

    def ask(number: str):
        client = make()
        try:
            return client.autonumber(number)
        finally:
            client.close()

    return ask
