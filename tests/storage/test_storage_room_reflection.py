"""Issue 13: our own room message, stored when sent, learns the room's stanza id when the
room reflects it; storing the reflection says so (Identified), with the message's uuid
the room's from then on (conversations-api.md section 1)."""

from __future__ import annotations

from dataclasses import replace

from storage_helpers import ME, MessageFactory

from chinwag.core.models import ConversationKey, ConversationKind, Identified, room_message_uuid
from chinwag.storage import SqliteMessageStore

ROOM = "room@conference.example.org"


async def test_the_reflection_of_our_room_message_identifies_it(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    key = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    sent = await store.add_outgoing(make.outgoing("hi", peer=ROOM, kind=ConversationKind.GROUPCHAT))
    assert sent.uuid == room_message_uuid(ROOM, sent.uid)  # (ours until the room says)
    reflection = replace(sent, id=None, stanza_id="room-sid-1", sequence=0)
    done = await store.add_received([reflection])
    assert len(done) == 1
    (identified,) = done
    assert isinstance(identified, Identified)
    now = identified.message
    assert (now.id, now.stanza_id, now.sequence) == (sent.id, "room-sid-1", sent.sequence)
    assert now.uuid == room_message_uuid(ROOM, "room-sid-1")
    found = store.get_by_uuid(key, now.uuid)
    assert found is not None
    assert found.id == sent.id
    # Once known, the same again is a plain duplicate: nothing to say.
    assert await store.add_received([reflection]) == []
    (logged,) = store.events_after(key, sent.sequence - 1, 1)
    assert logged.message_uuid == now.uuid


async def test_a_direct_messages_copy_identifies_nothing(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    sent = await store.add_outgoing(make.outgoing("hi"))
    assert await store.add_received([replace(sent, id=None, stanza_id="archive-1")]) == []
