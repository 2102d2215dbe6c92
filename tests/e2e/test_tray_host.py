"""Chinwag in a real system tray: the app as a process on its own Xvfb display (xcb, not
offscreen) with trayer as the tray host, on a private session bus and a real Prosody.

- its icon is embedded and shown in the tray (so Qt found the tray:
  ``QSystemTrayIcon.isSystemTrayAvailable()``), and closing the main window as a window
  manager does leaves the app running, its D-Bus API answering;
- "Start in the tray" with a tray host: no main window; without one: the window (a user
  must never end up with an app they cannot see);
- a left click on the icon opens the newest unread conversation.

Every wait is on an event: the bus name owned, the app's signals, X events (windows
created, mapped, reparented; the tray selection taken). Skipped, saying why, where Xvfb
or trayer cannot run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chinwag.automation import names
from chinwag.system.preferences import FILE_NAME
from rig.app import (
    APP_TIMEOUT,
    ONLINE,
    AppProcess,
    ChildProcess,
    wait_owned,
    wait_signed_in,
    write_profile,
)
from rig.peer import XmppPeer
from rig.xdesktop import (
    XWatch,
    missing_desktop,
    shown_top_levels,
    tray_icon,
    trayer,
    wait_tray_manager,
    xvfb,
)

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

MAIN_WINDOW = names.MAIN_WINDOW_PATH
WINDOW = names.WINDOW


@pytest.fixture
def display() -> Iterator[str]:
    why = missing_desktop()
    if why:
        pytest.skip(f"no virtual X desktop with a tray: {why}")
    with xvfb() as name:
        yield name


@pytest.fixture
def watch(display: str) -> Iterator[XWatch]:
    watch = XWatch(display)
    yield watch
    watch.close()


@pytest.fixture
async def tray_host(display: str, watch: XWatch) -> AsyncIterator[None]:
    """trayer on the display, managing the tray."""
    with trayer(display):
        await wait_tray_manager(watch)
        yield


class Desktop:
    """Starts Chinwag on the test's display and stops it at the end."""

    def __init__(self, prosody: Any, home: Path, display: str) -> None:
        self.prosody = prosody
        self.home = home
        self.display = display
        self.apps: list[AppProcess] = []

    def launch(
        self, *args: str, start_in_tray: bool = False, notify_messages: bool = True
    ) -> AppProcess:
        """Start Chinwag with a saved account (no waiting)."""
        jid, password = self.prosody.make_user("app")
        env = write_profile(self.home, jid, password, self.prosody)
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=self.display)
        prefs = {"start_in_tray": start_in_tray, "notify_messages": notify_messages}
        (self.home / "config" / "chinwag" / FILE_NAME).write_text(json.dumps(prefs))
        with (self.home / "stderr.txt").open("ab") as stderr:
            popen = subprocess.Popen(
                # (a test profile chats on the network only when a test turns it on)
                [sys.executable, "-m", "chinwag", "--no-local", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        bus = env["DBUS_SESSION_BUS_ADDRESS"]
        app = AppProcess(ChildProcess(popen), jid, password, env, bus, self.home, self.prosody)
        self.apps.append(app)
        return app

    async def start(
        self, *args: str, start_in_tray: bool = False, notify_messages: bool = True
    ) -> AppProcess:
        """Start Chinwag and wait until its API answers and it is signed in."""
        app = self.launch(*args, start_in_tray=start_in_tray, notify_messages=notify_messages)
        client = await app.client()
        await wait_owned(app, client)
        await wait_signed_in(app, client)
        return app

    async def stop(self) -> None:
        for app in self.apps:
            await app.close_clients()
            if app.running():
                app.proc.send_signal(signal.SIGTERM)
                await app.wait_exit(APP_TIMEOUT)


@pytest.fixture
async def desktop(
    prosody: Any, dbus_bus: Any, tmp_path: Path, display: str
) -> AsyncIterator[Desktop]:
    desktop = Desktop(prosody, tmp_path, display)
    yield desktop
    await desktop.stop()


async def main_window_closed(app: AppProcess) -> bool:
    client = await app.client()
    return bool(await client.get(MAIN_WINDOW, WINDOW, "IsClosed"))


async def test_the_icon_shows_in_the_tray_and_closing_the_window_keeps_the_app(
    tray_host: None, desktop: Desktop, watch: XWatch
) -> None:
    app = await desktop.start()  # as from the menu: with its window
    icon = await watch.wait_for(tray_icon, "Chinwag's icon shown in trayer")
    assert icon.width > 0
    assert icon.height > 0
    client = await app.client()
    hwnd = await client.get(MAIN_WINDOW, WINDOW, "HWND")
    assert hwnd, "the main window is not shown"
    window = await watch.wait_for(
        lambda w: next((x for x in shown_top_levels(w) if x.id == hwnd), None),
        "the main window mapped",
    )

    watch.close_window(window.id)  # the window manager's close button
    await watch.wait_for(
        lambda w: not any(x.id == hwnd for x in shown_top_levels(w)) or None,
        "the main window unmapped",
    )
    assert app.running()
    assert await client.get(MAIN_WINDOW, WINDOW, "IsClosed") is True
    status = await client.get(names.MESSENGER_PATH, names.MESSENGER, "MyStatus")
    assert status == ONLINE  # answering, and still signed in
    assert tray_icon(watch) is not None  # still in the tray


async def test_start_in_the_tray_with_a_tray_host_shows_no_window(
    tray_host: None, desktop: Desktop, watch: XWatch
) -> None:
    app = await desktop.start(start_in_tray=True)
    await watch.wait_for(tray_icon, "Chinwag's icon shown in trayer")
    # The main window is shown, if at all, before the API answers: it is not.
    assert await main_window_closed(app)
    assert shown_top_levels(watch) == []


async def test_start_in_the_tray_without_a_tray_host_shows_the_window(
    desktop: Desktop, watch: XWatch
) -> None:
    app = await desktop.start(start_in_tray=True)
    assert not await main_window_closed(app)
    shown = await watch.wait_for(lambda w: shown_top_levels(w) or None, "the main window")
    assert len(shown) == 1
    assert tray_icon(watch) is None


async def test_a_left_click_on_the_icon_opens_the_newest_unread_conversation(
    tray_host: None, desktop: Desktop, watch: XWatch
) -> None:
    # No message notifications: with no notification server on the test's bus, Qt shows
    # its own balloon beside the icon, and the click could land on the first message's
    # balloon (opening that conversation, as a click on a balloon should).
    app = await desktop.start("--background", notify_messages=False)  # (as activation does)
    icon = await watch.wait_for(tray_icon, "Chinwag's icon shown in trayer")
    client = await app.client()
    signals = await client.watch()
    older = XmppPeer(desktop.prosody, *desktop.prosody.make_user("older"))
    newer = XmppPeer(desktop.prosody, *desktop.prosody.make_user("newer"))
    async with older, newer:
        for peer, text in ((older, "first"), (newer, "second")):
            seen = len(signals.items)
            peer.send_chat(app.jid, text)
            await signals.wait_for("MessageReceived", after=seen)
        assert await client.get(names.MESSENGER_PATH, names.MESSENGER, "ConversationWindows") == []

        seen = len(signals.items)
        watch.click(icon)
        (path,) = await signals.wait_for("OnIMWindowCreated", after=seen)
        contacts = await client.get(path, names.CONVERSATION_WINDOW, "Contacts")
        addresses = [await client.get(c, names.CONTACT, "SigninName") for c in contacts]
        assert addresses == [newer.jid]
