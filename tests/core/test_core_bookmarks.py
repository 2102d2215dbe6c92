"""The core's bookmarks (BookmarkService) over real storage and a stand-in connection
that plays the server's bookmark node: the cache shown before sign-in, the list read
after a new session (and the rooms to join announced), pushes, changes published before
they are kept, and a push that arrives while the list is being read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from chinwag.core.errors import InvalidAddress, NotConnected
from chinwag.core.events import BookmarksChanged, BookmarksSynced, Event
from chinwag.core.models import AccountConfig, Bookmark
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore
from rig.fakes import FakeConfig, FakeConnection, FakeSecrets

ME = "me@localhost"
ROOM = "room@conference.localhost"
OTHER = "other@conference.localhost"
EXT = '<extensions xmlns="urn:xmpp:bookmarks:1"><x xmlns="urn:example">keep</x></extensions>'


class BookmarkServer(FakeConnection):
    """Plays the account's bookmark node: what ``server`` holds is what a read returns;
    a read waits while ``hold`` is clear; resumes the stream when ``resume`` is set."""

    def __init__(self, listener: ConnectionListener, rig: Rig) -> None:
        super().__init__(listener)
        self.bookmarks = rig.server
        self._rig = rig

    async def connect(self) -> None:
        self.listener.on_session_started(self._rig.resume)

    async def fetch_bookmarks(self) -> list[Bookmark]:
        self._rig.reads += 1
        self._rig.happened.set()
        snapshot = list(self.bookmarks.values())
        await self._rig.hold.wait()
        return snapshot


class Rig:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.server: dict[str, Bookmark] = {}
        self.hold = asyncio.Event()
        self.hold.set()
        self.resume = False
        self.reads = 0
        self.events: list[Event] = []
        #: Set on every event and every read: what a test waits on.
        self.happened = asyncio.Event()
        self.made: list[BookmarkServer] = []
        self.cores: list[ChinwagCore] = []

    def core(self) -> ChinwagCore:
        def connect(
            config: AccountConfig, password: str, listener: ConnectionListener, **_: bool
        ) -> BookmarkServer:
            self.made.append(BookmarkServer(listener, self))
            return self.made[-1]

        core = ChinwagCore(
            SqliteMessageStore.open(self.root / "history.sqlite3"),
            FakeSecrets({ME: "secret"}),
            FakeConfig([AccountConfig(jid=ME)]),
            connect,
            timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
        )
        core.bus.subscribe_all(self._record)
        self.cores.append(core)
        return core

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self.happened.set()

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                self.happened.clear()
                await self.happened.wait()

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    async def synced(self, count: int = 1) -> BookmarksSynced:
        await self.until(lambda: len(self.of(BookmarksSynced)) >= count)
        event = self.of(BookmarksSynced)[count - 1]
        assert isinstance(event, BookmarksSynced)
        return event


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    made = Rig(tmp_path)
    try:
        yield made
    finally:
        for core in made.cores:
            await core.shutdown()


def mark(room: str, **fields: object) -> Bookmark:
    return Bookmark(account=ME, room=room, **fields)  # type: ignore[arg-type]


async def test_the_list_read_after_sign_in_is_kept_and_its_autojoin_rooms_announced(
    rig: Rig,
) -> None:
    rig.server[ROOM] = mark(ROOM, name="Room", nick="me", autojoin=True, extensions=EXT)
    rig.server[OTHER] = mark(OTHER, password="pw")
    core = rig.core()
    assert core.bookmarks.list(ME) == []

    await core.sign_in(ME)
    synced = await rig.synced()

    assert synced.autojoin == (rig.server[ROOM],)
    assert core.bookmarks.list(ME) == [rig.server[OTHER], rig.server[ROOM]]
    assert core.bookmarks.autojoin(ME) == [rig.server[ROOM]]
    assert len(rig.of(BookmarksChanged)) == 1
    await core.bookmarks.drain()
    assert core.store.load_bookmarks(ME) == [rig.server[OTHER], rig.server[ROOM]]


async def test_the_cached_list_shows_before_sign_in(rig: Rig) -> None:
    rig.server[ROOM] = mark(ROOM, name="Room", autojoin=True, extensions=EXT)
    first = rig.core()
    await first.sign_in(ME)
    await rig.synced()
    await first.shutdown()
    rig.cores.remove(first)

    again = rig.core()  # not signed in

    assert again.bookmarks.list(ME) == [rig.server[ROOM]]


async def test_a_resumed_session_does_not_read_the_list_again(rig: Rig) -> None:
    core = rig.core()
    await core.sign_in(ME)
    await rig.synced()
    session = core.sessions[ME]
    rig.resume = True
    session.on_disconnected(None)
    session.on_session_started(True)

    assert rig.reads == 1
    assert len(rig.of(BookmarksSynced)) == 1


async def test_pushes_change_and_remove_bookmarks_and_unchanged_ones_say_nothing(
    rig: Rig,
) -> None:
    rig.server[ROOM] = mark(ROOM, name="Room")
    core = rig.core()
    await core.sign_in(ME)
    await rig.synced()
    listener = rig.made[-1].listener
    changes = len(rig.of(BookmarksChanged))

    listener.on_bookmarks([mark(ROOM, name="Room")], [], False)  # as it is: nothing new
    assert len(rig.of(BookmarksChanged)) == changes

    listener.on_bookmarks([mark(OTHER, name="Other", autojoin=True)], [ROOM], False)
    assert len(rig.of(BookmarksChanged)) == changes + 1
    assert core.bookmarks.list(ME) == [mark(OTHER, name="Other", autojoin=True)]

    listener.on_bookmarks([], [], True)  # the node was purged
    assert core.bookmarks.list(ME) == []
    await core.bookmarks.drain()
    assert core.store.load_bookmarks(ME) == []


async def test_a_push_during_the_read_is_applied_over_what_the_read_returns(rig: Rig) -> None:
    rig.server[ROOM] = mark(ROOM, name="old name")
    rig.server[OTHER] = mark(OTHER)
    rig.hold.clear()
    core = rig.core()
    await core.sign_in(ME)
    await rig.until(lambda: rig.reads > 0)
    # Another device renames one and removes the other; the read had the list before.
    rig.made[-1].listener.on_bookmarks([mark(ROOM, name="new name")], [OTHER], False)
    rig.hold.set()
    await rig.synced()

    assert core.bookmarks.list(ME) == [mark(ROOM, name="new name")]
    await core.bookmarks.drain()
    assert core.store.load_bookmarks(ME) == [mark(ROOM, name="new name")]


async def test_add_update_and_remove_go_to_the_server_then_are_kept(rig: Rig) -> None:
    rig.server[ROOM] = mark(ROOM, name="Room", extensions=EXT)
    core = rig.core()
    await core.sign_in(ME)
    await rig.synced()

    added = await core.bookmarks.add(ME, "New@Conference.Localhost", nick="me", autojoin=True)
    assert added == mark("new@conference.localhost", nick="me", autojoin=True)
    assert rig.server[added.room] == added

    # Rewriting one keeps what another client put in its extensions.
    renamed = await core.bookmarks.add(ME, ROOM, name="Renamed")
    assert rig.server[ROOM].extensions == EXT == renamed.extensions
    updated = await core.bookmarks.update(replace(renamed, password="pw"))
    assert rig.server[ROOM] == updated

    await core.bookmarks.remove(ME, added.room)
    assert added.room not in rig.server
    assert core.bookmarks.list(ME) == [updated]
    await core.bookmarks.drain()
    assert core.store.load_bookmarks(ME) == [updated]


async def test_changes_need_a_connection_and_a_room_address(rig: Rig) -> None:
    core = rig.core()
    with pytest.raises(NotConnected):
        await core.bookmarks.add(ME, ROOM)
    await core.sign_in(ME)
    await rig.synced()
    for bad in ("conference.localhost", "room@conference.localhost/nick", "not an address"):
        with pytest.raises(InvalidAddress):
            await core.bookmarks.add(ME, bad)
    assert rig.server == {}
