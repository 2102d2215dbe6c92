"""UCWA 2.0 instant messaging (``gateways.md`` section 2), the behaviour the REST gateway
adapts; no transport here (the adapter, :mod:`chinwag.gateways.ucwa`, makes the URLs,
the JSON and the status codes).

An *application* is what a script creates first (its ``endpointId`` names it: the same
one again is the same application). It belongs to one account (the gateway key's), has
its conversations (one per person: XMPP has no conversation of its own for two people),
the ``operationId`` s it used, and its *event channel*: a queue of events, each numbered,
that the script reads with a long poll and acknowledges by number (``ack=N``: every
event up to N is done with; the rest stay available and come again).

Sending goes through the core like any other message (so it shows in the window and the
history). A message is refused, not queued, while the account is signed out or disabled
(:attr:`Problem.UNAVAILABLE`); while it only reconnects the message is stored and sent
when the connection is back, its completion following then.

Bounds, so a client that never reads cannot eat memory: an application's channel keeps
at most :data:`MAX_EVENTS` events and :data:`MAX_EVENT_CHARS` characters of message text
that were not acknowledged; beyond either, the oldest are dropped and the next batch read
from before them says so (``resync``). An account has at most :data:`MAX_APPLICATIONS`
applications (one more drops the one least recently used), an application remembers its
last :data:`MAX_OPERATION_IDS` operation ids and :data:`MAX_INVITATIONS` invitations.

A long poll is one ``asyncio.Event`` wait with a timeout: no task of its own."""

from __future__ import annotations

import asyncio
import collections
import enum
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chinwag.core import jid as jids
from chinwag.core.errors import (
    AccountDisabled,
    ChinwagError,
    InvalidAddress,
    InvalidMessage,
    MessageTooLong,
    NotConnected,
    UnknownAccount,
)
from chinwag.core.events import (
    AccountRemoved,
    ChatStateChanged,
    Event,
    MessageStateChanged,
    ReceivedLogged,
)
from chinwag.core.models import (
    MAX_MESSAGE_CHARS,
    ConnectionState,
    ConversationKind,
    Direction,
    Message,
    MessageState,
)

if TYPE_CHECKING:
    from chinwag.api.service import Api

log = logging.getLogger(__name__)

#: Longest value of an application's fields (userAgent, endpointId, culture).
MAX_FIELD = 100
#: Longest text a message may have (longer: TOO_LARGE).
MAX_TEXT = MAX_MESSAGE_CHARS
#: Longest long poll, in seconds.
MAX_TIMEOUT = 180.0
#: Unacknowledged events an application keeps, and characters of message text in them.
MAX_EVENTS = 5_000
MAX_EVENT_CHARS = 4 * 1024 * 1024
#: Events in one batch at most (the next batch has the rest).
MAX_BATCH = 500
#: Applications an account may have; operation ids and invitations an application keeps.
MAX_APPLICATIONS = 50
MAX_OPERATION_IDS = 10_000
MAX_INVITATIONS = 200
#: What counts as a sent message (its completion is Success).
DONE = frozenset({MessageState.SENT, MessageState.DELIVERED, MessageState.READ})
#: UCWA's importance values.
IMPORTANCE = ("Normal", "Low", "High", "Urgent")
#: Address schemes ``to`` may use.
SCHEMES = ("xmpp:", "sip:")


class Problem(enum.Enum):
    """Why a request is refused, as UCWA's error (code, subcode)."""

    BAD_PARAMETER = ("BadRequest", "ParameterValidationFailure")
    NOT_FOUND = ("NotFound", "ResourceNotFound")
    ALREADY_EXISTS = ("Conflict", "AlreadyExists")
    TOO_LARGE = ("EntityTooLarge", "MessageTooLong")
    FAILURE = ("ServiceFailure", "InternalError")
    UNAVAILABLE = ("ServiceUnavailable", "AccountUnavailable")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def subcode(self) -> str:
        return self.value[1]


class UcwaError(Exception):
    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


def bad(message: str) -> UcwaError:
    return UcwaError(Problem.BAD_PARAMETER, message)


def not_found(message: str) -> UcwaError:
    return UcwaError(Problem.NOT_FOUND, message)


# -- what the adapter renders (snapshots: an event keeps the state it was made in) ---------


@dataclass(frozen=True, slots=True)
class Ref:
    """A resource of an application: ``rel`` and the ids that name it."""

    rel: str
    conversation: str = ""
    item: str = ""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an operation failed: UCWA's error shape."""

    code: str
    subcode: str
    message: str


@dataclass(frozen=True, slots=True)
class MeView:
    uri: str
    name: str
    available: bool


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: str
    peer: str
    subject: str
    importance: str
    #: "Connected", or "Disconnected" once stopped.
    state: str


@dataclass(frozen=True, slots=True)
class MessagingView:
    conversation: str
    state: str


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    conversation: str
    incoming: bool
    text: str
    timestamp: float
    #: "Pending", "Success" or "Failure".
    status: str
    operation_id: str = ""


@dataclass(frozen=True, slots=True)
class InvitationView:
    id: str
    conversation: str
    peer: str
    subject: str
    importance: str
    #: "Connecting", "Connected" or "Failed".
    state: str
    operation_id: str
    text: str


@dataclass(frozen=True, slots=True)
class TypingView:
    conversation: str
    peers: tuple[str, ...]


Embedded = MeView | ConversationView | MessagingView | MessageView | InvitationView | TypingView


@dataclass(frozen=True, slots=True)
class UcwaEvent:
    """One event of an application's channel."""

    number: int
    sender: Ref
    link: Ref
    #: added, updated, deleted, started or completed.
    type: str
    status: str = ""
    reason: Reason | None = None
    embedded: Embedded | None = None

    @property
    def chars(self) -> int:
        text = getattr(self.embedded, "text", "")
        return len(text) if isinstance(text, str) else 0


@dataclass(frozen=True, slots=True)
class Batch:
    """What a poll of the channel gives: events (oldest first), the ``ack`` that
    acknowledges them, and whether events were dropped before them (``resync``)."""

    events: tuple[UcwaEvent, ...]
    next_ack: int
    resync: bool


# -- the state of an application -----------------------------------------------------------


class EventQueue:
    """An application's unacknowledged events, bounded (see the module's text)."""

    def __init__(self) -> None:
        self._events: collections.deque[UcwaEvent] = collections.deque()
        self._numbers = itertools.count(1)
        self.last = 0
        self._chars = 0
        #: The number of the last event dropped unread (0: none).
        self.dropped_through = 0
        self._changed = asyncio.Event()
        self.closed = False

    def __len__(self) -> int:
        return len(self._events)

    def push(
        self,
        sender: Ref,
        link: Ref,
        type: str,
        *,
        status: str = "",
        reason: Reason | None = None,
        embedded: Embedded | None = None,
    ) -> UcwaEvent:
        self.last = next(self._numbers)
        event = UcwaEvent(self.last, sender, link, type, status, reason, embedded)
        self._events.append(event)
        self._chars += event.chars
        while len(self._events) > MAX_EVENTS or (
            self._chars > MAX_EVENT_CHARS and len(self._events) > 1
        ):
            dropped = self._events.popleft()
            self._chars -= dropped.chars
            self.dropped_through = dropped.number
        self._wake()
        return event

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def ack(self, number: int) -> None:
        """Every event up to ``number`` is done with."""
        if number < 0 or number > self.last:
            raise bad(f"ack is from 0 to {self.last} (the last event given), not {number}")
        while self._events and self._events[0].number <= number:
            self._chars -= self._events.popleft().chars

    def batch(self, ack: int) -> Batch:
        events = tuple(itertools.islice(self._events, MAX_BATCH))
        next_ack = events[-1].number if events else ack
        return Batch(events, next_ack, ack < self.dropped_through)

    async def wait(self, seconds: float) -> None:
        """Until an event comes, the queue closes, or ``seconds`` pass."""
        if self._events or self.closed or seconds <= 0:
            return
        changed = self._changed
        try:
            async with asyncio.timeout(seconds):
                await changed.wait()
        except TimeoutError:
            pass

    def close(self) -> None:
        self.closed = True
        self._wake()


@dataclass(eq=False)
class Conversation:
    id: str
    peer: str
    subject: str = ""
    importance: str = "Normal"
    typing: bool = False
    stopped: bool = False

    def view(self) -> ConversationView:
        state = "Disconnected" if self.stopped else "Connected"
        return ConversationView(self.id, self.peer, self.subject, self.importance, state)

    def messaging(self) -> MessagingView:
        return MessagingView(self.id, "Disconnected" if self.stopped else "Connected")

    def typing_view(self) -> TypingView:
        return TypingView(self.id, (self.peer,) if self.typing else ())


@dataclass(eq=False)
class Invitation:
    id: str
    conversation: str
    peer: str
    subject: str
    importance: str
    operation_id: str
    text: str
    state: str = "Connecting"

    def view(self) -> InvitationView:
        return InvitationView(
            self.id,
            self.conversation,
            self.peer,
            self.subject,
            self.importance,
            self.state,
            self.operation_id,
            self.text,
        )


@dataclass(eq=False)
class Application:
    id: str
    account: str
    user_agent: str
    endpoint_id: str
    culture: str
    available: bool = False
    used: float = 0.0
    conversations: dict[str, Conversation] = field(default_factory=dict)
    by_peer: dict[str, Conversation] = field(default_factory=dict)
    invitations: collections.OrderedDict[str, Invitation] = field(
        default_factory=collections.OrderedDict
    )
    operations: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)
    #: msgid -> operationId of the messages this application sent.
    sent: collections.OrderedDict[int, str] = field(default_factory=collections.OrderedDict)
    queue: EventQueue = field(default_factory=EventQueue)
    closed: bool = False

    def conversation(self, conversation_id: str) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None:
            raise not_found(f"there is no conversation {conversation_id}")
        return found


@dataclass(frozen=True, slots=True)
class _Pending:
    """A message sent by an application whose completion is still to come."""

    app: Application
    conversation: str
    msgid: int
    invitation: str = ""


COMMUNICATION = Ref("communication")
ME = Ref("me")


def _new_id() -> str:
    return secrets.token_hex(8)


def field_of(fields: Mapping[str, Any], name: str) -> Any:
    """The value of ``name`` in a JSON object whose names are case-insensitive."""
    wanted = name.lower()
    for key, value in fields.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def peer_of(to: object) -> str:
    """The bare address ``to`` names ("xmpp:addr" or "sip:addr")."""
    if not isinstance(to, str) or not to.strip():
        raise bad('to is required: "xmpp:address" or "sip:address"')
    text = to.strip()
    scheme = next((s for s in SCHEMES if text.lower().startswith(s)), None)
    if scheme is None:
        raise bad(f'to is "xmpp:address" or "sip:address", not {to!r}')
    address = text[len(scheme) :].lower()
    try:
        parsed = jids.Jid.parse(address)
    except InvalidAddress as exc:
        raise bad(f"to: {exc.message}") from None
    if not parsed.local or parsed.resource:
        raise bad(f"to: {address} is not a person's address")
    return parsed.bare


class UcwaApi:
    """The applications of every account, over one :class:`~chinwag.api.service.Api`."""

    def __init__(self, api: Api, clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._core = api.core
        self._clock = clock
        self._apps: dict[str, Application] = {}
        self._closed = False
        #: Long polls waiting now (a poll whose client went away stops waiting: the
        #: gateway's handler is cancelled, see :mod:`chinwag.gateways.server`).
        self.polls = 0
        self._polls_changed = asyncio.Event()
        #: message uid -> who waits for its completion.
        self._pending: dict[str, list[_Pending]] = {}
        bus = self._core.bus
        handlers: dict[type[Event], Callable[[Any], None]] = {
            ReceivedLogged: self._on_received,
            MessageStateChanged: self._on_state,
            ChatStateChanged: self._on_chat_state,
            AccountRemoved: self._on_account_removed,
        }
        self._unsubscribe = [bus.subscribe(t, self._guard(h)) for t, h in handlers.items()]

    def close(self) -> None:
        """Stop listening; every poll returns (UNAVAILABLE: Chinwag is closing)."""
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for app in list(self._apps.values()):
            self._drop(app)

    @staticmethod
    def _guard(handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(event: Any) -> None:
            try:
                handler(event)
            except Exception:  # one broken event must not break the core's listeners
                log.exception("UCWA event for %r failed", event)

        return run

    # -- applications ---------------------------------------------------------------------

    def is_account(self, account: str) -> bool:
        return self._core.accounts.find(account) is not None

    def create_application(self, account: str, fields: Mapping[str, Any]) -> Application:
        """A new application, or the account's application with the same endpointId."""
        values: dict[str, str] = {}
        for name, required in (("userAgent", True), ("endpointId", True), ("culture", False)):
            value = field_of(fields, name)
            if value is None:
                if required:
                    raise bad(f"{name} is required")
                continue
            if not isinstance(value, str):
                raise bad(f"{name} is a string")
            if len(value) > MAX_FIELD:
                raise bad(f"{name} has {len(value)} characters; at most {MAX_FIELD} are allowed")
            if required and not value.strip():
                raise bad(f"{name} is empty")
            values[name] = value
        mine = [a for a in self._apps.values() if a.account == account]
        for app in mine:
            if app.endpoint_id == values["endpointId"]:
                app.used = self._clock()
                return app
        if len(mine) >= MAX_APPLICATIONS:
            oldest = min(mine, key=lambda a: a.used)
            log.info("UCWA: %s has %d applications: %s goes", account, len(mine), oldest.id)
            self._drop(oldest)
        app = Application(
            id=_new_id(),
            account=account,
            user_agent=values["userAgent"],
            endpoint_id=values["endpointId"],
            culture=values.get("culture", "en-US"),
            used=self._clock(),
        )
        self._apps[app.id] = app
        return app

    def application(self, account: str, app_id: str) -> Application:
        app = self._apps.get(app_id)
        if app is None or app.account != account:
            raise not_found(f"there is no application {app_id}")
        app.used = self._clock()
        return app

    def applications(self, account: str) -> list[Application]:
        return [a for a in self._apps.values() if a.account == account]

    def delete_application(self, app: Application) -> None:
        self._drop(app)

    def _drop(self, app: Application) -> None:
        self._apps.pop(app.id, None)
        app.closed = True
        app.queue.close()
        for uid in [
            u for u, waiting in self._pending.items() if any(p.app is app for p in waiting)
        ]:
            rest = [p for p in self._pending[uid] if p.app is not app]
            if rest:
                self._pending[uid] = rest
            else:
                del self._pending[uid]

    def me(self, app: Application) -> MeView:
        config = self._core.accounts.find(app.account)
        name = (config.nickname if config is not None else "") or app.account
        return MeView("xmpp:" + app.account, name, app.available)

    def make_me_available(self, app: Application) -> None:
        if app.available:
            raise UcwaError(Problem.ALREADY_EXISTS, "the application is available already")
        app.available = True
        app.queue.push(ME, ME, "updated", embedded=self.me(app))

    # -- conversations ----------------------------------------------------------------------

    def _conversation_for(self, app: Application, peer: str) -> tuple[Conversation, bool]:
        found = app.by_peer.get(peer)
        if found is not None:
            return found, False
        conv = Conversation(_new_id(), peer)
        app.conversations[conv.id] = conv
        app.by_peer[peer] = conv
        return conv, True

    def _announce(self, app: Application, conv: Conversation, new: bool) -> None:
        conv_ref = Ref("conversation", conv.id)
        if new:
            app.queue.push(COMMUNICATION, conv_ref, "added", embedded=conv.view())
        app.queue.push(
            conv_ref,
            Ref("messaging", conv.id),
            "added" if new else "updated",
            embedded=conv.messaging(),
        )

    def _reserve(self, app: Application, operation_id: str | None) -> str:
        if operation_id is None:
            operation_id = _new_id()
        if not isinstance(operation_id, str) or not operation_id.strip():
            raise bad("operationId is a string that is not empty")
        if len(operation_id) > MAX_FIELD:
            raise bad(f"operationId has more than {MAX_FIELD} characters")
        if operation_id in app.operations:
            raise UcwaError(
                Problem.ALREADY_EXISTS,
                f"operationId {operation_id!r} was used already in this application",
            )
        app.operations[operation_id] = None
        while len(app.operations) > MAX_OPERATION_IDS:
            app.operations.popitem(last=False)
        return operation_id

    async def start_messaging(
        self,
        app: Application,
        *,
        to: object,
        text: str | None = None,
        subject: object = None,
        importance: object = None,
        operation_id: str | None = None,
    ) -> Invitation:
        """A conversation with ``to`` (its messaging started; ``text``: its first
        message, sent at once)."""
        peer = peer_of(to)
        if subject is not None and not isinstance(subject, str):
            raise bad("subject is a string")
        if importance is None:
            importance = "Normal"
        if importance not in IMPORTANCE:
            raise bad(f"importance is one of {', '.join(IMPORTANCE)}")
        if peer == app.account:
            raise bad("a conversation is with someone else")
        if text is not None:
            self._check_text(text)
        self._check_account(app.account)
        kind = await self._api.windows.kind_of(app.account, peer)
        if kind is ConversationKind.GROUPCHAT:
            raise bad(f"{peer} is a group chat, not a person")
        if self._core.blocking.is_blocked(app.account, peer):
            raise bad(f"{peer} is blocked")
        operation_id = self._reserve(app, operation_id)
        message = None
        if text is not None:
            try:
                message = await self._send(app.account, peer, text)
            except UcwaError:
                app.operations.pop(operation_id, None)
                raise
        if app.closed:
            raise not_found(f"the application {app.id} is gone")
        conv, new = self._conversation_for(app, peer)
        conv.stopped = False
        if subject:
            conv.subject = str(subject)
        conv.importance = str(importance)
        invitation = Invitation(
            _new_id(), conv.id, peer, conv.subject, conv.importance, operation_id, text or ""
        )
        app.invitations[invitation.id] = invitation
        while len(app.invitations) > MAX_INVITATIONS:
            app.invitations.popitem(last=False)
        ref = Ref("messagingInvitation", item=invitation.id)
        app.queue.push(COMMUNICATION, ref, "started", embedded=invitation.view())
        self._announce(app, conv, new)
        if message is None:
            self._complete_invitation(app, invitation, None)
        else:
            assert message.id is not None
            self._remember_sent(app, message.id, operation_id)
            self._pending.setdefault(message.uid, []).append(
                _Pending(app, conv.id, message.id, invitation.id)
            )
        return invitation

    def invitation(self, app: Application, invitation_id: str) -> Invitation:
        found = app.invitations.get(invitation_id)
        if found is None:
            raise not_found(f"there is no invitation {invitation_id}")
        return found

    def _complete_invitation(
        self, app: Application, invitation: Invitation, reason: Reason | None
    ) -> None:
        invitation.state = "Failed" if reason is not None else "Connected"
        app.queue.push(
            COMMUNICATION,
            Ref("messagingInvitation", item=invitation.id),
            "completed",
            status="Failure" if reason is not None else "Success",
            reason=reason,
            embedded=invitation.view(),
        )

    async def send_message(
        self, app: Application, conversation_id: str, text: str, operation_id: str | None
    ) -> MessageView:
        """Send ``text`` in the conversation; its completion comes on the channel."""
        conv = app.conversation(conversation_id)
        self._check_text(text)
        self._check_account(app.account)
        operation_id = self._reserve(app, operation_id)
        try:
            message = await self._send(app.account, conv.peer, text)
        except UcwaError:
            app.operations.pop(operation_id, None)
            raise
        assert message.id is not None
        self._remember_sent(app, message.id, operation_id)
        self._pending.setdefault(message.uid, []).append(_Pending(app, conv.id, message.id))
        return self._view(message, conv.id, operation_id)

    def _remember_sent(self, app: Application, msgid: int, operation_id: str) -> None:
        app.sent[msgid] = operation_id
        while len(app.sent) > MAX_OPERATION_IDS:
            app.sent.popitem(last=False)

    def set_is_typing(self, app: Application, conversation_id: str) -> None:
        """XEP-0085 composing to the conversation's person (nothing while not
        connected: a typing notice is not worth keeping)."""
        conv = app.conversation(conversation_id)
        self._core.messaging.send_chat_state(app.account, conv.peer, "composing")

    def stop_messaging(self, app: Application, conversation_id: str) -> None:
        """End the conversation (XEP-0085 gone to the person); it is deleted."""
        conv = app.conversation(conversation_id)
        self._core.messaging.send_chat_state(app.account, conv.peer, "gone")
        conv.stopped = True
        del app.conversations[conv.id]
        if app.by_peer.get(conv.peer) is conv:
            del app.by_peer[conv.peer]
        conv_ref = Ref("conversation", conv.id)
        app.queue.push(conv_ref, Ref("messaging", conv.id), "updated", embedded=conv.messaging())
        app.queue.push(COMMUNICATION, conv_ref, "deleted")

    def message(self, app: Application, conversation_id: str, msgid: int) -> MessageView:
        conv = app.conversation(conversation_id)
        message = self._core.store.get_by_id(msgid) if 0 < msgid < 2**63 else None
        if (
            message is None
            or message.account != app.account
            or message.peer != conv.peer
            or message.kind is not ConversationKind.CHAT
            or message.removed
        ):
            raise not_found(f"there is no message {msgid} in this conversation")
        return self._view(message, conv.id, app.sent.get(msgid, ""))

    @staticmethod
    def _view(message: Message, conversation: str, operation_id: str = "") -> MessageView:
        assert message.id is not None
        incoming = message.direction is Direction.INCOMING
        if incoming or message.state in DONE:
            status = "Success"
        elif message.state is MessageState.FAILED:
            status = "Failure"
        else:  # queued, or held while its file uploads: on its way
            status = "Pending"
        return MessageView(
            message.id,
            conversation,
            incoming,
            message.body,
            message.timestamp,
            status,
            operation_id,
        )

    # -- sending ---------------------------------------------------------------------------

    @staticmethod
    def _check_text(text: str) -> None:
        if len(text) > MAX_TEXT:
            raise UcwaError(
                Problem.TOO_LARGE,
                f"the message has {len(text):,} characters; at most {MAX_TEXT:,} are allowed",
            )
        if not text.strip():
            raise bad("the message is empty")

    def _check_account(self, account: str) -> None:
        """UNAVAILABLE unless the account is signed in or on its way (reconnecting: the
        message waits for the connection)."""
        session = self._core.sessions.get(account)
        if session is None:
            raise UcwaError(Problem.UNAVAILABLE, f"{account} is not an account any more")
        if not session.config.enabled:
            raise UcwaError(Problem.UNAVAILABLE, f"the account {account} is disabled")
        if session.state is ConnectionState.ONLINE:
            return
        on_its_way = (ConnectionState.CONNECTING, ConnectionState.RECONNECTING)
        if session.state in on_its_way and session.wanted:
            return
        raise UcwaError(Problem.UNAVAILABLE, self._api.not_signed_in(account))

    async def _send(self, account: str, peer: str, text: str) -> Message:
        try:
            return await self._core.messaging.send(account, peer, text, connect=False)
        except MessageTooLong as exc:
            raise UcwaError(Problem.TOO_LARGE, exc.message) from None
        except InvalidMessage as exc:
            raise bad(exc.message) from None
        except (NotConnected, AccountDisabled, UnknownAccount) as exc:
            raise UcwaError(Problem.UNAVAILABLE, exc.message) from None
        except ChinwagError as exc:
            raise UcwaError(Problem.FAILURE, exc.message) from None

    # -- the event channel -----------------------------------------------------------------

    async def events(self, app: Application, ack: int, wait: float) -> Batch:
        """The events after ``ack`` (those up to it are done with), waiting up to
        ``wait`` seconds (at most :data:`MAX_TIMEOUT`) for one when there is none."""
        if not 0 <= wait <= MAX_TIMEOUT:
            raise bad(f"timeout is from 0 to {MAX_TIMEOUT:g} seconds")
        app.queue.ack(ack)
        self._count_polls(+1)
        try:
            await app.queue.wait(wait)
        finally:
            self._count_polls(-1)
        if self._closed:
            raise UcwaError(Problem.UNAVAILABLE, "Chinwag is closing")
        if app.closed:
            raise not_found(f"the application {app.id} is gone")
        return app.queue.batch(ack)

    def _count_polls(self, change: int) -> None:
        self.polls += change
        self._polls_changed.set()
        self._polls_changed = asyncio.Event()

    async def until_polls(self, count: int) -> None:
        """Until :attr:`polls` is ``count`` (for tests and benchmarks)."""
        while self.polls != count:
            await self._polls_changed.wait()

    def _apps_of(self, account: str) -> Iterator[Application]:
        return (a for a in list(self._apps.values()) if a.account == account)

    def _on_received(self, event: ReceivedLogged) -> None:
        for entry in event.entries:
            message = entry.message
            if (
                entry.report is not None
                or message.kind is not ConversationKind.CHAT
                or message.direction is not Direction.INCOMING
                or message.id is None
            ):
                continue
            for app in self._apps_of(entry.account):
                conv = app.by_peer.get(message.peer)
                new = False
                if conv is None:
                    if not app.available:
                        continue
                    conv, new = self._conversation_for(app, message.peer)
                    self._announce(app, conv, new)
                if conv.typing:  # a message ends the typing
                    conv.typing = False
                    self._typing(app, conv)
                app.queue.push(
                    Ref("conversation", conv.id),
                    Ref("message", conv.id, str(message.id)),
                    "added",
                    embedded=self._view(message, conv.id),
                )

    def _on_state(self, event: MessageStateChanged) -> None:
        message = event.message
        if message.direction is not Direction.OUTGOING:
            return
        if message.state in DONE:
            reason = None
        elif message.state is MessageState.FAILED:
            reason = Reason("RemoteFailure", "DeliveryFailure", message.error or "not delivered")
        else:
            return
        waiting = self._pending.pop(message.uid, [])
        for pending in waiting:
            app = pending.app
            app.queue.push(
                Ref("conversation", pending.conversation),
                Ref("message", pending.conversation, str(pending.msgid)),
                "completed",
                status="Success" if reason is None else "Failure",
                reason=reason,
            )
            invitation = app.invitations.get(pending.invitation) if pending.invitation else None
            if invitation is not None:
                self._complete_invitation(app, invitation, reason)

    def _on_chat_state(self, event: ChatStateChanged) -> None:
        if event.kind is not ConversationKind.CHAT:
            return
        typing = event.state == "composing"
        for app in self._apps_of(event.account):
            conv = app.by_peer.get(jids.bare(event.peer))
            if conv is not None and conv.typing != typing:
                conv.typing = typing
                self._typing(app, conv)

    @staticmethod
    def _typing(app: Application, conv: Conversation) -> None:
        app.queue.push(
            Ref("conversation", conv.id),
            Ref("typingParticipants", conv.id),
            "updated",
            embedded=conv.typing_view(),
        )

    def _on_account_removed(self, event: AccountRemoved) -> None:
        for app in list(self._apps_of(event.account)):
            self._drop(app)
