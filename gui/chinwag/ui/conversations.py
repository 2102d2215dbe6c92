"""The registry of open conversation windows: one per conversation, never two.

A double-click in the contact list, a notification click and the automation API's
``InstantMessage`` all come through :meth:`ConversationWindows.open`, so they get the
very same window. A conversation is one-to-one (``ConversationKind.CHAT``) or a room's
(``ConversationKind.GROUPCHAT``); the same address can name both only in theory, so
callers that do not know which (a notification, a script naming an address) pass no
kind and get the room's window when the address is a room we know."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from chinwag.core import jid as jids
from chinwag.core.models import ConversationKey, ConversationKind

#: Makes a window for (account, peer).
Factory = Callable[[str, str], object]


class ConversationWindows(QObject):
    """Creates, finds and forgets conversation windows."""

    #: A window was created (the window).
    created = Signal(object)
    #: A window was closed by anyone, once (the window).
    destroyed_ = Signal(object)
    #: A window became another (old, new): a one-to-one conversation went on as a group
    #: conversation. ``destroyed_`` is not emitted for the old one.
    replaced = Signal(object, object)

    def __init__(
        self,
        factory: Factory,
        room_factory: Factory | None = None,
        is_room: Callable[[str, str], bool] = lambda _account, _peer: False,
    ) -> None:
        super().__init__()
        self._factories = {ConversationKind.CHAT: factory}
        if room_factory is not None:
            self._factories[ConversationKind.GROUPCHAT] = room_factory
        self._is_room = is_room
        self._open: dict[ConversationKey, object] = {}
        self._replaced: set[int] = set()
        #: Every window is being closed (the app quits): a room's window does not leave
        #: the room for that.
        self.closing_all = False

    def kind_of(self, account: str, peer: str) -> ConversationKind:
        """What a window with ``peer`` is when nobody says: a room's if it is a room we
        are in, joining or have bookmarked, else one-to-one."""
        rooms = ConversationKind.GROUPCHAT in self._factories
        return (
            ConversationKind.GROUPCHAT
            if rooms and self._is_room(account, jids.bare(peer))
            else ConversationKind.CHAT
        )

    def find(self, account: str, peer: str, kind: ConversationKind | None = None) -> object | None:
        """The open window with ``peer`` (of ``kind``; any kind if None, the room's
        first)."""
        bare = jids.bare(peer)
        kinds = (kind,) if kind is not None else (ConversationKind.GROUPCHAT, ConversationKind.CHAT)
        for each in kinds:
            window = self._open.get(ConversationKey(account, bare, each))
            if window is not None:
                return window
        return None

    def open(
        self,
        account: str,
        peer: str,
        *,
        kind: ConversationKind | None = None,
        activate: bool = True,
    ) -> object:
        """The window with ``peer``: raised if open, else created and shown."""
        return self._open_window(account, peer, kind, activate, instead_of=None)

    def replace(
        self,
        old: object,
        account: str,
        peer: str,
        kind: ConversationKind,
        *,
        activate: bool = True,
    ) -> object:
        """``old`` goes on as the window with ``peer``: whoever held ``old`` holds the
        new one (``replaced`` instead of ``created``), and ``old`` is closed without
        being reported destroyed. Returns the new window."""
        window = self._open_window(account, peer, kind, activate, instead_of=old)
        self._replaced.add(id(old))
        old.close()  # type: ignore[attr-defined]
        return window

    def _open_window(
        self,
        account: str,
        peer: str,
        kind: ConversationKind | None,
        activate: bool,
        instead_of: object | None,
    ) -> object:
        if kind is None:
            kind = self.kind_of(account, peer)
        if kind not in self._factories:
            raise ValueError(f"no windows for {kind} conversations")
        key = ConversationKey(account, jids.bare(peer), kind)
        window = self._open.get(key)
        if window is None:
            window = self._factories[kind](account, key.peer)
            self._open[key] = window
            window.closed.connect(lambda w=window, k=key: self._forget(k, w))  # type: ignore[attr-defined]
            if instead_of is None:
                self.created.emit(window)
            else:
                self.replaced.emit(instead_of, window)
        elif instead_of is not None:
            self.replaced.emit(instead_of, window)
        window.present(activate=activate)  # type: ignore[attr-defined]
        return window

    def _forget(self, key: ConversationKey, window: object) -> None:
        if self._open.get(key) is window:
            del self._open[key]
            if id(window) in self._replaced:
                self._replaced.discard(id(window))
            else:
                self.destroyed_.emit(window)

    def all(self) -> list[object]:
        return list(self._open.values())

    def close_all(self) -> None:
        self.closing_all = True
        try:
            for window in list(self._open.values()):
                window.close()  # type: ignore[attr-defined]
        finally:
            self.closing_all = False
