"""The tray icon: keeps Chinwag reachable while its windows are hidden.

The icon is always the app's (so it is recognised in the panel) with the user's own status
as a small badge in its lower right corner (the primary account's status as picked, or
that it is connecting or offline) and, while messages wait, their number in a red badge
in its upper right corner; the menu offers Show/Hide, the status choices and Quit. A left
click asks to open the newest unread conversation (:func:`newest_unread`; the composition
root decides, the contact list when there is none). The tray forwards intents as signals
and decides nothing itself: the main window owns status changes and showing itself, the
composition root owns quitting.

Where there is no system tray (QSystemTrayIcon.isSystemTrayAvailable() is false, e.g. a
bare window manager or the offscreen platform), the object still exists, keeps its
state and menu, and shows nothing."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon, QWidget

from chinwag.core.models import ConnectionState, ConversationKey
from chinwag.core.session import AccountSession
from chinwag.core.status import SELECTABLE, Status
from chinwag.ui.context import UiContext
from chinwag.ui.icons import STATUS_ICON, icon, status_icon

#: Sizes the tray icon is drawn at (panels pick the nearest).
ICON_SIZES = (16, 22, 24, 32, 48, 64)
#: Red of the unread badge, white text on it.
BADGE_COLOR = QColor("#d1242f")


def badge_text(unread: int) -> str:
    """What the unread badge says: the number, "99+" beyond, nothing at 0."""
    if unread <= 0:
        return ""
    return str(unread) if unread < 100 else "99+"


def newest_unread(ctx: UiContext) -> ConversationKey | None:
    """The conversation with unread messages whose last message is the newest; None when
    nothing waits unread."""
    store = ctx.core.store
    unread = {key for key, count in store.unread_counts().items() if count > 0}
    if not unread:
        return None
    newest = {key: when for key, when in store.conversations() if key in unread}
    return max(unread, key=lambda key: (newest.get(key, 0.0), key.peer))


def open_newest_unread(ctx: UiContext, show_list: Callable[[], None]) -> None:
    """What a left click on the icon does: the newest unread conversation's window, or
    ``show_list()`` (the contact list) when nothing waits."""
    key = newest_unread(ctx)
    if key is None:
        show_list()
    else:
        ctx.windows.open(key.account, key.peer, kind=key.kind)


def draw_tray_pixmap(base: QIcon, overlay: QIcon, unread: int, size: int) -> QPixmap:
    """The app icon at ``size`` with the status badge (lower right, ~45 %) and the unread
    count (upper right), so the shape never changes with the status."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        base.paint(painter, 0, 0, size, size)
        dot = max(6, round(size * 0.45))
        if not overlay.isNull():
            overlay.paint(painter, size - dot, size - dot, dot, dot)
        text = badge_text(unread)
        if text:
            height = max(7.0, size * 0.5)
            width = min(float(size), max(height, height * 0.6 * len(text)))
            rect = QRectF(size - width, 0.0, width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(BADGE_COLOR)
            painter.drawRoundedRect(rect, height / 2, height / 2)
            font = QFont(painter.font())
            font.setBold(True)
            font.setPixelSize(max(6, round(height * (0.8 if len(text) == 1 else 0.62))))
            painter.setFont(font)
            painter.setPen(QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return pixmap


class Tray(QObject):
    """Wraps one :class:`QSystemTrayIcon` and its menu."""

    #: Show the main window if hidden, hide it if shown (the menu item).
    toggle_requested = Signal()
    #: The icon was left-clicked: open the newest unread conversation, else the list.
    open_requested = Signal()
    #: The user picked a status in the tray menu (a :class:`Status`).
    status_requested = Signal(object)
    #: Quit from the tray menu.
    quit_requested = Signal()
    #: The last balloon message shown by :meth:`show_message` was clicked.
    message_clicked = Signal()

    def __init__(
        self,
        ctx: UiContext,
        parent: QObject | None = None,
        *,
        window: QWidget | None = None,
        available: bool | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._window = window
        self._unread = 0
        self._available = (
            QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        )
        self._icon_name = ""
        self._drawn: tuple[str, int] | None = None

        self._menu = QMenu()
        self._menu.setAccessibleName("Chinwag")
        self._toggle = QAction("Show Chinwag", self._menu)
        self._toggle.triggered.connect(self.toggle_requested)
        self._menu.addAction(self._toggle)
        self._menu.addSeparator()
        self._status_menu = self._menu.addMenu("&Status")
        self._status_menu.setAccessibleName("Status")
        self._status_group = QActionGroup(self._status_menu)
        self._status_group.setExclusive(True)
        self._status_actions: dict[Status, QAction] = {}
        for status in SELECTABLE:
            action = QAction(status_icon(status), status.label, self._status_menu)
            action.setCheckable(True)
            action.setActionGroup(self._status_group)
            action.triggered.connect(lambda _=False, s=status: self._pick(s))
            self._status_menu.addAction(action)
            self._status_actions[status] = action
        self._menu.addSeparator()
        self._quit = QAction("&Quit", self._menu)
        self._quit.triggered.connect(self.quit_requested)
        self._menu.addAction(self._quit)
        self._menu.aboutToShow.connect(self._update_toggle_text)

        # Made even without a tray: it holds the icon and tooltip state, and costs nothing
        # until shown. It is never shown then (Qt warns and nothing would appear anyway).
        self._tray = QSystemTrayIcon(self)
        self._tray.setContextMenu(self._menu)
        self._tray.activated.connect(self._activated)
        self._tray.messageClicked.connect(self.message_clicked)
        # What the icon and menu show: accounts, their connections, the status picked.
        for signal in (
            ctx.bridge.accounts_changed,
            ctx.bridge.connection_changed,
            ctx.bridge.own_presence_changed,
        ):
            signal.connect(self._on_event)
        self.refresh()
        if self._available:
            self._tray.show()

    # -- public -------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether a system tray is there to show the icon in."""
        return self._available

    @property
    def tray_icon(self) -> QSystemTrayIcon:
        return self._tray

    @property
    def menu(self) -> QMenu:
        return self._menu

    @property
    def unread(self) -> int:
        return self._unread

    @property
    def icon_name(self) -> str:
        """Name of the status badge drawn over the app icon (``resources/icons/<name>.svg``)."""
        return self._icon_name

    @property
    def badge(self) -> str:
        """The unread count as drawn on the icon ("" when nothing waits)."""
        return badge_text(self._unread)

    @property
    def status(self) -> Status:
        """The own status the icon shows: the primary account's picked status while
        signed in, Connecting while it signs in, Offline otherwise."""
        session = self._primary_session()
        if session is None:
            return Status.OFFLINE
        if session.state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
            return Status.CONNECTING
        if session.state is ConnectionState.ONLINE:
            return session.picked
        return Status.OFFLINE

    @property
    def checked_status(self) -> Status:
        """The status checked in the menu: what the user asked for, even while the
        connection is still coming up."""
        session = self._primary_session()
        if session is None or session.state in (ConnectionState.OFFLINE, ConnectionState.FAILED):
            return Status.OFFLINE
        return session.picked

    def set_window(self, window: QWidget | None) -> None:
        """The main window, whose visibility decides between "Show" and "Hide"."""
        self._window = window
        self._update_toggle_text()

    def set_unread(self, count: int) -> None:
        """How many messages wait unread (computed by the app)."""
        count = max(0, count)
        if count != self._unread:
            self._unread = count
            self.refresh()

    def show_message(
        self, title: str, body: str, msecs: int = 10_000, *, icon: QIcon | None = None
    ) -> bool:
        """A balloon from the tray icon (with ``icon``: a contact's avatar); False when
        there is no tray to show it."""
        if not self._available or not self._tray.isVisible():
            return False
        shown = icon if icon is not None and not icon.isNull() else self._current_icon()
        self._tray.showMessage(title, body, shown, msecs)
        return True

    def refresh(self) -> None:
        """Re-read the own status and redraw icon, tooltip and the menu's check mark."""
        self._icon_name = STATUS_ICON.get(self.status, "status-offline")
        drawn = (self._icon_name, self._unread)
        if drawn != self._drawn:  # (drawing it is six SVG renders: only when it changes)
            self._drawn = drawn
            self._tray.setIcon(self._current_icon())
        self._tray.setToolTip(self.tooltip())
        action = self._status_actions.get(self.checked_status)
        if action is not None:
            action.setChecked(True)

    def tooltip(self) -> str:
        if not self._ctx.core.accounts.accounts:
            lines = ["Chinwag: no account yet"]
        else:
            lines = [f"Chinwag: {self.status.label}"]
        if self._unread:
            lines.append(f"{self._unread} unread")
        return "\n".join(lines)

    def close(self) -> None:
        """Take the icon out of the tray (at quit: it should not linger)."""
        self._tray.hide()

    # -- private ------------------------------------------------------------------------

    def _primary_session(self) -> AccountSession | None:
        primary = self._ctx.core.primary
        return self._ctx.core.sessions.get(primary) if primary else None

    def _current_icon(self) -> QIcon:
        """The app icon with the status and unread badges drawn on it. Its base is the
        app icon, or Qt's generic one while it is missing, because a tray icon without a
        picture is invisible."""
        base = self._base_icon()
        overlay = icon(self._icon_name)
        drawn = QIcon()
        for size in ICON_SIZES:
            drawn.addPixmap(draw_tray_pixmap(base, overlay, self._unread, size))
        return drawn

    @staticmethod
    def _base_icon() -> QIcon:
        for candidate in (icon("chinwag"), QApplication.windowIcon()):
            if not candidate.isNull():
                return candidate
        style = QApplication.style()
        return style.standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)

    def _pick(self, status: Status) -> None:
        self.status_requested.emit(status)
        # Re-check what actually applies: nothing may have changed (no account, say),
        # and the check mark must not claim otherwise.
        self.refresh()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.open_requested.emit()

    def _update_toggle_text(self) -> None:
        shown = (
            self._window is not None and self._window.isVisible() and not self._window.isMinimized()
        )
        self._toggle.setText("Hide Chinwag" if shown else "Show Chinwag")

    def _on_event(self, _event: object) -> None:
        self.refresh()
