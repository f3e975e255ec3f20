"""Tracking providers: one module per provider, pure request builders and parsers plus one HTTP class."""
