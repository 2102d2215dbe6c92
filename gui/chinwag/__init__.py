"""Chinwag: a scriptable desktop instant messenger for XMPP."""

__version__ = "0.1.0"
APP_ID = "chinwag"
