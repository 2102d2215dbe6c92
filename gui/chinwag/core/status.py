"""Own status as a person picks it (Online, Busy, Be right back, ...), and how each maps to
XMPP presence. Two statuses can share one ``<show/>`` (Be right back and Away are both
``away``), so the status picked is kept as well as the presence sent."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from chinwag.core.models import Show


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
