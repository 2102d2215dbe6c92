"""Group chat rooms (XEP-0045), as the core knows them: which rooms each account is in
(or wants to be in), who is there with which role and affiliation, the subject, and the
room's messages, whose author is the occupant's real address or occupant id, never the
nick (conversations-api.md section 1, authorship).

Rooms are found through service discovery: :meth:`RoomService.conference_service` is the
server's group chat service, :meth:`RoomService.list_rooms` pages through its public
rooms (XEP-0059), :meth:`RoomService.search_rooms` filters them by name or address.

A room can forget us without telling (its service restarted, a presence lost): a room we
are in that has been silent for :data:`SELF_PING_INTERVAL` is pinged at our own occupant
address (XEP-0410, one loop for every room); an answer saying we are not in makes us
join again.

A room is joined with :meth:`RoomService.join`; the answer is the room's presence about
us (status 110) or its error. A room we are in is joined again after a new session (a
resumed stream keeps it), and once it is joined our messages queued for it go out.
Room messages go through the inbound pipeline like any other: the :class:`RoomMessages`
stage lets through those of rooms we are in, makes our own reflected messages ours
(the store then takes the room's stanza id for them), and names each other's author."""

from __future__ import annotations

import asyncio
import bisect
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chinwag.core import jid as jids
from chinwag.core.errors import (
    ChinwagError,
    InvalidAddress,
    NotConnected,
    RequestRefused,
    RoomRefused,
)
from chinwag.core.events import (
    BookmarksSynced,
    EventBus,
    OccupantChanged,
    OwnNickChanged,
    RoomJoined,
    RoomLeft,
    RoomSubjectChanged,
)
from chinwag.core.inbound import FILTER, Batch
from chinwag.core.models import (
    STATUS_BANNED,
    STATUS_CREATED,
    STATUS_KICKED,
    STATUS_NICK_CHANGED,
    STATUS_REMOVED_AFFILIATION,
    STATUS_REMOVED_MEMBERS_ONLY,
    Affiliation,
    ConversationKind,
    Direction,
    DiscoInfo,
    DiscoItem,
    MessageState,
    Occupant,
    Role,
    RoomListing,
    RoomListPage,
    RoomPresence,
    RoomState,
)
from chinwag.core.ports import XmppConnection
from chinwag.core.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: How long a join may wait for the room's answer.
JOIN_TIMEOUT = 30.0
#: Nicks tried after a conflict: the wanted one with these appended.
NICK_SUFFIXES = ("_", "__", "_2", "_3")
#: The longest nick we ask for.
MAX_NICK_CHARS = 256
#: The longest subject we set.
MAX_SUBJECT_CHARS = 16_384
#: What a room made by our join is (conversations-api.md section 1: persistent and
#: non-anonymous); :meth:`RoomService.join` may add to it.
NEW_ROOM_CONFIG: dict[str, str] = {
    "muc#roomconfig_persistentroom": "1",
    "muc#roomconfig_whois": "anyone",
}

#: A room we are in, silent this long (seconds), is pinged at our occupant address.
SELF_PING_INTERVAL = 300.0
#: Self-ping answers (XEP-0410 3.2) saying we are still in: success, a room that passes
#: pings on to the occupant's client and that client does not answer them, and
#: item-not-found (we are in, under a nick another of our clients changed).
_STILL_IN = frozenset(("", "service-unavailable", "feature-not-implemented", "item-not-found"))
#: ... and those that say nothing (the room's service or server is not reachable): the
#: room is kept as it is and pinged again later. Any other error: we are not in.
_NO_ANSWER = frozenset(("timeout", "remote-server-not-found", "remote-server-timeout"))
#: The most rooms of a page listed, and the most disco#info requests for room details
#: in flight at once (a service with 1,000 rooms is not asked about all of them at once).
MAX_LIST_LIMIT = 200
MAX_DETAIL_QUERIES = 8
#: The most items of the server whose disco#info is asked for its group chat service.
MAX_SERVICE_CANDIDATES = 50
#: The most pages a search reads (of :data:`MAX_LIST_LIMIT` rooms).
MAX_SEARCH_PAGES = 50
NS_ROOMINFO = "http://jabber.org/protocol/muc#roominfo"


class SelfPing(enum.Enum):
    """What a self-ping found out (:meth:`RoomService.self_ping`)."""

    #: The room still has us.
    IN = "in"
    #: The room had forgotten us: we are joining it again.
    REJOINING = "rejoining"
    #: No answer (or one saying nothing): the room is kept as it is, pinged again later.
    NO_ANSWER = "no answer"
    #: We are not in that room (or not signed in): nothing was sent.
    NOT_IN = "not in"


#: Why we are no longer in a room, from the status codes of our last presence there.
_LEFT_BECAUSE = (
    (STATUS_BANNED, "banned"),
    (STATUS_KICKED, "kicked"),
    (STATUS_REMOVED_AFFILIATION, "removed (affiliation changed)"),
    (STATUS_REMOVED_MEMBERS_ONLY, "removed (the room is members-only now)"),
)
#: Why we are out of a room for now (its service shut down, or the server is going
#: down): entered again with the next session.
GONE_FOR_NOW = "the room's service went away; entering again once it is back"


@dataclass(eq=False)
class Room:
    """One room of one account: its state, our nick, the subject, and who is there
    (by nick). Held by the service; read it, do not change it."""

    account: str
    jid: str
    nick: str
    password: str = ""
    state: RoomState = RoomState.JOINING
    subject: str = ""
    subject_by: str = ""
    occupants: dict[str, Occupant] = field(default_factory=dict)
    #: Our own place there (role, affiliation) once joined.
    me: Occupant | None = None
    #: The room was made by our join (status 201): it may want configuring.
    created: bool = False
    #: Why we left (a kick, a ban, the room destroyed, an error); "" : on purpose or not yet.
    reason: str = ""
    #: The answer to a join waiting for it.
    waiting: asyncio.Future[Room] | None = None
    #: The nick a conflict made us try, counting from the one wanted.
    tries: int = 0
    #: The configuration a room our join makes gets (muc#roomconfig fields).
    config: dict[str, str] = field(default_factory=dict)
    #: Our join made the room and we are configuring it: not in yet.
    configuring: bool = False
    #: The answer to a nick change waiting for it.
    renaming: asyncio.Future[None] | None = None
    #: When the room last said something to us (time.monotonic()): the self-ping clock.
    heard: float = 0.0

    @property
    def joined(self) -> bool:
        return self.state is RoomState.JOINED


class RoomService:
    """The rooms of every account (see the module)."""

    def __init__(
        self,
        bus: EventBus,
        connection: Callable[[str], XmppConnection | None],
        *,
        flush: Callable[[str, str], None] = lambda _account, _room: None,
        timeout: float = JOIN_TIMEOUT,
        default_nick: Callable[[str], str] = lambda account: account.partition("@")[0],
        self_ping_interval: float = SELF_PING_INTERVAL,
    ) -> None:
        self._bus = bus
        self._connection = connection
        self._default_nick = default_nick
        bus.subscribe(BookmarksSynced, self._autojoin)
        #: Called once a room is joined: our messages queued for it go out then.
        self._flush = flush
        self._timeout = timeout
        self._rooms: dict[tuple[str, str], Room] = {}
        self._tasks = BackgroundTasks("room task")
        #: Leaves asked whose answer has not come: (account, room) -> how many.
        self._leaving: dict[tuple[str, str], int] = {}
        self._self_ping_interval = self_ping_interval
        #: The one loop pinging silent rooms (running while some room is joined).
        self._pinger: asyncio.Task[None] | None = None
        #: Each account's group chat service, found once a session (None: it has none).
        self._services: dict[str, str | None] = {}
        #: Addresses found to be rooms or not by disco#info, this session.
        self._is_room: dict[tuple[str, str], bool] = {}
        #: The whole room list of a service that does not page (XEP-0059), by address,
        #: read for a listing's first page and paged from here for the next ones.
        self._listings: dict[tuple[str, str], tuple[DiscoItem, ...]] = {}

    # -- reading ------------------------------------------------------------------------

    def room(self, account: str, room: str) -> Room | None:
        return self._rooms.get((account, room))

    def rooms(self, account: str) -> list[Room]:
        return [r for (a, _), r in self._rooms.items() if a == account]

    def default_nick(self, account: str) -> str:
        """The nick to enter a room with when none is given (the account's nickname)."""
        return self._default_nick(account)

    def is_joined(self, account: str, room: str) -> bool:
        found = self._rooms.get((account, room))
        return found is not None and found.joined

    def is_present(self, account: str, room: str, jid: str) -> bool:
        """Someone with the real address ``jid`` is in the room now (under any nick)."""
        found = self._rooms.get((account, room))
        return found is not None and any(o.jid == jid for o in found.occupants.values())

    # -- joining and leaving ------------------------------------------------------------

    async def join(
        self,
        account: str,
        room: str,
        nick: str,
        password: str = "",
        config: dict[str, str] | None = None,
    ) -> Room:
        """Enter ``room`` as ``nick`` (another nick if that one is taken: ``nick_``, ...);
        returns the room once the room has let us in. Raises :class:`RoomRefused` with
        the room's condition (or "timeout"), :class:`InvalidAddress` for a malformed
        address or nick, :class:`NotConnected` when the account is not online. A room
        that does not exist is made (where the service lets us) and configured with
        :data:`NEW_ROOM_CONFIG` and ``config``."""
        room = jids.room_address(room)
        nick = nick.strip()
        if not nick or len(nick) > MAX_NICK_CHARS:
            raise InvalidAddress(f"not a nick: {nick[:40]!r}")
        conn = self._online(account)
        found = self._rooms.get((account, room))
        if found is not None and found.joined:
            return found
        if found is None or found.state in (RoomState.LEFT, RoomState.FAILED):
            found = self._rooms[(account, room)] = Room(account, room, nick, password)
        else:  # joining already: ask again with what is given now
            found.nick, found.password = nick, password
        found.config = dict(config or {})
        found.state, found.reason, found.tries, found.created = RoomState.JOINING, "", 0, False
        loop = asyncio.get_running_loop()
        if found.waiting is None or found.waiting.done():
            found.waiting = loop.create_future()
        waiting = found.waiting
        conn.join_room(room, nick, password)
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(waiting)
        except TimeoutError:
            if found.state is RoomState.JOINING:
                found.state, found.reason = RoomState.FAILED, "no answer"
                self._bus.publish(RoomLeft(account, room, "no answer"))
            raise RoomRefused(f"{room} did not answer", "timeout") from None

    async def leave(self, account: str, room: str, status: str = "") -> None:
        """Leave ``room`` (nothing happens for a room we are not in)."""
        found = self._rooms.get((account, jids.room_address(room)))
        if found is None or found.state in (RoomState.LEFT, RoomState.FAILED):
            return
        conn = self._connection(account)
        if conn is not None:
            conn.leave_room(found.jid, found.nick, status)
            # The room's answer (our unavailable presence) may come after we ask to
            # enter again: it is the end of that visit, not of the next.
            self._leaving[account, found.jid] = self._leaving.get((account, found.jid), 0) + 1
        self._gone(found, "")

    def set_subject(self, account: str, room: str, subject: str) -> None:
        found, conn = self._inside(account, room)
        conn.set_room_subject(found.jid, subject[:MAX_SUBJECT_CHARS])

    async def change_nick(self, account: str, room: str, nick: str) -> Room:
        """Be ``nick`` in ``room`` from now on; raises :class:`RoomRefused` (``conflict``:
        taken) and leaves the old nick as it was."""
        found, conn = self._inside(account, room)
        nick = nick.strip()
        if not nick or len(nick) > MAX_NICK_CHARS:
            raise InvalidAddress(f"not a nick: {nick[:40]!r}")
        if nick == found.nick:
            return found
        waiting = found.renaming = asyncio.get_running_loop().create_future()
        conn.change_nick(found.jid, nick)
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(waiting)
        except TimeoutError:
            raise RoomRefused(f"{found.jid} did not answer", "timeout") from None
        finally:
            found.renaming = None
        return found

    async def set_role(
        self, account: str, room: str, nick: str, role: Role, reason: str = ""
    ) -> None:
        """Kick (``Role.NONE``), grant or revoke voice, make or unmake a moderator;
        :class:`RoomRefused` names what the room said (``not-allowed``: we may not)."""
        found, conn = self._inside(account, room)
        await self._refused_as_room(conn.set_room_role(found.jid, nick, role.value, reason))

    async def set_affiliation(
        self, account: str, room: str, jid: str, affiliation: Affiliation, reason: str = ""
    ) -> None:
        """Ban (``Affiliation.OUTCAST``), grant or revoke membership, admin, ownership."""
        found, conn = self._inside(account, room)
        address = jids.bare(jid)
        await self._refused_as_room(
            conn.set_room_affiliation(found.jid, address, affiliation.value, reason)
        )

    async def configure(
        self, account: str, room: str, fields: Mapping[str, str | Sequence[str]]
    ) -> None:
        """Submit the owner configuration form of a room we are in with ``fields``
        (muc#roomconfig_...; the room keeps what is not given). :class:`RoomRefused`
        (``forbidden``: we are no owner) names what the room said."""
        found, conn = self._inside(account, room)
        if not fields:
            return  # (an empty form would be a new room's "accept the defaults")
        await self._refused_as_room(conn.configure_room(found.jid, fields))

    async def affiliations(self, account: str, room: str, affiliation: Affiliation) -> list[str]:
        """The bare addresses the room gives ``affiliation`` (its member, admin, owner
        or outcast list), as the room answers now; :class:`RoomRefused` when it will not
        tell us."""
        found, conn = self._inside(account, room)
        request = conn.room_affiliations(found.jid, affiliation.value)
        try:
            return await request
        except RoomRefused:
            raise
        except RequestRefused as exc:
            raise RoomRefused(str(exc), exc.condition) from exc

    async def destroy(self, account: str, room: str, reason: str = "") -> None:
        """Destroy the room (owners only); we leave it with everyone else."""
        found, conn = self._inside(account, room)
        await self._refused_as_room(conn.destroy_room(found.jid, reason))

    def _inside(self, account: str, room: str) -> tuple[Room, XmppConnection]:
        found = self._rooms.get((account, jids.room_address(room)))
        conn = self._connection(account)
        if found is None or not found.joined or conn is None:
            raise NotConnected(f"not in {room}")
        return found, conn

    @staticmethod
    async def _refused_as_room(request: Awaitable[None]) -> None:
        try:
            await request
        except RoomRefused:
            raise
        except RequestRefused as exc:
            raise RoomRefused(str(exc), exc.condition) from exc

    def _autojoin(self, event: BookmarksSynced) -> None:
        """The bookmarks marked autojoin, read after a new session: join those we are not
        in nor joining already (a refusal is told as RoomLeft, with why)."""
        for bookmark in event.autojoin:
            found = self._rooms.get((event.account, bookmark.room))
            if found is not None and found.state in (RoomState.JOINED, RoomState.JOINING):
                continue
            nick = bookmark.nick or self._default_nick(event.account)
            self._tasks.spawn(
                self._join_quietly(event.account, bookmark.room, nick, bookmark.password)
            )

    async def _join_quietly(self, account: str, room: str, nick: str, password: str) -> None:
        try:
            await self.join(account, room, nick, password)
        except (RoomRefused, InvalidAddress, NotConnected) as exc:
            log.info("%s: bookmarked room %s not joined: %s", account, room, exc)

    # -- finding rooms ------------------------------------------------------------------

    async def conference_service(self, account: str) -> str | None:
        """The address of the group chat service of ``account``'s server: the first of
        the server's disco#items whose disco#info has the identity conference/text
        (None: the server has none). Found once a session. Raises :class:`NotConnected`,
        and :class:`RequestRefused` when the server does not list its items."""
        if account in self._services:
            return self._services[account]
        conn = self._online(account)
        items = await conn.disco_items(jids.bare(account).partition("@")[2])
        candidates = [item.jid for item in items.items if not item.node]
        infos = await asyncio.gather(
            *(self._info(conn, jid) for jid in candidates[:MAX_SERVICE_CANDIDATES])
        )
        found = next(
            (info.jid for info in infos if info is not None and _is_conference(info)), None
        )
        if self._connection(account) is conn:  # (the answer of this session)
            self._services[account] = found
        return found

    async def is_room(self, account: str, address: str) -> bool:
        """Whether ``address`` is a room: one we know (are in, joining, or have been),
        else what its disco#info says (identity conference/text), or for an address
        that does not answer (a room not made yet), its service's; asked once a
        session. False when it cannot be asked or nothing answers."""
        address = jids.bare(address)
        if (account, address) in self._rooms:
            return True
        known = self._is_room.get((account, address))
        if known is not None:
            return known
        conn = self._connection(account)
        if conn is None:
            return False
        info = await self._info(conn, address)
        if info is not None:
            answer = _is_conference(info)
        elif "@" in address:  # no such room yet: is it on a group chat service?
            domain = address.partition("@")[2]
            answer = await self.is_room(account, domain)
        else:
            answer = False
        if self._connection(account) is conn:
            self._is_room[(account, address)] = answer
        return answer

    async def list_rooms(
        self,
        account: str,
        service: str,
        after: str = "",
        limit: int = 50,
        *,
        details: bool = True,
    ) -> RoomListPage:
        """A page of ``service``'s public rooms (at most ``limit``, up to
        :data:`MAX_LIST_LIMIT`) after the page whose ``last`` is ``after`` ("" : the
        first page), with their names and, ``details``, how many are in each (see
        :meth:`room_details`). A service that pages (XEP-0059) is asked for the page; one
        that sends every room at once is read once, for the first page, and paged here
        (rooms by address). Raises :class:`NotConnected`, :class:`RequestRefused`."""
        conn = self._online(account)
        service = jids.bare(service)
        limit = max(1, min(limit, MAX_LIST_LIMIT))
        key = (account, service)
        whole = self._listings.get(key) if after else None
        if whole is None:
            page = await conn.disco_items(service, limit, after)
            if page.paged:
                items = page.items[:limit]
                last = (page.last or items[-1].jid) if len(items) == limit else ""
                listings = [RoomListing(i.jid, i.name) for i in items]
                if details:
                    listings = await self.room_details(account, listings)
                return RoomListPage(tuple(listings), last, page.total)
            by_address = {item.jid: item for item in page.items}
            whole = self._listings[key] = tuple(by_address[a] for a in sorted(by_address))
        start = bisect.bisect_right([item.jid for item in whole], after) if after else 0
        items = whole[start : start + limit]
        last = items[-1].jid if items and start + limit < len(whole) else ""
        listings = [RoomListing(i.jid, i.name) for i in items]
        if details:
            listings = await self.room_details(account, listings)
        return RoomListPage(tuple(listings), last, len(whole))

    async def room_details(self, account: str, rooms: Sequence[RoomListing]) -> list[RoomListing]:
        """``rooms`` with how many are in each, its description, and its name where the
        listing gave none, from each room's disco#info (muc#roominfo, XEP-0045 6.4): at
        most :data:`MAX_DETAIL_QUERIES` asked at once, the first :data:`MAX_LIST_LIMIT`
        rooms only. A room that does not answer, or does not say, is left as it was."""
        conn = self._online(account)
        limit = asyncio.Semaphore(MAX_DETAIL_QUERIES)

        async def detailed(listing: RoomListing) -> RoomListing:
            async with limit:
                info = await self._info(conn, listing.jid)
            if info is None:
                return listing
            count = info.form_value(NS_ROOMINFO, "muc#roominfo_occupants").strip()
            name = listing.name or next(
                (i.name for i in info.identities if i.category == "conference"), ""
            )
            return replace(
                listing,
                name=name,
                occupants=int(count) if count.isdigit() and len(count) < 10 else None,
                description=info.form_value(NS_ROOMINFO, "muc#roominfo_description"),
            )

        asked = await asyncio.gather(*(detailed(r) for r in rooms[:MAX_LIST_LIMIT]))
        return [*asked, *rooms[MAX_LIST_LIMIT:]]

    async def search_rooms(
        self, account: str, service: str, text: str, limit: int = 50, *, details: bool = True
    ) -> list[RoomListing]:
        """The first ``limit`` public rooms of ``service`` whose name or address holds
        ``text`` (case ignored), read page by page (at most :data:`MAX_SEARCH_PAGES`).
        The rooms are filtered here: Prosody offers no search form for its rooms."""
        needle = text.strip().casefold()
        found: list[RoomListing] = []
        after = ""
        for _ in range(MAX_SEARCH_PAGES):
            page = await self.list_rooms(account, service, after, MAX_LIST_LIMIT, details=False)
            found.extend(
                r
                for r in page.rooms
                if needle in r.name.casefold() or needle in r.jid.partition("@")[0].casefold()
            )
            after = page.last
            if len(found) >= limit or not after:
                break
        found = found[: max(0, limit)]
        return await self.room_details(account, found) if details else found

    def _online(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn

    @staticmethod
    async def _info(conn: XmppConnection, jid: str) -> DiscoInfo | None:
        try:
            return await conn.disco_info(jid)
        except ChinwagError as exc:
            log.info("%s did not tell what it is: %s", jid, exc)
            return None

    # -- are we still in? (XEP-0410) ----------------------------------------------------

    @property
    def self_ping_interval(self) -> float:
        """How long a room we are in may be silent before we ping ourselves there."""
        return self._self_ping_interval

    @self_ping_interval.setter
    def self_ping_interval(self, seconds: float) -> None:
        self._self_ping_interval = seconds
        if self._pinger is not None:  # (it may be waiting on the old interval)
            self._pinger.cancel()
            self._pinger = None
        self._start_pinger()

    def heard_from(self, account: str, room: str) -> None:
        """The room said something to us (a message, a presence): it still has us."""
        found = self._rooms.get((account, room))
        if found is not None:
            found.heard = time.monotonic()

    async def self_ping(self, account: str, room: str) -> SelfPing:
        """Ping our own occupant address in ``room`` now (XEP-0410) and act on the answer:
        a room that no longer has us is joined again (as after a new session); one that
        does not answer is kept as it is. The loop does this for every room silent for
        :attr:`self_ping_interval`."""
        found = self._rooms.get((account, jids.room_address(room)))
        conn = self._connection(account)
        if found is None or not found.joined or conn is None:
            return SelfPing.NOT_IN
        nick = found.nick
        try:
            answer = await conn.ping_occupant(found.jid, nick)
        except ChinwagError as exc:
            answer = "timeout"
            log.info("%s: self-ping in %s not sent: %s", account, found.jid, exc)
        found.heard = time.monotonic()
        if not found.joined or found.nick != nick or self._connection(account) is not conn:
            # (we left, changed nick or lost the session meanwhile: the answer is old)
            return SelfPing.IN if found.joined else SelfPing.NOT_IN
        if answer in _STILL_IN:
            return SelfPing.IN
        if answer in _NO_ANSWER:
            log.info("%s: %s did not answer a self-ping (%s)", account, found.jid, answer)
            return SelfPing.NO_ANSWER
        log.info("%s: %s no longer has us (%s): joining again", account, found.jid, answer)
        self._rejoin(found, conn)
        return SelfPing.REJOINING

    def _start_pinger(self) -> None:
        if self._pinger is not None and not self._pinger.done():
            return
        if not any(r.joined for r in self._rooms.values()):
            return
        self._pinger = asyncio.get_running_loop().create_task(
            self._ping_silent_rooms(), name="room self-ping"
        )

    def _stop_pinger(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    async def _ping_silent_rooms(self) -> None:
        """The one loop of every account's rooms: sleeps until the first room we are in
        has been silent for the interval, pings those that have, and ends when we are
        in no room (it starts again with the next room joined)."""
        while True:
            interval, now = self._self_ping_interval, time.monotonic()
            joined = [r for r in self._rooms.values() if r.joined]
            if not joined:
                self._pinger = None
                return
            due = []
            for found in joined:
                if now - found.heard < interval:
                    continue
                if found.renaming is not None:  # (XEP-0410: not while changing nick)
                    found.heard = now
                    continue
                due.append(found)
            if due:
                outcomes = await asyncio.gather(
                    *(self.self_ping(r.account, r.jid) for r in due), return_exceptions=True
                )
                for outcome in outcomes:
                    if isinstance(outcome, Exception):
                        log.error("room self-ping failed", exc_info=outcome)
                continue
            await asyncio.sleep(max(0.0, min(r.heard for r in joined) + interval - now))

    # -- what the connection tells ------------------------------------------------------

    def on_online(self, account: str, conn: XmppConnection, resumed: bool) -> None:
        """A new session is not in any room: join again those we were in or joining
        (a resumed one still is)."""
        if resumed:
            return
        self._services.pop(account, None)
        for key in [k for k in self._listings if k[0] == account]:
            del self._listings[key]
        for address in [k for k in self._is_room if k[0] == account]:
            del self._is_room[address]
        for found in self.rooms(account):
            if found.state in (RoomState.JOINED, RoomState.JOINING):
                self._rejoin(found, conn)

    @staticmethod
    def _rejoin(found: Room, conn: XmppConnection) -> None:
        """Ask to enter a room again that no longer has us (a new session, a room that
        dropped us), as we were."""
        found.state, found.tries, found.created, found.reason = RoomState.JOINING, 0, False, ""
        found.occupants.clear()
        conn.join_room(found.jid, found.nick, found.password)

    def on_offline(self, account: str) -> None:
        for found in self.rooms(account):
            if found.state is RoomState.JOINED:
                found.state = RoomState.JOINING  # (joined again once online)
        if not any(r.joined for r in self._rooms.values()):
            self._stop_pinger()

    def on_room_presence(self, account: str, presence: RoomPresence) -> None:
        found = self._rooms.get((account, presence.room))
        if found is None or found.state in (RoomState.LEFT, RoomState.FAILED):
            if presence.own and not presence.available:
                self._leaving.pop((account, presence.room), None)  # (the answer came)
            return  # not a room we are in (a late presence after leaving)
        found.heard = time.monotonic()
        if presence.own or (presence.nick == found.nick and not found.joined):
            self._own_presence(found, presence)
            return
        self._occupant_presence(found, presence)

    def on_room_error(self, account: str, room: str, condition: str, text: str) -> None:
        found = self._rooms.get((account, room))
        if found is not None and found.renaming is not None and not found.renaming.done():
            found.renaming.set_exception(
                RoomRefused(f"{room}: {_refusal(condition, text)}", condition)
            )
            return
        if found is None or found.state is not RoomState.JOINING:
            return
        conn = self._connection(account)
        if condition == "conflict" and conn is not None and found.tries < len(NICK_SUFFIXES):
            base = found.nick[: -len(NICK_SUFFIXES[found.tries - 1])] if found.tries else found.nick
            found.nick = base + NICK_SUFFIXES[found.tries]
            found.tries += 1
            conn.join_room(found.jid, found.nick, found.password)
            return
        found.state = RoomState.FAILED
        found.reason = _refusal(condition, text)
        self._bus.publish(RoomLeft(account, room, found.reason))
        if found.waiting is not None and not found.waiting.done():
            found.waiting.set_exception(RoomRefused(f"{room}: {found.reason}", condition))
            found.waiting.exception()  # (retrieved: a join that timed out is not told)

    def on_room_subject(self, account: str, room: str, subject: str, nick: str) -> None:
        found = self._rooms.get((account, room))
        if found is None or found.state in (RoomState.LEFT, RoomState.FAILED):
            return
        found.heard = time.monotonic()
        if (found.subject, found.subject_by) == (subject, nick):
            return
        found.subject, found.subject_by = subject, nick
        self._bus.publish(RoomSubjectChanged(account, room, subject, nick))

    # -- inside -------------------------------------------------------------------------

    def _own_presence(self, found: Room, presence: RoomPresence) -> None:
        key = (found.account, found.jid)
        if not presence.available and self._leaving.get(key):
            self._leaving[key] -= 1
            if not self._leaving[key]:
                del self._leaving[key]
            return  # the answer to a leave we asked for
        if not presence.available:
            if STATUS_NICK_CHANGED in presence.codes and presence.new_nick:
                return  # (our presence under the new nick follows)
            why = next((w for code, w in _LEFT_BECAUSE if code in presence.codes), "")
            if why:
                self._gone(found, f"{why}: {presence.reason}" if presence.reason else why)
            elif presence.destroyed:
                reason = f": {presence.reason}" if presence.reason else ""
                self._gone(found, f"the room was destroyed{reason}")
            else:  # its service shut down (332), or a server going down: not for good
                found.state = RoomState.JOINING
                found.occupants.clear()
                self._bus.publish(RoomLeft(found.account, found.jid, GONE_FOR_NOW))
            return
        renamed = found.joined and presence.nick != found.nick
        found.nick = presence.nick
        found.me = _occupant(presence)
        if renamed:
            self._bus.publish(OwnNickChanged(found.account, found.jid, found.nick))
        if found.renaming is not None and not found.renaming.done():
            found.renaming.set_result(None)
        if found.joined or found.configuring:
            return
        if STATUS_CREATED in presence.codes:
            # Our join made the room, locked until its owner configures it (XEP-0045
            # 10.1): what the spec's group conversations are (persistent, members see
            # each other's address), then in.
            found.created = found.configuring = True
            self._tasks.spawn(self._configure_new(found))
            return
        self._entered(found)

    async def _configure_new(self, found: Room) -> None:
        conn = self._connection(found.account)
        try:
            if conn is None:
                return
            try:
                await conn.configure_room(found.jid, {**NEW_ROOM_CONFIG, **found.config})
            except RequestRefused as exc:  # a service with other fields: its defaults
                log.info("%s: %s kept its default configuration: %s", found.account, found.jid, exc)
                await conn.configure_room(found.jid, {})
        except RequestRefused as exc:
            log.warning("%s: %s could not be configured: %s", found.account, found.jid, exc)
        finally:
            found.configuring = False
        if found.state is RoomState.JOINING:
            self._entered(found)

    def _entered(self, found: Room) -> None:
        found.state = RoomState.JOINED
        found.heard = time.monotonic()
        self._start_pinger()
        self._bus.publish(RoomJoined(found.account, found.jid, found.nick, found.created))
        if found.waiting is not None and not found.waiting.done():
            found.waiting.set_result(found)
        self._flush(found.account, found.jid)

    def _occupant_presence(self, found: Room, presence: RoomPresence) -> None:
        previous = found.occupants.get(presence.nick)
        if not presence.available:
            found.occupants.pop(presence.nick, None)
            if previous is not None:
                renamed = presence.new_nick if STATUS_NICK_CHANGED in presence.codes else ""
                why = next((w for code, w in _LEFT_BECAUSE if code in presence.codes), "")
                if why and presence.reason:
                    why = f"{why}: {presence.reason}"
                self._bus.publish(
                    OccupantChanged(
                        found.account, found.jid, presence.nick, None, previous, renamed, why
                    )
                )
            return
        now = _occupant(presence)
        if now == previous:
            return
        found.occupants[presence.nick] = now
        self._bus.publish(OccupantChanged(found.account, found.jid, presence.nick, now, previous))

    def _gone(self, found: Room, why: str) -> None:
        was = found.state
        found.state, found.reason = RoomState.LEFT, why
        found.occupants.clear()
        if found.waiting is not None and not found.waiting.done():
            found.waiting.set_exception(RoomRefused(f"{found.jid}: {why or 'left'}", "gone"))
            found.waiting.exception()
        if was is not RoomState.LEFT:
            self._bus.publish(RoomLeft(found.account, found.jid, why))

    # -- authorship ---------------------------------------------------------------------

    def author(self, account: str, room: str, nick: str, occupant_id: str) -> str:
        """Who wrote what ``nick`` sent in ``room`` (conversations-api.md section 1): the
        occupant's real bare address where the room tells it, else their occupant id
        (XEP-0421), else, for someone the room says nothing of, the nick's address."""
        found = self._rooms.get((account, room))
        occupant = found.occupants.get(nick) if found is not None else None
        if occupant is not None and occupant.jid:
            return occupant.jid
        if occupant_id:
            return f"occupant-id:{occupant_id}"
        if occupant is not None and occupant.author:
            return occupant.author
        return f"{room}/{nick}"


class RoomMessages:
    """The inbound stage of room messages (it replaces the placeholder that dropped them
    all): a room's message goes on only from a room we are in (or from a page of the
    room's own archive, read while we are out of it: a gap filled); our own, reflected by the
    room, is ours (outgoing, so the store matches it with what we sent and takes the
    room's stanza id); anyone else's is authored by their address or occupant id. A
    moderation (XEP-0425) is the room's own (its author the room, naming the moderator
    by their author); the same element from an occupant is forged: dropped."""

    name = "rooms"
    order = FILTER

    def __init__(self, rooms: RoomService) -> None:
        self._rooms = rooms

    async def run(self, batch: Batch) -> None:
        for item in batch.active():
            message = item.message
            if message.kind is not ConversationKind.GROUPCHAT:
                continue
            room = message.peer
            found = self._rooms.room(message.account, room)
            if found is not None and found.joined:
                self._rooms.heard_from(message.account, room)
                ours = found.nick
            elif batch.page is not None and batch.page.archive == room:
                # The room's own archive, read while we are out of it (a gap filled):
                # the room's word; ours is what we said under the nick we had there.
                ours = (
                    found.nick if found is not None else self._rooms.default_nick(message.account)
                )
            else:
                log.info(
                    "%s: a message from %s, not a room we are in: dropped",
                    message.account,
                    message.sender,
                )
                # Not taken: the room's archive position must not move past it (it
                # was said after we left, or before the room let us in again; the
                # next catch-up reads it).
                item.fail("not in that room")
                continue
            nick = message.sender_resource
            if message.moderated_by:
                if nick:  # XEP-0425: only the room itself moderates
                    log.warning(
                        "%s: %s in %s sent a moderation, as if it were the room: refused",
                        message.account,
                        nick,
                        room,
                    )
                    item.receipt_to = ""
                    item.drop("a forged moderation")
                    continue
                item.receipt_to = ""
                item.message = replace(
                    message,
                    sender=room,
                    moderated_by=self._moderator(message.account, room, ours, message.moderated_by),
                    occupant_id="",
                )
                continue
            if not nick:  # the room itself: nothing else it says is a message
                item.drop("the room's own")
                continue
            if nick == ours:  # ours, reflected (or sent by another of our clients)
                item.receipt_to = ""
                item.message = replace(
                    message,
                    direction=Direction.OUTGOING,
                    sender=message.account,
                    state=MessageState.SENT,
                    occupant_id="",
                )
                continue
            author = self._rooms.author(message.account, message.peer, nick, message.occupant_id)
            item.receipt_to = ""
            item.message = replace(message, sender=author, occupant_id="")

    def _moderator(self, account: str, room: str, ours: str, by: str) -> str:
        """Who moderated, from the occupant address the room gives (``room/nick``): us
        (``ours`` our nick there), else the occupant's author (their real address or
        occupant id), else as given."""
        where, _, nick = by.partition("/")
        if where != room or not nick:
            return by
        if nick == ours:
            return account
        return self._rooms.author(account, room, nick, "")


def _occupant(presence: RoomPresence) -> Occupant:
    return Occupant(
        nick=presence.nick,
        role=presence.role,
        affiliation=presence.affiliation,
        jid=presence.jid,
        occupant_id=presence.occupant_id,
        show=presence.show,
        status=presence.status,
    )


_REFUSALS = {
    "forbidden": "banned from the room",
    "registration-required": "the room is for members only",
    "not-authorized": "the room needs a password (or it was wrong)",
    "item-not-found": "no such room (and it cannot be made by joining)",
    "conflict": "the nick is taken",
    "service-unavailable": "the room is full",
    "not-allowed": "the service does not allow it",
    "not-acceptable": "the nick is not allowed there",
    "jid-malformed": "no nick was given",
    "remote-server-not-found": "the room's server cannot be reached",
}


def _is_conference(info: DiscoInfo) -> bool:
    """A group chat service or room says so by its identity conference/text."""
    return any(i.category == "conference" and i.type == "text" for i in info.identities)


def _refusal(condition: str, text: str) -> str:
    why = _REFUSALS.get(condition, condition)
    return f"{why} ({text})" if text else why
