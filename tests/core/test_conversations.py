"""The conversation as the unit (issue 11): its uuid as the spec computes it, its event
log (sequences in the order things were learnt), and read positions, ours and the
peer's, moved by displayed markers (XEP-0333) and never backwards."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from core_rig import BOB, ME, Core, incoming

from chinwag.core.events import (
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    ReactionsChanged,
    ReadPositionChanged,
)
from chinwag.core.models import ConversationKey, EventKind

KEY = ConversationKey(ME, BOB)


def test_a_direct_conversation_has_the_specs_uuid(rig: Core) -> None:
    expected = uuid.uuid5(uuid.NAMESPACE_URL, "xmpp:bob@localhost?chinwag-direct;with=me@localhost")
    assert rig.core.conversations.get(KEY).uuid == str(expected)


async def test_the_event_log_follows_what_happened(rig: Core) -> None:
    await rig.receive(incoming("helo", "m1"), incoming("second", "m2"))
    ours = await rig.core.messaging.send(ME, BOB, "reply")
    await rig.receive(incoming("hello", "c1", replaces="m1"))
    await rig.core.messaging.react(ours, ["👍"])
    events = rig.core.conversations.events(KEY, 0)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert [e.kind for e in events] == [
        EventKind.MESSAGE,
        EventKind.MESSAGE,
        EventKind.MESSAGE,
        EventKind.EDIT,
        EventKind.REACTION,
    ]
    assert [e.author for e in events] == [BOB, BOB, ME, BOB, ME]
    assert events[3].message_uuid == events[0].message_uuid  # an edit keeps the uuid
    assert rig.core.conversations.events(KEY, 3) == events[3:]
    assert rig.core.conversations.get(KEY).last_sequence == 5


async def test_core_events_say_their_place_in_the_log(rig: Core) -> None:
    """What the core publishes is frozen and carries the sequence of its log event, as
    stored messages read back do: the Conversations API hands these out as they are."""
    await rig.receive(incoming("helo", "m1"), incoming("second", "m2"))
    ours = await rig.core.messaging.send(ME, BOB, "reply")
    await rig.receive(incoming("hello", "c1", replaces="m1"))
    await rig.core.messaging.react(ours, ["👍"])
    await rig.core.messaging.retract(ours)
    log = {e.sequence: e for e in rig.core.conversations.events(KEY, 0)}
    added = rig.of(MessageAdded)
    assert [(e.message.uid, e.message.sequence) for e in added] == [
        ("m1", 1),
        ("m2", 2),
        (ours.uid, 3),
    ]
    assert ours.sequence == 3
    (edited,) = rig.of(MessageEdited)
    (reacted,) = rig.of(ReactionsChanged)
    (removed,) = rig.of(MessageRemoved)
    assert (edited.sequence, log[edited.sequence].kind) == (4, EventKind.EDIT)
    assert (reacted.sequence, log[reacted.sequence].kind) == (5, EventKind.REACTION)
    assert (removed.sequence, log[removed.sequence].kind) == (6, EventKind.REMOVE)
    # Read back, a message knows the sequence of the event that stored it.
    assert [(m.uid, m.sequence) for m in rig.history()] == [("m1", 1), ("m2", 2), (ours.uid, 3)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        edited.message.body = "changed"  # type: ignore[misc]


async def test_our_read_position_moves_when_we_look(rig: Core) -> None:
    await rig.receive(incoming("one", "m1"), incoming("two", "m2"))
    assert rig.core.conversations.first_unread(KEY) == 1  # the "new messages" line
    await rig.core.messaging.mark_displayed(KEY)
    assert rig.core.conversations.get(KEY).read_sequence == 2
    assert rig.core.conversations.first_unread(KEY) == 0
    (moved,) = rig.of(ReadPositionChanged)
    assert (moved.key, moved.participant, moved.sequence) == (KEY, ME, 2)
    await rig.receive(incoming("three", "m3"))
    assert rig.core.conversations.first_unread(KEY) == 3


async def test_the_peers_marker_moves_their_position_forward_only(rig: Core) -> None:
    first = await rig.core.messaging.send(ME, BOB, "one")
    second = await rig.core.messaging.send(ME, BOB, "two")
    listener = rig.conn.listener
    listener.on_displayed(second.uid, BOB, False)
    await rig.core.messaging.drain()
    assert rig.core.conversations.read_positions(KEY) == {ME: 0, BOB: 2}
    listener.on_displayed(first.uid, BOB, False)  # an older marker, late
    await rig.core.messaging.drain()
    assert rig.core.conversations.read_positions(KEY)[BOB] == 2
    assert [(e.participant, e.sequence) for e in rig.of(ReadPositionChanged)] == [(BOB, 2)]


async def test_read_on_another_device_moves_ours(rig: Core) -> None:
    await rig.receive(incoming("one", "m1"), incoming("two", "m2"))
    rig.conn.listener.on_displayed("m1", BOB, True)  # our phone displayed up to m1
    await rig.core.messaging.drain()
    assert rig.core.conversations.get(KEY).read_sequence == 1


async def test_a_direct_conversation_has_two_participants_and_the_contacts_name(
    rig: Core,
) -> None:
    from chinwag.core.models import Contact, Participant, Subscription

    rig.conn.listener.on_roster(
        [Contact(ME, BOB, "Bob Builder", subscription=Subscription.BOTH)], "", full=False
    )
    ours = await rig.core.messaging.send(ME, BOB, "one")
    rig.conn.listener.on_displayed(ours.uid, BOB, False)
    await rig.core.messaging.drain()
    conversation = rig.core.conversations.get(KEY)
    assert conversation.direct
    assert conversation.title == "Bob Builder"
    assert rig.core.conversations.title(KEY) == "Bob Builder"  # what its window is called
    # Renamed in the roster: the conversation is called by the new name.
    rig.conn.listener.on_roster(
        [Contact(ME, BOB, "Robert", subscription=Subscription.BOTH)], "", full=False
    )
    assert rig.core.conversations.title(KEY) == "Robert"
    stranger = ConversationKey(ME, "stranger@localhost")
    assert rig.core.conversations.title(stranger) == "stranger@localhost"
    assert conversation.participants == (
        Participant(ME, last_read_sequence=0),
        Participant(BOB, last_read_sequence=1),
    )
    assert not any(p.can_edit_all_messages or p.is_owner for p in conversation.participants)
