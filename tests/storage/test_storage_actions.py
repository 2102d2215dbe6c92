"""Corrections, retractions and reactions applied by the store (issue 11): each to its
target in the same conversation, only by its author (reactions: by anyone, per sender),
each an event of the conversation's log, each applied once however often it arrives,
and bad input refused with a reason, never raised."""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from storage_helpers import ME, OTHER, PEER, MessageFactory

from chinwag.core.models import (
    DUPLICATE,
    MAX_REACTION_CHARS,
    MAX_REACTIONS,
    ActionOutcome,
    ConversationKey,
    EventKind,
    Message,
    MessageState,
    Origin,
)
from chinwag.storage import SqliteMessageStore
from chinwag.storage import message_store as ms

EVE = "eve@example.net"


def action(make: MessageFactory, *, outgoing: bool = False, **fields: Any) -> Message:
    """An action stanza as the core hands it over: from the peer, or ours."""
    sender = fields.pop("sender", None)
    body = fields.pop("body", "")
    message = make.outgoing(body, **fields) if outgoing else make.incoming(body, **fields)
    return message if sender is None else replace(message, sender=sender)


async def one(store: SqliteMessageStore, act: Message) -> ActionOutcome:
    (outcome,) = await store.apply_actions([act])
    assert outcome.action is act
    return outcome


def kinds(store: SqliteMessageStore, key: ConversationKey) -> list[tuple[int, EventKind]]:
    return [(e.sequence, e.kind) for e in store.events_after(key, 0, 1_000_000)]


async def test_logged_messages_tell_a_corrected_and_a_removed_message(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    fixed, gone, kept = await store.add_incoming(
        [make.incoming("helo"), make.incoming("oops"), make.incoming("fine")]
    )
    await store.apply_actions(
        [action(make, body="hello", replaces=fixed.uid), action(make, retracts=gone.uid)]
    )
    found = store.logged_messages([fixed.id or 0, gone.id or 0, kept.id or 0])
    assert (found[fixed.id or 0].body, found[fixed.id or 0].edited) == ("hello", True)
    assert (found[gone.id or 0].removed, found[gone.id or 0].edited) == (True, False)
    assert (found[kept.id or 0].removed, found[kept.id or 0].edited) == (False, False)
    assert [found[m.id or 0].sequence for m in (fixed, gone, kept)] == [1, 2, 3]


# -- corrections ---------------------------------------------------------------------------


async def test_the_author_corrects_a_message_in_place(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (original,) = await store.add_incoming([make.incoming("helo wrold")])
    fix = action(make, body="hello world", replaces=original.uid)
    outcome = await one(store, fix)
    assert outcome.refused == ""
    assert outcome.target is not None
    assert (outcome.target.id, outcome.target.uid) == (original.id, original.uid)
    assert (outcome.target.body, outcome.target.edited_at) == ("hello world", fix.timestamp)
    stored = store.get_by_id(original.id or 0)
    assert stored == outcome.target
    assert stored.timestamp == original.timestamp  # keeps its place
    assert [m.uid for m in store.latest(key, 10)] == [original.uid]  # no second message
    assert store.versions(original.id or 0) == [(fix.timestamp, "helo wrold")]
    edit = store.events_after(key, 1, 10)
    assert [(e.sequence, e.kind, e.message_id, e.author) for e in edit] == [
        (2, EventKind.EDIT, original.id, PEER)
    ]
    assert json.loads(edit[0].data) == {"text": "hello world", "previous": "helo wrold"}
    assert edit[0].message_uuid == original.uuid  # an edit keeps the uuid
    # The search index follows the text.
    assert [h.message.id for h in store.search("hello world")] == [original.id]
    assert store.search("wrold") == []


async def test_we_correct_our_own_message_and_our_other_devices_do_too(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    mine = await store.add_outgoing(make.outgoing("typo", state=MessageState.SENT))
    here = await one(store, action(make, outgoing=True, body="fixed", replaces=mine.uid))
    assert here.target is not None
    assert here.target.body == "fixed"
    assert here.target.state is MessageState.SENT  # the state is untouched
    # A carbon of a correction made on the phone: outgoing, from our own address.
    phone = action(make, outgoing=True, body="fixed again", replaces=mine.uid, origin=Origin.CARBON)
    assert (await one(store, phone)).target.body == "fixed again"  # type: ignore[union-attr]


async def test_a_correction_chain_names_the_first_id_and_1000_links_stay_right(
    file_store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (original,) = await file_store.add_incoming([make.incoming("version 0")])
    chain = [action(make, body=f"version {i}", replaces=original.uid) for i in range(1, 1001)]
    outcomes = await file_store.apply_actions(chain[:500])
    outcomes += [await one(file_store, link) for link in chain[500:]]
    assert [o.refused for o in outcomes] == [""] * 1000
    assert {o.target.id for o in outcomes if o.target} == {original.id}
    stored = file_store.get_by_id(original.id or 0)
    assert stored is not None
    assert (stored.body, stored.edited_at) == ("version 1000", chain[-1].timestamp)
    versions = file_store.versions(original.id or 0)
    assert [text for _at, text in versions] == [f"version {i}" for i in range(1000)]
    assert [at for at, _text in versions] == [link.timestamp for link in chain]
    assert kinds(file_store, key) == [(1, EventKind.MESSAGE)] + [
        (i, EventKind.EDIT) for i in range(2, 1002)
    ]
    assert [h.message.body for h in file_store.search("version")] == ["version 1000"]
    assert file_store.count(key) == 1


async def test_a_chain_that_names_the_previous_correction_reaches_the_same_message(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    """Some clients name the last correction's id instead of the first message's."""
    (original,) = await store.add_incoming([make.incoming("v0")])
    previous = original.uid
    for i in range(1, 50):
        link = action(make, body=f"v{i}", replaces=previous)
        outcome = await one(store, link)
        assert outcome.refused == ""
        assert outcome.target is not None
        assert outcome.target.id == original.id
        previous = link.uid
    assert store.get_by_id(original.id or 0).body == "v49"  # type: ignore[union-attr]
    # Only corrections lead there: a reaction's id is not a message's.
    react = action(make, reacts_to=original.uid, reactions=("👍",))
    await one(store, react)
    assert (await one(store, action(make, body="x", replaces=react.uid))).refused == (
        ms.REFUSED_UNKNOWN
    )


async def test_an_older_correction_arriving_late_does_not_undo_a_newer_one(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    """Live messages come in while the archive still catches up: corrections may cross."""
    (original,) = await store.add_incoming([make.incoming("v0")])
    older = action(make, body="v1", replaces=original.uid)
    newer = action(make, body="v2", replaces=original.uid)
    assert (await one(store, newer)).target.body == "v2"  # type: ignore[union-attr]
    late = await one(store, older)
    assert late.refused == ""
    assert late.target is not None
    assert (late.target.body, late.target.edited_at) == ("v2", newer.timestamp)
    assert store.versions(original.id or 0) == [
        (older.timestamp, "v0"),
        (newer.timestamp, "v1"),
    ]


# -- authorship ----------------------------------------------------------------------------


async def test_only_the_author_may_correct_or_retract(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (theirs,) = await store.add_incoming([make.incoming("theirs")])
    mine = await store.add_outgoing(make.outgoing("mine"))
    forged = [
        action(make, body="put words in my mouth", replaces=mine.uid),  # the peer
        action(make, retracts=mine.uid),
        action(make, outgoing=True, body="rewrite theirs", replaces=theirs.uid),  # us
        action(make, outgoing=True, retracts=theirs.uid),
        action(make, body="a third party", replaces=theirs.uid, sender=EVE),
        action(make, retracts=theirs.uid, sender=EVE),
    ]
    outcomes = await store.apply_actions(forged)
    assert [o.refused for o in outcomes] == [ms.REFUSED_NOT_AUTHOR] * 6
    assert [o.target.id for o in outcomes if o.target] == [mine.id] * 2 + [theirs.id] * 4
    assert [(m.body, m.edited_at, m.removed) for m in store.latest(key, 10)] == [
        ("theirs", 0.0, False),
        ("mine", 0.0, False),
    ]
    assert kinds(store, key) == [(1, EventKind.MESSAGE), (2, EventKind.MESSAGE)]


async def test_an_id_shared_by_their_message_and_ours_picks_the_authors(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    (theirs,) = await store.add_incoming([make.incoming("theirs", uid="same")])
    mine = await store.add_outgoing(make.outgoing("mine", uid="same"))
    by_them = await one(store, action(make, body="theirs, fixed", replaces="same"))
    by_us = await one(store, action(make, outgoing=True, body="mine, fixed", replaces="same"))
    assert (by_them.target.id, by_them.target.body) == (theirs.id, "theirs, fixed")  # type: ignore[union-attr]
    assert (by_us.target.id, by_us.target.body) == (mine.id, "mine, fixed")  # type: ignore[union-attr]


async def test_an_action_reaches_only_its_own_conversation(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    (theirs,) = await store.add_incoming([make.incoming("to me")])
    elsewhere = [
        action(make, body="x", replaces=theirs.uid, peer=OTHER),  # another contact
        action(make, body="x", replaces=theirs.uid, account="second@example.org"),
        action(make, body="x", replaces=theirs.uid, peer="nobody@example.net"),
    ]
    outcomes = await store.apply_actions(elsewhere)
    assert [(o.refused, o.target) for o in outcomes] == [(ms.REFUSED_UNKNOWN, None)] * 3
    assert store.get_by_id(theirs.id or 0).body == "to me"  # type: ignore[union-attr]


# -- duplicates ----------------------------------------------------------------------------


async def test_the_same_action_live_as_a_carbon_and_from_the_archive_is_applied_once(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (original,) = await store.add_incoming([make.incoming("v0")])
    live = action(make, body="v1", replaces=original.uid, uid="fix-1")
    archive = replace(live, origin=Origin.ARCHIVE, stanza_id="arch-77")
    outcomes = await store.apply_actions([live, live, archive])
    assert [o.refused for o in outcomes] == ["", DUPLICATE, DUPLICATE]
    assert all(o.target is not None and o.target.body == "v1" for o in outcomes)
    later = await one(store, replace(archive, origin=Origin.OFFLINE))
    assert later.refused == DUPLICATE
    assert len(store.versions(original.id or 0)) == 1
    react = action(make, reacts_to=original.uid, reactions=("🎉",), uid="r-1")
    retract = action(make, retracts=original.uid, uid="x-1")
    outcomes = await store.apply_actions([react, react, retract, retract])
    assert [o.refused for o in outcomes] == ["", DUPLICATE, "", DUPLICATE]
    assert kinds(store, key) == [
        (1, EventKind.MESSAGE),
        (2, EventKind.EDIT),
        (3, EventKind.REACTION),
        (4, EventKind.REMOVE),
    ]
    with store.database.reading() as conn:
        ids = conn.execute(
            "SELECT origin_id, stanza_id FROM conversation_events WHERE kind <> 'message' "
            "ORDER BY sequence"
        ).fetchall()
    assert ids == [("fix-1", None), ("r-1", None), ("x-1", None)]


async def test_the_same_action_id_on_another_target_is_not_a_duplicate(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    first, second = await store.add_incoming([make.incoming("a"), make.incoming("b")])
    outcomes = await store.apply_actions(
        [
            action(make, reacts_to=first.uid, reactions=("👍",), uid="reused"),
            action(make, reacts_to=second.uid, reactions=("👍",), uid="reused"),
        ]
    )
    assert [o.refused for o in outcomes] == ["", ""]


# -- retractions ---------------------------------------------------------------------------


async def test_a_retraction_leaves_a_tombstone_and_forgets_the_text(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (original,) = await store.add_incoming([make.incoming("secret plans", subject="Plans")])
    await one(store, action(make, body="secret plans v2", replaces=original.uid))
    await one(store, action(make, outgoing=True, reacts_to=original.uid, reactions=("😮",)))
    gone = await one(store, action(make, retracts=original.uid))
    assert gone.refused == ""
    assert gone.target is not None
    assert (gone.target.body, gone.target.subject, gone.target.removed) == ("", "", True)
    stored = store.get_by_id(original.id or 0)
    assert stored == gone.target
    assert [m.id for m in store.latest(key, 10)] == [original.id]  # the tombstone stays
    assert store.search("secret") == []
    assert store.search("plans") == []
    assert store.versions(original.id or 0) == []
    assert store.reactions([original.id or 0]) == {}
    with store.database.reading() as conn:
        texts = [row[0] for row in conn.execute("SELECT data FROM conversation_events")]
    assert not any("secret" in text for text in texts)
    assert kinds(store, key) == [
        (1, EventKind.MESSAGE),
        (2, EventKind.EDIT),
        (3, EventKind.REACTION),
        (4, EventKind.REMOVE),
    ]
    # A removed message is not edited, removed or reacted to again.
    again = await store.apply_actions(
        [
            action(make, body="back", replaces=original.uid),
            action(make, retracts=original.uid),
            action(make, outgoing=True, reacts_to=original.uid, reactions=("👍",)),
        ]
    )
    assert [o.refused for o in again] == [ms.REFUSED_REMOVED] * 3
    assert all(o.target == stored for o in again)
    assert len(kinds(store, key)) == 4


async def test_we_retract_our_own_message(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    mine = await store.add_outgoing(make.outgoing("oops", state=MessageState.DELIVERED))
    outcome = await one(store, action(make, outgoing=True, retracts=mine.uid))
    assert outcome.target is not None
    assert (outcome.target.removed, outcome.target.state) == (True, MessageState.DELIVERED)
    assert store.events_after(key, 1, 10)[0].author == ME


# -- reactions -----------------------------------------------------------------------------


async def test_reactions_are_per_sender_and_replace_the_senders_earlier_ones(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (message,) = await store.add_incoming([make.incoming("party tonight?")])
    mid = message.id or 0
    theirs = await one(store, action(make, reacts_to=message.uid, reactions=("🎉", "👍")))
    assert theirs.refused == ""
    assert theirs.target == message
    await one(store, action(make, outgoing=True, reacts_to=message.uid, reactions=("❤️",)))
    assert store.reactions([mid]) == {mid: [(PEER, ("🎉", "👍")), (ME, ("❤️",))]}
    await one(store, action(make, reacts_to=message.uid, reactions=("👍", "👍", "", "😂")))
    assert store.reactions([mid]) == {mid: [(ME, ("❤️",)), (PEER, ("👍", "😂"))]}
    await one(store, action(make, outgoing=True, reacts_to=message.uid, reactions=()))
    assert store.reactions([mid, 999]) == {mid: [(PEER, ("👍", "😂"))]}
    data = [json.loads(e.data) for e in store.events_after(key, 1, 10)]
    assert data == [
        {"reactions": ["🎉", "👍"]},
        {"reactions": ["❤️"]},
        {"reactions": ["👍", "😂"]},
        {"reactions": []},
    ]
    # Anyone in the conversation may react to any message, ours too.
    mine = await store.add_outgoing(make.outgoing("mine"))
    assert (await one(store, action(make, reacts_to=mine.uid, reactions=("👀",)))).refused == ""


async def test_too_many_or_too_long_reactions_are_refused_and_the_earlier_set_kept(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (message,) = await store.add_incoming([make.incoming("hi")])
    mid = message.id or 0
    await one(store, action(make, reacts_to=message.uid, reactions=("👍",)))
    flood = tuple(chr(0x1F300 + i) for i in range(1000))
    outcomes = await store.apply_actions(
        [
            action(make, reacts_to=message.uid, reactions=flood),
            action(make, reacts_to=message.uid, reactions=flood[: MAX_REACTIONS + 1]),
            action(make, reacts_to=message.uid, reactions=("x" * (MAX_REACTION_CHARS + 1),)),
        ]
    )
    assert [o.refused for o in outcomes] == [
        ms.REFUSED_TOO_MANY,
        ms.REFUSED_TOO_MANY,
        ms.REFUSED_TOO_LONG,
    ]
    assert store.reactions([mid]) == {mid: [(PEER, ("👍",))]}
    # The most allowed is fine; 1,000 copies of one reaction are one reaction.
    most = await one(store, action(make, reacts_to=message.uid, reactions=flood[:MAX_REACTIONS]))
    assert most.refused == ""
    assert store.reactions([mid]) == {mid: [(PEER, flood[:MAX_REACTIONS])]}
    same = await one(store, action(make, reacts_to=message.uid, reactions=("🔥",) * 1000))
    assert same.refused == ""
    assert store.reactions([mid]) == {mid: [(PEER, ("🔥",))]}
    assert len(kinds(store, key)) == 4


async def test_an_older_reaction_arriving_late_is_refused(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    (message,) = await store.add_incoming([make.incoming("hi")])
    older = action(make, reacts_to=message.uid, reactions=("👍",))
    newer = action(make, reacts_to=message.uid, reactions=("👎",))
    assert (await one(store, newer)).refused == ""
    assert (await one(store, older)).refused == ms.REFUSED_OUTDATED
    assert store.reactions([message.id or 0]) == {message.id: [(PEER, ("👎",))]}


async def test_reactions_of_many_messages_in_one_call(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    messages = await store.add_incoming([make.incoming(f"m{i}") for i in range(1200)])
    await store.apply_actions(
        [action(make, reacts_to=m.uid, reactions=("👍",)) for m in messages[::2]]
    )
    found = store.reactions([m.id or 0 for m in messages])
    assert sorted(found) == [m.id for m in messages[::2]]
    assert store.reactions([]) == {}


# -- bad input -----------------------------------------------------------------------------


async def test_bad_actions_are_refused_with_a_reason_never_raised(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (message,) = await store.add_incoming([make.incoming("hi")])
    bad = [
        action(make, body="never received", replaces="no-such-id"),
        action(make, retracts="no-such-id"),
        action(make, reacts_to="no-such-id", reactions=("👍",)),
        make.incoming("a plain message is not an action"),
        action(make, body="", replaces=message.uid),
        action(make, body="when?", replaces=message.uid, timestamp=math.nan),
        action(make, body="when?", replaces=message.uid, timestamp=math.inf),
        action(make, body="fine", replaces=message.uid),
    ]
    before = store.database.stats.transactions
    outcomes = await store.apply_actions(bad)
    assert store.database.stats.transactions == before + 1  # one transaction
    assert [o.refused for o in outcomes] == [
        ms.REFUSED_UNKNOWN,
        ms.REFUSED_UNKNOWN,
        ms.REFUSED_UNKNOWN,
        ms.REFUSED_NOT_AN_ACTION,
        ms.REFUSED_EMPTY,
        ms.REFUSED_BAD_TIME,
        ms.REFUSED_BAD_TIME,
        "",
    ]
    assert [o.target is None for o in outcomes] == [True] * 4 + [False, True, True, False]
    assert kinds(store, key) == [(1, EventKind.MESSAGE), (2, EventKind.EDIT)]
    assert await store.apply_actions([]) == []


async def test_a_value_that_cannot_be_stored_refuses_only_that_action(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    (message,) = await store.add_incoming([make.incoming("hi")])
    unbindable = action(make, body="x", replaces=message.uid)
    unbindable = replace(unbindable, stanza_id=["not", "a", "string"])  # type: ignore[arg-type]
    not_text = action(make, body="x", replaces=message.uid)
    not_text = replace(not_text, body=b"bytes")  # type: ignore[arg-type]
    fine = action(make, body="fixed", replaces=message.uid)
    outcomes = await store.apply_actions([unbindable, not_text, fine])
    assert [o.refused.split(":")[0] for o in outcomes] == ["invalid", "invalid", ""]
    assert store.get_by_id(message.id or 0).body == "fixed"  # type: ignore[union-attr]
    # The refused ones left nothing behind: no gap in the log.
    assert [e.sequence for e in store.events_after(message.key, 0, 10)] == [1, 2]


# -- query plans ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("_TARGETS_SQL", (1, "x")),
        ("_CORRECTED_BY_SQL", (1, "x")),
        ("_SEEN_ACTION_SQL", (1, "x", 1)),
        ("EDITS_SQL", (1,)),
        ("EVENTS_AFTER_SQL", (1, 0, 10)),
        ("_MESSAGE_SEQUENCE_SQL", (1,)),
    ],
)
def test_the_action_and_log_queries_never_scan(name: str, params: tuple[Any, ...]) -> None:
    """A 1,000-link chain or a long log costs index look-ups, not scans or sorts."""
    store = SqliteMessageStore.open(":memory:")
    try:
        with store.database.reading() as conn:
            plan = [
                row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {getattr(ms, name)}", params)
            ]
    finally:
        store.database.close_sync()
    assert plan
    assert not [step for step in plan if step.startswith("SCAN") or "TEMP B-TREE" in step], plan


def test_a_conversation_uuid_is_unique_per_account(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    SqliteMessageStore.open(path).database.close_sync()
    insert = "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(insert, ("a", "b"))
        conn.execute(insert, ("other account", "b"))
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(insert, ("a", "c"))
