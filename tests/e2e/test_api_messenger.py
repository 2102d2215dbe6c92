"""End to end: ``im.chinwag.Messenger1`` (spec ``automation-api.md`` section 4) and the error
replies of section 2, against the app as a process on a private bus and the real Prosody.

Every expectation here is taken from the spec, not from the implementation: the names,
paths, signatures and HRESULTs are spelled out below again on purpose. (Window lifetime of
``InstantMessage`` is covered elsewhere; here only its arguments and errors.)

The helpers at the top are shared with ``test_api_contacts.py``."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import (
    ApiClient,
    ApiError,
    AppProcess,
    SignalLog,
    start_app,
    write_profile,
)
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer, free_port

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

# --------------------------------------------------------------------------- the spec

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MAIN_WINDOW = f"{ROOT}/window/main"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
WINDOW = "im.chinwag.Window1"
CONVERSATION_WINDOW = "im.chinwag.ConversationWindow1"
CONTACT = "im.chinwag.Contact1"
GROUP = "im.chinwag.Group1"
ACCOUNT = "im.chinwag.Account1"
PROPERTIES = "org.freedesktop.DBus.Properties"

S_OK = 0
S_FALSE = 1

#: Section 2: error name -> HRESULT.
HRESULTS = {
    "Fail": 0x80004005,
    "InvalidArgument": 0x80070057,
    "NotImplemented": 0x80004001,
    "NotLoggedOn": 0x8100031E,
    "InvalidPassword": 0x81000303,
    "Connect": 0x81000301,
    "UserNotFound": 0x8100030A,
    "AlreadyInList": 0x8100030B,
    "Disconnected": 0x8100030C,
    "MessageTooLong": 0x8100033F,
    "TlsFail": 0x81000361,
    "InvalidCertificate": 0x81000368,
    "GroupAlreadyExists": 0x8100034B,
    "GroupDoesNotExist": 0x8100034D,
    "BadGroupName": 0x81000351,
    "UserNotGroupMember": 0x8100034E,
    "NetworkError": 0x80004005,
    "InvalidHandle": 0x80004005,
    "Offline": 0x80004005,
    "NotAvailable": 0x80004005,
    "PermissionDenied": 0x80004005,
}

#: Section 3 (MISTATUS).
UNKNOWN = 0x00
OFFLINE = 0x01
ONLINE = 0x02
INVISIBLE = 0x06
BUSY = 0x0A
BE_RIGHT_BACK = 0x0E
IDLE = 0x12
AWAY = 0x22
ON_THE_PHONE = 0x32
OUT_TO_LUNCH = 0x42

CONTACT_PATH = re.compile(rf"^{re.escape(ROOT)}/\S+$")
WINDOW_PATH = re.compile(rf"^{re.escape(ROOT)}/window/[1-9][0-9]*$")
ACCOUNT_PATH = re.compile(rf"^{re.escape(ROOT)}/account/[0-9]+$")

#: Every interface of sections 4-7 as introspection must show it:
#: methods name -> (in signature, out signature); properties name -> (type, access or
#: None where the spec does not say); signals name -> signature.
SPEC_INTERFACES: dict[str, dict[str, dict[str, Any]]] = {
    MESSENGER: {
        "methods": {
            "InstantMessage": ("v", "io"),
            "GetContact": ("ss", "o"),
            "Signin": ("ss", "i"),
            "SigninWithOptions": ("ssa{sv}", "i"),
            "AutoSignin": ("", "i"),
            "Signout": ("", "i"),
            "AddContact": ("s", "i"),
            "RemoveContact": ("v", "i"),
            "CreateGroup": ("s", "o"),
            "SetStatus": ("us", "i"),
            "Quit": ("", "i"),
        },
        "properties": {
            "MyContacts": ("ao", "read"),
            "MyGroups": ("ao", "read"),
            "MySigninName": ("s", "read"),
            "MyFriendlyName": ("s", "read"),
            "MyStatus": ("u", "readwrite"),
            "MyServiceId": ("s", "read"),
            "MyServiceName": ("s", "read"),
            "Window": ("o", "read"),
            "ConversationWindows": ("ao", "read"),
            "Accounts": ("ao", "read"),
        },
        "signals": {
            "OnSignin": "i",
            "OnSignout": "",
            "OnMyStatusChange": "iu",
            "OnContactStatusChange": "ou",
            "OnContactListAdd": "io",
            "OnContactListRemove": "io",
            "OnContactFriendlyNameChange": "ios",
            "OnMyFriendlyNameChange": "is",
            "OnContactBlockChange": "iob",
            "OnIMWindowCreated": "o",
            "OnIMWindowDestroyed": "o",
            "OnIMWindowContactAdded": "oo",
            "OnIMWindowContactRemoved": "oo",
            "OnGroupAdded": "io",
            "OnGroupRemoved": "io",
            "OnGroupNameChanged": "io",
            "OnContactAddedToGroup": "ioo",
            "OnContactRemovedFromGroup": "ioo",
            "OnAppShutdown": "",
        },
    },
    MESSAGES: {
        "methods": {"SendMessage": ("osaa{sv}u", "s")},
        "properties": {},
        "signals": {"MessageSent": "aa{sv}us", "MessageReceived": "aa{sv}"},
    },
    WINDOW: {
        "methods": {
            "Show": ("", "i"),
            "Close": ("", "i"),
            "SetGeometry": ("iiii", "i"),
            "Release": ("", "i"),
        },
        "properties": {
            "IsClosed": ("b", None),
            "HWND": ("t", None),
            "Left": ("i", None),
            "Top": ("i", None),
            "Width": ("i", None),
            "Height": ("i", None),
        },
        "signals": {},
    },
    CONVERSATION_WINDOW: {
        "methods": {"SendText": ("s", "i"), "AddContact": ("v", "i")},
        "properties": {"Contacts": ("ao", None), "History": ("s", None)},
        "signals": {},
    },
    CONTACT: {
        "methods": {},
        "properties": {
            "SigninName": ("s", None),
            "FriendlyName": ("s", None),
            "Status": ("u", None),
            "StatusMessage": ("s", None),
            "ServiceName": ("s", None),
            "ServiceId": ("s", None),
            "IsSelf": ("b", None),
            "Blocked": ("b", "readwrite"),
            "Groups": ("ao", None),
        },
        "signals": {},
    },
    GROUP: {
        "methods": {"AddContact": ("v", "i"), "RemoveContact": ("v", "i")},
        "properties": {"Name": ("s", "readwrite"), "Contacts": ("ao", None)},
        "signals": {},
    },
    ACCOUNT: {
        "methods": {},
        "properties": {
            "SigninName": ("s", None),
            "Enabled": ("b", "readwrite"),
            "Status": ("u", None),
            "Protocol": ("s", None),
        },
        "signals": {},
    },
}

TIMEOUT = 30.0

# --------------------------------------------------------------------------- helpers


def check_error(error: ApiError, name: str) -> None:
    """``error`` is ``im.chinwag.Error.<name>`` and its message starts with the spec's
    HRESULT in hex, a colon and a sentence (section 2)."""
    assert error.name == f"im.chinwag.Error.{name}", f"expected {name}, got {error}"
    match = re.match(r"^0x([0-9A-Fa-f]{8}): (\S.*)$", error.text, re.DOTALL)
    assert match, f"{error.name}: message does not start with '0x<HRESULT>: ': {error.text!r}"
    assert int(match.group(1), 16) == HRESULTS[name], (
        f"{error.name}: HRESULT 0x{match.group(1)} is not 0x{HRESULTS[name]:08X} ({error.text!r})"
    )
    assert re.search(r"[A-Za-z]{2,}", match.group(2)), (
        f"no sentence after the HRESULT: {error.text!r}"
    )


async def expect_error(call: Awaitable[Any], name: str) -> ApiError:
    """Await ``call``; it must fail with the API error ``name``."""
    try:
        result = await call
    except ApiError as exc:
        check_error(exc, name)
        return exc
    raise AssertionError(f"expected im.chinwag.Error.{name}, got the reply {result!r}")


async def expect_any_error(call: Awaitable[Any], *names: str) -> ApiError:
    """Await ``call``; it must fail, with one of ``names`` (full error names) if given."""
    with pytest.raises(ApiError) as caught:
        await call
    if names:
        assert caught.value.name in names, f"expected one of {names}, got {caught.value}"
    return caught.value


def hr(name: str) -> int:
    """The signed ``hr`` an event carries for error ``name``."""
    value = HRESULTS[name]
    return value - (1 << 32) if value & 0x80000000 else value


def now() -> float:
    return asyncio.get_running_loop().time()


async def signal_after(
    log: SignalLog,
    mark: int,
    member: str,
    match: Callable[[list[Any]], bool] = lambda _body: True,
    timeout: float = TIMEOUT,
) -> list[Any]:
    """The first ``member`` signal recorded at index ``mark`` or later that matches."""
    deadline = now() + timeout
    while True:
        for m, body in log.items[mark:]:
            if m == member and match(body):
                return body
        if now() > deadline:
            seen = [(m, b) for m, b in log.items[mark:]][-15:]
            raise AssertionError(f"no matching {member} within {timeout}s; since then: {seen}")
        await asyncio.sleep(0.02)


async def until(
    read: Callable[[], Awaitable[Any]],
    check: Callable[[Any], bool],
    what: str,
    timeout: float = TIMEOUT,
) -> Any:
    """Poll ``read()`` until ``check`` holds (with a deadline)."""
    deadline = now() + timeout
    while True:
        value = await read()
        if check(value):
            return value
        if now() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout}s")
        await asyncio.sleep(0.05)


async def prop(client: ApiClient, path: str, interface: str, name: str) -> Any:
    return await client.get(path, interface, name)


async def my(client: ApiClient, name: str) -> Any:
    return await client.get(ROOT, MESSENGER, name)


async def alive(app: AppProcess, client: ApiClient) -> None:
    """The process runs and the API answers."""
    assert app.running(), f"the app died\n{app.diagnostics()}"
    assert await my(client, "MyServiceName") == "XMPP", app.diagnostics()


def bus_env(app: AppProcess) -> dict[str, str]:
    env = dict(app.env)
    env["DBUS_SESSION_BUS_ADDRESS"] = app.bus_address
    return env


async def run_tool(app: AppProcess, *argv: str) -> tuple[int, str, str]:
    """Run a command-line D-Bus tool against the app's bus: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=bus_env(app),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def server_options(server: ProsodyServer, **more: Variant) -> dict[str, Variant]:
    return {"host": Variant("s", server.host), "port": Variant("u", server.port), **more}


@pytest.fixture
async def empty_app(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    """The app with an empty profile (no account), alone on the private bus."""
    app = await start_app_without_account(prosody, tmp_path / "empty")
    try:
        yield app
    finally:
        await stop_app(app)


async def start_app_without_account(server: ProsodyServer, home: Path) -> AppProcess:
    env = write_profile(home, "", "", server)
    return await start_app(home, env, "", "", server)


async def stop_app(app: AppProcess) -> None:
    await app.close_clients()
    if app.running():
        try:
            await app.terminate()
        except AssertionError:
            app.proc.kill()
            await app.proc.wait()


# --------------------------------------------------------------------------- GetContact


async def test_get_contact(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    me = chinwag_app.jid
    bob = "bob-get@localhost"

    path = await client.messenger("GetContact", "ss", bob, "")
    assert CONTACT_PATH.match(path), path
    assert await client.messenger("GetContact", "ss", bob, "") == path
    # the same bare address, spelled with a different case of domain and local part
    assert await client.messenger("GetContact", "ss", "Bob-Get@LocalHost", "") == path

    props = await client.get_all(path, CONTACT)
    assert props["SigninName"] == bob
    assert props["ServiceName"] == "XMPP"
    assert props["ServiceId"] == await my(client, "MyServiceId")
    assert props["IsSelf"] is False
    assert props["Blocked"] is False
    assert props["Groups"] == []
    assert props["Status"] == UNKNOWN  # not in the list, no subscription
    assert isinstance(props["FriendlyName"], str)
    assert isinstance(props["StatusMessage"], str)

    # service_id: the primary account by path and by sign-in name
    account = await my(client, "MyServiceId")
    assert ACCOUNT_PATH.match(account), account
    assert await client.messenger("GetContact", "ss", bob, account) == path
    assert await client.messenger("GetContact", "ss", bob, me) == path

    other = await client.messenger("GetContact", "ss", "carol-get@localhost", "")
    assert other != path

    self_path = await client.messenger("GetContact", "ss", me, "")
    assert self_path != path
    assert await prop(client, self_path, CONTACT, "IsSelf") is True
    assert await prop(client, self_path, CONTACT, "SigninName") == me
    assert await prop(client, self_path, CONTACT, "Status") == ONLINE

    for bad in (
        "",
        "   ",
        "@localhost",
        "bob@",
        "bob@@localhost",
        "a b@localhost",
        "bob@local host",
    ):
        await expect_error(client.messenger("GetContact", "ss", bad, ""), "InvalidArgument")

    # an account that does not exist: an API error, whatever its name
    for unknown in (f"{ROOT}/account/9999", "nobody-here@localhost"):
        with pytest.raises(ApiError) as caught:
            await client.messenger("GetContact", "ss", bob, unknown)
        name = caught.value.name.removeprefix("im.chinwag.Error.")
        assert name in HRESULTS, caught.value
        check_error(caught.value, name)
    await alive(chinwag_app, client)


# --------------------------------------------------------------------------- InstantMessage


async def test_instant_message_arguments_and_errors(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    contact = await client.messenger("GetContact", "ss", "dave-im@localhost", "")

    # a contact path works as well as a sign-in name, and gives the same window
    hr_, window = await client.messenger("InstantMessage", "v", Variant("o", contact))
    assert hr_ == S_OK
    assert WINDOW_PATH.match(window), window
    await signals.wait_for("OnIMWindowCreated", lambda b: b == [window])
    await signals.wait_for("OnIMWindowContactAdded", lambda b: b == [contact, window])
    assert await client.messenger("InstantMessage", "v", Variant("s", "dave-im@localhost")) == [
        S_OK,
        window,
    ]
    assert await prop(client, window, CONVERSATION_WINDOW, "Contacts") == [contact]
    assert window in await my(client, "ConversationWindows")

    bad_variants = [
        Variant("u", 7),
        Variant("i", -1),
        Variant("b", True),
        Variant("as", ["dave-im@localhost"]),
        Variant("ay", b"dave-im@localhost"),
        Variant("v", Variant("s", "dave-im@localhost")),
        Variant("s", ""),
        Variant("s", "dave@@localhost"),
        Variant("s", "dave im@localhost"),
        Variant("o", MAIN_WINDOW),  # an object path, but not a contact's
    ]
    for bad in bad_variants:
        await expect_error(client.messenger("InstantMessage", "v", bad), "InvalidArgument")

    assert await client.call(window, WINDOW, "Close") == [S_OK]
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [window])
    await until(
        lambda: my(client, "ConversationWindows"),
        lambda ws: window not in ws,
        "ConversationWindows after Close",
    )
    await alive(chinwag_app, client)


# --------------------------------------------------------------------------- properties


async def test_messenger_properties(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    props = await client.get_all(ROOT, MESSENGER)
    assert set(props) >= set(SPEC_INTERFACES[MESSENGER]["properties"]), sorted(props)
    assert props["MySigninName"] == chinwag_app.jid
    assert props["MyServiceName"] == "XMPP"
    assert props["Window"] == MAIN_WINDOW
    assert props["ConversationWindows"] == []
    assert props["MyContacts"] == []
    assert props["MyGroups"] == []
    assert props["MyStatus"] == ONLINE
    assert isinstance(props["MyFriendlyName"], str)
    assert props["MyFriendlyName"]
    accounts = props["Accounts"]
    assert len(accounts) == 1, accounts
    assert ACCOUNT_PATH.match(accounts[0]), accounts
    assert props["MyServiceId"] == accounts[0]
    assert await prop(client, accounts[0], ACCOUNT, "SigninName") == chinwag_app.jid

    # every single Get agrees with GetAll
    for name, value in props.items():
        assert await my(client, name) == value, name

    # read-only properties refuse a write, and nothing changes
    for name, value in (
        ("MySigninName", Variant("s", "someone@localhost")),
        ("MyServiceName", Variant("s", "ICQ")),
        ("Accounts", Variant("ao", [])),
    ):
        await expect_any_error(client.set(ROOT, MESSENGER, name, value))
    assert await my(client, "MySigninName") == chinwag_app.jid
    assert await my(client, "Accounts") == accounts

    # the Window property is a live Window1 object
    assert isinstance(await prop(client, MAIN_WINDOW, WINDOW, "IsClosed"), bool)
    await alive(chinwag_app, client)


# --------------------------------------------------------------------------- sign-in


async def test_signin_with_options_on_an_empty_profile(
    empty_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await empty_app.client()
    signals = await client.watch()
    jid, password = prosody.make_user("signin")

    assert await my(client, "MySigninName") == ""
    assert await my(client, "Accounts") == []
    assert await my(client, "MyContacts") == []
    await expect_error(client.messenger("AutoSignin"), "Fail")
    await expect_error(
        client.messenger("InstantMessage", "v", Variant("s", "bob@localhost")), "NotLoggedOn"
    )
    await expect_error(client.messenger("AddContact", "s", "bob@localhost"), "NotLoggedOn")

    for bad in ("", "not an address", "a@@localhost"):
        await expect_error(client.messenger("Signin", "ss", bad, password), "InvalidArgument")
    bad_options: list[dict[str, Variant]] = [
        server_options(prosody, colour=Variant("s", "red")),
        {"host": Variant("u", 1)},
        {"host": Variant("s", prosody.host), "port": Variant("s", str(prosody.port))},
        {"host": Variant("s", prosody.host), "port": Variant("i", prosody.port)},
        server_options(prosody, register=Variant("s", "yes")),
        server_options(prosody, remember=Variant("u", 1)),
        server_options(prosody, resource=Variant("u", 1)),
        server_options(prosody, trusted_fingerprint=Variant("ay", b"\x00" * 32)),
    ]
    for options in bad_options:
        await expect_error(
            client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options),
            "InvalidArgument",
        )
    assert await my(client, "Accounts") == [], "a refused sign-in added an account"
    assert signals.named("OnSignin") == [], "a refused sign-in started signing in"

    # wrong password: started, then OnSignin(InvalidPassword)
    mark = len(signals.items)
    started = await client.messenger(
        "SigninWithOptions", "ssa{sv}", jid, password + "-wrong", server_options(prosody)
    )
    assert started == S_OK
    failed = await signal_after(signals, mark, "OnSignin")
    assert failed == [hr("InvalidPassword")], empty_app.diagnostics()

    # the right one
    mark = len(signals.items)
    options = server_options(prosody, resource=Variant("s", "scripted"))
    assert await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options) == S_OK
    assert await signal_after(signals, mark, "OnSignin") == [S_OK], empty_app.diagnostics()
    await until(lambda: my(client, "MyStatus"), lambda s: s == ONLINE, "MyStatus after OnSignin")
    assert await my(client, "MySigninName") == jid
    accounts = await my(client, "Accounts")
    assert len(accounts) == 1, accounts
    assert await my(client, "MyServiceId") == accounts[0]
    assert await prop(client, accounts[0], ACCOUNT, "SigninName") == jid
    assert await prop(client, accounts[0], ACCOUNT, "Status") == ONLINE

    # already signed in: S_FALSE from every way in, and no new sign-in
    mark = len(signals.items)
    assert await client.messenger("Signin", "ss", jid, password) == S_FALSE
    assert await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options) == S_FALSE
    assert await client.messenger("AutoSignin") == S_FALSE
    # the API is usable now
    hr_, window = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr_ == S_OK
    assert WINDOW_PATH.match(window)
    assert [m for m, _ in signals.items[mark:] if m in ("OnSignin", "OnSignout")] == []
    await alive(empty_app, client)


async def test_signin_registers_a_new_account_and_reports_unreachable_servers(
    empty_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await empty_app.client()
    signals = await client.watch()
    jid = f"{prosody.unique_name('fresh')}@{prosody.domain}"
    password = "Fresh-pass-1234"

    options = server_options(prosody, register=Variant("b", True))
    assert await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options) == S_OK
    assert await signals.wait_for("OnSignin") == [S_OK], empty_app.diagnostics()
    assert await my(client, "MySigninName") == jid
    # the account now exists on the server: another client can log in with it
    async with XmppPeer(prosody, jid, password):
        pass

    # a second, new account whose server cannot be reached
    other, other_password = prosody.make_user("unreachable")
    mark = len(signals.items)
    unreachable = {"host": Variant("s", "127.0.0.1"), "port": Variant("u", free_port())}
    assert (
        await client.messenger("SigninWithOptions", "ssa{sv}", other, other_password, unreachable)
        == S_OK
    )
    assert await signal_after(signals, mark, "OnSignin") == [hr("Connect")], empty_app.diagnostics()
    # a new account becomes the primary one, and the primary account is listed first
    accounts = await my(client, "Accounts")
    assert len(accounts) == 2, accounts
    assert await my(client, "MySigninName") == other
    assert await my(client, "MyServiceId") == accounts[0]
    assert await prop(client, accounts[0], ACCOUNT, "SigninName") == other
    assert await prop(client, accounts[1], ACCOUNT, "SigninName") == jid
    assert await prop(client, accounts[1], ACCOUNT, "Status") == ONLINE
    await alive(empty_app, client)


async def test_signin_to_an_untrusted_server_and_pinning_it(
    prosody_untrusted: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    server = prosody_untrusted
    app = await start_app_without_account(server, tmp_path / "pin")
    try:
        client = await app.client()
        signals = await client.watch()
        jid, password = server.make_user("pin")
        assert (
            await client.messenger(
                "SigninWithOptions", "ssa{sv}", jid, password, server_options(server)
            )
            == S_OK
        )
        assert await signals.wait_for("OnSignin") == [hr("InvalidCertificate")], app.diagnostics()

        for bad in ("", "zz" * 32, server.server_cert_fingerprint[:-2]):
            await expect_error(
                client.messenger(
                    "SigninWithOptions",
                    "ssa{sv}",
                    jid,
                    password,
                    server_options(server, trusted_fingerprint=Variant("s", bad)),
                ),
                "InvalidArgument",
            )

        mark = len(signals.items)
        pinned = server_options(
            server, trusted_fingerprint=Variant("s", server.server_cert_fingerprint)
        )
        assert await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, pinned) == S_OK
        assert await signal_after(signals, mark, "OnSignin") == [S_OK], app.diagnostics()
        assert await my(client, "MySigninName") == jid
        await alive(app, client)
    finally:
        await stop_app(app)


# --------------------------------------------------------------------------- sign-out


async def test_signout_signin_and_autosignin(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    account = (await my(client, "Accounts"))[0]

    mark = len(signals.items)
    assert await client.messenger("Signout") == S_OK
    await signal_after(signals, mark, "OnSignout")
    await signal_after(signals, mark, "OnMyStatusChange", lambda b: b == [S_OK, OFFLINE])
    await until(lambda: my(client, "MyStatus"), lambda s: s == OFFLINE, "MyStatus after Signout")
    assert await prop(client, account, ACCOUNT, "Status") == OFFLINE
    assert await client.messenger("Signout") == S_FALSE
    assert len([m for m, _ in signals.items[mark:] if m == "OnSignout"]) == 1

    await expect_error(
        client.messenger("InstantMessage", "v", Variant("s", "bob@localhost")), "NotLoggedOn"
    )
    await expect_error(client.messenger("AddContact", "s", "bob@localhost"), "NotLoggedOn")
    # signed out on purpose, the account is still there
    assert await my(client, "MySigninName") == app.jid
    assert await my(client, "Accounts") == [account]

    mark = len(signals.items)
    assert await client.messenger("Signin", "ss", app.jid, app.password) == S_OK
    assert await signal_after(signals, mark, "OnSignin") == [S_OK], app.diagnostics()
    await until(lambda: my(client, "MyStatus"), lambda s: s == ONLINE, "MyStatus after Signin")
    assert await client.messenger("Signin", "ss", app.jid, app.password) == S_FALSE

    mark = len(signals.items)
    assert await client.messenger("Signout") == S_OK
    await signal_after(signals, mark, "OnSignout")
    assert await client.messenger("AutoSignin") == S_OK
    assert await signal_after(signals, mark, "OnSignin") == [S_OK], app.diagnostics()
    await until(lambda: my(client, "MyStatus"), lambda s: s == ONLINE, "MyStatus after AutoSignin")
    assert await client.messenger("AutoSignin") == S_FALSE
    hr_, window = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr_ == S_OK
    assert WINDOW_PATH.match(window)
    await alive(app, client)


# --------------------------------------------------------------------------- bad calls


async def test_bad_calls_get_errors_and_the_app_keeps_running(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client = await app.client()
    before = await client.get_all(ROOT, MESSENGER)

    wrong_signatures: list[tuple[str, str, list[Any]]] = [
        ("GetContact", "s", ["bob@localhost"]),
        ("GetContact", "uu", [1, 2]),
        ("GetContact", "sss", ["bob@localhost", "", ""]),
        ("InstantMessage", "s", ["bob@localhost"]),
        ("InstantMessage", "o", [f"{ROOT}/contact/1"]),
        ("SetStatus", "ss", ["busy", ""]),
        ("SetStatus", "u", [BUSY]),
        ("Signin", "s", [app.jid]),
        ("SigninWithOptions", "ssa{ss}", [app.jid, "x", {"host": "localhost"}]),
        ("AddContact", "v", [Variant("s", "bob@localhost")]),
        ("RemoveContact", "s", ["bob@localhost"]),
        ("CreateGroup", "u", [3]),
        ("Quit", "s", ["now"]),
        ("NoSuchMember", "", []),
    ]
    for member, signature, body in wrong_signatures:
        await expect_any_error(client.call(ROOT, MESSENGER, member, signature, body))
    await expect_any_error(client.call(ROOT, "im.chinwag.NoSuchInterface1", "Quit"))
    await expect_any_error(client.call(f"{ROOT}/contact/987654", CONTACT, "NoSuch"))
    await expect_any_error(client.get(f"{ROOT}/account/987654", ACCOUNT, "SigninName"))
    await expect_any_error(client.get(ROOT, MESSENGER, "NoSuchProperty"))
    await expect_any_error(client.set(ROOT, MESSENGER, "MyStatus", Variant("s", "busy")))

    # invalid values of the right type: the API's own errors
    await expect_error(client.messenger("SetStatus", "us", 0x9999, ""), "InvalidArgument")
    await expect_error(client.messenger("RemoveContact", "v", Variant("u", 1)), "InvalidArgument")
    await expect_error(client.messenger("AddContact", "s", ""), "InvalidArgument")

    after = await client.get_all(ROOT, MESSENGER)
    assert after == before, "a refused call changed the messenger's state"
    await alive(app, client)


# --------------------------------------------------------------------------- introspection


def interfaces_of(xml_text: str) -> dict[str, ET.Element]:
    return {i.get("name", ""): i for i in ET.fromstring(xml_text).findall("interface")}


def check_interface(element: ET.Element, name: str) -> None:
    """The introspected interface has every member of the spec, with its signature."""
    spec = SPEC_INTERFACES[name]
    methods = {m.get("name"): m for m in element.findall("method")}
    for member, (sig_in, sig_out) in spec["methods"].items():
        assert member in methods, f"{name}.{member} is missing"
        args = methods[member].findall("arg")
        got_in = "".join(a.get("type", "") for a in args if a.get("direction", "in") == "in")
        got_out = "".join(a.get("type", "") for a in args if a.get("direction") == "out")
        assert (got_in, got_out) == (sig_in, sig_out), f"{name}.{member}: {got_in} -> {got_out}"
    properties = {p.get("name"): p for p in element.findall("property")}
    for member, (type_, access) in spec["properties"].items():
        assert member in properties, f"{name}.{member} is missing"
        assert properties[member].get("type") == type_, f"{name}.{member} type"
        if access is not None:
            assert properties[member].get("access") == access, f"{name}.{member} access"
    signals = {s.get("name"): s for s in element.findall("signal")}
    for member, signature in spec["signals"].items():
        assert member in signals, f"{name}.{member} is missing"
        got = "".join(a.get("type", "") for a in signals[member].findall("arg"))
        assert got == signature, f"{name}.{member}: {got}"


async def test_every_object_is_introspectable_with_gdbus(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client = await app.client()
    contact = await client.messenger("GetContact", "ss", "erin-intro@localhost", "")
    group = await client.messenger("CreateGroup", "s", "Introspected")
    account = (await my(client, "Accounts"))[0]
    _hr, window = await client.messenger("InstantMessage", "v", Variant("o", contact))

    objects = {
        ROOT: [MESSENGER, MESSAGES],
        MAIN_WINDOW: [WINDOW],
        window: [WINDOW, CONVERSATION_WINDOW],
        contact: [CONTACT],
        group: [GROUP],
        account: [ACCOUNT],
    }
    for path, interfaces in objects.items():
        code, out, err = await run_tool(
            app, "gdbus", "introspect", "--session", "--dest", BUS_NAME, "--object-path", path
        )
        assert code == 0, f"gdbus introspect {path}: {err}"
        for interface in interfaces:
            assert f"interface {interface}" in out, f"{path}: {interface} not listed\n{out}"
            for kind in ("methods", "properties", "signals"):
                for member in SPEC_INTERFACES[interface][kind]:
                    assert re.search(rf"\b{member}\b", out), f"{path}: {member} not listed"
        code, out, err = await run_tool(
            app,
            "gdbus",
            "introspect",
            "--session",
            "--dest",
            BUS_NAME,
            "--object-path",
            path,
            "--xml",
        )
        assert code == 0, f"gdbus introspect --xml {path}: {err}"
        found = interfaces_of(out)
        for interface in interfaces:
            assert interface in found, f"{path}: no {interface}"
            check_interface(found[interface], interface)
    await alive(app, client)


def check_cli_error(code: int, stderr: str, name: str) -> None:
    """A command-line tool got the API error ``name`` with its HRESULT text."""
    assert code != 0, stderr
    assert f"im.chinwag.Error.{name}" in stderr, stderr
    assert f"0x{HRESULTS[name]:08X}: " in stderr, stderr


def gdbus_call(path: str, method: str, *args: str) -> list[str]:
    return [
        "gdbus",
        "call",
        "--session",
        "--dest",
        BUS_NAME,
        "--object-path",
        path,
        "--method",
        method,
        *args,
    ]


def dbus_send(path: str, method: str, *args: str) -> list[str]:
    return ["dbus-send", "--session", "--print-reply", f"--dest={BUS_NAME}", path, method, *args]


async def test_members_work_from_gdbus_call_and_dbus_send(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    frank = "frank-cli@localhost"
    frank_path = await client.messenger("GetContact", "ss", frank, "")

    # gdbus call
    code, out, err = await run_tool(app, *gdbus_call(ROOT, f"{MESSENGER}.GetContact", frank, ""))
    assert code == 0, err
    assert out.strip() == f"(objectpath '{frank_path}',)"

    code, out, err = await run_tool(
        app, *gdbus_call(ROOT, f"{MESSENGER}.InstantMessage", f"<'{frank}'>")
    )
    assert code == 0, err
    found = re.fullmatch(r"\(0, objectpath '([^']+)'\)", out.strip())
    assert found, out
    window = found.group(1)
    assert WINDOW_PATH.match(window)
    await signals.wait_for("OnIMWindowCreated", lambda b: b == [window])

    code, out, err = await run_tool(app, *gdbus_call(ROOT, f"{MESSENGER}.SetStatus", "10", "busy"))
    assert (code, out.strip()) == (0, "(0,)"), err
    await signals.wait_for("OnMyStatusChange", lambda b: b == [S_OK, BUSY])
    code, out, err = await run_tool(
        app, *gdbus_call(ROOT, f"{PROPERTIES}.Get", MESSENGER, "MyStatus")
    )
    assert (code, out.strip()) == (0, "(<uint32 10>,)"), err

    code, out, err = await run_tool(
        app,
        *gdbus_call(
            ROOT,
            f"{MESSENGER}.SigninWithOptions",
            app.jid,
            app.password,
            f"{{'host': <'{app.prosody.host}'>, 'port': <uint32 {app.prosody.port}>}}",
        ),
    )
    assert (code, out.strip()) == (0, "(1,)"), err  # already signed in: S_FALSE

    code, out, err = await run_tool(
        app,
        *gdbus_call(ROOT, f"{MESSENGER}.SigninWithOptions", app.jid, "x", "{'colour': <'red'>}"),
    )
    check_cli_error(code, err, "InvalidArgument")

    code, out, err = await run_tool(app, *gdbus_call(ROOT, f"{MESSENGER}.GetContact", "a@@b", ""))
    check_cli_error(code, err, "InvalidArgument")

    code, out, err = await run_tool(app, *gdbus_call(MAIN_WINDOW, f"{WINDOW}.Show"))
    assert (code, out.strip()) == (0, "(0,)"), err

    # dbus-send
    code, out, err = await run_tool(
        app, *dbus_send(ROOT, f"{MESSENGER}.GetContact", f"string:{frank}", "string:")
    )
    assert code == 0, err
    assert f'object path "{frank_path}"' in out, out

    code, out, err = await run_tool(
        app, *dbus_send(ROOT, f"{MESSENGER}.InstantMessage", f"variant:string:{frank}")
    )
    assert code == 0, err
    assert "int32 0" in out, out
    assert f'object path "{window}"' in out, out

    code, out, err = await run_tool(
        app, *dbus_send(ROOT, f"{PROPERTIES}.Get", f"string:{MESSENGER}", "string:MySigninName")
    )
    assert code == 0, err
    assert f'string "{app.jid}"' in out, out

    code, out, err = await run_tool(
        app,
        *dbus_send(
            ROOT,
            f"{PROPERTIES}.Set",
            f"string:{MESSENGER}",
            "string:MyStatus",
            f"variant:uint32:{AWAY}",
        ),
    )
    assert code == 0, err
    await signals.wait_for("OnMyStatusChange", lambda b: b == [S_OK, AWAY])
    assert await my(client, "MyStatus") == AWAY

    code, out, err = await run_tool(
        app, *dbus_send(ROOT, f"{MESSENGER}.SetStatus", f"uint32:{ONLINE}", "string:")
    )
    assert code == 0, err
    assert "int32 0" in out, out

    code, out, err = await run_tool(
        app, *dbus_send(ROOT, f"{MESSENGER}.InstantMessage", "variant:uint32:3")
    )
    check_cli_error(code, err, "InvalidArgument")

    code, out, err = await run_tool(app, *dbus_send(window, f"{WINDOW}.Close"))
    assert code == 0, err
    assert "int32 0" in out, out
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [window])
    await alive(app, client)


# --------------------------------------------------------------------------- Quit


@pytest.mark.fresh_app  # it quits the app
async def test_quit_fires_on_app_shutdown_and_exits_0(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    assert await client.messenger("Quit") == S_OK
    await signals.wait_for("OnAppShutdown")
    code = await app.wait_exit()
    assert code == 0, app.diagnostics()
