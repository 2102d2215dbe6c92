"""Event sounds from the freedesktop sound theme, played by the desktop's own player:
``canberra-gtk-play`` (libcanberra, which follows the user's sound theme) or, without it,
``paplay`` / ``pw-play`` on the theme's file. Nothing is loaded into Chinwag for it (no
multimedia module: the start-up memory goal cannot afford one). No player, no file: no
sound, and no error. Qt-free; never blocks (the player runs on its own)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: Sound-theme event ids (freedesktop Sound Naming Specification).
MESSAGE = "message-new-instant"
CONTACT_ONLINE = "service-login"

_THEME_DIRS = tuple(
    Path(d) / "sounds" / "freedesktop" / "stereo"
    for d in (
        os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share")),
        *os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":"),
    )
    if d
)


def command_for(event: str, find: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command that plays ``event``, or None when nothing here can."""
    canberra = find("canberra-gtk-play")
    if canberra:
        return [canberra, "--id", event, "--description", "Chinwag"]
    for player in ("paplay", "pw-play"):
        path = find(player)
        if not path:
            continue
        for folder in _THEME_DIRS:
            for suffix in (".oga", ".ogg", ".wav"):
                sound = folder / f"{event}{suffix}"
                if sound.is_file():
                    return [path, str(sound)]
        return None
    return None


class SoundPlayer:
    """Plays event sounds; finished players are reaped at the next call."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []
        self._missing_logged = False

    def play(self, event: str) -> bool:
        """Start playing ``event``; False when it cannot be played."""
        self._running = [p for p in self._running if p.poll() is None]
        command = command_for(event)
        if command is None:
            if not self._missing_logged:
                log.info("no sound player (canberra-gtk-play, paplay, pw-play): no sounds")
                self._missing_logged = True
            return False
        return self._start(command)

    def _start(self, command: Sequence[str]) -> bool:
        try:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            log.warning("cannot play a sound with %s: %s", command[0], exc)
            return False
        self._running.append(process)
        return True
