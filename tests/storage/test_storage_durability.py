"""A write that returned is committed: visible to new connections and other processes, and
it survives the writing process dying without closing anything."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import ConversationKey, MessageState
from chinwag.storage import SqliteMessageStore

GUI = Path(__file__).resolve().parents[2] / "gui"

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from chinwag.core.models import Direction, Message
    from chinwag.storage import SqliteMessageStore

    async def main() -> None:
        store = SqliteMessageStore.open(sys.argv[1])
        for i in range(50):
            await store.add_outgoing(
                Message("me@example.org", "peer@example.net", Direction.OUTGOING,
                        f"written before the crash {i}", 1000.0 + i, uid=f"crash-{i}")
            )
        print("committed", flush=True)
        os._exit(3)  # die now: no close(), no checkpoint, no atexit

    asyncio.run(main())
    """
)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUI), env.get("PYTHONPATH")]))
    return env


def test_writes_survive_the_process_dying(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (3, "committed"), result.stderr
    assert Path(f"{path}-wal").exists()  # not checkpointed: recovery reads the WAL

    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 50


async def test_a_returned_write_is_visible_to_a_new_connection(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    path = file_store.database.name
    stored = await file_store.add_outgoing(make.outgoing("durable", uid="d1"))
    await file_store.update_state(ME, PEER, "d1", MessageState.SENT)

    # a new connection, and a new process, while the store is still open
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute(
            "SELECT body, state FROM messages WHERE id = ?", (stored.id,)
        ).fetchone() == (
            "durable",
            int(MessageState.SENT),
        )
    check = (
        "import sqlite3, sys; "
        "print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM messages').fetchone()[0])"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", check, path, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(child.communicate(), 60)
    assert (child.returncode, stdout.decode().strip()) == (0, "1")

    # and a second store on the same file
    other = SqliteMessageStore.open(path)
    try:
        assert other.get(ME, PEER, "d1") == replace(stored, state=MessageState.SENT)
        assert other.latest(ConversationKey(ME, PEER), 10) == [
            replace(stored, state=MessageState.SENT)
        ]
    finally:
        await other.close()


async def test_reopened_store_has_everything(tmp_path: Path, make: MessageFactory) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    written = [await store.add_outgoing(make.outgoing(f"m{i}")) for i in range(5)]
    written += await store.add_incoming([make.incoming(f"in{i}") for i in range(5)])
    await store.set_sync_state(ME, "k", "v")
    await store.close()

    reopened = SqliteMessageStore.open(path)
    try:
        assert reopened.latest(ConversationKey(ME, PEER), 100) == written
        assert reopened.get_sync_state(ME, "k") == "v"
        assert [hit.message for hit in reopened.search("in3")] == [written[8]]
    finally:
        await reopened.close()
