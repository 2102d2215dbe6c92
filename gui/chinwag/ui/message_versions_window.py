"""The earlier texts of an edited message: :class:`MessageVersionsWindow`.

"Show previous versions" in a message's menu opens it: a list of the message's texts,
the original first and the current one last, each with when it was replaced, and below
it the whole text of the one chosen (a :class:`~chinwag.ui.message_text_window.
MessageTextView`, which puts a long text in a slice at a time). The list shows only the
start of each text, so a message corrected a thousand times, each time with a long
text, opens at once.

Shown with ``show()``, never ``exec()``: no nested event loop."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from chinwag.ui.history_model import first_line, long_time
from chinwag.ui.message_text_window import MessageTextView
from chinwag.ui.screen_fit import fit_to_screen

#: The list shows this much of the first line of each version.
PREVIEW_CHARS = 80


class MessageVersionsWindow(QWidget):
    """A top-level window with the versions of one message: ``versions`` are the texts
    it had before, oldest first, each with when it was replaced; ``current`` is its text
    now, edited at ``edited_at``. Kept (hidden) by its conversation window when closed,
    like a "Show all" window, and deleted with it."""

    def __init__(
        self,
        title: str,
        versions: Sequence[tuple[float, str]],
        current: str,
        edited_at: float,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(title)
        self._texts: list[str] = []
        self._view: MessageTextView | None = None
        layout = QVBoxLayout(self)
        count = len(versions)
        summary = QLabel(
            f"Edited {QLocale().toString(count)} time{'s' if count != 1 else ''}; "
            f"the original is first, the current text last.",
            self,
        )
        summary.setObjectName("versionsSummary")
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setObjectName("versionsList")
        self.list.setAccessibleName("Versions")
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for n, (replaced_at, text) in enumerate(versions):
            label = "Original" if n == 0 else f"Version {n + 1}"
            self._add(f"{label}, replaced {long_time(replaced_at)}", text)
        when = f", edited {long_time(edited_at)}" if edited_at else ""
        self._add(f"Current{when}", current)
        self._holder = QWidget(self)
        self._holder_layout = QVBoxLayout(self._holder)
        self._holder_layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.list)
        splitter.addWidget(self._holder)
        splitter.setStretchFactor(1, 2)
        buttons = QHBoxLayout()
        copy = QPushButton("&Copy this version", self)
        copy.setObjectName("copyVersion")
        copy.clicked.connect(self.copy_current)
        close = QPushButton("Close", self)
        close.setObjectName("close")
        close.clicked.connect(self.close)
        buttons.addStretch(1)
        buttons.addWidget(copy)
        buttons.addWidget(close)
        layout.addWidget(summary)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self._show)
        # The text it had just before the current one: what the user looks for.
        self.list.setCurrentRow(max(0, count - 1))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self.close)
        fit_to_screen(self, 560, 520)

    def _add(self, label: str, text: str) -> None:
        preview = first_line(text, PREVIEW_CHARS) or "(empty)"
        item = QListWidgetItem(f"{label}\n{preview}")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{label}: {preview}")
        self.list.addItem(item)
        self._texts.append(text)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self._texts):
            return
        if self._view is not None:
            self._view.stop()
            self._view.deleteLater()
        self._view = MessageTextView(self._texts[row], self._holder)
        self._view.setObjectName("versionText")
        self._holder_layout.addWidget(self._view)

    @property
    def texts(self) -> list[str]:
        """Every version's text, the original first and the current one last."""
        return list(self._texts)

    @property
    def view(self) -> MessageTextView | None:
        """The text of the version chosen in the list."""
        return self._view

    def copy_current(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._texts):
            QGuiApplication.clipboard().setText(self._texts[row])

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._view is not None:
            self._view.stop()
        super().closeEvent(event)


__all__ = ["PREVIEW_CHARS", "MessageVersionsWindow"]
