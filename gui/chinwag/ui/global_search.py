"""Search across every conversation (Ctrl+Shift+F): :class:`GlobalSearchWindow`.

One window for the whole application (the main window keeps it, as it keeps Preferences).
Typing searches as soon as the user pauses (:data:`SEARCH_DELAY_MS`), on the store's
full-text index, newest first: each result shows its conversation, its sender, when, and
a snippet with the matched words highlighted. Results can be limited to one conversation
and to a period. Enter or a double-click on a result opens its conversation window at the
message, with the conversation's own search bar on the same words and the message as its
current match (F3 goes on to the conversation's other matches).

The search is the store's synchronous read, as the conversation window's search is: one
walk of the FTS index by its time-ordered rowid, newest first with a LIMIT (see
``bench/bench_search.py``: under 50 ms over a million messages), so it runs on the loop
after the pause rather than in a thread. Snippets come from other people: they are shown
as plain text, one line, cut to :data:`SNIPPET_CHARS`."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPalette,
    QShortcut,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.models import ConversationKey, ConversationKind, SearchHit
from chinwag.ui.context import UiContext
from chinwag.ui.message_delegate import (
    CURRENT_MATCH_BACKGROUND,
    MATCH_BACKGROUND,
    MATCH_TEXT,
    time_label,
)
from chinwag.ui.screen_fit import fit_to_screen

log = logging.getLogger(__name__)

#: Results asked of the store per search (the newest).
RESULT_LIMIT = 200
#: Pause after the last keystroke before searching.
SEARCH_DELAY_MS = 200
#: A snippet is shown on one line, at most this long.
SNIPPET_CHARS = 300
#: The periods a search can be limited to: (label, seconds back; None: any time).
PERIODS: tuple[tuple[str, float | None], ...] = (
    ("Any time", None),
    ("Past day", 86_400.0),
    ("Past week", 7 * 86_400.0),
    ("Past month", 31 * 86_400.0),
    ("Past year", 366 * 86_400.0),
)
HIT_ROLE = Qt.ItemDataRole.UserRole + 1

_WHITESPACE = re.compile(r"[\s\x00-\x01\x04-\x1f\x7f-\x9f\u2028\u2029]+")
_MARK = re.compile("\x02(.*?)\x03", re.DOTALL)
_Index = QModelIndex | QPersistentModelIndex


def snippet_parts(snippet: str, limit: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """The snippet as one line of plain text, and where its matched words are in it
    ((start, length), in code points)."""
    text, marks, at = [], [], 0
    for part, piece in enumerate(re.split("(\x02.*?\x03)", snippet, flags=re.DOTALL)):
        matched = bool(part % 2)
        plain = (
            _WHITESPACE.sub(" ", _MARK.sub(r"\1", piece)).replace("\x02", "").replace("\x03", "")
        )
        if not plain:
            continue
        plain = plain[: max(0, limit - at)]
        if matched and plain:
            marks.append((at, len(plain)))
        text.append(plain)
        at += len(plain)
        if at >= limit:
            break
    return "".join(text).strip("\n"), marks


class GlobalSearchModel(QAbstractListModel):
    """The results of a search, newest first: one row per :class:`SearchHit`, with the
    conversation's name and the sender's."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[SearchHit, str, str]] = []

    def set_hits(self, rows: Sequence[tuple[SearchHit, str, str]]) -> None:
        """The results: (hit, conversation name, sender name) each."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit:
        return self._rows[row][0]

    def names(self, row: int) -> tuple[str, str]:
        _, conversation, sender = self._rows[row]
        return conversation, sender

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        hit, conversation, sender = self._rows[index.row()]
        if role == HIT_ROLE:
            return hit
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            text, _ = snippet_parts(hit.snippet)
            when = time_label(hit.message.timestamp)
            return f"{conversation}, {sender}, {when}: {text}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{conversation}\n{hit.message.peer}"
        return None


class ResultDelegate(QStyledItemDelegate):
    """A result on two lines: the conversation (bold), the sender and the time; then the
    snippet, its matched words highlighted as in a conversation's search."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(option.rect.width(), 2 * metrics.height() + 14)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        model = index.model()
        if not isinstance(model, GlobalSearchModel):
            return
        hit = model.hit(index.row())
        conversation, sender = model.names(index.row())
        painter.save()
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = QColor(text_color)
        muted.setAlphaF(0.7)
        rect = QRectF(option.rect).adjusted(8, 5, -8, -5)
        font = QFont(option.font)
        bold = QFont(font)
        bold.setBold(True)
        metrics, bold_metrics = QFontMetrics(font), QFontMetrics(bold)
        when = time_label(hit.message.timestamp)
        when_width = metrics.horizontalAdvance(when)
        room = int(rect.width() - when_width - 12)
        name = bold_metrics.elidedText(conversation, Qt.TextElideMode.ElideRight, room * 2 // 3)
        painter.setFont(bold)
        painter.setPen(text_color)
        baseline = rect.top() + bold_metrics.ascent()
        painter.drawText(QPointF(rect.left(), baseline), name)
        left = rect.left() + bold_metrics.horizontalAdvance(name) + 8
        painter.setFont(font)
        painter.setPen(muted)
        who = metrics.elidedText(
            sender, Qt.TextElideMode.ElideRight, int(rect.right() - when_width - 12 - left)
        )
        painter.drawText(QPointF(left, baseline), who)
        painter.drawText(QPointF(rect.right() - when_width, baseline), when)

        text, marks = snippet_parts(hit.snippet)
        layout = QTextLayout(text, font)
        mark = QTextCharFormat()
        mark.setBackground(MATCH_BACKGROUND if not selected else CURRENT_MATCH_BACKGROUND)
        mark.setForeground(MATCH_TEXT)
        ranges = []
        for start, length in marks:
            fmt = QTextLayout.FormatRange()
            fmt.start = len(text[:start].encode("utf-16-le")) // 2
            fmt.length = len(text[start : start + length].encode("utf-16-le")) // 2
            fmt.format = mark
            ranges.append(fmt)
        layout.setFormats(ranges)
        layout.beginLayout()
        line = layout.createLine()
        if line.isValid():
            line.setLineWidth(rect.width())
            line.setPosition(QPointF(0, 0))
        layout.endLayout()
        painter.setPen(text_color)
        painter.setClipRect(rect)
        layout.draw(painter, QPointF(rect.left(), rect.top() + bold_metrics.height() + 4))
        painter.restore()


class GlobalSearchWindow(QDialog):
    """Search every conversation; open one at a result."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._ctx = ctx
        self._keys: list[ConversationKey | None] = [None]  # per row of the filter
        self.setWindowTitle("Search all conversations")
        self.setAccessibleName("Search all conversations")
        layout = QVBoxLayout(self)
        self.query = QLineEdit(self)
        self.query.setObjectName("globalSearchField")
        self.query.setAccessibleName("Search all conversations")
        self.query.setPlaceholderText("Search messages in all conversations")
        self.query.setClearButtonEnabled(True)
        layout.addWidget(self.query)
        filters = QHBoxLayout()
        self.conversation = QComboBox(self)
        self.conversation.setObjectName("conversationFilter")
        self.conversation.setAccessibleName("In conversation")
        self.period = QComboBox(self)
        self.period.setObjectName("periodFilter")
        self.period.setAccessibleName("When")
        for label, span in PERIODS:
            self.period.addItem(label, span)
        filters.addWidget(QLabel("In:", self))
        filters.addWidget(self.conversation, 1)
        filters.addWidget(QLabel("When:", self))
        filters.addWidget(self.period)
        layout.addLayout(filters)
        self.results = QListView(self)
        self.results.setObjectName("globalSearchResults")
        self.results.setAccessibleName("Results")
        self.results.setUniformItemSizes(True)
        self.results.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.model = GlobalSearchModel(self)
        self.results.setModel(self.model)
        self.results.setItemDelegate(ResultDelegate(self.results))
        layout.addWidget(self.results, 1)
        self.status = QLabel(self)
        self.status.setObjectName("globalSearchStatus")
        layout.addWidget(self.status)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.search_now)
        self.query.textChanged.connect(lambda _: self._timer.start())
        self.query.returnPressed.connect(self._enter)
        self.conversation.currentIndexChanged.connect(lambda _: self.search_now())
        self.period.currentIndexChanged.connect(lambda _: self.search_now())
        self.results.activated.connect(lambda index: self.open_result(index.row()))
        QShortcut(QKeySequence(Qt.Key.Key_Down), self.query, self._into_results)
        self.fill_conversations()
        fit_to_screen(self, 560, 520)

    # -- public -------------------------------------------------------------------------

    def present(self, text: str | None = None) -> None:
        """Show and raise the window, the search field focused (with ``text`` in it)."""
        if text is not None:
            self.query.setText(text)
        self.show()
        self.raise_()
        self.activateWindow()
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def fill_conversations(self) -> None:
        """The conversation filter: every conversation with messages, newest first."""
        current = self.filter_key
        self.conversation.blockSignals(True)
        try:
            self.conversation.clear()
            self._keys = [None]
            self.conversation.addItem("All conversations")
            try:
                known = self._ctx.core.store.conversations()
            except Exception:
                log.exception("listing the conversations failed")
                known = []
            for key, _newest in known:
                self._keys.append(key)
                self.conversation.addItem(self.conversation_name(key))
            self.conversation.setCurrentIndex(
                self._keys.index(current) if current in self._keys else 0
            )
        finally:
            self.conversation.blockSignals(False)

    @property
    def filter_key(self) -> ConversationKey | None:
        """The conversation searched (None: all)."""
        row = self.conversation.currentIndex()
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def set_filter(self, key: ConversationKey | None) -> None:
        """Search only ``key`` (None: all conversations)."""
        if key not in self._keys:
            self.fill_conversations()
        if key in self._keys:
            self.conversation.setCurrentIndex(self._keys.index(key))

    def conversation_name(self, key: ConversationKey) -> str:
        title = self._ctx.core.conversations.title(key) or key.peer
        accounts = {a.jid for a in self._ctx.core.accounts.accounts}
        return f"{title} ({key.account})" if len(accounts) > 1 else title

    def search_now(self) -> None:
        """Search for what is typed, with the filters, now."""
        self._timer.stop()
        text = self.query.text().strip()
        key = self.filter_key
        span = self.period.currentData()
        since = time.time() - float(span) if span is not None else None
        hits: list[SearchHit] = []
        if text:
            try:
                hits = self._ctx.core.store.search(
                    text,
                    key,
                    RESULT_LIMIT,
                    since=since,
                )
            except Exception:
                log.exception("searching all conversations failed")
                self.status.setText("The search failed; see the log")
                self.model.set_hits([])
                return
        names: dict[ConversationKey, str] = {}
        rows = []
        for hit in hits:
            message = hit.message
            name = names.get(message.key)
            if name is None:
                name = names[message.key] = self.conversation_name(message.key)
            rows.append((hit, name, self._sender(hit, name)))
        self.model.set_hits(rows)
        if not text:
            self.status.setText("")
        elif not hits:
            self.status.setText("No messages found")
        elif len(hits) >= RESULT_LIMIT:
            self.status.setText(f"The newest {RESULT_LIMIT} results")
        else:
            self.status.setText("1 result" if len(hits) == 1 else f"{len(hits)} results")
        if hits:
            self.results.setCurrentIndex(self.model.index(0))

    def open_result(self, row: int) -> QWidget | None:
        """Open the conversation of result ``row`` at its message, highlighted."""
        if not 0 <= row < self.model.rowCount():
            return None
        hit = self.model.hit(row)
        message = hit.message
        window = self._ctx.windows.open(message.account, message.peer, kind=message.kind)
        show = getattr(window, "show_found", None)
        if callable(show):
            show(self.query.text().strip(), hit)
        return window if isinstance(window, QWidget) else None

    # -- inside -------------------------------------------------------------------------

    def _sender(self, hit: SearchHit, conversation: str) -> str:
        message = hit.message
        if message.outgoing:
            config = self._ctx.core.accounts.find(message.account)
            return config.nickname if config is not None and config.nickname else "Me"
        if message.kind is ConversationKind.GROUPCHAT:
            return message.sender_resource or conversation
        return conversation

    def _enter(self) -> None:
        if self._timer.isActive():
            self.search_now()
            return
        index = self.results.currentIndex()
        if index.isValid():
            self.open_result(index.row())

    def _into_results(self) -> None:
        if self.model.rowCount():
            self.results.setFocus(Qt.FocusReason.TabFocusReason)
            if not self.results.currentIndex().isValid():
                self.results.setCurrentIndex(self.model.index(0))

    def showEvent(self, event: Any) -> None:
        self.fill_conversations()
        super().showEvent(event)
