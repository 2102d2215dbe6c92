"""Painting one message of a conversation: :class:`MessageDelegate`.

Owns how a message looks (a bubble with the sender, the time, the text, and for own
messages their state) and where things are inside it: the size of a row (cached per
message and width, because a ``QListView`` with rows of different heights asks for every
row's size on each layout) and which link, if any, is under a point.

The text is laid out with :class:`QTextLayout` as plain text: remote markup is shown as
the characters it is made of, never interpreted, and nothing is ever fetched (no remote
images). Links (http, https, xmpp, mailto) are found with a conservative pattern and only
drawn as links; opening them is the view's business. All colours come from the palette,
so light and dark themes both work."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QUrl,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QAbstractScrollArea, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from chinwag.core.models import Direction, MessageState
from chinwag.ui.history_model import MatchRanges, Role

_Index = QModelIndex | QPersistentModelIndex

#: URL schemes made clickable. Anything else stays plain text.
LINK_SCHEMES = ("http", "https", "xmpp", "mailto")
_LINK = re.compile(r"""\b(?:https?://|xmpp:|mailto:)[^\s<>"'`{}|\\^\u2028\u2029]+""", re.I)
_TRAILING = ".,;:!?*'\"…"
_CLOSERS = {")": "(", "]": "[", "}": "{"}

#: Outer space around a bubble, and padding inside it (pixels).
_MARGIN_X, _MARGIN_Y = 10, 3
_PAD_X, _PAD_Y = 9, 5
_RADIUS = 8.0
#: The side a bubble leaves free, so incoming and outgoing messages stand apart.
_INDENT_SHARE, _MIN_INDENT = 0.15, 32
_LINE_GAP = 2
_SIZE_CACHE_LIMIT = 4096

_STATE_LABEL = {
    MessageState.QUEUED: "Queued",
    MessageState.SENT: "Sent \u2713",
    MessageState.DELIVERED: "Delivered \u2713\u2713",
    MessageState.READ: "Read \u2713\u2713",
    MessageState.FAILED: "Failed",
}


@dataclass(frozen=True, slots=True)
class Link:
    """A link in a message text: ``text[start:end]`` is ``url``."""

    start: int
    end: int
    url: str


def find_links(text: str) -> list[Link]:
    """The http, https, xmpp and mailto links in ``text``.

    Punctuation that ends a sentence is not part of a link, nor is a closing bracket
    without its opening one ("(see https://example.org/a)")."""
    links = []
    for match in _LINK.finditer(text):
        url = match.group(0)
        while url and (url[-1] in _TRAILING or _unbalanced_closer(url)):
            url = url[:-1]
        scheme, _, rest = url.partition(":")
        if not rest.strip("/"):
            continue
        qurl = QUrl(url, QUrl.ParsingMode.StrictMode)
        if not qurl.isValid() or qurl.scheme().lower() not in LINK_SCHEMES:
            continue
        if scheme.lower() in ("http", "https") and not qurl.host():
            continue
        links.append(Link(match.start(), match.start() + len(url), url))
    return links


def _unbalanced_closer(url: str) -> bool:
    last = url[-1]
    return last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)


def display_text(body: str) -> str:
    """``body`` made ready for :class:`QTextLayout`, with every character at its index
    (so link and match offsets still apply): line breaks become the line separator
    QTextLayout breaks at, and the CR of a CRLF an invisible zero-width space."""
    return body.replace("\r\n", "\u200b\n").replace("\r", "\n").replace("\n", "\u2028")


def time_label(timestamp: float) -> str:
    """Time of day for today's messages; with the date for older ones."""
    moment = QDateTime.fromMSecsSinceEpoch(round(timestamp * 1000)).toLocalTime()
    day, today = moment.date(), QDate.currentDate()
    locale = QLocale()
    clock = locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
    if day == today:
        return clock
    if day.year() == today.year():
        return f"{locale.toString(day, 'd MMM')}, {clock}"
    return f"{locale.toString(day, 'd MMM yyyy')}, {clock}"


def _blend(base: QColor, over: QColor, share: float) -> QColor:
    return QColor.fromRgbF(
        base.redF() + (over.redF() - base.redF()) * share,
        base.greenF() + (over.greenF() - base.greenF()) * share,
        base.blueF() + (over.blueF() - base.blueF()) * share,
    )


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def error_color(palette: QPalette) -> QColor:
    return QColor("#ef9a9a") if _is_dark(palette) else QColor("#c62828")


#: Search matches: a marker-pen yellow with black text reads on light and dark themes.
MATCH_BACKGROUND = QColor(255, 210, 0)
CURRENT_MATCH_BACKGROUND = QColor(255, 150, 0)


@dataclass(slots=True)
class _Geometry:
    """Where everything of one message goes, relative to its row's top-left corner."""

    bubble: QRectF
    header_y: float
    sender: str
    time: str
    state: str
    body: QTextLayout
    body_origin: QPointF
    links: list[Link]
    footer: QTextLayout | None = None
    footer_origin: QPointF = field(default_factory=QPointF)
    height: int = 0


class MessageDelegate(QStyledItemDelegate):
    """Paints :class:`~chinwag.ui.history_model.HistoryModel` rows as message bubbles.

    Public helpers beyond the delegate API: :meth:`text_of` (the exact text painted for a
    row), :meth:`link_at` (the link under a point of a row) and :meth:`clear_cache`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sizes: OrderedDict[tuple[str, int, int, str], QSize] = OrderedDict()

    # -- what is painted ----------------------------------------------------------------

    @staticmethod
    def text_of(index: _Index) -> str:
        """The text painted for the message at ``index``, character for character."""
        return display_text(str(index.data(Role.BODY) or ""))

    def body_layout(self, option: QStyleOptionViewItem, index: _Index) -> QTextLayout:
        """The laid-out text of the row painted in ``option.rect``: its characters, lines
        and formats (links, search matches) exactly as painted."""
        return self._geometry(option, index, option.rect.width()).body

    @staticmethod
    def links_of(index: _Index) -> list[Link]:
        return find_links(str(index.data(Role.BODY) or ""))

    @staticmethod
    def state_label(index: _Index) -> str:
        """What is shown of an own message's state ("" for an incoming message)."""
        if index.data(Role.DIRECTION) is not Direction.OUTGOING:
            return ""
        return _STATE_LABEL.get(index.data(Role.STATE), "")

    # -- sizes ----------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        width = _available_width(option)
        key = (
            str(index.data(Role.UID)),
            int(index.data(Role.DIRECTION) or 0),
            width,
            str(index.data(Role.ERROR) or ""),
        )
        size = self._sizes.get(key)
        if size is not None:
            self._sizes.move_to_end(key)
            return size
        size = QSize(width, self._geometry(option, index, width).height)
        self._sizes[key] = size
        if len(self._sizes) > _SIZE_CACHE_LIMIT:  # bounded: widths change on every resize
            self._sizes.popitem(last=False)
        return size

    def clear_cache(self) -> None:
        """Forget cached sizes (after a font or style change)."""
        self._sizes.clear()

    # -- links ----------------------------------------------------------------------------

    def link_at(self, option: QStyleOptionViewItem, index: _Index, pos: QPoint) -> QUrl | None:
        """The link under ``pos`` (viewport coordinates) in the row painted in
        ``option.rect``, or None."""
        if not index.isValid() or not option.rect.contains(pos):
            return None
        geometry = self._geometry(option, index, option.rect.width())
        if not geometry.links:
            return None
        local = QPointF(pos - option.rect.topLeft()) - geometry.body_origin
        layout = geometry.body
        for n in range(layout.lineCount()):
            line = layout.lineAt(n)
            if not (line.y() <= local.y() < line.y() + line.height()):
                continue
            if not (line.x() <= local.x() <= line.x() + line.naturalTextWidth()):
                return None
            cursor = line.xToCursor(local.x(), QTextLine.CursorPosition.CursorOnCharacter)
            for link in geometry.links:
                if link.start <= cursor < link.end:
                    return QUrl(link.url)
            return None
        return None

    # -- painting -------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        geometry = self._geometry(option, index, option.rect.width())
        palette = option.palette
        outgoing = index.data(Role.DIRECTION) is Direction.OUTGOING
        base = palette.color(QPalette.ColorRole.Base)
        text_color = palette.color(QPalette.ColorRole.Text)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(QPointF(option.rect.topLeft()))

        fill = (
            _blend(base, palette.color(QPalette.ColorRole.Highlight), 0.22)
            if outgoing
            else _blend(base, text_color, 0.07)
        )
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        current_match = bool(index.data(Role.CURRENT_MATCH))
        if current_match:
            pen = QPen(CURRENT_MATCH_BACKGROUND, 2.0)
        elif selected:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2.0)
        else:
            pen = QPen(Qt.PenStyle.NoPen)
        painter.setPen(pen)
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(geometry.bubble, _RADIUS, _RADIUS)

        # Header: sender (bold) and time on the left, the state of own messages right.
        small = _small_font(option.font)
        bold = QFont(option.font)
        bold.setBold(True)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        inner = geometry.bubble.adjusted(_PAD_X, 0, -_PAD_X, 0)
        bold_metrics, small_metrics = QFontMetrics(bold), QFontMetrics(small)
        state_width = small_metrics.horizontalAdvance(geometry.state) if geometry.state else 0
        time_width = small_metrics.horizontalAdvance(geometry.time)
        room = max(
            0, int(inner.width()) - time_width - 8 - (state_width + 12 if state_width else 0)
        )
        sender = geometry.sender
        # Elide only when it really does not fit: elidedText() measures with fractional
        # advances and would shorten a name that was measured to fit exactly.
        if bold_metrics.horizontalAdvance(sender) > room:
            sender = bold_metrics.elidedText(sender, Qt.TextElideMode.ElideRight, room)
        baseline = geometry.header_y + bold_metrics.ascent()
        painter.setFont(bold)
        painter.setPen(text_color)
        painter.drawText(QPointF(inner.left(), baseline), sender)
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(
            QPointF(inner.left() + bold_metrics.horizontalAdvance(sender) + 8, baseline),
            geometry.time,
        )
        if geometry.state:
            failed = index.data(Role.STATE) is MessageState.FAILED
            painter.setPen(error_color(palette) if failed else muted)
            painter.drawText(QPointF(inner.right() - state_width, baseline), geometry.state)

        # Body: plain text, links and search matches drawn through its formats.
        painter.setPen(text_color)
        geometry.body.draw(painter, geometry.body_origin)
        if geometry.footer is not None:
            painter.setPen(error_color(palette))
            geometry.footer.draw(painter, geometry.footer_origin)
        painter.restore()

    @staticmethod
    def _formats(
        palette: QPalette, links: list[Link], matches: MatchRanges | None, current: bool
    ) -> list[QTextLayout.FormatRange]:
        formats = []
        for link in links:
            fmt = QTextCharFormat()
            fmt.setForeground(palette.color(QPalette.ColorRole.Link))
            fmt.setFontUnderline(True)
            formats.append(_format_range(link.start, link.end - link.start, fmt))
        for start, length in matches or ():
            if length <= 0:
                continue
            fmt = QTextCharFormat()
            fmt.setBackground(CURRENT_MATCH_BACKGROUND if current else MATCH_BACKGROUND)
            fmt.setForeground(QColor(Qt.GlobalColor.black))
            formats.append(_format_range(start, length, fmt))
        return formats

    # -- geometry -------------------------------------------------------------------------

    def _geometry(self, option: QStyleOptionViewItem, index: _Index, width: int) -> _Geometry:
        outgoing = index.data(Role.DIRECTION) is Direction.OUTGOING
        font = option.font
        bold = QFont(font)
        bold.setBold(True)
        small = _small_font(font)
        sender = str(index.data(Role.SENDER) or "")
        time = time_label(float(index.data(Role.TIMESTAMP) or 0.0))
        state = self.state_label(index)

        indent = max(_MIN_INDENT, int(width * _INDENT_SHARE))
        max_bubble = max(80, width - 2 * _MARGIN_X - indent)
        max_text = max_bubble - 2 * _PAD_X

        body_text = self.text_of(index)
        links = find_links(str(index.data(Role.BODY) or ""))
        # Formats go in before the layout is made: setting them later discards the lines.
        formats = self._formats(
            option.palette,
            links,
            index.data(Role.SEARCH_MATCH),
            bool(index.data(Role.CURRENT_MATCH)),
        )
        body, body_height, body_width = _lay_out(body_text, font, max_text, formats)

        footer = None
        footer_height = footer_width = 0.0
        error = str(index.data(Role.ERROR) or "")
        if outgoing and index.data(Role.STATE) is MessageState.FAILED:
            reason = f"Not sent: {error}" if error else "Not sent"
            footer, footer_height, footer_width = _lay_out(
                f"{reason} \u2014 right-click to retry", small, max_text
            )

        bold_metrics, small_metrics = QFontMetrics(bold), QFontMetrics(small)
        header_width = (
            bold_metrics.horizontalAdvance(sender)
            + 8
            + small_metrics.horizontalAdvance(time)
            + (12 + small_metrics.horizontalAdvance(state) if state else 0)
        )
        header_height = max(bold_metrics.height(), small_metrics.height())
        content_width = min(max_text, max(header_width, body_width, footer_width))
        bubble_width = content_width + 2 * _PAD_X
        bubble_height = (
            2 * _PAD_Y
            + header_height
            + _LINE_GAP
            + body_height
            + (_LINE_GAP + footer_height if footer is not None else 0)
        )
        left = width - _MARGIN_X - bubble_width if outgoing else _MARGIN_X
        bubble = QRectF(left, _MARGIN_Y, bubble_width, bubble_height)
        header_y = bubble.top() + _PAD_Y
        body_y = header_y + header_height + _LINE_GAP
        geometry = _Geometry(
            bubble=bubble,
            header_y=header_y,
            sender=sender,
            time=time,
            state=state,
            body=body,
            body_origin=QPointF(bubble.left() + _PAD_X, body_y),
            links=links,
            height=int(bubble_height + 2 * _MARGIN_Y + 0.999),
        )
        if footer is not None:
            geometry.footer = footer
            geometry.footer_origin = QPointF(
                bubble.left() + _PAD_X, body_y + body_height + _LINE_GAP
            )
        return geometry


def _available_width(option: QStyleOptionViewItem) -> int:
    """The row width: the view's viewport (``option.rect`` is not set for size hints)."""
    widget = option.widget
    if isinstance(widget, QAbstractScrollArea):
        return max(1, widget.viewport().width())
    return max(1, option.rect.width()) if option.rect.isValid() else 400


def _small_font(font: QFont) -> QFont:
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(font.pointSizeF() * 0.85)
    else:
        small.setPixelSize(max(8, round(font.pixelSize() * 0.85)))
    return small


def _lay_out(
    text: str,
    font: QFont,
    width: float,
    formats: list[QTextLayout.FormatRange] | None = None,
) -> tuple[QTextLayout, float, float]:
    """``text`` word-wrapped to ``width``: the layout, its height and its widest line."""
    layout = QTextLayout(text, font)
    if formats:
        layout.setFormats(formats)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.setCacheEnabled(True)
    metrics = QFontMetrics(font)
    height = 0.0
    widest = 0.0
    layout.beginLayout()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, height))
        height += line.height() + metrics.leading()
        widest = max(widest, line.naturalTextWidth())
    layout.endLayout()
    return layout, max(height, float(metrics.height())), widest


def _format_range(start: int, length: int, fmt: QTextCharFormat) -> QTextLayout.FormatRange:
    format_range = QTextLayout.FormatRange()
    format_range.start = start
    format_range.length = length
    format_range.format = fmt
    return format_range


__all__ = [
    "LINK_SCHEMES",
    "Link",
    "MessageDelegate",
    "display_text",
    "error_color",
    "find_links",
    "time_label",
]
