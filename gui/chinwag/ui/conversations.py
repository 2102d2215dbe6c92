"""The registry of open conversation windows: one per (account, contact), never two.

A double-click in the contact list, a notification click and the automation API's
``InstantMessage`` all come through :meth:`ConversationWindows.open`, so they get the
very same window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from chinwag.core import jid as jids
from chinwag.core.models import ConversationKey, ConversationKind


class ConversationWindows(QObject):
    """Creates, finds and forgets conversation windows."""

    #: A window was created (the window).
    created = Signal(object)
    #: A window was closed by anyone, once (the window).
    destroyed_ = Signal(object)

    def __init__(self, factory: Callable[[str, str], object]) -> None:
        super().__init__()
        self._factory = factory
        self._open: dict[ConversationKey, object] = {}

    def find(self, account: str, peer: str) -> object | None:
        return self._open.get(ConversationKey(account, jids.bare(peer), ConversationKind.CHAT))

    def open(self, account: str, peer: str, *, activate: bool = True) -> object:
        """The window with ``peer``: raised if open, else created and shown."""
        key = ConversationKey(account, jids.bare(peer), ConversationKind.CHAT)
        window = self._open.get(key)
        if window is None:
            window = self._factory(account, key.peer)
            self._open[key] = window
            window.closed.connect(lambda w=window, k=key: self._forget(k, w))  # type: ignore[attr-defined]
            self.created.emit(window)
        window.present(activate=activate)  # type: ignore[attr-defined]
        return window

    def _forget(self, key: ConversationKey, window: object) -> None:
        if self._open.get(key) is window:
            del self._open[key]
            self.destroyed_.emit(window)

    def all(self) -> list[object]:
        return list(self._open.values())

    def close_all(self) -> None:
        for window in list(self._open.values()):
            window.close()  # type: ignore[attr-defined]
