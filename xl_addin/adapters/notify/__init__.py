"""Outgoing message channels: e-mail (SMTP), chat-robot webhooks, an SMS gateway, and the outbox folder.

Every channel has the same small contract (``base.Channel``): send one ``OutgoingMessage``
or raise one of two errors that say whether the message might have left.
Modules are imported on use only (smtplib and requests are not loaded with the package).
"""
