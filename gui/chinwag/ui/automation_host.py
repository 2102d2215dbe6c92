"""The windows as the automation API sees them (``api.ports.WindowHost``): the
registry of conversation windows, the main window and a way to quit. Built by the
composition root; the automation package never imports widgets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chinwag.core.models import ConversationKind
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.main_window import MainWindow


class AutomationHost:
    def __init__(
        self, windows: ConversationWindows, main: MainWindow, quit: Callable[[], None]
    ) -> None:
        self.main = main
        self._windows = windows
        self._quit = quit

    def open(
        self,
        account: str,
        peer: str,
        *,
        kind: ConversationKind | None = None,
        activate: bool = True,
    ) -> Any:
        return self._windows.open(account, peer, kind=kind, activate=activate)

    def find(self, account: str, peer: str, kind: ConversationKind | None = None) -> Any:
        return self._windows.find(account, peer, kind)

    def replace(
        self,
        old: Any,
        account: str,
        peer: str,
        kind: ConversationKind,
        *,
        activate: bool = True,
    ) -> Any:
        return self._windows.replace(old, account, peer, kind, activate=activate)

    def on_created(self, callback: Callable[[Any], None]) -> None:
        self._windows.created.connect(callback)

    def on_destroyed(self, callback: Callable[[Any], None]) -> None:
        self._windows.destroyed_.connect(callback)

    def on_replaced(self, callback: Callable[[Any, Any], None]) -> None:
        self._windows.replaced.connect(callback)

    def quit(self) -> None:
        self._quit()
