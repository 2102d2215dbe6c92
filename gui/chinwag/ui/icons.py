"""Icons from ``resources/icons`` (SVG), cached; presence icons by status."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from chinwag.core.status import Status

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"

#: Icon file (without .svg) for each status a contact or the user can have.
STATUS_ICON = {
    Status.ONLINE: "status-online",
    Status.BUSY: "status-busy",
    Status.ON_THE_PHONE: "status-busy",
    Status.BE_RIGHT_BACK: "status-away",
    Status.IDLE: "status-away",
    Status.AWAY: "status-away",
    Status.OUT_TO_LUNCH: "status-away",
    Status.INVISIBLE: "status-invisible",
    Status.OFFLINE: "status-offline",
    Status.UNKNOWN: "status-offline",
    Status.CONNECTING: "status-connecting",
}


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg``; an empty icon (and no crash) when it is missing."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def status_icon(status: Status) -> QIcon:
    return icon(STATUS_ICON.get(status, "status-offline"))
