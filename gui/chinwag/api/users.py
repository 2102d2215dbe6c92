"""The users of the Conversations API (conversations-api.md section 3): look-ups by name
and IM id, ``EditUser``, ``SetOnline``, the subscriptions and ``ManageNotifications``,
for the primary account. Transport-neutral: values are plain (a user is a dict of the
spec's keys), refusals are :class:`~chinwag.api.messaging_errors.MessagingError`.

Choices the spec leaves open:

* A user is known (else 25) when it is the account itself, a roster contact, or anyone
  this profile gave an IM id (a participant met, a correspondent). A malformed address
  is 10001. An IM id never given is 25.
* ``display_name``: for oneself the account's nickname; for a contact the roster name;
  else the nickname the user publishes (XEP-0172); else the address.
* ``custom_data`` / ``private_custom_data`` that is no JSON object, or over 5,000 bytes
  of UTF-8, is 18 (UserValidation); a ``changes`` key other than those two, or a value
  that is not a string, is 10001.
* ``conversations``: the direct conversations stored, the rooms joined and those
  bookmarked; ``left_conversations``: the rooms stored that are neither.
  :attr:`UsersApi.conversations_of` / :attr:`UsersApi.left_of` may be replaced by the
  conversation layer, which knows better."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from chinwag.api.codes import S_OK
from chinwag.api.messaging_errors import MessagingError, from_core
from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, InvalidAddress, UserDataInvalid
from chinwag.core.models import ConnectionState, ConversationKind, direct_uuid, room_uuid
from chinwag.core.roster import contact_name
from chinwag.core.users import NOTIFICATION_EVENTS

if TYPE_CHECKING:
    from chinwag.api.service import Api

#: Users per look-up at most (22 beyond).
MAX_USERS = 50
EDIT_KEYS = ("custom_data", "private_custom_data")
T = TypeVar("T")


class UsersApi:
    """The user members of ``Conversations1`` (see the module)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core
        self._users = api.core.users
        #: account -> uuids of the conversations it is in / has left.
        self.conversations_of: Callable[[str], list[str]] = self._conversations
        self.left_of: Callable[[str], list[str]] = self._left

    # -- for the conversation layer -----------------------------------------------------

    async def im_id(self, address: str) -> int:
        """The IM id of a bare address, given now if it has none (never reused)."""
        try:
            return await self._users.im_id(address)
        except ChinwagError as exc:
            raise from_core(exc) from exc

    def address_of(self, im_id: int) -> str | None:
        return self._users.address_of(im_id)

    # -- look-ups -----------------------------------------------------------------------

    def _me(self) -> str:
        primary = self._core.primary
        if primary is None:
            raise MessagingError(10003, "there is no account: sign in first")
        return primary

    def _online(self, account: str) -> None:
        if self._core.state(account) is not ConnectionState.ONLINE:
            raise MessagingError(10003, f"{account} is not signed in")

    def _address(self, name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise MessagingError(10001, "a user name is a non-empty address")
        try:
            return jids.bare(name.strip())
        except InvalidAddress as exc:
            raise MessagingError(10001, f"not a valid XMPP address: {exc.message}") from exc

    def _known(self, account: str, name: str) -> str:
        address = self._address(name)
        if not self._users.known(account, address):
            raise MessagingError(25, f"{address} is not a user this profile knows")
        return address

    def _by_id(self, im_id: int) -> str:
        if isinstance(im_id, bool) or not isinstance(im_id, int):
            raise MessagingError(10001, "an IM id is an integer")
        address = self._users.address_of(im_id)
        if address is None:
            raise MessagingError(25, f"no user has the IM id {im_id}")
        return address

    async def get_user_by_name(self, name: str) -> dict[str, Any]:
        account = self._me()
        return await self._user(account, self._known(account, name))

    async def get_user_by_im_id(self, im_id: int) -> dict[str, Any]:
        account = self._me()
        return await self._user(account, self._by_id(im_id))

    async def get_users_by_name(self, names: Sequence[str]) -> list[dict[str, Any]]:
        account = self._me()
        _limit(names)
        addresses = [self._known(account, name) for name in names]
        return await _all(self._user(account, a) for a in addresses)

    async def get_users_by_im_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        account = self._me()
        _limit(ids)
        addresses = [self._by_id(i) for i in ids]
        return await _all(self._user(account, a) for a in addresses)

    async def user(self, address: str) -> dict[str, Any]:
        """The user dict of a bare address (for the conversation layer's events)."""
        return await self._user(self._me(), address)

    async def _user(self, account: str, address: str) -> dict[str, Any]:
        users = self._users
        im_id, custom, name = await asyncio.gather(
            self.im_id(address),
            users.custom_data(account, address),
            self._display_name(account, address),
        )
        user: dict[str, Any] = {
            "im_id": im_id,
            "name": address,
            "display_name": name,
            "custom_data": custom,
        }
        if address == account:
            user["private_custom_data"] = users.private_custom_data(account)
            user["conversations"] = self.conversations_of(account)
            user["left_conversations"] = self.left_of(account)
            user["notifications"] = list(users.notifications(account))
        return user

    async def _display_name(self, account: str, address: str) -> str:
        """Oneself: the account's nickname. Anyone: as the contact list names them
        (:meth:`RosterService.display_name`); when that knows no name but the address,
        the nickname they publish, asked for."""
        if address == account:
            config = self._core.accounts.find(account)
            if config is not None and config.nickname:
                return config.nickname
        known = self._core.roster.display_name(account, address)
        if known != address:
            return known
        return contact_name("", await self._users.nickname(account, address), address)

    def _conversations(self, account: str) -> list[str]:
        found = [
            direct_uuid(account, key.peer)
            for key, _newest in self._core.store.conversations(account)
            if key.kind is ConversationKind.CHAT
        ]
        found += [room_uuid(room) for room in sorted(self._rooms_in(account))]
        return list(dict.fromkeys(found))

    def _left(self, account: str) -> list[str]:
        inside = self._rooms_in(account)
        return [
            room_uuid(key.peer)
            for key, _newest in self._core.store.conversations(account)
            if key.kind is ConversationKind.GROUPCHAT and key.peer not in inside
        ]

    def _rooms_in(self, account: str) -> set[str]:
        joined = {room.jid for room in self._core.rooms.rooms(account) if room.joined}
        return joined | {b.room for b in self._core.bookmarks.list(account)}

    # -- changes ------------------------------------------------------------------------

    async def edit_user(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``custom_data`` / ``private_custom_data`` (absent: unchanged; "{}": removed);
        returns the user as it is now. Fires OnEditUser (:class:`UserEdited`)."""
        account = self._me()
        unknown = sorted(set(changes) - set(EDIT_KEYS))
        if unknown:
            raise MessagingError(10001, f"EditUser takes {', '.join(EDIT_KEYS)}, not {unknown[0]}")
        for key, value in changes.items():
            if not isinstance(value, str):
                raise MessagingError(10001, f"{key} is a string (JSON)")
        self._online(account)
        await _call(
            self._users.edit(
                account, changes.get("custom_data"), changes.get("private_custom_data")
            )
        )
        return await self._user(account, account)

    def set_online(self, online: bool) -> int:
        """Available (True) or extended away; fires OnSetStatus (:class:`OnlineSet`)."""
        if not isinstance(online, bool):
            raise MessagingError(10001, "online is a boolean")
        account = self._me()
        self._online(account)
        try:
            self._users.set_online(account, online)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        return S_OK

    # -- subscriptions ------------------------------------------------------------------

    def _addresses(self, account: str, users: Sequence[str]) -> list[str]:
        if isinstance(users, str):
            raise MessagingError(10001, "users is a list of addresses")
        addresses = [self._address(u) for u in users]
        if account in addresses:
            raise MessagingError(10001, "one cannot subscribe to oneself")
        return list(dict.fromkeys(addresses))

    async def subscribe(self, users: Sequence[str]) -> list[str]:
        """Ask to see each one's presence; pending until each approves (then
        OnSubscribe). Returns the users subscribed to now."""
        account = self._me()
        addresses = self._addresses(account, users)
        self._online(account)
        await _call(self._users.subscribe(account, addresses))
        return self._users.subscriptions(account)

    def unsubscribe(self, users: Sequence[str]) -> list[str]:
        account = self._me()
        addresses = self._addresses(account, users)
        self._online(account)
        try:
            self._users.unsubscribe(account, addresses)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        return self._users.subscriptions(account)

    def unsubscribe_from_all(self) -> list[str]:
        account = self._me()
        self._online(account)
        try:
            self._users.unsubscribe_all(account)
        except ChinwagError as exc:
            raise from_core(exc) from exc
        return self._users.subscriptions(account)

    def get_subscriptions(self) -> list[str]:
        return self._users.subscriptions(self._me())

    # -- notifications ------------------------------------------------------------------

    async def manage_notifications(self, events: Sequence[str]) -> int:
        """Which events raise desktop notifications, for every client of the account."""
        if isinstance(events, str):
            raise MessagingError(10001, "events is a list of event names")
        for event in events:
            if event not in NOTIFICATION_EVENTS:
                raise MessagingError(
                    26, f"{event!r} is not one of {', '.join(NOTIFICATION_EVENTS)}"
                )
        account = self._me()
        self._online(account)
        await _call(self._users.set_notifications(account, events))
        return S_OK


def _limit(items: Sequence[Any]) -> None:
    if isinstance(items, str):
        raise MessagingError(10001, "a list is expected")
    if len(items) > MAX_USERS:
        raise MessagingError(22, f"at most {MAX_USERS} users per look-up, not {len(items)}")


async def _all(calls: Any) -> list[T]:
    return list(await asyncio.gather(*calls))


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except UserDataInvalid as exc:
        raise MessagingError(18, exc.message) from exc
    except ChinwagError as exc:
        raise from_core(exc) from exc
