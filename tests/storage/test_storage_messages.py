"""SqliteMessageStore: adding messages, dedupe, state changes, markers and the plain reads."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import pytest
from storage_helpers import ME, OTHER, PEER, MessageFactory

from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    LoggedMessage,
    Message,
    MessageState,
    MessageType,
    Origin,
)
from chinwag.storage import SqliteMessageStore
from chinwag.storage.message_store import can_advance

S = MessageState


def without_id(message: Message) -> dict[str, object]:
    """What the caller gave: without what storing gives it (its row id and the sequence
    of its event in the conversation's log)."""
    fields = dataclasses.asdict(message)
    del fields["id"]
    del fields["sequence"]
    return fields


# -- add_outgoing ---------------------------------------------------------------------------


async def test_add_outgoing_sets_id_and_round_trips_every_field(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    message = make.outgoing(
        "héllo *world*",
        sender_resource="desk",
        state=S.SENT,
        error="",
        stanza_id="arch-1",
        mtype=MessageType.ACTION,
        origin=Origin.LOCAL,
        subject="topic",
        flags=3,
    )
    stored = await store.add_outgoing(message)

    assert stored.id is not None
    assert stored.sequence == 1  # the conversation's first event
    assert without_id(stored) == without_id(message)
    assert message.id is None  # the caller's object is left alone
    assert store.get_by_id(stored.id) == stored
    assert store.get(ME, PEER, message.uid) == stored


async def test_add_outgoing_twice_returns_the_stored_one(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    first = await store.add_outgoing(make.outgoing("first", uid="u1"))
    again = await store.add_outgoing(make.outgoing("changed", uid="u1", state=S.SENT))

    assert again == first
    assert store.count(key) == 1
    assert store.get(ME, PEER, "u1") == first


async def test_add_outgoing_rejects_incoming(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    with pytest.raises(ValueError, match="outgoing"):
        await store.add_outgoing(make.incoming())


async def test_same_uid_in_other_conversation_or_kind_is_a_new_message(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    a = await store.add_outgoing(make.outgoing(uid="same"))
    b = await store.add_outgoing(make.outgoing(uid="same", peer=OTHER))
    c = await store.add_outgoing(make.outgoing(uid="same", kind=ConversationKind.GROUPCHAT))
    d = await store.add_outgoing(make.outgoing(uid="same", account="alt@example.org"))

    assert len({a.id, b.id, c.id, d.id}) == 4
    assert store.count(ConversationKey(ME, PEER, ConversationKind.GROUPCHAT)) == 1
    assert store.count(ConversationKey(ME, PEER)) == 1


# -- add_incoming and dedupe ---------------------------------------------------------------


async def test_add_incoming_returns_new_messages_in_input_order(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    batch = [make.incoming(f"m{i}") for i in range(5)]
    stored = await store.add_incoming(batch)

    assert [m.body for m in stored] == ["m0", "m1", "m2", "m3", "m4"]
    assert all(m.id is not None for m in stored)
    assert [without_id(m) for m in stored] == [without_id(m) for m in batch]
    assert store.count(key) == 5
    assert await store.add_incoming([]) == []


async def test_dedupe_by_uid_within_one_batch_and_across_batches(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    a = make.incoming("a", uid="x1")
    a_again = make.incoming("a (carbon)", uid="x1", origin=Origin.CARBON)
    b = make.incoming("b", uid="x2")

    first = await store.add_incoming([a, a_again, b])
    second = await store.add_incoming([make.incoming("a (archive)", uid="x1"), b])

    assert [m.body for m in first] == ["a", "b"]
    assert second == []
    assert store.count(key) == 2


async def test_dedupe_by_stanza_id_within_one_batch_and_across_batches(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    # Same archive id, different uids (e.g. a sender without origin-id).
    first = await store.add_incoming(
        [
            make.incoming("one", uid="a", stanza_id="S1"),
            make.incoming("one again", uid="b", stanza_id="S1"),
            make.incoming("two", uid="c", stanza_id="S2"),
        ]
    )
    second = await store.add_incoming([make.incoming("one (mam)", uid="d", stanza_id="S1")])

    assert [m.body for m in first] == ["one", "two"]
    assert second == []
    assert store.count(key) == 2


async def test_stanza_ids_are_per_account_and_shared_by_conversations(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming([make.incoming(stanza_id="S1")])

    other_peer = await store.add_incoming([make.incoming(peer=OTHER, stanza_id="S1")])
    other_account = await store.add_incoming([make.incoming(account="alt@x.org", stanza_id="S1")])

    assert other_peer == []  # the archive id is the account's: a duplicate
    assert len(other_account) == 1
    assert other_account[0].stanza_id == "S1"


async def test_incoming_and_outgoing_with_the_same_uid_are_different_messages(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_outgoing(make.outgoing(uid="same"))
    stored = await store.add_incoming([make.incoming(uid="same")])

    assert len(stored) == 1
    assert store.count(key) == 2
    assert store.get(ME, PEER, "same") is not None
    assert store.get(ME, PEER, "same").direction is Direction.OUTGOING  # type: ignore[union-attr]


async def test_carbon_and_archive_copies_of_a_sent_message_are_dropped(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    sent = await store.add_outgoing(make.outgoing("typed here", uid="origin-1", state=S.SENT))

    carbon = make.outgoing("typed here", uid="origin-1", origin=Origin.CARBON, state=S.SENT)
    archived = make.outgoing(
        "typed here", uid="origin-1", origin=Origin.ARCHIVE, stanza_id="mam-9", state=S.SENT
    )
    assert await store.add_incoming([carbon]) == []
    assert await store.add_incoming([archived]) == []

    # The archive copy taught us the archive id, so a later copy keyed only by it is a dup.
    stored = store.get(ME, PEER, "origin-1")
    assert stored is not None
    assert stored.id == sent.id
    assert stored.stanza_id == "mam-9"
    assert stored.state is S.SENT  # a copy never changes the state
    assert await store.add_incoming([make.outgoing(uid="server-rewrote", stanza_id="mam-9")]) == []
    assert store.count(key) == 1


async def test_outgoing_from_another_client_is_stored_via_add_incoming(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    carbon = make.outgoing("from my phone", uid="phone-1", origin=Origin.CARBON, state=S.SENT)
    stored = await store.add_incoming([carbon])

    assert len(stored) == 1
    assert stored[0].direction is Direction.OUTGOING


async def test_add_incoming_is_one_transaction(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    broken = make.incoming()
    broken = dataclasses.replace(broken, body=None)  # type: ignore[arg-type]  # NOT NULL fails mid-batch
    with pytest.raises(Exception, match="NOT NULL"):
        await store.add_incoming([make.incoming(), make.incoming(), broken])

    assert store.count(key) == 0
    assert store.conversations() == []  # the new conversation row was rolled back too
    assert len(await store.add_incoming([make.incoming()])) == 1  # the write cache recovered


# -- update_state ------------------------------------------------------------------------------

OUTGOING_STATES = [S.QUEUED, S.SENT, S.DELIVERED, S.READ, S.FAILED, S.HELD]
ALLOWED = {
    # a file's message: released once uploaded, failed with its upload, held again for
    # a retry of the upload
    (S.HELD, S.QUEUED),
    (S.HELD, S.FAILED),
    (S.FAILED, S.HELD),
    (S.QUEUED, S.SENT),
    (S.QUEUED, S.DELIVERED),
    (S.QUEUED, S.READ),
    (S.QUEUED, S.FAILED),
    (S.SENT, S.DELIVERED),
    (S.SENT, S.READ),
    (S.SENT, S.FAILED),
    (S.DELIVERED, S.READ),
    (S.FAILED, S.QUEUED),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(OUTGOING_STATES, repeat=2)))
async def test_update_state_moves_only_forward(
    store: SqliteMessageStore, make: MessageFactory, old: MessageState, new: MessageState
) -> None:
    original = await store.add_outgoing(
        make.outgoing(uid="m", state=old, error="bounced" if old is S.FAILED else "")
    )
    result = await store.update_state(ME, PEER, "m", new, "boom" if new is S.FAILED else "")

    stored = store.get(ME, PEER, "m")
    assert stored is not None
    if (old, new) in ALLOWED:
        assert can_advance(old, new)
        assert result == stored
        assert stored.state is new
        assert stored.error == ("boom" if new is S.FAILED else "")
    else:
        assert not can_advance(old, new)
        assert result is None
        assert stored == original


async def test_failed_then_retried(store: SqliteMessageStore, make: MessageFactory) -> None:
    await store.add_outgoing(make.outgoing(uid="m"))
    failed = await store.update_state(ME, PEER, "m", S.FAILED, "service-unavailable")
    assert failed is not None
    assert failed.error == "service-unavailable"
    assert [m.uid for m in store.pending_outgoing(ME)] == []

    retried = await store.update_state(ME, PEER, "m", S.QUEUED)
    assert retried is not None
    assert (retried.state, retried.error) == (S.QUEUED, "")
    assert [m.uid for m in store.pending_outgoing(ME)] == ["m"]
    sent = await store.update_state(ME, PEER, "m", S.SENT)
    assert sent is not None
    assert sent.state is S.SENT


async def test_update_state_ignores_unknown_and_incoming(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming([make.incoming(uid="in")])

    assert await store.update_state(ME, PEER, "nope", S.SENT) is None
    assert await store.update_state(ME, PEER, "in", S.READ) is None
    assert await store.update_state(ME, OTHER, "in", S.READ) is None
    assert store.get(ME, PEER, "in").state is S.RECEIVED  # type: ignore[union-attr]


async def test_update_state_to_incoming_states_is_refused(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_outgoing(make.outgoing(uid="m"))
    assert await store.update_state(ME, PEER, "m", S.RECEIVED) is None
    assert await store.update_state(ME, PEER, "m", S.DISPLAYED) is None


# -- markers -----------------------------------------------------------------------------------


async def test_mark_read_up_to(store: SqliteMessageStore, make: MessageFactory) -> None:
    await store.add_outgoing(make.outgoing(uid="read", state=S.READ))
    await store.add_outgoing(make.outgoing(uid="sent", state=S.SENT))
    await store.add_incoming([make.incoming(uid="incoming")])
    await store.add_outgoing(make.outgoing(uid="queued-earlier", state=S.QUEUED))
    await store.add_outgoing(make.outgoing(uid="failed", state=S.FAILED, error="x"))
    await store.add_outgoing(make.outgoing(uid="delivered", state=S.DELIVERED))
    await store.add_outgoing(make.outgoing(uid="other-peer", peer=OTHER, state=S.SENT))
    await store.add_outgoing(make.outgoing(uid="target", state=S.QUEUED))
    await store.add_outgoing(make.outgoing(uid="later", state=S.SENT))

    changed = await store.mark_read_up_to(ME, PEER, "target")

    assert [(m.uid, m.state) for m in changed] == [
        ("sent", S.READ),
        ("delivered", S.READ),
        ("target", S.READ),
    ]
    states = {m.uid: m.state for m in store.latest(ConversationKey(ME, PEER), 100)}
    assert states == {
        "read": S.READ,
        "sent": S.READ,
        "incoming": S.RECEIVED,
        "queued-earlier": S.QUEUED,
        "failed": S.FAILED,
        "delivered": S.READ,
        "target": S.READ,
        "later": S.SENT,
    }
    assert store.get(ME, OTHER, "other-peer").state is S.SENT  # type: ignore[union-attr]
    assert await store.mark_read_up_to(ME, PEER, "target") == []
    assert await store.mark_read_up_to(ME, PEER, "unknown") == []
    assert await store.mark_read_up_to(ME, PEER, "incoming") == []  # not one of ours


async def test_mark_read_up_to_orders_by_timestamp_not_insertion(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_outgoing(make.outgoing(uid="target", state=S.SENT, timestamp=100.0))
    await store.add_outgoing(make.outgoing(uid="older", state=S.SENT, timestamp=50.0))
    await store.add_outgoing(make.outgoing(uid="newer", state=S.SENT, timestamp=150.0))
    await store.add_outgoing(make.outgoing(uid="tie", state=S.SENT, timestamp=100.0))

    changed = await store.mark_read_up_to(ME, PEER, "target")

    # "tie" has the same timestamp but a larger id: after the target in (timestamp, id).
    assert [m.uid for m in changed] == ["older", "target"]


async def test_mark_displayed_up_to(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming([make.incoming(uid="i1"), make.incoming(uid="i2")])
    await store.add_outgoing(make.outgoing(uid="o1", state=S.SENT))
    await store.add_incoming([make.incoming(uid="i3"), make.incoming(uid="i4")])
    await store.add_incoming([make.incoming(peer=OTHER, uid="elsewhere")])
    assert store.unread_count(key) == 4

    changed = await store.mark_displayed_up_to(key, "i3")

    assert [(m.uid, m.state) for m in changed] == [
        ("i1", S.DISPLAYED),
        ("i2", S.DISPLAYED),
        ("i3", S.DISPLAYED),
    ]
    assert store.unread_count(key) == 1
    assert store.get(ME, PEER, "o1").state is S.SENT  # type: ignore[union-attr]
    assert store.unread_count(ConversationKey(ME, OTHER)) == 1
    assert await store.mark_displayed_up_to(key, "i3") == []
    assert await store.mark_displayed_up_to(key, "unknown") == []
    assert await store.mark_displayed_up_to(ConversationKey(ME, "nobody@x"), "i4") == []


async def test_mark_displayed_up_to_own_message(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming([make.incoming(uid="i1")])
    await store.add_outgoing(make.outgoing(uid="reply"))
    await store.add_incoming([make.incoming(uid="i2")])

    changed = await store.mark_displayed_up_to(key, "reply")

    assert [m.uid for m in changed] == ["i1"]


# -- set_stanza_id -------------------------------------------------------------------------------


async def test_set_stanza_id_first_one_wins(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_outgoing(make.outgoing(uid="m"))
    await store.add_outgoing(make.outgoing(uid="n"))

    await store.set_stanza_id(ME, PEER, "m", "A")
    await store.set_stanza_id(ME, PEER, "m", "B")
    await store.set_stanza_id(ME, PEER, "n", "A")  # taken by "m": ids stay unique
    await store.set_stanza_id(ME, PEER, "unknown", "C")
    await store.set_stanza_id(ME, PEER, "n", "")

    assert store.get(ME, PEER, "m").stanza_id == "A"  # type: ignore[union-attr]
    assert store.get(ME, PEER, "n").stanza_id == ""  # type: ignore[union-attr]
    # and the recorded id now dedupes archive copies
    assert await store.add_incoming([make.outgoing(uid="zzz", stanza_id="A")]) == []


# -- reads ----------------------------------------------------------------------------------


async def test_pending_outgoing(store: SqliteMessageStore, make: MessageFactory) -> None:
    await store.add_outgoing(make.outgoing(uid="b", peer=OTHER, timestamp=20.0))
    await store.add_outgoing(make.outgoing(uid="a", timestamp=10.0))
    await store.add_outgoing(make.outgoing(uid="c", timestamp=30.0))
    await store.add_outgoing(make.outgoing(uid="sent", state=S.SENT))
    await store.add_outgoing(make.outgoing(uid="failed", state=S.FAILED))
    await store.add_outgoing(make.outgoing(uid="alt", account="alt@x.org"))
    await store.add_incoming([make.incoming(uid="in", state=S.QUEUED)])  # not outgoing

    assert [m.uid for m in store.pending_outgoing(ME)] == ["a", "b", "c"]
    assert [m.uid for m in store.pending_outgoing("alt@x.org")] == ["alt"]
    assert store.pending_outgoing("nobody@x.org") == []


async def test_get_prefers_chat_then_any_kind(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    room = await store.add_incoming(
        [make.incoming(uid="r", kind=ConversationKind.GROUPCHAT, body="in the room")]
    )
    assert store.get(ME, PEER, "r") == room[0]
    assert store.get(ME, OTHER, "r") is None
    assert store.get("alt@x.org", PEER, "r") is None
    assert store.get_by_id(123456) is None


async def test_logged_messages_tells_of_many_messages_at_once(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    # More than one query's worth of ids (500), in no order, repeated, with unknown ones.
    messages = await store.add_incoming(
        [make.incoming(f"m{i}", payload=f'[{{"i": {i}}}]') for i in range(1200)]
    )
    ids = [m.id or 0 for m in messages]
    found = store.logged_messages([*ids[::-1], ids[0], 123456])
    assert sorted(found) == sorted(ids)
    for message in messages[::97]:
        assert found[message.id or 0] == LoggedMessage(
            id=message.id or 0,
            body=message.body,
            payload=message.payload,
            edited=False,
            removed=False,
            sequence=message.sequence,
        )
    assert found[ids[5]].body == "m5"
    assert found[ids[5]].sequence == 6
    assert store.logged_messages([]) == {}


async def test_count_unread_and_conversations(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    assert store.conversations() == []
    assert store.count(key) == 0
    assert store.unread_count(key) == 0

    await store.add_incoming([make.incoming(timestamp=10.0), make.incoming(timestamp=30.0)])
    await store.add_incoming([make.incoming(peer=OTHER, timestamp=20.0, state=S.DISPLAYED)])
    await store.add_outgoing(make.outgoing(account="alt@x.org", timestamp=40.0))
    room = ConversationKey(ME, "room@muc.x", ConversationKind.GROUPCHAT)
    await store.add_incoming([make.incoming(peer=room.peer, kind=room.kind, timestamp=5.0)])

    assert store.count(key) == 2
    assert store.unread_count(key) == 2
    # Unread is what is after our read position, not what the states say.
    assert store.unread_count(ConversationKey(ME, OTHER)) == 1
    await store.set_read_sequence(ConversationKey(ME, OTHER), 1)
    assert store.unread_count(ConversationKey(ME, OTHER)) == 0
    assert store.conversations() == [
        (ConversationKey("alt@x.org", PEER), 40.0),
        (key, 30.0),
        (ConversationKey(ME, OTHER), 20.0),
        (room, 5.0),
    ]
    assert store.conversations(ME) == [(key, 30.0), (ConversationKey(ME, OTHER), 20.0), (room, 5.0)]
    assert store.conversations("nobody@x") == []


async def test_reads_see_every_write_that_returned(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    for i in range(20):
        stored = await store.add_outgoing(make.outgoing(f"m{i}"))
        assert store.latest(key, 1) == [stored]
        assert store.count(key) == i + 1


async def test_concurrent_writers_and_readers(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    async def reader() -> None:
        for _ in range(50):
            page = store.latest(key, 10)
            assert page == sorted(page, key=lambda m: (m.timestamp, m.id))
            await asyncio.sleep(0)

    writes = [store.add_outgoing(make.outgoing(f"m{i}")) for i in range(300)]
    await asyncio.gather(reader(), *writes, reader())
    assert store.count(key) == 300


async def test_unread_counts_in_one_query(store: SqliteMessageStore) -> None:
    from chinwag.core.models import ConversationKey, Direction, Message, MessageState

    def incoming(peer: str, account: str = "me@x.org") -> Message:
        return Message(
            account=account,
            peer=peer,
            direction=Direction.INCOMING,
            body="hi",
            timestamp=1.0,
            state=MessageState.RECEIVED,
        )

    await store.add_incoming([incoming("a@x.org"), incoming("a@x.org"), incoming("b@x.org")])
    await store.add_incoming([incoming("c@x.org", account="other@x.org")])
    key_a = ConversationKey("me@x.org", "a@x.org")
    await store.mark_displayed_up_to(
        ConversationKey("me@x.org", "b@x.org"),
        store.latest(ConversationKey("me@x.org", "b@x.org"), 1)[0].uid,
    )
    assert store.unread_counts("me@x.org") == {key_a: 2}
    assert store.unread_counts() == {key_a: 2, ConversationKey("other@x.org", "c@x.org"): 1}
    assert store.unread_counts() == {key: store.unread_count(key) for key in store.unread_counts()}
