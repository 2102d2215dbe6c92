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
