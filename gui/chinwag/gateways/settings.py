"""Which gateways to run, as the settings say: ``gateways.json`` in the settings folder
(absent: none; the command line's ``--xmlrpc-port`` and ``--rest-port`` win over it)::

    {"xmlrpc": {"enabled": true, "port": 0}, "rest": {"enabled": true, "port": 8043}}

``port`` 0 (or none) picks a free port. A file that cannot be read turns nothing on
(and is said in the log)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "gateways.json"
#: Where the running gateways' ports are written, in the state folder (server.py).
STATE_FILE = "gateways.json"


def configured_port(config_dir: Path, name: str) -> int | None:
    """The port gateway ``name`` is to listen on (0: any), or None when it is off."""
    path = config_dir / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("gateway settings %s unreadable (%s): the gateways stay off", path, exc)
        return None
    entry = data.get(name) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or entry.get("enabled") is not True:
        return None
    port = entry.get("port", 0)
    if type(port) is not int or not 0 <= port <= 65535:
        log.warning(
            "gateway settings %s: %s's port %r is not a port: it stays off", path, name, port
        )
        return None
    return port


#: The gateways, by their name in the settings file.
NAMES = ("xmlrpc", "rest")


class SettingsError(Exception):
    """The settings file cannot be read or written (its text says why, for the user)."""


def read_settings(config_dir: Path) -> dict[str, dict[str, object]]:
    """The file's entries as they are (none when there is no file); raises
    :class:`SettingsError` when it cannot be read or does not hold the settings."""
    path = config_dir / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"{path} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SettingsError(f"{path} is damaged ({exc})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} holds a {type(data).__name__}, not the gateway settings")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def save_setting(config_dir: Path, name: str, enabled: bool, port: int) -> None:
    """Turn gateway ``name`` on or off with ``port`` (0: any), keeping the file's other
    entries; a damaged file is replaced (it holds nothing else). Atomic; raises
    :class:`SettingsError` when the file cannot be written."""
    from chinwag.system.config import write_atomic

    if name not in NAMES:
        raise ValueError(f"no gateway {name!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"{port} is not a port")
    try:
        entries = read_settings(config_dir)
    except SettingsError as exc:
        log.warning("gateway settings: %s: it is written anew", exc)
        entries = {}
    entries[name] = {**entries.get(name, {}), "enabled": enabled, "port": port}
    path = config_dir / FILE_NAME
    try:
        write_atomic(path, json.dumps(entries, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise SettingsError(f"{path} cannot be written: {exc.strerror or exc}") from None
