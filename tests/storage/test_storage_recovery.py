"""Opening the history at start-up: the file and its -wal/-shm are private (0600); a
damaged file is moved aside with its companions and a new history started; what cannot
be moved or written is left untouched and an in-memory history used. Never a traceback."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_helpers import MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import SqliteMessageStore
from chinwag.storage.database import MEMORY, Database, open_or_recover
from rig.readonly import read_only


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def aside(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".broken-" in p.name)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    return data


@pytest.fixture
def opened() -> Iterator[list[Database]]:
    dbs: list[Database] = []
    yield dbs
    for db in dbs:
        db.close_sync()


async def test_the_file_and_its_companions_are_private(folder: Path, make: MessageFactory) -> None:
    path = folder / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    try:
        await store.add_outgoing(make.outgoing("hi"))
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["history.sqlite3", "history.sqlite3-shm", "history.sqlite3-wal"]
        for p in folder.iterdir():
            assert mode(p) == 0o600, p
    finally:
        await store.close()


def test_an_existing_file_others_could_read_is_made_private(folder: Path) -> None:
    path = folder / "history.sqlite3"
    with sqlite3.connect(path) as conn:  # as an older Chinwag left it
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    path.chmod(0o644)
    Database.open(path).close_sync()
    assert mode(path) == 0o600


async def test_a_sound_history_is_opened_as_it_is(
    folder: Path, make: MessageFactory, opened: list[Database]
) -> None:
    path = folder / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    sent = await store.add_outgoing(make.outgoing("kept"))
    await store.close()
    db, notice = open_or_recover(path)
    opened.append(db)
    assert notice is None
    assert [m.body for m in SqliteMessageStore(db).latest(sent.key, 5)] == ["kept"]
    assert aside(folder) == []


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(3000))


def _truncated(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "something").write_text("a folder where the history should be")


@pytest.mark.parametrize(
    "damage", [_garbage, _truncated, _folder], ids=["garbage", "truncated", "folder"]
)
async def test_a_damaged_history_is_moved_aside_and_a_new_one_started(
    folder: Path, damage: object, make: MessageFactory, opened: list[Database]
) -> None:
    path = folder / "history.sqlite3"
    damage(path)  # type: ignore[operator]
    wal = folder / "history.sqlite3-wal"
    wal.write_bytes(b"a wal of the damaged file")
    before = path.read_bytes() if path.is_file() else None

    db, notice = open_or_recover(path)
    opened.append(db)

    assert db.name == str(path)
    moved = aside(folder)
    assert [p.name for p in moved] == [moved[0].name, f"{moved[0].name}-wal"]
    main = moved[0]
    if before is not None:
        assert main.read_bytes() == before
    else:
        assert (main / "something").exists()
    assert (folder / f"{main.name}-wal").read_bytes() == b"a wal of the damaged file"
    assert notice is not None
    assert str(main) in notice
    assert "new, empty history" in notice
    store = SqliteMessageStore(db)  # the new one works
    sent = await store.add_outgoing(make.outgoing("after"))
    assert [m.body for m in store.latest(sent.key, 5)] == ["after"]
    assert mode(path) == 0o600


def test_a_history_from_a_newer_chinwag_is_left_alone(folder: Path, opened: list[Database]) -> None:
    path = folder / "history.sqlite3"
    Database.open(path).close_sync()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    before = path.read_bytes()
    db, notice = open_or_recover(path)
    opened.append(db)
    assert db.name == MEMORY
    assert notice is not None
    assert "newer Chinwag" in notice
    assert "in memory only" in notice
    assert path.read_bytes() == before
    assert aside(folder) == []


async def test_in_a_read_only_folder_nothing_is_touched(
    folder: Path, make: MessageFactory, opened: list[Database]
) -> None:
    path = folder / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    await store.add_outgoing(make.outgoing("old"))
    await store.close()
    garbage = folder / "garbage"
    garbage.mkdir()
    _garbage(garbage / "history.sqlite3")
    listing = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    with read_only(folder):
        for target in (path, garbage / "history.sqlite3", folder / "new" / "history.sqlite3"):
            db, notice = open_or_recover(target)
            opened.append(db)
            assert db.name == MEMORY, target
            assert notice is not None
            assert "in memory only" in notice
            assert str(target) in notice
            store = SqliteMessageStore(db)  # usable for this session
            sent = await store.add_outgoing(make.outgoing("this session"))
            assert [m.body for m in store.latest(ConversationKey(sent.account, sent.peer), 5)] == [
                "this session"
            ]
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == listing


def test_a_folder_that_cannot_be_moved_gives_an_in_memory_history(
    folder: Path, opened: list[Database]
) -> None:
    path = folder / "history.sqlite3"
    _folder(path)
    with read_only(folder):
        db, notice = open_or_recover(path)
        opened.append(db)
        assert db.name == MEMORY
        assert notice is not None
        assert "cannot be moved aside" in notice
        assert path.is_dir()
