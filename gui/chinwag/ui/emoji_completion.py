""":shortcode: completion in the compose box: typing ``:smi`` (a colon at the start of a
word, then two or more letters, digits, ``_``, ``+`` or ``-``) offers the emoji whose
shortcodes start so, in a list under the cursor. Up/Down choose, Enter or Tab puts the
emoji in place of ``:smi``, Escape closes the list and leaves the text as typed (it is
not offered again for that word). Nothing is ever replaced unasked: ``:)``, ``:D``,
``12:30`` and ``http://`` never open the list.

The list never takes the focus: the compose box keeps it and this object, its event
filter, takes the keys the list needs while it is shown (before the window's
shortcuts and the box's own Enter-sends)."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit
from shiboken6 import isValid

from chinwag.ui import emoji_data

#: ":" at the start of the text or after a space or an opening bracket, then the prefix.
SHORTCODE_BEFORE_CURSOR = re.compile(r"(?:^|(?<=[\s(\[{])):([a-z0-9_+\-]{2,40})$", re.IGNORECASE)
_KEYS = (
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_Return,
    Qt.Key.Key_Enter,
    Qt.Key.Key_Tab,
    Qt.Key.Key_Escape,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
)


class ShortcodeCompleter(QObject):
    """Watches ``compose`` and offers emoji for the shortcode being typed."""

    def __init__(self, compose: QPlainTextEdit) -> None:
        super().__init__(compose)
        self._compose = compose
        self.popup = QListWidget()
        self.popup.setWindowFlags(Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.popup.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.popup.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.popup.setAccessibleName("Emoji completions")
        self.popup.setObjectName("emojiCompletions")
        self.popup.itemClicked.connect(self._accept)
        #: (block position + start) of the shortcode Escape closed the list for.
        self._dismissed: int | None = None
        #: Where the shortcode being completed starts, in the document.
        self._start = 0
        compose.textChanged.connect(self.update)
        compose.cursorPositionChanged.connect(self.update)
        compose.installEventFilter(self)
        compose.destroyed.connect(self.popup.deleteLater)
        emoji_data.preload()

    def shortcode_at_cursor(self) -> tuple[int, str] | None:
        """(where the ``:`` is, the prefix after it) when a shortcode is being typed."""
        cursor = self._compose.textCursor()
        if cursor.hasSelection():
            return None
        block = cursor.block()
        column = cursor.positionInBlock()
        before = block.text()[max(0, column - 42) : column]
        found = SHORTCODE_BEFORE_CURSOR.search(before)
        if found is None:
            return None
        if found.start() == 0 and column > 42:
            return None  # cut at the window: not at the start of a word after all
        start = block.position() + column - len(before) + found.start()
        return start, found.group(1)

    def update(self) -> None:
        if not isValid(self.popup):
            return
        at = self.shortcode_at_cursor()
        if at is None or self._compose.isReadOnly() or not self._compose.hasFocus():
            self._dismissed = None if at is None else self._dismissed
            self.popup.hide()
            return
        start, prefix = at
        if start == self._dismissed:
            self.popup.hide()
            return
        self._dismissed = None
        if not emoji_data.loaded():
            emoji_data.preload()  # (offered from the next keystroke on)
            return
        found = emoji_data.catalogue().complete(prefix)
        if not found:
            self.popup.hide()
            return
        self._start = start
        self.popup.clear()
        for code, e in found:
            item = QListWidgetItem(f"{e.char}  :{code}:")
            item.setData(Qt.ItemDataRole.UserRole, e.char)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{e.name}, :{code}:")
            self.popup.addItem(item)
        self.popup.setCurrentRow(0)
        self._place()

    def _place(self) -> None:
        rows = min(self.popup.count(), 8)
        row_height = self.popup.sizeHintForRow(0) if self.popup.count() else 20
        width = max(self.popup.sizeHintForColumn(0) + 24, 180)
        height = rows * row_height + 2 * self.popup.frameWidth()
        self.popup.resize(width, height)
        rect = self._compose.cursorRect()
        below = self._compose.viewport().mapToGlobal(QPoint(rect.left(), rect.bottom() + 2))
        above = self._compose.viewport().mapToGlobal(QPoint(rect.left(), rect.top() - height - 2))
        screen = self._compose.screen().availableGeometry()
        self.popup.move(below if below.y() + height <= screen.bottom() else above)
        self.popup.show()

    def _accept(self, item: QListWidgetItem | None) -> None:
        self.popup.hide()
        if item is None:
            return
        at = self.shortcode_at_cursor()
        if at is None:
            return
        cursor = self._compose.textCursor()
        cursor.setPosition(at[0])
        cursor.setPosition(self._compose.textCursor().position(), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(str(item.data(Qt.ItemDataRole.UserRole)))
        self._compose.setTextCursor(cursor)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isValid(self.popup):
            # (At exit Qt may delete the list before the compose box loses its focus: an
            # error raised here then, while Python is being torn down, crashed the exit.)
            return False
        kind = event.type()
        if kind == QEvent.Type.FocusOut:
            self.popup.hide()
        if not self.popup.isVisible() or not isinstance(event, QKeyEvent):
            return False
        if event.key() not in _KEYS or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # ours while the list is shown, not the window's shortcuts
            return True
        if kind != QEvent.Type.KeyPress:
            return False
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self._dismissed = self._start
            self.popup.hide()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            self._accept(self.popup.currentItem())
        else:
            steps = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -5}
            step = steps.get(Qt.Key(key), 5)
            row = max(0, min(self.popup.count() - 1, self.popup.currentRow() + step))
            self.popup.setCurrentRow(row)
        return True


__all__ = ["SHORTCODE_BEFORE_CURSOR", "ShortcodeCompleter"]
