"""Files (schema version 9): a message's XEP-0066 link is stored with it, its attachment
(name, size, type, URL, local path, state) in a table of its own; an uploaded file's
message takes its URL; a version-8 database migrates keeping its messages."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.attachments import Attachment, AttachmentState
from chinwag.core.models import ConversationKey, Direction
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.attachments import SqliteAttachmentStore
from chinwag.storage.migrations import MIGRATIONS

KEY = ConversationKey(ME, PEER)


async def test_attachments_and_links_survive_a_reopening(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    try:
        sent = await store.add_outgoing(make.outgoing("photo.png"))
        (got,) = await store.add_incoming(
            [make.incoming("https://x/a.pdf", oob_url="https://x/a.pdf")]
        )
        assert sent.id is not None
        assert got.id is not None
        files = SqliteAttachmentStore(store.database)
        await files.put_attachment(
            Attachment(
                sent.id,
                ME,
                Direction.OUTGOING,
                "photo.png",
                5,
                "image/png",
                "",
                "/tmp/photo.png",
                AttachmentState.UPLOADING,
            )
        )
        await files.put_attachment(
            Attachment(
                got.id, ME, Direction.INCOMING, "a.pdf", 0, "application/pdf", "https://x/a.pdf"
            )
        )
        await files.set_outgoing_body(sent.id, "https://up/photo.png", "https://up/photo.png")
    finally:
        await store.close()
    store = SqliteMessageStore.open(path)
    try:
        files = SqliteAttachmentStore(store.database)
        assert sent.id is not None
        assert got.id is not None
        found = files.attachments([sent.id, got.id, 999])
        assert set(found) == {sent.id, got.id}
        assert found[sent.id].state is AttachmentState.UPLOADING
        assert found[got.id].state is AttachmentState.OFFERED
        assert [a.message_id for a in files.unfinished_attachments()] == [sent.id]
        message = store.get_by_id(sent.id)
        assert message is not None
        assert (message.body, message.oob_url) == ("https://up/photo.png",) * 2
        incoming = store.get_by_id(got.id)
        assert incoming is not None
        assert incoming.oob_url == "https://x/a.pdf"
        # the URL is searchable like any body
        assert [h.message.id for h in store.search("photo", KEY, 10)] == [sent.id]
    finally:
        await store.close()


async def test_a_version_8_database_gains_attachments_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v8.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:8]).close_sync()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')",
            (ME, PEER),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, "
            "body, timestamp, state, error, mtype, origin, subject, flags, search_key, muuid) "
            "VALUES (1, 1, 'uid-1', ?, '', 'queued', 1.0, 0, '', 0, 0, '', 0, 1, 'muuid-1')",
            (ME,),
        )
    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
            assert len(MIGRATIONS) >= 9
        (kept,) = store.pending_outgoing(ME)
        assert (kept.body, kept.oob_url) == ("queued", "")
        assert SqliteAttachmentStore(store.database).attachment(kept.id or 0) is None
    finally:
        await store.close()
