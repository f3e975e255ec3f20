"""Desk settings: read from the desk's ``xl-logistics.toml``; secrets only by environment-variable name."""

from xl_addin.config.settings import Settings, load_settings, DEFAULT_CONFIG_TEXT, CONFIG_FILENAME

__all__ = ["Settings", "load_settings", "DEFAULT_CONFIG_TEXT", "CONFIG_FILENAME"]
