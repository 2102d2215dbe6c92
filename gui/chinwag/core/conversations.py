"""Conversations as the unit (conversations-api.md section 1): each one's identity (the
spec's uuid), its append-only event log, and read positions, ours and the other
participants'. The log is written by storage in the transactions that store what it
records; this service reads it and moves read positions, publishing
:class:`~chinwag.core.events.ReadPositionChanged`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from chinwag.core.events import EventBus, ReadPositionChanged
from chinwag.core.models import (
    Conversation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    Message,
    Participant,
    direct_uuid,
    room_uuid,
)
from chinwag.core.ports import MessageStore

log = logging.getLogger(__name__)

#: Event log entries given at most per request (conversations-api.md: retransmission).
MAX_EVENTS = 100


def conversation_uuid(key: ConversationKey) -> str:
    """The spec's uuid of a conversation, the same for every party's client."""
    if key.kind is ConversationKind.GROUPCHAT:
        return room_uuid(key.peer)
    return direct_uuid(key.account, key.peer)


class ConversationService:
    """Conversation entities, their event logs and read positions."""

    def __init__(
        self,
        store: MessageStore,
        bus: EventBus,
        name_of: Callable[[str, str], str] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        #: (account, address) -> the name a person knows them by (the roster's).
        self._name_of = name_of or (lambda _account, jid: jid)

    def get(self, key: ConversationKey) -> Conversation:
        """The conversation (one with nothing stored yet: its identity, at sequence 0),
        with its title (a direct one: the contact's name) and its participants, us first,
        each with their read position."""
        found = self._store.conversation_info(key) or Conversation(key, conversation_uuid(key))
        if not found.direct:
            return found  # rooms: their participants come with group chat
        others = self._store.read_positions(key)
        participants = (
            Participant(key.account, last_read_sequence=found.read_sequence),
            Participant(key.peer, last_read_sequence=others.get(key.peer, 0)),
        )
        title = found.title or self._name_of(key.account, key.peer)
        return replace(found, title=title, participants=participants)

    def title(self, key: ConversationKey) -> str:
        """What the conversation is called: its own title where it has one (a room's),
        else for a direct one the contact's name (the roster's), else its address."""
        found = self._store.conversation_info(key)
        if found is not None and found.title:
            return found.title
        return self._name_of(key.account, key.peer) if found is None or found.direct else key.peer

    def events(
        self, key: ConversationKey, after: int, limit: int = MAX_EVENTS
    ) -> list[ConversationEvent]:
        """The event log after sequence ``after``, oldest first, at most ``limit``."""
        return self._store.events_after(key, after, max(0, min(limit, MAX_EVENTS)))

    def read_positions(self, key: ConversationKey) -> dict[str, int]:
        """Everyone's read position: ours under the account's address, then the others'."""
        positions = {key.account: self.get(key).read_sequence}
        positions.update(self._store.read_positions(key))
        return positions

    def first_unread(self, key: ConversationKey) -> int:
        """The sequence after our read position (where a "new messages" line goes); 0
        when everything is read."""
        conversation = self._store.conversation_info(key)  # (no participants needed)
        if conversation is None or conversation.read_sequence >= conversation.last_sequence:
            return 0
        return conversation.read_sequence + 1

    def own_position(self, key: ConversationKey) -> int:
        """Our read position in the conversation (0: nothing read, or nothing stored)."""
        info = self._store.conversation_info(key)
        return info.read_sequence if info is not None else 0

    def announce_own(self, key: ConversationKey, before: int) -> None:
        """Storage moved our position with the messages it marked displayed: say so if
        it is past ``before`` (what it was), without writing it again."""
        now = self.own_position(key)
        if now > before:
            self._bus.publish(ReadPositionChanged(key, key.account, now))

    async def read_up_to(self, key: ConversationKey, reader: str, message: Message) -> None:
        """``reader`` (the account, or another participant) has read up to ``message``:
        move their position to its sequence (forward only) and say so."""
        if message.id is None:
            return
        sequence = self._store.message_sequence(message.id)
        if sequence is None:
            return
        if reader == key.account:
            now = await self._store.set_read_sequence(key, sequence)
        else:
            now = await self._store.set_read_position(key, reader, sequence)
        if now == sequence:  # moved to it (not: it was further on already)
            self._bus.publish(ReadPositionChanged(key, reader, now))
