"""One account's connection life: sign in, stay signed in, sign out.

:class:`AccountSession` owns the state machine OFFLINE -> CONNECTING -> ONLINE ->
RECONNECTING -> ONLINE ... and FAILED, reconnects by itself with exponential backoff and
jitter, gives up only on errors that retrying cannot fix (wrong password, untrusted
certificate), and routes what the connection reports to the roster and messaging
services."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chinwag.core.errors import (
    AuthenticationFailed,
    CertificateUntrusted,
    ChinwagError,
    ConnectionFailure,
    RegistrationFailed,
    ResourceConflict,
    ServerUnreachable,
    TlsFailure,
)
from chinwag.core.events import ConnectionStateChanged, EventBus, OwnPresenceChanged
from chinwag.core.models import (
    AccountConfig,
    Bookmark,
    ConnectionState,
    Contact,
    ConversationKey,
    ConversationKind,
    Message,
    Presence,
    RoomPresence,
    Show,
    StreamState,
    Subscription,
)
from chinwag.core.ports import ConnectionFactory, XmppConnection
from chinwag.core.status import Status, UserActivity

if TYPE_CHECKING:
    from chinwag.core.avatars import AvatarInfo, AvatarService
    from chinwag.core.blocking import BlockingService
    from chinwag.core.bookmarks import BookmarkService
    from chinwag.core.invitations import InvitationService
    from chinwag.core.messaging import MessagingService
    from chinwag.core.rooms import RoomService
    from chinwag.core.roster import RosterService
    from chinwag.core.users import UserService

log = logging.getLogger(__name__)

#: Errors that a retry cannot fix: the session stops and waits for the user.
FATAL_ERRORS: tuple[type[ChinwagError], ...] = (
    AuthenticationFailed,
    CertificateUntrusted,
    TlsFailure,
    RegistrationFailed,
    ResourceConflict,
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt ``n`` (0-based): exponential, capped, with jitter
    so that many clients dropped by one server restart do not come back in lockstep."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) * d, d]

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        d = min(self.cap, self.initial * self.factor**attempt)
        return d * (1.0 - self.jitter * rng())


@dataclass(frozen=True, slots=True)
class SessionTiming:
    backoff: Backoff = Backoff()
    #: Longest wait for one connect, TLS set-up and sign-in before giving it up.
    connect_timeout: float = 30.0


class AccountSession:
    """The connection life of one account. Also the connection's listener."""

    def __init__(
        self,
        config: AccountConfig,
        password: Callable[[], Awaitable[str | None]],
        factory: ConnectionFactory,
        bus: EventBus,
        roster: RosterService,
        messaging: MessagingService,
        timing: SessionTiming | None = None,
        blocking: BlockingService | None = None,
        *,
        activity: UserActivity | None = None,
        rooms: RoomService | None = None,
        invitations: InvitationService | None = None,
        bookmarks: BookmarkService | None = None,
        users: UserService | None = None,
    ) -> None:
        self.config = config
        self._users = users
        self._bookmarks = bookmarks
        self._rooms = rooms
        self._invitations = invitations
        self._activity = activity or UserActivity()
        self._blocking = blocking
        self._password = password
        self._factory = factory
        self._bus = bus
        self._roster = roster
        self._messaging = messaging
        self._timing = timing or SessionTiming()
        self.state = ConnectionState.OFFLINE
        self.last_error: ChinwagError | None = None
        self.show = Show.ONLINE
        self.status = ""
        #: The status the user picked (BRB and Away share one <show/>).
        self.picked = Status.ONLINE
        self._conn: XmppConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped: asyncio.Event = asyncio.Event()
        self._drop_error: ChinwagError | None = None
        self._first: asyncio.Future[None] | None = None
        #: A certificate fingerprint the user trusted for this run only (not saved).
        self.trusted_once = ""
        #: True after :meth:`sign_out` until the next sign-in: the user or a script
        #: signed out on purpose, so nothing should sign back in behind their back.
        self.signed_out = False
        #: Where avatar announcements go (set by the core; see chinwag.core.avatars).
        self.avatars: AvatarService | None = None

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        return self.config.jid

    @property
    def connection(self) -> XmppConnection | None:
        """The live connection, only while ONLINE."""
        return self._conn if self.state is ConnectionState.ONLINE else None

    @property
    def wanted(self) -> bool:
        """True while the session should be (or get) signed in."""
        return self._task is not None and not self._task.done()

    @property
    def signed_in(self) -> bool:
        """Signed in, or signing in (the outbox holds messages until it is). A session
        that just failed is still winding down (wanted) but does not count."""
        return self.state is ConnectionState.ONLINE or (
            self.wanted and self.state is not ConnectionState.FAILED
        )

    async def sign_in(self, *, register: bool = False, keep_trying: bool = True) -> None:
        """Sign in and return once signed in; raise the first attempt's error.

        After a transient failure (server unreachable) the session keeps trying in the
        background when ``keep_trying``; after a fatal one it stops (state FAILED).
        Calling it while already signed in or signing in just waits for that."""
        loop = asyncio.get_running_loop()
        self.signed_out = False
        if self.wanted and self.state is ConnectionState.FAILED and self._task is not None:
            # The failed attempt still closes its stream (it has reported already): this
            # is a new sign-in, which starts once that one has ended.
            await asyncio.gather(self._task, return_exceptions=True)
        if self.wanted:
            # Already signing in or signed in: wait for the outcome of the current (or,
            # while retrying, the next) attempt.
            if self.state is ConnectionState.ONLINE:
                return
            if self._first is None or self._first.done():
                self._first = loop.create_future()
            await asyncio.shield(self._first)
            return
        self._first = loop.create_future()
        first = self._first
        self._task = asyncio.create_task(
            self._run(register, keep_trying), name=f"session {self.account}"
        )
        await asyncio.shield(first)

    def start(self) -> None:
        """Sign in in the background (auto sign-in): errors arrive as events only."""
        if self.wanted and self.state is not ConnectionState.FAILED:
            return
        task = asyncio.ensure_future(self.sign_in())
        task.add_done_callback(_consume)

    async def sign_out(self) -> bool:
        """Sign out on purpose; returns False when it was not signed in or trying."""
        task, self._task = self._task, None
        self.signed_out = True
        self._dropped.set()  # wakes the loop if it waits for a drop (see _run)
        conn = self._conn
        was_wanted = task is not None and not task.done()
        if task is not None:
            task.cancel()
        if conn is not None:
            if self.state is not ConnectionState.ONLINE:
                conn.abort()
            try:
                await asyncio.wait_for(conn.disconnect(), 8.0)
            except (TimeoutError, ConnectionFailure, OSError):
                conn.abort()
        self._conn = None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._first is not None and not self._first.done():
            self._first.set_exception(ConnectionFailure("signed out"))
            self._first.exception()
        self._set_state(ConnectionState.OFFLINE)
        return was_wanted

    def set_status(self, status: Status, message: str) -> None:
        """Own status as picked by the user (Offline is a sign-out: the caller's job)."""
        self.picked = status
        self.set_presence(status.show, message)

    def set_presence(self, show: Show, status: str) -> None:
        """Own availability and status message; sent now if signed in, else on sign-in."""
        self.show, self.status = show, status
        conn = self.connection
        if conn is not None:
            conn.send_presence(show, status, self.config.priority)
        self._bus.publish(OwnPresenceChanged(self.account, show, status))

    # -- the connection loop ------------------------------------------------------------

    async def _run(self, register: bool, keep_trying: bool) -> None:
        me = asyncio.current_task()
        attempt = 0
        try:
            while True:
                error = await self._attempt(register, attempt)
                register = False
                # sign_out() cancels this task, but Python 3.11's wait_for() can swallow a
                # cancellation that lands as the connect completes: check we are still wanted.
                if self._task is not me:
                    return
                if error is None:
                    attempt = 0
                    await self._dropped.wait()
                    if self._task is not me:
                        return
                    error = self._drop_error
                    log.info("%s: connection lost: %s", self.account, error)
                else:
                    attempt += 1
                if isinstance(error, FATAL_ERRORS) or not keep_trying:
                    conn, self._conn = self._conn, None
                    self._set_state(ConnectionState.FAILED, error)
                    if conn is not None:
                        await conn.disconnect()
                    self._resolve_first(error)
                    return
                self._set_state(ConnectionState.RECONNECTING, error)
                self._resolve_first(error)
                await asyncio.sleep(self._timing.backoff.delay(attempt))
                if self._task is not me:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: report it instead of dying silently
            log.exception("%s: session loop failed", self.account)
            error = ChinwagError(f"internal error: {exc}")
            self._resolve_first(error)
            self._set_state(ConnectionState.FAILED, error)

    async def _attempt(self, register: bool, attempt: int) -> ChinwagError | None:
        """One connect; None when signed in."""
        if self.state in (ConnectionState.OFFLINE, ConnectionState.FAILED):
            self._set_state(ConnectionState.CONNECTING)
        try:
            # Never long (the store answers from its file, or gives up, in seconds), and
            # a store that could not tell is worth another try: PasswordUnavailable. A
            # link-local account has none (nobody to sign in to).
            password = "" if self.config.link_local else await self._password()
        except ChinwagError as exc:
            log.warning("%s: cannot sign in yet: %s", self.account, exc.message)
            return exc
        if password is None:
            return AuthenticationFailed(f"no password is stored for {self.account}")
        if self._conn is None or register:
            config = self.config
            if self.trusted_once:
                config = replace(config, trusted_fingerprint=self.trusted_once)
            self._conn = self._factory(config, password, self, register=register)
        self._dropped.clear()
        self._drop_error = None
        try:
            await asyncio.wait_for(self._conn.connect(), self._timing.connect_timeout)
        except TimeoutError:
            self._conn.abort()
            return ServerUnreachable(
                f"no answer from the server of {self.account} within "
                f"{self._timing.connect_timeout:.0f} s"
            )
        except ConnectionFailure as exc:
            self._conn.abort()
            return exc
        self._resolve_first(None)
        return None

    def _resolve_first(self, error: ChinwagError | None) -> None:
        first = self._first
        if first is None or first.done():
            return
        if error is None:
            first.set_result(None)
        else:
            first.set_exception(error)

    def _set_state(
        self, state: ConnectionState, error: ChinwagError | None = None, resumed: bool = False
    ) -> None:
        if state is self.state and error is None and not resumed:
            return
        self.state = state
        self.last_error = error
        self._bus.publish(ConnectionStateChanged(self.account, state, error, resumed))

    # -- ConnectionListener -------------------------------------------------------------

    def on_session_started(self, resumed: bool) -> None:
        conn = self._conn
        assert conn is not None
        self._set_state(ConnectionState.ONLINE, resumed=resumed)
        self._messaging.share_privacy(conn)  # (before anything of ours, presence too)
        if not resumed:
            conn.send_presence(self.show, self.status, self.config.priority)
        self._messaging.on_online(self.account, conn, resumed)
        if self._rooms is not None:
            self._rooms.on_online(self.account, conn, resumed)
        if self._bookmarks is not None:
            self._bookmarks.on_online(self.account, conn, resumed)

    def on_disconnected(self, error: ChinwagError | None) -> None:
        self._messaging.on_offline(self.account)
        if self._rooms is not None:
            self._rooms.on_offline(self.account)
        if self._bookmarks is not None:
            self._bookmarks.on_offline(self.account)
        self._roster.on_offline(self.account)
        if self._task is None:  # signed out on purpose
            return
        self._drop_error = error or ServerUnreachable("the connection was closed")
        self._dropped.set()

    def on_messages(
        self,
        messages: Sequence[Message],
        receipt_to: Sequence[str],
        done: Callable[[], None] | None = None,
    ) -> None:
        self._messaging.on_incoming(self.account, messages, receipt_to, done)

    def on_acked(self, uid: str, peer: str) -> None:
        self._messaging.on_acked(self.account, uid, peer)

    def stream_state(self) -> StreamState | None:
        return self._messaging.stream_state(self.account)

    async def save_stream_state(self, state: StreamState | None) -> None:
        await self._messaging.save_stream_state(self.account, state)

    def on_message_error(self, uid: str, peer: str, reason: str) -> None:
        self._messaging.on_message_error(self.account, uid, peer, reason)

    def on_receipt(self, uid: str, peer: str) -> None:
        self._messaging.on_receipt(self.account, uid, peer)

    def on_displayed(
        self,
        uid: str,
        peer: str,
        from_self: bool,
        kind: ConversationKind = ConversationKind.CHAT,
        nick: str = "",
        occupant_id: str = "",
    ) -> None:
        self._messaging.on_displayed(
            ConversationKey(self.account, peer, kind), uid, from_self, nick, occupant_id
        )

    def on_chat_state(
        self, peer: str, state: str, kind: ConversationKind = ConversationKind.CHAT, nick: str = ""
    ) -> None:
        self._messaging.on_chat_state(ConversationKey(self.account, peer, kind), state, nick)

    def on_room_presence(self, presence: RoomPresence) -> None:
        if self._rooms is not None:
            self._rooms.on_room_presence(self.account, presence)

    def on_room_error(self, room: str, condition: str, text: str) -> None:
        if self._rooms is not None:
            self._rooms.on_room_error(self.account, room, condition, text)

    def on_room_subject(self, room: str, subject: str, nick: str) -> None:
        if self._rooms is not None:
            self._rooms.on_room_subject(self.account, room, subject, nick)

    def on_roster(self, contacts: Sequence[Contact] | None, version: str, full: bool) -> None:
        self._roster.on_roster(self.account, contacts, version, full)

    def roster_version(self) -> str:
        return self._roster.version(self.account)

    def idle_seconds(self, asker: str) -> int | None:
        if self.show in (Show.INVISIBLE, Show.OFFLINE):
            return None
        if asker != self.account:
            contact = self._roster.contact(self.account, asker)
            if contact is None or contact.subscription not in (
                Subscription.FROM,
                Subscription.BOTH,
            ):
                return None
        return self._activity.idle_seconds()

    def on_presence(self, jid: str, presence: Presence) -> None:
        self._roster.on_presence(self.account, jid, presence)

    def on_subscription(self, jid: str, kind: str, nick: str) -> None:
        self._roster.on_subscription(self.account, jid, kind, nick)

    def on_stanza_id(self, uid: str, peer: str, stanza_id: str) -> None:
        self._messaging.on_stanza_id(self.account, uid, peer, stanza_id)

    def on_blocklist(self, jids: Sequence[str], blocked: bool, full: bool) -> None:
        if self._blocking is not None:
            self._blocking.on_blocklist(self.account, jids, blocked, full)

    def on_invitation(
        self, room: str, inviter: str, reason: str, password: str, direct: bool
    ) -> None:
        if self._invitations is not None:
            self._invitations.on_invitation(self.account, room, inviter, reason, password, direct)

    def on_bookmarks(self, changed: Sequence[Bookmark], removed: Sequence[str], full: bool) -> None:
        if self._bookmarks is not None:
            self._bookmarks.on_push(self.account, changed, removed, full)

    def on_user_data(self, jid: str, node: str, data: str | None) -> None:
        if self._users is not None:
            self._users.on_push(self.account, jid, node, data)

    # -- avatars (chinwag.core.avatars.AvatarListener) ---------------------------------

    def on_avatar_metadata(self, jid: str, infos: Sequence[AvatarInfo]) -> None:
        if self.avatars is not None:
            self.avatars.on_metadata(self.account, jid, infos)

    def on_avatar_hash(self, jid: str, sha1: str) -> None:
        if self.avatars is not None:
            self.avatars.on_vcard_hash(self.account, jid, sha1)


def _consume(task: asyncio.Future[None]) -> None:
    """Background sign-ins report through events; keep asyncio from logging them."""
    if not task.cancelled():
        task.exception()
