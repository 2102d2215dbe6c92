"""The Conversations API's events (conversations-api.md section 3) as plain dictionaries,
built in one place: from an entry of a conversation's log (what the live signals send,
and what RetransmitEvents gives again: the two are the same dictionaries) and from the
unsequenced happenings (typing, read).

An event: ``action``, ``user`` (who did it: a bare address, or a room occupant's
``occupant-id:...``), ``im_user_id``; conversation and message events add ``sequence``
and ``timestamp`` (Unix seconds); message events ``message`` (``uuid``,
``conversation``, ``text``, ``payload``, ``sequence``: the message's own, that of the
event that stored it); read events ``sequence``; participant events ``users``.

IM ids come from a callable ``im_id(address) -> int``; :class:`CountingImIds` is the
in-memory stand-in until the users' part gives the lasting ones."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from chinwag.core.models import ConversationEvent, EventKind, LoggedMessage

if TYPE_CHECKING:
    from chinwag.core.ports import MessageStore

#: An event as the fronts give it: plain values (str, int, bool, list[str], dict).
EventDict = dict[str, Any]
ImId = Callable[[str], int]

#: action -> the signal that carries it.
SIGNALS: dict[str, str] = {
    "createConversation": "OnCreateConversation",
    "editConversation": "OnEditConversation",
    "joinConversation": "OnEditConversation",
    "leaveConversation": "OnEditConversation",
    "addParticipants": "OnEditConversation",
    "editParticipants": "OnEditConversation",
    "removeParticipants": "OnEditConversation",
    "removeConversation": "OnRemoveConversation",
    "sendMessage": "OnSendMessage",
    "editMessage": "OnEditMessage",
    "removeMessage": "OnRemoveMessage",
    "typing": "OnTyping",
    "read": "OnRead",
    "setStatus": "OnSetStatus",
    "editUser": "OnEditUser",
    "subscribe": "OnSubscribe",
    "unsubscribe": "OnUnsubscribe",
}

#: A log entry's kind -> its action (participants: the entry's data says which).
_ACTIONS: dict[EventKind, str] = {
    EventKind.CREATED: "createConversation",
    EventKind.EDITED: "editConversation",
    EventKind.JOIN: "joinConversation",
    EventKind.LEAVE: "leaveConversation",
    EventKind.PARTICIPANTS: "editParticipants",
    EventKind.MESSAGE: "sendMessage",
    EventKind.EDIT: "editMessage",
    EventKind.REMOVE: "removeMessage",
}
_PARTICIPANT_ACTIONS = frozenset({"addParticipants", "editParticipants", "removeParticipants"})
#: The entries whose event carries their message.
_OF_MESSAGE = frozenset({EventKind.MESSAGE, EventKind.EDIT, EventKind.REMOVE})

#: A message's payload when it carries none (a JSON array).
NO_PAYLOAD = "[]"


class CountingImIds:
    """IM ids counted from 1 per address in this run (never reused): a stand-in."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._ids: dict[str, int] = {}
        self._addresses: dict[int, str] = {}

    def __call__(self, address: str) -> int:
        found = self._ids.get(address)
        if found is None:
            found = self._ids[address] = next(self._numbers)
            self._addresses[found] = address
        return found

    def address(self, im_id: int) -> str | None:
        return self._addresses.get(im_id)


def signal_of(event: EventDict) -> str:
    """The signal an event goes out as."""
    return SIGNALS[str(event["action"])]


class EventBuilder:
    """Dictionaries of one profile's events."""

    def __init__(self, store: MessageStore, im_id: ImId) -> None:
        self._store = store
        self.im_id = im_id

    def _base(self, action: str, user: str, im_id: ImId | None = None) -> EventDict:
        return {"action": action, "user": user, "im_user_id": (im_id or self.im_id)(user)}

    def from_log(self, entry: ConversationEvent, conversation: str) -> EventDict | None:
        """The event of a log entry of the conversation whose uuid is ``conversation``;
        None for what the API does not tell (reactions)."""
        message_id = entry.message_id
        messages = (
            self._store.logged_messages([message_id])
            if message_id is not None and entry.kind in _OF_MESSAGE
            else {}
        )
        return self._build(entry, conversation, messages.get(message_id or 0), self.im_id)

    def from_log_many(
        self, entries: Iterable[ConversationEvent], conversation: str
    ) -> list[EventDict]:
        """The events of these log entries (what :meth:`from_log` gives for each, those
        it tells), their messages read in one go and each author's IM id asked once."""
        entries = list(entries)
        messages = self._store.logged_messages(
            [e.message_id for e in entries if e.message_id is not None and e.kind in _OF_MESSAGE]
        )
        known: dict[str, int] = {}

        def im_id(address: str) -> int:
            found = known.get(address)
            if found is None:
                found = known[address] = self.im_id(address)
            return found

        events = []
        for entry in entries:
            message_id = entry.message_id
            message = messages.get(message_id) if message_id is not None else None
            event = self._build(entry, conversation, message, im_id)
            if event is not None:
                events.append(event)
        return events

    def _build(
        self,
        entry: ConversationEvent,
        conversation: str,
        message: LoggedMessage | None,
        im_id: ImId,
    ) -> EventDict | None:
        action = _ACTIONS.get(entry.kind)
        if action is None:
            return None
        data = _data(entry.data)
        if entry.kind is EventKind.PARTICIPANTS and data.get("action") in _PARTICIPANT_ACTIONS:
            action = str(data["action"])
        event = self._base(action, entry.author, im_id)
        event["sequence"] = entry.sequence
        event["timestamp"] = int(entry.timestamp)
        if entry.kind in _OF_MESSAGE:
            event["message"] = self._message(entry, conversation, data, message)
        elif isinstance(data.get("users"), list):
            event["users"] = [str(u) for u in data["users"]]
        return event

    def _message(
        self,
        entry: ConversationEvent,
        conversation: str,
        data: dict[str, Any],
        message: LoggedMessage | None,
    ) -> EventDict:
        """The event's message: ``message`` is the one the entry names (None: gone)."""
        text = ""
        if entry.kind is EventKind.EDIT:
            text = str(data.get("text", ""))
        elif entry.kind is EventKind.MESSAGE and message is not None and not message.removed:
            # The text it was sent with (the log's event is the sending, whatever
            # corrections came later).
            versions = self._store.versions(message.id) if message.edited else []
            text = versions[0][1] if versions else message.body
        payload = message.payload if message is not None else ""
        return {
            "uuid": entry.message_uuid,
            "conversation": conversation,
            "text": text,
            "payload": str(payload or NO_PAYLOAD),
            "sequence": message.sequence if message is not None else entry.sequence,
        }

    def user(self, action: str, user: str, **more: Any) -> EventDict:
        """A user event (``setStatus``, ``editUser``, ``subscribe``, ``unsubscribe``)."""
        event = self._base(action, user)
        event.update(more)
        return event

    def typing(self, user: str) -> EventDict:
        return self._base("typing", user)

    def read(self, user: str, sequence: int) -> EventDict:
        event = self._base("read", user)
        event["sequence"] = sequence
        return event

    def removed(self, user: str, sequence: int, timestamp: float) -> EventDict:
        """The conversation is gone (a room destroyed): not logged, its last sequence."""
        event = self._base("removeConversation", user)
        event["sequence"] = sequence
        event["timestamp"] = int(timestamp)
        return event


def _data(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
