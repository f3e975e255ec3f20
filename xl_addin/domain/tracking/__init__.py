"""Tracking vocabulary and events (pure): the normalised status every carrier maps onto."""
