"""Helpers shared by several test modules (see tests/README.md). Test modules import from here, never
from each other."""
