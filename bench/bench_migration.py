"""Migration benchmark: a version-2 history of N messages brought to the current schema.

Usage: ``.venv/bin/python bench/bench_migration.py [--messages 1000000] [--keep]``

The version-2 database is built with the released migrations (``MIGRATIONS[:2]``, the
schema of the version-2 release) and filled with plain SQL in one transaction (the FTS
triggers index every body, as the release did): bench_storage's corpus (200
conversations, one holding 10%, Zipf-weighted words, seeded), half of it outgoing, the
newest 2,000 messages not yet read or seen, and a received-log entry for the newest 10%.
Then the migrations are applied on a connection set up as ``Database.open`` sets up its
writer (WAL, synchronous NORMAL, 64 MiB cache, mmap), timed statement by statement,
while a thread samples the disk the database uses: the file, its ``-wal``, ``-shm`` and
``-journal``, and any deleted temporary file SQLite holds open (sorts, window
partitions). It prints figures; it never asserts on them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "gui"))
sys.path.insert(0, str(BENCH))

from bench_storage import ACCOUNT, Corpus  # noqa: E402

from chinwag.core.models import Direction  # noqa: E402
from chinwag.storage import Database, SqliteMessageStore  # noqa: E402
from chinwag.storage.database import _MMAP_BYTES, _configure, _connect  # noqa: E402
from chinwag.storage.message_store import search_key_bucket  # noqa: E402
from chinwag.storage.migrations import MIGRATIONS, SCHEMA_VERSION, apply_migrations  # noqa: E402

CHUNK = 20_000
SAMPLE_SECONDS = 0.02

_INSERT_V2 = """
INSERT INTO messages (conversation_id, direction, uid, stanza_id, sender, sender_resource,
    body, timestamp, state, error, mtype, origin, subject, flags, search_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, ?, '', 0, ?)
"""


def build_v2(path: Path, total: int) -> None:
    """A version-2 history of ``total`` messages at ``path``."""
    Database.open(path, migrations=MIGRATIONS[:2]).close_sync()
    corpus = Corpus(total)
    ids = {}
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        for index, key in enumerate(corpus.keys, start=1):
            conn.execute(
                "INSERT INTO conversations (id, account, peer, kind) VALUES (?, ?, ?, ?)",
                (index, key.account, key.peer, str(key.kind)),
            )
            ids[key.peer] = index
        rows = []
        last_key = 0
        received_from = total - total // 10
        received = []
        for index, message in enumerate(corpus.messages(), start=1):
            key = max(search_key_bucket(message.timestamp), last_key + 1)
            last_key = key
            rows.append(
                (
                    ids[message.peer],
                    int(message.direction),
                    message.uid,
                    message.stanza_id,
                    message.sender,
                    message.sender_resource,
                    message.body,
                    message.timestamp,
                    int(message.state),
                    int(message.origin),
                    key,
                )
            )
            if index > received_from and message.direction is Direction.INCOMING:
                received.append((ACCOUNT, len(received) + 1, index, 0, int(message.timestamp), ""))
            if len(rows) == CHUNK:
                conn.executemany(_INSERT_V2, rows)
                rows.clear()
        conn.executemany(_INSERT_V2, rows)
        conn.executemany(
            "INSERT INTO received (account, sequence, message_id, report, at, error) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            received,
        )
        conn.execute(
            "INSERT INTO received_counter (account, last) VALUES (?, ?)", (ACCOUNT, len(received))
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def companions(path: Path) -> dict[str, int]:
    sizes = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            sizes[suffix or "db"] = os.stat(f"{path}{suffix}").st_size
        except FileNotFoundError:
            sizes[suffix or "db"] = 0
    return sizes


def deleted_temp_bytes() -> int:
    """Bytes in files this process holds open that were deleted (SQLite's temp files)."""
    total = 0
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.endswith(" (deleted)"):
                total += os.stat(f"/proc/self/fd/{fd}").st_size
        except OSError:
            continue
    return total


class DiskSampler(threading.Thread):
    """Samples the database's files and SQLite's temporary files until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.peak = 0
        self.peak_parts: dict[str, int] = {}
        self.peak_temp = 0
        self.samples = 0
        self.fs_free_before = self.fs_free_min = shutil.disk_usage(path.parent).free

    def sample(self) -> None:
        parts = companions(self.path)
        temp = deleted_temp_bytes()
        total = sum(parts.values()) + temp
        self.samples += 1
        self.peak_temp = max(self.peak_temp, temp)
        self.fs_free_min = min(self.fs_free_min, shutil.disk_usage(self.path.parent).free)
        if total > self.peak:
            self.peak = total
            self.peak_parts = {**parts, "temp": temp}

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_SECONDS)
        self.sample()


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and print its path")
    args = parser.parse_args()
    print(
        f"Chinwag migration benchmark: version 2 -> {SCHEMA_VERSION}, {args.messages:,} messages; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="chinwag-bench-migration-"))
    path = workdir / "history.sqlite3"
    try:
        started = time.perf_counter()
        build_v2(path, args.messages)
        print(f"Built the version-2 database in {time.perf_counter() - started:.1f} s")
        before = companions(path)
        size_before = sum(before.values())
        with closing(sqlite3.connect(path)) as conn:
            tables = dict(
                conn.execute(
                    "SELECT name, sum(pgsize) FROM dbstat WHERE aggregate = TRUE GROUP BY name"
                ).fetchall()
            )
        fts = sum(v for k, v in tables.items() if k.startswith("messages_fts"))
        indexes = sum(
            v
            for k, v in tables.items()
            if k.startswith(("messages_", "sqlite_autoindex_messages")) and k != "messages_fts"
        )
        print(f"  size before: {mb(size_before)} (file {mb(before['db'])}, no WAL)")
        print(
            f"  of which the messages table {mb(tables.get('messages', 0))}, full-text index "
            f"{mb(fts)}, message indexes {mb(indexes - fts)}"
        )

        # The writer connection as Database.open makes it, with each statement timed.
        conn = _connect(str(path))
        _configure(conn, wal=True)
        conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES:d}")
        steps: list[tuple[float, str]] = []

        def trace(statement: str) -> None:
            steps.append((time.perf_counter(), " ".join(statement.split())[:70]))

        conn.set_trace_callback(trace)
        sampler = DiskSampler(path)
        sampler.start()
        started = time.perf_counter()
        apply_migrations(conn, name=str(path))
        elapsed = time.perf_counter() - started
        conn.set_trace_callback(None)
        after_commit = companions(path)
        sampler.stop.set()
        sampler.join()
        conn.close()
        after_close = companions(path)

        print(f"Migration to version {SCHEMA_VERSION}: {elapsed:.1f} s")
        ends = [t for t, _ in steps[1:]] + [started + elapsed]
        per_statement: dict[str, list[float]] = {}
        for (t, text), end in zip(steps, ends, strict=True):
            per_statement.setdefault(text, []).append(end - t)
        slow = sorted(((sum(v), len(v), text) for text, v in per_statement.items()), reverse=True)
        for seconds, count, text in slow[:5]:
            times = f" ({count} statements)" if count > 1 else ""
            print(f"  {seconds:7.2f} s  {text}{times}")
        print("Disk (database + -wal + -shm + -journal + SQLite's deleted temp files):")
        print(f"  before:                 {mb(size_before)}")
        print(
            f"  peak during:            {mb(sampler.peak)} = "
            f"{sampler.peak / size_before:.2f} x before  (extra {mb(sampler.peak - size_before)} = "
            f"{(sampler.peak - size_before) / size_before:.2f} x; "
            + ", ".join(f"{k} {mb(v)}" for k, v in sampler.peak_parts.items())
            + f"; {sampler.samples} samples)"
        )
        print(f"  peak temp files alone:  {mb(sampler.peak_temp)}")
        print(
            f"  right after commit:     {mb(sum(after_commit.values()))} "
            f"(file {mb(after_commit['db'])}, WAL {mb(after_commit['-wal'])})"
        )
        print(
            f"  after close:            {mb(sum(after_close.values()))} = "
            f"{sum(after_close.values()) / size_before:.2f} x before"
        )
        print(
            f"  filesystem free space, lowest vs before (other processes add noise): "
            f"{mb(sampler.fs_free_before - sampler.fs_free_min)} less"
        )
        store = SqliteMessageStore.open(path)
        try:
            with store.database.reading() as read:
                events = read.execute("SELECT count(*) FROM conversation_events").fetchone()[0]
                messages = read.execute("SELECT count(*) FROM messages").fetchone()[0]
            print(f"Afterwards: {messages:,} messages, {events:,} events in the log")
        finally:
            store.database.close_sync()
        if args.keep:
            print(f"kept: {path}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
