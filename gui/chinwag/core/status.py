"""Own status as a person picks it (Online, Busy, Be right back, ...), and how each maps to
XMPP presence. Two statuses can share one ``<show/>`` (Be right back and Away are both
``away``), so the status picked is kept as well as the presence sent."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from chinwag.core.events import AccountRemoved, OwnPresenceChanged
from chinwag.core.models import Show

if TYPE_CHECKING:
    from chinwag.core.service import ChinwagCore

log = logging.getLogger(__name__)


class Status(enum.IntEnum):
    """Values are the automation API's MISTATUS codes."""

    UNKNOWN = 0x00
    OFFLINE = 0x01
    ONLINE = 0x02
    INVISIBLE = 0x06
    BUSY = 0x0A
    BE_RIGHT_BACK = 0x0E
    IDLE = 0x12
    AWAY = 0x22
    ON_THE_PHONE = 0x32
    OUT_TO_LUNCH = 0x42
    CONNECTING = 0x200

    @property
    def show(self) -> Show:
        return _SHOW[self]

    @property
    def label(self) -> str:
        return _LABEL[self]

    @classmethod
    def from_show(cls, show: Show) -> Status:
        """How a contact's presence reads (incoming ``xa`` reads as Away)."""
        return _FROM_SHOW[show]


_SHOW = {
    Status.UNKNOWN: Show.OFFLINE,
    Status.OFFLINE: Show.OFFLINE,
    Status.ONLINE: Show.ONLINE,
    Status.INVISIBLE: Show.INVISIBLE,
    Status.BUSY: Show.DND,
    Status.BE_RIGHT_BACK: Show.AWAY,
    Status.IDLE: Show.AWAY,
    Status.AWAY: Show.AWAY,
    Status.ON_THE_PHONE: Show.DND,
    Status.OUT_TO_LUNCH: Show.XA,
    Status.CONNECTING: Show.OFFLINE,
}
_LABEL = {
    Status.UNKNOWN: "Unknown",
    Status.OFFLINE: "Offline",
    Status.ONLINE: "Online",
    Status.INVISIBLE: "Appear offline",
    Status.BUSY: "Busy",
    Status.BE_RIGHT_BACK: "Be right back",
    Status.IDLE: "Idle",
    Status.AWAY: "Away",
    Status.ON_THE_PHONE: "On the phone",
    Status.OUT_TO_LUNCH: "Out to lunch",
    Status.CONNECTING: "Connecting",
}
_FROM_SHOW = {
    Show.ONLINE: Status.ONLINE,
    Show.CHAT: Status.ONLINE,
    Show.AWAY: Status.AWAY,
    Show.XA: Status.AWAY,
    Show.DND: Status.BUSY,
    Show.INVISIBLE: Status.OFFLINE,
    Show.OFFLINE: Status.OFFLINE,
}

#: What a person can pick in the status selector, in order.
SELECTABLE = (
    Status.ONLINE,
    Status.BUSY,
    Status.BE_RIGHT_BACK,
    Status.AWAY,
    Status.OUT_TO_LUNCH,
    Status.INVISIBLE,
    Status.OFFLINE,
)


class UserActivity:
    """When the person last did something in Chinwag: a key pressed or a click in one of
    its windows (the UI calls :meth:`touch`). What XEP-0012 calls the idle time of a
    connected client; the start counts as activity. One for the whole application."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        #: Seconds, from any fixed point (monotonic: a change of the system clock is no
        #: activity and no idleness).
        self.clock = clock
        self._last = clock()

    def touch(self) -> None:
        self._last = self.clock()

    def idle_seconds(self) -> int:
        return max(0, int(self.clock() - self._last))


class StatusStore(Protocol):
    """Where each account's own status is kept between runs: per account address, the
    status's name (``away``, ``out_to_lunch``, ...) and the status message."""

    def load_statuses(self) -> dict[str, tuple[str, str]]: ...

    def save_statuses(self, statuses: Mapping[str, tuple[str, str]]) -> None:
        """Never raises: a status that cannot be saved is logged, not an error."""


class StatusMemory:
    """Each account's own status and status message as last picked, kept across runs as
    Pidgin does: saved whenever it changes (the status selector, the tray, a script's
    SetStatus), and set again at start before the accounts sign in, so the first
    presence sent is already the kept one.

    Offline is a sign-out, not a status: it is not kept, and the next start signs in
    with the status picked before it."""

    def __init__(self, core: ChinwagCore, store: StatusStore) -> None:
        self._core = core
        self._store = store
        self._saved: dict[str, tuple[Status, str]] = {}
        for account, (name, message) in store.load_statuses().items():
            status = _KEPT.get(name)
            if status is None:
                log.warning("own status of %s: %r is not a status; not restored", account, name)
                continue
            self._saved[account] = (status, message)
        core.bus.subscribe(OwnPresenceChanged, self._on_own_presence)
        core.bus.subscribe(AccountRemoved, self._on_removed)

    def saved(self, account: str) -> tuple[Status, str] | None:
        return self._saved.get(account)

    def restore(self) -> None:
        """Set every account's kept status (before signing in: sent on sign-in)."""
        for config in self._core.accounts.accounts:
            kept = self._saved.get(config.jid)
            if kept is not None:
                self._core.session(config.jid).set_status(*kept)

    def _on_own_presence(self, event: OwnPresenceChanged) -> None:
        session = self._core.sessions.get(event.account)
        if session is None or session.picked.name.lower() not in _KEPT:
            return
        entry = (session.picked, session.status)
        if self._saved.get(event.account) == entry:
            return
        self._saved[event.account] = entry
        self._save()

    def _on_removed(self, event: AccountRemoved) -> None:
        if self._saved.pop(event.account, None) is not None:
            self._save()

    def _save(self) -> None:
        self._store.save_statuses(
            {
                account: (status.name.lower(), message)
                for account, (status, message) in self._saved.items()
            }
        )


#: The statuses kept across a restart, by their saved name.
_KEPT = {status.name.lower(): status for status in SELECTABLE if status is not Status.OFFLINE}
