"""Plain-Python stand-ins for the ports of the core (``chinwag.core.ports``) and of the
automation API (``chinwag.api.ports``): enough to run the real core and the real
D-Bus API in the test process, with no network, no Qt and no app process. mypy checks each
against its Protocol (``tests/fakes_conform.py``), so they cannot drift from the ports.

:class:`ApiRig` puts them together: a core signed in to ``me@localhost`` over a
:class:`FakeConnection`, and the automation server on a private bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from chinwag.api.ports import ConversationView, Frame, MainView
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from chinwag.automation.server import AutomationServer
from chinwag.core.errors import RequestRefused
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    ConversationKind,
    DiscoInfo,
    DiscoItem,
    DiscoItemsPage,
    Message,
    MessageType,
    Show,
)
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore


class FakeConnection:
    """An XMPP connection that signs in at once and records what is sent."""

    def __init__(self, listener: ConnectionListener) -> None:
        self.listener = listener
        self.sent: list[Message] = []
        #: The account's bookmarks as the server would keep them, by room.
        self.bookmarks: dict[str, Bookmark] = {}
        #: ("join" | "leave" | "subject", room, nick or subject, password or status)
        self.room_requests: list[tuple[str, str, str, str]] = []
        #: ("invite" | "invite mediated" | "decline", room, contact or inviter, reason,
        #: password)
        self.invitation_requests: list[tuple[str, str, str, str, str]] = []
        #: What service discovery answers: disco#info by address, disco#items by address.
        self.disco: dict[str, DiscoInfo] = {}
        self.items: dict[str, list[DiscoItem]] = {}
        self.items_asked: list[str] = []
        #: XEP-0410: the answer of each room to a self-ping ("" : success), and the pings.
        self.ping_answers: dict[str, str] = {}
        self.pings: list[str] = []
        #: Each room's archive, oldest first (each message's stanza id is its archive
        #: id), the queries read backwards from it (room, before id, limit), and what is
        #: awaited before each is answered (a test holds or breaks a catch-up there).
        self.room_archives: dict[str, list[Message]] = {}
        self.archive_queries: list[tuple[str, str, int]] = []
        self.archive_hook: Callable[[str, str], Awaitable[None]] | None = None
        #: PEP user data as the servers would keep it: (owner, node) -> JSON text (or a
        #: XEP-0172 nick); what the account publishes is kept under :attr:`account`,
        #: and every user data request fails with ``user_data_refusal`` when set.
        self.user_data: dict[tuple[str, str], str] = {}
        self.user_data_refusal: RequestRefused | None = None
        self.account = getattr(getattr(listener, "config", None), "jid", "me@localhost")
        #: Displayed markers (to, id) and chat states (to, state) sent.
        self.displayed: list[tuple[str, str]] = []
        self.chat_states: list[tuple[str, str]] = []
        #: The privacy switches as last set (chat states, read markers).
        self.privacy: tuple[bool, bool] = (True, True)
        #: Each room's affiliation lists as the room would answer them: (room,
        #: affiliation) -> bare addresses.
        self.affiliation_lists: dict[tuple[str, str], list[str]] = {}

    @property
    def acks_enabled(self) -> bool:
        return True

    async def connect(self) -> None:
        await asyncio.sleep(0)
        self.listener.on_session_started(False)

    async def disconnect(self) -> None:
        self.listener.on_disconnected(None)

    def abort(self) -> None:
        pass

    def send_message(self, message: Message) -> None:
        self.sent.append(message)

    def unacked_uids(self) -> set[str]:
        return {m.uid for m in self.sent}

    def send_receipt(self, to: str, uid: str) -> None:
        pass

    def send_displayed(
        self, to: str, uid: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        self.displayed.append((to, uid))

    def send_chat_state(
        self, to: str, state: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        self.chat_states.append((to, state))

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        self.privacy = (chat_states, read_markers)

    def join_room(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        self.room_requests.append(("join", room, nick, password))

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        self.room_requests.append(("leave", room, nick, status))

    def set_room_subject(self, room: str, subject: str) -> None:
        self.room_requests.append(("subject", room, subject, ""))

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        self.room_requests.append(("configure", room, repr(dict(fields)), ""))

    def change_nick(self, room: str, nick: str) -> None:
        self.room_requests.append(("nick", room, nick, ""))

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        self.room_requests.append(("role", room, nick, role))

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        self.room_requests.append(("affiliation", room, jid, affiliation))

    async def destroy_room(self, room: str, reason: str = "") -> None:
        self.room_requests.append(("destroy", room, reason, ""))

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        self.room_requests.append(("affiliations", room, affiliation, ""))
        return list(self.affiliation_lists.get((room, affiliation), []))

    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None:
        self.room_requests.append(("moderate", room, stanza_id, reason))

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        kind = "invite mediated" if mediated else "invite"
        self.invitation_requests.append((kind, room, contact, reason, password))

    def decline(self, room: str, inviter: str, reason: str = "") -> None:
        self.invitation_requests.append(("decline", room, inviter, reason, ""))

    def send_presence(self, show: Show, status: str, priority: int) -> None:
        pass

    def send_subscription(self, to: str, kind: str) -> None:
        pass

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        pass

    async def roster_remove(self, jid: str) -> None:
        pass

    async def block(self, jids: Sequence[str]) -> None:
        pass

    async def unblock(self, jids: Sequence[str]) -> None:
        pass

    async def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        return
        yield  # an async generator with nothing in it

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        """As a server does (XEP-0059 paging backwards): the ``limit`` newest before
        ``before_id`` ("" : the last page), no older than ``start``."""
        self.archive_queries.append((archive, before_id, limit))
        if self.archive_hook is not None:
            await self.archive_hook(archive, before_id)
        held = [
            m for m in self.room_archives.get(archive, []) if start is None or m.timestamp >= start
        ]
        end = len(held)
        if before_id:
            ids = [m.stanza_id for m in held]
            if before_id not in ids:
                raise RequestRefused(f"no {before_id}", "item-not-found")
            end = ids.index(before_id)
        page = held[max(0, end - limit) : end]
        return ArchiveSlice(
            tuple(page), tuple(m.stanza_id for m in page), complete=end - limit <= 0
        )

    async def server_time(self) -> float | None:
        return None

    async def fetch_bookmarks(self) -> list[Bookmark]:
        return list(self.bookmarks.values())

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        self.bookmarks[bookmark.room] = bookmark

    async def retract_bookmark(self, room: str) -> None:
        self.bookmarks.pop(room, None)

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        if self.user_data_refusal is not None:
            raise self.user_data_refusal
        return self.user_data.get((jid, node))

    async def publish_user_data(self, node: str, data: str) -> None:
        if self.user_data_refusal is not None:
            raise self.user_data_refusal
        self.user_data[(self.account, node)] = data
        self.listener.on_user_data(self.account, node, data)  # the server's push

    async def delete_user_data(self, node: str) -> None:
        if self.user_data_refusal is not None:
            raise self.user_data_refusal
        if self.user_data.pop((self.account, node), None) is not None:
            self.listener.on_user_data(self.account, node, None)

    async def disco_info(self, jid: str) -> DiscoInfo:
        if jid not in self.disco:
            raise RequestRefused(f"no {jid}", "item-not-found")
        return self.disco[jid]

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        """Every item at once (a service that does not page), as Prosody's rooms."""
        self.items_asked.append(jid)
        return DiscoItemsPage(tuple(self.items.get(jid, ())))

    async def ping_occupant(self, room: str, nick: str) -> str:
        self.pings.append(f"{room}/{nick}")
        return self.ping_answers.get(room, "")


class FakeSecrets:
    """A password store in memory."""

    def __init__(self, passwords: dict[str, str] | None = None) -> None:
        self.passwords = dict(passwords or {})

    async def get_password(self, account: str) -> str | None:
        return self.passwords.get(account)

    async def set_password(self, account: str, password: str) -> None:
        self.passwords[account] = password

    async def delete_password(self, account: str) -> None:
        self.passwords.pop(account, None)


class FakeConfig:
    """Account settings in memory."""

    def __init__(self, accounts: Sequence[AccountConfig] = ()) -> None:
        self.accounts = list(accounts)

    def load_accounts(self) -> list[AccountConfig]:
        return list(self.accounts)

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None:
        self.accounts = list(accounts)


class FakeWindow:
    """A top-level window: a frame, shown or not."""

    def __init__(self) -> None:
        self.shown = False
        self._frame: Frame = (0, 0, 400, 300)

    def present(self, activate: bool = True) -> None:
        self.shown = True

    def frame(self) -> Frame:
        return self._frame

    def set_frame(self, left: int, top: int, width: int, height: int) -> None:
        self._frame = (left, top, width, height)

    def native_id(self) -> int:
        return id(self) if self.shown else 0


class FakeMainWindow(FakeWindow):
    def is_shown(self) -> bool:
        return self.shown

    def hide_to_tray(self) -> None:
        self.shown = False


class FakeConversation(FakeWindow):
    """A conversation window; it sends through the core as the real one does."""

    def __init__(
        self,
        host: FakeWindowHost,
        account: str,
        peer: str,
        kind: ConversationKind = ConversationKind.CHAT,
    ) -> None:
        super().__init__()
        self._host = host
        self._account = account
        self._peer = peer
        self._kind = kind

    @property
    def account(self) -> str:
        return self._account

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def kind(self) -> ConversationKind:
        return self._kind

    def participants(self) -> list[str]:
        room = self._host.core.rooms.room(self._account, self._peer)
        if room is None or self._kind is not ConversationKind.GROUPCHAT:
            return []
        return sorted({o.jid for o in room.occupants.values() if o.jid and o.nick != room.nick})

    def close(self) -> bool:
        return self._host.close(self)

    async def send_text(
        self, text: str, *, mtype: MessageType = MessageType.NORMAL, flags: int = 0
    ) -> Message:
        return await self._host.core.messaging.send(
            self._account, self._peer, text, mtype=mtype, flags=flags, kind=self._kind
        )

    def transcript(self) -> list[tuple[Message, str]]:
        return []


class FakeWindowHost:
    """The registry of conversation windows and the main window (``WindowHost``)."""

    def __init__(self, core: ChinwagCore) -> None:
        self.core = core
        self._main = FakeMainWindow()
        self.windows: dict[tuple[str, str, ConversationKind], FakeConversation] = {}
        self.quits = 0
        self._created: list[Callable[[FakeConversation], None]] = []
        self._destroyed: list[Callable[[FakeConversation], None]] = []
        self._replaced: list[Callable[[FakeConversation, FakeConversation], None]] = []

    @property
    def main(self) -> MainView:
        return self._main

    def open(
        self,
        account: str,
        peer: str,
        *,
        kind: ConversationKind | None = None,
        activate: bool = True,
    ) -> FakeConversation:
        return self._open(account, peer, kind, activate)

    def _open(
        self,
        account: str,
        peer: str,
        kind: ConversationKind | None,
        activate: bool,
        instead_of: FakeConversation | None = None,
    ) -> FakeConversation:
        if kind is None:
            known = self.core.rooms.room(account, peer) is not None
            kind = ConversationKind.GROUPCHAT if known else ConversationKind.CHAT
        window = self.windows.get((account, peer, kind))
        if window is None:
            window = FakeConversation(self, account, peer, kind)
            self.windows[(account, peer, kind)] = window
            if instead_of is None:
                for callback in self._created:
                    callback(window)
        if instead_of is not None:
            for replaced in self._replaced:
                replaced(instead_of, window)
        window.present(activate)
        return window

    def replace(
        self,
        old: ConversationView,
        account: str,
        peer: str,
        kind: ConversationKind,
        *,
        activate: bool = True,
    ) -> FakeConversation:
        assert isinstance(old, FakeConversation)
        window = self._open(account, peer, kind, activate, instead_of=old)
        self.close(old, quietly=True)
        return window

    def find(
        self, account: str, peer: str, kind: ConversationKind | None = None
    ) -> FakeConversation | None:
        if kind is not None:
            return self.windows.get((account, peer, kind))
        return self.windows.get((account, peer, ConversationKind.GROUPCHAT)) or self.windows.get(
            (account, peer, ConversationKind.CHAT)
        )

    def close(self, window: FakeConversation, *, quietly: bool = False) -> bool:
        key = (window.account, window.peer, window.kind)
        if self.windows.get(key) is not window:
            return False
        del self.windows[key]
        window.shown = False
        if not quietly:
            for callback in self._destroyed:
                callback(window)
        return True

    def on_created(self, callback: Callable[[FakeConversation], None]) -> None:
        self._created.append(callback)

    def on_destroyed(self, callback: Callable[[FakeConversation], None]) -> None:
        self._destroyed.append(callback)

    def on_replaced(self, callback: Callable[[FakeConversation, FakeConversation], None]) -> None:
        self._replaced.append(callback)

    def quit(self) -> None:
        self.quits += 1


ME = "me@localhost"


class ApiRig:
    """The real core (storage in a file, a :class:`FakeConnection`) signed in as
    :data:`ME`, and the real automation server on the bus at ``bus_address``. Use
    ``await ApiRig.start(...)`` and ``await rig.close()``."""

    def __init__(self, core: ChinwagCore, host: FakeWindowHost, server: AutomationServer) -> None:
        self.core = core
        self.host = host
        self.server = server

    @classmethod
    async def start(cls, directory: Path, bus_address: str) -> ApiRig:
        store = SqliteMessageStore.open(directory / "history.sqlite3")

        def connect(
            config: AccountConfig,
            password: str,
            listener: ConnectionListener,
            *,
            register: bool = False,
        ) -> FakeConnection:
            return FakeConnection(listener)

        core = ChinwagCore(
            store,
            FakeSecrets({ME: "secret"}),
            FakeConfig([AccountConfig(jid=ME, nickname="Me")]),
            connect,
            timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
        )
        await core.sign_in(ME)
        host = FakeWindowHost(core)
        bus: ChinwagMessageBus = await connect_session_bus(bus_address)
        server = await AutomationServer.start(core, host, bus)
        if server is None:
            await close_message_bus(bus)
            await core.shutdown()
            raise AssertionError("another server owns the API's name on this bus")
        return cls(core, host, server)

    async def close(self) -> None:
        await self.server.close()
        for window in list(self.host.windows.values()):
            window.close()
        await self.core.shutdown()
        await self.server.disconnect()
