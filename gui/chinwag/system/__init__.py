"""Adapters to the desktop system that are neither Qt nor XMPP nor SQL: XDG paths, the
account settings file, and the password store."""
