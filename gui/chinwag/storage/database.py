"""One SQLite database: its connections, its writer thread and group commit.

Threading model (Anki's collection executor, plus group commit):

* One writer thread (a single-worker executor) owns the write connection. Writes are
  functions of that connection submitted with :meth:`Database.write`, a coroutine.
* Writes submitted while the writer is busy wait in a queue; the writer then runs the
  whole queue as ONE transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), each write inside its
  own SAVEPOINT so a failing write rolls back only itself and fails only its caller. After
  the COMMIT every caller's future is resolved with ONE ``loop.call_soon_threadsafe`` per
  event loop per batch. A write has therefore been committed when its coroutine returns,
  and a burst of N writes costs a handful of commits (fsyncs), not N.
* Reads run on the calling thread (the UI / event-loop thread) through a second
  connection. In WAL mode they never wait for the writer and see every committed write.
* ``":memory:"`` (tests): one in-memory database cannot be shared by two plain
  connections, so reads and writes share ONE connection, guarded by a lock that the
  writer holds for a whole batch; a read therefore never sees a half-done batch.

Only public asyncio APIs are used (``get_running_loop``, ``create_future``,
``call_soon_threadsafe``), so the loop may be qasync's Qt loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from chinwag.storage.errors import MigrationError, StorageClosedError, StorageError
from chinwag.storage.migrations import MIGRATIONS, Migration, apply_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")

MEMORY: Final = ":memory:"
#: How long a connection waits for another process's lock before SQLITE_BUSY, in ms.
BUSY_TIMEOUT_MS: Final = 5000
_PAGE_CACHE_KIB: Final = 65536
_MMAP_BYTES: Final = 256 * 1024 * 1024


@dataclass(slots=True)
class WriterStats:
    """Counters of the writer thread, for tests and benchmarks."""

    writes: int = 0  # write functions run (committed or failed)
    failed: int = 0  # write functions that raised (rolled back to their savepoint)
    transactions: int = 0  # COMMITs, i.e. batches
    largest_batch: int = 0


@dataclass(slots=True, eq=False)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    #: Called on the loop with the result once committed, whether or not the caller
    #: still waits (one cancelled after its batch started still has its write).
    on_commit: Callable[[Any], None] | None = None


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _resolve(jobs: list[_Job]) -> None:
    """Runs on the event loop: hand each caller its result (once per batch)."""
    for job in jobs:
        if job.error is None and job.on_commit is not None:
            try:
                job.on_commit(job.result)
            except Exception:
                log.exception("a commit listener failed")
        if job.future.done():  # the caller was cancelled
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)


class Database:
    """An open SQLite database with migrations applied: a read connection for the calling
    thread and a group-committing writer thread. Build with :meth:`open`."""

    def __init__(
        self,
        name: str,
        write_conn: sqlite3.Connection,
        read_conn: sqlite3.Connection,
        shared_lock: threading.RLock,
    ) -> None:
        self.name = name
        self._write_conn = write_conn
        self._read_conn = read_conn
        # Guards the read connection; for ":memory:" it is the same object as the write
        # connection and the writer holds this lock for a whole batch.
        self._read_lock = shared_lock
        self._shared = write_conn is read_conn
        self._queue_lock = threading.Lock()
        self._queue: list[_Job] = []
        self._draining = False
        self._closing = False
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chinwag-db")
        self._rollback_listeners: list[Callable[[], None]] = []
        self.stats = WriterStats()

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> Database:
        """Open (creating if needed) the database at ``path``, or a private in-memory one
        for ``":memory:"``, and migrate it. Synchronous: call it before the loop is busy."""
        if str(path) == MEMORY:
            conn = _connect(MEMORY)
            try:
                _configure(conn, wal=False)
                apply_migrations(conn, migrations, name="in-memory database")
            except BaseException:
                conn.close()
                raise
            return cls(MEMORY, conn, conn, threading.RLock())

        path = Path(path)
        name = str(path)
        _create_private(path)
        write_conn = _connect(name)
        try:
            _configure(write_conn, wal=True)
            # Index pages read through the map instead of read() copies: ~12% faster
            # inserts on a large history (bench/bench_storage.py).
            write_conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES:d}")
            apply_migrations(write_conn, migrations, name=name)
            read_conn = _connect(name)
        except BaseException:
            write_conn.close()
            raise
        try:
            _configure(read_conn, wal=False)  # the mode is per database, already WAL
            read_conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES:d}")
            read_conn.execute("PRAGMA query_only = ON")
        except BaseException:
            read_conn.close()
            write_conn.close()
            raise
        return cls(name, write_conn, read_conn, threading.RLock())

    # -- reads --------------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection, for statements run on the calling thread. Each statement
        sees every write committed before it started. Do not call from a write function."""
        with self._read_lock:
            if self._closed:
                raise StorageClosedError(f"{self.name} is closed")
            yield self._read_conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.reading() as conn:
            return conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.reading() as conn:
            return conn.execute(sql, params).fetchone()

    # -- writes -------------------------------------------------------------------------

    def add_rollback_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the writer thread whenever a write or a batch is rolled
        back, so write-side caches (e.g. of new row ids) can be dropped."""
        self._rollback_listeners.append(callback)

    async def write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        on_commit: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``fn(write_connection)`` on the writer thread inside a transaction and
        return its result once that transaction is committed.

        ``fn`` must not commit, roll back or start a transaction itself; it may raise, which
        rolls back what it did and raises the same exception here. Cancelling the caller
        before its batch starts skips the write; after that, the write may still commit,
        and ``on_commit`` (called on the loop with the result once committed) still hears
        of it."""
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop, loop.create_future(), on_commit=on_commit)
        with self._queue_lock:
            if self._closing:
                raise StorageClosedError(f"{self.name} is closed")
            self._queue.append(job)
            if not self._draining:
                self._draining = True
                # Submitted under the lock so close() cannot queue its shutdown in between.
                self._executor.submit(self._drain)
        return cast(T, await job.future)

    def _drain(self) -> None:
        """Writer thread: run batches until the queue is empty."""
        while True:
            with self._queue_lock:
                batch = self._queue
                self._queue = []
                if not batch:
                    self._draining = False
                    return
            # A caller cancelled while queued does not want its write any more.
            jobs = [job for job in batch if not job.future.cancelled()]
            if jobs:
                try:
                    self._run_batch(jobs)
                except BaseException as exc:  # never strand the callers: fail the batch
                    log.exception("database write batch failed")
                    self._abort(jobs, exc)
            self._deliver(jobs)

    def _run_batch(self, jobs: list[_Job]) -> None:
        conn = self._write_conn
        lock = self._read_lock if self._shared else contextlib.nullcontext()
        with lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self._fail_all(jobs, exc)
                return
            for job in jobs:
                self.stats.writes += 1
                conn.execute("SAVEPOINT write")
                try:
                    job.result = job.fn(conn)
                except Exception as exc:
                    job.error = exc
                    self.stats.failed += 1
                    if not conn.in_transaction:
                        # SQLite rolled back the whole transaction (e.g. disk full): the
                        # writes before this one are lost too.
                        self._notify_rollback()
                        self._fail_all(jobs, exc)
                        return
                    conn.execute("ROLLBACK TO write")
                    self._notify_rollback()
                conn.execute("RELEASE write")
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._abort(jobs, exc)
                return
            self.stats.transactions += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(jobs))

    def _abort(self, jobs: list[_Job], exc: BaseException) -> None:
        """Roll back whatever is open and fail every job of the batch not failed already."""
        lock = self._read_lock if self._shared else contextlib.nullcontext()
        with lock, contextlib.suppress(sqlite3.Error):
            if self._write_conn.in_transaction:
                self._write_conn.execute("ROLLBACK")
        self._notify_rollback()
        self._fail_all(jobs, exc)

    def _fail_all(self, jobs: list[_Job], exc: BaseException) -> None:
        for job in jobs:
            if job.error is None:
                job.error = exc
                job.result = None
                self.stats.failed += 1

    def _notify_rollback(self) -> None:
        for callback in self._rollback_listeners:
            callback()

    @staticmethod
    def _deliver(batch: list[_Job]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, jobs)
            except Exception:  # the loop was closed: nobody is waiting any more
                log.warning(
                    "could not report %d database writes to their event loop",
                    len(jobs),
                    exc_info=True,
                )

    # -- closing ------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish every queued write, then close both connections and the writer thread."""
        if not self._begin_close():
            return
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()

        def close_writer() -> None:  # queued behind every batch: the executor is FIFO
            error: BaseException | None = None
            try:
                self._close_writer()
            except Exception as exc:
                error = exc
            try:
                loop.call_soon_threadsafe(_settle, closed, error)
            except Exception:  # the loop is gone: nobody is waiting for close() any more
                log.exception("could not report the database closed")

        self._executor.submit(close_writer)
        await closed
        self._finish_close()

    def close_sync(self) -> None:
        """Like :meth:`close`, blocking; for code that runs without an event loop."""
        if not self._begin_close():
            return
        self._executor.submit(self._close_writer).result()
        self._finish_close()

    def _begin_close(self) -> bool:
        with self._queue_lock:
            if self._closing:
                return False
            self._closing = True
            return True

    def _close_writer(self) -> None:
        # Runs on the writer thread after every queued batch (the executor is FIFO).
        if not self._shared:
            self._write_conn.close()

    def _finish_close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._read_lock:
            self._closed = True
            self._read_conn.close()

    @property
    def pending_writes(self) -> int:
        """Writes queued for the next batch (not counting the batch running now)."""
        with self._queue_lock:
            return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed


#: The files SQLite keeps next to a database (WAL, its index, a rollback journal).
COMPANION_SUFFIXES: Final = ("-wal", "-shm", "-journal")
#: SQLite result codes that mean the file is not a sound database.
_DAMAGED_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


def open_or_recover(
    path: str | Path, *, migrations: Sequence[Migration] = MIGRATIONS
) -> tuple[Database, str | None]:
    """Open the history for the application's start-up, never failing on the file.

    A damaged file (garbage, truncated, a folder in its place) is moved aside as
    ``<name>.broken-<time>`` with its ``-wal``/``-shm``, and a new database is created.
    When it cannot be moved, or the file cannot be opened or written (a read-only folder,
    a schema from a newer Chinwag), it is left untouched and a private in-memory database
    is used. Returns the database and, when it is not simply the file at ``path``, what
    was done, in words for the user (also logged)."""
    path = Path(path)
    error: BaseException
    damage = _header_damage(path)  # before SQLite: it would checkpoint or drop the -wal
    if damage is None:
        try:
            return Database.open(path, migrations=migrations), None
        except Exception as exc:
            error = exc
    else:
        error = DamagedFileError(damage)
    if not _damaged(path, error):
        notice = (
            f"The history {path} cannot be used ({_reason(error)}). It is left as it is; "
            "messages of this session are kept in memory only and will not be saved."
        )
        return _in_memory(migrations, notice)
    try:
        aside = _move_aside(path)
    except OSError as exc:
        notice = (
            f"The history {path} is damaged ({_reason(error)}) and cannot be moved aside "
            f"({exc.strerror or exc}). It is left as it is; messages of this session are "
            "kept in memory only and will not be saved."
        )
        return _in_memory(migrations, notice)
    try:
        db = Database.open(path, migrations=migrations)
    except Exception as exc:
        log.error("cannot create a new history %s: %s", path, exc)
        notice = (
            f"The history {path} was damaged ({_reason(error)}); it was moved to {aside}, "
            f"but a new one cannot be created ({_reason(exc)}). Messages of this session "
            "are kept in memory only and will not be saved."
        )
        return _in_memory(migrations, notice)
    notice = (
        f"The history {path} was damaged ({_reason(error)}). It was moved to {aside}, "
        "and a new, empty history was started."
    )
    log.warning("%s", notice)
    return db, notice


def _in_memory(migrations: Sequence[Migration], notice: str) -> tuple[Database, str]:
    log.warning("%s", notice)
    return Database.open(MEMORY, migrations=migrations), notice


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return str(error)


class DamagedFileError(StorageError):
    """The file's header shows it is not a sound SQLite database."""


_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_WAL_MAGIC: Final = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


def _header_damage(path: Path) -> str | None:
    """What is wrong with the file's header (not SQLite's, or cut short), read without
    SQLite; None when it looks sound or cannot be read (SQLite will tell)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(100)
    except OSError:
        return None
    if size == 0:
        return None  # a new database
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        return "it is not an SQLite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return "it is not an SQLite database"
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # else SQLite ignores the page count
    if valid and size < pages * page_size and not _has_wal(path):
        # With a WAL, a checkpoint cut short can leave the file short; SQLite repairs it.
        return f"it is cut short: {size} bytes of {pages * page_size}"
    return None


def _has_wal(path: Path) -> bool:
    try:
        with open(f"{path}-wal", "rb") as f:
            return f.read(4) in _WAL_MAGIC
    except OSError:
        return False


def _damaged(path: Path, error: BaseException) -> bool:
    """Whether ``error`` from opening ``path`` means the file itself is bad (so moving it
    aside and starting afresh is right), not the folder, the disk or the Chinwag."""
    if isinstance(error, DamagedFileError):
        return True
    if (path.exists() or path.is_symlink()) and not path.is_file():
        return True  # a folder (or a socket, a dangling link) where the file should be
    cause: BaseException | None = error
    if isinstance(error, MigrationError):
        cause = error.__cause__
    return isinstance(cause, sqlite3.DatabaseError) and (
        getattr(cause, "sqlite_errorcode", None) in _DAMAGED_CODES
    )


def _move_aside(path: Path) -> Path:
    """Rename ``path`` and its companions to ``<name>.broken-<time>`` (the companions keep
    their suffix, so SQLite still pairs them). The companions go first: a ``-wal`` left
    next to a new database would be replayed into it. Raises OSError, having put back
    what it moved, when something cannot be moved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    counter = 1
    while any(os.path.lexists(f"{aside}{suffix}") for suffix in ("", *COMPANION_SUFFIXES)):
        aside = path.with_name(f"{path.name}.broken-{stamp}-{counter}")
        counter += 1
    moved: list[tuple[Path, Path]] = []
    try:
        for suffix in (*COMPANION_SUFFIXES, ""):
            source = Path(f"{path}{suffix}")
            if os.path.lexists(source):
                target = Path(f"{aside}{suffix}")
                source.rename(target)
                moved.append((target, source))
    except OSError:
        for target, source in reversed(moved):
            with contextlib.suppress(OSError):
                target.rename(source)
        raise
    return aside


def _create_private(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it: SQLite would
    create it 0644, and makes its ``-wal`` and ``-shm`` with the mode of the main file.
    An existing file (and its companions) that others could read is made private."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    for name in (str(path), *(f"{path}{suffix}" for suffix in COMPANION_SUFFIXES)):
        try:
            mode = os.stat(name).st_mode
            if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
                os.chmod(name, stat.S_IMODE(mode) & ~0o077)
                log.info("%s was readable by others; made it private", name)
        except OSError as exc:  # absent, or a read-only folder: SQLite will say more
            log.debug("cannot make %s private: %s", name, exc)


def _connect(name: str) -> sqlite3.Connection:
    # isolation_level=None: autocommit; transactions are explicit (BEGIN/SAVEPOINT).
    # check_same_thread=False: the connection is created here and used by the writer
    # thread (write) or by the UI thread under a lock (read).
    return sqlite3.connect(
        name,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )


def _configure(conn: sqlite3.Connection, *, wal: bool) -> None:
    if wal:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("could not switch the database to WAL (journal_mode=%s)", mode)
    # NORMAL in WAL mode: a commit survives a crash of the process (not of the OS).
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    conn.execute(f"PRAGMA cache_size = -{_PAGE_CACHE_KIB:d}")
