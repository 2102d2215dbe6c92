"""The user's preferences (the Preferences dialog), in ``$XDG_CONFIG_HOME/chinwag/
preferences.json``, beside the other settings. Qt-free.

Each preference is a typed :class:`Pref` with its default and the values it may hold;
:meth:`Preferences.get` returns a value of the preference's type, never anything else (a
hand-edited or damaged file falls back to the defaults, value by value). Writes are
atomic. A file that cannot be read at all is moved aside as
``preferences.json.broken-<time>`` (left alone in a folder that cannot be changed) and
:attr:`Preferences.problem` says so; it is never fatal. Whoever applies a preference
subscribes with :meth:`Preferences.subscribe` and is told of each change at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from chinwag.system.config import Unreadable, read_json, save_json, set_aside

log = logging.getLogger(__name__)

T = TypeVar("T", bool, int, str)

FILE_NAME = "preferences.json"


class Theme(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class Density(StrEnum):
    COMFORTABLE = "comfortable"
    COMPACT = "compact"


class SendKey(StrEnum):
    """What sends a message: Enter (Shift+Enter: a new line), or Ctrl+Enter (Enter: a
    new line)."""

    ENTER = "enter"
    CTRL_ENTER = "ctrl+enter"


@dataclass(frozen=True, slots=True)
class Pref(Generic[T]):
    """One preference: its key in the file, its default and, for a number or a text,
    what it may be."""

    key: str
    default: T
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None

    def valid(self, value: Any) -> bool:
        if type(value) is not type(self.default):  # (True is not an int here)
            return False
        if self.choices and value not in self.choices:
            return False
        if isinstance(value, int) and not isinstance(value, bool):
            if self.low is not None and value < self.low and value != self.default:
                return False
            if self.high is not None and value > self.high:
                return False
        return True


def _choice(key: str, default: StrEnum) -> Pref[str]:
    return Pref(key, str(default), tuple(str(m) for m in type(default)))


NOTIFY_MESSAGES: Pref[bool] = Pref("notify_messages", True)
NOTIFY_MENTIONS: Pref[bool] = Pref("notify_mentions", True)
NOTIFY_CONTACTS_ONLINE: Pref[bool] = Pref("notify_contacts_online", False)
SOUNDS: Pref[bool] = Pref("sounds", True)
START_ON_LOGIN: Pref[bool] = Pref("start_on_login", False)
START_IN_TRAY: Pref[bool] = Pref("start_in_tray", False)
CLOSE_TO_TRAY: Pref[bool] = Pref("close_to_tray", True)
SEND_TYPING: Pref[bool] = Pref("send_typing_notifications", True)
SEND_READ_MARKERS: Pref[bool] = Pref("send_read_markers", True)
#: Points; 0 follows the system.
FONT_SIZE: Pref[int] = Pref("font_size", 0, low=6, high=36)
DENSITY: Pref[str] = _choice("message_density", Density.COMFORTABLE)
THEME: Pref[str] = _choice("theme", Theme.SYSTEM)
SEND_KEY: Pref[str] = _choice("send_key", SendKey.ENTER)
#: The compose box's spelling dictionary: "auto" (the system's language), "off", or an
#: installed dictionary's tag ("en_US"; which ones are installed is known only at run time).
SPELL_LANGUAGE: Pref[str] = Pref("spell_language", "auto")

ALL: tuple[Pref[Any], ...] = (
    NOTIFY_MESSAGES,
    NOTIFY_MENTIONS,
    NOTIFY_CONTACTS_ONLINE,
    SOUNDS,
    START_ON_LOGIN,
    START_IN_TRAY,
    CLOSE_TO_TRAY,
    SEND_TYPING,
    SEND_READ_MARKERS,
    FONT_SIZE,
    DENSITY,
    THEME,
    SEND_KEY,
    SPELL_LANGUAGE,
)
_BY_KEY = {p.key: p for p in ALL}

Listener = Callable[[str], None]


class Preferences:
    """The preferences, read from ``path`` (None: kept in memory only, as in tests)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.problem: str | None = None
        self._values: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = read_json(path)
        except Unreadable as exc:
            self._set_aside(str(exc))
            return
        if data is None:
            return
        if not isinstance(data, dict):
            self._set_aside(f"holds a {type(data).__name__}, not the preferences")
            return
        self._values = data
        bad = sorted(k for k, p in _BY_KEY.items() if k in data and not p.valid(data[k]))
        if bad:
            log.warning("preferences %s: bad values of %s, using their defaults", path, bad)

    def _set_aside(self, what: str) -> None:
        assert self.path is not None
        where = set_aside(self.path)
        self.problem = f"The preferences {self.path} {what}: {where}; the defaults are used."
        log.warning("%s", self.problem)

    def get(self, pref: Pref[T]) -> T:
        """The stored value, or the default when there is none or it is not valid."""
        value = self._values.get(pref.key, pref.default)
        return value if pref.valid(value) else pref.default

    def set(self, pref: Pref[T], value: T) -> None:
        """Store ``value`` (a value that is not valid raises ValueError) and tell the
        listeners when it changed. A file that cannot be written is logged: the value
        still applies for this run."""
        if not pref.valid(value):
            raise ValueError(f"{value!r} is not a valid value of {pref.key}")
        if self.get(pref) == value and pref.key in self._values:
            return
        changed = self.get(pref) != value
        self._values[pref.key] = value
        self._save()
        if changed:
            for listener in list(self._listeners):
                try:
                    listener(pref.key)
                except Exception:
                    log.exception("applying the preference %s failed", pref.key)

    def _save(self) -> None:
        if self.path is not None:
            save_json(self.path, self._values, "the preferences")

    def ctrl_enter_sends(self) -> bool:
        """True when Ctrl+Enter sends a message (and Enter starts a new line)."""
        return self.get(SEND_KEY) == SendKey.CTRL_ENTER

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(key)`` after each change; returns what unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe


def pref(key: str) -> Pref[Any]:
    """The preference stored under ``key`` (KeyError when there is none)."""
    return _BY_KEY[key]
