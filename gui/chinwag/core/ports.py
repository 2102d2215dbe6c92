"""The ports the core needs from the outside: message storage, the XMPP connection and
the secret store. Implementations live in :mod:`chinwag.storage`, :mod:`chinwag.xmpp` and
:mod:`chinwag.system`; tests may pass their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

from chinwag.core.errors import ChinwagError
from chinwag.core.models import (
    AccountConfig,
    ActionOutcome,
    ArchiveSlice,
    Bookmark,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    Direction,
    DiscoInfo,
    DiscoItemsPage,
    EventKind,
    Identified,
    LoggedMessage,
    Message,
    MessageState,
    PageAnchor,
    Presence,
    Received,
    RoomPresence,
    SearchHit,
    Show,
    StreamState,
)


class MessageStore(Protocol):
    """Message history and the little state the core keeps between runs.

    Writes are coroutines: they are committed (durable against a crash of the process)
    when they return. Reads are plain calls: they are fast enough for the UI thread and
    always see every committed write.

    Storing an incoming message, or a state change of ours that the sender asked to hear
    of (see :func:`~chinwag.core.models.reports_for`), also adds an entry to the account's
    received log in the same transaction; :attr:`on_received` hears of the entries once
    committed."""

    #: Set by the core: called on the loop with each committed write's new log entries.
    on_received: Callable[[list[Received]], None] | None

    async def add_outgoing(self, message: Message) -> Message:
        """Commit a new outgoing message (any state) and return it with its ``id`` set.

        If a message with the same (conversation, direction, uid) exists, nothing is
        written and the stored one is returned."""

    async def add_incoming(self, messages: Sequence[Message]) -> list[Message]:
        """Commit messages in one transaction, dropping duplicates.

        A duplicate is a message with the same (conversation, direction, uid) as a stored
        one, or one whose non-empty ``stanza_id`` is already stored for that account.
        Returns only the newly stored messages, with ``id`` set, in input order. Works
        for outgoing messages that come back from carbons or the archive as well.

        A message with :attr:`Message.replaces` set is a correction whose target has not
        reached us, stored as a message of its own (returned with ``replaces`` "", as
        every message read back); the row remembers the id it names. When a message with
        that id is stored later (in any call, after a restart too), each such correction
        by its author is applied to it in the same transaction (an edit event of the log,
        the newest text by timestamp wins) and its row is folded: kept, but no longer
        listed, searched or counted (read back: ``removed``)."""

    async def add_received(
        self, messages: Sequence[Message]
    ) -> list[Message | ActionOutcome | Identified]:
        """As :meth:`add_incoming`, returning what storing did in order: each message new
        to the history, as it is now (a waiting correction applied), followed by the
        outcome of each correction folded into it (:attr:`ActionOutcome.folded`); and
        for a duplicate that gave a stored room message the room's stanza id (our own,
        reflected), that message as it is now (:class:`Identified`: its uuid changed)."""

    async def apply_actions(self, actions: Sequence[Message]) -> list[ActionOutcome]:
        """Apply corrections, retractions and reactions (:attr:`Message.action`), in
        order, each to its target: a message of the same conversation whose id is
        :attr:`Message.target` and whose author is the action's sender (a correction
        chain's ids all name the first message). One outcome per action: the target as
        it is now, or why it was refused (unknown target, another author, a removed
        message, too many reactions); the same action applied before (same action uid and
        target: live, then as a carbon or from the archive) is refused as
        :data:`~chinwag.core.models.DUPLICATE`, silently. A retraction leaves a
        tombstone; a correction keeps the message's first id and place and records the
        text it replaces; reactions replace the sender's earlier ones. Each applied action
        is an event of the conversation's log."""

    def reactions(self, message_ids: Sequence[int]) -> dict[int, list[tuple[str, tuple[str, ...]]]]:
        """Everyone's reactions to each of these messages, as (sender, reactions),
        oldest first; messages without any are left out."""
        ...

    def versions(self, message_id: int) -> list[tuple[float, str]]:
        """The texts a message had before its corrections, oldest first, each with when
        it was replaced."""
        ...

    def conversation_info(self, key: ConversationKey) -> Conversation | None:
        """The conversation's identity and state (None: nothing stored for it yet)."""
        ...

    def events_after(self, key: ConversationKey, after: int, limit: int) -> list[ConversationEvent]:
        """The conversation's event log after sequence ``after``, oldest first."""
        ...

    def message_sequence(self, message_id: int) -> int | None:
        """The sequence of the event that stored the message (None: unknown)."""
        ...

    def known_conversations(self, account: str) -> list[tuple[ConversationKey, str]]:
        """Every conversation of ``account`` stored, as (key, uuid), oldest first."""
        ...

    def conversation_by_uuid(self, account: str, uuid: str) -> ConversationKey | None:
        """The conversation of ``account`` with that uuid (None: not stored)."""
        ...

    def last_membership(self, key: ConversationKey, author: str) -> EventKind | None:
        """The newest of ``author``'s created/join/leave events (None: none)."""
        ...

    async def ensure_conversation(self, key: ConversationKey, title: str | None = None) -> None:
        """Store the conversation if it is not (``title``: set it)."""
        ...

    async def append_conversation_event(
        self, key: ConversationKey, kind: EventKind, author: str, timestamp: float, data: str = ""
    ) -> ConversationEvent:
        """Append a conversation-level event to the log; returns it."""
        ...

    async def set_read_sequence(self, key: ConversationKey, sequence: int) -> int | None:
        """Move our read position forward (never back, never past the last sequence);
        returns it now (None: no such conversation)."""
        ...

    async def set_read_position(
        self, key: ConversationKey, participant: str, sequence: int
    ) -> int | None:
        """Move another participant's read position forward; returns it now."""
        ...

    def read_positions(self, key: ConversationKey) -> dict[str, int]:
        """The other participants' read positions (address -> sequence)."""
        ...

    async def update_state(
        self, account: str, peer: str, uid: str, state: MessageState, error: str = ""
    ) -> Message | None:
        """Move the outgoing message ``uid`` of the conversation with ``peer`` to
        ``state`` if that is a move forward (queued < sent < delivered < read; failed
        from queued or sent; queued from failed, for a retry). Returns the updated
        message, or None when nothing changed or no such message exists."""

    async def mark_read_up_to(self, account: str, peer: str, uid: str) -> list[Message]:
        """A displayed marker for ``uid``: every outgoing message of the conversation up to
        and including it (by timestamp, id) that is sent or delivered becomes READ; also
        ``uid`` itself if it is still queued. Returns the messages that changed."""

    async def mark_displayed_up_to(self, key: ConversationKey, uid: str) -> list[Message]:
        """The user has seen the conversation up to ``uid``: incoming RECEIVED messages up
        to it become DISPLAYED, and our read position moves forward past every message
        at or before it in time (the unread count follows). Returns the messages that
        changed."""

    async def set_stanza_id(self, account: str, peer: str, uid: str, stanza_id: str) -> None:
        """Record the server archive id of a stored message (first one wins)."""

    async def set_sync_state(self, account: str, name: str, value: str) -> None:
        """Remember a small named value per account (e.g. the last archive id seen)."""

    async def save_roster(self, account: str, contacts: Sequence[Contact], version: str) -> None:
        """Replace the cached roster of ``account``."""

    async def upsert_contact(self, contact: Contact) -> None: ...

    async def remove_contact(self, account: str, jid: str) -> None: ...

    def received_after(self, account: str, after: int, limit: int) -> list[Received]:
        """The account's received log after sequence ``after``, oldest first, at most
        ``limit`` entries."""
        ...

    def last_received(self, account: str) -> int:
        """The last sequence of the account's received log (0: none yet)."""
        ...

    def get_sync_state(self, account: str, name: str) -> str | None: ...

    def load_roster(self, account: str) -> tuple[list[Contact], str]:
        """The cached roster of ``account`` and its roster version ("" when none)."""

    def pending_outgoing(self, account: str) -> list[Message]:
        """Outgoing messages still QUEUED for ``account``, oldest first."""

    def held_outgoing(self) -> list[Message]:
        """Outgoing messages HELD (waiting for their files), of every account, oldest
        first."""

    def get(
        self, account: str, peer: str, uid: str, kind: ConversationKind | None = None
    ) -> Message | None:
        """The message ``uid`` of the conversation of ``account`` with ``peer`` of
        ``kind`` (None: of any kind, for our own uids, which are unique)."""

    def get_by_id(self, message_id: int) -> Message | None: ...

    def logged_messages(self, message_ids: Sequence[int]) -> dict[int, LoggedMessage]:
        """What the events naming these messages tell of them, by id (an id with no
        message is left out)."""
        ...

    def incoming_up_to(self, key: ConversationKey, sequence: int) -> Message | None:
        """The incoming message stored last at or before ``sequence`` of the
        conversation's log (not removed), or None."""

    def get_by_uuid(self, key: ConversationKey, message_uuid: str) -> Message | None:
        """The message of the conversation with that uuid (conversations-api.md), or
        None."""

    def get_by_stanza_id(self, key: ConversationKey, stanza_id: str) -> Message | None:
        """The message of the conversation the room (or our server) stamped with
        ``stanza_id`` (XEP-0359), or None."""

    def letters(
        self,
        account: str,
        *,
        direction: Direction | None = None,
        since: float = 0.0,
        limit: int = 100,
        skip: int = 0,
    ) -> list[Message]:
        """The one-to-one messages of ``account`` (not removed) stamped at or after
        ``since``, of ``direction`` (None: both), newest first, ``skip`` left out."""

    def latest(self, key: ConversationKey, limit: int) -> list[Message]:
        """The newest ``limit`` messages of a conversation, oldest first."""

    def before(self, key: ConversationKey, anchor: PageAnchor, limit: int) -> list[Message]:
        """Up to ``limit`` messages strictly older than ``anchor``, oldest first."""

    def after(self, key: ConversationKey, anchor: PageAnchor, limit: int) -> list[Message]:
        """Up to ``limit`` messages strictly newer than ``anchor``, oldest first."""

    def count(self, key: ConversationKey) -> int: ...

    def unread_count(self, key: ConversationKey) -> int:
        """The others' messages (incoming, not removed) stored by events after our read
        position in the conversation's log, whatever their DISPLAYED state."""

    def unread_counts(self, account: str | None = None) -> dict[ConversationKey, int]:
        """Every conversation (of ``account``, or of all) with unread messages (as
        :meth:`unread_count` counts them), and how many: one query, for the contact list
        and the tray."""

    def conversations(self, account: str | None = None) -> list[tuple[ConversationKey, float]]:
        """Every conversation with at least one message, with its newest timestamp,
        newest first."""

    def search(
        self,
        text: str,
        key: ConversationKey | None = None,
        limit: int = 50,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> list[SearchHit]:
        """Full-text search: messages containing every word of ``text`` (prefix match on
        the last word), newest first, in one conversation (``key``) or all, stamped in
        [since, until) when given. ``text`` is user input: any characters are safe."""

    def first_from(self, key: ConversationKey, timestamp: float) -> Message | None:
        """The first message of a conversation stamped at or after ``timestamp`` (None:
        there is none), for "jump to a date"."""

    async def save_bookmarks(self, account: str, bookmarks: Sequence[Bookmark]) -> None:
        """Replace the cached bookmarks of ``account``."""

    async def put_bookmarks(self, account: str, bookmarks: Sequence[Bookmark]) -> None:
        """Add or replace these bookmarks of ``account`` (by room)."""

    async def remove_bookmarks(self, account: str, rooms: Sequence[str]) -> None:
        """Forget the bookmarks of these rooms."""

    def load_bookmarks(self, account: str) -> list[Bookmark]:
        """The cached bookmarks of ``account``, by room address."""
        ...

    async def im_id(self, address: str) -> int:
        """The IM id of the bare ``address`` (conversations-api.md section 1): a positive
        integer, the same for good, given now if it has none and never given to another
        address of this profile (committed when this returns)."""
        ...

    def find_im_id(self, address: str) -> int | None:
        """The IM id ``address`` has (None: it was never given one)."""
        ...

    def im_address(self, im_id: int) -> str | None:
        """The bare address whose IM id is ``im_id`` (None: no such id)."""
        ...

    async def close(self) -> None: ...


class SecretStore(Protocol):
    """Where account passwords live (the system keyring, or a private file).

    Every method is a coroutine that never blocks the event loop, and each answers within
    a bounded time even when the keyring behind it waits on the user (an unlock prompt)."""

    async def get_password(self, account: str) -> str | None:
        """The stored password, None when none is stored. Raises
        :class:`~chinwag.core.errors.PasswordUnavailable` when the store cannot tell in
        time."""

    async def set_password(self, account: str, password: str) -> None:
        """Keep ``password``: in the keyring, or where the store falls back to."""

    async def delete_password(self, account: str) -> None:
        """Forget the password (nothing happens when none is stored)."""


class ConnectionListener(Protocol):
    """What an XMPP connection reports back to the core, already converted to core
    models. Implemented by :class:`chinwag.core.session.AccountSession`."""

    def on_session_started(self, resumed: bool) -> None:
        """Signed in and ready (``resumed``: a XEP-0198 session was resumed)."""

    def on_disconnected(self, error: ChinwagError | None) -> None:
        """The stream ended; ``error`` is None after a wanted disconnect."""

    def on_messages(
        self,
        messages: Sequence[Message],
        receipt_to: Sequence[str],
        done: Callable[[], None] | None = None,
    ) -> None:
        """Messages received live or as carbons, in arrival order. ``receipt_to[i]`` is the
        full address to send a delivery receipt for ``messages[i]`` once it is stored, or
        "" for none. ``done`` must be called once they are committed: until then the
        stream does not acknowledge the stanza to the server (XEP-0198)."""

    def on_acked(self, uid: str, peer: str) -> None:
        """The server acknowledged our message ``uid`` (XEP-0198)."""

    def stream_state(self) -> StreamState | None:
        """The XEP-0198 stream a previous run left to resume, if any."""

    async def save_stream_state(self, state: StreamState | None) -> None:
        """Keep the stream to resume after a restart (None: there is none); committed
        when this returns."""

    def on_message_error(self, uid: str, peer: str, reason: str) -> None:
        """Our message ``uid`` bounced with ``reason``."""

    def on_receipt(self, uid: str, peer: str) -> None:
        """XEP-0184: ``peer`` received our message ``uid``."""

    def on_displayed(
        self,
        uid: str,
        peer: str,
        from_self: bool,
        kind: ConversationKind = ...,
        nick: str = ...,
        occupant_id: str = ...,
    ) -> None:
        """XEP-0333: ``peer`` displayed our message ``uid`` (``from_self``: one of the
        user's own devices displayed the incoming message ``uid`` of ``peer``); ``kind``
        says whether ``peer`` is a contact or a room (CHAT unless given). In a room the
        occupant ``nick`` (with the room's ``occupant_id``, XEP-0421) displayed the
        message the room stamped with the stanza id ``uid``."""

    def on_chat_state(
        self, peer: str, state: str, kind: ConversationKind = ..., nick: str = ""
    ) -> None:
        """XEP-0085: a contact's (or, ``kind`` GROUPCHAT, a room occupant's: ``nick``)
        chat state."""

    def on_room_presence(self, presence: RoomPresence) -> None:
        """A room's presence about one of its occupants (us too: status 110)."""

    def on_room_error(self, room: str, condition: str, text: str) -> None:
        """A room refused to let us in (the XMPP error condition and its text)."""

    def on_room_subject(self, room: str, subject: str, nick: str) -> None:
        """A room's subject, set by ``nick`` ("" : the room itself)."""

    def on_roster(self, contacts: Sequence[Contact] | None, version: str, full: bool) -> None:
        """The roster (``full``), or a roster push with the changed items; ``None`` with
        ``full``: the cached roster is still current (roster versioning)."""

    def roster_version(self) -> str:
        """The version of the cached roster, for roster versioning ("" for none)."""

    def idle_seconds(self, asker: str) -> int | None:
        """XEP-0012: seconds since the person last did something in Chinwag, for the bare
        address ``asker`` to know; None when it may not (it does not see our presence,
        or we appear offline)."""

    def on_presence(self, jid: str, presence: Presence) -> None:
        """A contact's resource changed presence (``presence.resource``)."""

    def on_subscription(self, jid: str, kind: str, nick: str) -> None:
        """``kind`` is subscribe, subscribed, unsubscribe or unsubscribed."""

    def on_stanza_id(self, uid: str, peer: str, stanza_id: str) -> None:
        """The archive id our server gave a message, when it tells."""

    def on_blocklist(self, jids: Sequence[str], blocked: bool, full: bool) -> None:
        """XEP-0191: the block list (``full``), or addresses blocked or unblocked."""

    def on_invitation(
        self, room: str, inviter: str, reason: str, password: str, direct: bool
    ) -> None:
        """An invitation to ``room``, as received (not checked yet): a XEP-0249 direct
        one (``direct``: ``room`` is the address it names, ``inviter`` its sender's bare
        address), or a XEP-0045 mediated one (``room`` is the stanza's sender as written,
        ``inviter`` the address the room names)."""

    def on_bookmarks(self, changed: Sequence[Bookmark], removed: Sequence[str], full: bool) -> None:
        """XEP-0402 pushes from the user's account (another device, or our own change
        coming back): bookmarks added or changed, rooms whose bookmark was removed;
        ``full``: ``changed`` is the whole list now (the node was purged or deleted)."""

    def on_user_data(self, jid: str, node: str, data: str | None) -> None:
        """A push of a user data node (XEP-0163) of ``jid`` (a contact whose presence
        we see, or the account itself: another of its clients): its JSON text now
        (None: removed)."""


class XmppConnection(Protocol):
    """One account's XMPP stream, kept across reconnects so a XEP-0198 session can be
    resumed. Only :mod:`chinwag.xmpp` implements it."""

    @property
    def acks_enabled(self) -> bool:
        """True when the server acknowledges stanzas (XEP-0198 is on)."""

    async def connect(self) -> None:
        """Connect, secure and authenticate; return once the session has started (the
        listener's ``on_session_started`` has run). Raises a :class:`ConnectionFailure`."""

    async def disconnect(self) -> None:
        """Close the stream cleanly (ends the XEP-0198 session) and end everything the
        connection runs; nothing of it runs after this returns."""

    def abort(self) -> None:
        """Drop the connection at once; a XEP-0198 session stays resumable."""

    def send_message(self, message: Message) -> None:
        """Send an outgoing message (the stanza id and origin-id are ``message.uid``): a new
        message or a correction with a receipt request and a markable flag; a retraction
        or reactions (:attr:`Message.action`) without them."""

    def unacked_uids(self) -> set[str]:
        """Ids of our messages the stream holds unacknowledged (and resends on resume)."""

    def send_receipt(self, to: str, uid: str) -> None: ...

    def send_displayed(self, to: str, uid: str, kind: ConversationKind = ...) -> None:
        """XEP-0333 to a contact, or (``kind`` GROUPCHAT) to a room."""

    def send_chat_state(self, to: str, state: str, kind: ConversationKind = ...) -> None:
        """XEP-0085 to a contact, or (``kind`` GROUPCHAT) to a room."""

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        """What the user lets contacts know (both on until set): off, no XEP-0085 chat
        state, resp. no XEP-0333 read marker, leaves on any stanza this connection
        sends (a message, a correction, a letter, a room's message, or alone)."""

    def join_room(self, room: str, nick: str, password: str = ..., show: Show = ...) -> None:
        """XEP-0045: ask to enter ``room`` as ``nick``; the answer comes to the
        listener (``on_room_presence`` with status 110, or ``on_room_error``)."""

    def leave_room(self, room: str, nick: str, status: str = ...) -> None: ...

    def set_room_subject(self, room: str, subject: str) -> None: ...

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        """Submit the room's configuration (muc#roomconfig fields; none: the room's
        defaults). Raises :class:`~chinwag.core.errors.RequestRefused`."""

    def change_nick(self, room: str, nick: str) -> None:
        """Ask to be ``nick`` in ``room`` (the answer comes as for a join)."""

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = ...) -> None:
        """XEP-0045 roles (none: kick). Raises RequestRefused with the room's condition."""

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ...
    ) -> None:
        """XEP-0045 affiliations (outcast: ban). Raises RequestRefused."""

    async def destroy_room(self, room: str, reason: str = ...) -> None: ...

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        """XEP-0045: the bare addresses with ``affiliation`` (member, admin, owner,
        outcast) in ``room``. Raises RequestRefused with the room's condition."""

    async def moderate_message(self, room: str, stanza_id: str, reason: str = ...) -> None:
        """XEP-0425: ask ``room`` to remove its message ``stanza_id`` (the room's stanza
        id) for everyone, with ``reason``; :class:`RequestRefused` with the room's
        condition (``forbidden``: we are not a moderator)."""

    async def disco_info(self, jid: str) -> DiscoInfo:
        """XEP-0030 disco#info of ``jid`` (identities, features, extended forms). Raises
        RequestRefused with the entity's condition ("timeout": no answer)."""

    async def disco_items(self, jid: str, limit: int = ..., after: str = ...) -> DiscoItemsPage:
        """XEP-0030 disco#items of ``jid``; ``limit`` > 0 asks for a XEP-0059 page of that
        many items after the item ``after`` (an entity may ignore it and send all).
        Raises RequestRefused."""

    async def ping_occupant(self, room: str, nick: str) -> str:
        """XEP-0410: ping our own occupant address ``room/nick`` (a XEP-0199 ping).
        Returns "" when answered, else the error condition, or "timeout"."""

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = ...,
        *,
        mediated: bool = ...,
        password: str = ...,
    ) -> None:
        """Invite ``contact`` to ``room``: a XEP-0249 direct invitation (with the room's
        ``password``, if any), and, ``mediated``, a XEP-0045 one through the room too."""

    def decline(self, room: str, inviter: str, reason: str = ...) -> None:
        """XEP-0045: decline a mediated invitation; ``room`` passes it to ``inviter``."""

    def send_presence(self, show: Show, status: str, priority: int) -> None: ...

    def send_subscription(self, to: str, kind: str) -> None:
        """``kind``: subscribe, subscribed, unsubscribe, unsubscribed."""

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None: ...

    async def roster_remove(self, jid: str) -> None: ...

    async def block(self, jids: Sequence[str]) -> None: ...

    async def unblock(self, jids: Sequence[str]) -> None: ...

    def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        """Our archive (XEP-0313), or a room's (``archive``), after ``after_id`` (or from
        ``start``), in pages of (messages in archive order, last archive id of the page)."""

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        """One page of our archive (XEP-0313), or a room's (``archive``), read backwards:
        the ``limit`` newest results older than ``before_id`` ("" : the newest of all),
        no older than ``start`` (Unix time, None: no bound). Raises
        :class:`~chinwag.core.errors.RequestRefused` (``item-not-found``: the archive
        does not know ``before_id``)."""

    async def server_time(self) -> float | None:
        """What time it is now by the server's clock (Unix time), None when it does not
        say: the archive is dated by the server's clock."""

    async def fetch_bookmarks(self) -> list[Bookmark]:
        """Every bookmark of the account: XEP-0402's, merged with those of XEP-0048
        (private XML storage and its PEP node) for rooms XEP-0402 lacks. Malformed ones
        are left out. Raises :class:`~chinwag.core.errors.RequestRefused`."""

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        """Add or replace the bookmark of ``bookmark.room`` (XEP-0402, private to the
        account). Raises :class:`~chinwag.core.errors.RequestRefused`."""

    async def retract_bookmark(self, room: str) -> None:
        """Remove the bookmark of ``room`` (from XEP-0048 storage too, where it was
        read from). Raises :class:`~chinwag.core.errors.RequestRefused`."""

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        """The text of the item of ``jid``'s PEP node ``node`` (XEP-0163): the JSON of a
        XEP-0335 container, or a XEP-0172 nickname; None when there is none. Raises
        :class:`~chinwag.core.errors.RequestRefused` (``forbidden``: we may not read it)."""

    async def publish_user_data(self, node: str, data: str) -> None:
        """Make the JSON text ``data`` the item of the account's PEP node ``node``: readable
        by presence subscribers, or, for the private nodes, by the account alone
        (XEP-0223). Raises RequestRefused."""

    async def delete_user_data(self, node: str) -> None:
        """Remove the account's PEP node ``node`` (nothing happens when there is none).
        Raises RequestRefused."""


class ConnectionFactory(Protocol):
    def __call__(
        self,
        config: AccountConfig,
        password: str,
        listener: ConnectionListener,
        *,
        register: bool = False,
    ) -> XmppConnection: ...


class ConfigStore(Protocol):
    """Where account settings are saved (a file under the XDG config dir)."""

    def load_accounts(self) -> list[AccountConfig]: ...

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None: ...
