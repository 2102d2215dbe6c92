"""The tray icon (own status, unread indicator, menu, clicks) and desktop notifications.

Notifications are tested over a real D-Bus: the rig's private ``dbus-daemon`` with a small
notification server exported on it by the test (dbus-next), which records each call and
emits ActionInvoked / NotificationClosed like a desktop's would; and without any server
or bus, where the tray balloon is used.

No ``from __future__ import annotations`` here: dbus-next reads the D-Bus signatures of
the fake server from its annotations, so they must stay plain string values."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from dbus_next import Message
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method, signal
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget
from pytestqt.qtbot import QtBot

from chinwag.core.events import MessageEdited
from chinwag.core.models import ConversationKey
from chinwag.core.status import SELECTABLE, Status
from chinwag.ui.icons import icon
from chinwag.ui.notifications import MAX_LINE, Notifier
from chinwag.ui.tray import Tray, newest_unread, open_newest_unread
from rig.dbus import PrivateSessionBus, close_message_bus

if TYPE_CHECKING:
    from conftest import UiRig

ALICE = "alice@example.net"
BOB = "bob@example.net"
Reason = QSystemTrayIcon.ActivationReason
pytestmark = pytest.mark.usefixtures("keep_running_without_windows")

# D-Bus signatures, as dbus-next reads them from annotations.
STR, UINT32, INT32, STRS, HINTS = "s", "u", "i", "as", "a{sv}"
ACTION, CLOSED, INFO = "us", "uu", "ssss"


# --------------------------------------------------------------------------- helpers


class Spy:
    def __init__(self, signal_: Any) -> None:
        self.calls: list[tuple[Any, ...]] = []
        signal_.connect(lambda *args: self.calls.append(args))


async def eventually(
    check: Callable[[], Any], timeout: float = 10.0, what: str | Callable[[], str] = ""
) -> Any:
    """Let the loop run until ``check()`` holds; ``what`` (or what it returns, read at
    the timeout) says what was awaited and how things stood."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out waiting for {said or check}")
        await asyncio.sleep(0.01)


def actions(menu: QMenu) -> list[str]:
    return [a.text() if not a.isSeparator() else "-" for a in menu.actions()]


def status_menu(tray: Tray) -> QMenu:
    menu = next(a.menu() for a in tray.menu.actions() if a.menu() is not None)
    assert isinstance(menu, QMenu)
    return menu


def status_action(tray: Tray, label: str) -> QAction:
    return next(a for a in status_menu(tray).actions() if a.text() == label)


def checked(tray: Tray) -> list[str]:
    return [a.text() for a in status_menu(tray).actions() if a.isChecked()]


@pytest.fixture
def tray(ui: "UiRig") -> Iterator[Tray]:
    made = Tray(ui.ctx)
    yield made
    made.close()


# --------------------------------------------------------------------------- tray


async def test_without_a_system_tray_it_exists_and_shows_nothing(tray: Tray) -> None:
    # The offscreen platform has no system tray, like a bare window manager.
    assert QSystemTrayIcon.isSystemTrayAvailable() is False
    assert tray.available is False
    assert not tray.tray_icon.isVisible()
    assert tray.show_message("Alice", "hello") is False
    tray.set_unread(2)  # keeps working, quietly
    assert tray.tray_icon.toolTip() == "Chinwag: Offline\n2 unread"


async def test_icon_and_tooltip_follow_own_status(ui: "UiRig", tray: Tray) -> None:
    assert (tray.status, tray.icon_name) == (Status.OFFLINE, "status-offline")
    assert tray.tray_icon.toolTip() == "Chinwag: Offline"

    conn = await ui.sign_in()
    assert (tray.status, tray.icon_name) == (Status.ONLINE, "status-online")
    assert tray.tray_icon.toolTip() == "Chinwag: Online"
    assert not tray.tray_icon.icon().isNull()

    ui.core.sessions[ui.me].set_status(Status.BUSY, "in a meeting")
    assert (tray.status, tray.icon_name) == (Status.BUSY, "status-busy")
    assert tray.tray_icon.toolTip() == "Chinwag: Busy"

    conn.reachable = False
    conn.drop()
    await eventually(lambda: tray.icon_name == "status-connecting", what="connecting")
    assert tray.tray_icon.toolTip() == "Chinwag: Connecting"
    conn.reachable = True
    session = ui.core.sessions[ui.me]
    await eventually(
        lambda: tray.status is Status.BUSY,
        what=lambda: f"back, still busy (now {tray.status}, {session.state}, {session.picked})",
    )


async def test_unread_indicator(ui: "UiRig", tray: Tray) -> None:
    await ui.sign_in()
    tray.set_unread(3)
    assert tray.unread == 3
    assert (tray.icon_name, tray.badge) == ("status-online", "3")
    assert tray.tray_icon.toolTip() == "Chinwag: Online\n3 unread"
    tray.set_unread(150)
    assert tray.badge == "99+"
    tray.set_unread(0)
    assert (tray.icon_name, tray.badge) == ("status-online", "")
    assert tray.tray_icon.toolTip() == "Chinwag: Online"
    tray.set_unread(-4)  # nonsense from a caller is not a negative count
    assert tray.unread == 0


async def test_no_account_yet(ui: "UiRig", tray: Tray) -> None:
    ui.core.accounts.remove(ui.me)
    await asyncio.sleep(0)
    assert tray.tray_icon.toolTip() == "Chinwag: no account yet"
    assert tray.status is Status.OFFLINE


async def test_status_menu_asks_the_app_and_shows_what_applies(ui: "UiRig", tray: Tray) -> None:
    assert actions(tray.menu) == ["Show Chinwag", "-", "&Status", "-", "&Quit"]
    assert actions(status_menu(tray)) == [s.label for s in SELECTABLE]
    assert all(a.isCheckable() for a in status_menu(tray).actions())
    assert checked(tray) == ["Offline"]
    await ui.sign_in()
    assert checked(tray) == ["Online"]

    requested = Spy(tray.status_requested)
    status_action(tray, "Busy").trigger()
    assert requested.calls == [(Status.BUSY,)]
    assert checked(tray) == ["Online"]  # nobody applied it: the check mark says so

    # The app applies a request the way the main window does.
    tray.status_requested.connect(lambda s: ui.core.sessions[ui.me].set_status(s, ""))
    status_action(tray, "Be right back").trigger()
    assert checked(tray) == ["Be right back"]
    assert tray.icon_name == "status-away"


async def test_click_opens_and_menu_items(ui: "UiRig", tray: Tray, qtbot: QtBot) -> None:
    opens = Spy(tray.open_requested)
    toggles = Spy(tray.toggle_requested)
    quits = Spy(tray.quit_requested)
    tray.tray_icon.activated.emit(Reason.Trigger)  # what a click on the icon sends
    assert len(opens.calls) == 1
    tray.tray_icon.activated.emit(Reason.DoubleClick)  # follows a Trigger: no 2nd open
    tray.tray_icon.activated.emit(Reason.Context)  # the menu opens by itself
    assert (len(opens.calls), len(toggles.calls)) == (1, 0)

    window = QWidget()
    qtbot.addWidget(window)
    tray.set_window(window)
    window.show()
    tray.menu.popup(QPoint(0, 0))
    assert tray.menu.actions()[0].text() == "Hide Chinwag"
    tray.menu.hide()
    window.hide()
    tray.menu.popup(QPoint(0, 0))
    assert tray.menu.actions()[0].text() == "Show Chinwag"
    tray.menu.hide()

    tray.menu.actions()[0].trigger()
    assert len(toggles.calls) == 1
    tray.menu.actions()[-1].trigger()
    assert len(quits.calls) == 1


def pixel(tray: Tray, x: float, y: float, size: int = 64) -> QColor:
    """The colour of the tray icon at (x, y), as fractions of its side."""
    image = tray.tray_icon.icon().pixmap(size, size).toImage()
    assert (image.width(), image.height()) == (size, size)
    return image.pixelColor(int(x * (size - 1)), int(y * (size - 1)))


async def test_icon_keeps_the_app_shape_in_every_status(ui: "UiRig", tray: Tray) -> None:
    app_icon = icon("chinwag").pixmap(64, 64).toImage()
    # The app icon's left half (the bubble and its first dot), never under a badge.
    spots = [(0.25, 0.45), (0.31, 0.44), (0.12, 0.3), (0.2, 0.8)]

    def same_shape() -> bool:
        return all(
            pixel(tray, x, y) == app_icon.pixelColor(int(x * 63), int(y * 63)) for x, y in spots
        )

    assert tray.status is Status.OFFLINE
    assert same_shape()
    offline_corner = pixel(tray, 0.88, 0.88)
    await ui.sign_in()
    seen = {offline_corner.name()}
    for status in (Status.ONLINE, Status.BUSY, Status.AWAY):
        ui.core.sessions[ui.me].set_status(status, "")
        assert tray.status is status
        assert same_shape(), status
        seen.add(pixel(tray, 0.88, 0.88).name())  # the status badge, lower right
    assert len(seen) == 4  # each status its own badge


async def test_icon_shows_the_unread_count(ui: "UiRig", tray: Tray) -> None:
    await ui.sign_in()
    plain = pixel(tray, 0.9, 0.1)
    tray.set_unread(5)
    badge = pixel(tray, 0.9, 0.1)
    assert badge != plain
    assert badge.red() > 150
    assert badge.green() < 100
    assert pixel(tray, 0.25, 0.45) == icon("chinwag").pixmap(64, 64).toImage().pixelColor(
        int(0.25 * 63), int(0.45 * 63)
    )
    tray.set_unread(0)
    assert pixel(tray, 0.9, 0.1) == plain


async def test_click_opens_the_newest_unread_conversation_else_the_list(
    ui: "UiRig", tray: Tray
) -> None:
    carol = "carol@example.net"
    shown: list[str] = []
    tray.open_requested.connect(lambda: open_newest_unread(ui.ctx, lambda: shown.append("list")))
    await ui.sign_in()
    assert newest_unread(ui.ctx) is None
    tray.tray_icon.activated.emit(Reason.Trigger)
    assert shown == ["list"]
    assert ui.windows.all() == []

    ui.conn.receive("hi", peer=carol)
    ui.conn.receive("hello", peer=ALICE)  # the newest (and first by name only if not)
    await eventually(lambda: len(ui.core.store.unread_counts()) == 2, what="both messages stored")
    assert newest_unread(ui.ctx) == ConversationKey(ui.me, ALICE)
    tray.tray_icon.activated.emit(Reason.Trigger)
    assert shown == ["list"]
    [window] = ui.windows.all()
    assert ui.windows.find(ui.me, ALICE) is window
    window.close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- notifications


class FakeNotificationServer(ServiceInterface):
    """org.freedesktop.Notifications as a desktop implements it, recording each call."""

    def __init__(self, capabilities: tuple[str, ...] = ("actions", "body")) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.capabilities = list(capabilities)
        self.calls: list[dict[str, Any]] = []
        self.closed: list[int] = []
        self._last_id = 0

    @method()
    def Notify(
        self,
        app_name: STR,
        replaces_id: UINT32,
        app_icon: STR,
        summary: STR,
        body: STR,
        actions: STRS,
        hints: HINTS,
        expire_timeout: INT32,
    ) -> UINT32:
        if not replaces_id:
            self._last_id += 1
        self.calls.append(
            {
                "app_name": app_name,
                "replaces_id": replaces_id,
                "summary": summary,
                "body": body,
                "actions": actions,
                "hints": {k: v.value for k, v in hints.items()},
                "expire_timeout": expire_timeout,
            }
        )
        return replaces_id or self._last_id

    @method()
    def GetCapabilities(self) -> STRS:
        return self.capabilities

    @method()
    def GetServerInformation(self) -> INFO:
        return ["fake", "chinwag tests", "1", "1.2"]

    @method()
    def CloseNotification(self, notification_id: UINT32) -> None:
        self.closed.append(notification_id)
        self.NotificationClosed(notification_id, 3)

    @signal()
    def ActionInvoked(self, notification_id: UINT32, action_key: STR) -> ACTION:
        return [notification_id, action_key]

    @signal()
    def NotificationClosed(self, notification_id: UINT32, reason: UINT32) -> CLOSED:
        return [notification_id, reason]


async def serve(address: str, server: FakeNotificationServer) -> MessageBus:
    bus = await MessageBus(bus_address=address).connect()
    bus.export("/org/freedesktop/Notifications", server)
    await bus.request_name("org.freedesktop.Notifications")
    return bus


@pytest.fixture
async def desktop(dbus_bus: PrivateSessionBus) -> AsyncIterator[FakeNotificationServer]:
    """A notification server on the private session bus."""
    server = FakeNotificationServer()
    bus = await serve(dbus_bus.address, server)
    try:
        yield server
    finally:
        await close_message_bus(bus)


@pytest.fixture
async def notifier(tray: Tray) -> AsyncIterator[Notifier]:
    """A notifier on the session bus of the test (``dbus_bus`` sets it, when used)."""
    made = Notifier(tray, min_interval=0.3)
    try:
        yield made
    finally:
        await made.aclose()


async def test_notification_click_opens_the_conversation(
    desktop: FakeNotificationServer, notifier: Notifier
) -> None:
    opened = Spy(notifier.activated)
    notifier.notify("Alice", "hello <b>there</b> & you", "me@example.org", ALICE)
    # The server records the call before its reply reaches the notifier: wait for both.
    await eventually(lambda: notifier.backend == "dbus", what="the Notify reply")
    call = desktop.calls[0]
    assert call["app_name"] == "Chinwag"
    assert call["replaces_id"] == 0
    assert call["summary"] == "Alice"
    assert call["body"] == "hello <b>there</b> & you"  # no body-markup: sent as typed
    assert call["actions"] == ["default", "Open"]
    assert call["hints"]["category"] == "im.received"
    assert call["hints"]["desktop-entry"] == "im.chinwag.Chinwag"

    desktop.ActionInvoked(1, "default")  # the user clicks the notification
    await eventually(lambda: opened.calls, what="activated")
    assert opened.calls == [("me@example.org", ALICE)]


class InstantClickServer(FakeNotificationServer):
    """A user faster than the D-Bus round trip: the click's signal is on the wire
    before Notify's reply (the worst order a real server could give)."""

    @method()
    def Notify(
        self,
        app_name: STR,
        replaces_id: UINT32,
        app_icon: STR,
        summary: STR,
        body: STR,
        actions: STRS,
        hints: HINTS,
        expire_timeout: INT32,
    ) -> UINT32:
        self._last_id += 1
        self.calls.append({"summary": summary})
        self.ActionInvoked(self._last_id, "default")
        return self._last_id


async def test_a_click_that_arrives_before_the_notify_reply_still_opens(
    dbus_bus: PrivateSessionBus, notifier: Notifier
) -> None:
    server = InstantClickServer()
    bus = await serve(dbus_bus.address, server)
    try:
        opened = Spy(notifier.activated)
        notifier.notify("Alice", "hello", "me@example.org", ALICE)
        await eventually(lambda: opened.calls, what="activated")
        assert opened.calls == [("me@example.org", ALICE)]
    finally:
        await close_message_bus(bus)


async def test_a_burst_from_one_contact_updates_one_notification(
    desktop: FakeNotificationServer, notifier: Notifier
) -> None:
    for n in range(4):
        notifier.notify("Alice", f"message {n}", "me@example.org", ALICE)
    notifier.notify("Bob", "hi", "me@example.org", BOB)
    await eventually(lambda: len(desktop.calls) >= 3, what="the merged update")
    # Nothing more comes from the burst: each contact's notifications go out one after
    # the other, so a last message from each shows up after anything the burst caused.
    notifier.notify("Alice", "last", "me@example.org", ALICE)
    notifier.notify("Bob", "last", "me@example.org", BOB)

    def shown_last(summary: str) -> bool:
        return any(c["summary"] == summary and c["body"].endswith("last") for c in desktop.calls)

    await eventually(lambda: shown_last("Alice") and shown_last("Bob"), what="the last ones")
    by_summary = [(c["summary"], c["replaces_id"], c["body"]) for c in desktop.calls]
    assert by_summary[:3] == [
        ("Alice", 0, "message 0"),
        ("Bob", 0, "hi"),
        ("Alice", 1, "4 new messages\nmessage 1\nmessage 2\nmessage 3"),
    ]
    assert sorted(by_summary[3:]) == [
        ("Alice", 1, "5 new messages\nmessage 2\nmessage 3\nlast"),
        ("Bob", 2, "2 new messages\nhi\nlast"),
    ]


async def test_a_closed_notification_is_not_replaced(
    desktop: FakeNotificationServer, notifier: Notifier
) -> None:
    opened = Spy(notifier.activated)
    notifier.notify("Alice", "one", "me@example.org", ALICE)
    notifier.notify("Bob", "hi", "me@example.org", BOB)
    await eventually(lambda: len(desktop.calls) == 2, what="Notify")
    assert [(c["summary"], c["replaces_id"]) for c in desktop.calls] == [("Alice", 0), ("Bob", 0)]
    desktop.NotificationClosed(1, 2)  # dismissed by the user
    # The server's signals arrive in order: once Bob's click is in, so is the close.
    desktop.ActionInvoked(2, "default")
    await eventually(lambda: opened.calls, what="Bob's click")
    assert opened.calls == [("me@example.org", BOB)]

    notifier.notify("Alice", "two", "me@example.org", ALICE)
    await eventually(lambda: len(desktop.calls) == 3, what="a new Notify")
    assert (desktop.calls[2]["replaces_id"], desktop.calls[2]["body"]) == (0, "two")
    desktop.ActionInvoked(1, "default")  # the old id means nothing any more
    desktop.ActionInvoked(3, "default")  # ... and the new one opens Alice, once
    await eventually(lambda: len(opened.calls) == 2, what="Alice's click")
    assert opened.calls == [("me@example.org", BOB), ("me@example.org", ALICE)]


class InstantCloseServer(FakeNotificationServer):
    """A server that takes a notification away at once (do not disturb, say): its
    NotificationClosed is on the wire before Notify's reply."""

    @method()
    def Notify(
        self,
        app_name: STR,
        replaces_id: UINT32,
        app_icon: STR,
        summary: STR,
        body: STR,
        actions: STRS,
        hints: HINTS,
        expire_timeout: INT32,
    ) -> UINT32:
        notification_id = replaces_id or self._last_id + 1
        self._last_id = max(self._last_id, notification_id)
        self.calls.append({"replaces_id": replaces_id, "body": body})
        self.NotificationClosed(notification_id, 1)
        return notification_id


async def test_a_notification_closed_before_the_notify_reply_is_not_replaced(
    dbus_bus: PrivateSessionBus, notifier: Notifier
) -> None:
    server = InstantCloseServer()
    bus = await serve(dbus_bus.address, server)
    try:
        notifier.notify("Alice", "one", "me@example.org", ALICE)
        await eventually(lambda: notifier.backend == "dbus", what="the Notify reply")
        notifier.notify("Alice", "two", "me@example.org", ALICE)
        await eventually(lambda: len(server.calls) == 2, what="a second Notify")
    finally:
        await close_message_bus(bus)
    assert [(c["replaces_id"], c["body"]) for c in server.calls] == [(0, "one"), (0, "two")]


async def test_withdraw_takes_the_notification_away(
    desktop: FakeNotificationServer, notifier: Notifier
) -> None:
    notifier.notify("Alice", "one", "me@example.org", ALICE)
    await eventually(lambda: desktop.calls, what="Notify")
    notifier.withdraw("me@example.org", ALICE)  # the user opened the conversation
    await eventually(lambda: desktop.closed, what="CloseNotification")
    assert desktop.closed == [1]


async def test_text_is_plain_and_short(dbus_bus: PrivateSessionBus, notifier: Notifier) -> None:
    server = FakeNotificationServer(capabilities=("actions", "body", "body-markup"))
    bus = await serve(dbus_bus.address, server)
    try:
        notifier.notify("Alice\x07", "<i>x</i> &\x00" + "y" * 500, "me@example.org", ALICE)
        await eventually(lambda: server.calls, what="Notify")
    finally:
        await close_message_bus(bus)
    body = server.calls[0]["body"]
    # A server that reads markup must show the text as typed, not render it.
    assert body.startswith("&lt;i&gt;x&lt;/i&gt; &amp; y")
    assert body.endswith("…")
    assert len(body) < MAX_LINE + 20
    assert server.calls[0]["summary"] == "Alice"


async def test_only_the_notification_server_can_click(
    desktop: FakeNotificationServer, notifier: Notifier, dbus_bus: PrivateSessionBus
) -> None:
    opened = Spy(notifier.activated)
    notifier.notify("Alice", "hello", "me@example.org", ALICE)
    notifier.notify("Bob", "hi", "me@example.org", BOB)
    await eventually(lambda: len(desktop.calls) == 2, what="Notify")
    impostor = FakeNotificationServer()
    bus = await MessageBus(bus_address=dbus_bus.address).connect()
    try:
        bus.export("/org/freedesktop/Notifications", impostor)
        impostor.ActionInvoked(1, "default")
        # A reply from the bus means it has routed the impostor's signal before it.
        await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus.Peer",
                member="Ping",
            )
        )
    finally:
        await close_message_bus(bus)
    desktop.ActionInvoked(2, "default")  # the real server's click comes in after it
    await eventually(lambda: opened.calls, what="Bob's click")
    assert opened.calls == [("me@example.org", BOB)]


async def test_falls_back_to_the_tray_when_no_server_answers(
    dbus_bus: PrivateSessionBus, tray: Tray, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform's balloon cannot be seen offscreen: record what the tray is asked.
    balloons: list[tuple[str, str]] = []
    monkeypatch.setattr(tray, "show_message", lambda t, b: balloons.append((t, b)) or True)
    opened = Spy(notifier.activated)
    notifier.notify("Alice", "hello", "me@example.org", ALICE)
    await eventually(lambda: balloons, what="a balloon")
    assert balloons == [("Alice", "hello")]
    assert notifier.backend == "tray"

    tray.tray_icon.messageClicked.emit()  # what Qt emits when the balloon is clicked
    assert opened.calls == [("me@example.org", ALICE)]


async def test_falls_back_to_the_tray_without_a_bus(
    tray: Tray, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No dbus_bus: the session bus address points at nothing (the rig's isolation).
    balloons: list[tuple[str, str]] = []
    monkeypatch.setattr(tray, "show_message", lambda t, b: balloons.append((t, b)) or True)
    notifier.notify("Bob", "hi", "me@example.org", BOB)
    await eventually(lambda: balloons, what="a balloon")
    assert notifier.backend == "tray"


async def test_without_tray_or_server_nothing_breaks(notifier: Notifier) -> None:
    notifier.notify("Bob", "hi", "me@example.org", BOB)  # the tray is unavailable too
    await eventually(lambda: notifier.backend == "none", what="giving up quietly")


async def test_closing_while_a_notification_is_on_its_way(
    desktop: FakeNotificationServer, tray: Tray
) -> None:
    notifier = Notifier(tray)
    notifier.notify("Alice", "hello", "me@example.org", ALICE)  # connecting right now
    await notifier.aclose()  # at quit: nothing is left running, nothing leaks
    tasks = asyncio.all_tasks()
    notifier.notify("Alice", "too late", "me@example.org", ALICE)
    assert asyncio.all_tasks() == tasks  # nothing on its way ...
    assert not [t for t in notifier.findChildren(QTimer) if t.isActive()]  # ... or due
    assert "too late" not in [c["body"] for c in desktop.calls]


# --------------------------------------------------------------------------- the choice


@pytest.fixture
async def choose(
    ui: "UiRig", desktop: FakeNotificationServer, notifier: Notifier, tray: Tray
) -> AsyncIterator[Callable[[list[str]], Any]]:
    """``await choose(events)``: the account signed in, its choice made through the API
    (ManageNotifications), and the app's notifications (chinwag.app) wired as the app
    does to the notifier on the desktop's server."""
    from chinwag.api.service import Api
    from chinwag.app import Notifications
    from rig.fakes import FakeWindowHost

    made: list[Notifications] = []

    async def chosen(events: list[str]) -> None:
        await ui.sign_in()
        api = Api(ui.core, FakeWindowHost(ui.core))
        try:
            assert await api.users.manage_notifications(events) == 0
        finally:
            api.close()
        assert ui.core.users.notifications(ui.me) == tuple(events)
        made.append(Notifications(ui.ctx, tray, notifier))

    yield chosen
    for notifications in made:  # no unread recount after the store is closed
        notifications.close()


def bodies(desktop: FakeNotificationServer) -> list[str]:
    return [c["body"] for c in desktop.calls]


async def test_with_edit_message_chosen_a_correction_notifies_and_a_new_message_not(
    ui: "UiRig", desktop: FakeNotificationServer, notifier: Notifier, choose: Any
) -> None:
    await choose(["EditMessage"])
    first = ui.conn.receive("lunch at noon")
    ui.conn.receive("lunch at one", replaces=first.uid)
    # One contact's notifications go out in order (a new one merged into the same): had
    # the new message notified, it would show before or with the correction.
    await eventually(lambda: desktop.calls, what=lambda: f"a notification ({bodies(desktop)})")
    assert [(c["summary"], c["body"]) for c in desktop.calls] == [
        (ui.peer, "(edited) lunch at one")
    ]


async def test_with_send_message_chosen_a_new_message_notifies_and_a_correction_not(
    ui: "UiRig", desktop: FakeNotificationServer, notifier: Notifier, choose: Any
) -> None:
    await choose(["SendMessage"])
    first = ui.conn.receive("lunch at noon")
    await eventually(lambda: desktop.calls, what="the new message's notification")
    ui.conn.receive("lunch at one", replaces=first.uid)
    ui.conn.receive("see you")  # after the correction: shown after anything it caused
    await eventually(
        lambda: any("see you" in b for b in bodies(desktop)),
        what=lambda: f"the last message's notification ({bodies(desktop)})",
    )
    assert not [b for b in bodies(desktop) if "lunch at one" in b]
    assert bodies(desktop)[0] == "lunch at noon"


async def test_with_nothing_chosen_nothing_notifies(
    ui: "UiRig", desktop: FakeNotificationServer, notifier: Notifier, choose: Any
) -> None:
    await choose([])
    edited = Spy(ui.bridge.messages_changed)
    first = ui.conn.receive("lunch at noon")
    ui.conn.receive("lunch at one", replaces=first.uid)
    await eventually(
        lambda: [e for (e,) in edited.calls if isinstance(e, MessageEdited)], what="the edit"
    )
    notifier.notify("marker", "after", ui.me, ui.peer)  # what the notifier had is out first
    await eventually(lambda: any(b.endswith("after") for b in bodies(desktop)), what="the marker")
    assert bodies(desktop) == ["after"]
