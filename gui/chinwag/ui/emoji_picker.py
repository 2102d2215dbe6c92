"""The emoji picker: a popup grid by category (recently used first), searched by name,
driven by the keyboard as well as the mouse. :class:`EmojiButton` sits by the compose
box and inserts the emoji picked at its cursor.

Keys: typing searches; Down (or Tab) moves from the search field into the grid; the
arrows move in the grid; Enter inserts; Ctrl+PgUp/PgDn (or Alt+Left/Right) change the
category; Escape closes. The recently used emoji are kept in the view settings
(``ui.json``, key ``recent_emoji``)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.system.ui_settings import UiSettings
from chinwag.ui import emoji_data
from chinwag.ui.emoji_data import Emoji
from chinwag.ui.icons import icon

RECENT_KEY = "recent_emoji"
RECENT_MAX = 32
RECENT_TAB = "Recently used"
#: A tab's label: an emoji standing for its group.
_GROUP_ICONS = {
    RECENT_TAB: "\U0001f552",
    "Smileys & Emotion": "\U0001f600",
    "People & Body": "\U0001f44b",
    "Animals & Nature": "\U0001f43b",
    "Food & Drink": "\U0001f354",
    "Travel & Places": "\U0001f697",
    "Activities": "\u26bd",
    "Objects": "\U0001f4a1",
    "Symbols": "\u2764\ufe0f",
    "Flags": "\U0001f3f3\ufe0f",
}
_CHAR_ROLE = Qt.ItemDataRole.UserRole


class RecentEmoji:
    """The emoji used last, newest first, kept in ``settings`` (in memory without)."""

    _memory: list[str] = []  # noqa: RUF012 (shared by the windows of a run without settings)

    def __init__(self, settings: UiSettings | None) -> None:
        self._settings = settings

    def get(self) -> list[str]:
        if self._settings is None:
            return list(self._memory)
        value = self._settings.get(RECENT_KEY, [])
        return [c for c in value if isinstance(c, str) and 0 < len(c) <= 16][:RECENT_MAX]

    def add(self, char: str) -> None:
        recent = [char, *(c for c in self.get() if c != char)][:RECENT_MAX]
        if self._settings is None:
            RecentEmoji._memory = recent
        else:
            self._settings.set(RECENT_KEY, recent)


class EmojiPicker(QFrame):
    """The popup. :attr:`picked` carries the emoji chosen (it then closes)."""

    picked = Signal(str)

    def __init__(self, recent: RecentEmoji, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("emojiPicker")
        self.setAccessibleName("Emoji picker")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._recent = recent
        self._catalogue = emoji_data.catalogue()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search emoji")
        self.search.setAccessibleName("Search emoji")
        self.search.setClearButtonEnabled(True)
        self.tabs = QTabBar(self)
        self.tabs.setAccessibleName("Emoji categories")
        self.tabs.setExpanding(False)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setDrawBase(False)
        self._tab_groups = [RECENT_TAB, *self._catalogue.groups]
        for group in self._tab_groups:
            index = self.tabs.addTab(_GROUP_ICONS.get(group, group[:1]))
            self.tabs.setTabToolTip(index, group)
            self.tabs.setTabWhatsThis(index, group)
        self.grid = QListWidget(self)
        self.grid.setAccessibleName("Emoji")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setWrapping(True)
        font = QFont(self.font())
        font.setPointSizeF(max(14.0, font.pointSizeF() * 1.6))
        self.grid.setFont(font)
        cell = self.grid.fontMetrics().height() + 12
        self.grid.setGridSize(QSize(cell, cell))
        self.grid.setMinimumSize(cell * 9 + 24, cell * 6 + 8)
        self.hint = QLabel(self)
        self.hint.setAccessibleName("Emoji name")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.search)
        layout.addWidget(self.tabs)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.hint)

        self.search.textChanged.connect(self._search_changed)
        self.tabs.currentChanged.connect(lambda _i: self._show_group())
        self.grid.itemActivated.connect(self._activated)
        self.grid.itemClicked.connect(self._activated)
        self.grid.currentItemChanged.connect(self._current_changed)
        self.search.installEventFilter(self)
        self.grid.installEventFilter(self)
        self.tabs.setCurrentIndex(1 if not recent.get() else 0)
        self._show_group()

    # -- what is shown --------------------------------------------------------------------

    def current_group(self) -> str:
        return self._tab_groups[self.tabs.currentIndex()]

    def shown(self) -> list[str]:
        """The emoji in the grid, in order."""
        return [str(self.grid.item(i).data(_CHAR_ROLE)) for i in range(self.grid.count())]

    def _fill(self, emojis: list[Emoji]) -> None:
        self.grid.clear()
        for e in emojis:
            item = QListWidgetItem(e.char)
            item.setData(_CHAR_ROLE, e.char)
            item.setToolTip(f"{e.name}  :{e.shortcodes[0]}:")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, e.name)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addItem(item)
        if self.grid.count():
            self.grid.setCurrentRow(0)
        else:
            self.hint.setText("No emoji found" if self.search.text() else "None used yet")

    def _show_group(self) -> None:
        if self.search.text().strip():
            self.search.clear()  # (shows the group through _search_changed)
            return
        group = self.current_group()
        if group == RECENT_TAB:
            by_char = self._catalogue.by_char
            self._fill([by_char[c] for c in self._recent.get() if c in by_char])
        else:
            self._fill(self._catalogue.groups[group])

    def _search_changed(self, text: str) -> None:
        if text.strip():
            self._fill(self._catalogue.search(text))
        else:
            self._show_group()

    def _current_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        self.hint.setText(item.toolTip() if item is not None else "")

    # -- choosing ---------------------------------------------------------------------------

    def _activated(self, item: QListWidgetItem) -> None:
        self.pick(str(item.data(_CHAR_ROLE)))

    def pick(self, char: str) -> None:
        self._recent.add(char)
        self.hide()
        self.picked.emit(char)

    def popup_at(self, where: QPoint) -> None:
        """Show with the bottom-left corner at ``where`` (global), kept on screen."""
        self.adjustSize()
        size = self.sizeHint()
        top_left = QPoint(where.x(), where.y() - size.height())
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            top_left.setX(max(screen.left(), min(top_left.x(), screen.right() - size.width())))
            top_left.setY(max(screen.top(), top_left.y()))
        self.move(top_left)
        self.show()
        self.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def _step_tab(self, step: int) -> None:
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key, mods = event.key(), event.modifiers()
        ctrl = mods & Qt.KeyboardModifier.ControlModifier
        alt = mods & Qt.KeyboardModifier.AltModifier
        if (ctrl and key == Qt.Key.Key_PageDown) or (alt and key == Qt.Key.Key_Right):
            self._step_tab(+1)
            return True
        if (ctrl and key == Qt.Key.Key_PageUp) or (alt and key == Qt.Key.Key_Left):
            self._step_tab(-1)
            return True
        if watched is self.search:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Tab) and self.grid.count():
                self.grid.setFocus(Qt.FocusReason.TabFocusReason)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.grid.currentItem()
                if item is not None:
                    self._activated(item)
                return True
        elif watched is self.grid:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.grid.currentItem()
                if item is not None:
                    self._activated(item)
                return True
            if key == Qt.Key.Key_Up and self.grid.currentRow() < self._columns():
                self.search.setFocus(Qt.FocusReason.BacktabFocusReason)
                return True
            text = event.text()
            if text and text.isprintable() and not ctrl and not alt:
                # Typing in the grid goes on in the search field.
                self.search.setFocus(Qt.FocusReason.OtherFocusReason)
                self.search.insert(text)
                return True
            if key == Qt.Key.Key_Backspace:
                self.search.setFocus(Qt.FocusReason.OtherFocusReason)
                self.search.backspace()
                return True
        return super().eventFilter(watched, event)

    def _columns(self) -> int:
        cell = self.grid.gridSize().width() or 1
        return max(1, self.grid.viewport().width() // cell)


class EmojiButton(QToolButton):
    """The button by the compose box: opens the picker and inserts what is picked at the
    compose box's cursor."""

    def __init__(self, compose: QPlainTextEdit, settings: UiSettings | None) -> None:
        super().__init__(compose.parentWidget())
        self._compose = compose
        self._recent = RecentEmoji(settings)
        self.picker: EmojiPicker | None = None
        self.setObjectName("emojiButton")
        self.setText("\U0001f642")  # (shown only if the icon is missing)
        self.setIcon(icon("emoji"))
        self.setAccessibleName("Insert emoji")
        self.setToolTip("Insert an emoji (Ctrl+;)")
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.clicked.connect(self.open_picker)
        emoji_data.preload()

    def open_picker(self) -> EmojiPicker:
        if self.picker is None:
            self.picker = EmojiPicker(self._recent, self)
            self.picker.picked.connect(self.insert)
        else:
            self.picker.search.clear()
            self.picker.tabs.setCurrentIndex(0 if self._recent.get() else 1)
            self.picker._show_group()
        self.picker.popup_at(self.mapToGlobal(QPoint(0, 0)))
        return self.picker

    def insert(self, char: str) -> None:
        if self._compose.isReadOnly():
            return
        cursor = self._compose.textCursor()
        cursor.insertText(char)
        self._compose.setTextCursor(cursor)
        self._compose.setFocus(Qt.FocusReason.PopupFocusReason)


__all__ = ["EmojiButton", "EmojiPicker", "RecentEmoji"]
