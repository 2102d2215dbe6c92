"""Message payloads (schema version 7): stored with a message, replaced by a correction,
gone with a removal; a message found by its uuid; the incoming message at a sequence;
and a version-5 database migrated keeping its data."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import ConversationKey, Direction, Message
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS

KEY = ConversationKey(ME, PEER)


def action(make: MessageFactory, body: str = "", **fields: str) -> Message:
    return make.outgoing(body, **fields)


async def test_a_payload_is_stored_corrected_and_removed(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    sent = await store.add_outgoing(make.outgoing("card", payload='[{"a":1}]'))
    assert store.get_by_uuid(KEY, sent.uuid) == sent
    assert sent.payload == '[{"a":1}]'
    assert store.get_by_uuid(KEY, "no-such-uuid") is None
    assert store.get_by_uuid(ConversationKey(ME, "x@y"), sent.uuid) is None

    (edit,) = await store.apply_actions(
        [action(make, body="card 2", replaces=sent.uid, payload='[{"a":2}]')]
    )
    assert edit.target is not None
    assert (edit.target.body, edit.target.payload) == ("card 2", '[{"a":2}]')
    stored = store.get_by_uuid(KEY, sent.uuid)
    assert stored is not None
    assert stored.payload == '[{"a":2}]'

    (removal,) = await store.apply_actions([action(make, retracts=sent.uid)])
    assert removal.target is not None
    assert removal.target.payload == ""
    gone = store.get_by_uuid(KEY, sent.uuid)  # (its tombstone)
    assert gone is not None
    assert (gone.removed, gone.body, gone.payload) == (True, "", "")


async def test_the_incoming_message_up_to_a_sequence(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    one, two = await store.add_incoming([make.incoming("one"), make.incoming("two")])
    mine = await store.add_outgoing(make.outgoing("mine"))
    assert (one.sequence, two.sequence, mine.sequence) == (1, 2, 3)
    assert store.incoming_up_to(KEY, 0) is None
    found = store.incoming_up_to(KEY, 1)
    assert found is not None
    assert found.uid == one.uid
    found = store.incoming_up_to(KEY, 3)  # (ours is no incoming one)
    assert found is not None
    assert found.uid == two.uid
    assert found.direction is Direction.INCOMING
    assert store.incoming_up_to(ConversationKey(ME, "x@y"), 3) is None


async def test_a_version_5_database_gains_payloads_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v5.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:5]).close_sync()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')",
            (ME, PEER),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, "
            "body, timestamp, state, error, mtype, origin, subject, flags, search_key, muuid) "
            "VALUES (1, 0, 'uid-1', ?, '', 'kept', 1.0, 10, '', 0, 1, '', 0, 1, 'muuid-1')",
            (PEER,),
        )
    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        kept = store.get_by_uuid(KEY, "muuid-1")
        assert kept is not None
        assert (kept.body, kept.payload) == ("kept", "")
    finally:
        await store.close()
