"""The automation API's behaviour (``automation-api.md``), over the core and the windows.

:class:`Api` is what every front calls: :class:`MessengerApi` (sections 4 and 7's
messenger-wide members), :class:`ContactApi`, :class:`GroupApi` and :class:`AccountApi`
(section 7's objects, named by plain keys), :class:`~chinwag.api.windows.WindowApi`
(section 5) and :class:`~chinwag.api.messages.MessagesApi` (section 6). Values are plain:
an account is its bare address, a contact ``(account, address)``, a group ``(account,
name)``; a window is the view itself (None once closed). Refusals are
:class:`~chinwag.api.errors.ApiError`."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chinwag.api.codes import S_FALSE, S_OK, SIGNIN_OPTIONS, Code
from chinwag.api.conversations import ConversationsApi
from chinwag.api.errors import ApiError, hr_for, invalid, not_logged_on
from chinwag.api.events import ApiEvents
from chinwag.api.letters import LettersApi
from chinwag.api.messages import MessagesApi
from chinwag.api.users import UsersApi
from chinwag.api.windows import WindowApi
from chinwag.core import jid as jids
from chinwag.core.errors import (
    AlreadyInList,
    ChinwagError,
    ContactNotFound,
    InvalidAddress,
    NoSuchGroup,
    PasswordUnavailable,
)
from chinwag.core.models import (
    AccountConfig,
    ConnectionState,
    ConversationKind,
    Show,
    Subscription,
)
from chinwag.core.session import FATAL_ERRORS
from chinwag.core.status import Status
from chinwag.core.tasks import BackgroundTasks

if TYPE_CHECKING:
    from chinwag.api.ports import ConversationView, WindowHost
    from chinwag.core.service import ChinwagCore

log = logging.getLogger(__name__)

#: (account, bare address)
ContactKey = tuple[str, str]
#: (account, group name)
GroupKey = tuple[str, str]
#: A contact argument: a sign-in name (on the account the member implies) or a key.
ContactArg = str | ContactKey

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class Api:
    """The API of one running Chinwag: its parts, and what they share."""

    def __init__(self, core: ChinwagCore, host: WindowHost) -> None:
        self.core = core
        self.host = host
        self.tasks = BackgroundTasks("automation request")
        #: (account, old group name) -> new name, while a rename moves the members: the
        #: old name still names the same group.
        self.renaming: dict[GroupKey, str] = {}
        self.messenger = MessengerApi(self)
        self.contacts = ContactApi(self)
        self.groups = GroupApi(self)
        self.accounts = AccountApi(self)
        self.windows = WindowApi(self)
        self.messages = MessagesApi(self)
        self.letters = LettersApi(self)
        self.events = ApiEvents(self)
        self.users = UsersApi(self)
        self.conversations = ConversationsApi(self, im_id=self.im_id)

    def close(self) -> None:
        self.conversations.close()
        self.events.close()

    def im_id(self, address: str) -> int:
        """An address's IM id for an event (conversations-api.md section 1). Every logged
        event's author has one already (the store gives it with the event); one that
        has none yet (someone typing before anything else) is given one for next time
        and reported as 0 this once."""
        found = self.core.users.known_im_id(address)
        if found is None:
            self.tasks.spawn(self.core.users.im_id(address))
            return 0
        return found

    # -- resolving arguments ---------------------------------------------------------

    def primary(self) -> str:
        primary = self.core.primary
        if primary is None:
            raise not_logged_on("there is no account: sign in first")
        return primary

    @staticmethod
    def address(text: str) -> str:
        """A bare address from a sign-in name, or InvalidArgument."""
        if not text.strip():
            raise invalid("the sign-in name is empty")
        try:
            return jids.Jid.parse(text).bare
        except InvalidAddress as exc:
            raise invalid(f"not a valid XMPP address: {exc.message}") from exc

    def contact_key(self, contact: ContactArg, account: str | None = None) -> ContactKey:
        """(account, bare address) of a contact argument: a sign-in name on ``account``
        (the primary one when None), or a key, which must be of ``account`` if given."""
        if isinstance(contact, str):
            return (account or self.primary(), self.address(contact))
        if account is not None and contact[0] != account:
            raise invalid(f"{contact[1]} is a contact of another account ({contact[0]})")
        return contact

    def account_of(self, service_id: str) -> str:
        """'' = the primary account, else an account's sign-in name."""
        if not service_id:
            return self.primary()
        config = self.core.accounts.find(service_id)
        if config is None:
            raise invalid(f"no account {service_id!r}")
        return config.jid

    def group_key(self, account: str, name: str) -> GroupKey:
        """The key of a group: a name being renamed away names the renamed group."""
        return (account, self.renaming.get((account, name), name))

    def signed_in(self, account: str) -> bool:
        """Signed in, or signing in (the outbox holds messages until it is)."""
        session = self.core.sessions.get(account)
        return session is not None and session.signed_in

    def online(self, account: str) -> None:
        """NotLoggedOn unless ``account`` has a live connection."""
        if self.core.state(account) is not ConnectionState.ONLINE:
            raise not_logged_on(self.not_signed_in(account))

    def not_signed_in(self, account: str) -> str:
        """The text "x is not signed in", with the reason when its sign-in failed."""
        session = self.core.sessions.get(account)
        error = session.last_error if session is not None else None
        if error is None or session is None or session.state is ConnectionState.ONLINE:
            return f"{account} is not signed in"
        return f"{account} is not signed in: {error.message}"

    def cannot_sign_in(self, account: str) -> ChinwagError | None:
        """The error that stopped the session's sign-in, when retrying cannot fix it (no
        or a refused password, an untrusted certificate, ...) and nothing has started
        another sign-in since; None otherwise."""
        session = self.core.sessions.get(account)
        # FAILED is final: a session that is still winding down will not try again.
        if session is None or session.state is not ConnectionState.FAILED:
            return None
        error = session.last_error
        return error if isinstance(error, FATAL_ERRORS) else None

    def account_status(self, account: str) -> int:
        session = self.core.sessions.get(account)
        if session is None:
            return Status.OFFLINE
        if session.state is ConnectionState.ONLINE:
            return int(session.picked)
        if session.state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
            return int(Status.CONNECTING)
        return int(Status.OFFLINE)

    def spawn_outcome(self, request: Awaitable[Any], report: Callable[[int], None]) -> None:
        """Run a request in the background; a failure is reported with its ``hr`` (a
        success is reported by the event the change itself causes)."""

        async def run() -> None:
            try:
                await request
            except Exception as exc:
                if not isinstance(exc, ChinwagError):
                    log.exception("automation request failed")
                report(hr_for(exc))

        self.tasks.spawn(run())


class MessengerApi:
    """``Messenger1``: accounts, sign-in, own status, the contact list."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    async def instant_message(self, contact: ContactArg) -> tuple[int, ConversationView]:
        """The conversation window with the contact, opened or raised (not activated):
        S_OK, or S_FALSE if it was closed again before this returned. A room's address
        enters the room first (its refusal is a named error) and opens its window."""
        api = self._api
        account, jid = api.contact_key(contact)
        if not api.signed_in(account):
            raise not_logged_on(api.not_signed_in(account))
        kind = await api.windows.kind_of(account, jid)
        if kind is ConversationKind.GROUPCHAT:
            await api.windows.enter_room(account, jid)
        try:
            view = api.host.open(account, jid, kind=kind, activate=False)
        except Exception as exc:
            log.exception("InstantMessage %s failed", jid)
            raise ApiError(Code.FAIL, "could not get window handle") from exc
        still_open = api.host.find(account, jid, kind) is view
        return (S_OK if still_open else S_FALSE, view)

    def get_contact(self, signin_name: str, service_id: str) -> ContactKey:
        jid = self._api.address(signin_name)
        return (self._api.account_of(service_id), jid)

    async def signin(self, signin_name: str, password: str, options: dict[str, Any]) -> int:
        """Start signing in. A password given is used at once (it is saved meanwhile);
        without one, the stored one is looked up, which takes at most the password
        store's short timeout, never as long as a keyring prompt is up."""
        api, core = self._api, self._core
        if options.get("link-local") is True:
            return await self._signin_link_local(options)
        jid = api.address(signin_name)
        if "@" not in jid:
            raise invalid(f"{jid!r} is a server, not an account: use name@{jid}")
        opts = signin_options(options)
        opts.pop("link-local", None)  # (false: a server account, as without it)
        register = bool(opts.pop("register", False))
        remember = bool(opts.pop("remember", True))
        if not password and core.accounts.find(jid) is not None and not api.signed_in(jid):
            try:
                stored = await core.accounts.load_password(jid)
            except PasswordUnavailable as exc:  # the session tries again until it can tell
                log.info("signing %s in without knowing its password yet: %s", jid, exc)
                stored = ""
            if stored is None:
                raise invalid(f"no password is stored for {jid}: give one")
        existing = core.accounts.find(jid)
        if existing is not None:
            session = core.session(jid)
            if api.signed_in(jid):
                if password and session.state is not ConnectionState.ONLINE:
                    # Still trying (a keyring that did not answer, say): its next try
                    # uses the password given.
                    core.accounts.set_password(jid, password, remember=remember)
                return S_FALSE
            core.accounts.update(replace(existing, enabled=True, **opts))
            if password:
                core.accounts.set_password(jid, password, remember=remember)
        else:
            if not password:
                raise invalid("a new account needs a password")
            session = core.add_account(
                AccountConfig(jid=jid, **opts), password, remember=remember, primary=True
            )
        api.tasks.spawn(self._sign_in(session.account, register))
        return S_OK

    async def _signin_link_local(self, options: dict[str, Any]) -> int:
        """Option ``link-local`` true: serverless chat on the local network (XEP-0174),
        the profile's link-local account added if new (never primary while a server
        account exists), enabled and signed in; the name and password are not used, and
        no other option goes with it. S_FALSE: it is signed in or signing in already."""
        others = sorted(set(signin_options(options)) - {"link-local"})
        if others:
            raise invalid(f"option 'link-local' takes no other option (given: {', '.join(others)})")
        from chinwag.core.link_local import link_local_account

        existing = link_local_account(self._core)
        if existing is not None and existing.enabled and self._api.signed_in(existing.jid):
            return S_FALSE
        self._api.tasks.spawn(self._enable_link_local())
        return S_OK

    async def _enable_link_local(self) -> None:
        from chinwag.core.link_local import enable_link_local

        try:
            await enable_link_local(self._core)
        except ChinwagError as exc:  # reported as OnSignin(hr) from the state change
            log.info("serverless chat did not start: %s", exc.message)

    async def _sign_in(self, account: str, register: bool) -> None:
        try:
            await self._core.sign_in(account, register=register)
        except ChinwagError as exc:  # reported as OnSignin(hr) from the state change
            log.info("sign-in of %s failed: %s", account, exc.message)

    def auto_signin(self) -> int:
        enabled = [a.jid for a in self._core.auto_signed_in()]
        if not enabled:
            raise ApiError(Code.FAIL, "there is no enabled account to sign in")
        already = all(self._api.signed_in(jid) for jid in enabled)
        self._core.auto_sign_in()
        return S_FALSE if already else S_OK

    async def signout(self) -> int:
        return S_OK if await self._core.sign_out() else S_FALSE

    def add_contact(self, signin_name: str) -> int:
        """Add to the roster and ask for a subscription; the outcome is the event
        ``contact_list_add``."""
        api = self._api
        jid = api.address(signin_name)
        account = api.primary()
        api.online(account)
        if jid == account:
            raise invalid("you cannot add yourself to your contact list")
        contact = self._core.roster.contact(account, jid)
        if contact is not None and contact.subscription is not Subscription.REMOVE:
            raise ApiError.from_core(AlreadyInList(f"{jid} is already in the contact list"))
        key = (account, jid)
        api.spawn_outcome(
            self._core.roster.add_contact(account, jid),
            lambda hr: api.events.contact_list_add(hr, key),
        )
        return S_OK

    def remove_contact(self, contact: ContactArg) -> int:
        api = self._api
        key = api.contact_key(contact)
        account, jid = key
        if self._core.roster.contact(account, jid) is None:
            raise ApiError.from_core(ContactNotFound(f"{jid} is not in the contact list"))
        api.online(account)
        api.spawn_outcome(
            self._core.roster.remove_contact(account, jid),
            lambda hr: api.events.contact_list_remove(hr, key),
        )
        return S_OK

    def create_group(self, name: str) -> GroupKey:
        account = self._api.primary()
        try:
            name = self._core.roster.create_group(account, name)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return self._api.group_key(account, name)

    async def set_status(self, status: int, message: str | None) -> int:
        """Own status and message on every enabled account; ``message`` None keeps the
        current one (MyStatus written)."""
        try:
            picked = Status(status)
        except ValueError:
            raise invalid(f"0x{status:X} is not a MISTATUS value") from None
        if message is None:
            sessions = self._core.enabled_sessions()
            message = sessions[0].status if sessions else ""
        try:
            changed = await self._core.set_status(picked, message)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return S_OK if changed else S_FALSE

    def quit(self) -> int:
        self._api.host.quit()
        return S_OK

    def my_contacts(self) -> list[ContactKey]:
        account = self._core.primary
        if account is None:
            return []
        return [(account, c.jid) for c in self._core.roster.contacts(account)]

    def my_groups(self) -> list[GroupKey]:
        account = self._core.primary
        if account is None:
            return []
        keys = (self._api.group_key(account, g) for g in self._core.roster.groups(account))
        return list(dict.fromkeys(keys))

    def my_signin_name(self) -> str:
        return self._core.primary or ""

    def my_friendly_name(self) -> str:
        config = self._core.accounts.primary
        return (config.nickname or config.jid) if config else ""

    def my_status(self) -> int:
        account = self._core.primary
        return self._api.account_status(account) if account else int(Status.OFFLINE)

    def primary_account(self) -> str | None:
        return self._core.primary

    def account_list(self) -> list[str]:
        """Every account, the primary one first."""
        return [a.jid for a in self._core.accounts.accounts]


def signin_options(options: dict[str, Any]) -> dict[str, Any]:
    """SigninWithOptions options, checked: known names, values of the right type, a port
    in range, a usable resource, a SHA-256 fingerprint."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        kind = SIGNIN_OPTIONS.get(key)
        if kind is None:
            known = ", ".join(sorted(SIGNIN_OPTIONS))
            raise invalid(f"unknown option {key!r} (known: {known})")
        if type(value) is not kind:  # (a bool is not a port)
            raise invalid(f"option {key!r} is a {kind.__name__}, not {type(value).__name__}")
        out[key] = value
    if "port" in out and not 0 < out["port"] < 65536:
        raise invalid(f"port {out['port']} is out of range")
    if "host" in out:
        out["host"] = out["host"].strip()
    if "resource" in out:
        resource = out["resource"].strip()
        if not resource or len(resource.encode()) > 1023 or "/" in resource:
            raise invalid(f"{resource!r} is not a usable resource")
        out["resource"] = resource
    if "trusted_fingerprint" in out:
        fingerprint = out["trusted_fingerprint"].replace(":", "").strip()
        if not _HEX.match(fingerprint):
            raise invalid("trusted_fingerprint is a SHA-256 in hex (64 digits)")
        out["trusted_fingerprint"] = fingerprint.lower()
    return out


class ContactApi:
    """``Contact1`` of a contact key (any valid address, in the list or not)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    @staticmethod
    def is_self(key: ContactKey) -> bool:
        return key[0] == key[1]

    def friendly_name(self, key: ContactKey) -> str:
        account, jid = key
        if self.is_self(key):
            config = self._core.accounts.find(account)
            return (config.nickname or jid) if config else jid
        return self._core.roster.display_name(account, jid)

    def status(self, key: ContactKey) -> int:
        account, jid = key
        if self.is_self(key):
            return self._api.account_status(account)
        contact = self._core.roster.contact(account, jid)
        presence = self._core.roster.presence(account, jid)
        if not presence.available and (
            contact is None or contact.subscription not in (Subscription.TO, Subscription.BOTH)
        ):
            return int(Status.UNKNOWN)
        if presence.show is Show.AWAY and presence.idle_since is not None:
            return int(Status.IDLE)
        return int(Status.from_show(presence.show))

    def status_message(self, key: ContactKey) -> str:
        account, jid = key
        if self.is_self(key):
            session = self._core.sessions.get(account)
            return session.status if session else ""
        return self._core.roster.presence(account, jid).status

    def blocked(self, key: ContactKey) -> bool:
        return self._core.blocking.is_blocked(*key)

    async def set_blocked(self, key: ContactKey, blocked: bool) -> None:
        if self.is_self(key):
            raise invalid("you cannot block yourself")
        self._api.online(key[0])
        try:
            if blocked:
                await self._core.blocking.block(*key)
            else:
                await self._core.blocking.unblock(*key)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    def groups(self, key: ContactKey) -> list[GroupKey]:
        account, jid = key
        contact = self._core.roster.contact(account, jid)
        groups = contact.groups if contact else ()
        return list(dict.fromkeys(self._api.group_key(account, g) for g in groups))


class GroupApi:
    """``Group1`` of a group key; a renamed group keeps its key's identity (the front
    re-keys its object, see :meth:`ApiEvents <chinwag.api.events.ApiEvents>`)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    def _exists(self, key: GroupKey) -> None:
        account, name = key
        if name not in self._core.roster.groups(account):
            raise ApiError.from_core(NoSuchGroup(f"there is no group named {name!r}"))

    async def rename(self, key: GroupKey, new: str) -> None:
        self._exists(key)
        try:
            await self._core.roster.rename_group(key[0], key[1], new)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    def contacts(self, key: GroupKey) -> list[ContactKey]:
        account, name = key
        roster = self._core.roster
        names = [name] + [
            old for (acc, old), new in self._api.renaming.items() if acc == account and new == name
        ]
        keys = ((account, c.jid) for group in names for c in roster.members(account, group))
        return list(dict.fromkeys(keys))

    async def add_contact(self, key: GroupKey, contact: ContactArg) -> int:
        account, name = key
        _account, jid = self._api.contact_key(contact, account)
        self._exists(key)
        if self._core.roster.contact(account, jid) is None:
            raise ApiError.from_core(ContactNotFound(f"{jid} is not in the contact list"))
        self._api.online(account)
        try:
            added = await self._core.roster.add_to_group(account, jid, name)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return S_OK if added else S_FALSE

    async def remove_contact(self, key: GroupKey, contact: ContactArg) -> int:
        account, name = key
        _account, jid = self._api.contact_key(contact, account)
        self._exists(key)
        self._api.online(account)
        try:
            await self._core.roster.remove_from_group(account, jid, name)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc
        return S_OK


class AccountApi:
    """``Account1`` of an account (its bare address)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    def enabled(self, account: str) -> bool:
        config = self._core.accounts.find(account)
        return bool(config and config.enabled)

    async def set_enabled(self, account: str, enabled: bool) -> None:
        if self._core.accounts.find(account) is None:
            raise ApiError(Code.FAIL, f"the account {account} was removed")
        try:
            await self._core.set_enabled(account, enabled)
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    def status(self, account: str) -> int:
        return self._api.account_status(account)
