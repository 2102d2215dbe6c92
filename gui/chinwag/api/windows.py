"""``Window1`` and ``ConversationWindow1`` (automation-api.md section 5), on views.

A conversation window is passed as its view, or None once it is closed: a closed window
answers S_FALSE and keeps its last geometry and transcript, which the front remembers
(on D-Bus, with the handle whose lifetime it manages). Text a script sends "in" a window
goes to the core like any message; the window shows it because the core published it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chinwag.api.codes import S_FALSE, S_OK, Code
from chinwag.api.errors import ApiError, invalid
from chinwag.core.errors import ChinwagError

if TYPE_CHECKING:
    from chinwag.api.ports import ConversationView, Frame
    from chinwag.api.service import Api, ContactArg, ContactKey
    from chinwag.core.models import Message


def check_frame(width: int, height: int) -> None:
    """SetGeometry refuses a size that is no size; any other frame is done as far as the
    screens allow (the window clamps it to their available geometry), and is S_OK."""
    if width <= 0 or height <= 0:
        raise invalid(f"a window cannot be {width}x{height}: width and height must be positive")


def transcript_line(message: Message, name: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.timestamp))
    text = " ".join(message.body.splitlines())
    return f"[{stamp}] {name}: {text}\n"


def transcript_text(rows: list[tuple[Message, str]]) -> str:
    """``History``: one line a message, ``[YYYY-MM-DD HH:MM:SS] Name: text``."""
    return "".join(transcript_line(m, name) for m, name in rows)


class WindowApi:
    """The main window and the conversation windows."""

    def __init__(self, api: Api) -> None:
        self._api = api

    # -- the main window: Close hides it to the tray ----------------------------------

    def main_show(self) -> int:
        self._api.host.main.present(True)
        return S_OK

    def main_close(self) -> int:
        main = self._api.host.main
        if not main.is_shown():
            return S_FALSE
        main.hide_to_tray()
        return S_OK

    def main_set_geometry(self, left: int, top: int, width: int, height: int) -> int:
        check_frame(width, height)
        self._api.host.main.set_frame(left, top, width, height)
        return S_OK

    def main_is_closed(self) -> bool:
        return not self._api.host.main.is_shown()

    def main_hwnd(self) -> int:
        main = self._api.host.main
        return int(main.native_id()) if main.is_shown() else 0

    def main_frame(self) -> Frame:
        return self._api.host.main.frame()

    # -- conversation windows (None: closed) -------------------------------------------

    @staticmethod
    def show(view: ConversationView | None) -> int:
        if view is None:
            return S_FALSE
        view.present(True)
        return S_OK

    @staticmethod
    def close(view: ConversationView | None) -> int:
        if view is None:
            return S_FALSE
        view.close()
        return S_OK

    @staticmethod
    def set_geometry(
        view: ConversationView | None, left: int, top: int, width: int, height: int
    ) -> int:
        if view is None:
            return S_FALSE
        check_frame(width, height)
        view.set_frame(left, top, width, height)
        return S_OK

    @staticmethod
    def hwnd(view: ConversationView | None) -> int:
        return int(view.native_id()) if view is not None else 0

    async def send_text(self, view: ConversationView | None, text: str) -> int:
        """As if typed and sent in the window: the core stores and sends it, and the
        window shows it from the core's event. S_FALSE once closed."""
        if view is None:
            return S_FALSE
        try:
            await self._api.core.messaging.send(view.account, view.peer, text)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return S_OK

    def add_contact(
        self, window: ContactKey, view: ConversationView | None, contact: ContactArg
    ) -> int:
        """Invite a further participant: needs group conversations (not yet)."""
        self._api.contact_key(contact, window[0])  # InvalidArgument first
        if view is None:
            return S_FALSE
        raise ApiError(
            Code.NOT_IMPLEMENTED, "group conversations are not available in this version"
        )

    @staticmethod
    def contacts(window: ContactKey) -> list[ContactKey]:
        """The other participants: the contact of a one-to-one window."""
        return [window]

    @staticmethod
    def history(view: ConversationView | None, last: list[tuple[Message, str]]) -> str:
        """The transcript: the open window's, or ``last`` (what it held when it closed)."""
        return transcript_text(view.transcript() if view is not None else last)
