"""Only a forwarding module for one caller; the providers live in ``xl_addin.adapters.providers``."""
