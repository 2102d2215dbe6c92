"""Typed events the core publishes, and the bus that carries them.

Every change a window, the tray or a script may care about is one frozen dataclass here.
Exactly one Qt bridge turns them into Qt signals and one module turns them into D-Bus
signals; nothing else listens to slixmpp directly."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chinwag.core.attachments import Attachment
from chinwag.core.errors import ChinwagError
from chinwag.core.models import (
    Bookmark,
    ConnectionState,
    Contact,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    Invitation,
    Message,
    Occupant,
    Presence,
    Received,
    Show,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all core events."""


@dataclass(frozen=True, slots=True)
class AccountAdded(Event):
    account: str


@dataclass(frozen=True, slots=True)
class AccountRemoved(Event):
    account: str


@dataclass(frozen=True, slots=True)
class AccountChanged(Event):
    """Settings of an account changed (enabled, host, ...)."""

    account: str


@dataclass(frozen=True, slots=True)
class ConnectionStateChanged(Event):
    account: str
    state: ConnectionState
    #: Why it left ONLINE or stopped trying; None for a wanted change.
    error: ChinwagError | None = None
    #: True when a stream-management session was resumed (nothing was lost or redone).
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class OwnPresenceChanged(Event):
    account: str
    show: Show
    status: str


@dataclass(frozen=True, slots=True)
class RosterReceived(Event):
    """The whole roster of an account was (re)loaded."""

    account: str


@dataclass(frozen=True, slots=True)
class ContactUpdated(Event):
    """A contact was added or changed (name, groups, subscription)."""

    contact: Contact
    previous: Contact | None


@dataclass(frozen=True, slots=True)
class ContactRemoved(Event):
    account: str
    jid: str


@dataclass(frozen=True, slots=True)
class ContactNicknameChanged(Event):
    """The nickname a contact publishes for themselves (XEP-0172) changed ("": none). It
    names them where the user gave no name of their own."""

    account: str
    jid: str
    nickname: str


@dataclass(frozen=True, slots=True)
class ContactPresenceChanged(Event):
    """The aggregate presence of a contact changed (over all its resources)."""

    account: str
    jid: str
    presence: Presence
    previous: Presence


@dataclass(frozen=True, slots=True)
class GroupCreated(Event):
    """An empty roster group was made (it exists here until a contact is put in it)."""

    account: str
    name: str


@dataclass(frozen=True, slots=True)
class GroupRenamed(Event):
    """A roster group is being renamed: its members move from ``old`` to ``new``."""

    account: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class SubscriptionRequested(Event):
    """Someone asks to see our presence."""

    account: str
    jid: str
    nick: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionRequestCleared(Event):
    """A pending request to see our presence was answered (here, by a script or another
    device) or withdrawn: a banner showing it can go."""

    account: str
    jid: str


@dataclass(frozen=True, slots=True)
class SubscriptionAnswered(Event):
    """A contact approved (True) or refused/cancelled (False) our subscription."""

    account: str
    jid: str
    approved: bool


@dataclass(frozen=True, slots=True)
class BlockChanged(Event):
    """XEP-0191: ``jid`` was blocked (True) or unblocked (False)."""

    account: str
    jid: str
    blocked: bool


@dataclass(frozen=True, slots=True)
class MessageAdded(Event):
    """A message was stored: typed here, sent by a script, received, or a copy from the
    user's other devices or the archive. Published once per message, after the commit;
    ``message.sequence`` is its event's in the conversation's log."""

    message: Message


@dataclass(frozen=True, slots=True)
class MessageIdentified(Event):
    """Our own message in a room came back from it (the room reflected it): stored
    before, it has the room's stanza id now, and with it the uuid every party computes
    (conversations-api.md section 1), which it keeps. Published once, after the commit,
    in order with the batch's other events."""

    message: Message


@dataclass(frozen=True, slots=True)
class MessageEdited(Event):
    """A message's text was corrected by its author (XEP-0308): ``message`` as it is now
    (its first id, its newest text, ``edited_at`` set)."""

    message: Message
    #: Of the edit (removal) in the conversation's event log (0: not logged).
    sequence: int = 0
    #: The correction came as it was made (live, a carbon, offline storage), not from the
    #: archive or folded in later: what a desktop notification may tell.
    live: bool = False


@dataclass(frozen=True, slots=True)
class MessageRemoved(Event):
    """A message was retracted by its author (XEP-0424): ``message`` is now a tombstone."""

    message: Message
    #: Of the edit (removal) in the conversation's event log (0: not logged).
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class MessageFolded(Event):
    """A correction that was shown as a message of its own because the message it
    corrects (XEP-0308) had not reached us has been applied to that message, now stored
    (``into``, as it is now; a :class:`MessageEdited` for it comes first): ``message``,
    the correction's row, no longer shows in the history."""

    message: Message
    into: Message


@dataclass(frozen=True, slots=True)
class ReadPositionChanged(Event):
    """Someone's read position in a conversation moved forward: ours (``participant``
    is the account: we displayed it here or on another device) or another
    participant's (their displayed marker, XEP-0333). ``sequence`` is of the
    conversation's event log."""

    key: ConversationKey
    participant: str
    sequence: int


@dataclass(frozen=True, slots=True)
class ConversationLogged(Event):
    """A conversation-level event (created, edited, participants, join, leave) was
    appended to its conversation's log (after the commit)."""

    event: ConversationEvent


@dataclass(frozen=True, slots=True)
class ReactionsChanged(Event):
    """Someone's reactions to ``message`` changed (XEP-0444); ``reactions`` are everyone's
    now, as (sender, their reactions), oldest first."""

    message: Message
    reactions: tuple[tuple[str, tuple[str, ...]], ...]
    #: Of the last reaction event of the change in the conversation's event log.
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class ReceivedLogged(Event):
    """Entries were added to an account's received log (messages received, delivery
    reports on ours), in sequence order; published after their commit, which is the
    commit of what they log."""

    entries: tuple[Received, ...]


@dataclass(frozen=True, slots=True)
class MessageStateChanged(Event):
    """An outgoing message moved on (sent, delivered, read, failed), or an incoming one
    was displayed."""

    message: Message


@dataclass(frozen=True, slots=True)
class MessageReleased(Event):
    """Our message that was held (a file's, while its file uploaded) is on its way now,
    with what it says now (the file's link): for those who tell of a message once it
    is sent, not when it was committed (after its :class:`MessageStateChanged`)."""

    message: Message


@dataclass(frozen=True, slots=True)
class ChatStateChanged(Event):
    """XEP-0085: the contact is composing, paused, active, inactive or gone."""

    account: str
    peer: str
    state: str
    kind: ConversationKind = ConversationKind.CHAT
    #: In a room: whose (their nick).
    nick: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveSynced(Event):
    """Catch-up from the server archive after a connect has finished (``room``: from a
    room's archive, after entering it)."""

    account: str
    count: int
    room: str = ""


@dataclass(frozen=True, slots=True)
class StorageFailed(Event):
    """History could not be written (``reason``: the disk is full, ...). Received messages
    are held, unacknowledged, and written once it can be; published once per outage."""

    reason: str


@dataclass(frozen=True, slots=True)
class StorageRecovered(Event):
    """History can be written again after a :class:`StorageFailed`; what was held is
    stored."""


@dataclass(frozen=True, slots=True)
class RoomJoined(Event):
    """We are in ``room`` now, as ``nick`` (``created``: our join made the room)."""

    account: str
    room: str
    nick: str
    created: bool = False


@dataclass(frozen=True, slots=True)
class RoomLeft(Event):
    """We are no longer in ``room`` (or it refused us): ``reason`` says why ("" : we
    left)."""

    account: str
    room: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OccupantChanged(Event):
    """Someone came into ``room`` (``previous`` None), changed (role, affiliation,
    status) or left it (``occupant`` None; ``renamed``: the new nick of a nick change;
    ``reason``: why they are out, when the room says: "kicked", "banned: spam", ...)."""

    account: str
    room: str
    nick: str
    occupant: Occupant | None
    previous: Occupant | None
    renamed: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OwnNickChanged(Event):
    """We are ``nick`` in ``room`` now."""

    account: str
    room: str
    nick: str


@dataclass(frozen=True, slots=True)
class RoomSubjectChanged(Event):
    account: str
    room: str
    subject: str
    by: str = ""


E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class AvatarChanged(Event):
    """The avatar of ``jid`` (the account's own when ``jid == account``) changed:
    ``path`` is the picture on disk, "" when there is none (a letter avatar is drawn)."""

    account: str
    jid: str
    path: str


Handler = Callable[[Any], None]


class EventBus:
    """Synchronous publish/subscribe keyed by event type.

    Handlers run in subscription order on the event loop thread. A failing handler is
    logged and does not stop the others (a broken window must not lose a message)."""

    def __init__(self) -> None:
        self._handlers: defaultdict[type[Event], list[Handler]] = defaultdict(list)
        self._all: list[Handler] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` for every event of ``event_type``; returns an unsubscribe."""
        self._handlers[event_type].append(handler)
        return lambda: self._remove(self._handlers[event_type], handler)

    def subscribe_all(self, handler: Callable[[Event], None]) -> Callable[[], None]:
        self._all.append(handler)
        return lambda: self._remove(self._all, handler)

    @staticmethod
    def _remove(handlers: list[Handler], handler: Handler) -> None:
        if handler in handlers:
            handlers.remove(handler)

    def publish(self, event: Event) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._all):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %r", handler, event)


@dataclass(frozen=True, slots=True)
class InvitationReceived(Event):
    """Someone invites us to a room (or invites us again with another reason or
    password: this one replaces the pending one of the same room and inviter)."""

    invitation: Invitation


@dataclass(frozen=True, slots=True)
class InvitationCleared(Event):
    """A pending invitation is gone: ``accepted`` (the room is to be joined), declined, or
    dropped to make room for newer ones; a banner showing it can go."""

    invitation: Invitation
    accepted: bool = False


# -- bookmarks (XEP-0402) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookmarksChanged(Event):
    """The account's bookmarks changed (read them with ``BookmarkService.list``): ours,
    a push from another of the user's devices, or the list read after sign-in."""

    account: str


@dataclass(frozen=True, slots=True)
class BookmarksSynced(Event):
    """The account's bookmarks were read from the server after a new session (not after
    a resumed one): ``autojoin`` are the rooms to join now (the room core joins them)."""

    account: str
    autojoin: tuple[Bookmark, ...] = ()


@dataclass(frozen=True, slots=True)
class UserEdited(Event):
    """The user data of ``user`` changed (conversations-api.md ``OnEditUser``): edited
    here, by another of the account's clients, or by a contact (its public data, pushed
    because we see its presence). ``custom_data`` is a JSON object's text ("{}": none);
    ``private_custom_data`` likewise, the account's own only (None for anyone else)."""

    account: str
    user: str
    custom_data: str
    private_custom_data: str | None = None


@dataclass(frozen=True, slots=True)
class OnlineSet(Event):
    """``SetOnline``: the account's presence is now available (True) or extended away."""

    account: str
    online: bool


@dataclass(frozen=True, slots=True)
class SubscriptionsChanged(Event):
    """We now see the presence of ``users`` (``subscribed``: the contacts approved), or
    no longer do (they or we ended it): ``OnSubscribe`` / ``OnUnsubscribe``."""

    account: str
    users: tuple[str, ...]
    subscribed: bool


@dataclass(frozen=True, slots=True)
class NotificationsChanged(Event):
    """Which events raise desktop notifications (``SendMessage``, ``EditMessage``),
    chosen here or by another of the account's clients (private PEP storage)."""

    account: str
    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AttachmentChanged(Event):
    """A file of a message (``chinwag.core.files``) was offered or committed, or its
    transfer moved: its state, or the bytes transferred so far."""

    key: ConversationKey
    attachment: Attachment
