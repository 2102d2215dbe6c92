"""``Window1`` and ``ConversationWindow1`` (automation-api.md section 5), on views.

A conversation window is passed as its view, or None once it is closed: a closed window
answers S_FALSE and keeps its last geometry and transcript, which the front remembers
(on D-Bus, with the handle whose lifetime it manages). Text a script sends "in" a window
goes to the core like any message; the window shows it because the core published it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from chinwag.api.codes import S_FALSE, S_OK, Code
from chinwag.api.errors import ApiError, invalid, not_logged_on
from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError
from chinwag.core.group_start import invite, start_group
from chinwag.core.models import ConversationKind

if TYPE_CHECKING:
    from chinwag.api.ports import ConversationView, Frame
    from chinwag.api.service import Api, ContactArg, ContactKey
    from chinwag.core.models import Message


log = logging.getLogger(__name__)

#: How long a script's call waits for a room to answer (under D-Bus's own 25 s).
ROOM_ANSWER_TIMEOUT = 20.0


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
            await self._api.core.messaging.send(view.account, view.peer, text, kind=view.kind)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return S_OK

    # -- rooms ---------------------------------------------------------------------------

    async def kind_of(self, account: str, address: str) -> ConversationKind:
        """Whether a script naming ``address`` means a room: a contact of the roster is
        a person; a room we know or have bookmarked is a room; else the address is
        asked what it is (disco#info), once a session."""
        core = self._api.core
        if core.roster.contact(account, address) is not None:
            return ConversationKind.CHAT
        if core.bookmarks.get(account, address) is not None:
            return ConversationKind.GROUPCHAT
        try:
            async with asyncio.timeout(ROOM_ANSWER_TIMEOUT):
                room = await core.rooms.is_room(account, address)
        except TimeoutError:
            room = False
        return ConversationKind.GROUPCHAT if room else ConversationKind.CHAT

    async def enter_room(self, account: str, room: str) -> None:
        """Be in ``room`` (with the bookmark's nick and password, else the account's
        nickname): at once if we are in, else once the room lets us in. A refusal is
        a named error; no answer within :data:`ROOM_ANSWER_TIMEOUT` is NetworkError."""
        core = self._api.core
        if core.rooms.is_joined(account, room):
            return
        mark = core.bookmarks.get(account, room)
        nick = (mark.nick if mark is not None else "") or core.rooms.default_nick(account)
        password = mark.password if mark is not None else ""
        try:
            async with asyncio.timeout(ROOM_ANSWER_TIMEOUT):
                await core.rooms.join(account, room, nick, password)
        except TimeoutError:
            raise ApiError(Code.NETWORK_ERROR, f"{room} did not answer") from None
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    async def add_contact(
        self, window: ContactKey, view: ConversationView | None, contact: ContactArg
    ) -> int:
        """Invite a further participant. In a room's window: an invitation to the room.
        In a one-to-one window: a new group conversation (a members-only room on the
        account's group chat service) with the contact of the window and the one added,
        both invited; the window's handle becomes the room's window. S_FALSE when the
        window is closed, or the contact is already in the conversation."""
        api = self._api
        account = window[0]
        _, jid = api.contact_key(contact, account)  # InvalidArgument first
        if view is None:
            return S_FALSE
        if not api.signed_in(account):
            raise not_logged_on(api.not_signed_in(account))
        core = api.core
        reason = f"{self._own_name(account)} invites you to a group conversation"
        if view.kind is ConversationKind.GROUPCHAT:
            if jid in view.participants():
                return S_FALSE
            try:
                await invite(core.rooms, core.invitations, account, view.peer, [jid], reason)
            except ChinwagError as exc:
                raise ApiError.from_core(exc) from exc
            return S_OK
        if jid in (view.peer, jids.bare(account)):
            return S_FALSE
        names = [self._own_name(account), *(self._name(account, p) for p in (view.peer, jid))]
        try:
            async with asyncio.timeout(ROOM_ANSWER_TIMEOUT):
                room = await start_group(
                    core.rooms,
                    core.invitations,
                    account,
                    [view.peer, jid],
                    title=", ".join(names),
                    reason=reason,
                )
        except TimeoutError:
            raise ApiError(Code.NETWORK_ERROR, "the group chat service did not answer") from None
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        frame = view.frame()
        room_view = api.host.replace(
            view, account, room, ConversationKind.GROUPCHAT, activate=False
        )
        if frame[2] > 0 and frame[3] > 0:
            room_view.set_frame(*frame)
        return S_OK

    def _own_name(self, account: str) -> str:
        config = self._api.core.accounts.find(account)
        return (config.nickname if config is not None else "") or account

    def _name(self, account: str, jid: str) -> str:
        return self._api.core.roster.display_name(account, jid)

    @staticmethod
    def contacts(
        window: ContactKey, kind: ConversationKind, view: ConversationView | None
    ) -> list[ContactKey]:
        """The other participants: the contact of a one-to-one window; the others in
        the room (by real address) of a room's window, none once it is closed."""
        if kind is not ConversationKind.GROUPCHAT:
            return [window]
        if view is None:
            return []
        return [(window[0], jid) for jid in view.participants()]

    @staticmethod
    def history(view: ConversationView | None, last: list[tuple[Message, str]]) -> str:
        """The transcript: the open window's, or ``last`` (what it held when it closed)."""
        return transcript_text(view.transcript() if view is not None else last)
