"""Plain data the core works with: accounts, contacts, presence, conversations, messages.

Dataclasses only; behaviour lives in the services. Times are Unix seconds (float, UTC)."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Longest message body accepted, in characters (automation API: MessageTooLong beyond it).
MAX_MESSAGE_CHARS = 65_536


class TlsMode(enum.StrEnum):
    """How the connection is encrypted. There is no plaintext mode."""

    STARTTLS = "starttls"
    DIRECT = "direct"  # XEP-0368 direct TLS


class AccountKind(enum.StrEnum):
    """What an account is: one on an XMPP server, or serverless chat with the people on
    the local network (XEP-0174; its address is the service name it publishes)."""

    SERVER = "server"
    LINK_LOCAL = "link-local"


@dataclass(slots=True)
class AccountConfig:
    """One account's settings, as saved in the config file (never the password)."""

    jid: str  # bare address, normalised
    enabled: bool = True
    #: Set once per account when it is added (chinwag-<random>), so two Chinwags on one
    #: account do not replace each other's connection.
    resource: str = ""
    host: str = ""  # empty: DNS SRV on the domain
    port: int = 0  # 0: the default for the mode
    tls: TlsMode = TlsMode.STARTTLS
    trusted_fingerprint: str = ""  # SHA-256 of a self-signed certificate, hex, no colons
    nickname: str = ""
    priority: int = 0
    #: How the account talks: through its server, or serverless on the local network.
    kind: AccountKind = AccountKind.SERVER

    @property
    def link_local(self) -> bool:
        return self.kind is AccountKind.LINK_LOCAL


class Show(enum.StrEnum):
    """Own or a contact's availability (RFC 6121 ``<show/>`` plus the two absences)."""

    ONLINE = "online"
    CHAT = "chat"
    AWAY = "away"
    XA = "xa"
    DND = "dnd"
    INVISIBLE = "invisible"  # own only: signed in, appears offline
    OFFLINE = "offline"


#: Order used to pick a contact's "best" resource when priorities tie.
SHOW_RANK = {
    Show.CHAT: 6,
    Show.ONLINE: 5,
    Show.AWAY: 4,
    Show.XA: 3,
    Show.DND: 2,
    Show.INVISIBLE: 1,
    Show.OFFLINE: 0,
}


@dataclass(frozen=True, slots=True)
class Presence:
    """A contact's (or one of its resources') presence."""

    show: Show = Show.OFFLINE
    status: str = ""
    priority: int = 0
    resource: str = ""
    caps_node: str = ""  # XEP-0115 node#ver of the client, when known
    idle_since: float | None = None

    @property
    def available(self) -> bool:
        return self.show is not Show.OFFLINE


class Subscription(enum.StrEnum):
    NONE = "none"
    TO = "to"
    FROM = "from"
    BOTH = "both"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class Contact:
    """A roster item (RFC 6121) of one account."""

    account: str
    jid: str
    name: str = ""
    groups: tuple[str, ...] = ()
    subscription: Subscription = Subscription.NONE
    ask: bool = False  # our subscription request is pending
    approved: bool = False
    # (What names a contact needs its published nickname too: RosterService.display_name.)


class ConnectionState(enum.StrEnum):
    OFFLINE = "offline"  # signed out on purpose, or never signed in
    CONNECTING = "connecting"  # first sign-in attempt
    ONLINE = "online"
    RECONNECTING = "reconnecting"  # lost, and trying again by itself
    FAILED = "failed"  # stopped trying: wrong password, untrusted certificate


class ConversationKind(enum.StrEnum):
    CHAT = "chat"  # one-to-one with a bare address
    GROUPCHAT = "groupchat"  # a room (XEP-0045), built in a later issue


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Names a conversation: one per (account, peer, kind)."""

    account: str
    peer: str
    kind: ConversationKind = ConversationKind.CHAT


class Direction(enum.IntEnum):
    INCOMING = 0
    OUTGOING = 1


class MessageState(enum.IntEnum):
    """Where a message stands. Outgoing: queued -> sent -> delivered -> read, or failed;
    a file's message is held first (held -> queued once its file is uploaded; held ->
    failed when the upload fails). Incoming messages are RECEIVED, then DISPLAYED once the
    user has seen them."""

    QUEUED = 0  # committed locally, not yet acknowledged by the server
    SENT = 1  # the server acknowledged it (XEP-0198)
    DELIVERED = 2  # the recipient's client acknowledged it (XEP-0184)
    READ = 3  # the recipient displayed it (XEP-0333)
    FAILED = 4  # not sent: the server or recipient bounced it, or its file's upload failed;
    # ``error`` says why
    HELD = 5  # an outgoing message waiting on something of ours before it may be sent: its
    # file's upload (no outbox flush and no restart sends it; shown as being sent)
    RECEIVED = 10  # incoming, not yet seen by the user
    DISPLAYED = 11  # incoming, seen by the user (we sent a displayed marker)


class MessageType(enum.IntEnum):
    """Telepathy's message-type, kept so scripts get back what they sent."""

    NORMAL = 0
    ACTION = 1
    NOTICE = 2


class Origin(enum.IntEnum):
    """How a stored message reached us (information only: dedupe ignores it)."""

    LOCAL = 0  # typed or sent by a script here
    LIVE = 1
    CARBON = 2
    ARCHIVE = 3
    OFFLINE = 4  # delivered by the server's offline storage (has a delay)


def new_message_uid() -> str:
    """A fresh, globally unique message id: used as stanza id, origin-id and API token."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation, as stored.

    ``uid`` is our stable id: for outgoing messages it is the stanza id, the XEP-0359
    origin-id and the automation token; for incoming ones it is the sender's origin-id
    (or stanza id), which is what duplicates share whatever path they arrive by."""

    account: str
    peer: str
    direction: Direction
    body: str
    timestamp: float
    uid: str = field(default_factory=new_message_uid)
    kind: ConversationKind = ConversationKind.CHAT
    sender: str = ""  # bare address of the author (own address for outgoing)
    sender_resource: str = ""
    state: MessageState = MessageState.QUEUED
    error: str = ""
    stanza_id: str = ""  # XEP-0359 stanza-id given by our own server's archive
    mtype: MessageType = MessageType.NORMAL
    origin: Origin = Origin.LOCAL
    subject: str = ""
    flags: int = 0  # the reports asked for: REPORT_DELIVERY | REPORT_READ
    #: One of ours sent as a letter (gateways.md: the XML-RPC gateway's ``sendmessage``):
    #: a single message, type ``normal``, with or without a subject; stored, so a letter
    #: that waits in the outbox is still one when sent after a restart.
    letter: bool = False
    id: int | None = None  # storage row id, set once stored
    #: The sequence, in its conversation's event log, of the event that stored it (0
    #: until stored): what the Conversations API calls the message's ``sequence``.
    sequence: int = 0
    #: XEP-0461: the id of the message this one answers ("" : none), and its author.
    reply_to: str = ""
    reply_to_jid: str = ""
    #: The text the reply quotes of what it answers ("" : none).
    reply_quote: str = ""
    #: Data for applications (conversations-api.md: a message's ``payload``), carried as
    #: XEP-0335 JSON: a JSON array of objects as text ("" : none). A correction carries
    #: the payload the message has after it.
    payload: str = ""
    #: When it was last edited (XEP-0308), 0.0 if never; its text is then the newest.
    edited_at: float = 0.0
    #: Retracted by its author (XEP-0424): a tombstone; its text is gone ("").
    removed: bool = False
    #: An action on an earlier message of the conversation, as received: see
    #: :attr:`action`. (A correction whose target has not reached us is stored as a
    #: message, its row remembering the id it names; read back, a row is a message.)
    replaces: str = ""  # XEP-0308: this corrects the message with that id
    retracts: str = ""  # XEP-0424: this retracts the message with that id
    reacts_to: str = ""  # XEP-0444: ``reactions`` are the sender's reactions to that id
    reactions: tuple[str, ...] = ()
    #: A room's message as received: the XEP-0421 occupant id the room gave its sender
    #: (never stored: the core makes the author of it, see ``chinwag.core.rooms``).
    occupant_id: str = ""
    #: A retraction that is a room's moderation (XEP-0425), as received: who moderated
    #: (the room's occupant address; the core makes it their real address) and why.
    #: Only the room itself may moderate (never stored as a message: the removal's
    #: event keeps both).
    moderated_by: str = ""
    moderation_reason: str = ""
    #: A file's link (XEP-0066 out-of-band data, sent with the URL as the body too):
    #: see :mod:`chinwag.core.files`. Stored (messages.oob_url, version 9).
    oob_url: str = ""

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.account, self.peer, self.kind)

    @property
    def outgoing(self) -> bool:
        return self.direction is Direction.OUTGOING

    @property
    def action(self) -> MessageAction:
        """What this received stanza is: a message, or an action on an earlier one."""
        if self.retracts:
            return MessageAction.RETRACT
        if self.reacts_to:
            return MessageAction.REACT
        if self.replaces:
            return MessageAction.CORRECT
        return MessageAction.NEW

    @property
    def target(self) -> str:
        """The id of the message an action is on ("" for a new message)."""
        return self.retracts or self.reacts_to or self.replaces

    @property
    def uuid(self) -> str:
        """The message's uuid as every party computes it (conversations-api.md section
        1): in a direct conversation from its author and first id; in a room from the
        room and the stanza id the room stamped (its first id until the room's is
        known)."""
        if self.kind is ConversationKind.GROUPCHAT:
            return room_message_uuid(self.peer, self.stanza_id or self.uid)
        author = self.account if self.outgoing else (self.sender or self.peer)
        return direct_message_uuid(author, self.uid)


class MessageAction(enum.IntEnum):
    NEW = 0
    CORRECT = 1  # XEP-0308 Last Message Correction
    RETRACT = 2  # XEP-0424 Message Retraction
    REACT = 3  # XEP-0444 Message Reactions


#: Reactions a sender may put on one message; more are refused as abuse.
MAX_REACTIONS = 20
#: The longest reaction (an emoji sequence), in characters.
MAX_REACTION_CHARS = 32


#: ActionOutcome.refused of an action whose target is not in the history (never received,
#: or gone), and of one by someone who is not the target's author.
REFUSED_UNKNOWN = "unknown message"
REFUSED_NOT_AUTHOR = "not the author"

#: ActionOutcome.refused of an action applied before (the same one again, live, as a
#: carbon or from the archive): nothing to do, nothing to say.
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action (a correction, a retraction, reactions) did to its target: the
    target as it is now, or why the action was refused ("" when applied;
    :data:`DUPLICATE` when it was applied already)."""

    action: Message
    target: Message | None
    refused: str = ""
    #: The sequence of the event the action added to the conversation's log (0: none,
    #: refused).
    sequence: int = 0
    #: A correction kept as a message of its own because its target had not reached us,
    #: folded into the target once it came: the correction's row as it is now (no longer
    #: shown as a message). None for any other action.
    folded: Message | None = None


@dataclass(frozen=True, slots=True)
class Identified:
    """A room's message stored before the room's stanza id was known (our own, sent
    before the room reflected it) now has it: ``message`` as it is now, its ``uuid``
    the one every party computes (conversations-api.md section 1) from now on."""

    message: Message


def direct_uuid(a: str, b: str) -> str:
    """A direct conversation's uuid (conversations-api.md section 1)."""
    low, high = sorted((a, b))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xmpp:{low}?chinwag-direct;with={high}"))


def room_uuid(room: str) -> str:
    """A group conversation's uuid: from the room's bare address."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xmpp:{room}?join"))


def direct_message_uuid(sender: str, origin_id: str) -> str:
    """A message's uuid in a direct conversation: its author and its origin id (or its
    message id where it has none). An edit keeps the uuid of what it edits."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xmpp:{sender}?origin-id={origin_id}"))


def room_message_uuid(room: str, stanza_id: str) -> str:
    """A message's uuid in a group conversation: the room's stanza id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xmpp:{room}?stanza-id={stanza_id}"))


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation as the profile knows it (conversations-api.md section 1): its
    uuid, title, when it started and last changed (Unix seconds: the oldest and newest
    timestamps of its events), the last sequence of its event log and our own read
    position in it (a sequence; 0: nothing read)."""

    key: ConversationKey
    uuid: str
    title: str = ""
    created: float = 0.0
    updated: float = 0.0
    last_sequence: int = 0
    read_sequence: int = 0
    #: Everyone in it, us first (filled by the conversations service).
    participants: tuple[Participant, ...] = ()

    @property
    def direct(self) -> bool:
        return self.key.kind is ConversationKind.CHAT


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone in a conversation and what they may do (conversations-api.md section 3:
    the Voximplant permissions, carried by affiliations in a room; in a direct
    conversation both may write, and edit and remove their own messages)."""

    user: str  # bare address
    is_owner: bool = False
    can_write: bool = True
    can_edit_messages: bool = True
    can_edit_all_messages: bool = False
    can_remove_messages: bool = True
    can_remove_all_messages: bool = False
    can_manage_participants: bool = False
    #: Their read position (a sequence of the conversation's log; 0: none known).
    last_read_sequence: int = 0


class EventKind(enum.StrEnum):
    """What an entry of a conversation's event log records."""

    MESSAGE = "message"  # a message was stored (sent, received, from the archive)
    EDIT = "edit"  # a correction (XEP-0308) was applied
    REMOVE = "remove"  # a retraction (XEP-0424) was applied
    REACTION = "reaction"  # a sender's reactions (XEP-0444) were replaced
    # conversation-level events, for rooms (none is written yet)
    CREATED = "created"
    EDITED = "edited"
    PARTICIPANTS = "participants"
    JOIN = "join"
    LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One entry of a conversation's append-only event log: ``sequence`` is 1 for the
    first, then +1 in the order this profile learnt of them (late history comes after
    and keeps its ``timestamp``), never reused. For message kinds ``message_id`` and
    ``message_uuid`` name the message (the one stored, edited, removed or reacted to);
    ``author`` is who did it (bare address); ``data`` is the kind's payload as JSON
    ("" for none): an edit's ``{"text", "previous"}`` ("" once the message is removed:
    its texts are forgotten), a reaction's ``{"reactions": [...]}`` (the sender's set
    now; empty: taken back). ``data`` of 'message' and 'remove' events is "", but for
    the removal of a correction that waited for its target as a message of its own and
    was folded into it: ``{"folded_into": the target's uuid}``, and for a room's
    moderation (XEP-0425, ``author`` the room): ``{"moderated_by", "reason"}``."""

    key: ConversationKey
    sequence: int
    kind: EventKind
    message_uuid: str
    author: str
    timestamp: float
    data: str = ""
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """What a conversation's event tells of the message it names (conversations-api.md
    section 3), read for many events at once: its text now, payload, whether it was
    corrected (its text as sent is then the first of its versions) or removed, and the
    sequence of the event that stored it."""

    id: int
    body: str
    payload: str
    edited: bool
    removed: bool
    sequence: int


#: ``Message.flags``: the delivery reports asked for when it was sent (Telepathy's values).
REPORT_DELIVERY = 1
REPORT_READ = 2


class Report(enum.IntEnum):
    """A delivery report on one of our messages (Telepathy's delivery-status values)."""

    DELIVERED = 1
    PERMANENTLY_FAILED = 3
    ACCEPTED = 4
    READ = 5


def reports_for(message: Message, old: MessageState, new: MessageState) -> list[Report]:
    """The delivery reports received when our ``message`` moves from ``old`` to ``new``:
    a failure always; the server's acceptance and the delivery when it asked for delivery
    reports; the read marker when it asked for read reports. A read marker that overtook
    the receipt reports the delivery too (read implies delivered)."""
    if message.direction is not Direction.OUTGOING or old is new:
        return []
    if new is MessageState.FAILED:
        return [Report.PERMANENTLY_FAILED]
    delivery = bool(message.flags & REPORT_DELIVERY)
    if new is MessageState.SENT:
        return [Report.ACCEPTED] if delivery else []
    if new is MessageState.DELIVERED:
        return [Report.DELIVERED] if delivery else []
    if new is MessageState.READ:
        reports = [Report.DELIVERED] if delivery and old is not MessageState.DELIVERED else []
        if message.flags & REPORT_READ:
            reports.append(Report.READ)
        return reports
    return []


@dataclass(frozen=True, slots=True)
class Received:
    """One entry of an account's received log: a message received (``report`` None), or a
    delivery report on one of our messages. ``sequence`` is 1 for the first entry of the
    account in this profile, then +1 for each, never reused; ``at`` is when it was
    received (Unix seconds). Entries are written in the transaction that stores what they
    log, so the log has no gaps and misses nothing stored."""

    account: str
    sequence: int
    at: int
    message: Message
    report: Report | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class PageAnchor:
    """A position in a conversation for keyset paging: (timestamp, row id)."""

    timestamp: float
    id: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: Message
    snippet: str  # with the matched words between \x02 and \x03 markers


@dataclass(frozen=True, slots=True)
class StreamState:
    """What a restarted Chinwag needs to resume its last XEP-0198 stream: the stream id,
    the address it was bound to, how many of the server's stanzas we have handled (never
    less than we told the server), how many of ours it has acknowledged and how many we
    had sent, and our messages it has not acknowledged yet: (uid, peer, count at which
    it was sent)."""

    stream_id: str
    jid: str
    handled: int
    acked: int
    sent: int
    unacked: tuple[tuple[str, str, int], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.stream_id,
                "jid": self.jid,
                "h": self.handled,
                "acked": self.acked,
                "sent": self.sent,
                "unacked": [list(item) for item in self.unacked],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StreamState | None:
        """The state saved by :meth:`to_json`; None for anything else."""
        try:
            data = json.loads(text)
            return cls(
                stream_id=str(data["id"]),
                jid=str(data["jid"]),
                handled=int(data["h"]),
                acked=int(data["acked"]),
                sent=int(data["sent"]),
                unacked=tuple((str(u), str(p), int(n)) for u, p, n in data["unacked"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


# -- rooms (XEP-0045) ---------------------------------------------------------------------


class Role(enum.StrEnum):
    """An occupant's role in a room, for this visit (XEP-0045 section 5.1)."""

    MODERATOR = "moderator"
    PARTICIPANT = "participant"
    VISITOR = "visitor"
    NONE = "none"


class Affiliation(enum.StrEnum):
    """Someone's lasting standing in a room (XEP-0045 section 5.2)."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    OUTCAST = "outcast"
    NONE = "none"


#: Status codes of a room's presence (XEP-0045 section 15.6) that the core acts on.
STATUS_SELF = 110
STATUS_CREATED = 201
STATUS_BANNED = 301
STATUS_NICK_CHANGED = 303
STATUS_KICKED = 307
STATUS_REMOVED_AFFILIATION = 321
STATUS_REMOVED_MEMBERS_ONLY = 322
STATUS_SHUTDOWN = 332


@dataclass(frozen=True, slots=True)
class RoomPresence:
    """One presence of a room about one occupant, as received: who (``nick``; the
    real bare address where the room tells it, and its XEP-0421 occupant id where it
    offers one), their role and affiliation, availability, and the status codes."""

    room: str
    nick: str
    available: bool = True
    role: Role = Role.PARTICIPANT
    affiliation: Affiliation = Affiliation.NONE
    jid: str = ""  # real bare address ("" : the room does not tell)
    occupant_id: str = ""
    show: Show = Show.ONLINE
    status: str = ""
    codes: frozenset[int] = frozenset()
    #: A nick change (303): the new nick.
    new_nick: str = ""
    #: Why, for a kick or ban (the item's reason) or a room being destroyed.
    reason: str = ""
    #: The room was destroyed (XEP-0045 10.9).
    destroyed: bool = False

    @property
    def own(self) -> bool:
        return STATUS_SELF in self.codes


@dataclass(frozen=True, slots=True)
class Occupant:
    """Someone in a room now."""

    nick: str
    role: Role = Role.PARTICIPANT
    affiliation: Affiliation = Affiliation.NONE
    jid: str = ""
    occupant_id: str = ""
    show: Show = Show.ONLINE
    status: str = ""

    @property
    def author(self) -> str:
        """Who they are for authorship (conversations-api.md section 1): the real bare
        address, else the occupant id, never the nick ("" : neither is known)."""
        if self.jid:
            return self.jid
        return f"occupant-id:{self.occupant_id}" if self.occupant_id else ""


class RoomState(enum.StrEnum):
    JOINING = "joining"
    JOINED = "joined"
    LEFT = "left"  # left on purpose, kicked, banned, or the room is gone
    FAILED = "failed"  # the room refused us (see the error)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation to a room waiting for the user's answer: a XEP-0249 direct one
    (``direct``: sent by ``inviter`` itself) or a XEP-0045 mediated one (sent by the room
    on ``inviter``'s behalf; a decline goes back through the room). Addresses are bare
    and normalised, but for an inviter that a room names by nick (it hides real
    addresses): ``room@service/nick``. ``password`` is the room's, when the invitation
    gave it."""

    account: str
    room: str
    inviter: str
    reason: str = ""
    password: str = ""
    direct: bool = False
    #: When it arrived (Unix time).
    received: float = 0.0


# -- bookmarks (XEP-0402, XEP-0048) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A group chat the user keeps a bookmark of (XEP-0402): the room's bare address,
    the name it is listed under, the nick and password to join with, whether to join it
    on sign-in, and the bookmark's ``<extensions/>`` as XML text, exactly as another
    client wrote them (kept when we rewrite the bookmark; "" : none)."""

    account: str
    room: str
    name: str = ""
    nick: str = ""
    password: str = ""
    autojoin: bool = False
    extensions: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.room


# -- finding rooms (XEP-0030 service discovery, XEP-0059 paging) ---------------------------


@dataclass(frozen=True, slots=True)
class DiscoIdentity:
    """One identity an entity gives in disco#info (XEP-0030): ``conference``/``text``
    for a group chat service."""

    category: str
    type: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class DiscoInfo:
    """What an entity says it is (disco#info): its identities, its features and its
    extended forms (XEP-0128), by FORM_TYPE, each a mapping of field var to values."""

    jid: str
    identities: tuple[DiscoIdentity, ...] = ()
    features: frozenset[str] = frozenset()
    forms: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def form_value(self, form_type: str, var: str) -> str:
        """The first value of field ``var`` of the extended form ``form_type`` ("": none)."""
        values = self.forms.get(form_type, {}).get(var, ())
        return values[0] if values else ""


@dataclass(frozen=True, slots=True)
class DiscoItem:
    """One item of a disco#items answer: an address, its name (may be ""), its node."""

    jid: str
    name: str = ""
    node: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveSlice:
    """One page of an archive (XEP-0313) read backwards (XEP-0059 ``<before/>``): its
    messages in archive order (oldest first), the archive id of every result of the page
    (a result that is no message, an invitation say, has one too), the first and last of
    them, and whether the page reaches the start of what was asked for (``complete``:
    nothing older)."""

    messages: tuple[Message, ...] = ()
    ids: tuple[str, ...] = ()
    complete: bool = True

    @property
    def first(self) -> str:
        """The archive id of the page's oldest result ("" : an empty page)."""
        return self.ids[0] if self.ids else ""

    @property
    def last(self) -> str:
        """The archive id of the page's newest result ("" : an empty page)."""
        return self.ids[-1] if self.ids else ""


@dataclass(frozen=True, slots=True)
class DiscoItemsPage:
    """A disco#items answer. ``paged``: the entity honoured the XEP-0059 request (then
    ``last`` names the page's last item and ``total`` the count, when it gave one); an
    entity that ignores it answers with every item at once (``paged`` false)."""

    items: tuple[DiscoItem, ...] = ()
    last: str = ""
    total: int | None = None
    paged: bool = False


@dataclass(frozen=True, slots=True)
class RoomListing:
    """A public room as its service lists it: address, name ("" : none given), how many
    are in it (None : not asked, or the service does not say) and its description."""

    jid: str
    name: str = ""
    occupants: int | None = None
    description: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.jid


@dataclass(frozen=True, slots=True)
class RoomListPage:
    """A page of a service's public rooms: pass ``last`` as ``after`` for the next page
    ("" : this was the last page); ``total`` is the number of public rooms when known."""

    rooms: tuple[RoomListing, ...] = ()
    last: str = ""
    total: int | None = None
