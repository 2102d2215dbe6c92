"""The whole text of one long message in a window of its own: :class:`MessageTextWindow`.

A row of the history shows the first part of a long message and "Show all (N
characters)"; this window shows all of it, read-only, without blocking the event loop:

* the text goes into a :class:`QPlainTextEdit`, which lays out only the paragraphs on
  screen, cut into paragraphs of at most :data:`BLOCK_CHARS` characters (at a space where
  there is one; a run of :data:`BLOCK_MARKS` combining marks ends one too), since a
  paragraph is laid out whole;
* it is put in over several turns of the loop, :data:`SLICE_CHARS` characters (or
  :data:`SLICE_BLOCKS` paragraphs) a turn, cut into paragraphs as it goes;
* what is copied is the message's own text, exactly: the paragraphs cut here are joined
  again (:meth:`MessageTextView.createMimeDataFromSelection`).

It is opened with ``show()``, never ``exec()``: no nested event loop."""

from __future__ import annotations

import re
from collections.abc import Iterator

from PySide6.QtCore import QLocale, QMimeData, Qt, QTimer
from PySide6.QtGui import (
    QClipboard,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from chinwag.ui.message_delegate import Utf16
from chinwag.ui.screen_fit import fit_to_screen

#: Longest paragraph put in the editor (it lays out a paragraph whole).
BLOCK_CHARS = 1000
#: A paragraph ends after this many combining marks in a row (one character cluster of
#: thousands of marks takes a long time to shape).
BLOCK_MARKS = 64
#: Characters, and paragraphs, put in per turn of the event loop.
SLICE_CHARS = 20_000
SLICE_BLOCKS = 1_000

_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
_MARK_RUN = re.compile(
    f"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{{{BLOCK_MARKS}}}"
)


def iter_blocks(text: str) -> Iterator[tuple[int, int]]:
    """``text`` as paragraphs for the editor, as they are needed: (start, end) code point
    spans. Between two spans is either nothing (a paragraph cut here) or one line break
    of the text."""
    start = 0
    for line_break in _BREAK.finditer(text):
        yield from _line_blocks(text, start, line_break.start())
        start = line_break.end()
    yield from _line_blocks(text, start, len(text))


def split_blocks(text: str) -> list[tuple[int, int]]:
    """All of :func:`iter_blocks` at once."""
    return list(iter_blocks(text))


def _line_blocks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    if end - start < BLOCK_MARKS:  # most lines: short, no run of marks to cut
        yield (start, end)
        return
    cuts = [m.end() for m in _MARK_RUN.finditer(text, start, end) if m.end() < end]
    position = start
    for mark_cut in [*cuts, end]:
        while mark_cut - position > BLOCK_CHARS:
            cut = position + BLOCK_CHARS
            space = text.rfind(" ", position + BLOCK_CHARS // 2, cut)
            cut = space + 1 if space >= 0 else cut
            yield (position, cut)
            position = cut
        if mark_cut < end:
            yield (position, mark_cut)
            position = mark_cut
    yield (position, end)


class MessageTextView(QPlainTextEdit):
    """A read-only editor of a text put in as :func:`iter_blocks` paragraphs, a slice
    per turn of the event loop; copying gives the original text of what is selected."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._pieces = iter_blocks(text)
        self._blocks: list[tuple[int, int]] = []  # the paragraphs put in so far
        self._loaded = False
        self.setReadOnly(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setUndoRedoEnabled(False)
        self.setAccessibleName("Message text")
        self._loader = QTimer(self)
        self._loader.setSingleShot(True)
        self._loader.setInterval(0)
        self._loader.timeout.connect(self._load_slice)
        self._load_slice()

    @property
    def loaded(self) -> bool:
        """True once the whole text is in the editor."""
        return self._loaded

    @property
    def block_count(self) -> int:
        """Paragraphs put in so far."""
        return len(self._blocks)

    def _load_slice(self) -> None:
        """Put in the next paragraphs, up to :data:`SLICE_CHARS` characters or
        :data:`SLICE_BLOCKS` paragraphs."""
        first = len(self._blocks)
        taken = 0
        for block in self._pieces:
            self._blocks.append(block)
            taken += block[1] - block[0] + 1
            if taken >= SLICE_CHARS or len(self._blocks) - first >= SLICE_BLOCKS:
                break
        else:
            self._loaded = True
        texts = [self._text[start:end] for start, end in self._blocks[first:]]
        if texts:
            cursor = QTextCursor(self.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            # "\n" becomes a paragraph break; the texts hold no line break of their own.
            cursor.insertText(("\n" if first else "") + "\n".join(texts))
        if not self._loaded:
            self._loader.start()

    def original_position(self, position: int) -> int:
        """The index in the message text (code points) of a document ``position``
        (UTF-16 units, one per paragraph break)."""
        block = self.document().findBlock(position)
        number = block.blockNumber()
        if number < 0 or number >= len(self._blocks):
            return len(self._text) if position > 0 else 0
        start, end = self._blocks[number]
        offset = max(0, position - block.position())
        return min(end, start + Utf16(self._text[start:end]).from_utf16(offset))

    def createMimeDataFromSelection(self) -> QMimeData:
        cursor = self.textCursor()
        first = self.original_position(cursor.selectionStart())
        last = self.original_position(cursor.selectionEnd())
        mime = QMimeData()
        mime.setText(self._text[first:last])
        _keep_alive(mime)
        return mime

    def stop(self) -> None:
        self._loader.stop()


#: Mime data made here and handed to Qt (the clipboard, a drag), kept until Qt deletes
#: it: its Python wrapper must outlive it.
_HANDED: list[QMimeData] = []


def _keep_alive(mime: QMimeData) -> None:
    """Keep ``mime``'s wrapper, and, once the clipboard has taken it (a copy, or the X11
    selection), put the same text there as data Qt makes itself: mime data made by
    Python still in the clipboard when the application ends crashed the interpreter."""
    _HANDED[:] = [m for m in _HANDED if Shiboken.isValid(m)]
    _HANDED.append(mime)
    QTimer.singleShot(0, lambda: _hand_over(mime))


def _hand_over(mime: QMimeData) -> None:
    if not Shiboken.isValid(mime):
        return  # the clipboard (or a drag) is done with it already
    clipboard = QGuiApplication.clipboard()
    ours = Shiboken.getCppPointer(mime)[0]
    for mode in (QClipboard.Mode.Clipboard, QClipboard.Mode.Selection):
        held = clipboard.mimeData(mode)
        if held is not None and Shiboken.getCppPointer(held)[0] == ours:
            clipboard.setText(mime.text(), mode)  # Qt deletes ours; the wrapper is kept


class MessageTextWindow(QWidget):
    """A top-level window with the whole ``text`` of a message, read-only, and a button
    that copies all of it. Deletes itself once closed."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        # Not deleted on close: its conversation window keeps it (hidden) for the next
        # "Show all" of that message and deletes it with itself. (Deleting it on close,
        # with a slot of the parent on its ``destroyed``, crashed the interpreter at exit.)
        self.setWindowTitle(title)
        self._text = text
        layout = QVBoxLayout(self)
        count = QLabel(f"{QLocale().toString(len(text))} characters", self)
        count.setObjectName("characterCount")
        count.setTextFormat(Qt.TextFormat.PlainText)
        self.view = MessageTextView(text, self)
        self.view.setObjectName("messageText")
        buttons = QHBoxLayout()
        copy = QPushButton("&Copy all", self)
        copy.setObjectName("copyAll")
        copy.clicked.connect(self.copy_all)
        close = QPushButton("Close", self)
        close.setObjectName("close")
        close.clicked.connect(self.close)
        buttons.addWidget(count, 1)
        buttons.addWidget(copy)
        buttons.addWidget(close)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self.close)
        fit_to_screen(self, 560, 480)

    @property
    def text(self) -> str:
        """The message's whole text, as it is copied."""
        return self._text

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self._text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.view.stop()
        super().closeEvent(event)


__all__ = ["MessageTextView", "MessageTextWindow", "iter_blocks", "split_blocks"]
