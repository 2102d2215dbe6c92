"""Defects found reviewing issue 11 in storage (apply_actions, the version-3 migration).
Each test states what the issue or the spec asks for; each failed before its fix (the
uuid of a message without a recorded sender, reactions taken back kept with their time)."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from storage_helpers import ME, MessageFactory

from chinwag.core.models import ConversationKey, direct_message_uuid
from chinwag.storage import SqliteMessageStore

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "history-v2.sqlite3"


async def test_an_older_reaction_after_they_were_taken_back_stays_refused(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    (target,) = await store.add_incoming([make.incoming("vote?")])
    assert target.id is not None
    t = make.clock
    taken_back = replace(
        make.incoming("", uid="r-2", timestamp=t + 20), reacts_to=target.uid, reactions=()
    )
    older = replace(
        make.incoming("", uid="r-1", timestamp=t + 10), reacts_to=target.uid, reactions=("👍",)
    )
    (first,) = await store.apply_actions([taken_back])  # live, the newest
    assert first.refused == ""
    (late,) = await store.apply_actions([older])  # from the archive, older
    assert store.reactions([target.id]) == {}
    assert late.refused != ""


async def test_a_migrated_message_without_a_sender_gets_its_authors_uuid(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(FIXTURE, path)
    with closing(sqlite3.connect(path)) as conn:
        ((peer, uid),) = conn.execute(
            "SELECT c.peer, m.uid FROM messages AS m JOIN conversations AS c "
            "ON c.id = m.conversation_id WHERE m.direction = 0 AND m.sender = ''"
        ).fetchall()
    store = SqliteMessageStore.open(path)
    try:
        message = store.get(ME, peer, uid)
        assert message is not None
        events = store.events_after(ConversationKey(ME, peer), 0, 1000)
        (event,) = [e for e in events if e.message_id == message.id]
        assert event.author == peer
        assert event.message_uuid == direct_message_uuid(peer, uid)
    finally:
        await store.close()


async def test_an_incoming_message_never_shares_the_uuid_of_ours(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    ours = await store.add_outgoing(make.outgoing("mine", uid="same-id"))
    (theirs,) = await store.add_incoming(
        [replace(make.incoming("theirs", uid="same-id"), sender="")]
    )
    assert ours.id is not None
    assert theirs.id is not None
    events = {e.message_id: e for e in store.events_after(key, 0, 10)}
    assert events[theirs.id].message_uuid != events[ours.id].message_uuid
