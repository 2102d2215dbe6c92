"""One-to-one messaging: the outbox that never loses a message, and the inbound pipeline.

Outgoing: validate -> commit as QUEUED -> publish -> send when signed in; the state then
moves on with the server's ack (sent), the receipt (delivered) and the displayed marker
(read), or to failed with the server's reason. Messages still QUEUED are sent again,
with the same id, after every new session and after a restart, so the receiver can drop
a duplicate.

Incoming (live, carbons, archive): the inbound pipeline (:mod:`chinwag.core.inbound`:
normalise -> store -> apply actions -> publish -> acknowledge, and what features add), in
arrival order, batched into one transaction per burst; delivery receipts go out only once
a message is stored.
After every new session the server archive (XEP-0313) is read from the last archive id
seen, so nothing that arrived while away is missing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from chinwag.core import jid as jids
from chinwag.core.conversations import ConversationService
from chinwag.core.errors import (
    AccountDisabled,
    InvalidMessage,
    MessageTooLong,
    NotConnected,
    RequestRefused,
    RoomRefused,
    StorageUnavailable,
    UnknownAccount,
)
from chinwag.core.events import (
    ArchiveSynced,
    ChatStateChanged,
    EventBus,
    MessageAdded,
    MessageReleased,
    MessageStateChanged,
    ReceivedLogged,
    StorageFailed,
    StorageRecovered,
)
from chinwag.core.inbound import (
    PUBLISH,
    ArchivePage,
    Batch,
    HeldMessagesDropped,
    Item,
    Pipeline,
)
from chinwag.core.inbound_stages import (
    Acknowledge,
    ApplyActions,
    NormaliseTimes,
    Publish,
    RoomsJoined,
    StoreMessages,
    publish_outcomes,
)
from chinwag.core.models import (
    MAX_MESSAGE_CHARS,
    MAX_REACTION_CHARS,
    MAX_REACTIONS,
    REFUSED_UNKNOWN,
    ActionOutcome,
    ConnectionState,
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    MessageAction,
    MessageState,
    MessageType,
    Origin,
    Received,
    Role,
    RoomState,
    StreamState,
)
from chinwag.core.ports import MessageStore, XmppConnection
from chinwag.core.tasks import BackgroundTasks

if TYPE_CHECKING:
    from chinwag.core.rooms import RoomService
    from chinwag.core.session import AccountSession

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Name under which the newest archive id seen is kept per account.
ARCHIVE_POSITION = "mam_last_id"
#: How far back the first catch-up of a new account reaches.
FIRST_CATCH_UP_SECONDS = 7 * 24 * 3600
#: The XEP-0198 stream to resume after a restart (StreamState as JSON; "" for none).
STREAM_STATE = "stream"
#: When this account was last signed in (offline stamps are clamped to after it).
LAST_ONLINE = "last_online"
#: Sync-state name: our corrections, retractions and reactions the server has not
#: acknowledged yet (not sent, or sent on a stream that may end before its ack), as JSON,
#: so that neither a dropped stream nor quitting loses one.
PENDING_ACTIONS = "pending_actions"
#: The sync-state key of a room's archive position: this, then the room's address. The
#: position is the newest archive id of the room up to which its history is stored
#: without a gap (back to where the first visit stopped): a catch-up moves it only once it
#: has read back to it, and live messages move it after that.
ROOM_ARCHIVE_POSITION = "room_archive_position:"
#: The sync-state key of what a catch-up cut short had stored above the position: one
#: unbroken run of the room's archive, as JSON [newest id, oldest id]. The next catch-up
#: reads back to its newest id, then goes on from before its oldest.
ROOM_ARCHIVE_RUN = "room_archive_run:"
#: How far back a room's history goes the first time we enter it ...
ROOM_FIRST_HISTORY_SECONDS = 2 * 24 * 3600
#: ... and how many of the room's archived results at most (the newest page, then a few
#: older ones): the window shows the newest; the rest of a busy room's archive is not
#: needed to join it.
ROOM_FIRST_VISIT_RESULTS = 200
#: The room's newest page, read first (the window waits for it), and the pages read
#: back from it (a server may give fewer: Prosody's rooms at most 50 by default).
ROOM_NEWEST_PAGE = 50
ROOM_OLDER_PAGE = 250
#: How far before the stored position's message a catch-up's time bound is (clocks
#: differ; the bound only keeps a position the archive has lost from reading it all).
ROOM_POSITION_SLACK = 24 * 3600.0
#: How far before the last sign-in a catch-up by time starts (clocks differ).
CATCH_UP_SLACK = 3600.0
#: The longest :meth:`MessagingService.fill_gaps` waits for the archive before the
#: local log is served as it is.
FILL_GAPS_TIMEOUT = 10.0
#: How far before an unacknowledged message the archive is searched for it (clocks differ).
IN_DOUBT_SLACK = 300.0
#: Longest pause between two tries to write received messages while the disk is full.
STORAGE_RETRY_CAP = 5.0
CHAT_STATES = frozenset({"active", "composing", "paused", "inactive", "gone"})
#: The longest reason given for removing someone's message in a room.
MAX_REASON_CHARS = 1024


def _xml_safe(text: str) -> bool:
    """True when every character can be carried in XML 1.0 (what XMPP uses)."""
    return not any(
        (ord(ch) < 0x20 and ch not in "\t\n\r")
        or 0xD800 <= ord(ch) <= 0xDFFF
        or ord(ch) in (0xFFFE, 0xFFFF)
        for ch in text
    )


def _as_time(value: str | None, default: float) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default


_ACTION_FIELDS = (
    "peer",
    "kind",
    "uid",
    "body",
    "timestamp",
    "sender_resource",
    "replaces",
    "retracts",
    "reacts_to",
    "reactions",
    "payload",
)


def reference(message: Message) -> str:
    """The id others know ``message`` by when a retraction, reactions or a reply name
    it: in a room the room's stanza id (XEP-0424, XEP-0444, XEP-0461), elsewhere its own
    (a correction always names its own first id: XEP-0308)."""
    if message.kind is ConversationKind.GROUPCHAT and message.stanza_id:
        return message.stanza_id
    return message.uid


def _position_key(archive: str) -> str:
    """The sync-state key of an archive's position: ours, or a room's."""
    return f"{ROOM_ARCHIVE_POSITION}{archive}" if archive else ARCHIVE_POSITION


def _read_run(text: str | None) -> tuple[str, str] | None:
    """A saved run of a room's archive (see :data:`ROOM_ARCHIVE_RUN`), or None."""
    try:
        newest, oldest = json.loads(text) if text else ("", "")
    except (ValueError, TypeError):
        return None
    if isinstance(newest, str) and isinstance(oldest, str) and newest and oldest:
        return newest, oldest
    return None


def _actions_to_json(actions: Sequence[Message]) -> str:
    return json.dumps(
        [{name: getattr(a, name) for name in _ACTION_FIELDS} for a in actions],
        ensure_ascii=False,
    )


def _actions_from_json(account: str, text: str | None) -> list[Message]:
    """Actions saved by :func:`_actions_to_json` (what cannot be read is dropped)."""
    try:
        saved = json.loads(text) if text else []
        return [
            Message(
                account=account,
                peer=str(item["peer"]),
                direction=Direction.OUTGOING,
                body=str(item["body"]),
                timestamp=float(item["timestamp"]),
                uid=str(item["uid"]),
                kind=ConversationKind(item["kind"]),
                sender=account,
                sender_resource=str(item["sender_resource"]),
                origin=Origin.LOCAL,
                replaces=str(item["replaces"]),
                retracts=str(item["retracts"]),
                reacts_to=str(item["reacts_to"]),
                reactions=tuple(str(r) for r in item["reactions"]),
                payload=str(item.get("payload", "")),  # (none saved before version 7)
            )
            for item in saved
        ]
    except (ValueError, TypeError, KeyError):
        log.warning("%s: unreadable pending actions dropped: %.200r", account, text)
        return []


def author_of(message: Message) -> str:
    """The bare address of who wrote ``message``."""
    if message.outgoing:
        return message.account
    return message.sender or message.peer


def validate_body(body: str) -> None:
    """Raise a clear error for a body that cannot be sent."""
    if not isinstance(body, str):
        raise InvalidMessage("the message text must be a string")
    if len(body) > MAX_MESSAGE_CHARS:
        raise MessageTooLong(
            f"the message has {len(body):,} characters; at most {MAX_MESSAGE_CHARS:,} are allowed"
        )
    if not body.strip():
        raise InvalidMessage("the message is empty")
    if not _xml_safe(body):
        raise InvalidMessage("the message contains control characters that XMPP cannot carry")


class MessagingService:
    """Sends, receives, and tracks the state of one-to-one messages of every account."""

    def __init__(
        self,
        store: MessageStore,
        bus: EventBus,
        sessions: Mapping[str, AccountSession],
        clock: Callable[[], float] = time.time,
        conversations: ConversationService | None = None,
    ) -> None:
        self._store = store
        #: Read positions move with displayed markers, ours and the others'.
        self._conversations = conversations or ConversationService(store, bus)
        self._bus = bus
        self._sessions = sessions
        self._clock = clock
        #: Privacy preferences (the UI sets them, see :attr:`send_chat_states`).
        self._send_chat_states = True
        self._send_read_markers = True
        self._conns: dict[str, XmppConnection] = {}
        #: uids handed to the connection and not yet acked, per account: on a resumed
        #: stream the connection resends these itself.
        self._in_flight: dict[str, set[str]] = {}
        self._inbox: list[Item] = []
        #: What to call once the inbox as it is now is committed.
        self._inbox_done: list[Callable[[], None]] = []
        #: The batch of the inbox going through the pipeline now.
        self._batch: Batch | None = None
        #: Set by a final drain: stop retrying writes the disk does not take.
        self._final = False
        self._retry_wake = asyncio.Event()
        #: The reason history cannot be written, while it cannot.
        self._storage_down: str | None = None
        #: Per account: when it was last signed in before this session (offline stamps
        #: are kept no earlier than that).
        self._offline_floor: dict[str, float] = {}
        self._inbox_task: asyncio.Task[None] | None = None
        self._catch_up: dict[str, asyncio.Task[None]] = {}
        #: Every catch-up task not finished yet, also those cancelled (a task cancelled
        #: before its first step still has to run it: the final drain waits for that).
        self._every_catch_up: set[asyncio.Task[None]] = set()
        #: uids handed to a stream in this run and not yet known to be taken: after a
        #: stream ends without resumption, whether the server took them is in doubt.
        self._handed: dict[str, set[str]] = {}
        #: uids acknowledged by the server whose "sent" is still being written: not queued.
        self._acked_unwritten: dict[str, set[str]] = {}
        #: Accounts with a session in this run (before it, every queued message is in doubt).
        self._had_session: set[str] = set()
        #: Per account: uids whose fate is unknown until our archive says (see on_online).
        self._in_doubt: dict[str, set[str]] = {}
        store.on_received = self._logged
        #: Accounts whose in-doubt messages are being looked up: nothing is sent meanwhile.
        self._checking: set[str] = set()
        self._archive_synced: set[str] = set()
        #: (account, room) whose archive was caught up with since we last entered it.
        self._rooms_synced: set[tuple[str, str]] = set()
        self._room_catch_up: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: The longest :meth:`fill_gaps` waits for the archive.
        self.fill_gaps_timeout = FILL_GAPS_TIMEOUT
        self._receipts_due: dict[str, list[tuple[str, str]]] = {}
        #: Our corrections, retractions and reactions the server has not acknowledged,
        #: per account, in the order made (kept in PENDING_ACTIONS): a new stream sends
        #: them again, after the outbox.
        self._actions_due: dict[str, list[Message]] = {}
        #: Whether ``account`` is in the room ``peer`` now (the room service says; none
        #: until it is wired in): a room's messages wait until it is.
        self.room_joined: Callable[[str, str], bool] = lambda _account, _room: False
        #: The rooms (who we are there, who the others are): moderation and the
        #: room's read markers need them (none until it is wired in).
        self.rooms: RoomService | None = None
        #: uids of those handed to the current stream: a resumed stream resends them.
        self._actions_handed: dict[str, set[str]] = {}
        self._tasks = BackgroundTasks("messaging task")
        storing = StoreMessages(store, self._retrying)
        #: What received stanzas go through, in batches (live, carbons, offline storage,
        #: the archive); a feature adds its own stages here (see :mod:`chinwag.core.inbound`).
        self.inbound = Pipeline(
            [
                NormaliseTimes(),
                RoomsJoined(),
                storing,
                ApplyActions(store, self._retrying, storing),
                Publish(bus, store),
                Acknowledge(
                    self._send_receipt,
                    self._is_synced,
                    self._save_archive_position,
                    self._tasks.spawn,
                ),
            ]
        )

    # -- sending ------------------------------------------------------------------------

    async def send(
        self,
        account: str,
        peer: str,
        body: str,
        *,
        mtype: MessageType = MessageType.NORMAL,
        flags: int = 0,
        subject: str = "",
        connect: bool = False,
        reply_to: Message | None = None,
        kind: ConversationKind = ConversationKind.CHAT,
        payload: str = "",
        letter: bool = False,
        held: bool = False,
    ) -> Message:
        """Commit a message for sending and send it if signed in; returns the stored
        message (its ``uid`` names it from now on). ``reply_to``: the message of the
        conversation this one answers (XEP-0461). ``kind`` GROUPCHAT: to a room (sent
        while we are in it; until then it waits in the outbox). ``payload``: data for
        applications, a JSON array of objects as text (XEP-0335). ``letter``: a single
        message (type ``normal``) rather than a line of a chat, kept with the message.

        Not signed in: :class:`NotConnected`, unless ``connect`` and the account was
        not signed out on purpose (then it signs in and the message waits for it).
        Disabled: :class:`AccountDisabled`. Reconnecting: the message waits in the outbox.

        ``held``: commit it but do not send it: it is stored HELD, which no outbox flush
        (nor a restart) sends; :meth:`release` sends it once it is ready, or
        :meth:`fail_held` says why it never will be (a file's message waits so for its
        upload, see ``core.files``)."""
        session = self._sessions.get(account)
        if session is None:
            raise UnknownAccount(f"no account {account!r}")
        peer = jids.bare(peer)
        validate_body(body)
        if not session.config.enabled:
            raise AccountDisabled(f"the account {account} is disabled")
        start = False
        if (
            session.state in (ConnectionState.OFFLINE, ConnectionState.FAILED)
            and not session.wanted
        ):
            if not connect or session.signed_out:
                raise NotConnected(f"{account} is not signed in")
            start = True
        message = Message(
            account=account,
            peer=peer,
            direction=Direction.OUTGOING,
            body=body,
            timestamp=self._clock(),
            kind=kind,
            sender=account,
            sender_resource=session.config.resource,
            state=MessageState.QUEUED,
            mtype=mtype,
            flags=flags,
            subject=subject,
            origin=Origin.LOCAL,
            reply_to=reference(reply_to) if reply_to is not None else "",
            reply_to_jid=author_of(reply_to) if reply_to is not None else "",
            payload=payload,
            letter=letter and kind is ConversationKind.CHAT,
        )
        if held:
            message = replace(message, state=MessageState.HELD)
        message = await self._store.add_outgoing(message)
        self._bus.publish(MessageAdded(message))
        if held:
            if start:
                session.start()  # (what it waits for needs the account signed in)
            return message
        conn = self._conns.get(account)
        if conn is not None and account not in self._checking and self._may_send(message):
            self._transmit(conn, message)
        elif start:
            session.start()
        return message

    async def correct(self, message: Message, text: str, payload: str | None = None) -> Message:
        """Replace the text of our own ``message`` (XEP-0308): stored at once, sent to the
        peer now or, while the account is reconnecting, once it is online. Returns the
        message as it is now (first id, new text, ``edited_at``). ``payload`` replaces
        its payload too (None: kept; the correction carries it, as it replaces the
        whole message)."""
        return (await self.edit(message, text, payload)).target or message

    async def edit(self, message: Message, text: str, payload: str | None = None) -> ActionOutcome:
        """:meth:`correct`, telling what the correction did (its sequence in the log)."""
        validate_body(text)
        if not message.outgoing:
            raise InvalidMessage("only your own messages can be edited")
        current = self._store.get(message.account, message.peer, message.uid, message.kind)
        if (current or message).state is MessageState.HELD:
            # (its text becomes its file's link once uploaded: an edit would be lost)
            raise InvalidMessage("a file's message cannot be edited while the file uploads")
        kept = message.payload if payload is None else payload
        return await self._act(message, body=text, replaces=message.uid, payload=kept)

    async def retract(self, message: Message) -> Message:
        """Remove our own ``message`` for everyone (XEP-0424): a tombstone stays."""
        return (await self.remove(message)).target or message

    async def remove(self, message: Message) -> ActionOutcome:
        """:meth:`retract`, telling what the retraction did (its sequence in the log)."""
        if not message.outgoing:
            raise InvalidMessage("only your own messages can be removed")
        return await self._act(message, retracts=reference(message))

    async def moderate(self, message: Message, reason: str = "") -> None:
        """Remove anyone's ``message`` in a room for everyone (XEP-0425), as a moderator
        there: the room is asked (naming its stanza id), and its announcement, to every
        occupant, makes the message a tombstone here as everywhere (MessageRemoved).
        :class:`InvalidMessage` for a message that is no room's (or has no id of the
        room's yet); :class:`NotConnected` when we are not in the room;
        :class:`RoomRefused` (``forbidden``) when we are no moderator there, before
        anything is sent, or with the room's condition when it refuses."""
        if message.kind is not ConversationKind.GROUPCHAT:
            raise InvalidMessage("only a room's messages can be moderated")
        if not message.stanza_id:
            raise InvalidMessage("the room has not given that message its id yet")
        if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
            raise InvalidMessage(f"a reason has at most {MAX_REASON_CHARS} characters")
        if not _xml_safe(reason):
            raise InvalidMessage("the reason contains control characters that XMPP cannot carry")
        account, room = message.account, message.peer
        found = self.rooms.room(account, room) if self.rooms is not None else None
        conn = self._conns.get(account)
        if found is None or not found.joined or conn is None:
            raise NotConnected(f"not in {room}")
        role = found.me.role if found.me is not None else Role.NONE
        if role is not Role.MODERATOR:
            raise RoomRefused(
                f"{room}: only a moderator may remove others' messages (your role there "
                f"is {role.value})",
                "forbidden",
            )
        try:
            await conn.moderate_message(room, message.stanza_id, reason)
        except RoomRefused:
            raise
        except RequestRefused as exc:
            raise RoomRefused(str(exc), exc.condition) from exc

    async def react(self, message: Message, reactions: Sequence[str]) -> Message:
        """Set our reactions to ``message`` (XEP-0444): all of them, replacing the ones
        before (none: take them all back)."""
        chosen = tuple(dict.fromkeys(r for r in reactions if r))
        if len(chosen) > MAX_REACTIONS:
            raise InvalidMessage(f"at most {MAX_REACTIONS} reactions to a message")
        if any(len(r) > MAX_REACTION_CHARS for r in chosen):
            raise InvalidMessage("a reaction is an emoji, not a text")
        outcome = await self._act(message, reacts_to=reference(message), reactions=chosen)
        return outcome.target or message

    async def _act(self, target: Message, **action: Any) -> ActionOutcome:
        account = target.account
        session = self._sessions.get(account)
        if session is None:
            raise UnknownAccount(f"no account {account!r}")
        if not session.config.enabled:
            raise AccountDisabled(f"the account {account} is disabled")
        if session.state in (ConnectionState.OFFLINE, ConnectionState.FAILED) and not (
            session.wanted
        ):
            raise NotConnected(f"{account} is not signed in")
        stanza = Message(
            account=account,
            peer=target.peer,
            direction=Direction.OUTGOING,
            body=action.pop("body", ""),
            timestamp=self._clock(),
            kind=target.kind,
            sender=account,
            sender_resource=session.config.resource,
            state=MessageState.QUEUED,
            origin=Origin.LOCAL,
            **action,
        )
        outcomes = await self._store.apply_actions([stanza])
        outcome = outcomes[0] if outcomes else None
        if outcome is None or outcome.target is None or outcome.refused:
            why = outcome.refused if outcome is not None else "no such message"
            raise InvalidMessage(f"cannot {stanza.action.name.lower()} that message: {why}")
        self._publish_outcomes([outcome])
        if self._never_sent(outcome.target) and stanza.action in (
            MessageAction.CORRECT,
            MessageAction.RETRACT,
        ):
            # Still in our outbox: a correction goes with it (the row has the new text),
            # and a removed one is not sent at all (the outbox skips it), nor is what was
            # done to it meanwhile (a reaction to it: due, never handed over either).
            if stanza.action is MessageAction.RETRACT:
                await self._drop_due_on(account, outcome.target.uid)
            return outcome
        # Kept (in the store, before it goes out) until the server acknowledges it: a
        # stream that ends before that sends it again, and so does the next run. While
        # reconnecting it goes once online, after the outbox.
        self._due_actions(account).append(stanza)
        await self._save_due_actions(account)
        conn = self._conns.get(account)
        if conn is not None and account not in self._checking:
            self._send_due_actions(account, conn)
        return outcome

    def _never_sent(self, message: Message) -> bool:
        """Ours, still queued (as stored now), and never handed to a stream (in this run
        or, in doubt, in one before), or held (its file uploading: never sent): the
        server cannot have it."""
        account, uid = message.account, message.uid
        return (
            message.outgoing
            and message.state in (MessageState.QUEUED, MessageState.HELD)
            and uid not in self._in_flight.get(account, set())
            and uid not in self._handed.get(account, set())
            and uid not in self._acked_unwritten.get(account, set())
            and uid not in self._in_doubt.get(account, set())
            # a run before may have sent a queued one
            and (message.state is MessageState.HELD or account in self._had_session)
        )

    def _due_actions(self, account: str) -> list[Message]:
        """Actions waiting for the account to be online; those a run before left, too."""
        due = self._actions_due.get(account)
        if due is None:
            due = self._actions_due[account] = _actions_from_json(
                account, self._store.get_sync_state(account, PENDING_ACTIONS)
            )
        return due

    async def _save_due_actions(self, account: str) -> None:
        # (the list as it is when written: saves that overlap, or are retried, never
        # write an older list over a newer one)
        await self._retrying(
            lambda: self._store.set_sync_state(
                account, PENDING_ACTIONS, _actions_to_json(self._actions_due.get(account, []))
            )
        )

    def _send_due_actions(self, account: str, conn: XmppConnection) -> None:
        """Hand ``conn`` every due action it does not hold yet, in the order made. With
        stream management they stay due until acknowledged (:meth:`on_acked`); without
        it, handing them over is all we know."""
        due = self._due_actions(account)
        handed = self._actions_handed.setdefault(account, set())
        sent = [action for action in due if action.uid not in handed]
        for action in sent:
            conn.send_message(action)
        if conn.acks_enabled:
            handed.update(action.uid for action in sent)
        elif sent:
            due[:] = [action for action in due if action.uid in handed]
            self._tasks.spawn(self._save_due_actions(account))

    async def _drop_due_on(self, account: str, target: str) -> None:
        """Forget the due actions on ``target`` that no stream was handed."""
        due = self._due_actions(account)
        handed = self._actions_handed.get(account, set())
        kept = [a for a in due if a.target != target or a.uid in handed]
        if len(kept) != len(due):
            due[:] = kept
            await self._save_due_actions(account)

    def _action_done(self, account: str, uid: str) -> bool:
        """The server took (or refused) our action ``uid``: it is due no more. False when
        ``uid`` is no due action."""
        due = self._due_actions(account)
        if not any(action.uid == uid for action in due):
            return False
        due[:] = [action for action in due if action.uid != uid]
        self._actions_handed.get(account, set()).discard(uid)
        self._tasks.spawn(self._save_due_actions(account))
        return True

    async def retry(self, message: Message) -> Message | None:
        """Send a FAILED (or HELD) message again (same id): it is QUEUED, and sent now
        when it may be (signed in; a room's while we are in the room), else by the
        outbox. None when it was neither failed nor held."""
        updated = await self._store.update_state(
            message.account, message.peer, message.uid, MessageState.QUEUED
        )
        if updated is None:
            return None
        self._bus.publish(MessageStateChanged(updated))
        if message.state is MessageState.HELD:
            self._bus.publish(MessageReleased(updated))
        self._in_flight.get(updated.account, set()).discard(updated.uid)
        conn = self._conns.get(updated.account)
        if conn is not None and updated.account not in self._checking and self._may_send(updated):
            self._transmit(conn, updated)
        return updated

    async def release(self, message: Message) -> Message | None:
        """A HELD message is ready (its file is uploaded): it is sent as :meth:`send`
        sends (QUEUED; a room's waits in the outbox while we are entering the room). One
        for a room we are not in (we left it, were removed, or never entered it in this
        run) fails instead: nothing is sent into a room we are not in. None when the
        message was not held (it failed or went meanwhile)."""
        current = self._store.get(message.account, message.peer, message.uid, message.kind)
        if current is None or current.state is not MessageState.HELD:
            return None
        if current.removed:  # (its author took it back meanwhile)
            return await self.fail_held(current, "it was removed before its file was uploaded")
        if current.kind is ConversationKind.GROUPCHAT:
            why = self._not_in_room(current.account, current.peer)
            if why:
                return await self.fail_held(current, why)
        return await self.retry(current)

    def _not_in_room(self, account: str, room: str) -> str:
        """Why we are not in ``room`` ("" : we are, or are entering it, again as after a
        reconnection: a message waits in the outbox for that)."""
        found = self.rooms.room(account, room) if self.rooms is not None else None
        if found is None:
            return f"you are not in {room}"
        if found.state in (RoomState.JOINED, RoomState.JOINING):
            return ""
        return f"you are no longer in {room}"

    async def hold(self, message: Message) -> Message | None:
        """Hold a FAILED message again (its file is being uploaded again); None when it
        was not failed."""
        updated = await self._store.update_state(
            message.account, message.peer, message.uid, MessageState.HELD
        )
        if updated is not None:
            self._bus.publish(MessageStateChanged(updated))
        return updated

    async def fail_held(self, message: Message, reason: str) -> Message | None:
        """A HELD message will not be sent: FAILED with ``reason`` (its file's upload
        failed, was cancelled or interrupted). None when it was not held."""
        current = self._store.get(message.account, message.peer, message.uid, message.kind)
        if current is None or current.state is not MessageState.HELD:
            return None
        updated = await self._store.update_state(
            message.account, message.peer, message.uid, MessageState.FAILED, reason
        )
        if updated is not None:
            self._bus.publish(MessageStateChanged(updated))
        return updated

    def _transmit(self, conn: XmppConnection, message: Message) -> None:
        flight = self._in_flight.setdefault(message.account, set())
        if message.uid in flight:  # already handed over (a flush raced with send())
            return
        conn.send_message(message)
        self._handed.setdefault(message.account, set()).add(message.uid)
        flight.add(message.uid)
        if not conn.acks_enabled:  # no XEP-0198: handing it to the server is all we know
            self._tasks.spawn(self._sent_without_acks(message))

    async def _sent_without_acks(self, message: Message) -> None:
        # (in flight until then: a flush meanwhile must not send it again)
        await self._sent(message.account, message.peer, message.uid, self._in_flight)

    async def _sent(self, account: str, peer: str, uid: str, guard: dict[str, set[str]]) -> None:
        """Write SENT, then take ``uid`` out of ``guard`` (which held it meanwhile)."""
        try:
            await self._set_state(account, peer, uid, MessageState.SENT)
        finally:
            guard.get(account, set()).discard(uid)

    # -- privacy ------------------------------------------------------------------------

    @property
    def send_chat_states(self) -> bool:
        """Tell contacts when we type (XEP-0085). Off, no chat state leaves on anything
        sent (each connection withholds them: :meth:`XmppConnection.set_privacy`)."""
        return self._send_chat_states

    @send_chat_states.setter
    def send_chat_states(self, on: bool) -> None:
        self._send_chat_states = on
        self.share_privacy()

    @property
    def send_read_markers(self) -> bool:
        """Tell contacts when we have read their messages (XEP-0333 displayed markers).
        Off, our read position still moves here; nothing about it goes out."""
        return self._send_read_markers

    @send_read_markers.setter
    def send_read_markers(self, on: bool) -> None:
        self._send_read_markers = on
        self.share_privacy()

    def share_privacy(self, conn: XmppConnection | None = None) -> None:
        """Hand the privacy switches to ``conn`` (None: every connection online). The
        session hands them to a connection whose session starts before anything of ours
        goes on it, its first presence included (whose XEP-0115 hash says whether we
        do chat states and chat markers)."""
        for each in [conn] if conn is not None else list(self._conns.values()):
            each.set_privacy(
                chat_states=self._send_chat_states, read_markers=self._send_read_markers
            )

    def send_chat_state(
        self,
        account: str,
        peer: str,
        state: str,
        kind: ConversationKind = ConversationKind.CHAT,
    ) -> None:
        """XEP-0085: tell ``peer`` (a contact, or a room) we are composing, paused,
        active, inactive or gone."""
        if state not in CHAT_STATES:
            raise InvalidMessage(f"unknown chat state {state!r}")
        conn = self._conns.get(account)
        if conn is not None and self.send_chat_states:
            conn.send_chat_state(jids.bare(peer), state, kind)

    async def mark_displayed(self, key: ConversationKey) -> list[Message]:
        """The user has seen the conversation: incoming messages become DISPLAYED and the
        sender gets one displayed marker for the newest of them (XEP-0333)."""
        newest = self._store.latest(key, 1)
        incoming = [m for m in newest if m.direction is Direction.INCOMING]
        if not incoming:
            unread = [m for m in self._store.latest(key, 50) if m.direction is Direction.INCOMING]
            if not unread:
                return []
            incoming = unread[-1:]
        last = incoming[-1]
        before = self._conversations.own_position(key)
        changed = await self._store.mark_displayed_up_to(key, last.uid)  # (moves ours too)
        for m in changed:
            self._bus.publish(MessageStateChanged(m))
        conn = self._conns.get(key.account)
        if changed and conn is not None and self.send_read_markers:  # (in a room: its id)
            conn.send_displayed(key.peer, reference(last), key.kind)
        if newest and newest[0].uid != last.uid:  # our own replies after it: seen too
            await self._conversations.read_up_to(key, key.account, newest[0])
        else:
            self._conversations.announce_own(key, before)
        return changed

    async def mark_read(self, key: ConversationKey, sequence: int) -> int:
        """Our read position in the conversation moves forward to ``sequence`` of its
        event log (never past its last): the incoming messages up to there become
        DISPLAYED, and their senders (a room: the room, naming its stanza id) get a
        displayed marker for the newest of them (XEP-0333). Returns our position now."""
        before = self._conversations.own_position(key)
        last = self._store.incoming_up_to(key, sequence)
        if last is not None:
            changed = await self._store.mark_displayed_up_to(key, last.uid)
            for m in changed:
                self._bus.publish(MessageStateChanged(m))
            conn = self._conns.get(key.account)
            if changed and conn is not None and self.send_read_markers:
                conn.send_displayed(key.peer, reference(last), key.kind)
        now = await self._store.set_read_sequence(key, sequence)
        self._conversations.announce_own(key, before)
        return now if now is not None else before

    # -- connection life ----------------------------------------------------------------

    def on_online(self, account: str, conn: XmppConnection, resumed: bool) -> None:
        self._conns[account] = conn
        if not resumed:
            now = self._clock()
            last = self._store.get_sync_state(account, LAST_ONLINE)
            self._offline_floor[account] = _as_time(last, now - FIRST_CATCH_UP_SECONDS)
            self._tasks.spawn(self._set_sync(account, LAST_ONLINE, repr(now)))
        for to, uid in self._receipts_due.pop(account, []):
            conn.send_receipt(to, uid)
        in_flight = self._in_flight.setdefault(account, set())
        first = account not in self._had_session
        self._had_session.add(account)
        actions = self._actions_handed.setdefault(account, set())
        if resumed:
            # The resumed stream resends what it still holds unacked; a message handed
            # over just as the old socket died never got that far, so send it here.
            unacked = conn.unacked_uids()
            in_flight &= unacked
            actions &= unacked  # (the same for our actions)
        else:
            in_flight.clear()  # a new stream: the connection forgot what it had not got acked
            actions.clear()  # so our actions not acknowledged go again (after the outbox)
        doubt = self._in_doubt.setdefault(account, set())
        if first or not resumed:
            settled = self._acked_unwritten.get(account, set())
            pending = [
                m.uid
                for m in self._store.pending_outgoing(account)
                if m.uid not in in_flight and m.uid not in settled
            ]
            if first:  # a run before may have sent them (resumed: those it knew are settled)
                doubt.update(pending)
            else:
                handed = self._handed.setdefault(account, set())
                doubt.update(uid for uid in pending if uid in handed)
        # (resumed: what a look-up cut short by the drop left in doubt is looked up again)
        if resumed and not doubt and account in self._archive_synced:
            self._flush(account, conn)
            return
        self._archive_synced.discard(account)
        old = self._catch_up.pop(account, None)
        if old is not None:
            old.cancel()
        if doubt:
            self._checking.add(account)  # sending waits for the look-up (order)
        else:
            self._flush(account, conn)
        task = asyncio.create_task(self._after_new_session(account, conn), name=f"mam {account}")
        self._catch_up[account] = task
        self._every_catch_up.add(task)  # (shutdown waits for them, cancelled ones too)
        task.add_done_callback(self._every_catch_up.discard)

    def _flush(self, account: str, conn: XmppConnection) -> None:
        """Send every queued message of ``account`` not handed to this stream yet (nor
        acknowledged, its state still being written)."""
        self._send_pending(account, conn, self._may_send)
        # Then what was done to messages and not acknowledged: after them, never before.
        self._send_due_actions(account, conn)

    def _send_pending(
        self, account: str, conn: XmppConnection, which: Callable[[Message], bool]
    ) -> None:
        """Hand to ``conn`` the queued messages of ``account`` that ``which`` picks and
        that are neither handed to this stream yet nor acknowledged."""
        in_flight = self._in_flight.setdefault(account, set())
        settled = self._acked_unwritten.get(account, set())
        for message in self._store.pending_outgoing(account):
            if message.uid not in in_flight and message.uid not in settled and which(message):
                self._transmit(conn, message)

    def _may_send(self, message: Message) -> bool:
        """A room's message goes out only while we are in the room."""
        return message.kind is ConversationKind.CHAT or self.room_joined(
            message.account, message.peer
        )

    def flush_room(self, account: str, room: str) -> None:
        """We are in ``room`` now: send what waited for it."""
        conn = self._conns.get(account)
        if conn is None or account in self._checking:
            return  # (the flush after the look-up sends it)
        self._send_pending(
            account, conn, lambda m: m.kind is ConversationKind.GROUPCHAT and m.peer == room
        )

    async def _after_new_session(self, account: str, conn: XmppConnection) -> None:
        try:
            if self._in_doubt.get(account):
                try:
                    await self._settle_in_doubt(account, conn)
                finally:
                    self._checking.discard(account)
                if self._conns.get(account) is conn:
                    self._flush(account, conn)
            await self._catch_up_archive(account, conn)
        except HeldMessagesDropped:  # shutting down with the disk full
            return

    async def _settle_in_doubt(self, account: str, conn: XmppConnection) -> None:
        """Of messages handed to a stream that is gone before the server acknowledged
        them, find those the server took after all: they are in our own archive (by
        origin-id). Those are not sent again, so a receiver that does not drop duplicates
        gets each message once, also after a server restart or a crash of ours.

        What this finds is settled before anything is written; a look-up cut short (the
        connection drops) leaves the rest in doubt for the next stream, resumed or not.
        Only when the archive cannot be asked are they sent again (twice rather than
        never)."""
        doubt = self._in_doubt[account]
        pending = {m.uid: m for m in self._store.pending_outgoing(account)}
        doubt.intersection_update(pending)  # settled meanwhile (acked, failed, ...)
        if not doubt:
            return
        total = len(doubt)
        # From our oldest message in doubt, in the server's time: the archive is dated
        # by the server's clock, and this machine's may be off by hours.
        server_now = await conn.server_time()
        offset = 0.0 if server_now is None else server_now - self._clock()
        start = min(pending[uid].timestamp for uid in doubt) + offset - IN_DOUBT_SLACK
        settled = self._acked_unwritten.setdefault(account, set())
        try:
            async for page, _ in conn.archive_pages(None, start):
                found = [m for m in page if m.direction is Direction.OUTGOING and m.uid in doubt]
                for message in found:  # settled now, whatever the writes below do
                    doubt.discard(message.uid)
                    self._handed.get(account, set()).discard(message.uid)
                    settled.add(message.uid)
                for message in found:
                    self._tasks.spawn(
                        self._sent(account, message.peer, message.uid, self._acked_unwritten)
                    )
                now = self._clock()  # our server's stamps, but never in the future
                await self.inbound.run(
                    Batch([Item(account, m, latest=now) for m in page], page=ArchivePage(account))
                )
                if not doubt:
                    break
        except (asyncio.CancelledError, HeldMessagesDropped):
            raise
        except Exception as exc:
            log.warning(
                "%s: could not look in the archive for %d message(s) sent before the "
                "connection was lost (%s): sending them again",
                account,
                len(doubt),
                exc,
            )
            doubt.clear()
            return
        log.info(
            "%s: %d of %d unacknowledged message(s) had reached the server",
            account,
            total - len(doubt),
            total,
        )
        doubt.clear()  # not in the archive: the server never took them

    # -- the stream, across restarts -----------------------------------------------------

    def stream_state(self, account: str) -> StreamState | None:
        """The XEP-0198 stream to resume after a restart, if one was saved."""
        return StreamState.from_json(self._store.get_sync_state(account, STREAM_STATE) or "")

    async def save_stream_state(self, account: str, state: StreamState | None) -> None:
        """Keep (None: forget) the stream to resume; committed when this returns. Only a
        small row, written with whatever else is being committed (group commit)."""
        await self._store.set_sync_state(account, STREAM_STATE, state.to_json() if state else "")

    def on_offline(self, account: str) -> None:
        if self._conns.pop(account, None) is not None:
            # Offline storage holds only what came after this: the floor of its stamps.
            self._tasks.spawn(self._set_sync(account, LAST_ONLINE, repr(self._clock())))
        task = self._catch_up.pop(account, None)
        if task is not None:
            task.cancel()

    async def _catch_up_archive(self, account: str, conn: XmppConnection) -> None:
        after = self._store.get_sync_state(account, ARCHIVE_POSITION)
        now = self._clock()
        # From the position, or from a time: the first time, or when the server no longer
        # knows the position; then from when we were last here (dupes are dropped).
        start = self._offline_floor.get(account, now - FIRST_CATCH_UP_SECONDS) - CATCH_UP_SLACK
        try:
            total = await self._read_archive(account, conn, after, start, now)
        except (asyncio.CancelledError, HeldMessagesDropped):
            raise
        except Exception:
            log.exception("%s: archive catch-up failed", account)
            return
        self._archive_synced.add(account)
        log.info("%s: archive catch-up: %d new message(s)", account, total)
        self._bus.publish(ArchiveSynced(account, total))

    async def wait_archive_synced(self, account: str) -> None:
        """Wait for the catch-up of the current session (for scripts and tests)."""
        task = self._catch_up.get(account)
        if task is not None:
            await asyncio.shield(task)

    # -- what the connection reports ----------------------------------------------------

    def on_incoming(
        self,
        account: str,
        messages: Sequence[Message],
        receipt_to: Sequence[str],
        done: Callable[[], None] | None = None,
    ) -> None:
        """Messages received live, as carbons or from offline storage, in arrival order.
        ``done`` is called once all of them are committed: the stream acknowledges the
        stanza to the server only then (XEP-0198), so what is not stored is resent."""
        now = self._clock()
        floor = self._offline_floor.get(account, 0.0)
        for message, to in zip(messages, receipt_to, strict=True):
            # Offline storage: our server's stamp of when it stored it, kept within when
            # we were away; never in the future (see the normalise stage).
            earliest = floor if message.origin is Origin.OFFLINE else -math.inf
            self._inbox.append(Item(account, message, to, earliest=earliest, latest=now))
        if done is not None:
            self._inbox_done.append(done)
        if self._inbox_task is None or self._inbox_task.done():
            self._inbox_task = asyncio.create_task(self._drain_inbox(), name="inbox")

    @property
    def held_incoming(self) -> int:
        """Received messages not stored yet (waiting, or being written)."""
        batch = self._batch
        storing = len(batch.items) if batch is not None and batch.at < PUBLISH else 0
        return len(self._inbox) + storing

    async def _drain_inbox(self) -> None:
        while self._inbox:
            batch = Batch(self._inbox, self._inbox_done)
            self._inbox, self._inbox_done = [], []
            self._batch = batch
            try:
                await self.inbound.run(batch)
            except HeldMessagesDropped:
                self._inbox.clear()
                self._inbox_done.clear()
                return
            finally:
                self._batch = None

    def _send_receipt(self, account: str, to: str, uid: str) -> None:
        conn = self._conns.get(account)
        if conn is None:
            # Stored while the stream is setting up or has just dropped: the receipt goes
            # out when we are online again, so the sender still sees "delivered".
            self._receipts_due.setdefault(account, []).append((to, uid))
        else:
            conn.send_receipt(to, uid)

    async def _save_archive_position(
        self, account: str, archive_id: str, archive: str = ""
    ) -> None:
        await self._set_sync(account, _position_key(archive), archive_id)

    def _is_synced(self, account: str, archive: str) -> bool:
        if archive:
            return (account, archive) in self._rooms_synced
        return account in self._archive_synced

    def room_entered(self, account: str, room: str) -> None:
        """We are in ``room`` now: what waited for it goes out, and its archive is
        caught up with (newest page first, back to where we were, or a few pages of the
        last days the first time), after which live messages move the room's position."""
        self.flush_room(account, room)
        conn = self._conns.get(account)
        if conn is None:
            return
        self._rooms_synced.discard((account, room))
        old = self._room_catch_up.pop((account, room), None)
        if old is not None:
            old.cancel()
        self._room_catch_up[account, room] = self._tasks.spawn(
            self._catch_up_room(account, room, conn)
        )

    async def _read_archive(
        self,
        account: str,
        conn: XmppConnection,
        after: str | None,
        start: float,
        now: float,
    ) -> int:
        """Take in our archive page by page through the pipeline (a room's is read
        backwards: :meth:`_catch_up_room`); returns how many messages were new. Our
        server's stamps, but never in the future; held while the disk is full; the
        position saved once a page is committed."""
        total = 0
        async for page, last_id in conn.archive_pages(after, start):
            items = [Item(account, m, latest=now) for m in page]
            batch = Batch(items, page=ArchivePage(account, last_id))
            await self.inbound.run(batch)
            total += len(batch.added)
        return total

    async def _catch_up_room(self, account: str, room: str, conn: XmppConnection) -> None:
        """Read the room's archive newest page first (the window shows it at once), then
        back from it page by page until the stored position (or, the first time, a
        day's worth or :data:`ROOM_FIRST_VISIT_RESULTS`), each page stored as it
        comes. The position moves to the newest id only once there is no gap below it;
        a catch-up cut short leaves its run (:data:`ROOM_ARCHIVE_RUN`) for the next to
        skip. ArchiveSynced at the end, once."""
        now = self._clock()
        total = 0
        done = False
        try:
            async for added in self._read_room_back(account, room, conn, now):
                total += added
            done = True
        except (asyncio.CancelledError, HeldMessagesDropped):
            raise
        except Exception as exc:  # a room without an archive: live messages only
            log.info("%s: the archive of %s could not be read: %s", account, room, exc)
        log.info("%s: room archive of %s: %d new message(s)", account, room, total)
        if done:  # (else live messages must not move the position past what is missing)
            self._rooms_synced.add((account, room))
        self._bus.publish(ArchiveSynced(account, total, room))

    async def fill_gaps(self, key: ConversationKey) -> None:
        """Bring the conversation's log up to date with the server's archive (what was
        said while we were away gets the next sequences, with its own time): a direct
        one once the account's catch-up of this session is over; a room we are in once
        its catch-up is over (then its live messages keep it up to date); a room we are
        not in (left, or not entered in this session) by reading its archive after its
        position (as a catch-up does, moving the position). At most
        :attr:`fill_gaps_timeout` seconds; not signed in, or the archive refusing or
        silent: the log stays as it is (logged), never an error."""
        account, peer, timeout = key.account, key.peer, self.fill_gaps_timeout
        try:
            async with asyncio.timeout(timeout):
                if key.kind is ConversationKind.CHAT:
                    await self._fill_direct(account)
                else:
                    await self._fill_room(account, peer)
        except TimeoutError:
            log.warning(
                "%s: the archive did not answer within %gs: %s served as stored",
                account,
                timeout,
                peer,
            )

    async def _fill_direct(self, account: str) -> None:
        if account not in self._conns:
            log.warning("%s is not signed in: its conversations served as stored", account)
            return
        task = self._catch_up.get(account)
        if task is not None:
            await asyncio.wait([task])  # (its failure is its own to log)
        if account not in self._archive_synced:
            log.warning("%s: the archive could not be caught up with", account)

    async def _fill_room(self, account: str, room: str) -> None:
        while True:
            running = self._room_catch_up.get((account, room))
            if running is not None and not running.done():
                await asyncio.wait([running])
                continue  # (entered again meanwhile: its catch-up then)
            if self.room_joined(account, room):
                return  # caught up on entering; live messages since
            conn = self._conns.get(account)
            if conn is None:
                log.warning("%s is not signed in: %s served as stored", account, room)
                return
            mine = self._tasks.spawn(self._read_room_away(account, room, conn))
            self._room_catch_up[account, room] = mine
            await asyncio.wait([mine])
            if self._room_catch_up.get((account, room)) is mine:
                del self._room_catch_up[account, room]
                return
            # (cancelled by our entering the room: its catch-up reads it instead)

    async def _read_room_away(self, account: str, room: str, conn: XmppConnection) -> None:
        """The archive of a room we are not in, read back to its position and stored
        (the room's stage takes a page of the room's own archive while we are out)."""
        total = 0
        try:
            async for added in self._read_room_back(account, room, conn, self._clock()):
                total += added
        except (asyncio.CancelledError, HeldMessagesDropped):
            raise
        except Exception as exc:
            log.warning("%s: the archive of %s could not be read: %s", account, room, exc)
            return
        log.info("%s: %d new message(s) in the archive of %s, not entered", account, total, room)

    async def _read_room_back(
        self, account: str, room: str, conn: XmppConnection, now: float
    ) -> AsyncIterator[int]:
        """The catch-up's reading (see :meth:`_catch_up_room`): how many messages of
        each page were new, once it is stored. The position is saved at the end."""
        position = self._store.get_sync_state(account, _position_key(room)) or ""
        run_key = f"{ROOM_ARCHIVE_RUN}{room}"
        run = _read_run(self._store.get_sync_state(account, run_key))
        budget: int | None = None
        if position:
            known = self._store.get_by_stanza_id(
                ConversationKey(account, room, ConversationKind.GROUPCHAT), position
            )
            start = known.timestamp - ROOM_POSITION_SLACK if known is not None else None
        else:
            start, budget = now - ROOM_FIRST_HISTORY_SECONDS, ROOM_FIRST_VISIT_RESULTS
        newest, before, resume, limit = "", "", "", ROOM_NEWEST_PAGE
        #: Removals and reactions read before the (older) message they name: applied
        #: again once older pages are stored. While any waits, no run is saved, so a
        #: catch-up cut short reads their pages again rather than losing them.
        waiting: list[Message] = []
        # Whether what this catch-up stored joins the saved run (or there is none): only
        # then is the run saved again, as the newest id down to the oldest read.
        joined = run is None
        while True:
            try:
                page = await conn.archive_page_before(room, before, limit, start)
            except RequestRefused as exc:
                if exc.condition != "item-not-found" or before != (run or ("", ""))[1]:
                    raise
                # The saved run's oldest id is gone from the archive: go on from where
                # this catch-up was, as if there were no run.
                log.info("%s: %s no longer has %s: reading on", account, room, before)
                before, run, joined = resume, None, True
                continue
            newest = newest or page.last
            reached = position in page.ids
            messages = page.messages
            if reached:
                older = set(page.ids[: page.ids.index(position) + 1])
                messages = tuple(m for m in messages if m.stanza_id not in older)
            added, unmatched = await self._store_archive_page(account, room, messages, now)
            if waiting:  # (older messages are stored now: their targets may be there)
                _, waiting = await self._store_archive_page(account, room, waiting, now)
            waiting += unmatched
            yield added
            if budget is not None:
                budget -= len(page.ids)
            enough = budget is not None and budget <= 0  # (a first visit: a few pages)
            if reached or page.complete or page.first == before or enough:
                break
            resume, before, limit = page.first, page.first, ROOM_OLDER_PAGE
            if run is not None and not joined and run[0] in page.ids:
                before, joined = run[1], True  # stored already, down to the run's oldest
            if joined and not waiting:  # (so that a catch-up cut short is not read again)
                await self._set_sync(account, run_key, json.dumps([newest, before]))
        if waiting:
            log.info(
                "%s: %d action(s) in %s name messages older than its history read here",
                account,
                len(waiting),
                room,
            )
        if newest:
            await self._set_sync(account, _position_key(room), newest)
        if self._store.get_sync_state(account, run_key):
            await self._set_sync(account, run_key, "")

    async def _store_archive_page(
        self, account: str, room: str, messages: Sequence[Message], now: float
    ) -> tuple[int, list[Message]]:
        """Take one page of a room's archive through the pipeline (our server's stamps,
        never in the future): how many messages were new, and the removals and
        reactions whose target is not stored (read newest first, it may be older)."""
        if not messages:
            return 0, []
        batch = Batch(
            [Item(account, m, latest=now) for m in messages], page=ArchivePage(account, "", room)
        )
        await self.inbound.run(batch)
        unmatched = [
            outcome.action
            for outcome in batch.committed
            if isinstance(outcome, ActionOutcome) and outcome.refused == REFUSED_UNKNOWN
        ]
        return len(batch.added), unmatched

    def _publish_outcomes(self, outcomes: Sequence[ActionOutcome]) -> None:
        publish_outcomes(self._bus, self._store, outcomes)

    async def _retry_pause(self, seconds: float, messages: list[Message]) -> None:
        """Wait before the next try; raise HeldMessagesDropped after a final drain."""
        if not self._final:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._retry_wake.wait()
        if self._final:
            if messages:
                log.warning(
                    "shutting down with %d received message(s) not stored: they were not "
                    "acknowledged, so the server keeps them for the next sign-in",
                    len(messages),
                )
            raise HeldMessagesDropped

    def _storage_failed(self, exc: StorageUnavailable) -> None:
        if self._storage_down is None:
            log.error("%s; received messages are held until it can be", exc.message)
            self._bus.publish(StorageFailed(exc.message))
        self._storage_down = exc.message

    def _storage_recovered(self) -> None:
        if self._storage_down is not None:
            log.warning("the history can be written again")
            self._storage_down = None
            self._bus.publish(StorageRecovered())

    def _logged(self, entries: list[Received]) -> None:
        self._bus.publish(ReceivedLogged(tuple(entries)))

    def received(self, account: str, after: int, limit: int) -> list[Received]:
        """The account's received log after sequence ``after`` (see :class:`Received`),
        oldest first, at most ``limit`` entries."""
        return self._store.received_after(account, after, limit)

    def last_received(self, account: str) -> int:
        """The last sequence of the account's received log (0: nothing received yet)."""
        return self._store.last_received(account)

    def on_acked(self, account: str, uid: str, peer: str) -> None:
        if self._action_done(account, uid):
            return
        flight = self._in_flight.get(account)
        if flight is not None:
            flight.discard(uid)
        self._handed.get(account, set()).discard(uid)
        self._acked_unwritten.setdefault(account, set()).add(uid)
        self._tasks.spawn(self._sent(account, peer, uid, self._acked_unwritten))

    def on_message_error(self, account: str, uid: str, peer: str, reason: str) -> None:
        if self._action_done(account, uid):  # (sending it again would not help)
            log.info("%s: our action %s was refused: %s", account, uid, reason)
            return
        self._in_flight.get(account, set()).discard(uid)
        self._handed.get(account, set()).discard(uid)
        self._tasks.spawn(self._set_state(account, peer, uid, MessageState.FAILED, reason))

    def on_receipt(self, account: str, uid: str, peer: str) -> None:
        self._tasks.spawn(self._delivered(account, peer, uid))

    async def _delivered(self, account: str, peer: str, uid: str) -> None:
        # A receipt proves the server took the message, even if its ack has not come in
        # yet (the ack can be lost with a dropped stream): show "sent" before "delivered".
        await self._set_state(account, peer, uid, MessageState.SENT)
        await self._set_state(account, peer, uid, MessageState.DELIVERED)

    def on_displayed(
        self,
        key: ConversationKey,
        uid: str,
        from_self: bool,
        nick: str = "",
        occupant_id: str = "",
    ) -> None:
        if key.kind is ConversationKind.GROUPCHAT:
            self._tasks.spawn(self._room_displayed(key, uid, nick, occupant_id))
        elif from_self:
            self._tasks.spawn(self._displayed_elsewhere(key, uid))
        else:
            self._tasks.spawn(self._read_up_to(key.account, key.peer, uid))

    async def _room_displayed(
        self, key: ConversationKey, stanza_id: str, nick: str, occupant_id: str
    ) -> None:
        """The occupant ``nick`` displayed the room's message ``stanza_id``: their read
        position (by their author: real address or occupant id) moves to it; ours, when
        the nick is ours (the room reflects our marker, or another of our devices')."""
        rooms = self.rooms
        found = rooms.room(key.account, key.peer) if rooms is not None else None
        if rooms is None or found is None or not found.joined or not nick:
            return  # (not a room we are in, or the room itself)
        target = self._store.get_by_stanza_id(key, stanza_id)
        if target is None:
            log.debug("%s: a marker in %s for %s, not known", key.account, key.peer, stanza_id)
            return
        if nick == found.nick:
            await self._displayed_elsewhere(key, target.uid)
            return
        reader = rooms.author(key.account, key.peer, nick, occupant_id)
        await self._conversations.read_up_to(key, reader, target)

    def on_chat_state(self, key: ConversationKey, state: str, nick: str = "") -> None:
        if key.kind is ConversationKind.GROUPCHAT:  # a room's: not our own, reflected
            found = self.rooms.room(key.account, key.peer) if self.rooms is not None else None
            if found is None or not found.joined or not nick or nick == found.nick:
                return
        self._bus.publish(ChatStateChanged(key.account, key.peer, state, key.kind, nick))

    def on_stanza_id(self, account: str, uid: str, peer: str, stanza_id: str) -> None:
        self._tasks.spawn(self._store.set_stanza_id(account, peer, uid, stanza_id))

    async def _set_state(
        self, account: str, peer: str, uid: str, state: MessageState, error: str = ""
    ) -> None:
        updated = await self._retrying(
            lambda: self._store.update_state(account, peer, uid, state, error)
        )
        if updated is not None:
            self._bus.publish(MessageStateChanged(updated))

    async def _set_sync(self, account: str, name: str, value: str) -> None:
        await self._retrying(lambda: self._store.set_sync_state(account, name, value))

    async def _retrying(
        self, write: Callable[[], Awaitable[T]], held: list[Message] | None = None
    ) -> T | None:
        """A write, tried again, with a growing pause, while the history cannot be
        written (a state, a position: a receipt or an ack must not be lost to a full
        disk). When the final drain gives up: None, or, for received messages being
        ``held`` (not acknowledged to the server), HeldMessagesDropped."""
        attempt = 0
        while True:
            try:
                result = await write()
            except StorageUnavailable as exc:
                self._storage_failed(exc)
                try:
                    await self._retry_pause(min(STORAGE_RETRY_CAP, 0.2 * 2**attempt), held or [])
                except HeldMessagesDropped:
                    if held is not None:
                        raise
                    return None
                attempt += 1
                continue
            self._storage_recovered()
            return result

    async def _read_up_to(self, account: str, peer: str, uid: str) -> None:
        # As a receipt does: a read marker proves the server took the message, even if its
        # ack has not come in (or was lost with the stream): "sent" first, reported.
        await self._set_state(account, peer, uid, MessageState.SENT)
        read = await self._retrying(lambda: self._store.mark_read_up_to(account, peer, uid))
        for message in read or []:
            self._bus.publish(MessageStateChanged(message))
        target = self._store.get(account, peer, uid)
        if target is not None:  # the peer's read position, in the conversation's log
            await self._conversations.read_up_to(target.key, peer, target)

    async def _displayed_elsewhere(self, key: ConversationKey, uid: str) -> None:
        before = self._conversations.own_position(key)
        shown = await self._retrying(lambda: self._store.mark_displayed_up_to(key, uid))
        for message in shown or []:
            self._bus.publish(MessageStateChanged(message))
        self._conversations.announce_own(key, before)  # read on one of our other devices

    async def drain(self, *, final: bool = False) -> None:
        """Wait until every pending write has been committed (shutdown, tests).

        ``final`` (shutdown): while the history cannot be written, stop trying: what was
        received and not stored was not acknowledged either, so the server still has it
        for the next sign-in (stream management, archive)."""
        if final:
            self._final = True
            self._retry_wake.set()
            catch_ups = list(self._every_catch_up)
            for task in catch_ups:
                task.cancel()
            await asyncio.gather(*catch_ups, return_exceptions=True)
        while len(self._tasks) or (self._inbox_task is not None and not self._inbox_task.done()):
            if self._inbox_task is not None:
                await asyncio.gather(self._inbox_task, return_exceptions=True)
            await self._tasks.drain()
