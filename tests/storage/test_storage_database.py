"""Database: pragmas, the writer thread, group commit, failure isolation and closing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from storage_helpers import MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import Database, SqliteMessageStore, StorageClosedError
from chinwag.storage import database as database_module


@pytest.fixture(params=["memory", "file"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    path: str | Path = ":memory:" if request.param == "memory" else tmp_path / "db.sqlite3"
    database = Database.open(path)
    await database.write(lambda conn: conn.execute("CREATE TABLE t (v INTEGER UNIQUE)"))
    try:
        yield database
    finally:
        await database.close()


def values(db: Database) -> list[int]:
    return [row[0] for row in db.query("SELECT v FROM t ORDER BY v")]


def insert(value: int) -> Callable[[sqlite3.Connection], int]:
    def run(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        return value

    return run


class Gate:
    """A write that blocks the writer thread until opened, so later writes pile up."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.entered = asyncio.Event()
        self.release = threading.Event()

    def __call__(self, conn: sqlite3.Connection) -> str:
        self.loop.call_soon_threadsafe(self.entered.set)
        assert self.release.wait(10), "gate never opened"
        return "gate"


async def hold_writer(db: Database) -> tuple[Gate, asyncio.Task[str]]:
    gate = Gate()
    task = asyncio.ensure_future(db.write(gate))
    await asyncio.wait_for(gate.entered.wait(), 10)
    return gate, task


async def until_queued(db: Database, count: int) -> None:
    """Let freshly created write tasks run up to their ``await`` (they queue right away)."""
    for _ in range(1000):
        if db.pending_writes >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {db.pending_writes} of {count} writes queued")


# -- configuration -------------------------------------------------------------------------


def test_file_database_pragmas(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "db.sqlite3")
    try:
        with db.reading() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
            assert conn.execute("PRAGMA query_only").fetchone()[0] == 1
        assert db._write_conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db._write_conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        db.close_sync()


async def test_foreign_keys_are_enforced(db: Database) -> None:
    def orphan(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, "
            "body, timestamp, state, error, mtype, origin, subject, flags, search_key) "
            "VALUES (999, 0, 'u', '', '', 'b', 1.0, 10, '', 0, 0, '', 0, 1)"
        )

    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await db.write(orphan)


async def test_reads_cannot_write(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.query("INSERT INTO sync_state VALUES ('a', 'b', 'c')")
    finally:
        await db.close()


# -- the writer ---------------------------------------------------------------------------------


async def test_writes_run_on_one_writer_thread(db: Database) -> None:
    threads = await asyncio.gather(
        *(db.write(lambda conn: threading.current_thread().name) for _ in range(20))
    )
    assert len(set(threads)) == 1
    assert threads[0] != threading.current_thread().name


async def test_write_returns_its_result_after_commit(db: Database) -> None:
    assert await db.write(insert(1)) == 1
    assert values(db) == [1]


async def test_writes_queued_while_the_writer_is_busy_share_one_commit(db: Database) -> None:
    gate, gate_task = await hold_writer(db)
    before = db.stats.transactions

    tasks = [asyncio.ensure_future(db.write(insert(i))) for i in range(200)]
    await until_queued(db, 200)
    gate.release.set()

    assert await asyncio.gather(*tasks) == list(range(200))
    assert await gate_task == "gate"
    assert db.stats.transactions - before == 2  # the gate's batch, then all 200 at once
    assert db.stats.largest_batch == 200
    assert values(db) == list(range(200))


async def test_results_reach_the_loop_once_per_batch(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    calls: list[int] = []
    original = loop.call_soon_threadsafe

    def counting(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if callback is database_module._resolve:  # a batch's results
            calls.append(len(args[0]))
        return original(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    gate, gate_task = await hold_writer(db)
    tasks = [asyncio.ensure_future(db.write(insert(i))) for i in range(50)]
    await until_queued(db, 50)
    gate.release.set()
    await asyncio.gather(gate_task, *tasks)

    assert calls == [1, 50]  # one hand-over for the gate's batch, one for the other 50


async def test_a_failing_write_fails_only_its_caller(db: Database) -> None:
    def insert_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES (100)")
        raise RuntimeError("this write is broken")

    gate, gate_task = await hold_writer(db)
    before = db.stats.transactions
    first = asyncio.ensure_future(db.write(insert(1)))
    broken = asyncio.ensure_future(db.write(insert_then_fail))
    duplicate = asyncio.ensure_future(db.write(insert(1)))  # UNIQUE violation
    last = asyncio.ensure_future(db.write(insert(2)))
    await until_queued(db, 4)
    gate.release.set()
    await gate_task

    assert await first == 1
    with pytest.raises(RuntimeError, match="broken"):
        await broken
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        await duplicate
    assert await last == 2
    assert values(db) == [1, 2]  # the broken write's own insert was rolled back
    assert db.stats.transactions - before == 2
    assert db.stats.failed == 2


async def test_store_writes_are_group_committed(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    before = store.database.stats.transactions
    stored = await asyncio.gather(*(store.add_outgoing(make.outgoing(f"m{i}")) for i in range(200)))

    commits = store.database.stats.transactions - before
    assert commits < 200
    assert len({m.id for m in stored}) == 200
    assert store.count(key) == 200


async def test_a_failing_store_write_fails_only_its_caller(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    broken = make.outgoing("broken")
    broken = replace(broken, body=None)  # type: ignore[arg-type]
    results = await asyncio.gather(
        store.add_outgoing(make.outgoing("a")),
        store.add_outgoing(broken),
        store.add_outgoing(make.outgoing("b")),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert [m.body for m in store.latest(key, 10)] == ["a", "b"]


async def test_a_write_cancelled_while_queued_is_skipped(db: Database) -> None:
    gate, gate_task = await hold_writer(db)
    cancelled = asyncio.ensure_future(db.write(insert(7)))
    kept = asyncio.ensure_future(db.write(insert(8)))
    await until_queued(db, 2)
    cancelled.cancel()
    gate.release.set()
    await asyncio.gather(gate_task, kept)

    assert cancelled.cancelled()
    assert values(db) == [8]


async def test_memory_reads_never_see_a_batch_in_progress(tmp_path: Path) -> None:
    db = Database.open(":memory:")
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (v INTEGER)"))
        loop = asyncio.get_running_loop()
        inserted = asyncio.Event()
        release = threading.Event()

        def slow(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t VALUES (1)")
            loop.call_soon_threadsafe(inserted.set)
            assert release.wait(10)

        task = asyncio.ensure_future(db.write(slow))
        await asyncio.wait_for(inserted.wait(), 10)
        reader_saw: list[list[Any]] = []
        reader = threading.Thread(target=lambda: reader_saw.append(db.query("SELECT v FROM t")))
        reader.start()
        reader.join(0.2)
        assert reader.is_alive()  # waiting for the batch to end, not reading half of it
        release.set()
        await task
        reader.join(5)
        assert reader_saw == [[(1,)]]
    finally:
        await db.close()


# -- closing -----------------------------------------------------------------------------------


async def test_close_finishes_queued_writes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database.open(path)
    await db.write(lambda conn: conn.execute("CREATE TABLE t (v INTEGER)"))
    tasks = [asyncio.ensure_future(db.write(insert(i))) for i in range(100)]
    await asyncio.sleep(0)  # let them queue
    await db.close()

    assert await asyncio.gather(*tasks) == list(range(100))
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 100
    finally:
        conn.close()


async def test_use_after_close(db: Database) -> None:
    await db.close()
    await db.close()  # idempotent
    assert db.closed
    with pytest.raises(StorageClosedError):
        await db.write(insert(1))
    with pytest.raises(StorageClosedError):
        db.query("SELECT 1")


def test_close_sync_without_a_loop(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "db.sqlite3")
    db.close_sync()
    db.close_sync()
    assert db.closed
