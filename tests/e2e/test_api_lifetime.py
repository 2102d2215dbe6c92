# The fake notification server uses dbus-next's string signatures ("s", "as", ...), read
# at class creation: no "from __future__ import annotations" here.
# ruff: noqa: F821, F722
"""The lifetime of conversation-window handles (spec ``automation-api.md`` section 5):
closed handles answer S_FALSE until released -- by ``Release()``, by the disconnect of
every client that received the handle as a method result, or by eviction once more than
1,024 newer windows have closed -- and then calls get
``org.freedesktop.DBus.Error.UnknownObject``; ``OnIMWindowDestroyed`` once per window,
whoever closes it (a script, or shutdown).

Names and codes are spelled as the spec writes them, not imported from the implementation."""

import asyncio
import re
from typing import Any

import pytest
from dbus_next import Message, Variant
from dbus_next.service import ServiceInterface, method

from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
WINDOW_PATH = re.compile(rf"^{ROOT}/window/([1-9][0-9]*)$")
MESSENGER = "im.chinwag.Messenger1"
WINDOW = "im.chinwag.Window1"
CONVERSATION = "im.chinwag.ConversationWindow1"
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
S_OK, S_FALSE = 0, 1
#: Closed windows newer than a closed window that it may wait for before it is evicted.
CAP = 1024
TIMEOUT = 30.0


async def instant_message(client: Any, jid: str) -> str:
    hr, path = await client.messenger("InstantMessage", "v", Variant("s", jid))
    assert hr == S_OK, (jid, hr)
    assert WINDOW_PATH.match(path), path
    return str(path)


async def window_call(client: Any, path: str, member: str, signature: str = "", *args: Any) -> int:
    (hr,) = await client.call(path, WINDOW, member, signature, args)
    return int(hr)


async def is_gone(client: Any, path: str) -> bool:
    """True when ``path`` answers UnknownObject (both to a method and to a property);
    False when it still answers as a closed window."""
    try:
        closed = await client.get(path, WINDOW, "IsClosed")
    except Exception as exc:
        if getattr(exc, "name", None) != UNKNOWN_OBJECT:
            raise
        return True
    assert closed is True, f"{path} is open"
    return False


async def assert_unknown_object(client: Any, path: str) -> None:
    """Every member of the released window answers UnknownObject."""
    calls: list[tuple[str, str, str, list[Any]]] = [
        (WINDOW, "Show", "", []),
        (WINDOW, "Close", "", []),
        (WINDOW, "SetGeometry", "iiii", [0, 0, 400, 300]),
        (WINDOW, "Release", "", []),
        (CONVERSATION, "SendText", "s", ["hello?"]),
        (CONVERSATION, "AddContact", "v", [Variant("s", "carol@localhost")]),
        ("org.freedesktop.DBus.Properties", "Get", "ss", [WINDOW, "IsClosed"]),
        ("org.freedesktop.DBus.Properties", "Get", "ss", [CONVERSATION, "History"]),
        ("org.freedesktop.DBus.Properties", "GetAll", "s", [WINDOW]),
    ]
    wrong = []
    for interface, member, signature, body in calls:
        try:
            reply = await client.call(path, interface, member, signature, body)
        except Exception as exc:
            if not hasattr(exc, "name"):
                raise
            if exc.name != UNKNOWN_OBJECT:
                wrong.append(f"{interface}.{member}: {exc.name}: {exc.text}")
        else:
            wrong.append(f"{interface}.{member}: answered {reply!r}")
    assert not wrong, f"{path} released, but:\n" + "\n".join(wrong)


async def wait_gone(client: Any, path: str, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await is_gone(client, path):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} still answers {timeout}s after it was released")
        await asyncio.sleep(0.05)


async def close_window(client: Any, signals: Any, path: str) -> None:
    assert await window_call(client, path, "Close") == S_OK
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [path])


async def round_trip(client: Any) -> None:
    await client.get(ROOT, MESSENGER, "MySigninName")


# -- Release -----------------------------------------------------------------------------


async def test_release_of_a_closed_window_unexports_it(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    other = await chinwag_app.client()
    signals = await client.watch()
    path = await instant_message(client, "bob@localhost")
    await close_window(client, signals, path)
    assert await window_call(client, path, "Show") == S_FALSE
    assert await window_call(client, path, "Release") == S_OK
    await assert_unknown_object(client, path)
    await assert_unknown_object(other, path)  # gone for everyone
    assert chinwag_app.running()
    await round_trip(client)
    assert signals.named("OnIMWindowDestroyed") == [[path]]


async def test_release_of_an_open_window_keeps_it_until_it_closes(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await instant_message(client, "bob@localhost")
    assert await window_call(client, path, "Release") == S_OK
    # the window is still open: it answers, and is listed
    assert await client.get(path, WINDOW, "IsClosed") is False
    assert await window_call(client, path, "Show") == S_OK
    assert await window_call(client, path, "Close") == S_OK
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [path])
    # nobody holds it any more: closed and released
    await wait_gone(client, path)
    await assert_unknown_object(client, path)


async def test_reopening_a_contact_gives_a_new_window_and_path(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    first = await instant_message(client, "bob@localhost")
    await close_window(client, signals, first)
    second = await instant_message(client, "bob@localhost")
    assert second != first
    n_first = int(WINDOW_PATH.match(first)[1])  # type: ignore[index]
    n_second = int(WINDOW_PATH.match(second)[1])  # type: ignore[index]
    assert n_second > n_first
    assert await client.get(first, WINDOW, "IsClosed") is True
    assert await client.get(second, WINDOW, "IsClosed") is False
    assert await window_call(client, first, "Show") == S_FALSE
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [second]
    # released, the old number is not given out again
    assert await window_call(client, first, "Release") == S_OK
    await close_window(client, signals, second)
    third = await instant_message(client, "bob@localhost")
    assert third not in (first, second)
    assert int(WINDOW_PATH.match(third)[1]) > n_second  # type: ignore[index]


# -- client disconnect --------------------------------------------------------------------


async def test_disconnect_of_the_only_holder_releases_a_closed_window(chinwag_app: Any) -> None:
    holder = await chinwag_app.client()
    observer = await chinwag_app.client()  # never receives the path as a method result
    signals = await observer.watch()
    path = await instant_message(holder, "bob@localhost")
    await close_window(observer, signals, path)
    assert await observer.get(path, WINDOW, "IsClosed") is True
    await holder.close()
    await wait_gone(observer, path)
    await assert_unknown_object(observer, path)
    assert chinwag_app.running()


async def test_a_closed_window_stays_while_one_holder_is_connected(chinwag_app: Any) -> None:
    a = await chinwag_app.client()
    b = await chinwag_app.client()
    observer = await chinwag_app.client()
    signals = await observer.watch()
    shared = await instant_message(a, "bob@localhost")
    assert await instant_message(b, "bob@localhost") == shared
    only_a = await instant_message(a, "carol@localhost")
    await close_window(observer, signals, shared)
    await close_window(observer, signals, only_a)

    await a.close()
    # once a's leaving is seen (its own window went), b's hold still keeps the shared one
    await wait_gone(observer, only_a)
    assert await observer.get(shared, WINDOW, "IsClosed") is True
    assert await window_call(observer, shared, "Close") == S_FALSE
    assert await b.get(shared, WINDOW, "IsClosed") is True

    await b.close()
    await wait_gone(observer, shared)
    await assert_unknown_object(observer, shared)


async def test_holders_gone_while_open_release_the_window_when_it_closes(
    chinwag_app: Any,
) -> None:
    holder = await chinwag_app.client()
    observer = await chinwag_app.client()
    signals = await observer.watch()
    path = await instant_message(holder, "bob@localhost")
    marker = await instant_message(holder, "carol@localhost")
    await close_window(observer, signals, marker)
    await holder.close()
    await wait_gone(observer, marker)  # the disconnect was seen
    # still open: it stays, and answers
    assert await observer.get(path, WINDOW, "IsClosed") is False
    assert await window_call(observer, path, "Close") == S_OK
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [path])
    await wait_gone(observer, path)


# -- eviction -------------------------------------------------------------------------------


class FakeNotificationServer(ServiceInterface):
    """``org.freedesktop.Notifications`` enough for the app: it records Notify calls, so
    a test can click a notification as a person would."""

    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.notified: asyncio.Queue[int] = asyncio.Queue()
        self._ids = 0

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

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
        self.notified.put_nowait(server_id)
        return server_id

    @method()
    def CloseNotification(self, server_id: "u") -> None:
        return None


async def click_notification(bus: Any, server_id: int) -> None:
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


async def window_opened_by_the_user(app: Any, signals: Any) -> str:
    """A conversation window no client received: a contact writes, the user clicks the
    notification."""
    from chinwag.automation.bus import close_message_bus, connect_session_bus

    server = FakeNotificationServer()
    bus = await connect_session_bus(app.bus_address)
    try:
        bus.export("/org/freedesktop/Notifications", server)
        await bus.request_name("org.freedesktop.Notifications")
        async with XmppPeer(app.prosody, *app.prosody.make_user("bob")) as bob:
            known = {b[0] for b in signals.named("OnIMWindowCreated")}
            bob.send_chat(app.jid, "hello")
            server_id = await asyncio.wait_for(server.notified.get(), TIMEOUT)
            # The app learns the notification's id from the Notify reply, which it may
            # not have handled when the click arrives: click again until a window opens.
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while True:
                await click_notification(bus, server_id)
                try:
                    created = await signals.wait_for(
                        "OnIMWindowCreated", lambda b: b[0] not in known, timeout=0.5
                    )
                    break
                except AssertionError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise
            return str(created[0])
    finally:
        await close_message_bus(bus)


@pytest.mark.slow
async def test_eviction_once_more_than_1024_newer_windows_closed(chinwag_app: Any) -> None:
    """1,100 windows opened and closed in turn; the newest is one the user opened, which
    no client ever received: it counts as a newer closed window all the same."""
    client = await chinwag_app.client()
    signals = await client.watch()
    total = 1100
    paths = []
    for i in range(1, total):
        path = await instant_message(client, f"c{i:04d}@localhost")
        paths.append(path)
        assert await window_call(client, path, "Close") == S_OK
    users = await window_opened_by_the_user(chinwag_app, signals)
    assert users not in paths
    assert await window_call(client, users, "Close") == S_OK  # a call, not a hand-out
    paths.append(users)
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [users])
    assert chinwag_app.running()
    # window k (1-based) has total - k newer closed windows: gone iff that is over CAP
    wrong = []
    for k, path in enumerate(paths, 1):
        expect_gone = total - k > CAP
        if await is_gone(client, path) != expect_gone:
            state = "gone" if not expect_gone else "still answering"
            wrong.append(f"window {k} ({total - k} newer closed windows) is {state}")
    assert not wrong, "\n".join(wrong)
    await assert_unknown_object(client, paths[0])
    assert await window_call(client, users, "Show") == S_FALSE
    assert await client.get(users, WINDOW, "IsClosed") is True


# -- OnIMWindowDestroyed at shutdown ---------------------------------------------------------


@pytest.mark.fresh_app  # it ends the app
@pytest.mark.parametrize("how", ["Quit", "SIGTERM"])
async def test_shutdown_destroys_each_open_window_once(chinwag_app: Any, how: str) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    open_a = await instant_message(client, "bob@localhost")
    open_b = await instant_message(client, "carol@localhost")
    closed = await instant_message(client, "dave@localhost")
    await close_window(client, signals, closed)
    if how == "Quit":
        assert await client.messenger("Quit") == S_OK
        code = await chinwag_app.wait_exit()
    else:
        code = await chinwag_app.terminate()
    assert code == 0, chinwag_app.diagnostics()
    await signals.wait_for("OnAppShutdown")
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [open_a])
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [open_b])
    # a round trip to the bus daemon after the app is gone: everything it sent arrived
    await client.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "GetId",
        destination="org.freedesktop.DBus",
    )
    destroyed = sorted(b[0] for b in signals.named("OnIMWindowDestroyed"))
    assert destroyed == sorted([open_a, open_b, closed])
    assert len(signals.named("OnAppShutdown")) == 1
