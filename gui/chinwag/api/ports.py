"""What the API needs of the windows a person uses, as Protocols.

The API drives the very windows of the desktop client (``InstantMessage`` returns the
window a double-click opens), but it does not import the widgets: the composition root
hands it objects that have these members (``ui.conversation_window``, ``ui.main_window``
and ``ui.conversations`` have them). The API never sends through a window: a window shows
what the core publishes, whoever sent it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from chinwag.core.models import ConversationKind, Message

#: left, top, width, height
Frame = tuple[int, int, int, int]


class WindowView(Protocol):
    """A top-level window as the automation API sees it."""

    def present(self, activate: bool = True) -> None: ...

    def frame(self) -> Frame: ...

    def set_frame(self, left: int, top: int, width: int, height: int) -> None: ...

    def native_id(self) -> int: ...


class ConversationView(WindowView, Protocol):
    """A conversation window."""

    @property
    def account(self) -> str: ...

    @property
    def peer(self) -> str: ...

    @property
    def kind(self) -> ConversationKind:
        """One-to-one or a room's (group conversation)."""
        ...

    def participants(self) -> list[str]:
        """A room window's: the real addresses of the others in the room."""
        ...

    def close(self) -> bool: ...

    def transcript(self) -> list[tuple[Message, str]]:
        """The messages the window holds, oldest first, each with its author's name."""
        ...


class MainView(WindowView, Protocol):
    """The contact list window."""

    def is_shown(self) -> bool: ...

    def hide_to_tray(self) -> None: ...


class WindowHost(Protocol):
    """The registry of conversation windows (``ui.conversations.ConversationWindows``)
    and the main window, plus a way to quit."""

    @property
    def main(self) -> MainView: ...  # read-only: a host's own main window type will do

    def open(
        self,
        account: str,
        peer: str,
        *,
        kind: ConversationKind | None = None,
        activate: bool = True,
    ) -> ConversationView: ...

    def find(
        self, account: str, peer: str, kind: ConversationKind | None = None
    ) -> ConversationView | None: ...

    def replace(
        self,
        old: ConversationView,
        account: str,
        peer: str,
        kind: ConversationKind,
        *,
        activate: bool = True,
    ) -> ConversationView:
        """``old`` goes on as the window with ``peer`` (opened, and returned): the
        handle of ``old`` stands for it now; ``old`` closes without being destroyed for
        scripts."""
        ...

    def on_replaced(
        self, callback: Callable[[ConversationView, ConversationView], None]
    ) -> None: ...

    def on_created(self, callback: Callable[[ConversationView], None]) -> None: ...

    def on_destroyed(self, callback: Callable[[ConversationView], None]) -> None: ...

    def quit(self) -> None: ...
