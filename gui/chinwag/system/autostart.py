""" "Start on login": the XDG autostart entry ``$XDG_CONFIG_HOME/autostart/
im.chinwag.Chinwag.desktop``, written or removed by :func:`set_autostart`.

A small stand-in with the API the Preferences dialog uses; the packaging work (issue 15)
brings the full writer (the command it starts, quoting, validation)."""

from __future__ import annotations

import os
from pathlib import Path

from chinwag.system.config import write_atomic

ENTRY_ID = "im.chinwag.Chinwag"


def autostart_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or ""
    base = Path(config) if Path(config).is_absolute() else Path.home() / ".config"
    return base / "autostart" / f"{ENTRY_ID}.desktop"


def set_autostart(enabled: bool) -> None:
    """Write (``enabled``) or remove the autostart entry; OSError when it cannot be."""
    path = autostart_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    write_atomic(
        path,
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Chinwag\n"
        "Exec=chinwag --background\n"
        "Icon=im.chinwag.Chinwag\n"
        "X-GNOME-Autostart-enabled=true\n",
        0o644,
    )


def autostart_enabled() -> bool:
    return autostart_path().is_file()
