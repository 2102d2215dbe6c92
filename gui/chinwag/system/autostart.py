"""Start on login: the XDG autostart entry
``$XDG_CONFIG_HOME/autostart/im.chinwag.Chinwag.desktop``.

Desktop sessions that follow the XDG Autostart specification (GNOME, KDE, Xfce, LXQt,
...) start at login every entry in that folder. :func:`set_autostart` writes or removes
ours; :func:`autostart_enabled` reads whether it is there and on. Qt-free: the
preferences dialog calls these, a script may too.

The entry starts Chinwag as the menu does, with no option: Chinwag itself decides from
the "Start in the tray" preference whether it comes up in the tray or with its window
(so the two preferences work together, and changing the latter needs no new entry).
Unlike D-Bus activation (``--background``, never a window: a script asked, not the
user), a start at login is the user's own choice of starting Chinwag. The command is the
``chinwag`` launcher on ``PATH`` (by its full path, since a login session's ``PATH`` may
lack ``~/.local/bin``), else this Python with ``-m chinwag``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from chinwag.system.config import write_atomic

log = logging.getLogger(__name__)

#: The desktop-entry id, the same as the installed application's (the D-Bus name too).
ENTRY_ID = "im.chinwag.Chinwag"
# Characters that make an Exec argument need quoting (Desktop Entry spec, "The Exec key").
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


def config_home() -> Path:
    """``$XDG_CONFIG_HOME`` when set to an absolute path, else ``~/.config``."""
    value = os.environ.get("XDG_CONFIG_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".config"


def autostart_path() -> Path:
    """Where the autostart entry lives."""
    return config_home() / "autostart" / f"{ENTRY_ID}.desktop"


def default_command() -> list[str]:
    """How to start Chinwag: the ``chinwag`` launcher by its full path, else
    ``python -m chinwag`` with this interpreter."""
    found = shutil.which("chinwag")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "chinwag"]


def exec_quote(argument: str) -> str:
    """One argument of an Exec line, quoted as the Desktop Entry spec asks (and escaped
    for a desktop-file string value)."""
    text = argument.replace("%", "%%")
    if argument and not (_RESERVED & set(argument)):
        return text
    for char in ("\\", '"', "`", "$"):
        text = text.replace(char, "\\" + char)
    # The whole value is a "string" too, whose own escape is the backslash.
    return '"' + text.replace("\\", "\\\\") + '"'


def entry_text(command: Sequence[str]) -> str:
    """The autostart entry that runs ``command`` (tray or window: as the user prefers)."""
    exec_line = " ".join(exec_quote(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Chinwag\n"
        "Comment=Start Chinwag when you log in\n"
        f"Exec={exec_line}\n"
        f"Icon={ENTRY_ID}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def set_autostart(enabled: bool, command: Sequence[str] | None = None) -> None:
    """Turn "start on login" on (write the entry, replacing any older one) or off (remove
    it; nothing to do when it is not there). ``command`` defaults to
    :func:`default_command`. Raises :class:`OSError` when the folder cannot be written."""
    path = autostart_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    write_atomic(path, entry_text(command or default_command()), mode=0o644)


def autostart_enabled() -> bool:
    """Whether the entry is there and not switched off inside (``Hidden=true`` or
    ``X-GNOME-Autostart-enabled=false``, as some session settings leave it)."""
    try:
        text = autostart_path().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    in_entry = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_entry = line == "[Desktop Entry]"
            continue
        key, sep, value = line.partition("=")
        if not in_entry or not sep:
            continue
        key, value = key.strip(), value.strip().lower()
        if (key == "Hidden" and value == "true") or (
            key == "X-GNOME-Autostart-enabled" and value == "false"
        ):
            return False
    return True


def _exec_line() -> str | None:
    """The Exec value of the entry's ``[Desktop Entry]`` group; None without one."""
    try:
        text = autostart_path().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    in_entry = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_entry = line == "[Desktop Entry]"
        elif in_entry and line.partition("=")[0].strip() == "Exec":
            return line.partition("=")[2].strip()
    return None


def entry_outdated() -> bool:
    """Whether the entry there was written by an older Chinwag: one whose command has
    ``--background`` (never a window, whatever "Start in the tray" says)."""
    exec_line = _exec_line()
    if exec_line is None:
        return False
    import shlex

    try:
        words = shlex.split(exec_line)
    except ValueError:
        words = exec_line.split()
    return "--background" in words


class LoginEntry:
    """ "Start on login" as the Preferences dialog sees it: whether the entry is there
    (read from the disk each time), switching it on or off, and why that failed the last
    time (:attr:`problem`, in words; None when it worked)."""

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self._command = command
        self.problem: str | None = None

    def enabled(self) -> bool:
        return autostart_enabled()

    def set(self, enabled: bool) -> bool:
        """Write or remove the entry; False (and :attr:`problem` says why) when that
        cannot be done."""
        try:
            set_autostart(enabled, self._command)
        except OSError as exc:
            what = "written" if enabled else "removed"
            self.problem = (
                f"The login entry {autostart_path()} cannot be {what}: {exc.strerror or exc}."
            )
            log.warning("%s", self.problem)
            return False
        self.problem = None
        return True

    def update_outdated(self) -> bool:
        """Rewrite an entry written by an older Chinwag (see :func:`entry_outdated`);
        True when one was rewritten."""
        if not entry_outdated():
            return False
        log.info("rewriting the login entry %s written by an older Chinwag", autostart_path())
        return self.set(True)
