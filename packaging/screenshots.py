"""Screenshots for the README and the AppStream metainfo, taken on a virtual X screen
(Xvfb) against a throwaway local Prosody: the contact list (its menus, the unread count),
a conversation window, the accounts dialog and the preferences dialog (its General page,
and its Script gateways page with two keys and the REST gateway on).

    .venv/bin/python packaging/screenshots.py [--out resources/screenshots]

Needs Debian's xvfb (and the Qt xcb libraries listed in tests/run.sh); with
fonts-cantarell installed the text is set in Cantarell, as on a GNOME desktop (else in
the first of Inter and Noto Sans found, else Qt's default). Nothing is waited for by
the clock: Xvfb says on a pipe when it accepts connections, each step of the scene waits
for the core's event that it happened, and each window for its first expose."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

#: Every step of the scene, and Xvfb, must happen within this many seconds.
TIMEOUT = 30.0
#: The images, name -> (width, height) in pixels (the metainfo names these sizes).
SIZES = {
    "main-window": (340, 560),
    "conversation": (520, 560),
    "accounts": (560, 320),
    "preferences": (560, 775),
    "preferences-gateways": (560, 775),
}
#: -noreset: Xvfb would otherwise reset when its last client leaves (the probe that
#: checks it answers), refusing connections meanwhile.
XVFB_ARGS = ("-screen", "0", "1280x900x24", "-nolisten", "tcp", "-noreset")
FONTS = ("Cantarell", "Inter", "Noto Sans")


def start_xvfb() -> tuple[subprocess.Popen[bytes], int]:
    """Xvfb on a free display; returns once it accepts connections.

    The display is a random one from 100 up, not the lowest free one that every other
    Xvfb started at the same moment goes for. Xvfb writes its number to ``-displayfd``
    when it listens, or exits (the pipe then ends) when the display was taken: then it is
    started again on another. The display is also checked by connecting to it.

    Returns Xvfb and the pipe's read end, to be closed only once Xvfb is gone: Xvfb writes
    the number again at each server generation, and a write to a closed pipe is fatal
    to it ("Cannot write display number")."""
    if not shutil.which("Xvfb"):
        raise SystemExit("Xvfb is not installed: apt-get install xvfb")
    for _attempt in range(5):
        read_end, write_end = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", f":{random.randrange(100, 1000)}", "-displayfd", str(write_end), *XVFB_ARGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], TIMEOUT)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if number.isdigit() and proc.poll() is None and display_answers(number):
            os.environ["DISPLAY"] = f":{number}"
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            return proc, read_end
        proc.kill()
        proc.wait()
        os.close(read_end)
    raise SystemExit("Xvfb did not start (five displays tried)")


def display_answers(number: str) -> bool:
    """An X server accepts connections on display ``number`` (its socket, abstract or in
    /tmp/.X11-unix, as Xlib and xcb try them)."""
    for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(address)
            except OSError:
                continue
            return True
    return False


async def until(buses: Iterable[Any], check: Callable[[], bool], what: str) -> None:
    """Wait until ``check()`` holds, testing it after every event on ``buses``."""
    happened = asyncio.Event()

    def on_event(_event: object) -> None:
        if check():
            happened.set()

    unsubscribes = [bus.subscribe_all(on_event) for bus in buses]
    try:
        if not check():
            await asyncio.wait_for(happened.wait(), TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"gave up waiting for {what}") from None
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()


async def exposed(widget: Any) -> None:
    """Show ``widget`` and wait for its window's first expose (mapped and painted)."""
    from PySide6.QtCore import QEvent, QObject

    done = asyncio.Event()

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Expose and widget.windowHandle().isExposed():
                done.set()
            return False

    widget.show()
    handle = widget.windowHandle()
    watch = Watch()
    handle.installEventFilter(watch)
    try:
        if not handle.isExposed():
            await asyncio.wait_for(done.wait(), TIMEOUT)
    finally:
        handle.removeEventFilter(watch)


def choose_font() -> None:
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    families = set(QFontDatabase.families())
    for family in FONTS:
        if family in families:
            font = QFont(family)
            font.setPointSize(10)
            QApplication.setFont(font)
            return


async def scene(out: Path) -> list[Path]:
    from _server import bench_server
    from PySide6.QtWidgets import QApplication

    from chinwag.api.service import Api
    from chinwag.core.events import MessageAdded, MessageStateChanged
    from chinwag.core.models import (
        AccountConfig,
        ConversationKey,
        Direction,
        MessageState,
        Show,
    )
    from chinwag.gateways.control import GatewayControl
    from chinwag.gateways.keys import KeyKind
    from chinwag.system.paths import Paths
    from chinwag.system.preferences import Preferences
    from chinwag.system.secrets import FileSecretStore
    from chinwag.ui.accounts_dialog import AccountsDialog
    from chinwag.ui.appearance import PreferencesApplier
    from chinwag.ui.automation_host import AutomationHost
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.ui.icons import icon
    from chinwag.ui.main_window import MainWindow
    from chinwag.wiring import build_core

    written: list[Path] = []
    with bench_server() as server, tempfile.TemporaryDirectory() as profiles:

        def core_for(name: str, jid: str, password: str, nick: str):  # type: ignore[no-untyped-def]
            paths = Paths.under(Path(profiles) / name).ensure()
            core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
            config = AccountConfig(jid=jid, host=server.host, port=server.port, nickname=nick)
            core.add_account(config, password)
            return core

        def user(local: str) -> tuple[str, str]:
            password = f"{local}-screenshots"
            return server.register(local, password), password

        me = user("sam")
        friends = {
            "Alex Morgan": (user("alex"), Show.ONLINE, "Back from the mountains"),
            "Priya Nair": (user("priya"), Show.DND, "Release day - ping if urgent"),
            "Jonas Berg": (user("jonas"), Show.AWAY, "Lunch"),
            "Mei Chen": (user("mei"), Show.ONLINE, ""),
        }
        groups = {"Alex Morgan": "Friends", "Mei Chen": "Friends"}
        core = core_for("me", me[0], me[1], "Sam Taylor")
        others = {}
        await core.sign_in(me[0])
        for name, ((jid, pw), show, status) in friends.items():
            other = core_for(name, jid, pw, name)
            await other.sign_in(jid)
            others[name] = (other, jid, show, status)
            await core.roster.add_contact(me[0], jid, name, [groups.get(name, "Work")])
            await other.roster.add_contact(jid, me[0], "Sam Taylor", ["Work"])
        for other, jid, _, _ in others.values():
            await until(
                [other.bus],
                lambda o=other, j=jid: me[0] in o.roster.pending_requests(j),
                f"{me[0]}'s request at {jid}",
            )
            other.roster.approve(jid, me[0])
        friend_jids = [jid for _, jid, _, _ in others.values()]
        await until(
            [core.bus],
            lambda: set(friend_jids) <= set(core.roster.pending_requests(me[0])),
            "every friend's request",
        )
        for jid in friend_jids:
            core.roster.approve(me[0], jid)
        for other, jid, show, status in others.values():
            other.sessions[jid].set_presence(show, status)
        await until(
            [core.bus],
            lambda: all(
                core.roster.presence(me[0], jid).show == show
                and core.roster.presence(me[0], jid).status == status
                for _, jid, show, status in others.values()
            ),
            "every friend's presence",
        )

        alex, alex_jid = others["Alex Morgan"][0], others["Alex Morgan"][1]
        mei, mei_jid = others["Mei Chen"][0], others["Mei Chen"][1]
        priya_jid = others["Priya Nair"][1]
        script = [
            (alex, alex_jid, me[0], "Hey Sam! Are we still on for Saturday?"),
            (core, me[0], alex_jid, "Yes! 10 am at the trailhead. I'll bring coffee."),
            (alex, alex_jid, me[0], "Perfect. The route is here: https://example.org/trails/ridge"),
            (core, me[0], alex_jid, "Looks great. Forecast says sun all day."),
            (alex, alex_jid, me[0], "See you there :)"),
            (core, me[0], priya_jid, "Good luck with the release!"),
            (mei, mei_jid, me[0], "Lunch tomorrow?"),
        ]
        everyone = [core.bus, *(o.bus for o, *_ in others.values())]
        received: set[tuple[str, str]] = set()
        states: dict[str, MessageState] = {}

        def on_added(event: MessageAdded) -> None:
            if event.message.direction == Direction.INCOMING:
                received.add((event.message.account, event.message.body))

        def on_state(event: MessageStateChanged) -> None:
            states[event.message.uid] = event.message.state

        for bus in everyone:
            bus.subscribe(MessageAdded, on_added)
            bus.subscribe(MessageStateChanged, on_state)
        mine = []
        for sender, frm, to, text in script:
            sent = await sender.messaging.send(frm, to, text)
            if sender is core:
                mine.append(sent.uid)
            await until(everyone, lambda t=to, b=text: (t, b) in received, f"{text!r} at {to}")
        await until(
            everyone,
            lambda: all(states.get(uid) == MessageState.DELIVERED for uid in mine),
            "the receipts for Sam's messages",
        )

        bridge = EventBridge(core.bus)
        ctx: UiContext
        main: MainWindow
        apis: list[Api] = []

        def make_window(account: str, peer: str) -> ConversationWindow:
            return ConversationWindow(ctx, account, peer)

        def make_api() -> Api:  # (the script gateways' API, made when one starts)
            if not apis:
                apis.append(Api(core, AutomationHost(ctx.windows, main, lambda: None)))
            return apis[0]

        my_paths = Paths.under(Path(profiles) / "me")
        gateways = GatewayControl(my_paths.config, my_paths.state, make_api)
        ctx = UiContext(
            core,
            bridge,
            ConversationWindows(make_window),
            preferences=Preferences(),
            gateways=gateways,
        )
        app = QApplication.instance()
        applier = PreferencesApplier(ctx, app, lambda _enabled: None)  # type: ignore[arg-type]
        app.setWindowIcon(icon("chinwag"))  # type: ignore[union-attr]
        main = MainWindow(ctx)
        main.resize(*SIZES["main-window"])
        await exposed(main)
        # read before the window opens: no "New messages" line above the whole conversation
        await core.messaging.mark_displayed(ConversationKey(me[0], alex_jid))
        window = ctx.windows.open(me[0], alex_jid)
        window.resize(*SIZES["conversation"])  # type: ignore[attr-defined]
        await exposed(window)
        accounts = AccountsDialog(ctx, main)
        accounts.resize(*SIZES["accounts"])
        await exposed(accounts)
        # Script gateways: two keys made as chinwag-remote gateway-key makes them, and the
        # REST gateway on (on any free port)
        gateways.keys.create(KeyKind.REST, me[0], label="Build bot")
        gateways.keys.create(KeyKind.XMLRPC, me[0], label="Blog")
        await gateways.set_enabled("rest", True, 0)
        preferences: Any = main.show_preferences()  # as Edit > Preferences opens it
        preferences.resize(*SIZES["preferences"])
        await exposed(preferences)

        def gateways_page() -> Any:
            preferences.tabs.setCurrentWidget(preferences.gateway_page)
            return preferences

        shots: dict[str, Callable[[], Any]] = {
            "main-window": lambda: main,
            "conversation": lambda: window,
            "accounts": lambda: accounts,
            "preferences": lambda: preferences,
            "preferences-gateways": gateways_page,
        }
        for name, widget in shots.items():
            path = out / f"{name}.png"
            widget().grab().save(str(path))
            written.append(path)
            print(f"wrote {path}")
        for dialog in (accounts, preferences):
            dialog.close()
        await gateways.close()
        for api in apis:
            api.close()
        ctx.windows.close_all()
        main.really_quit = True
        main.close()
        del applier
        bridge.close()
        for other, *_ in others.values():
            await other.shutdown()
        await core.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb, displayfd = start_xvfb()
    try:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])
        app.setApplicationName("Chinwag")
        app.setDesktopFileName("im.chinwag.Chinwag")
        app.setQuitOnLastWindowClosed(False)
        choose_font()
        qasync.run(scene(args.out))
        del app
    finally:
        xvfb.terminate()
        xvfb.wait()
        os.close(displayfd)


if __name__ == "__main__":
    main()
