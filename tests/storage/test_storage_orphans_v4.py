"""Schema version 4: a version-3 history (``fixtures/history-v3.sqlite3``, made by
``fixtures/make_v3_fixture.py`` with that release's code) is migrated keeping everything
and gains ``messages.replaces`` (indexed) and ``messages.reply_quote``; and the store
folds a correction kept as a message into the message it corrects once that is stored."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from storage_helpers import ME, OTHER, MessageFactory

from chinwag.core.models import ActionOutcome, ConversationKey, EventKind, Message, MessageState
from chinwag.storage import SqliteMessageStore
from chinwag.storage import message_store as ms
from chinwag.storage.migrations import SCHEMA_VERSION

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "history-v3.sqlite3"
V3_ME = "me@example.org"
V3_PEER = "peer@example.net"


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def dump(conn: sqlite3.Connection) -> dict[str, Any]:
    return {
        "messages": conn.execute(
            "SELECT id, conversation_id, direction, uid, stanza_id, sender, body, timestamp, "
            "state, origin, muuid, reply_to, reply_to_jid, edited_at, removed, search_key "
            "FROM messages ORDER BY id"
        ).fetchall(),
        "events": conn.execute("SELECT * FROM conversation_events ORDER BY 1, 2").fetchall(),
        "conversations": conn.execute("SELECT * FROM conversations ORDER BY id").fetchall(),
        "reactions": conn.execute("SELECT * FROM reactions ORDER BY 1, 2").fetchall(),
        "received": conn.execute("SELECT * FROM received ORDER BY 1, 2").fetchall(),
        "sync": conn.execute("SELECT * FROM sync_state ORDER BY 1, 2").fetchall(),
        "roster": conn.execute("SELECT * FROM roster ORDER BY 1, 2").fetchall(),
    }


async def test_a_version_3_history_is_migrated_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(FIXTURE, path)
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        before = dump(conn)
    key = ConversationKey(V3_ME, V3_PEER)
    store = SqliteMessageStore.open(path)
    try:
        with raw(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
            assert dump(conn) == before  # every row as it was
            assert conn.execute(
                "SELECT count(*) FROM messages WHERE replaces <> '' OR reply_quote <> ''"
            ).fetchone() == (0,)
            indexes = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")
            }
            assert "messages_replacing" in indexes
        # What version 3 made of its actions reads back the same.
        edited = store.get(V3_ME, V3_PEER, "v3-1")
        assert edited is not None
        assert (edited.body, edited.reply_quote) == ("a typo here", "")
        assert edited.id is not None
        assert [text for _at, text in store.versions(edited.id)] == ["a typo hre"]
        # Its orphan did not keep the id it names: it stays a message, found by search.
        assert [h.message.uid for h in store.search("missing")] == ["v3-orphan"]
        count = store.count(key)
        assert count == len([m for m in before["messages"] if m[1] == 1])
        # The log goes on after the migration.
        info = store.conversation_info(key)
        assert info is not None
        last = info.last_sequence
        (late,) = await store.add_incoming(
            [
                Message(
                    account=V3_ME,
                    peer=V3_PEER,
                    direction=edited.direction,
                    body="after the upgrade",
                    timestamp=1_700_000_200.0,
                    uid="v4-1",
                    sender=V3_PEER,
                    state=MessageState.RECEIVED,
                    reply_to="v3-1",
                    reply_quote="a typo here",
                )
            ]
        )
        assert late.reply_quote == "a typo here"
        assert [e.sequence for e in store.events_after(key, last - 1, 10)] == [last, last + 1]
    finally:
        await store.close()


def plan(store: SqliteMessageStore, sql: str, params: tuple[object, ...]) -> list[str]:
    return [str(row[3]) for row in store.database.query(f"EXPLAIN QUERY PLAN {sql}", params)]


async def test_the_look_up_of_waiting_corrections_uses_its_index(
    file_store: SqliteMessageStore,
) -> None:
    steps = plan(file_store, ms._WAITING_SQL, (1, "uid"))
    assert any("INDEX messages_replacing (conversation_id=? AND replaces=?)" in s for s in steps)
    assert not any(s.startswith("SCAN m") for s in steps), steps


async def test_reply_quote_round_trips(store: SqliteMessageStore, make: MessageFactory) -> None:
    (stored,) = await store.add_incoming([make.incoming("yes", reply_to="x", reply_quote="q?")])
    assert stored.id is not None
    again = store.get_by_id(stored.id)
    assert again is not None
    assert again.reply_quote == "q?"
    mine = await store.add_outgoing(make.outgoing("me too", reply_quote="quoted"))
    assert mine.id is not None
    back = store.get_by_id(mine.id)
    assert back is not None
    assert back.reply_quote == "quoted"


async def test_a_waiting_correction_is_folded_when_its_target_is_stored_after_a_reopen(
    tmp_path: Path, make: MessageFactory, key: ConversationKey
) -> None:
    path = tmp_path / "history.sqlite3"
    target = make.incoming("helo", uid="m1")
    correction = make.incoming("hello", uid="c1", replaces="m1")
    store = SqliteMessageStore.open(path)
    try:
        (kept,) = await store.add_incoming([correction])
        assert (kept.replaces, kept.body) == ("", "hello")  # stored, it is a message
        assert [m.uid for m in store.latest(key, 10)] == ["c1"]
    finally:
        await store.close()
    store = SqliteMessageStore.open(path)
    try:
        done = await store.add_received([target])
        assert len(done) == 2
        stored, outcome = done
        assert isinstance(stored, Message)
        assert isinstance(outcome, ActionOutcome)
        assert (stored.uid, stored.body, stored.edited_at) == ("m1", "hello", correction.timestamp)
        assert outcome.refused == ""
        assert outcome.target == stored
        assert outcome.folded is not None
        assert (outcome.folded.uid, outcome.folded.removed) == ("c1", True)
        assert outcome.folded.state is MessageState.DISPLAYED
        assert [(m.uid, m.body) for m in store.latest(key, 10)] == [("m1", "hello")]
        assert store.count(key) == 1
        assert store.unread_count(key) == 1
        assert store.unread_counts() == {key: 1}
        assert [h.message.uid for h in store.search("hello")] == ["m1"]
        assert store.conversations() == [(key, correction.timestamp)]
        assert stored.id is not None
        assert store.versions(stored.id) == [(correction.timestamp, "helo")]
        events = store.events_after(key, 0, 10)
        assert [(e.sequence, e.kind) for e in events] == [
            (1, EventKind.MESSAGE),
            (2, EventKind.MESSAGE),
            (3, EventKind.EDIT),
            (4, EventKind.REMOVE),  # the folded row no longer shows
        ]
        assert events[2].message_id == stored.id
        assert events[0].message_uuid == kept.uuid  # the folded row is kept: its event too
        # Seen again (the archive), the correction is a duplicate of what was applied.
        (again,) = await store.apply_actions([replace(correction, uid="c1")])
        assert again.refused == ms.REFUSED_DUPLICATE
    finally:
        await store.close()


async def test_paging_skips_folded_rows(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming([make.incoming(f"before {i}") for i in range(3)])
    await store.add_incoming([make.incoming("fixed", uid="c1", replaces="m1")])
    after = [make.incoming(f"after {i}") for i in range(3)]
    await store.add_incoming(after)
    await store.add_incoming([make.incoming("fxied", uid="m1")])
    everything = [m.body for m in store.latest(key, 100)]
    assert everything == ["before 0", "before 1", "before 2", *(m.body for m in after), "fixed"]
    first = store.latest(key, 100)[0]
    assert first.id is not None
    walked = store.after(key, ms.PageAnchor(first.timestamp, first.id), 100)
    assert [m.body for m in walked] == everything[1:]
    last = store.latest(key, 1)[0]
    assert last.id is not None
    back = store.before(key, ms.PageAnchor(last.timestamp, last.id), 100)
    assert [m.body for m in back] == everything[:-1]


async def test_not_the_authors_and_other_conversations_stay(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    forged = replace(make.incoming("forged", uid="c1", replaces="m1"), sender=OTHER)
    elsewhere = make.incoming("elsewhere", uid="c2", replaces="m1", peer=OTHER)
    await store.add_incoming([forged, elsewhere])
    (target,) = await store.add_received([make.incoming("original", uid="m1")])
    assert isinstance(target, Message)
    assert target.body == "original"
    assert [m.uid for m in store.latest(key, 10)] == ["c1", "m1"]
    assert [m.uid for m in store.latest(ConversationKey(ME, OTHER), 10)] == ["c2"]


async def test_a_correction_to_keep_whose_target_came_meanwhile_is_applied_instead(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    # Two batches at once (live and the archive's catch-up): the live correction is
    # refused for want of its target, the archive's batch then stores the target (and
    # applies its own copy of the correction), and only then is the first kept.
    correction = make.incoming("hello", uid="c1", replaces="m1")
    (refused,) = await store.apply_actions([correction])
    assert refused.refused == ms.REFUSED_UNKNOWN
    await store.add_incoming([make.incoming("helo", uid="m1")])
    (applied,) = await store.add_received([correction])
    assert isinstance(applied, ActionOutcome)
    assert applied.refused == ""
    assert [(m.uid, m.body) for m in store.latest(key, 10)] == [("m1", "hello")]
    # The same again (the archive's copy applied first): a duplicate, nothing stored.
    (again,) = await store.add_received([correction])
    assert isinstance(again, ActionOutcome)
    assert again.refused == ms.REFUSED_DUPLICATE
    assert store.count(key) == 1
