"""Bad input over D-Bus (spec ``automation-api.md`` sections 2, 4-7): wrong argument types
on every method, bad values, text over the limit, calls on released and on nonexistent
objects. Each gets its error with the spec's name and HRESULT text; afterwards the app
still runs, answers, is signed in, and no message was lost.

Names and codes are spelled as the spec writes them, not imported from the implementation."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from dbus_next import Variant

from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
MAIN_WINDOW = f"{ROOT}/window/main"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
WINDOW = "im.chinwag.Window1"
CONVERSATION = "im.chinwag.ConversationWindow1"
CONTACT = "im.chinwag.Contact1"
GROUP = "im.chinwag.Group1"
ACCOUNT = "im.chinwag.Account1"
PROPERTIES = "org.freedesktop.DBus.Properties"
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
S_OK, S_FALSE = 0, 1
ONLINE = 0x02
HRESULT = {
    "InvalidArgument": 0x80070057,
    "MessageTooLong": 0x8100033F,
}
LIMIT = 65_536
TIMEOUT = 30.0

Call = tuple[str, str, str, str, list[Any]]  # path, interface, member, signature, body


def text_parts(text: str) -> list[dict[str, Variant]]:
    return [
        {"message-type": Variant("u", 0)},
        {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)},
    ]


async def error_of(client: Any, call: Call) -> tuple[str, str] | None:
    """(error name, text) of the call's error reply, or None if it succeeded."""
    path, interface, member, signature, body = call
    try:
        await client.call(path, interface, member, signature, body)
    except Exception as exc:
        if not hasattr(exc, "name"):
            raise
        return exc.name, exc.text
    return None


def api_error_problem(got: tuple[str, str] | None, name: str) -> str | None:
    """What is wrong with ``got`` for the spec's ``im.chinwag.Error.<name>`` (None: right)."""
    if got is None:
        return "succeeded"
    if got[0] != f"im.chinwag.Error.{name}":
        return f"{got[0]}: {got[1]}"
    if not re.match(rf"^0x{HRESULT[name]:08X}: \S", got[1]):
        return f"right name, but the message is {got[1]!r}"
    return None


async def expect_all(client: Any, calls: list[Call], name: str) -> list[str]:
    wrong = []
    for call in calls:
        problem = api_error_problem(await error_of(client, call), name)
        if problem is not None:
            wrong.append(f"{call[1]}.{call[2]}({call[3]}) on {call[0]}: {problem}")
    return wrong


async def next_body(peer: XmppPeer, timeout: float = TIMEOUT) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"{peer.jid} got no message with a body within {timeout}s")
        msg = await peer.next_message(timeout=left)
        if msg["body"]:
            return str(msg["body"])


def received(signals: Any, sender: str, text: str) -> bool:
    for (parts,) in signals.named("MessageReceived"):
        header = parts[0]
        if "delivery-status" in header:
            continue
        sender_id = header.get("message-sender-id")
        if sender_id is None or sender_id.value != sender:
            continue
        if any(p.get("content") is not None and p["content"].value == text for p in parts[1:]):
            return True
    return False


async def still_fine(app: Any, client: Any) -> None:
    """The app runs, answers and is still signed in as before."""
    assert app.running(), app.diagnostics()
    assert await client.get(ROOT, MESSENGER, "MySigninName") == app.jid
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
    assert len(await client.get(ROOT, MESSENGER, "Accounts")) == 1


async def test_wrong_argument_types_on_every_method(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == S_OK
        contact = await client.messenger("GetContact", "ss", bob.jid, "")
        group = await client.messenger("CreateGroup", "s", "Friends")
        assert await client.call(window, CONVERSATION, "SendText", "s", ["one"]) == [S_OK]
        assert await next_body(bob) == "one"

        m, w, c = ROOT, window, CONVERSATION
        calls: list[Call] = [
            (m, MESSENGER, "InstantMessage", "s", [bob.jid]),
            (m, MESSENGER, "InstantMessage", "o", [contact]),
            (m, MESSENGER, "InstantMessage", "", []),
            (m, MESSENGER, "InstantMessage", "vv", [Variant("s", bob.jid)] * 2),
            (m, MESSENGER, "GetContact", "s", [bob.jid]),
            (m, MESSENGER, "GetContact", "sss", [bob.jid, "", ""]),
            (m, MESSENGER, "GetContact", "v", [Variant("s", bob.jid)]),
            (m, MESSENGER, "Signin", "i", [1]),
            (m, MESSENGER, "Signin", "s", ["newbie@localhost"]),
            (m, MESSENGER, "Signin", "sss", ["newbie@localhost", "pw", "x"]),
            (m, MESSENGER, "SigninWithOptions", "ss", ["newbie@localhost", "pw"]),
            (
                m,
                MESSENGER,
                "SigninWithOptions",
                "ssa{ss}",
                ["newbie@localhost", "pw", {"host": "localhost"}],
            ),
            (m, MESSENGER, "AutoSignin", "s", ["now"]),
            (m, MESSENGER, "Signout", "i", [1]),
            (m, MESSENGER, "Signout", "b", [True]),
            (m, MESSENGER, "AddContact", "i", [1]),
            (m, MESSENGER, "AddContact", "v", [Variant("s", "carol@localhost")]),
            (m, MESSENGER, "RemoveContact", "s", [bob.jid]),
            (m, MESSENGER, "RemoveContact", "o", [contact]),
            (m, MESSENGER, "CreateGroup", "u", [1]),
            (m, MESSENGER, "CreateGroup", "as", [["Work"]]),
            (m, MESSENGER, "SetStatus", "ss", ["10", "busy"]),
            (m, MESSENGER, "SetStatus", "u", [0x0A]),
            (m, MESSENGER, "SetStatus", "is", [0x0A, "busy"]),
            (m, MESSENGER, "SetStatus", "su", ["busy", 0x0A]),
            (m, MESSAGES, "SendMessage", "ssaa{sv}u", ["/", bob.jid, text_parts("x"), 0]),
            (m, MESSAGES, "SendMessage", "osaa{sv}", ["/", bob.jid, text_parts("x")]),
            (m, MESSAGES, "SendMessage", "osa{sv}u", ["/", bob.jid, text_parts("x")[1], 0]),
            (m, MESSAGES, "SendMessage", "osasu", ["/", bob.jid, ["x"], 0]),
            (w, WINDOW, "Show", "i", [1]),
            (w, WINDOW, "Close", "s", ["now"]),
            (w, WINDOW, "SetGeometry", "iii", [0, 0, 400]),
            (w, WINDOW, "SetGeometry", "uuuu", [0, 0, 400, 300]),
            (w, WINDOW, "SetGeometry", "dddd", [0.0, 0.0, 400.0, 300.0]),
            (w, WINDOW, "SetGeometry", "xxxx", [0, 0, 400, 300]),
            (w, WINDOW, "Release", "b", [True]),
            (w, c, "SendText", "i", [5]),
            (w, c, "SendText", "as", [["lost?"]]),
            (w, c, "SendText", "v", [Variant("s", "lost?")]),
            (w, c, "SendText", "", []),
            (w, c, "AddContact", "s", ["carol@localhost"]),
            (MAIN_WINDOW, WINDOW, "Show", "s", ["now"]),
            (MAIN_WINDOW, WINDOW, "Close", "i", [0]),
            (MAIN_WINDOW, WINDOW, "SetGeometry", "ii", [0, 0]),
            (MAIN_WINDOW, WINDOW, "Release", "i", [1]),
            (group, GROUP, "AddContact", "s", [bob.jid]),
            (group, GROUP, "RemoveContact", "o", [contact]),
        ]
        wrong = await expect_all(client, calls[: len(calls) // 2], "InvalidArgument")
        bob.send_chat(chinwag_app.jid, "ping")  # arrives while the storm goes on
        assert await client.call(window, CONVERSATION, "SendText", "s", ["two"]) == [S_OK]
        wrong += await expect_all(client, calls[len(calls) // 2 :], "InvalidArgument")
        # Quit with the wrong arguments must not quit
        wrong += await expect_all(
            client,
            [(m, MESSENGER, "Quit", "b", [True]), (m, MESSENGER, "Quit", "s", ["now"])],
            "InvalidArgument",
        )
        assert not wrong, "\n".join(wrong)

        await still_fine(chinwag_app, client)
        assert await client.get(window, WINDOW, "IsClosed") is False
        assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True  # --background
        assert await client.call(window, CONVERSATION, "SendText", "s", ["three"]) == [S_OK]
        # nothing lost, nothing extra: the three good messages, in order
        assert [await next_body(bob) for _ in range(2)] == ["two", "three"]
        await signals.wait_for("MessageReceived", lambda b: received(signals, bob.jid, "ping"))
        history = await client.get(window, CONVERSATION, "History")
        assert "lost?" not in history
        for text in ("one", "two", "three", "ping"):
            assert f": {text}\n" in history + "\n", history
        assert signals.named("OnSignout") == []
        assert signals.named("OnAppShutdown") == []
        assert await client.get(group, GROUP, "Contacts") == []


async def test_bad_values_get_their_errors(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == S_OK
        group = await client.messenger("CreateGroup", "s", "Friends")
        m = ROOT
        newbie = "newbie@localhost"
        options = (m, MESSENGER, "SigninWithOptions", "ssa{sv}")
        invalid: list[Call] = [
            (*options, [newbie, "pw", {"bogus": Variant("s", "x")}]),
            (*options, [newbie, "pw", {"Host": Variant("s", "localhost")}]),
            (*options, [newbie, "pw", {"port": Variant("s", "5222")}]),
            (*options, [newbie, "pw", {"register": Variant("s", "yes")}]),
            (*options, [newbie, "pw", {"remember": Variant("i", 1)}]),
            (*options, [newbie, "pw", {"host": Variant("s", "localhost"), "x": Variant("s", "")}]),
            (m, MESSENGER, "Signin", "ss", ["", "pw"]),
            (m, MESSENGER, "Signin", "ss", ["a@@b", "pw"]),
            (m, MESSENGER, "Signin", "ss", ["bad space@x", "pw"]),
            (m, MESSENGER, "GetContact", "ss", ["", ""]),
            (m, MESSENGER, "GetContact", "ss", ["@x", ""]),
            (m, MESSENGER, "GetContact", "ss", ["x" * 1100 + "@localhost", ""]),
            (m, MESSENGER, "AddContact", "s", [""]),
            (m, MESSENGER, "AddContact", "s", ["a@@b"]),
            (m, MESSENGER, "RemoveContact", "v", [Variant("i", 1)]),
            (m, MESSENGER, "RemoveContact", "v", [Variant("s", "a@@b")]),
            (group, GROUP, "AddContact", "v", [Variant("b", True)]),
            (group, GROUP, "RemoveContact", "v", [Variant("as", [bob.jid])]),
            (window, CONVERSATION, "AddContact", "v", [Variant("i", 7)]),
        ]
        wrong = await expect_all(client, invalid, "InvalidArgument")
        over = text_parts("z" * (LIMIT + 1))
        too_long: list[Call] = [
            (window, CONVERSATION, "SendText", "s", ["y" * (LIMIT + 1)]),
            (m, MESSAGES, "SendMessage", "osaa{sv}u", ["/", bob.jid, over, 0]),
        ]
        wrong += await expect_all(client, too_long, "MessageTooLong")
        assert not wrong, "\n".join(wrong)

        await still_fine(chinwag_app, client)
        assert signals.named("OnSignin") == []
        assert signals.named("OnSignout") == []
        # nothing of the refused went out; what is sent now does, at once and in order
        assert await client.call(window, CONVERSATION, "SendText", "s", ["after"]) == [S_OK]
        assert await next_body(bob) == "after"
        assert "y" * 100 not in await client.get(window, CONVERSATION, "History")


async def test_property_writes_of_the_wrong_type(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    contact = await client.messenger("GetContact", "ss", "bob@localhost", "")
    group = await client.messenger("CreateGroup", "s", "Friends")
    (account,) = await client.get(ROOT, MESSENGER, "Accounts")
    calls: list[Call] = [
        (ROOT, PROPERTIES, "Set", "ssv", [MESSENGER, "MyStatus", Variant("s", "2")]),
        (ROOT, PROPERTIES, "Set", "ssv", [MESSENGER, "MyStatus", Variant("i", 2)]),
        (contact, PROPERTIES, "Set", "ssv", [CONTACT, "Blocked", Variant("s", "yes")]),
        (account, PROPERTIES, "Set", "ssv", [ACCOUNT, "Enabled", Variant("i", 0)]),
        (group, PROPERTIES, "Set", "ssv", [GROUP, "Name", Variant("u", 1)]),
    ]
    wrong = await expect_all(client, calls, "InvalidArgument")
    assert not wrong, "\n".join(wrong)
    # read-only properties refuse writes (any error), and nothing changes
    for path, interface, prop, value in [
        (ROOT, MESSENGER, "MySigninName", Variant("s", "someone@localhost")),
        (MAIN_WINDOW, WINDOW, "IsClosed", Variant("b", False)),
        (MAIN_WINDOW, WINDOW, "Width", Variant("i", 10)),
    ]:
        got = await error_of(client, (path, PROPERTIES, "Set", "ssv", [interface, prop, value]))
        assert got is not None, f"{interface}.{prop} was written"
    await still_fine(chinwag_app, client)
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True
    assert await client.get(contact, CONTACT, "Blocked") is False
    assert await client.get(account, ACCOUNT, "Enabled") is True
    assert await client.get(group, GROUP, "Name") == "Friends"


async def test_calls_on_released_and_nonexistent_objects(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    hr, released = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr == S_OK
    assert await client.call(released, WINDOW, "Close") == [S_OK]
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [released])
    assert await client.call(released, WINDOW, "Release") == [S_OK]

    every_member: list[tuple[str, str, str, list[Any]]] = [
        (WINDOW, "Show", "", []),
        (WINDOW, "Close", "", []),
        (WINDOW, "SetGeometry", "iiii", [0, 0, 400, 300]),
        (WINDOW, "Release", "", []),
        (CONVERSATION, "SendText", "s", ["hello?"]),
        (CONVERSATION, "AddContact", "v", [Variant("s", "carol@localhost")]),
        *[
            (PROPERTIES, "Get", "ss", [WINDOW, prop])
            for prop in ("IsClosed", "HWND", "Left", "Top", "Width", "Height")
        ],
        (PROPERTIES, "Get", "ss", [CONVERSATION, "Contacts"]),
        (PROPERTIES, "Get", "ss", [CONVERSATION, "History"]),
        (PROPERTIES, "GetAll", "s", [WINDOW]),
        (PROPERTIES, "GetAll", "s", [CONVERSATION]),
    ]
    nowhere = [
        released,
        f"{ROOT}/window/999999",
        f"{ROOT}/window/0",
        f"{ROOT}/window/mainx",
        f"{ROOT}/contact/999999",
        f"{ROOT}/nothing/here",
    ]
    wrong = []
    for path in nowhere:
        for interface, member, signature, body in every_member:
            got = await error_of(client, (path, interface, member, signature, body))
            if got is None or got[0] != UNKNOWN_OBJECT:
                wrong.append(f"{path} {interface}.{member}: {got}")
    assert not wrong, "\n".join(wrong)

    # an unknown member or interface on a real object: an error, and nothing else happens
    for call in [
        (ROOT, MESSENGER, "NoSuchMethod", "", []),
        (ROOT, "im.chinwag.NoSuchInterface1", "Quit", "", []),
        (MAIN_WINDOW, CONVERSATION, "SendText", "s", ["x"]),
        (ROOT, PROPERTIES, "Get", "ss", [MESSENGER, "NoSuchProperty"]),
    ]:
        assert await error_of(client, call) is not None, call

    await still_fine(chinwag_app, client)
    # the API goes on as usual: a new window for the same contact, a new path
    hr, again = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr == S_OK
    assert again != released
    assert await client.get(again, WINDOW, "IsClosed") is False
    assert signals.named("OnAppShutdown") == []
