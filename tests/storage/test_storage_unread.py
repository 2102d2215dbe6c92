"""Unread counts from the read position (issue 11): the others' messages stored by events
after our read position, not removed, whatever their DISPLAYED state says; our own
messages never count. Seeing the conversation up to a message moves the position past
everything shown above it, history learnt late included."""

from __future__ import annotations

from dataclasses import replace

from storage_helpers import ME, OTHER, MessageFactory

from chinwag.core.models import ConversationKey, MessageState, Origin
from chinwag.storage import SqliteMessageStore


async def test_unread_is_the_others_messages_after_our_read_position(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    # seq 1-2: read (DISPLAYED or not, they are before the position)
    await store.add_incoming(
        [make.incoming("old", state=MessageState.DISPLAYED), make.incoming("older")]
    )
    assert await store.set_read_sequence(key, 2) == 2
    assert store.unread_count(key) == 0
    # seq 3: ours from here, seq 4: ours from another device (a carbon): never unread
    await store.add_outgoing(make.outgoing("mine"))
    await store.add_incoming([make.outgoing("from my phone", origin=Origin.CARBON)])
    assert store.unread_count(key) == 0
    # seq 5-7: theirs, one already DISPLAYED by state but after the position: all unread
    theirs = await store.add_incoming(
        [
            make.incoming("a"),
            make.incoming("b", state=MessageState.DISPLAYED),
            make.incoming("c"),
        ]
    )
    assert store.unread_count(key) == 3
    assert store.unread_counts(ME) == {key: 3}
    # seq 8: the contact removes "c": a tombstone is no unread message
    (removed,) = await store.apply_actions([replace(make.incoming(""), retracts=theirs[2].uid)])
    assert removed.refused == ""
    assert store.unread_count(key) == 2
    assert store.unread_counts() == {key: 2}
    # Read up to "a": "b" is left.
    await store.set_read_sequence(key, 5)
    assert store.unread_count(key) == 1
    assert store.unread_counts(ME) == {key: 1}
    assert store.unread_counts("nobody@example.org") == {}


async def test_a_late_archive_message_is_unread_and_seeing_the_newest_reads_it(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    received = await store.add_incoming([make.incoming(f"m{i}") for i in range(3)])
    await store.mark_displayed_up_to(key, received[-1].uid)
    assert store.unread_count(key) == 0
    # From the archive: older than everything shown, but learnt now (the next sequence).
    (late,) = await store.add_incoming(
        [make.incoming("late", timestamp=received[0].timestamp - 60, origin=Origin.ARCHIVE)]
    )
    assert store.unread_count(key) == 1
    assert store.unread_counts() == {key: 1}
    # The user sees the conversation up to its newest message: the late one, above it in
    # the window, is read too (its state and the position).
    changed = await store.mark_displayed_up_to(key, received[-1].uid)
    assert [m.uid for m in changed] == [late.uid]
    assert store.unread_count(key) == 0
    info = store.conversation_info(key)
    assert info is not None
    assert info.read_sequence == 4


async def test_seeing_up_to_a_message_leaves_the_later_ones_unread(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    received = await store.add_incoming([make.incoming(f"m{i}") for i in range(4)])
    await store.add_incoming([make.incoming(peer=OTHER)])
    # Our displayed marker from another device (a carbon) names m1.
    await store.mark_displayed_up_to(key, received[1].uid)
    assert store.unread_count(key) == 2
    assert store.unread_counts() == {key: 2, ConversationKey(ME, OTHER): 1}
