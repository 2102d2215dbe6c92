"""The fixed names of the automation API (``docs/automation-api.md``) for the server: every
plain value of :mod:`chinwag.automation.constants` (the bus name, object paths, interface
names, result codes, error names with their HRESULTs, the Telepathy message constants),
and the D-Bus error for an error name. Everything a script can see by name is spelled
once, in ``constants``; ``chinwag-remote`` imports that module, which needs no dbus-next."""

from __future__ import annotations

from dbus_next import DBusError

from chinwag.automation import constants
from chinwag.automation.constants import *  # noqa: F403 - re-exported for the server
from chinwag.automation.constants import ERROR_PREFIX, HRESULTS

__all__ = [*constants.__all__, "api_error"]  # noqa: PLE0604 - constants.__all__ is str


def api_error(name: str, text: str) -> DBusError:
    """The D-Bus error for ``name``: ``im.chinwag.Error.<name>``, message
    ``0x8100031E: not signed in``."""
    return DBusError(ERROR_PREFIX + name, f"0x{HRESULTS[name]:08X}: {text}")
