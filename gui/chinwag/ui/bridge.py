"""The one place core events become Qt signals (qutebrowser's message bridge): widgets
connect to these signals and never subscribe to the core bus themselves.

Events come by family, one signal each, so a widget connects to what it shows instead
of filtering every event of the core. Every event type of :mod:`chinwag.core.events`
belongs to exactly one family (:data:`FAMILIES`; a test holds every type to it), and
each event is emitted once, on its family's signal, in the order the core published it:

=========================  =====================================================
signal                     events (type alias)
=========================  =====================================================
``accounts_changed``       an account was added, removed or changed
                           (:data:`AccountEvent`)
``connection_changed``     an account's connection moved on, or its archive
                           catch-up ended (:data:`ConnectionEvent`)
``own_presence_changed``   the status we show (:class:`OwnPresenceChanged`)
``roster_changed``         contacts, their groups and their presence
                           (:data:`RosterEvent`)
``subscriptions_changed``  presence subscriptions asked, answered, withdrawn
                           (:data:`SubscriptionEvent`)
``blocking_changed``       an address was blocked or unblocked (:class:`BlockChanged`)
``messages_changed``       a stored message was added, moved on, edited, removed or
                           reacted to (:data:`MessageEvent`)
``received_logged``        the received log grew (:class:`ReceivedLogged`)
``chat_states_changed``    a contact is typing, paused, gone (:class:`ChatStateChanged`)
``conversations_changed``  a read position moved (:data:`ConversationChange`)
``storage_changed``        history cannot be written, or can again (:data:`StorageEvent`)
``invitations_changed``    an invitation to a room came, or was answered or dropped
                           (:data:`InvitationEvent`)
``rooms_changed``          we entered or left a room, someone there came, changed
                           or went, its subject or our nick changed (:data:`RoomEvent`)
``bookmarks_changed``      the bookmarks of rooms changed or were read after sign-in
                           (:data:`BookmarkEvent`)
``conversation_logged``    a conversation-level entry joined a conversation's log: a
                           room made, someone joined, left, or their standing changed
                           (:class:`ConversationLogged`)
``users_changed``          user data, online status, subscriptions or the chosen
                           notifications changed (:data:`UserEvent`)
``avatars_changed``        a contact's (or our own) avatar changed
                           (:class:`~chinwag.core.avatars.AvatarChanged`)
=========================  ====================================================="""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast, get_args

from PySide6.QtCore import QObject, Signal, SignalInstance

from chinwag.core.events import (
    AccountAdded,
    AccountChanged,
    AccountRemoved,
    ArchiveSynced,
    AttachmentChanged,
    AvatarChanged,
    BlockChanged,
    BookmarksChanged,
    BookmarksSynced,
    ChatStateChanged,
    ConnectionStateChanged,
    ContactNicknameChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    ConversationLogged,
    Event,
    EventBus,
    GroupCreated,
    GroupRenamed,
    InvitationCleared,
    InvitationReceived,
    MessageAdded,
    MessageEdited,
    MessageFolded,
    MessageIdentified,
    MessageReleased,
    MessageRemoved,
    MessageStateChanged,
    NotificationsChanged,
    OccupantChanged,
    OnlineSet,
    OwnNickChanged,
    OwnPresenceChanged,
    ReactionsChanged,
    ReadPositionChanged,
    ReceivedLogged,
    RoomJoined,
    RoomLeft,
    RoomSubjectChanged,
    RosterReceived,
    StorageFailed,
    StorageRecovered,
    SubscriptionAnswered,
    SubscriptionRequestCleared,
    SubscriptionRequested,
    SubscriptionsChanged,
    UserEdited,
)

log = logging.getLogger(__name__)

#: An account was added, removed, or its settings changed (enabled, order, name, ...).
AccountEvent = AccountAdded | AccountRemoved | AccountChanged
#: An account's connection changed state, or its catch-up from the archive ended.
ConnectionEvent = ConnectionStateChanged | ArchiveSynced
#: The roster: contacts and groups, and the contacts' presence.
RosterEvent = (
    RosterReceived
    | ContactUpdated
    | ContactRemoved
    | ContactPresenceChanged
    | ContactNicknameChanged
    | GroupCreated
    | GroupRenamed
)
#: Presence subscriptions: someone asks to see ours, or answered our request.
SubscriptionEvent = SubscriptionRequested | SubscriptionRequestCleared | SubscriptionAnswered
#: The events of the message family: a message was stored, moved on, was edited, was
#: removed, was folded into the message it corrects, its reactions changed, or (our own,
#: in a room) it got the room's id. Each names one message of one conversation.
MessageEvent = (
    MessageAdded
    | MessageIdentified
    | MessageStateChanged
    | MessageReleased
    | MessageEdited
    | MessageRemoved
    | MessageFolded
    | ReactionsChanged
)
#: About a conversation as a whole (not one message): a read position moved.
ConversationChange = ReadPositionChanged
#: History cannot be written (the disk is full, ...), or can be again.
StorageEvent = StorageFailed | StorageRecovered
#: Invitations to rooms: one came, or one was accepted, declined or dropped.
InvitationEvent = InvitationReceived | InvitationCleared
#: Rooms: we are in one or no longer, someone came, changed or went, its subject or our
#: nick there changed.
RoomEvent = RoomJoined | RoomLeft | OccupantChanged | RoomSubjectChanged | OwnNickChanged
#: The bookmarks of rooms: changed (here, or on another device), or read after sign-in.
BookmarkEvent = BookmarksChanged | BookmarksSynced
#: Users (the Conversations API's): someone's user data changed, our online status was
#: set, subscriptions were approved or ended, the notifications chosen changed.
UserEvent = UserEdited | OnlineSet | SubscriptionsChanged | NotificationsChanged


@dataclass(frozen=True, slots=True)
class Family:
    """A family of core events and the name of the bridge's signal that carries them."""

    signal: str
    events: tuple[type[Event], ...]


def _types(family: object) -> tuple[type[Event], ...]:
    """The event types of a family alias (a union, or a single type)."""
    return get_args(family) or (cast(type[Event], family),)


#: Every family, with the signal it is emitted on (the types are the aliases' above).
FAMILIES: tuple[Family, ...] = (
    Family("accounts_changed", _types(AccountEvent)),
    Family("connection_changed", _types(ConnectionEvent)),
    Family("own_presence_changed", _types(OwnPresenceChanged)),
    Family("roster_changed", _types(RosterEvent)),
    Family("subscriptions_changed", _types(SubscriptionEvent)),
    Family("blocking_changed", _types(BlockChanged)),
    Family("messages_changed", _types(MessageEvent)),
    Family("received_logged", _types(ReceivedLogged)),
    Family("chat_states_changed", _types(ChatStateChanged)),
    Family("conversations_changed", _types(ConversationChange)),
    Family("storage_changed", _types(StorageEvent)),
    Family("invitations_changed", _types(InvitationEvent)),
    Family("rooms_changed", _types(RoomEvent)),
    Family("bookmarks_changed", _types(BookmarkEvent)),
    Family("conversation_logged", _types(ConversationLogged)),
    Family("users_changed", _types(UserEvent)),
    Family("avatars_changed", (AvatarChanged,)),
    Family("files_changed", (AttachmentChanged,)),
)

#: The message family's event types.
MESSAGE_EVENTS: tuple[type[Event], ...] = next(
    f.events for f in FAMILIES if f.signal == "messages_changed"
)


def family_of(event_type: type[Event]) -> Family | None:
    """The family ``event_type`` belongs to (the first one listing it or a base of it)."""
    for cls in event_type.__mro__:
        for family in FAMILIES:
            if cls in family.events:
                return family
    return None


class EventBridge(QObject):
    """Re-emits every core event on the Qt side, on its family's signal (see the module
    documentation). Each signal's argument is one event of its family. (No signal is
    named ``event``: that would hide ``QObject.event``, which Qt calls for every event
    the object gets.)"""

    #: An :data:`AccountEvent`.
    accounts_changed = Signal(object)
    #: A :data:`ConnectionEvent`.
    connection_changed = Signal(object)
    #: An :class:`~chinwag.core.events.OwnPresenceChanged`.
    own_presence_changed = Signal(object)
    #: A :data:`RosterEvent`.
    roster_changed = Signal(object)
    #: A :data:`SubscriptionEvent`.
    subscriptions_changed = Signal(object)
    #: A :class:`~chinwag.core.events.BlockChanged`.
    blocking_changed = Signal(object)
    #: A :data:`MessageEvent`.
    messages_changed = Signal(object)
    #: A :class:`~chinwag.core.events.ReceivedLogged`.
    received_logged = Signal(object)
    #: A :class:`~chinwag.core.events.ChatStateChanged`.
    chat_states_changed = Signal(object)
    #: A :data:`ConversationChange`.
    conversations_changed = Signal(object)
    #: A :data:`StorageEvent`.
    storage_changed = Signal(object)
    #: An :data:`InvitationEvent`.
    invitations_changed = Signal(object)
    #: A :data:`RoomEvent`.
    rooms_changed = Signal(object)
    #: A :data:`BookmarkEvent`.
    bookmarks_changed = Signal(object)
    #: A :class:`~chinwag.core.events.ConversationLogged`.
    conversation_logged = Signal(object)
    #: A :data:`UserEvent`.
    users_changed = Signal(object)
    #: A :class:`~chinwag.core.avatars.AvatarChanged`.
    avatars_changed = Signal(object)
    #: A :class:`~chinwag.core.files.AttachmentChanged` (a file's transfer moved).
    files_changed = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._routes: dict[type[Event], SignalInstance] = {
            event_type: getattr(self, family.signal)
            for family in FAMILIES
            for event_type in family.events
        }
        self._unrouted: set[type[Event]] = set()
        self._unsubscribe = bus.subscribe_all(self._forward)

    def signal_for(self, event_type: type[Event]) -> SignalInstance | None:
        """The signal that carries events of ``event_type`` (None: no family has it)."""
        route = self._routes.get(event_type)
        if route is None:
            family = family_of(event_type)
            if family is None:
                return None
            route = self._routes[event_type] = getattr(self, family.signal)
        return route

    def _forward(self, event: Event) -> None:
        route = self.signal_for(type(event))
        if route is not None:
            route.emit(event)
        elif type(event) not in self._unrouted:
            self._unrouted.add(type(event))
            log.error("no family has %s: such events are not shown", type(event).__name__)

    def close(self) -> None:
        self._unsubscribe()


__all__ = [
    "FAMILIES",
    "MESSAGE_EVENTS",
    "AccountEvent",
    "ConnectionEvent",
    "ConversationChange",
    "EventBridge",
    "Family",
    "InvitationEvent",
    "MessageEvent",
    "RosterEvent",
    "StorageEvent",
    "SubscriptionEvent",
    "family_of",
]
