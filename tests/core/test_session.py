"""The session state machine with a scripted connection: which errors stop it, which make it
retry, and what a wanted sign-out does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest

from chinwag.core.errors import (
    AuthenticationFailed,
    CertificateUntrusted,
    ChinwagError,
    ServerUnreachable,
)
from chinwag.core.events import ConnectionStateChanged, EventBus
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    ConnectionState,
    ConversationKind,
    DiscoInfo,
    DiscoItemsPage,
    Message,
    Show,
)
from chinwag.core.ports import ConnectionListener
from chinwag.core.session import AccountSession, Backoff, SessionTiming


class Gate:
    """Holds disconnect() until released; says when it is held."""

    def __init__(self) -> None:
        self.held = asyncio.Event()
        self.released = asyncio.Event()


class ScriptedConnection:
    """Fails connect() with the scripted errors in turn, then succeeds."""

    def __init__(
        self,
        listener: ConnectionListener,
        script: list[ChinwagError | None],
        closing: Gate | None = None,
    ) -> None:
        self.listener = listener
        self.script = script
        self.closing = closing  # disconnect() waits for its release, when given
        self.attempts = 0
        self.presences: list[tuple[Show, str]] = []
        self.aborted = 0

    @property
    def acks_enabled(self) -> bool:
        return True

    async def connect(self) -> None:
        self.attempts += 1
        outcome = self.script.pop(0) if self.script else None
        await asyncio.sleep(0)
        if outcome is not None:
            raise outcome
        self.listener.on_session_started(False)

    async def disconnect(self) -> None:
        if self.closing is not None:
            self.closing.held.set()
            await self.closing.released.wait()
        self.listener.on_disconnected(None)

    def abort(self) -> None:
        self.aborted += 1

    def drop(self) -> None:
        self.listener.on_disconnected(ServerUnreachable("connection reset"))

    def join_room(
        self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE
    ) -> None: ...
    def leave_room(self, room: str, nick: str, status: str = "") -> None: ...
    def set_room_subject(self, room: str, subject: str) -> None: ...
    async def configure_room(
        self, room: str, fields: Mapping[str, str | Sequence[str]]
    ) -> None: ...
    def change_nick(self, room: str, nick: str) -> None: ...
    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None: ...
    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None: ...
    async def destroy_room(self, room: str, reason: str = "") -> None: ...
    async def room_affiliations(self, room: str, affiliation: str) -> list[str]: ...
    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None: ...

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None: ...
    def decline(self, room: str, inviter: str, reason: str = "") -> None: ...
    def send_presence(self, show: Show, status: str, priority: int) -> None:
        self.presences.append((show, status))

    def send_message(self, message: Message) -> None: ...
    def send_receipt(self, to: str, uid: str) -> None: ...
    def send_displayed(self, to: str, uid: str, kind: ConversationKind = ...) -> None: ...
    def send_chat_state(self, to: str, state: str, kind: ConversationKind = ...) -> None: ...
    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None: ...
    def send_subscription(self, to: str, kind: str) -> None: ...
    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None: ...
    async def roster_remove(self, jid: str) -> None: ...

    async def block(self, jids: Sequence[str]) -> None: ...

    async def unblock(self, jids: Sequence[str]) -> None: ...

    def unacked_uids(self) -> set[str]:
        return set()

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
        yield  # pragma: no cover

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        return ArchiveSlice()


class Downstream:
    """Stands in for the roster and messaging services: records what reaches them."""

    def __init__(self) -> None:
        self.online: list[bool] = []
        self.offline = 0

    def on_online(self, account: str, conn: object, resumed: bool) -> None:
        self.online.append(resumed)

    def on_offline(self, account: str) -> None:
        self.offline += 1

    def share_privacy(self, conn: object = None) -> None: ...


def make_session(
    script: list[ChinwagError | None],
    password: str | None = "pw",
    closing: Gate | None = None,
) -> tuple[AccountSession, list[ScriptedConnection], list[ConnectionStateChanged], Downstream]:
    bus = EventBus()
    states: list[ConnectionStateChanged] = []
    bus.subscribe(ConnectionStateChanged, states.append)
    made: list[ScriptedConnection] = []
    down = Downstream()  # the messaging service

    def factory(config, pw, listener, *, register=False):  # type: ignore[no-untyped-def]
        conn = ScriptedConnection(listener, script, closing)
        made.append(conn)
        return conn

    async def stored() -> str | None:
        return password

    session = AccountSession(
        AccountConfig(jid="alice@example.org"),
        stored,
        factory,
        bus,
        Downstream(),  # type: ignore[arg-type]  # the roster service
        down,  # type: ignore[arg-type]
        SessionTiming(backoff=Backoff(initial=0.01, cap=0.02)),
    )
    return session, made, states, down


async def test_signs_in_and_announces_presence() -> None:
    session, made, states, down = make_session([None])
    session.set_presence(Show.AWAY, "lunch")
    await session.sign_in()
    assert session.state is ConnectionState.ONLINE
    assert made[0].presences == [(Show.AWAY, "lunch")]
    assert down.online == [False]
    assert [s.state for s in states] == [ConnectionState.CONNECTING, ConnectionState.ONLINE]
    await session.sign_out()
    assert session.state is ConnectionState.OFFLINE


@pytest.mark.parametrize("fatal", [AuthenticationFailed("no"), CertificateUntrusted("bad")])
async def test_fatal_errors_stop_without_retry(fatal: ChinwagError) -> None:
    session, made, states, _ = make_session([fatal, None])
    with pytest.raises(type(fatal)):
        await session.sign_in()
    await asyncio.sleep(0.1)
    assert made[0].attempts == 1
    assert session.state is ConnectionState.FAILED
    assert states[-1].error is fatal
    assert not session.wanted


async def test_a_sign_in_asked_for_while_a_failed_one_closes_is_a_new_attempt() -> None:
    """A script that answers OnSignin(InvalidPassword) -- sent as the state turns FAILED --
    with a sign-in gets that sign-in, even while the failed attempt still closes its
    stream (slow on a loaded machine), not the failed attempt's outcome."""
    closing = Gate()
    session, made, states, _ = make_session([AuthenticationFailed("no"), None], closing=closing)
    first = asyncio.ensure_future(session.sign_in())
    await closing.held.wait()  # the failed attempt has reported, and closes its stream
    assert states[-1].state is ConnectionState.FAILED
    second = asyncio.ensure_future(session.sign_in())
    await asyncio.sleep(0)  # the second sign-in has started waiting
    closing.released.set()
    with pytest.raises(AuthenticationFailed):
        await first
    await second
    assert session.state is ConnectionState.ONLINE
    assert len(made) == 2
    await session.sign_out()


async def test_transient_error_is_reported_then_retried() -> None:
    session, made, states, _ = make_session(
        [ServerUnreachable("down"), ServerUnreachable("down"), None]
    )
    with pytest.raises(ServerUnreachable):
        await session.sign_in()
    for _ in range(100):
        if session.state is ConnectionState.ONLINE:
            break
        await asyncio.sleep(0.01)
    assert session.state is ConnectionState.ONLINE
    assert made[0].attempts == 3
    assert ConnectionState.RECONNECTING in [s.state for s in states]
    await session.sign_out()


async def test_dropped_connection_reconnects() -> None:
    session, made, states, down = make_session([None, None])
    await session.sign_in()
    made[0].drop()
    assert down.offline == 1
    for _ in range(100):
        if len(down.online) == 2:
            break
        await asyncio.sleep(0.01)
    assert down.online == [False, False]
    assert [s.state for s in states][-2:] == [ConnectionState.RECONNECTING, ConnectionState.ONLINE]
    await session.sign_out()


async def test_missing_password_is_an_authentication_error() -> None:
    session, _, _, _ = make_session([None], password=None)
    with pytest.raises(AuthenticationFailed, match="no password"):
        await session.sign_in()


async def test_sign_out_when_not_signed_in_reports_nothing_done() -> None:
    session, _, _, _ = make_session([])
    assert await session.sign_out() is False


def test_backoff_grows_caps_and_jitters() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, cap=30.0, jitter=0.5)
    assert backoff.delay(0, rng=lambda: 0.0) == 1.0
    assert backoff.delay(3, rng=lambda: 0.0) == 8.0
    assert backoff.delay(10, rng=lambda: 0.0) == 30.0
    assert backoff.delay(10, rng=lambda: 1.0) == 15.0


async def test_sign_out_as_the_connect_completes_does_not_hang() -> None:
    """A sign-out requested by whoever hears "online" (a script quitting at once) lands
    while connect() is returning; Python 3.11's wait_for() may swallow that cancellation."""
    session, _, _, _ = make_session([None])
    signing_out: list[asyncio.Task[bool]] = []

    def on_state(event: ConnectionStateChanged) -> None:
        if event.state is ConnectionState.ONLINE and not signing_out:
            signing_out.append(asyncio.ensure_future(session.sign_out()))

    session._bus.subscribe(ConnectionStateChanged, on_state)
    await session.sign_in()
    assert await asyncio.wait_for(signing_out[0], 5.0) is True
    assert session.state is ConnectionState.OFFLINE
    assert not session.wanted
