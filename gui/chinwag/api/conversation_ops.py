"""The message and participant operations of a conversation (conversations-api.md
section 4, ``Conversation1``): SendMessage, EditMessage, RemoveMessage, Typing,
MarkAsRead, Add/Edit/RemoveParticipants and Update, over the core, for any front.

A conversation is named by its :class:`~chinwag.core.models.ConversationKey`; what is
returned is plain (the stored :class:`Message`, an :class:`ActionOutcome`,
:class:`ParticipantsChanged`, :class:`ConversationUpdated`): a front makes its event
dictionaries of them. Refusals are :class:`MessagingError` with the spec's codes.

Permissions are the room's (conversations-api.md section 1): ``is_owner`` = owner,
``can_manage_participants`` = admin, a participant = member; ``can_write`` false = a
visitor, ``can_remove_all_messages`` = a moderator (both roles, so given to those in
the room now). One's own messages are edited and removed by their author only."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chinwag.api.messaging_errors import MessagingError, from_core
from chinwag.core import jid as jids
from chinwag.core import room_meta
from chinwag.core.attachments import TransferError
from chinwag.core.errors import ChinwagError, InvalidAddress
from chinwag.core.events import MessageIdentified, MessageRemoved
from chinwag.core.models import (
    ActionOutcome,
    Affiliation,
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    MessageState,
    Occupant,
    Origin,
    Participant,
    Role,
    RoomListing,
)

if TYPE_CHECKING:
    from chinwag.api.service import Api
    from chinwag.core.rooms import Room

#: The longest message text, in characters (spec: error 23 beyond it).
MAX_TEXT_CHARS = 5_000
#: The longest conversation title, in characters (error 23 beyond it).
MAX_TITLE_CHARS = 5_000
#: Typing() at most once per this many seconds per conversation (error 10000).
TYPING_INTERVAL = 10.0
#: How long a moderation waits for the room to announce the removal (error 10002).
MODERATION_TIMEOUT = 10.0
#: How long SendMessage in a room waits for the room to reflect the message (10002).
REFLECTION_TIMEOUT = 10.0

#: A participant dictionary's permission keys (spec section 3) and their defaults.
PERMISSIONS: dict[str, bool] = {
    "is_owner": False,
    "can_write": True,
    "can_edit_messages": True,
    "can_edit_all_messages": False,
    "can_remove_messages": True,
    "can_remove_all_messages": False,
    "can_manage_participants": False,
}
#: The affiliations that make someone a participant of a group conversation.
_PARTICIPANTS = (Affiliation.OWNER, Affiliation.ADMIN, Affiliation.MEMBER)


@dataclass(frozen=True, slots=True)
class ParticipantsChanged:
    """What Add/Edit/RemoveParticipants did: the conversation, the action's name
    (``addParticipants``, ``editParticipants``, ``removeParticipants``) and those it
    changed, with their permissions now (removed ones: as given)."""

    key: ConversationKey
    action: str
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class ConversationUpdated:
    """What Update changed (None: not asked to change): the title, whether anyone may
    join, the custom data (JSON text of an object)."""

    key: ConversationKey
    title: str | None = None
    public_join: bool | None = None
    custom_data: str | None = None


def payload_of(text: str) -> str:
    """A payload as given (a JSON array of objects; "" or "[]": none) made compact;
    :class:`MessagingError` 10001 for anything else."""
    if not isinstance(text, str):
        raise MessagingError(10001, "the payload is a string of JSON")
    if not text.strip():
        return ""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MessagingError(10001, "the payload is not JSON") from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MessagingError(10001, "the payload is a JSON array of objects")
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


#: The payload object that attaches a file (README, "Sending files"):
#: ``{"chinwag-file-path": "/absolute/path"}``; taken out of the payload sent.
FILE_PAYLOAD_KEY = "chinwag-file-path"


def file_of(payload: str) -> tuple[str, str | None]:
    """(the payload without its file object, the file's path or None); 10001 when the
    object is malformed or there are several."""
    if FILE_PAYLOAD_KEY not in payload:
        return payload, None
    items = json.loads(payload)
    files = [item for item in items if FILE_PAYLOAD_KEY in item]
    if len(files) != 1 or len(files[0]) != 1:
        raise MessagingError(
            10001, f"one file per message: an object with {FILE_PAYLOAD_KEY} alone"
        )
    path = files[0][FILE_PAYLOAD_KEY]
    if not isinstance(path, str) or not path.startswith("/"):
        raise MessagingError(10001, f"{FILE_PAYLOAD_KEY} is an absolute path")
    rest = [item for item in items if FILE_PAYLOAD_KEY not in item]
    text = json.dumps(rest, ensure_ascii=False, separators=(",", ":")) if rest else ""
    return text, path


def _text(text: Any) -> str:
    if not isinstance(text, str):
        raise MessagingError(10001, "the text is a string")
    if len(text) > MAX_TEXT_CHARS:
        raise MessagingError(
            23, f"the text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are allowed"
        )
    return text


def _permissions_of(affiliation: Affiliation, role: Role | None) -> dict[str, bool]:
    """A participant's permissions as the room gives them."""
    perms = dict(PERMISSIONS)
    perms["is_owner"] = affiliation is Affiliation.OWNER
    perms["can_manage_participants"] = affiliation in (Affiliation.OWNER, Affiliation.ADMIN)
    perms["can_write"] = role is not Role.VISITOR
    perms["can_remove_all_messages"] = role is Role.MODERATOR or perms["can_manage_participants"]
    return perms


def _affiliation_for(perms: Mapping[str, bool]) -> Affiliation:
    if perms["is_owner"]:
        return Affiliation.OWNER
    if perms["can_manage_participants"]:
        return Affiliation.ADMIN
    return Affiliation.MEMBER


def _participant(user: str, perms: Mapping[str, bool]) -> Participant:
    return Participant(user, **{name: perms[name] for name in PERMISSIONS})


class ConversationOps:
    """The operations of ``Conversation1`` (see the module)."""

    def __init__(self, api: Api, clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._core = api.core
        self._clock = clock
        #: When Typing() last went out, per conversation (the clock's time).
        self._typed: dict[ConversationKey, float] = {}
        #: An IM id (spec: a stable local integer per bare address) -> the address, or
        #: None for an unknown one (error 25). Wired to the users' API.
        self.address_of_im_id: Callable[[int], str | None] = lambda _im_id: None

    # -- messages ---------------------------------------------------------------------

    async def send_message(self, key: ConversationKey, text: str, payload: str) -> Message:
        """Send ``text`` with ``payload`` (a JSON array of objects, "" for none); returns
        the message as stored (its ``sequence`` in the log, its ``uuid``). In a room,
        once the room has passed it on (reflected it to us, stamped with its stanza id,
        which makes its uuid): 10002 when it does not within :data:`REFLECTION_TIMEOUT`
        (the message stays sent)."""
        text = _text(text)
        data = payload_of(payload)
        self._signed_in(key)
        self._may_write(key)
        data, path = file_of(data)
        if path is not None:
            return await self._send_file(key, text, data, path)
        if key.kind is not ConversationKind.GROUPCHAT:
            try:
                return await self._core.messaging.send(
                    key.account, key.peer, text, kind=key.kind, payload=data
                )
            except ChinwagError as exc:
                raise from_core(exc) from exc
        # In a room a message's uuid is the room's stanza id's (conversations-api.md
        # section 1): it is known once the room reflects the message to us.
        reflected: dict[int, Message] = {}
        arrived = asyncio.Event()

        def seen(event: MessageIdentified) -> None:
            if event.message.key == key and event.message.id is not None:
                reflected[event.message.id] = event.message
                arrived.set()

        unsubscribe = self._core.bus.subscribe(MessageIdentified, seen)
        try:
            sent = await self._core.messaging.send(
                key.account, key.peer, text, kind=key.kind, payload=data
            )
            async with asyncio.timeout(REFLECTION_TIMEOUT):
                while sent.id not in reflected:
                    arrived.clear()
                    await arrived.wait()
        except TimeoutError:
            raise MessagingError(10002, f"{key.peer} did not pass the message on") from None
        except ChinwagError as exc:
            raise from_core(exc) from exc
        finally:
            unsubscribe()
        return reflected[sent.id]

    async def _send_file(self, key: ConversationKey, text: str, data: str, path: str) -> Message:
        """A payload's file: the text and the rest of the payload go first as a message
        of their own (when there is any); the file's message is returned as stored, at
        once (its link is sent when the upload is done; in a room its uuid is the one
        the room gives it then)."""
        files = self._core.files
        if files is None:
            raise MessagingError(10001, "this profile cannot send files")
        try:
            if text or data:
                await self._core.messaging.send(
                    key.account, key.peer, text, kind=key.kind, payload=data
                )
            return await files.send_file(key, path)
        except TransferError as exc:
            raise MessagingError(10001, exc.message) from exc
        except ChinwagError as exc:
            raise from_core(exc) from exc

    async def edit_message(
        self, key: ConversationKey, message_uuid: str, text: str | None, payload: str | None
    ) -> ActionOutcome:
        """Change the text and/or payload (None: kept) of one of our messages
        (XEP-0308, naming its first id); others' are error 12, a removed one 11, an
        unknown one 10."""
        new_text = _text(text) if text is not None else None
        new_payload = payload_of(payload) if payload is not None else None
        message = self._message(key, message_uuid)
        if not message.outgoing:
            raise MessagingError(12, "only its author may edit a message")
        self._signed_in(key)
        self._may_write(key)
        try:
            return await self._core.messaging.edit(
                message, message.body if new_text is None else new_text, new_payload
            )
        except ChinwagError as exc:
            raise from_core(exc, about_message=True) from exc

    async def remove_message(self, key: ConversationKey, message_uuid: str) -> ActionOutcome:
        """Remove a message for everyone: our own (XEP-0424 retraction), or, in a room
        where we are a moderator, anyone's (XEP-0425 moderation; returns once the room
        has announced it)."""
        message = self._message(key, message_uuid)
        self._signed_in(key)
        if message.outgoing:
            try:
                return await self._core.messaging.remove(message)
            except ChinwagError as exc:
                raise from_core(exc, about_message=True) from exc
        if key.kind is not ConversationKind.GROUPCHAT:
            raise MessagingError(
                12, "only its author may remove a message in a direct conversation"
            )
        found = self._room(key)
        if found.me is None or found.me.role is not Role.MODERATOR:
            raise MessagingError(12, "only a moderator may remove others' messages")
        removed: asyncio.Future[MessageRemoved] = asyncio.get_running_loop().create_future()

        def seen(event: MessageRemoved) -> None:
            if event.message.id == message.id and not removed.done():
                removed.set_result(event)

        unsubscribe = self._core.bus.subscribe(MessageRemoved, seen)
        try:
            await self._core.messaging.moderate(message)
            async with asyncio.timeout(MODERATION_TIMEOUT):
                event = await removed
        except TimeoutError:
            raise MessagingError(10002, f"{key.peer} did not announce the removal") from None
        except ChinwagError as exc:
            raise from_core(exc, about_message=True) from exc
        finally:
            unsubscribe()
        action = Message(
            account=key.account,
            peer=key.peer,
            direction=Direction.OUTGOING,
            body="",
            timestamp=time.time(),
            kind=key.kind,
            sender=key.account,
            state=MessageState.SENT,
            origin=Origin.LOCAL,
            retracts=message.stanza_id,
            moderated_by=key.account,
        )
        return ActionOutcome(action, event.message, sequence=event.sequence)

    def typing(self, key: ConversationKey) -> None:
        """Tell the others we are writing (XEP-0085 composing): at most once per
        :data:`TYPING_INTERVAL` per conversation (10000)."""
        self._signed_in(key)
        now = self._clock()
        last = self._typed.get(key)
        if last is not None and now - last < TYPING_INTERVAL:
            raise MessagingError(
                10000, f"Typing() goes out at most once per {TYPING_INTERVAL:g} seconds"
            )
        if key.kind is ConversationKind.GROUPCHAT:
            self._room(key)
        try:
            self._core.messaging.send_chat_state(key.account, key.peer, "composing", key.kind)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        self._typed[key] = now

    async def mark_as_read(self, key: ConversationKey, sequence: int) -> int:
        """Move our read position to ``sequence`` (displayed markers for the messages up
        to it); beyond the conversation's last sequence (or below 1): 24. Returns our
        position now."""
        last = self._core.conversations.get(key).last_sequence
        if isinstance(sequence, bool) or not isinstance(sequence, int):
            raise MessagingError(10001, "the sequence is an integer")
        if not 1 <= sequence <= last:
            raise MessagingError(24, f"the sequence is from 1 to {last}, not {sequence}")
        try:
            return await self._core.messaging.mark_read(key, sequence)
        except ChinwagError as exc:
            raise from_core(exc) from exc

    # -- participants -----------------------------------------------------------------

    async def add_participants(
        self, key: ConversationKey, participants: Sequence[Mapping[str, Any]]
    ) -> ParticipantsChanged:
        """Make them participants with the permissions given (affiliations, roles for
        those in the room now), and invite them (XEP-0249)."""
        if key.kind is not ConversationKind.GROUPCHAT:
            raise MessagingError(37, "participants cannot be added to a direct conversation")
        asked = [self._participant_arg(p) for p in participants]
        found = self._manager(key)
        current = await self._affiliations(key)
        for user, _given in asked:
            if user in current:
                raise MessagingError(13, f"{user} is a participant already")
        changed = []
        for user, given in asked:
            perms = {**PERMISSIONS, **given}
            await self._apply(key, found, user, perms, None)
            changed.append(_participant(user, perms))
        for user, _given in asked:
            try:
                self._core.invitations.invite(key.account, key.peer, user)
            except ChinwagError as exc:
                raise from_core(exc) from exc
        return ParticipantsChanged(key, "addParticipants", tuple(changed))

    async def edit_participants(
        self, key: ConversationKey, participants: Sequence[Mapping[str, Any]]
    ) -> ParticipantsChanged:
        """Change participants' permissions (keys not given: kept)."""
        if key.kind is not ConversationKind.GROUPCHAT:
            raise MessagingError(39, "a direct conversation's participants cannot be edited")
        asked = [self._participant_arg(p) for p in participants]
        found = self._manager(key)
        current = await self._affiliations(key)
        for user, _given in asked:
            if user not in current:
                raise MessagingError(19, f"{user} is not a participant")
        changed = []
        for user, given in asked:
            occupant = self._occupant(found, user)
            perms = {**_permissions_of(current[user], occupant.role if occupant else None)}
            perms.update(given)
            await self._apply(key, found, user, perms, current[user])
            changed.append(_participant(user, perms))
        return ParticipantsChanged(key, "editParticipants", tuple(changed))

    async def remove_participants(
        self, key: ConversationKey, users: Sequence[str]
    ) -> ParticipantsChanged:
        """Take their affiliation away (a members-only room lets them go)."""
        if key.kind is not ConversationKind.GROUPCHAT:
            raise MessagingError(38, "participants cannot be removed from a direct conversation")
        addresses = [self._address(user) for user in users]
        self._manager(key)
        current = await self._affiliations(key)
        for user in addresses:
            if user not in current:
                raise MessagingError(19, f"{user} is not a participant")
        for user in addresses:
            await self._room_call(
                self._core.rooms.set_affiliation(key.account, key.peer, user, Affiliation.NONE)
            )
        return ParticipantsChanged(
            key, "removeParticipants", tuple(Participant(user) for user in addresses)
        )

    # -- the conversation -------------------------------------------------------------

    async def update(self, key: ConversationKey, changes: Mapping[str, Any]) -> ConversationUpdated:
        """Change the title, whether anyone may join (public: listed and not
        members-only), and the custom data (in the room's description, with ``uber``
        kept): owners only (12)."""
        unknown = set(changes) - {"title", "public_join", "custom_data"}
        if unknown:
            raise MessagingError(10001, f"unknown changes: {', '.join(sorted(unknown))}")
        title = changes.get("title")
        public = changes.get("public_join")
        custom = changes.get("custom_data")
        if title is not None and not isinstance(title, str):
            raise MessagingError(10001, "title is a string")
        if public is not None and not isinstance(public, bool):
            raise MessagingError(10001, "public_join is a boolean")
        if custom is not None and not isinstance(custom, str):
            raise MessagingError(10001, "custom_data is a string of JSON")
        if title is not None and len(title) > MAX_TITLE_CHARS:
            raise MessagingError(23, f"the title has more than {MAX_TITLE_CHARS:,} characters")
        if key.kind is not ConversationKind.GROUPCHAT:
            if public:
                raise MessagingError(34, "a direct conversation cannot be public")
            raise MessagingError(12, "a direct conversation's title and data are the contact's")
        if custom is not None:
            try:
                custom = room_meta.custom_data(custom)
            except room_meta.BadCustomData as exc:
                raise MessagingError(10001, str(exc)) from None
        found = self._room(key)
        if found.me is None or found.me.affiliation is not Affiliation.OWNER:
            raise MessagingError(12, "only an owner may change the conversation")
        fields: dict[str, str] = {}
        if title is not None:
            fields["muc#roomconfig_roomname"] = title
        if public is not None:
            fields["muc#roomconfig_publicroom"] = "1" if public else "0"
            fields["muc#roomconfig_membersonly"] = "0" if public else "1"
        if custom is not None:
            listing = await self._core.rooms.room_details(key.account, [RoomListing(key.peer)])
            uber = room_meta.parse(listing[0].description).uber
            fields["muc#roomconfig_roomdesc"] = room_meta.description(custom, uber)
        await self._room_call(self._core.rooms.configure(key.account, key.peer, fields))
        return ConversationUpdated(key, title, public, custom)

    # -- helpers ----------------------------------------------------------------------

    def _signed_in(self, key: ConversationKey) -> None:
        if not self._api.signed_in(key.account):
            raise MessagingError(10003, self._api.not_signed_in(key.account))

    def _room(self, key: ConversationKey) -> Room:
        """The room of a group conversation, which we must be in."""
        found = self._core.rooms.room(key.account, key.peer)
        if found is None or not found.joined:
            raise MessagingError(12, f"you are not in {key.peer}")
        return found

    def _may_write(self, key: ConversationKey) -> None:
        """can_write: in a room, not as a visitor."""
        if key.kind is not ConversationKind.GROUPCHAT:
            return
        found = self._room(key)
        if found.me is not None and found.me.role is Role.VISITOR:
            raise MessagingError(12, f"you may not write in {key.peer}")

    def _manager(self, key: ConversationKey) -> Room:
        """The room, where we are can_manage_participants (an admin or owner)."""
        found = self._room(key)
        mine = found.me.affiliation if found.me is not None else Affiliation.NONE
        if mine not in (Affiliation.OWNER, Affiliation.ADMIN):
            raise MessagingError(12, "only those who manage participants may change them")
        return found

    def _message(self, key: ConversationKey, message_uuid: str) -> Message:
        if not isinstance(message_uuid, str) or not message_uuid:
            raise MessagingError(10001, "a message is named by its uuid")
        message = self._core.store.get_by_uuid(key, message_uuid)
        if message is None:
            raise MessagingError(10, f"there is no message {message_uuid}")
        if message.removed:
            raise MessagingError(11, f"the message {message_uuid} was removed")
        return message

    def _address(self, user: Any) -> str:
        if not isinstance(user, str):
            raise MessagingError(10001, "a user is a bare address")
        try:
            return jids.Jid.parse(user).bare
        except InvalidAddress as exc:
            raise MessagingError(10001, f"not an address: {exc.message}") from None

    def _participant_arg(self, given: Mapping[str, Any]) -> tuple[str, dict[str, bool]]:
        """(address, the permissions given) of a participant dictionary."""
        unknown = set(given) - {"user", "im_id", "last_read_sequence", *PERMISSIONS}
        if unknown:
            raise MessagingError(10001, f"unknown participant keys: {', '.join(sorted(unknown))}")
        if "user" in given:
            user = self._address(given["user"])
        elif "im_id" in given:
            im_id = given["im_id"]
            if isinstance(im_id, bool) or not isinstance(im_id, int):
                raise MessagingError(10001, "im_id is an integer")
            found = self.address_of_im_id(im_id)
            if found is None:
                raise MessagingError(25, f"no user has the IM id {im_id}")
            user = found
        else:
            raise MessagingError(10001, "a participant names its user or im_id")
        perms: dict[str, bool] = {}
        for name in PERMISSIONS:
            if name in given:
                if not isinstance(given[name], bool):
                    raise MessagingError(10001, f"{name} is a boolean")
                perms[name] = given[name]
        if perms.get("can_edit_all_messages"):
            raise MessagingError(12, "can_edit_all_messages cannot be given on XMPP")
        return user, perms

    async def _affiliations(self, key: ConversationKey) -> dict[str, Affiliation]:
        """The room's participants now: address -> owner, admin or member. A list the
        room does not show us (Prosody shows admins no owner list) is known from those
        of it in the room now."""
        found: dict[str, Affiliation] = {}
        for affiliation in _PARTICIPANTS:
            try:
                users = await self._room_call(
                    self._core.rooms.affiliations(key.account, key.peer, affiliation)
                )
            except MessagingError as exc:
                if exc.code != 12 or affiliation is Affiliation.MEMBER:
                    raise
                continue
            for user in users:
                found.setdefault(user, affiliation)
        room = self._room(key)
        for occupant in [*room.occupants.values(), *([room.me] if room.me else [])]:
            address = occupant.jid or (key.account if occupant is room.me else "")
            if address and occupant.affiliation in _PARTICIPANTS:
                found.setdefault(address, occupant.affiliation)
        return found

    @staticmethod
    def _occupant(found: Room, user: str) -> Occupant | None:
        """The occupant that is ``user`` in the room now, or None."""
        return next((o for o in found.occupants.values() if o.jid == user), None)

    async def _apply(
        self,
        key: ConversationKey,
        found: Room,
        user: str,
        perms: Mapping[str, bool],
        was: Affiliation | None,
    ) -> None:
        """Give ``user`` the affiliation of ``perms``, and, when they are in the room,
        the role (visitor: may not write; moderator: removes anyone's messages)."""
        affiliation = _affiliation_for(perms)
        if affiliation is not was:
            await self._room_call(
                self._core.rooms.set_affiliation(key.account, key.peer, user, affiliation)
            )
        if not perms["can_write"]:
            role = Role.VISITOR
        elif perms["can_remove_all_messages"] or affiliation is not Affiliation.MEMBER:
            role = Role.MODERATOR
        else:
            role = Role.PARTICIPANT
        now = self._occupant(found, user)  # (in the room now, as the room says)
        if now is not None and now.role is not role:
            await self._room_call(self._core.rooms.set_role(key.account, key.peer, now.nick, role))

    @staticmethod
    async def _room_call(request: Any) -> Any:
        try:
            return await request
        except ChinwagError as exc:
            raise from_core(exc) from exc
