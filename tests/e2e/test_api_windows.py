# The fake notification server uses dbus-next's string signatures ("s", "as", ...), read
# at class creation: no "from __future__ import annotations" here.
# ruff: noqa: F821, F722
"""Windows over the automation API (spec ``automation-api.md`` sections 4 and 5):
``Messenger1.InstantMessage``, ``Window1`` on conversation windows and the main window,
``ConversationWindow1``, and the single instance of section 1.

Names, paths and result codes are spelled here as the spec writes them, not imported from
the implementation, so the tests check the contract."""

import asyncio
import re
import sys
from typing import Any

import pytest
from dbus_next import Message, Variant
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method

from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
MAIN_WINDOW = f"{ROOT}/window/main"
WINDOW_PATH = re.compile(rf"^{ROOT}/window/([1-9][0-9]*)$")
MESSENGER = "im.chinwag.Messenger1"
WINDOW = "im.chinwag.Window1"
CONVERSATION = "im.chinwag.ConversationWindow1"
S_OK, S_FALSE = 0, 1
OFFLINE, ONLINE = 0x01, 0x02
#: Spec section 2: error name -> HRESULT.
HRESULT = {
    "Fail": 0x80004005,
    "InvalidArgument": 0x80070057,
    "NotImplemented": 0x80004001,
    "NotLoggedOn": 0x8100031E,
    "MessageTooLong": 0x8100033F,
}
LIMIT = 65_536
TIMEOUT = 30.0
HISTORY_LINE = re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\] (.+)$")


# -- helpers ------------------------------------------------------------------------------


async def instant_message(client: Any, contact: Variant) -> tuple[int, str]:
    hr, path = await client.messenger("InstantMessage", "v", contact)
    return hr, path


async def window_call(client: Any, path: str, member: str, signature: str = "", *args: Any) -> int:
    (hr,) = await client.call(path, WINDOW, member, signature, args)
    return int(hr)


async def send_text(client: Any, path: str, text: str) -> int:
    (hr,) = await client.call(path, CONVERSATION, "SendText", "s", [text])
    return int(hr)


async def geometry(client: Any, path: str) -> tuple[int, int, int, int]:
    props = await client.get_all(path, WINDOW)
    return (props["Left"], props["Top"], props["Width"], props["Height"])


async def api_error(call: Any, name: str) -> Any:
    """Await ``call``; it must fail with ``im.chinwag.Error.<name>`` and a message
    ``0x<HRESULT>: <a sentence>``."""
    error: Any = None
    try:
        result = await call
    except Exception as exc:
        if not hasattr(exc, "name"):
            raise
        error = exc
    if error is None:
        raise AssertionError(f"expected im.chinwag.Error.{name}, got the reply {result!r}")
    assert error.name == f"im.chinwag.Error.{name}", (error.name, error.text)
    assert re.match(rf"^0x{HRESULT[name]:08X}: \S.*", error.text), error.text
    return error


async def round_trip(client: Any) -> None:
    """A call answered by the app: every signal it emitted before reached ``client``."""
    await client.get(ROOT, MESSENGER, "MySigninName")


async def wait_until(check: Any, what: str, timeout: float = TIMEOUT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)


async def next_body(peer: XmppPeer, timeout: float = TIMEOUT) -> str:
    """The body of the next message with one (chat states and receipts are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"{peer.jid} got no message with a body within {timeout}s")
        msg = await peer.next_message(timeout=left)
        if msg["body"]:
            return str(msg["body"])


async def sign_out(client: Any) -> None:
    signals = await client.watch()
    assert await client.messenger("Signout") == S_OK
    await signals.wait_for("OnSignout")

    async def offline() -> bool:
        return await client.get(ROOT, MESSENGER, "MyStatus") == OFFLINE

    await wait_until(offline, "MyStatus OFFLINE after Signout")


def history_lines(history: str) -> list[tuple[str, str]]:
    """(stamp, "Name: text") per line; every line must have the spec's form."""
    out = []
    for line in history.splitlines():
        match = HISTORY_LINE.match(line)
        assert match, f"not a '[YYYY-MM-DD HH:MM:SS] Name: text' line: {line!r}"
        out.append((match[1], match[2]))
    return out


def said(lines: list[tuple[str, str]], text: str) -> list[str]:
    """The names of the lines whose text is ``text``."""
    return [rest[: -len(": " + text)] for _stamp, rest in lines if rest.endswith(": " + text)]


# -- InstantMessage -----------------------------------------------------------------------


async def test_instant_message_with_a_sign_in_name_gives_one_window_per_contact(
    chinwag_app: Any,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    hr, path = await instant_message(client, Variant("s", "bob@localhost"))
    assert hr == S_OK
    assert WINDOW_PATH.match(path), path
    await signals.wait_for("OnIMWindowCreated", lambda b: b == [path])
    assert await client.get(path, WINDOW, "IsClosed") is False
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [path]

    # again, and in another spelling of the same bare address: raised, not duplicated
    for spelling in ("bob@localhost", "Bob@LOCALHOST"):
        assert await instant_message(client, Variant("s", spelling)) == (S_OK, path), spelling
    await round_trip(client)
    assert signals.named("OnIMWindowCreated") == [[path]]
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [path]

    # another contact: another window
    hr, other = await instant_message(client, Variant("s", "carol@localhost"))
    assert hr == S_OK
    assert other != path
    assert WINDOW_PATH.match(other), other
    assert sorted(await client.get(ROOT, MESSENGER, "ConversationWindows")) == sorted([path, other])


async def test_instant_message_with_a_contact_path(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    contact = await client.messenger("GetContact", "ss", "bob@localhost", "")
    assert contact.startswith(ROOT + "/")
    hr, path = await instant_message(client, Variant("o", contact))
    assert hr == S_OK
    assert WINDOW_PATH.match(path), path
    assert await client.get(path, CONVERSATION, "Contacts") == [contact]
    # the sign-in name names the same contact, so the same window
    assert await instant_message(client, Variant("s", "bob@localhost")) == (S_OK, path)
    assert await instant_message(client, Variant("o", contact)) == (S_OK, path)


async def test_instant_message_signed_out_is_not_logged_on(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    contact = await client.messenger("GetContact", "ss", "bob@localhost", "")
    await sign_out(client)
    signals = await client.watch()
    await api_error(
        client.messenger("InstantMessage", "v", Variant("s", "bob@localhost")), "NotLoggedOn"
    )
    await api_error(client.messenger("InstantMessage", "v", Variant("o", contact)), "NotLoggedOn")
    await round_trip(client)
    assert signals.named("OnIMWindowCreated") == []
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == []


# -- Window1 and ConversationWindow1 on a conversation window --------------------------


async def test_window_members_on_an_open_then_closed_conversation_window(
    chinwag_app: Any,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    hr, path = await instant_message(client, Variant("s", "bob@localhost"))
    assert hr == S_OK

    assert await window_call(client, path, "Show") == S_OK
    props = await client.get_all(path, WINDOW)
    assert props["IsClosed"] is False
    assert props["HWND"] != 0
    frame = (40, 50, 700, 520)
    assert await window_call(client, path, "SetGeometry", "iiii", *frame) == S_OK
    assert await geometry(client, path) == frame
    moved = (60, 30, 720, 540)
    assert await window_call(client, path, "SetGeometry", "iiii", *moved) == S_OK
    assert await geometry(client, path) == moved

    assert await send_text(client, path, "before the close") == S_OK
    history = await client.get(path, CONVERSATION, "History")
    assert said(history_lines(history), "before the close"), history

    assert await window_call(client, path, "Close") == S_OK
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [path])

    # closed: the handle answers, does nothing, and keeps what it last knew
    props = await client.get_all(path, WINDOW)
    assert props["IsClosed"] is True
    assert props["HWND"] == 0
    assert (props["Left"], props["Top"], props["Width"], props["Height"]) == moved
    assert await window_call(client, path, "Show") == S_FALSE
    assert await window_call(client, path, "Close") == S_FALSE
    assert await window_call(client, path, "SetGeometry", "iiii", 1, 2, 300, 300) == S_FALSE
    assert await send_text(client, path, "after the close") == S_FALSE
    assert await geometry(client, path) == moved
    assert await client.get(path, WINDOW, "IsClosed") is True
    after = await client.get(path, CONVERSATION, "History")
    lines = history_lines(after)
    assert said(lines, "before the close"), after
    assert not said(lines, "after the close"), after
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == []

    await round_trip(client)
    assert signals.named("OnIMWindowDestroyed") == [[path]], "destroyed exactly once"
    assert signals.named("OnIMWindowCreated") == [[path]]


async def test_send_text_shows_in_history_and_reaches_the_contact(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, path = await instant_message(client, Variant("s", bob.jid))
        assert hr == S_OK
        assert await send_text(client, path, "hello bob") == S_OK
        assert await next_body(bob) == "hello bob"
        assert await send_text(client, path, "first line\nsecond line") == S_OK
        assert await next_body(bob) == "first line\nsecond line"

        bob.send_chat(chinwag_app.jid, "hello app")

        async def has_reply() -> str | None:
            history = await client.get(path, CONVERSATION, "History")
            return history if "hello app" in history else None

        history = await wait_until(has_reply, "bob's message in the window's History")
        lines = history_lines(history)
        mine = said(lines, "hello bob")
        assert len(mine) == 1, history
        assert mine[0], history
        theirs = said(lines, "hello app")
        assert len(theirs) == 1, history
        assert theirs[0], history
        assert mine[0] != theirs[0], "the two authors have the same name"
        # one message a line: the two-line message is one line of History
        assert len(lines) == 3, history
        texts = [rest for _stamp, rest in lines]
        assert texts[0].endswith(": hello bob")
        assert "first line" in texts[1], history
        assert "second line" in texts[1], history
        assert texts[2].endswith(": hello app")


async def test_send_text_length_limit(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, path = await instant_message(client, Variant("s", bob.jid))
        assert hr == S_OK
        await api_error(
            client.call(path, CONVERSATION, "SendText", "s", ["x" * (LIMIT + 1)]),
            "MessageTooLong",
        )
        await api_error(
            client.call(path, CONVERSATION, "SendText", "s", ["é" * (LIMIT + 1)]),
            "MessageTooLong",
        )
        # the limit counts characters, not bytes: 65,536 two-byte characters are fine
        assert await send_text(client, path, "x" * LIMIT) == S_OK
        assert await next_body(bob) == "x" * LIMIT
        assert await send_text(client, path, "é" * LIMIT) == S_OK
        assert await next_body(bob) == "é" * LIMIT
        assert await send_text(client, path, "short") == S_OK
        assert await next_body(bob) == "short"  # nothing of the refused ones went
        history = await client.get(path, CONVERSATION, "History")
        assert len(history_lines(history)) == 3, history[:300]


async def test_send_text_signed_out_is_not_logged_on(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, path = await instant_message(client, Variant("s", bob.jid))
        assert hr == S_OK
        await sign_out(client)
        await api_error(
            client.call(path, CONVERSATION, "SendText", "s", ["while signed out"]), "NotLoggedOn"
        )
        assert "while signed out" not in await client.get(path, CONVERSATION, "History")
        # signed in again, the refused message does not go out late; a new one does
        assert await client.messenger("AutoSignin") in (S_OK, S_FALSE)

        async def online() -> bool:
            return await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE

        await wait_until(online, "signed in again")
        assert await send_text(client, path, "signed in again") == S_OK
        assert await next_body(bob) == "signed in again"


async def test_contacts_names_the_peer_and_add_contact_checks_its_argument(
    chinwag_app: Any,
) -> None:
    client = await chinwag_app.client()
    hr, path = await instant_message(client, Variant("s", "bob@localhost"))
    assert hr == S_OK
    bob = await client.messenger("GetContact", "ss", "bob@localhost", "")
    assert await client.get(path, CONVERSATION, "Contacts") == [bob]
    # (AddContact that starts a group conversation: test_api_rooms.py.)
    await api_error(
        client.call(path, CONVERSATION, "AddContact", "v", [Variant("s", "not an address@")]),
        "InvalidArgument",
    )
    await api_error(
        client.call(path, CONVERSATION, "AddContact", "v", [Variant("i", 7)]),
        "InvalidArgument",
    )
    # Someone already in the conversation: nothing done.
    assert await client.call(path, CONVERSATION, "AddContact", "v", [Variant("o", bob)]) == [
        S_FALSE
    ]
    assert await client.get(path, CONVERSATION, "Contacts") == [bob]
    assert await client.get(path, WINDOW, "IsClosed") is False


# -- a window the user opened (a notification click) -----------------------------------


class FakeNotificationServer(ServiceInterface):
    """``org.freedesktop.Notifications`` enough for the app: it records Notify calls."""

    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.notified: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._ids = 0

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["fake", "tests", "0", "1.2"]

    @method()
    def Notify(
        self,
        app_name: "s",
        replaces_id: "u",
        app_icon: "s",
        summary: "s",
        body: "s",
        actions: "as",
        hints: "a{sv}",
        expire_timeout: "i",
    ) -> "u":
        self._ids += 1
        server_id = replaces_id or self._ids
        self.notified.put_nowait((server_id, summary))
        return server_id

    @method()
    def CloseNotification(self, server_id: "u") -> None:
        return None


async def click_notification(bus: MessageBus, server_id: int) -> None:
    """What a click on the notification's body sends (Desktop Notifications 1.2)."""
    await bus.send(
        Message.new_signal(
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            "us",
            [server_id, "default"],
        )
    )


async def test_a_window_the_user_opened_is_the_one_instant_message_returns(
    chinwag_app: Any,
) -> None:
    from chinwag.automation.bus import close_message_bus, connect_session_bus

    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    server = FakeNotificationServer()
    bus = await connect_session_bus(chinwag_app.bus_address)
    try:
        bus.export("/org/freedesktop/Notifications", server)
        await bus.request_name("org.freedesktop.Notifications")
        async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
            bob.send_chat(chinwag_app.jid, "open me")
            server_id, _summary = await asyncio.wait_for(server.notified.get(), TIMEOUT)
            # One click, even before the app has the Notify reply that names the id.
            await click_notification(bus, server_id)
            path = (await signals.wait_for("OnIMWindowCreated"))[0]
            assert WINDOW_PATH.match(path), path
            assert await client.get(path, WINDOW, "IsClosed") is False
            # one window per contact, whoever opened it
            assert await instant_message(client, Variant("s", bob.jid)) == (S_OK, path)
            await round_trip(client)
            assert signals.named("OnIMWindowCreated") == [[path]]
            assert await send_text(client, path, "from the script") == S_OK
            assert await next_body(bob) == "from the script"
            history = await client.get(path, CONVERSATION, "History")
            assert said(history_lines(history), "open me"), history
    finally:
        await close_message_bus(bus)


# -- the main window ------------------------------------------------------------------------


async def test_main_window_close_hides_it_show_brings_it_back(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    assert await client.get(ROOT, MESSENGER, "Window") == MAIN_WINDOW
    # --background: tray-resident, no window shown
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True
    assert await client.get(MAIN_WINDOW, WINDOW, "HWND") == 0
    assert await window_call(client, MAIN_WINDOW, "Close") == S_FALSE

    assert await window_call(client, MAIN_WINDOW, "Show") == S_OK
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is False
    assert await client.get(MAIN_WINDOW, WINDOW, "HWND") != 0
    frame = (30, 40, 420, 640)
    assert await window_call(client, MAIN_WINDOW, "SetGeometry", "iiii", *frame) == S_OK
    assert await geometry(client, MAIN_WINDOW) == frame

    assert await window_call(client, MAIN_WINDOW, "Close") == S_OK
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True
    assert await client.get(MAIN_WINDOW, WINDOW, "HWND") == 0
    assert await geometry(client, MAIN_WINDOW) == frame  # last known
    assert await window_call(client, MAIN_WINDOW, "Close") == S_FALSE

    # the process and the API stay up, signed in
    assert chinwag_app.running()
    assert await client.get(ROOT, MESSENGER, "MySigninName") == chinwag_app.jid
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
    hr, path = await instant_message(client, Variant("s", "bob@localhost"))
    assert hr == S_OK
    assert await client.get(path, WINDOW, "IsClosed") is False

    assert await window_call(client, MAIN_WINDOW, "Show") == S_OK
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is False
    assert await window_call(client, MAIN_WINDOW, "Show") == S_OK  # raising a shown one: fine
    # Release of the main window does not take it away
    assert await window_call(client, MAIN_WINDOW, "Release") == S_OK
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is False
    assert await client.get(ROOT, MESSENGER, "Window") == MAIN_WINDOW
    assert chinwag_app.running()


# -- single instance (section 1) -------------------------------------------------------------


async def second_start(app: Any, *args: str) -> tuple[int, str]:
    """Start ``python -m chinwag *args`` with the first app's environment; its exit code
    and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chinwag",
        *args,
        env=app.env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("the second start did not exit") from None
    assert proc.returncode is not None
    return proc.returncode, err.decode(errors="replace")


async def name_owner(client: Any) -> str:
    (owner,) = await client.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "GetNameOwner",
        "s",
        ["im.chinwag.Chinwag"],
        destination="org.freedesktop.DBus",
    )
    return str(owner)


async def test_a_second_start_hands_over_and_exits_0(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    owner = await name_owner(client)
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True

    code, err = await second_start(chinwag_app, "--background")
    assert code == 0, err
    assert chinwag_app.running()
    assert await name_owner(client) == owner

    code, err = await second_start(chinwag_app)
    assert code == 0, err
    assert "Fatal Python error" not in err

    async def shown() -> bool:
        return await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is False

    await wait_until(shown, "the first app's main window shown by the second start")
    assert chinwag_app.running()
    assert await name_owner(client) == owner
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
