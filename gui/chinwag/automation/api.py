"""What each automation member does (spec ``automation-api.md``), over the core services and
the windows a person uses. :mod:`chinwag.automation.interfaces` only adapts D-Bus calls to
the methods here; :mod:`chinwag.automation.signals` turns core events into the signals.

Errors are raised as :class:`~chinwag.core.errors.ChinwagError` (each knows its API name)
or as ``names.api_error(...)`` where the API's name differs from the core's meaning."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbus_next import Variant

from chinwag.automation import names
from chinwag.automation.bus import current_call
from chinwag.automation.interfaces import (
    Account,
    Contact,
    ConversationWindow,
    Group,
    Messages,
    Messenger,
    Window,
)
from chinwag.automation.objects import Numbered, WindowHandle, WindowHandles
from chinwag.core import jid as jids
from chinwag.core.errors import (
    AccountDisabled,
    AlreadyInList,
    ChinwagError,
    ContactNotFound,
    InvalidAddress,
    InvalidMessage,
    MessageTooLong,
    NotConnected,
    PasswordUnavailable,
    UnknownAccount,
)
from chinwag.core.models import (
    AccountConfig,
    ConnectionState,
    Message,
    MessageType,
    Show,
    Subscription,
)
from chinwag.core.session import FATAL_ERRORS
from chinwag.core.status import Status
from chinwag.core.tasks import BackgroundTasks

if TYPE_CHECKING:
    from dbus_next.aio import MessageBus

    from chinwag.automation.ports import ConversationView, Frame, WindowHost
    from chinwag.core.service import ChinwagCore

log = logging.getLogger(__name__)

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def invalid(text: str) -> Exception:
    return names.api_error("InvalidArgument", text)


def not_logged_on(text: str = "not signed in") -> Exception:
    return names.api_error("NotLoggedOn", text)


def hr_for(error: BaseException | None) -> int:
    """The signed ``hr`` an event reports for an outcome (0 = S_OK)."""
    if error is None:
        return names.S_OK
    name = error.api_name if isinstance(error, ChinwagError) else "Fail"
    return names.hr_of(name)


def check_frame(width: int, height: int) -> None:
    """SetGeometry refuses a size that is no size; any other frame is done as far as the
    screens allow (the window clamps it to their available geometry), and is S_OK."""
    if width <= 0 or height <= 0:
        raise invalid(f"a window cannot be {width}x{height}: width and height must be positive")


class AutomationApi:
    """The behaviour behind every member of the automation API."""

    def __init__(self, core: ChinwagCore, host: WindowHost, bus: MessageBus) -> None:
        self.core = core
        self.host = host
        self.bus = bus
        self.tasks = BackgroundTasks("automation request")
        self.messenger = Messenger(self)
        self.messages = Messages(self)
        #: Why the history cannot be written now ("" while it can): Messages1.StorageProblem.
        self.storage_problem = ""
        self.main_window = Window(MainWindowTarget(self))
        self.accounts = Numbered(
            bus, names.ACCOUNT_PATH, lambda jid: Account(AccountTarget(self, jid))
        )
        self.contacts = Numbered(
            bus, names.CONTACT_PATH, lambda key: Contact(ContactTarget(self, *key))
        )
        self.groups = Numbered(bus, names.GROUP_PATH, lambda key: Group(GroupTarget(self, *key)))
        self.windows = WindowHandles(bus, self._window_interfaces)
        #: (account, old group name) -> new name, while a rename moves the members.
        self.renaming: dict[tuple[str, str], str] = {}

    def _window_interfaces(self, handle: WindowHandle) -> list[Any]:
        target = ConversationTarget(self, handle)
        return [Window(target), ConversationWindow(target)]

    def export(self) -> None:
        self.bus.export(names.MESSENGER_PATH, self.messenger)
        self.bus.export(names.MESSENGER_PATH, self.messages)
        self.bus.export(names.MAIN_WINDOW_PATH, self.main_window)
        for config in self.core.accounts.accounts:
            self.accounts.path(config.jid)

    # -- resolving arguments -------------------------------------------------------------

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

    def contact_key(self, contact: Any, account: str | None = None) -> tuple[str, str]:
        """(account, bare address) from a ``v`` holding ``s`` (on ``account`` or the
        primary one) or ``o`` (a contact object)."""
        if not isinstance(contact, Variant):
            raise invalid("a contact is a variant")
        if contact.signature == "s":
            return (account or self.primary(), self.address(contact.value))
        if contact.signature == "o":
            key = self.contacts.key(contact.value)
            if key is None:
                raise invalid(f"{contact.value} is not a contact object")
            if account is not None and key[0] != account:
                raise invalid(f"{contact.value} is a contact of another account")
            return key  # type: ignore[no-any-return]
        raise invalid(
            f"a contact is a sign-in name (s) or a contact path (o), not {contact.signature!r}"
        )

    def account_of(self, service_id: str) -> str:
        """'' = the primary account, else an account path or sign-in name."""
        if not service_id:
            return self.primary()
        key = self.accounts.key(service_id)
        if key is not None and self.core.accounts.find(key) is not None:
            return str(key)
        config = self.core.accounts.find(service_id)
        if config is None:
            raise invalid(f"no account {service_id!r}")
        return config.jid

    def contact_path(self, account: str, jid: str) -> str:
        return self.contacts.path((account, jid))

    def group_path(self, account: str, name: str) -> str:
        name = self.renaming.get((account, name), name)
        return self.groups.path((account, name))

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

    @staticmethod
    def caller() -> str | None:
        call = current_call.get()
        return call.sender if call is not None else None

    # -- Messenger1 ----------------------------------------------------------------------

    def instant_message(self, contact: Any) -> list[Any]:
        account, jid = self.contact_key(contact)
        if not self.signed_in(account):
            raise not_logged_on(self.not_signed_in(account))
        try:
            view = self.host.open(account, jid, activate=False)
            handle = self.windows.for_view(view)
        except Exception as exc:
            log.exception("InstantMessage %s failed", jid)
            raise names.api_error("Fail", "could not get window handle") from exc
        path = self.windows.hand_out(handle)
        return [names.S_FALSE if handle.closed else names.S_OK, path]

    def get_contact(self, signin_name: str, service_id: str) -> str:
        jid = self.address(signin_name)
        return self.contact_path(self.account_of(service_id), jid)

    async def signin(self, signin_name: str, password: str, options: dict[str, Any]) -> int:
        """Start signing in. A password given is used at once (it is saved meanwhile);
        without one, the stored one is looked up, which takes at most the password
        store's short timeout, never as long as a keyring prompt is up."""
        jid = self.address(signin_name)
        if "@" not in jid:
            raise invalid(f"{jid!r} is a server, not an account: use name@{jid}")
        opts = self._signin_options(options)
        register = bool(opts.pop("register", False))
        remember = bool(opts.pop("remember", True))
        if not password and self.core.accounts.find(jid) is not None and not self.signed_in(jid):
            try:
                stored = await self.core.accounts.load_password(jid)
            except PasswordUnavailable as exc:  # the session tries again until it can tell
                log.info("signing %s in without knowing its password yet: %s", jid, exc)
                stored = ""
            if stored is None:
                raise invalid(f"no password is stored for {jid}: give one")
        existing = self.core.accounts.find(jid)
        if existing is not None:
            session = self.core.session(jid)
            if self.signed_in(jid):
                if password and session.state is not ConnectionState.ONLINE:
                    # Still trying (a keyring that did not answer, say): its next try
                    # uses the password given.
                    self.core.accounts.set_password(jid, password, remember=remember)
                return names.S_FALSE
            self.core.accounts.update(replace(existing, enabled=True, **opts))
            if password:
                self.core.accounts.set_password(jid, password, remember=remember)
        else:
            if not password:
                raise invalid("a new account needs a password")
            session = self.core.add_account(
                AccountConfig(jid=jid, **opts), password, remember=remember, primary=True
            )
        self.tasks.spawn(self._sign_in(session.account, register))
        return names.S_OK

    async def _sign_in(self, account: str, register: bool) -> None:
        try:
            await self.core.sign_in(account, register=register)
        except ChinwagError as exc:  # reported as OnSignin(hr) from the state change
            log.info("sign-in of %s failed: %s", account, exc.message)

    @staticmethod
    def _signin_options(options: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in options.items():
            signature = names.SIGNIN_OPTIONS.get(key)
            if signature is None:
                known = ", ".join(sorted(names.SIGNIN_OPTIONS))
                raise invalid(f"unknown option {key!r} (known: {known})")
            if not isinstance(value, Variant) or value.signature != signature:
                got = value.signature if isinstance(value, Variant) else type(value).__name__
                raise invalid(f"option {key!r} is {signature!r}, not {got!r}")
            out[key] = value.value
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

    def auto_signin(self) -> int:
        enabled = [a.jid for a in self.core.accounts.accounts if a.enabled]
        if not enabled:
            raise names.api_error("Fail", "there is no enabled account to sign in")
        already = all(self.signed_in(jid) for jid in enabled)
        self.core.auto_sign_in()
        return names.S_FALSE if already else names.S_OK

    async def signout(self) -> int:
        return names.S_OK if await self.core.sign_out() else names.S_FALSE

    def add_contact(self, signin_name: str) -> int:
        jid = self.address(signin_name)
        account = self.primary()
        self.online(account)
        if jid == account:
            raise invalid("you cannot add yourself to your contact list")
        contact = self.core.roster.contact(account, jid)
        if contact is not None and contact.subscription is not Subscription.REMOVE:
            raise AlreadyInList(f"{jid} is already in the contact list")
        path = self.contact_path(account, jid)
        self.tasks.spawn(
            self._outcome(
                self.core.roster.add_contact(account, jid), self.messenger.OnContactListAdd, path
            )
        )
        return names.S_OK

    def remove_contact(self, contact: Any) -> int:
        account, jid = self.contact_key(contact)
        if self.core.roster.contact(account, jid) is None:
            raise ContactNotFound(f"{jid} is not in the contact list")
        self.online(account)
        path = self.contact_path(account, jid)
        self.tasks.spawn(
            self._outcome(
                self.core.roster.remove_contact(account, jid),
                self.messenger.OnContactListRemove,
                path,
            )
        )
        return names.S_OK

    @staticmethod
    async def _outcome(request: Any, signal: Any, path: str) -> None:
        """Await a roster request; success is signalled when the roster changes, a
        failure here with its hr."""
        try:
            await request
        except Exception as exc:
            if not isinstance(exc, ChinwagError):
                log.exception("roster request failed")
            signal(hr_for(exc), path)

    def create_group(self, name: str) -> str:
        account = self.primary()
        name = self.core.roster.create_group(account, name)
        return self.group_path(account, name)

    async def set_status(self, status: int, message: str | None) -> int:
        try:
            picked = Status(status)
        except ValueError:
            raise invalid(f"0x{status:X} is not a MISTATUS value") from None
        if message is None:  # MyStatus written: keep the message
            sessions = self.core.enabled_sessions()
            message = sessions[0].status if sessions else ""
        changed = await self.core.set_status(picked, message)
        return names.S_OK if changed else names.S_FALSE

    def quit(self) -> int:
        self.host.quit()
        return names.S_OK

    def my_contacts(self) -> list[str]:
        account = self.core.primary
        if account is None:
            return []
        return [self.contact_path(account, c.jid) for c in self.core.roster.contacts(account)]

    def my_groups(self) -> list[str]:
        account = self.core.primary
        if account is None:
            return []
        return list(
            dict.fromkeys(self.group_path(account, g) for g in self.core.roster.groups(account))
        )

    def my_signin_name(self) -> str:
        return self.core.primary or ""

    def my_friendly_name(self) -> str:
        config = self.core.accounts.primary
        return (config.nickname or config.jid) if config else ""

    def my_status(self) -> int:
        account = self.core.primary
        return self.account_status(account) if account else int(Status.OFFLINE)

    def my_service_id(self) -> str:
        account = self.core.primary
        return self.accounts.path(account) if account else ""

    def conversation_windows(self) -> list[str]:
        return [self.windows.hand_out(h) for h in self.windows.open_handles()]

    def account_paths(self) -> list[str]:
        return [self.accounts.path(a.jid) for a in self.core.accounts.accounts]

    # -- Messages1 -----------------------------------------------------------------------

    async def send_message(
        self, account_path: str, target_id: str, parts: list[dict[str, Any]], flags: int
    ) -> str:
        if account_path == "/":
            account = self.core.primary
            if account is None:
                raise names.api_error("NotAvailable", "there is no account to send from")
        else:
            key = self.accounts.key(account_path)
            if key is None or self.core.accounts.find(key) is None:
                raise names.api_error("InvalidHandle", f"{account_path} is not an account")
            account = str(key)
        try:
            target = jids.Jid.parse(target_id).bare
        except InvalidAddress as exc:
            raise names.api_error("InvalidHandle", f"bad target: {exc.message}") from exc
        if flags & ~names.REPORT_FLAGS:
            raise names.api_error(
                "NotImplemented", f"unknown flags 0x{flags & ~names.REPORT_FLAGS:X}"
            )
        body, mtype = parse_message_parts(parts)
        await self._can_send(account)
        # Straight to the core, whatever windows are open: an open window with the target
        # shows the message from the core's MessageAdded, as it shows one typed in it
        # (the same stored message, flags and type), so it is never in the way.
        try:
            message = await self.core.messaging.send(
                account, target, body, mtype=mtype, flags=flags, connect=True
            )
        except MessageTooLong:
            raise
        except InvalidMessage as exc:
            raise names.api_error("InvalidHandle", exc.message) from exc
        except (AccountDisabled, NotConnected) as exc:
            raise names.api_error("Disconnected", exc.message) from exc
        except UnknownAccount as exc:
            raise names.api_error("InvalidHandle", exc.message) from exc
        return message.uid

    async def _can_send(self, account: str) -> None:
        """Offline, with the reason, for an account that cannot sign in until someone
        acts (the spec's "connected, and the message waits" cannot happen: the message
        would wait forever). Disabled and signed-out accounts are the core's to refuse."""
        session = self.core.sessions.get(account)
        if session is None or not session.config.enabled or session.signed_out:
            return
        error = self.cannot_sign_in(account)
        if error is not None:
            raise names.api_error(
                "Offline", f"{account} cannot sign in: {error.message}; sign in again when fixed"
            )
        if session.wanted:
            return  # signing in, or retrying: the message waits for it
        # Not signing in: SendMessage would start it. Without a password it cannot work.
        try:
            stored = await self.core.accounts.load_password(account)
        except PasswordUnavailable:
            return  # the keyring may yet answer: the message waits, the session retries
        if stored is None:
            raise names.api_error(
                "Offline",
                f"{account} cannot sign in: no password is stored for {account}; "
                "sign in with one (Signin)",
            )


def parse_message_parts(parts: list[dict[str, Any]]) -> tuple[str, MessageType]:
    """Telepathy message parts -> (text, message type); InvalidHandle when malformed."""

    def bad(text: str) -> Exception:
        return names.api_error("InvalidHandle", f"malformed message: {text}")

    if not parts:
        raise bad("no parts (part 0 is the header)")
    header = parts[0]
    forbidden = sorted(names.FORBIDDEN_HEADER_KEYS & header.keys())
    if forbidden:
        raise bad(f"the sender may not set {', '.join(forbidden)}")
    mtype = MessageType.NORMAL
    if "message-type" in header:
        value = header["message-type"]
        if value.signature != "u" or value.value not in {t.value for t in MessageType}:
            raise bad("message-type is a u: 0 normal, 1 action or 2 notice")
        mtype = MessageType(value.value)
    texts: list[str] = []
    alternatives: set[str] = set()
    for n, part in enumerate(parts[1:], 1):
        content_type = part.get("content-type")
        if content_type is None:
            continue  # a part without content-type is ignored
        if content_type.signature != "s":
            raise bad(f"part {n}: content-type is a string")
        if content_type.value.split(";")[0].strip().lower() != "text/plain":
            continue
        alternative = part.get("alternative")
        if alternative is not None:
            if alternative.signature != "s":
                raise bad(f"part {n}: alternative is a string")
            if alternative.value in alternatives:
                continue  # another form of a text already taken
            alternatives.add(alternative.value)
        content = part.get("content")
        if content is None or content.signature != "s":
            raise bad(f"part {n}: a text/plain part needs a string content")
        texts.append(content.value)
    if not texts:
        raise bad("no text/plain part")
    return "\n".join(texts), mtype


def message_parts(
    message: Message, extra: dict[str, Variant] | None = None
) -> list[dict[str, Variant]]:
    """A stored message as Telepathy parts (header and one text/plain part)."""
    header = {
        "message-token": Variant("s", message.uid),
        "message-type": Variant("u", int(message.mtype)),
        "message-sent": Variant("x", int(message.timestamp)),
    }
    if extra:
        header.update(extra)
    return [
        header,
        {"content-type": Variant("s", "text/plain"), "content": Variant("s", message.body)},
    ]


class MainWindowTarget:
    """Window1 of the main window: Close hides it to the tray."""

    def __init__(self, api: AutomationApi) -> None:
        self._api = api

    @property
    def _view(self) -> Any:
        return self._api.host.main

    def show(self) -> int:
        self._view.present(True)
        return names.S_OK

    def close(self) -> int:
        if not self._view.is_shown():
            return names.S_FALSE
        self._view.hide_to_tray()
        return names.S_OK

    def set_geometry(self, left: int, top: int, width: int, height: int) -> int:
        check_frame(width, height)
        self._view.set_frame(left, top, width, height)
        return names.S_OK

    def release(self) -> int:
        return names.S_OK  # the main window lives as long as the app

    def is_closed(self) -> bool:
        return not self._view.is_shown()

    def hwnd(self) -> int:
        return int(self._view.native_id()) if self._view.is_shown() else 0

    def frame(self) -> Frame:
        return self._view.frame()  # type: ignore[no-any-return]


class ConversationTarget:
    """Window1 and ConversationWindow1 of one conversation-window handle."""

    def __init__(self, api: AutomationApi, handle: WindowHandle) -> None:
        self._api = api
        self._handle = handle

    @property
    def _view(self) -> ConversationView | None:
        return self._handle.view

    def show(self) -> int:
        if self._view is None:
            return names.S_FALSE
        self._view.present(True)
        return names.S_OK

    def close(self) -> int:
        view = self._view
        if view is None:
            return names.S_FALSE
        view.close()
        return names.S_OK

    def set_geometry(self, left: int, top: int, width: int, height: int) -> int:
        if self._view is None:
            return names.S_FALSE
        check_frame(width, height)
        self._view.set_frame(left, top, width, height)
        return names.S_OK

    def release(self) -> int:
        self._api.windows.release_by(self._handle, self._api.caller())
        return names.S_OK

    def is_closed(self) -> bool:
        return self._view is None

    def hwnd(self) -> int:
        return int(self._view.native_id()) if self._view is not None else 0

    def frame(self) -> Frame:
        return self._view.frame() if self._view is not None else self._handle.last_frame

    async def send_text(self, text: str) -> int:
        view = self._view
        if view is None:
            return names.S_FALSE
        await view.send_text(text)
        return names.S_OK

    def add_contact(self, contact: Any) -> int:
        self._api.contact_key(contact, self._handle.account)  # InvalidArgument first
        if self._view is None:
            return names.S_FALSE
        raise names.api_error(
            "NotImplemented", "group conversations are not available in this version"
        )

    def contacts(self) -> list[str]:
        return [self._api.contact_path(self._handle.account, self._handle.peer)]

    def history(self) -> str:
        view = self._view
        rows = view.transcript() if view is not None else self._handle.last_transcript
        return "".join(transcript_line(m, name) for m, name in rows)


def transcript_line(message: Message, name: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.timestamp))
    text = " ".join(message.body.splitlines())
    return f"[{stamp}] {name}: {text}\n"


class ContactTarget:
    """Contact1 of (account, bare address)."""

    def __init__(self, api: AutomationApi, account: str, jid: str) -> None:
        self._api = api
        self.account = account
        self.jid = jid

    @property
    def _core(self) -> ChinwagCore:
        return self._api.core

    def is_self(self) -> bool:
        return self.jid == self.account

    def friendly_name(self) -> str:
        if self.is_self():
            config = self._core.accounts.find(self.account)
            return (config.nickname or self.jid) if config else self.jid
        contact = self._core.roster.contact(self.account, self.jid)
        return contact.display_name if contact else self.jid

    def status(self) -> int:
        if self.is_self():
            return self._api.account_status(self.account)
        contact = self._core.roster.contact(self.account, self.jid)
        presence = self._core.roster.presence(self.account, self.jid)
        if not presence.available and (
            contact is None or contact.subscription not in (Subscription.TO, Subscription.BOTH)
        ):
            return int(Status.UNKNOWN)
        if presence.show is Show.AWAY and presence.idle_since is not None:
            return int(Status.IDLE)
        return int(Status.from_show(presence.show))

    def status_message(self) -> str:
        if self.is_self():
            session = self._core.sessions.get(self.account)
            return session.status if session else ""
        return self._core.roster.presence(self.account, self.jid).status

    def service_id(self) -> str:
        return self._api.accounts.path(self.account)

    def blocked(self) -> bool:
        return self._core.blocking.is_blocked(self.account, self.jid)

    async def set_blocked(self, blocked: bool) -> None:
        if self.is_self():
            raise invalid("you cannot block yourself")
        self._api.online(self.account)
        if blocked:
            await self._core.blocking.block(self.account, self.jid)
        else:
            await self._core.blocking.unblock(self.account, self.jid)

    def groups(self) -> list[str]:
        contact = self._core.roster.contact(self.account, self.jid)
        groups = contact.groups if contact else ()
        return list(dict.fromkeys(self._api.group_path(self.account, g) for g in groups))


class GroupTarget:
    """Group1 of (account, group name); a renamed group keeps its object."""

    def __init__(self, api: AutomationApi, account: str, name: str) -> None:
        self._api = api
        self.account = account
        self._name = name

    def name(self) -> str:
        return self._name

    def renamed(self, new: str) -> None:
        self._name = new

    def _exists(self) -> None:
        from chinwag.core.errors import NoSuchGroup

        if self._name not in self._api.core.roster.groups(self.account):
            raise NoSuchGroup(f"there is no group named {self._name!r}")

    async def rename(self, new: str) -> None:
        self._exists()
        await self._api.core.roster.rename_group(self.account, self._name, new)

    def contacts(self) -> list[str]:
        roster = self._api.core.roster
        names_ = [self._name] + [
            old
            for (acc, old), new in self._api.renaming.items()
            if acc == self.account and new == self._name
        ]
        paths = (
            self._api.contact_path(self.account, c.jid)
            for name in names_
            for c in roster.members(self.account, name)
        )
        return list(dict.fromkeys(paths))

    async def add_contact(self, contact: Any) -> int:
        _account, jid = self._api.contact_key(contact, self.account)
        self._exists()
        if self._api.core.roster.contact(self.account, jid) is None:
            raise ContactNotFound(f"{jid} is not in the contact list")
        self._api.online(self.account)
        added = await self._api.core.roster.add_to_group(self.account, jid, self._name)
        return names.S_OK if added else names.S_FALSE

    async def remove_contact(self, contact: Any) -> int:
        _account, jid = self._api.contact_key(contact, self.account)
        self._exists()
        self._api.online(self.account)
        await self._api.core.roster.remove_from_group(self.account, jid, self._name)
        return names.S_OK


class AccountTarget:
    """Account1 of one account."""

    def __init__(self, api: AutomationApi, jid: str) -> None:
        self._api = api
        self.jid = jid

    def enabled(self) -> bool:
        config = self._api.core.accounts.find(self.jid)
        return bool(config and config.enabled)

    async def set_enabled(self, enabled: bool) -> None:
        if self._api.core.accounts.find(self.jid) is None:
            raise names.api_error("Fail", f"the account {self.jid} was removed")
        await self._api.core.set_enabled(self.jid, enabled)

    def status(self) -> int:
        return self._api.account_status(self.jid)
