"""Group chat rooms (XEP-0045), as the core knows them: which rooms each account is in
(or wants to be in), who is there with which role and affiliation, the subject, and the
room's messages, whose author is the occupant's real address or occupant id, never the
nick (conversations-api.md section 1, authorship).

A room is joined with :meth:`RoomService.join`; the answer is the room's presence about
us (status 110) or its error. A room we are in is joined again after a new session (a
resumed stream keeps it), and once it is joined our messages queued for it go out.
Room messages go through the inbound pipeline like any other: the :class:`RoomMessages`
stage lets through those of rooms we are in, makes our own reflected messages ours
(the store then takes the room's stanza id for them), and names each other's author."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from chinwag.core import jid as jids
from chinwag.core.errors import InvalidAddress, NotConnected, RequestRefused, RoomRefused
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
    MessageState,
    Occupant,
    Role,
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

    # -- reading ------------------------------------------------------------------------

    def room(self, account: str, room: str) -> Room | None:
        return self._rooms.get((account, room))

    def rooms(self, account: str) -> list[Room]:
        return [r for (a, _), r in self._rooms.items() if a == account]

    def is_joined(self, account: str, room: str) -> bool:
        found = self._rooms.get((account, room))
        return found is not None and found.joined

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
        room = _room_address(room)
        nick = nick.strip()
        if not nick or len(nick) > MAX_NICK_CHARS:
            raise InvalidAddress(f"not a nick: {nick[:40]!r}")
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
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
        found = self._rooms.get((account, _room_address(room)))
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

    async def destroy(self, account: str, room: str, reason: str = "") -> None:
        """Destroy the room (owners only); we leave it with everyone else."""
        found, conn = self._inside(account, room)
        await self._refused_as_room(conn.destroy_room(found.jid, reason))

    def _inside(self, account: str, room: str) -> tuple[Room, XmppConnection]:
        found = self._rooms.get((account, _room_address(room)))
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

    # -- what the connection tells ------------------------------------------------------

    def on_online(self, account: str, conn: XmppConnection, resumed: bool) -> None:
        """A new session is not in any room: join again those we were in or joining
        (a resumed one still is)."""
        if resumed:
            return
        for found in self.rooms(account):
            if found.state in (RoomState.JOINED, RoomState.JOINING):
                found.state, found.tries, found.created = RoomState.JOINING, 0, False
                found.occupants.clear()
                conn.join_room(found.jid, found.nick, found.password)

    def on_offline(self, account: str) -> None:
        for found in self.rooms(account):
            if found.state is RoomState.JOINED:
                found.state = RoomState.JOINING  # (joined again once online)

    def on_room_presence(self, account: str, presence: RoomPresence) -> None:
        found = self._rooms.get((account, presence.room))
        if found is None or found.state in (RoomState.LEFT, RoomState.FAILED):
            if presence.own and not presence.available:
                self._leaving.pop((account, presence.room), None)  # (the answer came)
            return  # not a room we are in (a late presence after leaving)
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
                self._bus.publish(
                    OccupantChanged(
                        found.account, found.jid, presence.nick, None, previous, renamed
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
    all): a room's message goes on only from a room we are in; our own, reflected by the
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
            found = self._rooms.room(message.account, message.peer)
            if found is None or not found.joined:
                log.info(
                    "%s: a message from %s, not a room we are in: dropped",
                    message.account,
                    message.sender,
                )
                item.drop("not in that room")
                continue
            nick = message.sender_resource
            if message.moderated_by:
                if nick:  # XEP-0425: only the room itself moderates
                    log.warning(
                        "%s: %s in %s sent a moderation, as if it were the room: refused",
                        message.account,
                        nick,
                        found.jid,
                    )
                    item.receipt_to = ""
                    item.drop("a forged moderation")
                    continue
                item.receipt_to = ""
                item.message = replace(
                    message,
                    sender=found.jid,
                    moderated_by=self._moderator(found, message.moderated_by),
                    occupant_id="",
                )
                continue
            if not nick:  # the room itself: nothing else it says is a message
                item.drop("the room's own")
                continue
            if nick == found.nick:  # ours, reflected (or sent by another of our clients)
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

    def _moderator(self, found: Room, by: str) -> str:
        """Who moderated, from the occupant address the room gives (``room/nick``): us,
        else the occupant's author (their real address or occupant id), else as given."""
        room, _, nick = by.partition("/")
        if room != found.jid or not nick:
            return by
        if nick == found.nick:
            return found.account
        return self._rooms.author(found.account, found.jid, nick, "")


def _room_address(room: str) -> str:
    bare = jids.bare(room)  # (InvalidAddress for a malformed one)
    if "@" not in bare or "/" in room.strip():
        raise InvalidAddress(f"not a room's address: {room[:100]!r}")
    return bare


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


def _refusal(condition: str, text: str) -> str:
    why = _REFUSALS.get(condition, condition)
    return f"{why} ({text})" if text else why
