"""The box a message is typed in: :class:`ComposeBox`.

Owns the keys of composing (Enter sends, Shift+Enter starts a new line; or, as the user
prefers, Ctrl+Enter sends and Enter starts a new line; Up in an empty box asks to edit
the last message sent), keeping the text
plain (a paste of rich text arrives as its plain text) and the user's typing state as
XEP-0085 chat states: ``composing`` on the first keystroke, ``paused`` after a few
seconds without one, ``active`` once the message is sent or the text is wiped. It only
reports; the conversation window sends the message and the chat states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QTextCursor, QTextDocumentFragment
from PySide6.QtWidgets import QPlainTextEdit, QWidget

#: Chat states this box reports (XEP-0085 section 5.1).
COMPOSING, PAUSED, ACTIVE = "composing", "paused", "active"


@dataclass(slots=True)
class _Completion:
    """Tab completion under way: where the completed word starts, the candidates, which
    one is shown, and where the inserted text ends (another Tab there cycles)."""

    start: int
    candidates: list[str]
    shown: int
    end: int


def completions(prefix: str, nicks: list[str]) -> list[str]:
    """The nicks ``prefix`` starts (ignoring case and a leading ``@``), in order."""
    wanted = prefix.removeprefix("@").casefold()
    if not wanted:
        return []
    found = {n for n in nicks if n.casefold().startswith(wanted)}
    return sorted(found, key=lambda n: (n.casefold(), n))


class ComposeBox(QPlainTextEdit):
    """A plain-text message editor that reports a message to send and typing states."""

    #: The user pressed Enter on a message with something in it (the text, unchanged).
    submitted = Signal(str)
    #: The user's typing state changed: "composing", "paused" or "active".
    chat_state_changed = Signal(str)
    #: Up was pressed in the empty box: the user wants to edit their last message.
    edit_last_requested = Signal()

    #: Idle time after which "composing" becomes "paused" (XEP-0085 suggests ~30 s for
    #: inactive; clients use a few seconds for paused).
    PAUSE_AFTER_MS = 5000

    def __init__(self, parent: QWidget | None = None, *, pause_after_ms: int | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Message")
        self.setAccessibleDescription("Enter sends the message, Shift+Enter starts a new line")
        self.setPlaceholderText("Write a message\u2026")
        self.setTabChangesFocus(True)  # keyboard users must be able to Tab out of the box
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._state = ACTIVE
        self._states_sent = False
        self._quiet = False  # text set by the program, not typed: no chat state for it
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(self.PAUSE_AFTER_MS if pause_after_ms is None else pause_after_ms)
        self._pause.timeout.connect(self._paused)
        self.textChanged.connect(self._on_text_changed)
        #: Where Tab completes nicks from (a room's window sets it).
        self._nicks: Callable[[], list[str]] | None = None
        self._completion: _Completion | None = None
        #: Asked at each Enter: True when Ctrl+Enter sends (and Enter is a new line).
        self._ctrl_enter_sends: Callable[[], bool] = lambda: False

    # -- for the window -------------------------------------------------------------------

    @property
    def chat_state(self) -> str:
        return self._state

    @property
    def chat_states_sent(self) -> bool:
        """True once any chat state was reported (so "gone" is worth sending on close)."""
        return self._states_sent

    def set_pause_interval(self, milliseconds: int) -> None:
        self._pause.setInterval(milliseconds)

    def text(self) -> str:
        return self.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the text without it counting as typing."""
        self._quiet = True
        try:
            self.setPlainText(text)
            self.moveCursor(QTextCursor.MoveOperation.End)
        finally:
            self._quiet = False

    def message_sent(self) -> None:
        """The text was sent: empty the box and report ``active``."""
        self.set_text("")
        self._pause.stop()
        self._set_state(ACTIVE)

    def set_send_key(self, ctrl_enter_sends: Callable[[], bool]) -> None:
        """Which key sends, asked at each press (a preference changed takes effect at
        once): Ctrl+Enter when ``ctrl_enter_sends()``, else Enter."""
        self._ctrl_enter_sends = ctrl_enter_sends

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.setAccessibleDescription(
            "Ctrl+Enter sends the message, Enter starts a new line"
            if self._ctrl_enter_sends()
            else "Enter sends the message, Shift+Enter starts a new line"
        )
        super().focusInEvent(event)

    def set_nick_completion(self, nicks: Callable[[], list[str]] | None) -> None:
        """Tab completes the word before the cursor from ``nicks()`` (again: the next
        one); a Tab with nothing to complete moves the focus on, as elsewhere."""
        self._nicks = nicks
        self._completion = None

    def complete_nick(self) -> bool:
        """Complete the word before the cursor (or show the next candidate); False when
        there is nothing to complete."""
        if self._nicks is None or self.isReadOnly():
            return False
        cursor = self.textCursor()
        position = cursor.position()
        text = self.toPlainText()
        done = self._completion
        if done is not None and position == done.end and not cursor.hasSelection():
            done.shown = (done.shown + 1) % len(done.candidates)
        else:
            start = position
            while start > 0 and not text[start - 1].isspace():
                start -= 1
            candidates = completions(text[start:position], self._nicks())
            if not candidates:
                self._completion = None
                return False
            done = self._completion = _Completion(start, candidates, 0, position)
        nick = done.candidates[done.shown]
        # At the start of the message the nick addresses someone: "nick: ".
        suffix = ": " if not text[: done.start].strip() else " "
        cursor.setPosition(done.start)
        cursor.setPosition(done.end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(nick + suffix)
        self.setTextCursor(cursor)
        done.end = cursor.position()
        self._completion = done
        return True

    def event(self, event: QEvent) -> bool:
        # Tab is taken for focus before keyPressEvent sees it: complete first.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and self.complete_nick()
        ):
            event.accept()
            return True
        return super().event(event)

    # -- typing ---------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self._completion = None  # any other key ends cycling through candidates
        if (
            event.key() == Qt.Key.Key_Up
            and event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            == Qt.KeyboardModifier.NoModifier
            and not self.toPlainText()
            and not self.isReadOnly()
        ):
            event.accept()
            self.edit_last_requested.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if self._ctrl_enter_sends():  # Ctrl+Enter sends, Enter is a new line
                if modifiers == Qt.KeyboardModifier.ControlModifier:
                    modifiers = Qt.KeyboardModifier.NoModifier
                elif modifiers == Qt.KeyboardModifier.NoModifier:
                    modifiers = Qt.KeyboardModifier.ShiftModifier
            if modifiers == Qt.KeyboardModifier.ShiftModifier:
                # A real newline: Qt's default for Shift+Enter is U+2028, which would
                # travel in the message as an unusual character.
                self.insertPlainText("\n")
                event.accept()
                return
            if modifiers == Qt.KeyboardModifier.NoModifier:
                event.accept()
                if not self.isReadOnly() and self.toPlainText().strip():
                    self.submitted.emit(self.toPlainText())
                return
        super().keyPressEvent(event)

    def _on_text_changed(self) -> None:
        if self._quiet:
            return
        if not self.toPlainText():
            self._pause.stop()
            if self._state != ACTIVE:
                self._set_state(ACTIVE)
            return
        self._pause.start()  # restarts the idle countdown
        if self._state != COMPOSING:
            self._set_state(COMPOSING)

    def _paused(self) -> None:
        if self._state == COMPOSING:
            self._set_state(PAUSED)

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        if state == ACTIVE and not self._states_sent:
            self._state = state  # nothing was reported yet: no need to say "active"
            return
        self._state = state
        self._states_sent = True
        self.chat_state_changed.emit(state)

    # -- plain text only ----------------------------------------------------------------

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasText() or source.hasHtml()

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Paste or drop as plain text: formatting, images and remote resources of rich
        text are dropped (an HTML-only clipboard is converted to its text locally)."""
        if source.hasText():
            text = source.text()
        elif source.hasHtml():
            # Parsed locally only to get its text; the object replacement characters
            # standing for images are dropped with the images.
            fragment = QTextDocumentFragment.fromHtml(source.html())
            text = fragment.toPlainText().replace("\ufffc", "")
        else:
            return
        self.insertPlainText(text.replace("\r\n", "\n").replace("\u2028", "\n"))


__all__ = ["ACTIVE", "COMPOSING", "PAUSED", "ComposeBox"]
