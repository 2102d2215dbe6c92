"""The fixed names of the automation API (``docs/automation-api.md``) for the server: every
plain value of :mod:`chinwag.automation.constants` (the bus name, object paths, interface
names, result codes, error names with their HRESULTs, the Telepathy message constants),
and the D-Bus error for an error name. Everything a script can see by name is spelled
once, in ``constants``; ``chinwag-remote`` imports that module, which needs no dbus-next."""

from __future__ import annotations

from dbus_next import DBusError

from chinwag.automation.constants import (
    ACCOUNT,
    ACCOUNT_PATH,
    BUS_NAME,
    CLOSED_WINDOW_CAP,
    CONTACT,
    CONTACT_PATH,
    CONVERSATION_WINDOW,
    DBUS_NAME,
    DBUS_PATH,
    ERROR_PREFIX,
    FORBIDDEN_HEADER_KEYS,
    GROUP,
    GROUP_PATH,
    HRESULTS,
    MAIN_WINDOW_PATH,
    MESSAGE_TYPE_DELIVERY_REPORT,
    MESSAGES,
    MESSAGES_SIGNALS,
    MESSENGER,
    MESSENGER_PATH,
    MESSENGER_SIGNALS,
    PROPERTIES,
    RECEIVED_LIMIT,
    REPORT_DELETED,
    REPORT_DELIVERY,
    REPORT_FLAGS,
    REPORT_READ,
    ROOT,
    S_FALSE,
    S_OK,
    SIGNIN_OPTIONS,
    UNKNOWN_OBJECT,
    WINDOW,
    WINDOW_PATH,
    Code,
    DeliveryStatus,
    MessageType,
    MiStatus,
    hr_of,
    signed,
)

__all__ = [
    "ACCOUNT",
    "ACCOUNT_PATH",
    "BUS_NAME",
    "CLOSED_WINDOW_CAP",
    "CONTACT",
    "CONTACT_PATH",
    "CONVERSATION_WINDOW",
    "DBUS_NAME",
    "DBUS_PATH",
    "ERROR_PREFIX",
    "FORBIDDEN_HEADER_KEYS",
    "GROUP",
    "GROUP_PATH",
    "HRESULTS",
    "MAIN_WINDOW_PATH",
    "MESSAGES",
    "MESSAGES_SIGNALS",
    "MESSAGE_TYPE_DELIVERY_REPORT",
    "MESSENGER",
    "MESSENGER_PATH",
    "MESSENGER_SIGNALS",
    "PROPERTIES",
    "RECEIVED_LIMIT",
    "REPORT_DELETED",
    "REPORT_DELIVERY",
    "REPORT_FLAGS",
    "REPORT_READ",
    "ROOT",
    "SIGNIN_OPTIONS",
    "S_FALSE",
    "S_OK",
    "UNKNOWN_OBJECT",
    "WINDOW",
    "WINDOW_PATH",
    "Code",
    "DeliveryStatus",
    "MessageType",
    "MiStatus",
    "api_error",
    "hr_of",
    "signed",
]


def api_error(name: str, text: str) -> DBusError:
    """The D-Bus error for ``name``: ``im.chinwag.Error.<name>``, message
    ``0x8100031E: not signed in``."""
    return DBusError(ERROR_PREFIX + name, f"0x{HRESULTS[name]:08X}: {text}")
