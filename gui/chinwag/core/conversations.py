"""Conversations as the unit (conversations-api.md section 1): each one's identity (the
spec's uuid), its append-only event log, and read positions, ours and the other
participants'. The log is written by storage in the transactions that store what it
records; this service reads it and moves read positions, publishing
:class:`~chinwag.core.events.ReadPositionChanged`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from chinwag.core.events import (
    ConversationLogged,
    EventBus,
    OccupantChanged,
    ReadPositionChanged,
    RoomJoined,
    RoomLeft,
)
from chinwag.core.models import (
    Conversation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    EventKind,
    Message,
    Participant,
    direct_uuid,
    room_uuid,
)
from chinwag.core.ports import MessageStore
from chinwag.core.rooms import GONE_FOR_NOW
from chinwag.core.tasks import BackgroundTasks

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
        #: (account, address) -> the name a person knows them by (the roster's name,
        #: else the nickname they publish).
        self._name_of = name_of or (lambda _account, jid: jid)
        self._tasks = BackgroundTasks("conversation log")
        #: Conversation-level events are appended in the order they happened.
        self._order = asyncio.Lock()
        #: (account, room) -> is the room joined (set by :meth:`follow_rooms`).
        self._joined: Callable[[str, str], bool] = lambda _account, _room: False
        #: (account, room, address) -> is someone with that address in it (any nick).
        self._present: Callable[[str, str, str], bool] = lambda _account, _room, _jid: False

    # -- the room's conversation-level events (created, participants, join, leave) -----

    def follow_rooms(
        self,
        joined: Callable[[str, str], bool],
        present: Callable[[str, str, str], bool] = lambda _account, _room, _jid: False,
    ) -> None:
        """Log the rooms' conversation-level events as they happen: our entering a room
        (created, when our join made it; else join, unless the log says we are in
        already: a new session enters again without joining anew), our leaving it on
        purpose or being put out (not a service going away for now), someone with a
        real address coming in while we are there (join, once: until they leave) and
        going (leave, with the room's reason for a kick or ban; not while they are still
        in under another nick: ``present``), and an affiliation changing (participants)."""
        self._joined = joined
        self._present = present
        self._bus.subscribe(RoomJoined, self._on_joined)
        self._bus.subscribe(RoomLeft, self._on_left)
        self._bus.subscribe(OccupantChanged, self._on_occupant)

    def _on_joined(self, event: RoomJoined) -> None:
        key = ConversationKey(event.account, event.room, ConversationKind.GROUPCHAT)
        kind = EventKind.CREATED if event.created else EventKind.JOIN
        self._spawn_membership(key, kind, event.account)

    def _on_left(self, event: RoomLeft) -> None:
        if event.reason in (GONE_FOR_NOW, "no answer"):
            return
        key = ConversationKey(event.account, event.room, ConversationKind.GROUPCHAT)
        data = json.dumps({"reason": event.reason}) if event.reason else ""
        self._spawn_membership(key, EventKind.LEAVE, event.account, data)

    def _on_occupant(self, event: OccupantChanged) -> None:
        key = ConversationKey(event.account, event.room, ConversationKind.GROUPCHAT)
        now, before = event.occupant, event.previous
        if event.renamed or not self._joined(event.account, event.room):
            return  # (who was there before we came in is no news)
        if now is not None and now.jid and before is None:
            self._spawn_membership(key, EventKind.JOIN, now.jid)
        if now is None and before is not None and before.jid:
            if self._present(event.account, event.room, before.jid):
                return  # still in under another nick (another of their clients)
            data = json.dumps({"reason": event.reason}) if event.reason else ""
            self._spawn_membership(key, EventKind.LEAVE, before.jid, data)
        if now is not None and before is not None and now.affiliation != before.affiliation:
            data = json.dumps(
                {
                    "action": "editParticipants",
                    "users": [now.jid or now.author],
                    "affiliation": str(now.affiliation.value),
                }
            )
            self._tasks.spawn(self.log(key, EventKind.PARTICIPANTS, now.jid or now.author, data))

    def _spawn_membership(
        self, key: ConversationKey, kind: EventKind, author: str, data: str = ""
    ) -> None:
        async def run() -> None:
            async with self._order:
                last = self._store.last_membership(key, author)
                inside = last in (EventKind.CREATED, EventKind.JOIN)
                if kind is EventKind.LEAVE and not inside:
                    return
                if kind is EventKind.JOIN and inside:
                    return
                await self._append(key, kind, author, data)

        self._tasks.spawn(run())

    async def log(
        self, key: ConversationKey, kind: EventKind, author: str, data: str = ""
    ) -> ConversationEvent:
        """Append a conversation-level event (now) and say so
        (:class:`~chinwag.core.events.ConversationLogged`)."""
        async with self._order:
            return await self._append(key, kind, author, data)

    async def _append(
        self, key: ConversationKey, kind: EventKind, author: str, data: str
    ) -> ConversationEvent:
        logged = await self._store.append_conversation_event(key, kind, author, time.time(), data)
        self._bus.publish(ConversationLogged(logged))
        return logged

    async def drain(self) -> None:
        """Wait until the events being logged are."""
        await self._tasks.drain()

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
        else for a direct one the contact's name (the roster's, else the one they
        publish), else its address."""
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
