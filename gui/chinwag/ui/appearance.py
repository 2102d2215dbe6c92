"""Preferences applied at once: :class:`PreferencesApplier` listens to the store and sets
what has a setter (the theme's palette, the font size, the message density, the privacy
switches of the core, the login autostart entry). What is read where it is used (the send
key, close to tray, notifications, sounds, start in the tray) needs no applying.

The themes are palettes, not style sheets: a style sheet would switch every widget to
Qt's style-sheet style and change how the rest of the application draws."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication

from chinwag.system import preferences as p
from chinwag.system.preferences import Preferences, Theme
from chinwag.ui.context import UiContext

log = logging.getLogger(__name__)

_ROLES = QPalette.ColorRole
_LIGHT = {
    _ROLES.Window: "#f5f5f5",
    _ROLES.WindowText: "#1d1d1f",
    _ROLES.Base: "#ffffff",
    _ROLES.AlternateBase: "#eef0f2",
    _ROLES.Text: "#1d1d1f",
    _ROLES.Button: "#ececec",
    _ROLES.ButtonText: "#1d1d1f",
    _ROLES.BrightText: "#ffffff",
    _ROLES.ToolTipBase: "#ffffdc",
    _ROLES.ToolTipText: "#1d1d1f",
    _ROLES.Highlight: "#2f6fd6",
    _ROLES.HighlightedText: "#ffffff",
    _ROLES.Link: "#1a5fb4",
    _ROLES.LinkVisited: "#613583",
    _ROLES.PlaceholderText: "#6b6b6b",
    _ROLES.Light: "#ffffff",
    _ROLES.Midlight: "#e3e3e3",
    _ROLES.Mid: "#b8b8b8",
    _ROLES.Dark: "#8f8f8f",
    _ROLES.Shadow: "#4a4a4a",
}
_DARK = {
    _ROLES.Window: "#202124",
    _ROLES.WindowText: "#e8eaed",
    _ROLES.Base: "#1b1b1d",
    _ROLES.AlternateBase: "#26262a",
    _ROLES.Text: "#e8eaed",
    _ROLES.Button: "#303134",
    _ROLES.ButtonText: "#e8eaed",
    _ROLES.BrightText: "#ffffff",
    _ROLES.ToolTipBase: "#303134",
    _ROLES.ToolTipText: "#e8eaed",
    _ROLES.Highlight: "#3d6fd6",
    _ROLES.HighlightedText: "#ffffff",
    _ROLES.Link: "#8ab4f8",
    _ROLES.LinkVisited: "#c58af9",
    _ROLES.PlaceholderText: "#9aa0a6",
    _ROLES.Light: "#4a4b4f",
    _ROLES.Midlight: "#3a3b3f",
    _ROLES.Mid: "#2a2b2e",
    _ROLES.Dark: "#151517",
    _ROLES.Shadow: "#000000",
}


def theme_palette(theme: str, system: QPalette) -> QPalette:
    """The palette of ``theme``: the system's own for "system"."""
    colors = {Theme.LIGHT: _LIGHT, Theme.DARK: _DARK}.get(Theme(theme))
    if colors is None:
        return QPalette(system)
    palette = QPalette(system)
    for role, value in colors.items():
        color = QColor(value)
        palette.setColor(QPalette.ColorGroup.Active, role, color)
        palette.setColor(QPalette.ColorGroup.Inactive, role, color)
        disabled = QColor(color)
        if role in (_ROLES.WindowText, _ROLES.Text, _ROLES.ButtonText):
            disabled = QColor(colors[_ROLES.PlaceholderText])
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def relayout_message_views(app: QApplication) -> None:
    """Every view of messages forgets its cached row sizes and lays out again."""
    from chinwag.ui import message_delegate

    for widget in app.allWidgets():
        if isinstance(widget, QAbstractItemView) and isinstance(
            widget.itemDelegate(), message_delegate.MessageDelegate
        ):
            QApplication.sendEvent(widget, QEvent(QEvent.Type.StyleChange))


class PreferencesApplier:
    """Applies the preferences with a setter now and after each change, until
    :meth:`close`. ``autostart`` writes or removes the login entry (called on a change
    only: the entry is not rewritten at each start)."""

    def __init__(
        self,
        ctx: UiContext,
        app: QApplication,
        autostart: Callable[[bool], object] | None = None,
    ) -> None:
        self._ctx = ctx
        self._prefs: Preferences = ctx.preferences
        self._app = app
        self._autostart = autostart
        self._system_palette = QPalette(app.palette())
        self._system_font = QFont(app.font())
        #: Said in words when the last change could not be applied (the autostart
        #: folder cannot be written, ...); None when it was.
        self.problem: str | None = None
        for key in (p.SEND_TYPING, p.SEND_READ_MARKERS, p.THEME, p.FONT_SIZE, p.DENSITY):
            self.apply(key.key, initial=True)
        self._unsubscribe = self._prefs.subscribe(self.apply)

    def close(self) -> None:
        self._unsubscribe()

    def apply(self, key: str, initial: bool = False) -> None:
        prefs, messaging = self._prefs, self._ctx.core.messaging
        self.problem = None
        if key == p.SEND_TYPING.key:
            messaging.send_chat_states = prefs.get(p.SEND_TYPING)
        elif key == p.SEND_READ_MARKERS.key:
            messaging.send_read_markers = prefs.get(p.SEND_READ_MARKERS)
        elif key == p.THEME.key:
            theme = prefs.get(p.THEME)
            if not (initial and theme == Theme.SYSTEM):  # (leave the system's alone)
                self._app.setPalette(theme_palette(theme, self._system_palette))
        elif key == p.FONT_SIZE.key:
            size = prefs.get(p.FONT_SIZE)
            if not (initial and size == 0):
                font = QFont(self._system_font)
                if size:
                    font.setPointSize(size)
                self._app.setFont(font)
        elif key == p.DENSITY.key and not (initial and prefs.get(p.DENSITY) == "comfortable"):
            from chinwag.ui import message_delegate  # (not needed by the first window)

            if message_delegate.set_density(prefs.get(p.DENSITY)):
                relayout_message_views(self._app)
        elif key == p.START_ON_LOGIN.key and self._autostart is not None:
            try:
                self._autostart(prefs.get(p.START_ON_LOGIN))
            except OSError as exc:
                self.problem = f"The login entry cannot be changed: {exc.strerror or exc}"
                log.warning("%s", self.problem)
