"""Tracking providers at the edge: the contract a provider client keeps (``base``) and where clients are built
(``factory``). Kuaidi100's client is ``adapters.providers.kuaidi100``; the sandbox speaks the same protocol."""
