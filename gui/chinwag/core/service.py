"""The core as one object: accounts, sessions, roster and messaging, wired together.

The composition root (``chinwag.app``) builds one :class:`ChinwagCore` from the storage,
XMPP and system adapters; windows and the automation API talk to it and listen to its
:class:`EventBus`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from chinwag.core.accounts import AccountService
from chinwag.core.avatars import AvatarService, AvatarStore, AvatarTransport, HasAvatars
from chinwag.core.blocking import BlockingService
from chinwag.core.bookmarks import BookmarkService
from chinwag.core.contact_details import ContactDetailsService, HasProfiles, ProfileTransport
from chinwag.core.conversations import ConversationService
from chinwag.core.errors import InvalidStatus, NotConnected, UnknownAccount
from chinwag.core.events import AccountRemoved, EventBus
from chinwag.core.files import FileService
from chinwag.core.invitations import InvitationService
from chinwag.core.messaging import MessagingService
from chinwag.core.models import AccountConfig, ConnectionState
from chinwag.core.ports import (
    ConfigStore,
    ConnectionFactory,
    MessageStore,
    SecretStore,
    XmppConnection,
)
from chinwag.core.rooms import RoomMessages, RoomService
from chinwag.core.roster import RosterService
from chinwag.core.session import AccountSession, SessionTiming
from chinwag.core.status import Status, UserActivity
from chinwag.core.tasks import BackgroundTasks
from chinwag.core.users import UserService

log = logging.getLogger(__name__)


class ChinwagCore:
    """Everything the user interface and the automation API need, Qt-free."""

    def __init__(
        self,
        store: MessageStore,
        secrets: SecretStore,
        config: ConfigStore,
        factory: ConnectionFactory,
        *,
        bus: EventBus | None = None,
        timing: SessionTiming | None = None,
        avatar_store: AvatarStore | None = None,
    ) -> None:
        self.bus = bus or EventBus()
        #: When the person last did something (the windows tell it): XEP-0012 idle time.
        self.activity = UserActivity()
        self.store = store
        self.accounts = AccountService(config, secrets, self.bus)
        self.sessions: dict[str, AccountSession] = {}
        self.roster = RosterService(store, self.bus, self._connection)
        self.conversations = ConversationService(store, self.bus, self._name_of)
        self.messaging = MessagingService(
            store, self.bus, self.sessions, conversations=self.conversations
        )
        self.blocking = BlockingService(self.bus, self._connection)
        self.rooms = RoomService(
            self.bus,
            self._connection,
            flush=self.messaging.room_entered,
            default_nick=self._nick_of,
        )
        self.bookmarks = BookmarkService(store, self.bus, self._connection)
        self.messaging.room_joined = self.rooms.is_joined
        self.conversations.follow_rooms(self.rooms.is_joined, self.rooms.is_present)
        self.messaging.rooms = self.rooms
        self.messaging.inbound.remove("rooms")  # (the placeholder that dropped them all)
        self.messaging.inbound.add(RoomMessages(self.rooms))
        #: Invitations to rooms waiting for an answer; accepting one gives the room and
        #: password to join with (``rooms.join``).
        self.invitations = InvitationService(self.bus, self._connection)
        #: IM ids, user data, online flag, subscriptions, notifications (the
        #: Conversations API's users).
        self.users = UserService(store, self.bus, self._connection, self.roster, self.sessions)
        #: Avatars (XEP-0084, XEP-0153), cached on disk by hash; contact details.
        self.avatars = AvatarService(self.bus, self._avatar_transport, avatar_store)
        self.avatars.load()
        self.details = ContactDetailsService(self.roster, self._profile_transport)
        self._factory = factory
        self._shut_down = False
        self._background = BackgroundTasks("signing out a removed account")
        self._timing = timing or SessionTiming()
        #: Whether an enabled link-local account signs in with the others
        #: (:meth:`auto_sign_in`): off unless the composition root says this run was
        #: started as a user starts it (``chinwag.app``), or serverless chat was turned
        #: on in this run (:func:`chinwag.core.link_local.enable_link_local`).
        self.link_local_resumes = False
        #: The short id of this profile that a new link-local account's address ends in
        #: (:func:`chinwag.core.link_local.profile_id`; set by ``build_core``).
        self.link_local_profile = ""
        for account in self.accounts.accounts:
            self._make_session(account)
        self.bus.subscribe(AccountRemoved, self._forget)
        #: Files in conversations (XEP-0363/XEP-0066), when the composition root gives
        #: them a transport and a store (see ``chinwag.wiring``).
        self.files: FileService | None = None

    def _nick_of(self, account: str) -> str:
        """The nick to enter a room with when none is given: the account's nickname,
        else the local part of its address."""
        config = self.accounts.find(account)
        return (config.nickname if config is not None else "") or account.partition("@")[0]

    def _name_of(self, account: str, jid: str) -> str:
        return self.roster.display_name(account, jid)

    def _connection(self, account: str) -> XmppConnection | None:
        session = self.sessions.get(account)
        return session.connection if session else None

    def _avatar_transport(self, account: str) -> AvatarTransport | None:
        conn = self._connection(account)
        return conn.avatars if isinstance(conn, HasAvatars) else None

    def _profile_transport(self, account: str) -> ProfileTransport | None:
        conn = self._connection(account)
        return conn.profiles if isinstance(conn, HasProfiles) else None

    def _make_session(self, config: AccountConfig) -> AccountSession:
        session = AccountSession(
            config,
            lambda: self.accounts.load_password(config.jid),
            self._factory,
            self.bus,
            self.roster,
            self.messaging,
            self._timing,
            self.blocking,
            activity=self.activity,
            rooms=self.rooms,
            invitations=self.invitations,
            bookmarks=self.bookmarks,
            users=self.users,
        )
        session.avatars = self.avatars
        self.sessions[config.jid] = session
        self.roster.load_cached(config.jid)
        self.users.load(config.jid)
        self.bookmarks.load_cached(config.jid)
        return session

    def _forget(self, event: AccountRemoved) -> None:
        self.invitations.forget(event.account)
        session = self.sessions.pop(event.account, None)
        if session is not None and session.wanted:
            self._background.spawn(session.sign_out())

    def session(self, account: str) -> AccountSession:
        config = self.accounts.get(account)
        session = self.sessions.get(config.jid)
        if session is None:
            session = self._make_session(config)
        else:
            session.config = config
        return session

    @property
    def primary(self) -> str | None:
        primary = self.accounts.primary
        return primary.jid if primary else None

    def add_account(
        self,
        config: AccountConfig,
        password: str | None,
        *,
        remember: bool = True,
        primary: bool = False,
    ) -> AccountSession:
        config = self.accounts.add(config, password, remember=remember, primary=primary)
        return self.session(config.jid)

    async def sign_in(
        self, account: str, *, register: bool = False, keep_trying: bool = True
    ) -> None:
        """Sign one account in (see :meth:`AccountSession.sign_in`)."""
        await self.session(account).sign_in(register=register, keep_trying=keep_trying)

    def auto_signed_in(self) -> list[AccountConfig]:
        """The accounts :meth:`auto_sign_in` starts: every enabled one, but an enabled
        link-local account only when :attr:`link_local_resumes` (serverless chat
        announces the person to the whole network: it never starts by itself from
        ``--background``, D-Bus activation or a test profile)."""
        return [
            config
            for config in self.accounts.accounts
            if config.enabled and (self.link_local_resumes or not config.link_local)
        ]

    def auto_sign_in(self) -> int:
        """Start signing in every enabled account (see :meth:`auto_signed_in`); returns
        how many were started."""
        started = 0
        for config in self.auto_signed_in():
            self.session(config.jid).start()
            started += 1
        return started

    async def sign_out(self, account: str | None = None) -> bool:
        """Sign one account, or all, out on purpose. False when none was signed in."""
        if account is not None:
            if account not in self.sessions:
                raise UnknownAccount(f"no account {account!r}")
            return await self.sessions[account].sign_out()
        results = await asyncio.gather(*(s.sign_out() for s in self.sessions.values()))
        return any(results)

    async def set_enabled(self, account: str, enabled: bool) -> None:
        config = replace(self.accounts.get(account), enabled=enabled)
        self.accounts.update(config)
        session = self.session(account)
        if enabled:
            session.start()
        else:
            await session.sign_out()

    def enabled_sessions(self) -> list[AccountSession]:
        """Sessions of the enabled accounts, primary first."""
        return [self.session(a.jid) for a in self.accounts.accounts if a.enabled]

    async def set_status(self, status: Status, message: str) -> bool:
        """Own status and status message on every enabled account, as if picked in the
        status selector: Offline signs out; any other status is sent now where signed in
        and signs in the accounts that are not. False when that state already held."""
        if status in (Status.UNKNOWN, Status.CONNECTING):
            raise InvalidStatus(f"{status.name} is not a status one can set")
        if status is Status.OFFLINE:
            return await self.sign_out()
        sessions = self.enabled_sessions()
        if not sessions:
            raise NotConnected("there is no enabled account to set a status on")
        if all(s.wanted and s.picked is status and s.status == message for s in sessions):
            return False
        for session in sessions:
            session.set_status(status, message)  # sent now if signed in, else on sign-in
        self.auto_sign_in()  # starts only the sessions that are not signed in or trying
        return True

    def state(self, account: str) -> ConnectionState:
        session = self.sessions.get(account)
        return session.state if session else ConnectionState.OFFLINE

    async def shutdown(self) -> None:
        """Sign out cleanly, commit what is pending, close storage. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        log.debug("shutdown: signing out")
        await self.sign_out()
        log.debug("shutdown: draining")
        if self.files is not None:
            await self.files.close()
        await self.messaging.drain(final=True)
        await self.roster.drain()
        await self.bookmarks.drain()
        await self.users.drain()
        await self.avatars.drain()
        await self.accounts.drain()  # passwords being saved (each write is bounded)
        log.debug("shutdown: closing storage")
        await self.store.close()
