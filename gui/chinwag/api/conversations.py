"""The Conversations API's conversations (conversations-api.md sections 3 and 4), for any
front: ``Conversations1``'s conversation members, ``Conversation1``'s properties,
RetransmitEvents and OpenWindow, and the conversation events told to the fronts' sinks.

A conversation is named by its :class:`~chinwag.core.models.ConversationKey` (a front
gives it a path); refusals are :class:`~chinwag.api.messaging_errors.MessagingError`.

Group conversations are rooms; what the room's configuration says (public and open,
custom data and uber in its description: :mod:`chinwag.core.room_meta`) is asked of the
room (disco#info) when the API first meets it, and kept for the properties, which never
wait on the network."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chinwag.api.codes import S_FALSE, S_OK
from chinwag.api.conversation_events import CountingImIds, EventBuilder, EventDict, ImId
from chinwag.api.conversation_ops import (
    MAX_TITLE_CHARS,
    PERMISSIONS,
    ConversationOps,
    ConversationUpdated,
    ParticipantsChanged,
)
from chinwag.api.messaging_errors import MessagingError, from_core
from chinwag.core import jid as jids
from chinwag.core import room_meta
from chinwag.core.conversations import MAX_EVENTS, conversation_uuid
from chinwag.core.errors import ChinwagError, InvalidAddress
from chinwag.core.events import (
    ChatStateChanged,
    ConversationLogged,
    Event,
    MessageAdded,
    MessageEdited,
    MessageIdentified,
    MessageReleased,
    MessageRemoved,
    OnlineSet,
    ReadPositionChanged,
    RoomJoined,
    RoomLeft,
    SubscriptionsChanged,
    UserEdited,
)
from chinwag.core.models import (
    Affiliation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    Direction,
    EventKind,
    MessageState,
    Origin,
    Role,
    direct_uuid,
    room_uuid,
)

if TYPE_CHECKING:
    from chinwag.api.ports import ConversationView
    from chinwag.api.service import Api

log = logging.getLogger(__name__)

#: The most conversations GetConversations takes (error 22 above).
MAX_GET_CONVERSATIONS = 30
#: How long a disco#info of a room may take before the API goes on without it.
ROOM_INFO_TIMEOUT = 10.0
#: How long a bookmark (autojoin on join, off on leave) is waited for.
BOOKMARK_TIMEOUT = 10.0
NS_ROOMINFO = "http://jabber.org/protocol/muc#roominfo"


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What a room's configuration says, as last asked."""

    public: bool = False
    meta: room_meta.RoomMeta = field(default_factory=room_meta.RoomMeta)
    title: str = ""


class ConversationsApi:
    """``Conversations1`` and ``Conversation1`` (see the module)."""

    def __init__(self, api: Api, im_id: ImId | None = None) -> None:
        self._api = api
        self._core = api.core
        self.im_ids: ImId = im_id if im_id is not None else CountingImIds()
        self.builder = EventBuilder(self._core.store, self._im_id)
        #: Conversation1's message and participant operations.
        self.ops = ConversationOps(api)
        self.ops.address_of_im_id = self._core.users.address_of
        self._rooms: dict[ConversationKey, RoomFacts] = {}
        #: Participants named when the conversation was made here (address -> affiliation).
        self._members: dict[ConversationKey, dict[str, Affiliation]] = {}
        handlers: dict[type[Event], Any] = {
            MessageAdded: self._on_added,
            MessageReleased: self._on_released,
            MessageIdentified: self._on_identified,
            MessageEdited: self._on_changed,
            MessageRemoved: self._on_changed,
            ConversationLogged: self._on_logged,
            ReadPositionChanged: self._on_read,
            ChatStateChanged: self._on_chat_state,
            RoomLeft: self._on_room_left,
            RoomJoined: self._on_room_joined,
            UserEdited: self._on_user_edited,
            OnlineSet: self._on_online_set,
            SubscriptionsChanged: self._on_subscriptions,
        }
        bus = self._core.bus
        self._unsubscribe = [bus.subscribe(t, self._guard(h)) for t, h in handlers.items()]

    def _im_id(self, address: str) -> int:
        return self.im_ids(address)

    def set_im_ids(self, im_id: ImId) -> None:
        """The lasting IM ids (the users' part) in place of the counting ones."""
        self.im_ids = im_id

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # -- Conversations1 -----------------------------------------------------------------

    def me(self) -> str:
        return self._core.primary or ""

    def _account(self) -> str:
        account = self._core.primary
        if account is None:
            raise MessagingError(10003, "there is no account: sign in first")
        return account

    def _online_account(self) -> str:
        account = self._account()
        if not self._api.signed_in(account):
            raise MessagingError(10003, self._api.not_signed_in(account))
        return account

    async def create(self, config: dict[str, Any]) -> ConversationKey:
        """CreateConversation: a direct one (the existing one for the pair), or a new
        room (see the module)."""
        account = self._online_account()
        known = {"participants", "title", "direct", "public_join", "uber", "custom_data"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise MessagingError(10001, f"unknown configuration keys: {', '.join(unknown)}")
        title = _typed(config, "title", str, "")
        direct = _typed(config, "direct", bool, False)
        public = _typed(config, "public_join", bool, False)
        uber = _typed(config, "uber", bool, False)
        if len(title) > MAX_TITLE_CHARS:
            raise MessagingError(23, f"the title is longer than {MAX_TITLE_CHARS} characters")
        try:
            data = room_meta.custom_data(_typed(config, "custom_data", str, ""))
        except room_meta.BadCustomData as exc:
            raise MessagingError(10001, str(exc)) from None
        participants = [self._participant(p) for p in _typed(config, "participants", list, [])]
        others = {address: p for address, p in participants if address != account}
        if direct:
            if public or uber:
                raise MessagingError(34, "a direct conversation cannot be public or uber")
            if len(others) != 1:
                raise MessagingError(35, "a direct conversation has exactly one other participant")
            (peer,) = others
            key = ConversationKey(account, peer, ConversationKind.CHAT)
            await self._core.store.ensure_conversation(key)
            return key
        return await self._create_room(account, title, public, uber, data, others)

    def _participant(self, given: Any) -> tuple[str, dict[str, bool]]:
        if not isinstance(given, dict):
            raise MessagingError(10001, "a participant is a dictionary")
        flags = dict(PERMISSIONS)
        for name, value in given.items():
            if name in PERMISSIONS:
                if not isinstance(value, bool):
                    raise MessagingError(10001, f"{name} is a boolean")
                flags[name] = value
            elif name not in ("user", "im_id"):
                raise MessagingError(10001, f"unknown participant key {name!r}")
        if flags["can_edit_all_messages"]:
            raise MessagingError(12, "can_edit_all_messages cannot be given on XMPP")
        return self.user_address(given), flags

    def user_address(self, given: dict[str, Any]) -> str:
        """The bare address of a participant or user given by ``user`` or ``im_id``."""
        if isinstance(given.get("user"), str):
            try:
                return jids.Jid.parse(given["user"]).bare
            except InvalidAddress as exc:
                raise MessagingError(25, f"not a user: {exc.message}") from None
        if isinstance(given.get("im_id"), int):
            lookup = getattr(self.im_ids, "address", None)
            address = lookup(given["im_id"]) if lookup is not None else None
            if address is None:  # the lasting IM ids (the users' part)
                address = self._core.users.address_of(given["im_id"])
            if address is None:
                raise MessagingError(25, f"no user has the IM id {given['im_id']}")
            return str(address)
        raise MessagingError(10001, "a participant names a user (s) or an im_id (x)")

    async def _create_room(
        self,
        account: str,
        title: str,
        public: bool,
        uber: bool,
        data: str,
        others: dict[str, dict[str, bool]],
    ) -> ConversationKey:
        core = self._core
        try:
            service = await core.rooms.conference_service(account)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        if service is None:
            raise MessagingError(30, "the server has no group chat service")
        room = f"chat-{secrets.token_hex(6)}@{service}"
        key = ConversationKey(account, room, ConversationKind.GROUPCHAT)
        meta = room_meta.RoomMeta(data, uber)
        self._rooms[key] = RoomFacts(public, meta, title)
        affiliations = {address: _affiliation(flags) for address, flags in others.items()}
        self._members[key] = {account: Affiliation.OWNER, **affiliations}
        try:
            await core.rooms.join(
                account,
                room,
                core.rooms.default_nick(account),
                config=room_meta.room_config(title, public, meta),
            )
            for address, affiliation in affiliations.items():
                await core.rooms.set_affiliation(account, room, address, affiliation)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        await core.store.ensure_conversation(key, title)  # (once the room is made)
        await self._keep_joining(account, room, True, title)
        for address in affiliations:
            core.invitations.invite(account, room, address)
        if affiliations:
            await core.conversations.log(
                key,
                EventKind.PARTICIPANTS,
                account,
                _json({"action": "addParticipants", "users": sorted(affiliations)}),
            )
        return key

    async def get(self, uuid: str) -> ConversationKey:
        """GetConversation: one this profile knows (is or was in), or a public room."""
        account = self._account()
        key = self._known(account, uuid)
        if key is not None:
            return key
        key = await self._public(account, uuid)
        if key is None:
            raise MessagingError(8, f"no conversation {uuid}")
        return key

    async def get_many(self, uuids: list[str]) -> list[ConversationKey]:
        if len(uuids) > MAX_GET_CONVERSATIONS:
            raise MessagingError(22, f"at most {MAX_GET_CONVERSATIONS} conversations at once")
        return [await self.get(uuid) for uuid in uuids]

    def _known(self, account: str, uuid: str) -> ConversationKey | None:
        key = self._core.store.conversation_by_uuid(account, uuid)
        if key is not None:
            return key
        for contact in self._core.roster.contacts(account):  # (nothing said yet)
            if direct_uuid(account, contact.jid) == uuid:
                return ConversationKey(account, contact.jid, ConversationKind.CHAT)
        for room in self._core.rooms.rooms(account):
            if room_uuid(room.jid) == uuid:
                return ConversationKey(account, room.jid, ConversationKind.GROUPCHAT)
        return None

    async def _public_rooms(self, account: str) -> list[str]:
        core = self._core
        if not self._api.signed_in(account):
            raise MessagingError(10003, self._api.not_signed_in(account))
        try:
            service = await core.rooms.conference_service(account)
            if service is None:
                return []
            rooms: list[str] = []
            after = ""
            while True:
                page = await core.rooms.list_rooms(account, service, after, details=False)
                rooms.extend(r.jid for r in page.rooms)
                after = page.last
                if not after:
                    return rooms
        except ChinwagError as exc:
            raise from_core(exc) from exc

    async def _public(self, account: str, uuid: str) -> ConversationKey | None:
        for room in await self._public_rooms(account):
            if room_uuid(room) == uuid:
                key = ConversationKey(account, room, ConversationKind.GROUPCHAT)
                await self._learn(key)
                return key
        return None

    async def public(self) -> list[str]:
        """GetPublicConversations: the uuids of the conference service's listed rooms."""
        return [room_uuid(room) for room in await self._public_rooms(self._account())]

    async def join(self, uuid: str) -> ConversationKey:
        """JoinConversation: a public room (15 otherwise); a direct one is 39."""
        account = self._online_account()
        key = self._known(account, uuid) or await self._public(account, uuid)
        if key is None:
            raise MessagingError(8, f"no conversation {uuid}")
        if key.kind is ConversationKind.CHAT:
            raise MessagingError(39, "a direct conversation cannot be joined")
        facts = await self._learn(key)
        if not facts.public:
            raise MessagingError(15, f"{key.peer} is not open to everyone")
        try:
            await self._core.rooms.join(account, key.peer, self._core.rooms.default_nick(account))
        except ChinwagError as exc:
            raise from_core(exc) from exc
        await self._keep_joining(account, key.peer, True)
        return key

    async def _keep_joining(self, account: str, room: str, autojoin: bool, name: str = "") -> None:
        """Be back in ``room`` after a restart (its bookmark's autojoin set), or no longer
        (LeaveConversation: the bookmark stays, a person may have made it). Best effort: the
        call did what it was asked whether or not the server keeps the bookmark."""
        bookmarks = self._core.bookmarks
        existing = bookmarks.get(account, room)
        if existing is None and not autojoin:
            return
        try:
            if existing is None:
                await asyncio.wait_for(
                    bookmarks.add(account, room, name=name, autojoin=True), BOOKMARK_TIMEOUT
                )
            elif existing.autojoin != autojoin:
                await asyncio.wait_for(
                    bookmarks.update(dataclasses.replace(existing, autojoin=autojoin)),
                    BOOKMARK_TIMEOUT,
                )
        except (ChinwagError, TimeoutError) as exc:
            log.warning("%s: could not bookmark %s (autojoin %s): %s", account, room, autojoin, exc)

    async def leave(self, uuid: str) -> int:
        """LeaveConversation: out of the room (a direct conversation is 40)."""
        account = self._online_account()
        key = self._known(account, uuid)
        if key is None:
            raise MessagingError(8, f"no conversation {uuid}")
        if key.kind is ConversationKind.CHAT:
            raise MessagingError(40, "a direct conversation cannot be left")
        if not self._core.rooms.is_joined(account, key.peer):
            return S_FALSE
        await self._core.rooms.leave(account, key.peer)
        await self._keep_joining(account, key.peer, False)
        return S_OK

    def list_conversations(self) -> list[ConversationKey]:
        """ListConversations: every conversation stored, oldest first."""
        account = self._core.primary
        if account is None:
            return []
        return [key for key, _uuid in self._core.store.known_conversations(account)]

    def recreate(self, uuid: str) -> ConversationKey:
        """RecreateConversation: from local storage only."""
        key = self._core.store.conversation_by_uuid(self._account(), uuid)
        if key is None:
            raise MessagingError(8, f"no conversation {uuid} is stored")
        return key

    async def _learn(self, key: ConversationKey) -> RoomFacts:
        """What the room's configuration says (asked once; not asked: the defaults)."""
        found = self._rooms.get(key)
        if found is not None or key.kind is ConversationKind.CHAT:
            return found or RoomFacts()
        conn = self._core.sessions.get(key.account)
        connection = conn.connection if conn is not None else None
        if connection is None:
            return RoomFacts()
        try:
            async with asyncio.timeout(ROOM_INFO_TIMEOUT):
                info = await connection.disco_info(key.peer)
        except (ChinwagError, TimeoutError) as exc:
            log.info("%s did not say what it is: %s", key.peer, exc)
            return RoomFacts()
        name = next((i.name for i in info.identities if i.category == "conference"), "")
        facts = RoomFacts(
            public="muc_public" in info.features and "muc_membersonly" not in info.features,
            meta=room_meta.parse(info.form_value(NS_ROOMINFO, "muc#roominfo_description")),
            title=name,
        )
        self._rooms[key] = facts
        if name and self._core.store.conversation_info(key) is not None:
            await self._core.store.ensure_conversation(key, name)
        return facts

    def _on_room_joined(self, event: RoomJoined) -> None:
        key = ConversationKey(event.account, event.room, ConversationKind.GROUPCHAT)
        if key not in self._rooms:
            self._api.tasks.spawn(self._learn(key))

    # -- Conversation1 ------------------------------------------------------------------

    def uuid(self, key: ConversationKey) -> str:
        return conversation_uuid(key)

    def title(self, key: ConversationKey) -> str:
        facts = self._rooms.get(key)
        if facts is not None and facts.title:
            return facts.title
        return self._core.conversations.title(key)

    def public_join(self, key: ConversationKey) -> bool:
        facts = self._rooms.get(key)
        return facts is not None and facts.public

    def uber(self, key: ConversationKey) -> bool:
        facts = self._rooms.get(key)
        return facts is not None and facts.meta.uber

    def custom_data(self, key: ConversationKey) -> str:
        facts = self._rooms.get(key)
        return facts.meta.custom_data if facts is not None else "{}"

    def times(self, key: ConversationKey) -> tuple[int, int, int]:
        """(created, last sequence, last updated)."""
        info = self._core.store.conversation_info(key)
        if info is None:
            return (0, 0, 0)
        return (int(info.created), info.last_sequence, int(info.updated))

    def participants(self, key: ConversationKey) -> list[dict[str, Any]]:
        """Everyone in it with their permissions and read positions."""
        positions = self._core.conversations.read_positions(key)
        if key.kind is ConversationKind.CHAT:
            people = [
                (p.user, {name: getattr(p, name) for name in PERMISSIONS})
                for p in self._core.conversations.get(key).participants
            ]
        else:
            people = self._room_participants(key)
        return [
            {
                "user": user,
                "im_id": self._im_id(user),
                **flags,
                "last_read_sequence": positions.get(user, 0),
            }
            for user, flags in people
        ]

    def _room_participants(self, key: ConversationKey) -> list[tuple[str, dict[str, bool]]]:
        affiliations = dict(self._members.get(key, {}))
        roles: dict[str, Role] = {}
        room = self._core.rooms.room(key.account, key.peer)
        if room is not None:
            occupants = list(room.occupants.values())
            for occupant in occupants:
                if occupant.jid:
                    affiliations[occupant.jid] = occupant.affiliation
                    roles[occupant.jid] = occupant.role
            if room.me is not None:
                affiliations[key.account] = room.me.affiliation
                roles[key.account] = room.me.role
        affiliations.setdefault(key.account, Affiliation.NONE)
        out: list[tuple[str, dict[str, bool]]] = []
        for user, affiliation in affiliations.items():
            if affiliation is Affiliation.OUTCAST:
                continue
            role = roles.get(user)
            flags = dict(PERMISSIONS)
            flags["is_owner"] = affiliation is Affiliation.OWNER
            flags["can_manage_participants"] = affiliation in (Affiliation.OWNER, Affiliation.ADMIN)
            flags["can_write"] = role is not Role.VISITOR
            flags["can_remove_all_messages"] = role is Role.MODERATOR
            out.append((user, flags))
        own = [entry for entry in out if entry[0] == key.account]
        return own + sorted(entry for entry in out if entry[0] != key.account)

    # -- RetransmitEvents -----------------------------------------------------------------

    async def retransmit(self, key: ConversationKey, first: int, last: int) -> list[EventDict]:
        """RetransmitEvents(from, to), both included."""
        if first > last:
            raise MessagingError(28, f"from ({first}) is greater than to ({last})")
        if last - first + 1 > MAX_EVENTS:
            raise MessagingError(22, f"at most {MAX_EVENTS} events at once")
        await self._fill_gaps(key, last)
        self._within(key, first, last)
        return self._events(key, first, last)

    async def retransmit_from(
        self, key: ConversationKey, first: int, count: int
    ) -> list[EventDict]:
        _count(count)
        await self._fill_gaps(key, first + count - 1)
        end = self._last(key)
        self._within(key, first, first)
        return self._events(key, first, min(end, first + count - 1))

    async def retransmit_to(self, key: ConversationKey, last: int, count: int) -> list[EventDict]:
        _count(count)
        await self._fill_gaps(key, last)
        self._within(key, last, last)
        return self._events(key, max(1, last - count + 1), last)

    async def _fill_gaps(self, key: ConversationKey, wanted: int) -> None:
        """Served from the local log, filling gaps from the server's archive first when
        the events asked for reach past its end (history that arrives late takes the
        next sequences, so a gap is always past the end)."""
        if wanted > self._last(key):
            await self._core.messaging.fill_gaps(key)

    def _last(self, key: ConversationKey) -> int:
        info = self._core.store.conversation_info(key)
        return info.last_sequence if info is not None else 0

    def _within(self, key: ConversationKey, first: int, last: int) -> None:
        end = self._last(key)
        if first < 1 or last > end:
            raise MessagingError(24, f"the conversation's events are 1 to {end}")

    def _events(self, key: ConversationKey, first: int, last: int) -> list[EventDict]:
        entries = self._core.conversations.events(key, first - 1, last - first + 1)
        if self.uber(key):
            entries = list(
                _while_in(self._core.conversations.events, key, entries, self._from_archive)
            )
        return self.builder.from_log_many(entries, conversation_uuid(key))

    def _from_archive(self, entry: ConversationEvent) -> bool:
        """A message's entry, logged as the archive brought it (a catch-up)."""
        if entry.kind is not EventKind.MESSAGE or entry.message_id is None:
            return False
        message = self._core.store.get_by_id(entry.message_id)
        return message is not None and message.origin is Origin.ARCHIVE

    # -- OpenWindow -----------------------------------------------------------------------

    async def open_window(self, key: ConversationKey) -> tuple[int, ConversationView]:
        """The conversation's window, the one a person uses: opened or raised (not
        activated); a room is entered first."""
        api = self._api
        if not api.signed_in(key.account):
            raise MessagingError(10003, api.not_signed_in(key.account))
        if key.kind is ConversationKind.GROUPCHAT:
            try:
                await api.windows.enter_room(key.account, key.peer)
            except Exception as exc:
                raise MessagingError(12, f"{key.peer} did not let us in: {exc}") from exc
        try:
            view = api.host.open(key.account, key.peer, kind=key.kind, activate=False)
        except Exception as exc:
            log.exception("OpenWindow %s failed", key.peer)
            raise MessagingError(0, "could not open the window") from exc
        still_open = api.host.find(key.account, key.peer, key.kind) is view
        return (S_OK if still_open else S_FALSE, view)

    # -- Conversation1's messages and participants ---------------------------------------

    def logged_event(self, key: ConversationKey, sequence: int) -> EventDict:
        """The event of the log's entry ``sequence``, as its signal carries it."""
        for entry in self._core.conversations.events(key, sequence - 1, 1) if sequence else []:
            built = self.builder.from_log(entry, conversation_uuid(key))
            if built is not None:
                return built
        raise MessagingError(500, f"the conversation's log has no event {sequence}")

    async def send_message(self, key: ConversationKey, text: str, payload: str) -> EventDict:
        """SendMessage: the message event, as OnSendMessage carries it."""
        message = await self.ops.send_message(key, text, payload)
        return self.logged_event(key, message.sequence)

    async def edit_message(
        self, key: ConversationKey, message_uuid: str, changes: dict[str, Any]
    ) -> EventDict:
        """EditMessage: ``text``, ``payload`` (absent: kept); the edit event."""
        unknown = sorted(set(changes) - {"text", "payload"})
        if unknown:
            raise MessagingError(10001, f"unknown changes: {', '.join(unknown)}")
        outcome = await self.ops.edit_message(
            key, message_uuid, changes.get("text"), changes.get("payload")
        )
        return self.logged_event(key, outcome.sequence)

    async def remove_message(self, key: ConversationKey, message_uuid: str) -> EventDict:
        """RemoveMessage: the removal event."""
        outcome = await self.ops.remove_message(key, message_uuid)
        return self.logged_event(key, outcome.sequence)

    def typing(self, key: ConversationKey) -> int:
        self.ops.typing(key)
        return S_OK

    async def mark_as_read(self, key: ConversationKey, sequence: int) -> int:
        await self.ops.mark_as_read(key, sequence)
        return S_OK

    async def add_participants(
        self, key: ConversationKey, participants: list[dict[str, Any]]
    ) -> EventDict:
        return await self._participants_event(await self.ops.add_participants(key, participants))

    async def edit_participants(
        self, key: ConversationKey, participants: list[dict[str, Any]]
    ) -> EventDict:
        return await self._participants_event(await self.ops.edit_participants(key, participants))

    async def remove_participants(self, key: ConversationKey, users: list[str]) -> EventDict:
        return await self._participants_event(await self.ops.remove_participants(key, users))

    async def _participants_event(self, changed: ParticipantsChanged) -> EventDict:
        """Logged (OnEditConversation tells it): the action and the users it changed."""
        key = changed.key
        users = [p.user for p in changed.participants]
        data = _json({"action": changed.action, "users": users})
        entry = await self._core.conversations.log(key, EventKind.PARTICIPANTS, key.account, data)
        return self.logged_event(key, entry.sequence)

    async def update(self, key: ConversationKey, changes: dict[str, Any]) -> EventDict:
        """Update: title, public_join, custom_data; the editConversation event (logged,
        OnEditConversation tells it)."""
        updated: ConversationUpdated = await self.ops.update(key, changes)
        facts = self._rooms.get(key, RoomFacts())
        meta = facts.meta
        if updated.custom_data is not None:
            meta = room_meta.RoomMeta(updated.custom_data, meta.uber)
        self._rooms[key] = RoomFacts(
            facts.public if updated.public_join is None else updated.public_join,
            meta,
            facts.title if updated.title is None else updated.title,
        )
        if updated.title is not None:
            await self._core.store.ensure_conversation(key, updated.title)
        said = {
            name: value
            for name, value in (
                ("title", updated.title),
                ("public_join", updated.public_join),
                ("custom_data", updated.custom_data),
            )
            if value is not None
        }
        entry = await self._core.conversations.log(key, EventKind.EDITED, key.account, _json(said))
        return self.logged_event(key, entry.sequence)

    # -- the events, told to the fronts -------------------------------------------------

    @staticmethod
    def _guard(handler: Any) -> Any:
        def run(event: Event) -> None:
            try:
                handler(event)
            except Exception:
                log.exception("conversation event for %r failed", event)

        return run

    def _tell(self, key: ConversationKey, event: EventDict) -> None:
        self._api.events.tell("conversation_event", key, event)

    def _tell_logged(self, key: ConversationKey, sequence: int) -> None:
        if sequence <= 0:
            return
        entries: Iterable[ConversationEvent] = self._core.conversations.events(key, sequence - 1, 1)
        if self.uber(key):  # told as RetransmitEvents gives it: what was posted while in
            entries = _while_in(self._core.conversations.events, key, entries, self._from_archive)
        for entry in entries:
            event = self.builder.from_log(entry, conversation_uuid(key))
            if event is not None:
                self._tell(key, event)

    def _on_added(self, event: MessageAdded) -> None:
        message = event.message
        if (
            message.kind is ConversationKind.GROUPCHAT
            and message.direction is Direction.OUTGOING
            and not message.stanza_id
        ):
            return  # told once the room reflects it: its uuid is the room's then
        if message.direction is Direction.OUTGOING and message.state is MessageState.HELD:
            return  # a file's, told once it goes (with its link, not the file's name)
        self._tell_logged(message.key, message.sequence)

    def _on_released(self, event: MessageReleased) -> None:
        message = event.message
        if message.kind is not ConversationKind.GROUPCHAT:  # (a room's: once reflected)
            self._tell_logged(message.key, message.sequence)

    def _on_identified(self, event: MessageIdentified) -> None:
        self._tell_logged(event.message.key, event.message.sequence)

    def _on_changed(self, event: MessageEdited | MessageRemoved) -> None:
        self._tell_logged(event.message.key, event.sequence)

    def _on_logged(self, event: ConversationLogged) -> None:
        entry = event.event
        built = self.builder.from_log(entry, conversation_uuid(entry.key))
        if built is not None:
            self._tell(entry.key, built)

    def _on_read(self, event: ReadPositionChanged) -> None:
        self._tell(event.key, self.builder.read(event.participant, event.sequence))

    def _on_chat_state(self, event: ChatStateChanged) -> None:
        if event.state != "composing":
            return
        key = ConversationKey(event.account, event.peer, event.kind)
        if event.kind is ConversationKind.GROUPCHAT:
            room = self._core.rooms.room(event.account, event.peer)
            if room is None or event.nick == room.nick:
                return
            user = self._core.rooms.author(event.account, event.peer, event.nick, "")
        else:
            user = event.peer
        self._tell(key, self.builder.typing(user))

    # -- the users' events (the primary account's) --------------------------------------

    def _tell_user(self, account: str, event: EventDict) -> None:
        if account == self._core.primary:
            self._api.events.tell("user_event", event)

    def _on_user_edited(self, event: UserEdited) -> None:
        more: dict[str, Any] = {"custom_data": event.custom_data}
        if event.private_custom_data is not None:
            more["private_custom_data"] = event.private_custom_data
        self._tell_user(event.account, self.builder.user("editUser", event.user, **more))

    def _on_online_set(self, event: OnlineSet) -> None:
        built = self.builder.user("setStatus", event.account, online=event.online)
        self._tell_user(event.account, built)

    def _on_subscriptions(self, event: SubscriptionsChanged) -> None:
        action = "subscribe" if event.subscribed else "unsubscribe"
        built = self.builder.user(action, event.account, users=list(event.users))
        self._tell_user(event.account, built)

    def _on_room_left(self, event: RoomLeft) -> None:
        if not event.reason.startswith("the room was destroyed"):
            return
        key = ConversationKey(event.account, event.room, ConversationKind.GROUPCHAT)
        self._tell(key, self.builder.removed(event.room, self._last(key), time.time()))


def _typed(config: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = config.get(name, default)
    if not isinstance(value, kind):
        raise MessagingError(10001, f"{name} is a {kind.__name__}")
    return value


def _count(count: int) -> None:
    if count <= 0 or count > MAX_EVENTS:
        raise MessagingError(21, f"count is 1 to {MAX_EVENTS}")


def _affiliation(flags: dict[str, bool]) -> Affiliation:
    if flags["is_owner"]:
        return Affiliation.OWNER
    if flags["can_manage_participants"]:
        return Affiliation.ADMIN
    return Affiliation.MEMBER


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _while_in(
    events: Any,
    key: ConversationKey,
    entries: Iterable[ConversationEvent],
    from_archive: Callable[[ConversationEvent], bool],
) -> Iterable[ConversationEvent]:
    """An uber conversation's entries posted while we were in it, by our own created,
    join and leave entries of its log: what was logged while we were in (in the log's
    order), but a message the archive brought (the catch-up when we come back, logged
    after our join) by when it was posted: within a stay of ours (from a join to the
    next leave, by their times). An archive's time in whole seconds (Prosody's) says
    the message was posted within that second: all of it must be within the stay (what
    was said as we left or came in is left out rather than what was said while we were
    out let in)."""
    inside = False
    since = 0.0
    stays: list[tuple[float, float]] = []
    seen = 0
    membership: dict[int, bool] = {}
    while True:  # our membership over the whole log up to these entries
        batch = events(key, seen, MAX_EVENTS)
        if not batch:
            break
        for entry in batch:
            was_in = inside
            if entry.author == key.account and entry.kind in (
                EventKind.CREATED,
                EventKind.JOIN,
                EventKind.LEAVE,
            ):
                now_in = entry.kind is not EventKind.LEAVE
                if now_in and not inside:
                    since = entry.timestamp
                elif inside and not now_in:
                    stays.append((since, entry.timestamp))
                inside = now_in
            # (our leaving is the last of a stay: ours to see)
            membership[entry.sequence] = inside or was_in
            seen = entry.sequence
    if inside:
        stays.append((since, float("inf")))
    for entry in entries:
        if from_archive(entry):
            posted = entry.timestamp
            until = posted + 1 if posted == int(posted) else posted
            if any(start <= posted and until <= end for start, end in stays):
                yield entry
        elif membership.get(entry.sequence, False):
            yield entry
