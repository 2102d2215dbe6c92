"""Bookmarks of group chats (XEP-0402; XEP-0048 read for old data): which rooms each
account keeps, under which name, with which nick and password, and which it joins on
sign-in.

The list lives on the server and changes from any of the user's devices; this service
keeps a copy per account (cached in storage, so the contact list shows it before sign-in),
reads it again after each new session, applies the server's pushes, and publishes
:class:`BookmarksChanged`. After a new session's read it publishes :class:`BookmarksSynced`
with the rooms to join: the room core joins them (this service joins nothing)."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, NotConnected
from chinwag.core.events import BookmarksChanged, BookmarksSynced, EventBus
from chinwag.core.models import Bookmark
from chinwag.core.ports import MessageStore, XmppConnection
from chinwag.core.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: A change as the server tells it: (added or changed, rooms removed, ``changed`` is all).
_Change = tuple[tuple[Bookmark, ...], tuple[str, ...], bool]


class BookmarkService:
    """The bookmarks of every account."""

    def __init__(
        self,
        store: MessageStore,
        bus: EventBus,
        connection: Callable[[str], XmppConnection | None],
    ) -> None:
        self._store = store
        self._bus = bus
        self._connection = connection
        self._bookmarks: dict[str, dict[str, Bookmark]] = {}
        #: Per account while the list is being read: the changes that came meanwhile,
        #: applied again over what the read returns (it may predate them).
        self._during_sync: dict[str, list[_Change]] = {}
        self._syncs: dict[str, asyncio.Task[None]] = {}
        self._tasks = BackgroundTasks("bookmark write")

    # -- reading ------------------------------------------------------------------------

    def load_cached(self, account: str) -> None:
        """The bookmarks saved last time, shown before the server sends the list."""
        self._bookmarks[account] = {b.room: b for b in self._store.load_bookmarks(account)}

    def list(self, account: str) -> list[Bookmark]:
        """The account's bookmarks, by room address."""
        return sorted(self._bookmarks.get(account, {}).values(), key=lambda b: b.room)

    def get(self, account: str, room: str) -> Bookmark | None:
        return self._bookmarks.get(account, {}).get(room)

    def autojoin(self, account: str) -> builtins.list[Bookmark]:
        """The bookmarks to join on sign-in, by room address."""
        return [b for b in self.list(account) if b.autojoin]

    # -- changing -----------------------------------------------------------------------

    def _conn(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn

    async def add(
        self,
        account: str,
        room: str,
        *,
        name: str = "",
        nick: str = "",
        password: str = "",
        autojoin: bool = False,
    ) -> Bookmark:
        """Bookmark ``room`` (replacing its bookmark, whose extensions are kept)."""
        address = jids.room_address(room)
        existing = self.get(account, address)
        bookmark = Bookmark(
            account=account,
            room=address,
            name=name,
            nick=nick,
            password=password,
            autojoin=autojoin,
            extensions=existing.extensions if existing is not None else "",
        )
        return await self.update(bookmark)

    async def update(self, bookmark: Bookmark) -> Bookmark:
        """Publish ``bookmark`` as it is (one from :meth:`list` changed with
        :func:`dataclasses.replace` keeps its extensions) and keep it once the server
        has it. Raises :class:`NotConnected`, :class:`RequestRefused`."""
        bookmark = replace(bookmark, room=jids.room_address(bookmark.room))
        await self._conn(bookmark.account).publish_bookmark(bookmark)
        self._change(bookmark.account, (bookmark,), (), False)
        return bookmark

    async def remove(self, account: str, room: str) -> None:
        """Remove the bookmark of ``room`` from the server, then here."""
        address = jids.room_address(room)
        await self._conn(account).retract_bookmark(address)
        self._change(account, (), (address,), False)

    # -- what the session reports -------------------------------------------------------

    def on_online(self, account: str, conn: XmppConnection, resumed: bool) -> None:
        """A new session reads the list again (a resumed stream had the pushes queued)."""
        if resumed:
            return
        self._stop_sync(account)
        self._during_sync[account] = []
        self._syncs[account] = self._tasks.spawn(self._sync(account, conn))

    def on_offline(self, account: str) -> None:
        self._stop_sync(account)

    def on_push(
        self, account: str, changed: Sequence[Bookmark], removed: Sequence[str], full: bool
    ) -> None:
        """Bookmarks changed on the server (another device, or ours coming back)."""
        ours = tuple(replace(b, account=account) if b.account != account else b for b in changed)
        self._change(account, ours, tuple(removed), full)

    def _stop_sync(self, account: str) -> None:
        self._during_sync.pop(account, None)
        task = self._syncs.pop(account, None)
        if task is not None:
            task.cancel()

    async def _sync(self, account: str, conn: XmppConnection) -> None:
        try:
            fetched = await conn.fetch_bookmarks()
        except ChinwagError as exc:
            log.warning("%s: could not read the bookmarks: %s", account, exc.message)
            self._during_sync.pop(account, None)
            return
        finally:
            if self._syncs.get(account) is asyncio.current_task():
                del self._syncs[account]
        fresh = {b.room: replace(b, account=account) for b in fetched}
        for changed, removed, full in self._during_sync.pop(account, []):
            _apply(fresh, changed, removed, full)
        self._replace(account, fresh)
        self._bus.publish(BookmarksSynced(account, tuple(self.autojoin(account))))

    def _change(
        self, account: str, changed: tuple[Bookmark, ...], removed: tuple[str, ...], full: bool
    ) -> None:
        pending = self._during_sync.get(account)
        if pending is not None:
            pending.append((changed, removed, full))
        if full:
            self._replace(account, {b.room: b for b in changed})
            return
        current = self._bookmarks.setdefault(account, {})
        put = [b for b in changed if current.get(b.room) != b]
        gone = [room for room in removed if room in current]
        if not put and not gone:
            return
        _apply(current, put, gone, False)
        if gone:
            self._tasks.spawn(self._store.remove_bookmarks(account, gone))
        if put:
            self._tasks.spawn(self._store.put_bookmarks(account, put))
        self._bus.publish(BookmarksChanged(account))

    def _replace(self, account: str, fresh: dict[str, Bookmark]) -> None:
        if self._bookmarks.get(account) == fresh:
            return
        self._bookmarks[account] = fresh
        self._tasks.spawn(self._store.save_bookmarks(account, list(fresh.values())))
        self._bus.publish(BookmarksChanged(account))

    async def drain(self) -> None:
        """Wait for the bookmark writes under way (at shutdown)."""
        for account in list(self._syncs):
            self._stop_sync(account)
        await self._tasks.drain()


def _apply(
    bookmarks: dict[str, Bookmark],
    changed: Sequence[Bookmark],
    removed: Sequence[str],
    full: bool,
) -> None:
    if full:
        bookmarks.clear()
    for room in removed:
        bookmarks.pop(room, None)
    for bookmark in changed:
        bookmarks[bookmark.room] = bookmark
