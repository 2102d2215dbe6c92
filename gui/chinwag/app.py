"""The composition root: one QApplication, one qasync event loop that is the Qt loop, every
service and window built and wired here in one readable function, and an ordered
shutdown."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chinwag import __version__
from chinwag.system.paths import Paths

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from chinwag.api.service import Api
    from chinwag.gateways.control import GatewayControl
    from chinwag.system.preferences import Preferences
    from chinwag.ui.appearance import PreferencesApplier
    from chinwag.ui.bridge import (
        ConnectionEvent,
        ConversationChange,
        MessageEvent,
        RosterEvent,
        StorageEvent,
    )
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.room_window import RoomWindow

log = logging.getLogger("chinwag")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chinwag", description="Chinwag, a scriptable desktop instant messenger for XMPP."
    )
    parser.add_argument(
        "--background", action="store_true", help="start in the tray with no window shown"
    )
    parser.add_argument(
        "--no-local",
        action="store_true",
        help="do not sign in to chat on this network (no server) at start-up, even if it "
        "was on: it waits until it is turned on",
    )
    parser.add_argument("--debug", action="store_true", help="log everything, also to stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--xmlrpc-port",
        type=int,
        metavar="PORT",
        help="serve the LiveJournal XML-RPC gateway on this loopback port (0: a free one)",
    )
    parser.add_argument(
        "--rest-port",
        type=int,
        metavar="PORT",
        help="serve the UCWA 2.0 REST gateway on this loopback port (0: a free one)",
    )
    # For bench/bench_startup.py: report start-up figures on stdout, then quit.
    parser.add_argument("--debug-startup-report", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def setup_logging(paths: Paths, debug: bool) -> list[str]:
    """A private log file in the state folder (none, and a notice, when it cannot be
    written: the terminal then gets what it would have had) and the terminal; credentials
    in logged stanzas are masked in both. Returns what could not be done, in words."""
    from chinwag.system.logs import PrivateRotatingFileHandler, SecretMask
    from chinwag.system.paths import make_private_dir

    problems: list[str] = []
    mask = SecretMask()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    problem = make_private_dir(paths.state)
    if problem:
        problems.append(problem)
    try:
        handler: logging.Handler | None = PrivateRotatingFileHandler(
            paths.log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as exc:
        handler = None
        problems.append(
            f"The log file {paths.log_file} cannot be written ({exc.strerror or exc}): "
            "Chinwag logs to the terminal only."
        )
    if handler is not None:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(mask)
        root.addHandler(handler)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if debug else logging.WARNING if handler else logging.INFO)
    console.addFilter(mask)
    root.addHandler(console)
    logging.getLogger("slixmpp").setLevel(logging.DEBUG if debug else logging.WARNING)
    return problems


def show_startup_problems(
    problems: Sequence[str], window: QWidget, tray: Any, background: bool
) -> QWidget | None:
    """Tell the user what Chinwag could not use at start-up (already in the log): a
    non-modal message box over the main window, or with ``--background`` a tray balloon
    (nothing more when there is no tray: no window was asked for)."""
    if not problems:
        return None
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    title = "Chinwag started with problems"
    text = "\n\n".join(problems)
    if background:
        if tray is not None:
            tray.show_message(title, text)
        return None
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        title,
        "Chinwag started, but some of its files could not be used as they were.",
        QMessageBox.StandardButton.Ok,
        window,
    )
    box.setInformativeText(text)
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


class Notifications:
    """Incoming messages -> a desktop notification when their window is not active (and
    contacts coming online, a sound: as the user prefers), and the unread total -> the
    tray. ``sound(event_id)`` plays a sound-theme event."""

    #: After an account signs in, its contacts' presences arrive all at once: none of
    #: them is "coming online" for this long (milliseconds).
    ONLINE_QUIET_MS = 10_000

    def __init__(self, ctx: UiContext, tray: Any, notifier: Any, sound: Any | None = None) -> None:
        from PySide6.QtCore import QTimer

        self._ctx = ctx
        self._tray = tray
        self._notifier = notifier
        self._sound = sound
        self._quiet: set[str] = set()  # accounts just signed in
        self._recount = QTimer()
        self._recount.setSingleShot(True)
        self._recount.setInterval(100)
        self._recount.timeout.connect(self._update_unread)
        ctx.bridge.messages_changed.connect(self._on_message_event)
        ctx.bridge.conversations_changed.connect(self._on_conversation_event)
        ctx.bridge.storage_changed.connect(self._on_storage_event)
        notifier.activated.connect(ctx.windows.open)
        ctx.bridge.roster_changed.connect(self._on_roster_event)
        ctx.bridge.connection_changed.connect(self._on_connection_event)
        self._update_unread()

    def _on_storage_event(self, event: StorageEvent) -> None:
        from chinwag.core.events import StorageFailed

        if isinstance(event, StorageFailed):  # also with no window shown (--background)
            self._tray.show_message(
                "Chinwag cannot save messages",
                f"{event.reason}. What arrives is kept, unconfirmed, and saved as soon as "
                "there is room.",
            )

    def _on_conversation_event(self, event: ConversationChange) -> None:
        # Unread = after our read position: it moved (we read, here or on another device).
        self._recount.start()

    def _on_message_event(self, event: MessageEvent) -> None:
        from chinwag.core.events import MessageAdded, MessageRemoved, MessageStateChanged
        from chinwag.core.mentions import mentions
        from chinwag.core.models import ConversationKind
        from chinwag.core.users import notice_for

        if isinstance(event, MessageAdded | MessageStateChanged | MessageRemoved):
            self._recount.start()
        # What the account chose (ManageNotifications): new messages, corrections.
        notice = notice_for(event, self._ctx.core.users.notifications)
        if notice is None:
            return
        message = notice.message
        kind = message.key.kind
        if not self._wanted(kind):
            return
        window = self._ctx.windows.find(message.account, message.peer, kind)
        if window is not None and window.isActiveWindow():  # type: ignore[attr-defined]
            return
        if kind is ConversationKind.GROUPCHAT:  # a room's: only what names us
            room = self._ctx.core.rooms.room(message.account, message.peer)
            if room is None or not mentions(message.body, room.nick):
                return
            name = self._ctx.core.conversations.title(message.key)
            if not name or name == message.peer:
                name = message.peer.partition("@")[0]
            title = f"{message.sender_resource or 'Someone'} in {name}"
        else:
            title = self._ctx.core.roster.display_name(message.account, message.peer)
        body = f"(edited) {message.body}" if notice.edited else message.body
        self._notifier.notify(title, body, message.account, message.peer)
        self._play("message-new-instant")

    # -- preferences (issue 15) ------------------------------------------------------------

    def _play(self, event: str) -> None:
        from chinwag.system.preferences import SOUNDS

        if self._sound is not None and self._ctx.preferences.get(SOUNDS):
            self._sound(event)

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        from PySide6.QtCore import QTimer

        from chinwag.core.events import ConnectionStateChanged
        from chinwag.core.models import ConnectionState

        if (
            isinstance(event, ConnectionStateChanged)
            and event.state is ConnectionState.ONLINE
            and not event.resumed  # (a resumed stream brings no burst of presences)
        ):
            account = event.account
            self._quiet.add(account)
            QTimer.singleShot(self.ONLINE_QUIET_MS, lambda: self._quiet.discard(account))

    def _on_roster_event(self, event: RosterEvent) -> None:
        """A contact came online: a notification, when the user wants them."""
        from chinwag.core.events import ContactPresenceChanged
        from chinwag.system.preferences import NOTIFY_CONTACTS_ONLINE

        if (
            not isinstance(event, ContactPresenceChanged)
            or event.previous.available
            or not event.presence.available
            or event.account in self._quiet
            or not self._ctx.preferences.get(NOTIFY_CONTACTS_ONLINE)
        ):
            return
        name = self._ctx.core.roster.display_name(event.account, event.jid)
        status = f": {event.presence.status}" if event.presence.status else ""
        self._notifier.notify(f"{name} is online", f"{event.jid}{status}", event.account, event.jid)
        self._play("service-login")

    def _wanted(self, kind: Any) -> bool:
        """Whether the user wants notifications of messages (``kind`` CHAT) or of
        mentions in rooms (GROUPCHAT): Preferences."""
        from chinwag.core.models import ConversationKind
        from chinwag.system import preferences as prefs

        room = kind is ConversationKind.GROUPCHAT
        wanted = prefs.NOTIFY_MENTIONS if room else prefs.NOTIFY_MESSAGES
        return self._ctx.preferences.get(wanted)

    def close(self) -> None:
        """No more notifications nor counts (before the store closes: a count due in
        the timer would read a closed store)."""
        self._recount.stop()
        bridge = self._ctx.bridge
        bridge.messages_changed.disconnect(self._on_message_event)
        bridge.conversations_changed.disconnect(self._on_conversation_event)
        bridge.storage_changed.disconnect(self._on_storage_event)
        bridge.roster_changed.disconnect(self._on_roster_event)
        bridge.connection_changed.disconnect(self._on_connection_event)
        self._notifier.activated.disconnect(self._ctx.windows.open)

    def _update_unread(self) -> None:
        self._tray.set_unread(sum(self._ctx.core.store.unread_counts().values()))


def _wire_tray_click(ctx: UiContext, tray: Any, main_window: Any) -> None:
    """A left click on the tray icon opens the newest unread conversation, else the
    contact list."""
    from chinwag.ui.tray import open_newest_unread

    tray.open_requested.connect(lambda: open_newest_unread(ctx, main_window.present))


async def run(args: argparse.Namespace, paths: Paths, problems: Sequence[str] = ()) -> int:
    """Build everything, run until quit, shut down in order. ``problems``: what
    :func:`main` could not set up, for the user."""
    from PySide6.QtWidgets import QApplication

    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.ui.main_window import MainWindow
    from chinwag.wiring import build_core

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    _start_threads_on_demand()
    bus = await _session_bus()
    if bus is not None and await _handed_over(bus, args):
        return 0
    from chinwag.storage.database import open_or_recover
    from chinwag.storage.message_store import SqliteMessageStore
    from chinwag.system.config import JsonConfigStore

    database, history_problem = open_or_recover(paths.database)
    config = JsonConfigStore(paths.accounts_file)
    core = build_core(paths, store=SqliteMessageStore(database), config=config)
    from chinwag.core.status import StatusMemory
    from chinwag.system.config import JsonStatusStore

    # Each account's own status as last picked, set before anything shows or signs in.
    statuses = JsonStatusStore(paths.accounts_file.with_name("status.json"))
    StatusMemory(core, statuses).restore()
    bridge = EventBridge(core.bus)
    ctx: UiContext

    # The conversation and room windows (and their history views, ~90 ms of imports)
    # are imported when the first one opens, not before the contact list is painted.
    def make_window(account: str, peer: str) -> ConversationWindow:
        from chinwag.ui.conversation_window import ConversationWindow

        return ConversationWindow(ctx, account, peer)

    def make_room_window(account: str, room: str) -> RoomWindow:
        from chinwag.ui.room_window import RoomWindow

        return RoomWindow(ctx, account, room)

    def is_room(account: str, address: str) -> bool:
        return (
            core.rooms.room(account, address) is not None
            or core.bookmarks.get(account, address) is not None
        )

    from chinwag.system.ui_settings import UiSettings

    settings = UiSettings(paths.ui_settings_file)
    preferences = _preferences(paths)
    problems = [
        *problems,
        *filter(None, [history_problem, *config.problems, settings.problem, statuses.problem]),
        *filter(None, [preferences.problem]),
    ]
    ctx = UiContext(
        core,
        bridge,
        ConversationWindows(make_window, make_room_window, is_room),
        settings,
        preferences,
    )
    applier = _apply_preferences(ctx, app)
    from chinwag.ui.user_activity import UserActivityWatch

    UserActivityWatch(core.activity, app)  # lives with the app: XEP-0012 idle time
    main_window = MainWindow(ctx)
    quit_requested = asyncio.Event()
    report = (
        StartupReport(main_window, ctx, quit_requested, api=bus is not None)
        if args.debug_startup_report
        else None
    )
    if not (args.background or _starts_in_tray(ctx)) or report:
        main_window.show()

    # What the first window does not need is built after it is shown.
    await asyncio.sleep(0)
    from chinwag.ui.notifications import Notifier
    from chinwag.ui.tray import Tray
    from chinwag.ui.window_avatars import NotificationImages

    tray = Tray(ctx, window=main_window)
    notifier = Notifier(tray, images=NotificationImages(ctx))  # (the sender's avatar)
    from chinwag.system.sounds import SoundPlayer

    notifications = Notifications(ctx, tray, notifier, SoundPlayer().play)
    from chinwag.ui.window_switcher import WindowSwitcher

    WindowSwitcher(ctx.windows, main_window, main_window.app_actions)
    # (in the tray, as --background or "Start in the tray" has it: a tray balloon)
    show_startup_problems(problems, main_window, tray, not main_window.isVisible())

    def toggle_main_window() -> None:
        if main_window.isVisible() and main_window.isActiveWindow():
            main_window.hide()
        else:
            main_window.present()

    dialogs: list[QWidget] = []  # keep references while they are open

    def keep(dialog: QWidget) -> None:
        dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_: dialogs.remove(dialog) if dialog in dialogs else None)

    def show_accounts() -> None:
        from chinwag.ui.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(ctx, main_window)
        keep(dialog)
        dialog.show()

    def add_contact() -> None:
        from chinwag.ui.add_contact_dialog import AddContactDialog

        dialog = AddContactDialog(ctx, main_window)
        keep(dialog)
        dialog.open()

    def join_room() -> None:
        from PySide6.QtCore import Qt

        from chinwag.ui.join_room_dialog import JoinRoomDialog

        dialog = JoinRoomDialog(ctx, main_window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        keep(dialog)
        dialog.open()

    def create_room() -> None:
        from PySide6.QtCore import Qt

        from chinwag.ui.create_room_dialog import CreateRoomDialog

        dialog = CreateRoomDialog(ctx, main_window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        keep(dialog)
        dialog.open()

    def browse_rooms() -> None:
        from PySide6.QtCore import Qt

        from chinwag.ui.room_browser import RoomBrowser

        dialog = RoomBrowser(ctx, main_window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        keep(dialog)
        dialog.show()

    tray.toggle_requested.connect(toggle_main_window)
    _wire_tray_click(ctx, tray, main_window)
    tray.status_requested.connect(main_window.status_header.pick)
    tray.quit_requested.connect(quit_requested.set)
    main_window.quit_requested.connect(quit_requested.set)
    main_window.accounts_requested.connect(show_accounts)
    main_window.add_contact_requested.connect(add_contact)
    main_window.join_room_requested.connect(join_room)
    main_window.create_room_requested.connect(create_room)
    main_window.browse_rooms_requested.connect(browse_rooms)
    app.aboutToQuit.connect(quit_requested.set)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_requested.set)
    loop.add_signal_handler(signal.SIGUSR1, _log_tasks)
    if not tray.available and args.background:
        log.warning("no system tray: running in the background with no icon")

    server = None
    from chinwag.ui.automation_host import AutomationHost

    host = AutomationHost(ctx.windows, main_window, quit_requested.set)
    gateway_ports = _gateway_ports(args, paths)
    apis: list[Api] = []  # one API layer under every front, made when one needs it

    def shared_api() -> Api:
        if not apis:
            from chinwag.api.service import Api

            apis.append(Api(core, host))
        return apis[0]

    gateways = _gateway_control(ctx, paths, shared_api)
    if bus is not None:
        from chinwag.automation.server import AutomationServer

        server = await AutomationServer.start(core, host, bus, shared_api())
        if report is not None:
            report.api_answering()
        if server is None:  # another Chinwag started at the same moment and won
            await _handed_over(bus, args, force=True)
            quit_requested.set()
    if not quit_requested.is_set():  # (only the Chinwag that runs: its ports, its file)
        await gateways.start(gateway_ports)

    if not core.accounts.accounts and not report and not quit_requested.is_set():
        if args.background:  # no window: an account comes from the tray or a script
            log.info("no account yet: add one from the tray menu or the automation API")
        else:
            show_first_run(ctx, main_window, keep)
    if not quit_requested.is_set():
        if core.files is not None:  # (a file's message held when the app stopped)
            await core.files.start()
        core.link_local_resumes = _resumes_link_local(args)
        core.auto_sign_in()

    await quit_requested.wait()

    log.info("shutting down")
    await gateways.close()
    if server is not None:
        await server.close()  # OnAppShutdown, before the windows go
    main_window.really_quit = True
    ctx.windows.close_all()
    for dialog in list(dialogs):
        dialog.close()
    main_window.close()
    notifications.close()
    applier.close()
    log.debug("shutdown: notifier")
    await notifier.aclose()
    tray.close()
    bridge.close()
    log.debug("shutdown: core")
    await core.shutdown()
    if server is not None:
        await server.disconnect()
    elif bus is not None:
        from chinwag.automation.bus import close_message_bus

        await close_message_bus(bus)
    for api in apis:
        api.close()
    log.debug("shutdown: done")
    return 0


def _preferences(paths: Paths) -> Preferences:
    """The user's preferences (Preferences dialog); with a damaged file, the defaults
    and its ``problem`` to tell the user."""
    from chinwag.system.preferences import FILE_NAME, Preferences

    return Preferences(paths.config / FILE_NAME)


def _apply_preferences(ctx: UiContext, app: QApplication) -> PreferencesApplier:
    """Apply the preferences now (theme, font, density, privacy) and after each change
    (the login entry too: a failure is said in the Preferences dialog, beside its tick).
    With "start on login" on, an entry an older Chinwag wrote (``--background``: never a
    window) is rewritten as this one writes it."""
    from chinwag.system.autostart import LoginEntry
    from chinwag.system.preferences import START_ON_LOGIN
    from chinwag.ui.appearance import PreferencesApplier

    ctx.login_entry = entry = LoginEntry()
    if ctx.preferences.get(START_ON_LOGIN):
        entry.update_outdated()
    return PreferencesApplier(ctx, app, entry.set)


def _resumes_link_local(args: argparse.Namespace) -> bool:
    """An enabled link-local account (serverless chat, which announces the person to
    everyone on the network) signs in at start-up only when Chinwag was started as a
    user starts it, from the menu, a terminal or the login entry ("Start in the tray"
    included): never with ``--background`` (D-Bus activation and scripts start it so),
    nor with ``--no-local`` (asked not to, this time). Otherwise it waits to be turned
    on (first-run dialog, accounts dialog, preferences, ``signin --local``)."""
    return not args.background and not args.no_local


def _starts_in_tray(ctx: UiContext) -> bool:
    """The user chose to start in the tray (with no window), and there is a tray to
    start in (without one, the window is the only way in)."""
    from PySide6.QtWidgets import QSystemTrayIcon

    from chinwag.system.preferences import START_IN_TRAY

    return ctx.preferences.get(START_IN_TRAY) and QSystemTrayIcon.isSystemTrayAvailable()


def _gateway_ports(args: argparse.Namespace, paths: Paths) -> dict[str, int]:
    """The script gateways the command line or the settings turn on (gateways.md):
    name -> port (0: any)."""
    from chinwag.gateways.settings import configured_port

    ports: dict[str, int] = {}
    for name, given in (("xmlrpc", args.xmlrpc_port), ("rest", args.rest_port)):
        port = given if given is not None else configured_port(paths.config, name)
        if port is not None:
            ports[name] = port
    return ports


def _gateway_control(ctx: UiContext, paths: Paths, make_api: Callable[[], Api]) -> GatewayControl:
    """The script gateways, started and stopped while Chinwag runs (the Preferences
    dialog's "Script gateways" page reaches them through ``ctx``)."""
    from chinwag.gateways.control import GatewayControl

    control = GatewayControl(paths.config, paths.state, make_api)
    ctx.gateways = control
    return control


def show_first_run(ctx: UiContext, main_window: Any, keep: Any) -> None:
    """The first-run dialog; it goes by itself if an account signs in another way (a
    script's ``Signin``, say)."""
    from chinwag.core.events import ConnectionStateChanged
    from chinwag.core.models import ConnectionState
    from chinwag.ui.first_run_dialog import FirstRunDialog

    first_run = FirstRunDialog(ctx, main_window)
    keep(first_run)

    def on_event(event: ConnectionEvent) -> None:
        if (
            isinstance(event, ConnectionStateChanged)
            and event.state is ConnectionState.ONLINE
            and first_run.isVisible()
            and not first_run.busy
        ):
            first_run.close()

    ctx.bridge.connection_changed.connect(on_event)
    first_run.destroyed.connect(lambda *_: ctx.bridge.connection_changed.disconnect(on_event))
    main_window.present()
    first_run.open()


async def _session_bus() -> Any:
    """The session bus for the automation API, or None (no bus: no API, a warning)."""
    from chinwag.automation.bus import connect_session_bus

    try:
        return await asyncio.wait_for(connect_session_bus(), 10.0)
    except Exception as exc:
        log.warning("no session bus (%s): the automation API is off", exc)
        return None


async def _handed_over(bus: Any, args: argparse.Namespace, *, force: bool = False) -> bool:
    """A Chinwag already runs on this bus: raise its window (unless ``--background``)
    and let it be. True when this process should exit. One that is shutting down is
    waited for, and then this one starts."""
    from chinwag.automation.bus import close_message_bus
    from chinwag.automation.server import hand_over, running_instance, wait_until_gone

    if not force and not await running_instance(bus):
        return False
    outcome = await hand_over(bus, show=not args.background)
    if outcome == "quitting" and not force:
        log.info("the running Chinwag is shutting down: starting once it has gone")
        if await wait_until_gone(bus, 30.0):
            return False
    log.info("Chinwag is already running (%s)", outcome)
    if not force:
        await close_message_bus(bus)
        shown = "" if args.background else "; raised its window"
        sys.stderr.write(f"chinwag: already running{shown}\n")
    return True


class StartupReport:
    """``--debug-startup-report``: time from the process start to the first paint of the
    main window, to the automation API answering on the session bus (when there is one),
    and resident memory once the primary account is signed in."""

    def __init__(
        self, window: QWidget, ctx: UiContext, done: asyncio.Event, *, api: bool = False
    ) -> None:
        from PySide6.QtCore import QEvent, QObject

        from chinwag.core.events import ConnectionStateChanged
        from chinwag.core.models import ConnectionState

        self.figures: dict[str, float] = {}
        self._done = done
        self._wanted = {"first_paint_ms", "signed_in_rss_mb", *(["api_ms"] if api else [])}

        class PaintWatch(QObject):
            def eventFilter(inner, watched: QObject, event: QEvent) -> bool:  # noqa: N805
                if event.type() == QEvent.Type.Paint and "first_paint_ms" not in self.figures:
                    self.figures["first_paint_ms"] = _ms_since_process_start()
                    self._check()
                return False

        self._watch = PaintWatch()
        window.installEventFilter(self._watch)

        def on_event(event: ConnectionEvent) -> None:
            if (
                isinstance(event, ConnectionStateChanged)
                and event.state is ConnectionState.ONLINE
                and "signed_in_rss_mb" not in self.figures
            ):
                self.figures["signed_in_ms"] = _ms_since_process_start()
                self.figures["signed_in_rss_mb"] = _rss_mb()
                self.figures.update(_rss_parts_mb())
                self._check()

        ctx.bridge.connection_changed.connect(on_event)

    def api_answering(self) -> None:
        """The automation API's name is owned and its objects exported."""
        self.figures.setdefault("api_ms", _ms_since_process_start())
        self._check()

    def _check(self) -> None:
        if self._wanted <= self.figures.keys():
            sys.stdout.write("startup-report " + json.dumps(self.figures) + "\n")
            sys.stdout.flush()
            self._done.set()


def _log_tasks() -> None:
    """SIGUSR1: log where every asyncio task is waiting (diagnosing a hang)."""
    import io

    for task in asyncio.all_tasks():
        out = io.StringIO()
        task.print_stack(file=out)
        log.warning("task %s:\n%s", task.get_name(), out.getvalue())


def _ms_since_process_start() -> float:
    with open("/proc/self/stat", encoding="ascii") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime", encoding="ascii") as f:
        uptime = float(f.read().split()[0])
    return (uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000.0


def _rss_parts_mb() -> dict[str, float]:
    """Resident memory by kind: the process's own (heap, Python objects) and the pages
    of shared libraries and files it has touched."""
    parts = {"RssAnon:": "signed_in_rss_anon_mb", "RssFile:": "signed_in_rss_file_mb"}
    figures: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key = line.split(maxsplit=1)[0] if line.strip() else ""
            if key in parts:
                figures[parts[key]] = int(line.split()[1]) / 1024.0
    return figures


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _start_threads_on_demand() -> None:
    """The loop's executor (name lookups, ``asyncio.to_thread``): threads started as needed,
    at most four, instead of qasync's ten QThreads started with it (1.2 MB resident)."""
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chinwag-io")
    asyncio.get_running_loop().set_default_executor(executor)


def spare_pyside_source_reads() -> None:
    """PySide6 looks for the word "PySide6" in the source of every Python module imported
    after it (for its ``__feature__`` switches) with ``inspect.getsource``, which leaves each
    file's text in ``linecache`` for good: 12 MB of Chinwag's memory once signed in. The same
    test, reading the file without keeping it; and the text of the modules it read while
    PySide6 itself was imported (enum, types: 0.3 MB) goes. Call once PySide6 is imported."""
    import linecache
    import types

    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or original is None or getattr(original, "spares_source", False):
        return

    def uses_pyside(module: types.ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return bool(original(module))  # (zips, frozen, built-in: PySide's own way)
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return False

    uses_pyside.spares_source = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
    for path, entry in list(linecache.cache.items()):
        if len(entry) == 4 and entry[1] is not None:  # (read from a file: read again if asked)
            del linecache.cache[path]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = Paths.default()
    problems = setup_logging(paths, args.debug)
    problems += [p for p in paths.prepare() if p not in problems]
    for problem in problems:
        log.warning("%s", problem)

    import PySide6  # noqa: F401  (then its source check is replaced, before more imports)

    spare_pyside_source_reads()
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Chinwag")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("im.chinwag.Chinwag")
    # Closing the last window hides Chinwag to the tray; only Quit ends it.
    app.setQuitOnLastWindowClosed(False)
    return int(qasync.run(run(args, paths, problems)))


if __name__ == "__main__":
    sys.exit(main())
