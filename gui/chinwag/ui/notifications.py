"""Desktop notifications for incoming messages whose conversation window is not active.

Where a notification server owns ``org.freedesktop.Notifications`` on the session bus
(Desktop Notifications Specification 1.2), each contact gets one notification with an
"Open" default action; clicking it emits :attr:`Notifier.activated` and the app opens the
conversation. Elsewhere the tray icon's balloon is used. A burst from one contact updates
its one notification in place (``replaces_id``) at most every ``min_interval`` seconds
instead of stacking a notification per message. With ``images``, each carries the
contact's avatar (freedesktop ``image-path``; the tray balloon's icon).

Why dbus-next and not QtDBus: the D-Bus call must pass ``replaces_id`` as a ``uint32``
(``u``), and PySide6 (6.11) cannot marshal a Python int as anything but ``i``/``x`` (its
QDBusArgument ``<<`` for int is bound to ``ushort``), so ``Notify`` fails with
UnknownMethod on every real server. dbus-next runs on the same asyncio (qasync) loop,
never blocks, and is already the project's D-Bus library."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from chinwag.ui.icons import ICONS
from chinwag.ui.tasks import UiTasks

if TYPE_CHECKING:
    from dbus_next.aio.message_bus import MessageBus
    from dbus_next.message import Message
    from PySide6.QtGui import QIcon

    from chinwag.ui.tray import Tray

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
APP_NAME = "Chinwag"
DESKTOP_ENTRY = "im.chinwag.Chinwag"
#: The action invoked by clicking the notification itself (spec: "default").
DEFAULT_ACTION = "default"
#: Longest wait for the bus or the notification server before using the tray instead.
CALL_TIMEOUT = 5.0
#: After the server was found missing, how long to use the tray before asking again.
RETRY_AFTER = 60.0
#: Limits that keep a notification a glance, not a transcript.
MAX_TITLE = 64
MAX_LINE = 160
MAX_LINES = 3

#: The server's signals about one notification: (member, signature).
_SERVER_SIGNALS = frozenset({("ActionInvoked", "us"), ("NotificationClosed", "uu")})

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain(text: str, limit: int) -> str:
    """``text`` without control characters, whitespace runs folded, cut at ``limit``."""
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape_markup(text: str) -> str:
    """For servers that read the body as markup: show it as typed, never rendered."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class _Entry:
    """The notification of one contact: what it says and where it stands."""

    account: str
    jid: str
    title: str = ""
    lines: list[str] = field(default_factory=list)
    count: int = 0
    server_id: int = 0  # the D-Bus notification id, 0 before the first Notify
    last_sent: float = float("-inf")
    updated: float = 0.0
    dirty: bool = False  # changed since last shown
    sending: bool = False
    timer: QTimer | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.jid)

    def body(self) -> str:
        if self.count <= 1:
            return self.lines[-1] if self.lines else ""
        return "\n".join([f"{self.count} new messages", *self.lines])


class NotificationImages(Protocol):
    """The picture of a notification about a contact
    (:class:`chinwag.ui.window_avatars.NotificationImages`)."""

    async def image_path(self, account: str, jid: str) -> str:
        """A file with their avatar; "" when there is none to show."""

    def icon(self, account: str, jid: str) -> QIcon:
        """Their avatar for the tray's balloon."""


class _UnavailableError(Exception):
    """No notification server answered (or no bus): use the tray."""


class Notifier(QObject):
    """Shows one desktop notification per contact with unread incoming messages.

    ``bus_address`` is the session bus (None: ``DBUS_SESSION_BUS_ADDRESS``); or pass a
    connected dbus-next ``bus`` to share one connection (it is then not closed here)."""

    #: A notification (or the tray balloon) was clicked: (account, contact).
    activated = Signal(str, str)

    def __init__(
        self,
        tray: Tray | None = None,
        parent: QObject | None = None,
        *,
        bus_address: str | None = None,
        bus: MessageBus | None = None,
        min_interval: float = 2.0,
        merge_window: float = 120.0,
        images: NotificationImages | None = None,
    ) -> None:
        super().__init__(parent)
        self._tray = tray
        self._images = images
        self._address = bus_address
        self._bus = bus
        self._own_bus = bus is None
        self._min_interval = min_interval
        self._merge_window = merge_window
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._by_id: dict[int, tuple[str, str]] = {}
        #: Signals (clicks, closes) about ids whose Notify reply is still on its way to
        #: _deliver, as id -> [(member, second argument, sender)]: the reply and the
        #: signal arrive in order, but the awaiting coroutine resumes later (and a server
        #: may even signal before it replies).
        self._early_signals: dict[int, list[tuple[str, Any, str]]] = {}
        self._server: str = ""  # unique bus name of the notification server
        self._markup = False  # the server reads bodies as markup
        self._down_until = float("-inf")
        self._connecting: asyncio.Future[bool] | None = None
        self._subscribed = False  # our handler and match rule are on self._bus
        self._tasks = UiTasks(self, "desktop notifications")
        self._balloon: tuple[str, str] | None = None
        self._backend = "unknown"
        self._closed = False
        if tray is not None:
            tray.message_clicked.connect(self._balloon_clicked)

    # -- public -------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """How the last notification was shown: 'dbus', 'tray', 'none' or 'unknown'."""
        return self._backend

    def notify(self, title: str, body: str, account: str, jid: str) -> None:
        """An incoming message from ``jid`` (shown as ``title``) on ``account``.

        Returns at once; the notification appears (or is updated) asynchronously."""
        if self._closed:
            return
        now = time.monotonic()
        key = (account, jid)
        entry = self._entries.get(key)
        if entry is None or now - entry.updated > self._merge_window:
            server_id = entry.server_id if entry is not None else 0
            self._drop(key, keep_id=True)
            entry = self._entries[key] = _Entry(account, jid, server_id=server_id)
        entry.title = plain(title, MAX_TITLE) or jid
        entry.lines = [*entry.lines, plain(body, MAX_LINE)][-MAX_LINES:]
        entry.count += 1
        entry.updated = now
        entry.dirty = True
        self._schedule(entry)

    def withdraw(self, account: str, jid: str) -> None:
        """The conversation was opened or read: take its notification away."""
        entry = self._drop((account, jid))
        if entry is not None and entry.server_id and self._bus is not None:
            self._tasks.start(
                self._close_notification(entry.server_id), what="closing a notification"
            )

    async def aclose(self) -> None:
        """Stop: cancel what is pending and close the bus connection (if ours)."""
        self._closed = True
        for key in list(self._entries):
            self._drop(key)
        self._tasks.close()
        connecting = self._connecting
        if connecting is not None:
            connecting.cancel()
        await self._tasks.idle()
        if connecting is not None:
            await asyncio.gather(connecting, return_exceptions=True)
        self._connecting = None
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.remove_message_handler(self._on_message)
            self._subscribed = False
            if self._own_bus:
                await _close_bus(bus)

    # -- scheduling ---------------------------------------------------------------------

    def _schedule(self, entry: _Entry) -> None:
        """Show ``entry`` now, or when its rate limit allows (merging what comes meanwhile)."""
        if entry.sending or (entry.timer is not None and entry.timer.isActive()):
            return
        delay = entry.last_sent + self._min_interval - time.monotonic()
        if delay <= 0:
            self._flush(entry)
            return
        if entry.timer is None:
            entry.timer = QTimer(self)
            entry.timer.setSingleShot(True)
            entry.timer.timeout.connect(lambda e=entry: self._flush(e))
        entry.timer.start(int(delay * 1000) + 1)

    def _flush(self, entry: _Entry) -> None:
        if self._entries.get(entry.key) is not entry or not entry.dirty:
            return
        entry.dirty = False
        entry.sending = True
        self._tasks.start(self._deliver(entry, entry.title, entry.body()), what="a notification")

    async def _deliver(self, entry: _Entry, title: str, body: str) -> None:
        try:
            if await self._ensure_bus():
                try:
                    image = await self._image_path(entry)
                    server_id = await self._notify(entry.server_id, title, body, image)
                except _UnavailableError as exc:
                    log.info("desktop notifications unavailable (%s); using the tray", exc)
                    self._down_until = time.monotonic() + RETRY_AFTER
                else:
                    self._backend = "dbus"
                    if self._entries.get(entry.key) is not entry:
                        # Withdrawn while on its way: take it away again.
                        await self._close_notification(server_id)
                        return
                    self._by_id.pop(entry.server_id, None)
                    entry.server_id = server_id
                    self._by_id[server_id] = entry.key
                    for member, argument, sender in self._early_signals.pop(server_id, ()):
                        if sender == self._server:
                            self._server_signal(member, server_id, argument)
                    return
            self._show_balloon(entry, title, body)
        finally:
            entry.sending = False
            entry.last_sent = time.monotonic()
            if entry.dirty and self._entries.get(entry.key) is entry:
                self._schedule(entry)

    async def _image_path(self, entry: _Entry) -> str:
        """The avatar's file for ``entry``; "" without one (never holds it up long)."""
        if self._images is None:
            return ""
        try:
            return await asyncio.wait_for(
                self._images.image_path(entry.account, entry.jid), CALL_TIMEOUT
            )
        except Exception as exc:  # no picture is no reason to drop the notification
            log.info("no avatar for the notification about %s: %s", entry.jid, exc)
            return ""

    def _show_balloon(self, entry: _Entry, title: str, body: str) -> None:
        tray = self._tray
        if tray is not None and (
            tray.show_message(title, body, icon=self._images.icon(entry.account, entry.jid))
            if self._images is not None
            else tray.show_message(title, body)
        ):
            self._balloon = entry.key
            self._backend = "tray"
        else:
            self._backend = "none"
            log.debug("no way to show a notification for %s", entry.jid)

    def _drop(self, key: tuple[str, str], *, keep_id: bool = False) -> _Entry | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        if entry.timer is not None:
            entry.timer.stop()
            entry.timer.deleteLater()
            entry.timer = None
        if not keep_id:
            self._by_id.pop(entry.server_id, None)
        if self._balloon == key:
            self._balloon = None
        return entry

    # -- D-Bus --------------------------------------------------------------------------

    async def _ensure_bus(self) -> bool:
        """A bus connection with the server's signals routed here; False meanwhile the
        server is known to be missing. One connection attempt at a time."""
        if self._subscribed and self._bus is not None and self._bus.connected:
            return True
        if time.monotonic() < self._down_until:
            return False
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _connect(self) -> bool:
        from dbus_next.constants import MessageType
        from dbus_next.message import Message

        bus = self._bus
        if bus is None or not bus.connected:
            if bus is not None:  # the old connection broke: let go of it for good
                bus.remove_message_handler(self._on_message)
                if self._own_bus:
                    await _close_bus(bus)
                self._bus = None
            try:
                bus = await asyncio.wait_for(_open_bus(self._address), CALL_TIMEOUT)
            except Exception as exc:  # no bus at all: a bare session, a container, tests
                log.info("no D-Bus session bus (%s); notifications use the tray", exc)
                self._down_until = time.monotonic() + RETRY_AFTER
                return False
            if self._closed:
                await _close_bus(bus)
                return False
            self._bus = bus
            self._own_bus = True
        if not self._subscribed:
            bus.add_message_handler(self._on_message)
            # Only the server's signals (ActionInvoked, NotificationClosed) are wanted.
            match = f"type='signal',interface='{INTERFACE}',path='{OBJECT_PATH}'"
            try:
                await self._call(
                    Message(
                        destination="org.freedesktop.DBus",
                        path="/org/freedesktop/DBus",
                        interface="org.freedesktop.DBus",
                        member="AddMatch",
                        signature="s",
                        body=[match],
                    )
                )
            except _UnavailableError as exc:
                bus.remove_message_handler(self._on_message)
                log.info("the session bus refused a match rule (%s); using the tray", exc)
                self._down_until = time.monotonic() + RETRY_AFTER
                return False
            self._subscribed = True
        try:
            reply = await self._call(
                Message(
                    destination=BUS_NAME,
                    path=OBJECT_PATH,
                    interface=INTERFACE,
                    member="GetCapabilities",
                )
            )
        except _UnavailableError:
            return True  # Notify will tell whether there is a server
        if reply.message_type is MessageType.METHOD_RETURN:
            self._markup = "body-markup" in (reply.body[0] if reply.body else [])
        return True

    async def _call(self, message: Message) -> Message:
        from dbus_next.constants import MessageType

        bus = self._bus
        if bus is None:
            raise _UnavailableError("not connected")
        try:
            reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT)
        except TimeoutError as exc:
            raise _UnavailableError(f"{message.member}: no answer") from exc
        except Exception as exc:  # the connection broke
            raise _UnavailableError(f"{message.member}: {exc}") from exc
        if reply is None or reply.message_type is MessageType.ERROR:
            name = reply.error_name if reply is not None else "no reply"
            raise _UnavailableError(f"{message.member}: {name}")
        return reply

    async def _notify(self, replaces_id: int, title: str, body: str, image: str = "") -> int:
        from dbus_next.message import Message
        from dbus_next.signature import Variant

        icon_file = ICONS / "chinwag.svg"
        hints = {
            "category": Variant("s", "im.received"),
            "desktop-entry": Variant("s", DESKTOP_ENTRY),
            "urgency": Variant("y", 1),
        }
        if image:  # (spec 1.2: a file:// URI; the contact's avatar beside the text)
            hints["image-path"] = Variant("s", Path(image).as_uri())
        reply = await self._call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=INTERFACE,
                member="Notify",
                signature="susssasa{sv}i",
                body=[
                    APP_NAME,
                    replaces_id,
                    icon_file.as_uri() if icon_file.is_file() else "",
                    title,  # the summary is plain text by the spec
                    escape_markup(body) if self._markup else body,
                    [DEFAULT_ACTION, "Open"],
                    hints,
                    -1,  # the server's default timeout
                ],
            )
        )
        self._server = reply.sender or self._server
        return int(reply.body[0])

    async def _close_notification(self, server_id: int) -> None:
        from dbus_next.message import Message

        with contextlib.suppress(_UnavailableError):
            await self._call(
                Message(
                    destination=BUS_NAME,
                    path=OBJECT_PATH,
                    interface=INTERFACE,
                    member="CloseNotification",
                    signature="u",
                    body=[server_id],
                )
            )

    def _on_message(self, message: Message) -> None:
        from dbus_next.constants import MessageType

        if message.message_type is not MessageType.SIGNAL or message.interface != INTERFACE:
            return
        if (message.member, message.signature) not in _SERVER_SIGNALS:
            return
        server_id, argument = message.body
        if server_id not in self._by_id and any(e.sending for e in self._entries.values()):
            # Possibly for a notification whose Notify reply is still on its way (the
            # server may even signal before it replies): kept until that reply says.
            early = self._early_signals.setdefault(server_id, [])
            early.append((str(message.member), argument, str(message.sender)))
            del early[:-4]
            while len(self._early_signals) > 16:
                del self._early_signals[next(iter(self._early_signals))]
            return
        # Another client could emit look-alike signals; only the server's count.
        if not self._server or message.sender != self._server:
            return
        self._server_signal(str(message.member), server_id, argument)

    def _server_signal(self, member: str, server_id: int, argument: Any) -> None:
        """ActionInvoked or NotificationClosed from the notification server."""
        if member == "ActionInvoked":
            self._clicked(server_id, argument)
            return
        key = self._by_id.pop(server_id, None)
        entry = self._entries.get(key) if key is not None else None
        if entry is not None and entry.server_id == server_id:
            # Gone from the screen: the next message starts a fresh notification.
            self._drop(entry.key)

    def _clicked(self, server_id: int, action: str) -> None:
        key = self._by_id.get(server_id)
        if key is not None and action == DEFAULT_ACTION:
            self._drop(key)
            self.activated.emit(*key)

    # -- the tray balloon ---------------------------------------------------------------

    def _balloon_clicked(self) -> None:
        key, self._balloon = self._balloon, None
        if key is not None:
            self._drop(key)
            self.activated.emit(*key)


@functools.cache
def _bus_class() -> type[MessageBus]:
    """dbus-next's bus, made to close its socket when connecting fails.

    dbus-next 0.2.3 opens the socket in the bus constructor and leaves it open when that
    constructor or ``connect()`` raises: a leaked socket (a ResourceWarning later)."""
    from dbus_next.aio.message_bus import MessageBus

    class ClosingMessageBus(MessageBus):
        def _setup_socket(self) -> None:
            try:
                super()._setup_socket()  # type: ignore[no-untyped-call]
            except BaseException:
                _close_sockets(self)
                raise

    return ClosingMessageBus


async def _open_bus(address: str | None) -> MessageBus:
    """A connected bus at ``address`` (None: the session bus)."""
    # dbus-next annotates bus_address as str, but None means the session bus.
    bus = _bus_class()(bus_address=address)  # type: ignore[arg-type]
    try:
        return await bus.connect()
    except BaseException:
        await _close_bus(bus)
        raise


def _close_sockets(bus: Any) -> None:
    for name in ("_stream", "_sock"):
        resource = getattr(bus, name, None)
        if resource is not None:
            with contextlib.suppress(OSError):
                resource.close()


async def _close_bus(bus: Any) -> None:
    """Disconnect a dbus-next bus and close its socket (dbus-next 0.2.3's
    ``disconnect()`` only shuts the socket down and never closes it: an unclosed socket
    for the garbage collector to find)."""
    if getattr(bus, "connected", False):
        bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bus.wait_for_disconnect(), CALL_TIMEOUT)
    _close_sockets(bus)
