"""Fixtures for widget tests: a real :class:`ChinwagCore` on a real SQLite store, with a
scripted XMPP connection instead of the network, and the Qt side built on it.

``ui`` (:class:`UiRig`) gives the core, the event bridge, the :class:`UiContext` and the
account's :class:`FakeConnection` (``await ui.sign_in()`` first when a test needs to be
online); ``conversation_window(peer)`` opens a window through the context's registry, the
way the application does, and closes whatever is still open after the test. End-to-end
tests that want the real Prosody can use the root conftest's ``prosody`` fixture.

Qt's offscreen platform warns "This plugin does not support propagateSizeHints()" for
every top-level window with a layout, and likewise for ``raise()`` and for the keyboard
and mouse grabs of a popup menu; those, and only those, are ignored here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QWidget

from chinwag.core.errors import ServerUnreachable
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    Contact,
    ConversationKey,
    ConversationKind,
    Direction,
    DiscoInfo,
    DiscoItemsPage,
    Message,
    MessageState,
    Origin,
    Presence,
    RoomPresence,
    Show,
    Subscription,
)
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.main_window import MainWindow
from chinwag.ui.tasks import wait_idle

ME = "me@example.org"
PEER = "peer@example.net"
_HERE = Path(__file__).resolve().parent
_OFFSCREEN_NOISE = (
    r"^This plugin does not support "
    r"(propagateSizeHints\(\)|raise\(\)|grabbing the (keyboard|mouse))$"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN_NOISE))


class FakeConnection:
    """An :class:`~chinwag.core.ports.XmppConnection` that records what is sent and lets
    a test play the server and the contact through the listener."""

    def __init__(self, listener: ConnectionListener) -> None:
        self.listener = listener
        self.reachable = True
        self.sent: list[Message] = []
        self.acked: set[str] = set()
        self.chat_states: list[tuple[str, str]] = []
        self.displayed: list[tuple[str, str]] = []
        self.blocked: set[str] = set()
        #: Rooms asked to join (room, nick, password) and left (room), in order.
        self.joins: list[tuple[str, str, str]] = []
        self.leaves: list[str] = []
        #: Room roles and affiliations asked for: (room, nick or address, value, reason).
        self.room_changes: list[tuple[str, str, str, str]] = []
        self.invitations: list[tuple[str, str]] = []

    @property
    def acks_enabled(self) -> bool:
        return True

    async def connect(self) -> None:
        await asyncio.sleep(0)
        if not self.reachable:
            raise ServerUnreachable("the test server is down")
        self.listener.on_session_started(False)

    async def disconnect(self) -> None:
        self.listener.on_disconnected(None)

    def abort(self) -> None:
        pass

    def drop(self) -> None:
        """The stream breaks (the session starts reconnecting)."""
        self.listener.on_disconnected(ServerUnreachable("connection reset"))

    def send_message(self, message: Message) -> None:
        self.sent.append(message)

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
        pass

    def join_room(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        self.joins.append((room, nick, password))

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        self.leaves.append(room)

    def set_room_subject(self, room: str, subject: str) -> None:
        pass

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        pass

    def change_nick(self, room: str, nick: str) -> None:
        pass

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        self.room_changes.append((room, nick, role, reason))

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        self.room_changes.append((room, jid, affiliation, reason))

    async def destroy_room(self, room: str, reason: str = "") -> None:
        pass

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        return []

    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None:
        pass

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        self.invitations.append((room, contact))

    def decline(self, room: str, inviter: str, reason: str = "") -> None:
        pass

    def send_presence(self, show: Show, status: str, priority: int) -> None:
        pass

    def send_subscription(self, to: str, kind: str) -> None:
        pass

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        pass

    async def roster_remove(self, jid: str) -> None:
        pass

    async def block(self, jids: Sequence[str]) -> None:
        self.blocked.update(jids)

    async def unblock(self, jids: Sequence[str]) -> None:
        self.blocked.difference_update(jids)

    def unacked_uids(self) -> set[str]:
        return {m.uid for m in self.sent} - self.acked

    async def server_time(self) -> float | None:
        return None

    async def fetch_bookmarks(self) -> list[Bookmark]:
        return []

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        pass

    async def retract_bookmark(self, room: str) -> None:
        pass

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        return None

    async def publish_user_data(self, node: str, data: str) -> None:
        pass

    async def delete_user_data(self, node: str) -> None:
        pass

    async def disco_info(self, jid: str) -> DiscoInfo:
        return DiscoInfo(jid)

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        return DiscoItemsPage()

    async def ping_occupant(self, room: str, nick: str) -> str:
        return ""

    async def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        return
        yield  # an async generator with nothing in it

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        return ArchiveSlice()

    # -- playing the other side -------------------------------------------------------

    def receive(self, body: str, peer: str = PEER, **fields: Any) -> Message:
        message = incoming(body, peer=peer, **fields)
        self.listener.on_messages([message], [""])
        return message

    def ack(self, uid: str, peer: str = PEER) -> None:
        self.acked.add(uid)
        self.listener.on_acked(uid, peer)

    def bounce(self, uid: str, reason: str, peer: str = PEER) -> None:
        self.listener.on_message_error(uid, peer, reason)

    def room_presence(self, room: str, nick: str, **fields: Any) -> None:
        """The room says ``nick`` is there (``available=False``: gone), as it would."""
        self.listener.on_room_presence(RoomPresence(room, nick, **fields))

    def enter(self, room: str, nick: str = "Me", **fields: Any) -> None:
        """The room lets us in as ``nick`` (our own presence, status 110)."""
        fields.setdefault("codes", frozenset({110}))
        fields.setdefault("jid", ME)
        self.room_presence(room, nick, **fields)

    def room_says(self, room: str, nick: str, body: str, **fields: Any) -> Message:
        """``nick`` says ``body`` in ``room`` (live)."""
        message = incoming(
            body,
            peer=room,
            kind=ConversationKind.GROUPCHAT,
            sender=f"{room}/{nick}",
            sender_resource=nick,
            **fields,
        )
        self.listener.on_messages([message], [""])
        return message


class _Secrets:
    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}

    async def get_password(self, account: str) -> str | None:
        return self.passwords.get(account)

    async def set_password(self, account: str, password: str) -> None:
        self.passwords[account] = password

    async def delete_password(self, account: str) -> None:
        self.passwords.pop(account, None)


class _Config:
    def __init__(self, accounts: Sequence[AccountConfig]) -> None:
        self.accounts = list(accounts)

    def load_accounts(self) -> list[AccountConfig]:
        return list(self.accounts)

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None:
        self.accounts = list(accounts)


class UiRig:
    """A core with the account ``ME`` (offline until :meth:`sign_in`) and its Qt side,
    plus the helpers tests need (reached through the fixture, so test modules never
    import this conftest at run time)."""

    me = ME
    peer = PEER

    def __init__(self, store: SqliteMessageStore) -> None:
        secrets = _Secrets()
        secrets.passwords[ME] = "secret"
        self.connections: list[FakeConnection] = []
        self.store = store
        self.core = ChinwagCore(
            store,
            secrets,
            _Config([AccountConfig(jid=ME, nickname="Me")]),
            self._connect,
            timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
        )
        self.bridge = EventBridge(self.core.bus)
        self.windows = ConversationWindows(self._make_window, self._make_room_window, self._is_room)
        self.ctx = UiContext(self.core, self.bridge, self.windows)

    def _connect(
        self, config: AccountConfig, password: str, listener: ConnectionListener, **_: Any
    ) -> FakeConnection:
        conn = FakeConnection(listener)
        self.connections.append(conn)
        return conn

    def _make_window(self, account: str, peer: str) -> object:
        from chinwag.ui.conversation_window import ConversationWindow

        return ConversationWindow(self.ctx, account, peer)

    def _make_room_window(self, account: str, room: str) -> object:
        from chinwag.ui.room_window import RoomWindow

        return RoomWindow(self.ctx, account, room)

    def _is_room(self, account: str, address: str) -> bool:
        return (
            self.core.rooms.room(account, address) is not None
            or self.core.bookmarks.get(account, address) is not None
        )

    @property
    def conn(self) -> FakeConnection:
        return self.connections[-1]

    async def sign_in(self) -> FakeConnection:
        await self.core.sign_in(ME)
        await self.core.messaging.wait_archive_synced(ME)
        return self.conn

    def set_contact(
        self, jid: str = PEER, name: str = "", presence: Presence | None = None
    ) -> None:
        """Put ``jid`` in the roster (needs :meth:`sign_in`) and set its presence."""
        listener = self.conn.listener
        listener.on_roster(
            [Contact(ME, jid, name=name, subscription=Subscription.BOTH)], "", full=False
        )
        if presence is not None:
            listener.on_presence(jid, presence)

    async def fill(self, count: int, peer: str = PEER, **fields: Any) -> list[Message]:
        """Store ``count`` messages (alternately incoming and outgoing), oldest first.

        History that was read (the contact's messages displayed, as by default) in a
        conversation read to its end leaves it read to its end: our read position, which
        says what is new, moves past it as when it was read here."""
        key = ConversationKey(ME, peer)
        before = self.store.conversation_info(key)
        was_read = before is None or before.read_sequence >= before.last_sequence
        messages = [history_message(n, peer=peer, **fields) for n in range(count)]
        stored: list[Message] = []
        for start in range(0, count, 5000):
            stored += await self.store.add_incoming(messages[start : start + 5000])
        read = all(
            m.state is MessageState.DISPLAYED for m in stored if m.direction is Direction.INCOMING
        )
        if was_read and read:
            await self.read_to_end(peer)
        return stored

    async def read_to_end(self, peer: str = PEER) -> None:
        """Move our read position to the end of the conversation with ``peer``: what is
        stored is read (no "New messages" line when a window opens on it)."""
        key = ConversationKey(ME, peer)
        info = self.store.conversation_info(key)
        if info is not None:
            await self.store.set_read_sequence(key, info.last_sequence)

    @staticmethod
    def message(n: int, **fields: Any) -> Message:
        return history_message(n, **fields)

    @staticmethod
    def incoming(body: str, **fields: Any) -> Message:
        return incoming(body, **fields)

    @staticmethod
    async def until(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
        return await eventually(check, timeout, what)

    @staticmethod
    async def idle() -> None:
        """Wait until nothing the UI started that awaits the core is running."""
        await wait_idle()


_CLOCK = [1_700_000_000.0]


def history_message(n: int, peer: str = PEER, **fields: Any) -> Message:
    """Message ``n`` of a made-up history, one minute after message ``n - 1``."""
    values: dict[str, Any] = {
        "account": ME,
        "peer": peer,
        "direction": Direction.OUTGOING if n % 2 else Direction.INCOMING,
        "body": f"message {n}",
        "timestamp": 1_600_000_000.0 + 60 * n,
        "uid": f"h{n}-{peer}",
        "origin": Origin.ARCHIVE,
    }
    values["state"] = MessageState.READ if n % 2 else MessageState.DISPLAYED
    values["sender"] = ME if n % 2 else peer
    values.update(fields)
    return Message(**values)


def incoming(body: str, peer: str = PEER, **fields: Any) -> Message:
    """A new incoming message, newer than every message made before."""
    _CLOCK[0] = max(_CLOCK[0] + 1, time.time())
    values: dict[str, Any] = {
        "account": ME,
        "peer": peer,
        "direction": Direction.INCOMING,
        "body": body,
        "timestamp": _CLOCK[0],
        "sender": peer,
        "state": MessageState.RECEIVED,
        "origin": Origin.LIVE,
    }
    values.update(fields)
    return Message(**values)


async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Let the event loop run until ``check()`` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


@pytest.fixture
def keep_running_without_windows(qapp: QApplication) -> Iterator[None]:
    """Closing the last window must not quit the app (and with it the test's event
    loop): as in ``chinwag.app``, where the tray keeps Chinwag running."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    try:
        yield
    finally:
        qapp.setQuitOnLastWindowClosed(before)


@pytest.fixture
async def ui(tmp_path: Path, keep_running_without_windows: None) -> AsyncIterator[UiRig]:
    """The core (real storage in ``tmp_path``, fake network) and its Qt side."""
    store = SqliteMessageStore.open(tmp_path / "h.db")
    rig = UiRig(store)
    try:
        yield rig
    finally:
        rig.windows.close_all()
        await asyncio.sleep(0)  # let deleteLater() of closed windows run
        rig.bridge.close()
        await rig.core.shutdown()


@pytest.fixture
def conversation_window(ui: UiRig) -> Iterator[Callable[..., Awaitable[Any]]]:
    """``await conversation_window(peer)`` opens the window with ``peer`` as the app does
    (through the registry) and, with ``activate``, returns once it is the active window
    (keyboard shortcuts only work in the active window)."""
    opened: list[Any] = []

    async def open_window(peer: str = PEER, *, activate: bool = True) -> Any:
        window = ui.windows.open(ME, peer, activate=activate)
        opened.append(window)
        if activate:
            await eventually(window.isActiveWindow, what="the window to be active")
        return window

    yield open_window
    for window in opened:
        if shiboken6.isValid(window) and window.isVisible():
            window.close()


@pytest.fixture
def key() -> ConversationKey:
    return ConversationKey(ME, PEER)


class StubRoomWindow(QWidget):
    """Stands in for a room's window: records how it was opened."""

    closed = Signal()

    def __init__(self, account: str, room: str) -> None:
        super().__init__()
        self.account, self.room = account, room
        self.presented = 0

    def present(self, activate: bool = True) -> None:
        self.presented += 1

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)


@pytest.fixture
async def main_with_room_stubs(ui: UiRig, qtbot: Any) -> AsyncIterator[MainWindow]:
    """The contact list, signed in, its rooms' windows :class:`StubRoomWindow`."""
    ui.windows = ui.ctx.windows = ConversationWindows(
        ui._make_window, StubRoomWindow, lambda a, p: ui.core.rooms.room(a, p) is not None
    )
    await ui.sign_in()
    window = MainWindow(ui.ctx)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.really_quit = True
    window.close()
    window.deleteLater()
