"""Painting one message of a conversation: :class:`MessageDelegate`.

Owns how a message looks (a bubble with the sender, the time, the text, and for own
messages their state; "edited" after the time; the quote of what a reply answers above
the text; the reactions as chips under it, collapsed to "+N" beyond two lines; a removed
message as "This message was removed"; the "New messages" line above the first unread
message) and where things are inside it: the size of a row and which link, quote or
reaction, if any, is under a point.

Nothing a peer sends may block the event loop, however long or strange it is:

* a row lays out at most :data:`ELIDE_CHARS` characters and :data:`ELIDE_LINES` lines of
  a message; a longer one is cut there and ends in "Show all (N characters)", which the
  view turns into a window of the whole text (:mod:`chinwag.ui.message_text_window`);
* sizes are cached per message and width, and laid-out texts per message, width and
  format, so painting does not lay out again;
* a new width (a resize) or a new window does not measure every row at once: each turn of
  the event loop measures rows up to a budget (:data:`MEASURE_BUDGET`, in characters laid
  out); the other rows get an estimate at once and are measured in the next turns, and
  the view hears ``sizeHintChanged`` for those whose estimate was wrong.

The text is laid out with :class:`QTextLayout` as plain text: remote markup is shown as
the characters it is made of, never interpreted, and nothing is ever fetched (no remote
images). Links (http, https, xmpp, mailto) are found with a conservative pattern and only
drawn as links; opening them is the view's business. Python indexes text by code point,
Qt by UTF-16 code unit: :class:`Utf16` converts between them (an emoji is one of the first
and two of the second). Colours come from the palette, adjusted where needed to be
readable (a contrast of at least :data:`MIN_CONTRAST` to the bubble), so light and dark
themes both work."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QPainter,
    QPalette,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from chinwag.core.models import Direction, Message, MessageState
from chinwag.ui.day_separators import (
    PILL_ROLE,
    day_label,
    local_day,
    paint_separator,
    separator_height,
)
from chinwag.ui.history_model import (
    PLAIN,
    Chip,
    Decor,
    HistoryModel,
    MatchRanges,
    Reactions,
    Role,
    long_time,
)

_Index = QModelIndex | QPersistentModelIndex

#: URL schemes made clickable. Anything else stays plain text.
LINK_SCHEMES = ("http", "https", "xmpp", "mailto")
_LINK = re.compile(r"""\b(?:https?://|xmpp:|mailto:)[^\s<>"'`{}|\\^\u2028\u2029]+""", re.I)
_TRAILING = ".,;:!?*'\"…"
_CLOSERS = {")": "(", "]": "[", "}": "{"}

#: A row shows at most this many characters of a message ...
ELIDE_CHARS = 2000
#: ... and at most this many lines; the rest is one click away ("Show all").
ELIDE_LINES = 40
#: Work allowed per turn of the event loop for measuring rows, in characters laid out (a
#: row also costs :data:`ROW_COST`); about 15 ms of layout. Rows beyond it get an estimate.
MEASURE_BUDGET = 16_000
ROW_COST = 100
#: A message's menu offers the links of this much of it (each candidate is parsed).
LINK_SCAN_CHARS = 20_000
#: Links are looked for this far past the cut of a long message, so that a link the cut
#: goes through is recognised as one (and left out) rather than shortened.
_LINK_LOOKAHEAD = 2048
#: WCAG 2 contrast asked of every text colour against its background (AA, normal text).
MIN_CONTRAST = 4.5

#: Outer space around a bubble, and padding inside it (pixels).
_MARGIN_X, _MARGIN_Y = 10, 3
_PAD_X, _PAD_Y = 9, 5
#: The vertical space around and in a bubble for each message density (Preferences).
_DENSITIES = {"comfortable": (3, 5), "compact": (1, 2)}
_RADIUS = 8.0
#: The side a bubble leaves free, so incoming and outgoing messages stand apart.
_INDENT_SHARE, _MIN_INDENT = 0.15, 32
_LINE_GAP = 2
_SIZE_CACHE_LIMIT = 4096
_LAYOUT_CACHE_LIMIT = 64
#: Reactions take at most this many lines of chips; the rest is one "+N" chip.
MAX_CHIP_LINES = 2
_CHIP_PAD_X, _CHIP_PAD_Y, _CHIP_GAP = 6, 1, 4
#: The quote of a reply: padding inside it and the width of its bar.
_QUOTE_PAD, _QUOTE_BAR = 4, 3
#: The "New messages" line above a row: its height beyond its text.
_MARKER_PAD = 4
#: A quote's width is measured on this much of its text (it is elided to fit anyway).
QUOTE_MEASURE = 200

EDITED_LABEL = "edited"
REMOVED_TEXT = "This message was removed"
NOT_FOUND_TEXT = "Message not found"
REMOVED_QUOTE_TEXT = "Message removed"
NEW_MESSAGES_TEXT = "New messages"

_STATE_LABEL = {
    MessageState.QUEUED: "Queued",
    MessageState.SENT: "Sent \u2713",
    MessageState.DELIVERED: "Delivered \u2713\u2713",
    MessageState.READ: "Read \u2713\u2713",
    MessageState.FAILED: "Failed",
    MessageState.HELD: "Queued",  # (its file is uploading: the file's card says how far)
}


# -- links ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """A link in a message text: ``text[start:end]`` is ``url`` (code point indexes)."""

    start: int
    end: int
    url: str


def find_links(text: str, limit: int | None = None) -> list[Link]:
    """The http, https, xmpp and mailto links in ``text`` (the first ``limit`` of them).

    Punctuation that ends a sentence is not part of a link, nor is a closing bracket
    without its opening one ("(see https://example.org/a)")."""
    links: list[Link] = []
    for match in _LINK.finditer(text):
        if limit is not None and len(links) >= limit:
            break
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


# -- code points and UTF-16 -------------------------------------------------------------------


class Utf16:
    """Index conversion for one text between Python's code points and the UTF-16 code
    units Qt counts in (``QTextLayout`` format ranges, cursor positions): every character
    beyond the Basic Multilingual Plane (most emoji) is one of the first, two of the
    second."""

    __slots__ = ("_astral", "_units")

    def __init__(self, text: str) -> None:
        #: Code point indexes of the astral characters, and where each starts in UTF-16.
        self._astral = [] if text.isascii() else [i for i, c in enumerate(text) if c > "\uffff"]
        self._units = [i + n for n, i in enumerate(self._astral)]

    def to_utf16(self, index: int) -> int:
        """The UTF-16 position of code point ``index``."""
        return index + bisect.bisect_left(self._astral, index)

    def from_utf16(self, unit: int) -> int:
        """The code point whose UTF-16 encoding holds position ``unit`` (the low half of a
        surrogate pair belongs to its character)."""
        before = bisect.bisect_left(self._units, unit)
        if before and self._units[before - 1] + 1 == unit:
            return self._astral[before - 1]
        return unit - before

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Code points ``start:end`` as a UTF-16 (start, length)."""
        first = self.to_utf16(start)
        return first, self.to_utf16(end) - first


# -- what a row shows -------------------------------------------------------------------------

_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
#: Characters that belong to the one before them: a cut must not fall just before them.
_JOINERS = frozenset("\u200d\u034f\ufe0e\ufe0f")


@dataclass(frozen=True, slots=True)
class Shown:
    """What a row shows of a message: ``text`` (ready for :class:`QTextLayout`) is the
    first ``length`` characters of the body, then an ellipsis if the body has more."""

    text: str
    length: int
    total: int

    @property
    def elided(self) -> bool:
        return self.length < self.total


def shown_text(body: str) -> Shown:
    """The part of ``body`` a row lays out: all of it up to :data:`ELIDE_CHARS` characters
    and :data:`ELIDE_LINES` lines, else a cut before that, at the end of a word where one
    is near and never inside a character sequence that draws as one (a letter and its
    combining marks, an emoji sequence). Looks at no more of ``body`` than that."""
    head = body[: ELIDE_CHARS + 1]
    cut = None
    for n, line_break in enumerate(_BREAK.finditer(head), start=1):
        if n == ELIDE_LINES:
            if head[line_break.start() :].strip() or len(body) > len(head):
                cut = line_break.start()  # after the last line shown
            break
    if cut is None:
        if len(head) <= ELIDE_CHARS:
            return Shown(display_text(body), len(body), len(body))
        cut = _clean_cut(head, ELIDE_CHARS)
    return Shown(display_text(head[:cut].rstrip()) + "\u2026", cut, len(body))


def _clean_cut(head: str, cut: int) -> int:
    """``cut`` moved back to the end of a word (within 40 characters) or at least out of
    a cluster of combining marks (if it is not all one cluster)."""
    start = max(0, cut - 40)
    space = max(head.rfind(" ", start, cut + 1), head.rfind("\t", start, cut + 1))
    if space > 0:
        return space
    back = cut
    while back > 0 and cut - back < 64 and _belongs_to_previous(head, back):
        back -= 1
    # A cluster longer than that (or the whole text) is cut where the limit is.
    return back if back > 0 and not _belongs_to_previous(head, back) else cut


def _belongs_to_previous(text: str, index: int) -> bool:
    char = text[index]
    return (
        unicodedata.category(char).startswith("M")
        or char in _JOINERS
        or text[index - 1] == "\u200d"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tone modifiers
    )


def display_text(body: str) -> str:
    """``body`` made ready for :class:`QTextLayout`, with every character at its index
    (so link and match offsets still apply): line breaks become the line separator
    QTextLayout breaks at, and the CR of a CRLF an invisible zero-width space."""
    return body.replace("\r\n", "\u200b\n").replace("\r", "\n").replace("\n", "\u2028")


def _right_to_left(text: str) -> bool:
    """Whether the first strong character of ``text`` is right-to-left (the paragraph
    direction of the Unicode bidirectional algorithm, rules P2 and P3)."""
    if text.isascii():
        return False
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return False
        if kind in ("R", "AL"):
            return True
    return False


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


def show_all_label(total: int) -> str:
    """The affordance under a cut message."""
    return f"Show all ({QLocale().toString(total)} characters)"


# -- colours ------------------------------------------------------------------------------------


def _blend(base: QColor, over: QColor, share: float) -> QColor:
    return QColor.fromRgbF(
        base.redF() + (over.redF() - base.redF()) * share,
        base.greenF() + (over.greenF() - base.greenF()) * share,
        base.blueF() + (over.blueF() - base.blueF()) * share,
    )


def relative_luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque sRGB colour (0 black, 1 white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.redF())
        + 0.7152 * linear(color.greenF())
        + 0.0722 * linear(color.blueF())
    )


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    a, b = relative_luminance(first), relative_luminance(second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def readable(color: QColor, background: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``color``, or the least change of it towards white (on a dark background) or black
    (on a light one) that reaches ``minimum`` contrast to ``background``. One of white and
    black always reaches 4.5."""
    color = QColor(color.red(), color.green(), color.blue())  # what is painted: opaque
    if contrast_ratio(color, background) >= minimum:
        return color
    white, black = QColor(255, 255, 255), QColor(0, 0, 0)
    target = (
        white if contrast_ratio(white, background) >= contrast_ratio(black, background) else black
    )
    for step in range(1, 33):
        candidate = _blend(color, target, step / 32)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return target


def separator_text_color(palette: QPalette) -> QColor:
    """The words of a date separator: muted, readable on its pill."""
    return readable(palette.color(QPalette.ColorRole.PlaceholderText), palette.color(PILL_ROLE))


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def mention_color(palette: QPalette, fill: QColor) -> QColor:
    """The outline of a bubble that mentions the user: the highlight colour, kept
    visible against the bubble (3:1, WCAG 2 non-text contrast)."""
    return readable(palette.color(QPalette.ColorRole.Highlight), fill, 3.0)


def error_color(palette: QPalette) -> QColor:
    return QColor("#ef9a9a") if _is_dark(palette) else QColor("#c62828")


#: The palette's colours a bubble is painted from.
_PALETTE_ROLES = (
    QPalette.ColorRole.Base,
    QPalette.ColorRole.Text,
    QPalette.ColorRole.Highlight,
    QPalette.ColorRole.Link,
    QPalette.ColorRole.PlaceholderText,
)

#: Search matches: a marker-pen yellow with black text reads on light and dark themes.
MATCH_BACKGROUND = QColor(255, 210, 0)
CURRENT_MATCH_BACKGROUND = QColor(255, 150, 0)
MATCH_TEXT = QColor(0, 0, 0)


@dataclass(frozen=True, slots=True)
class BubbleColors:
    """Every colour a message bubble is painted with; each text colour reaches
    :data:`MIN_CONTRAST` against ``fill`` (a search match's black on yellow does too)."""

    fill: QColor
    text: QColor
    muted: QColor  # time and state
    link: QColor  # links and "Show all"
    error: QColor  # a failed message's state and reason


def bubble_colors(palette: QPalette, outgoing: bool) -> BubbleColors:
    """The colours of an incoming or outgoing bubble in ``palette`` (its current group)."""
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    fill = (
        _blend(base, palette.color(QPalette.ColorRole.Highlight), 0.22)
        if outgoing
        else _blend(base, text, 0.07)
    )
    return BubbleColors(
        fill=fill,
        text=readable(text, fill),
        muted=readable(palette.color(QPalette.ColorRole.PlaceholderText), fill),
        link=readable(palette.color(QPalette.ColorRole.Link), fill),
        error=readable(error_color(palette), fill),
    )


# -- the delegate -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    """What the delegate reads of one row."""

    uid: str
    direction: Direction
    body: str
    state: MessageState | None
    error: str
    timestamp: float
    decor: Decor = PLAIN


def _row(index: _Index) -> _Row:
    message = index.data(Role.MESSAGE)
    decor = index.data(Role.DECOR)
    if not isinstance(decor, Decor):
        decor = PLAIN
    if isinstance(message, Message):  # one call, and the body is not copied through Qt
        return _Row(
            message.uid,
            message.direction,
            message.body,
            message.state,
            message.error,
            message.timestamp,
            decor,
        )
    return _Row(
        str(index.data(Role.UID) or ""),
        Direction(int(index.data(Role.DIRECTION) or 0)),
        str(index.data(Role.BODY) or ""),
        index.data(Role.STATE),
        str(index.data(Role.ERROR) or ""),
        float(index.data(Role.TIMESTAMP) or 0.0),
        decor,
    )


_SizeKey = tuple[str, Direction, int, str, MessageState | None, tuple[object, ...]]


def _size_key(row: _Row, width: int) -> _SizeKey:
    # An edit, a removal, new reactions or the "New messages" line change the decor's
    # key: only that row is measured again.
    # The state shows on our own messages only: someone else's being read is no new size.
    state = row.state if row.direction is Direction.OUTGOING else None
    return (row.uid, row.direction, width, row.error, state, row.decor.key)


def _cost(row: _Row) -> int:
    return ROW_COST + min(len(row.body), ELIDE_CHARS)


@dataclass(frozen=True, slots=True)
class ChipBox:
    """A reaction chip as drawn: where (relative to the row), its text, and the reaction
    (None for the "+N" chip that stands for ``hidden`` more)."""

    rect: QRectF
    text: str
    chip: Chip | None
    hidden: tuple[Chip, ...] = ()

    @property
    def more(self) -> bool:
        return self.chip is None


@dataclass(slots=True)
class _Body:
    """The laid-out text of a row, cached: its layout, size, links and index mapping."""

    layout: QTextLayout
    height: float
    width: float
    links: list[Link]
    utf16: Utf16
    shown: Shown
    rtl: bool


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
    body_rect: QRectF
    links: list[Link]
    utf16: Utf16
    colors: BubbleColors
    fonts: _Fonts
    more: QRectF | None = None  # "Show all (N characters)"
    more_text: str = ""
    footer: QTextLayout | None = None
    footer_origin: QPointF = field(default_factory=QPointF)
    height: int = 0
    body_muted: bool = False  # "This message was removed": muted and italic
    edited: QRectF | None = None  # the "edited" mark
    quote: QRectF | None = None
    quote_author: str = ""
    quote_text: str = ""
    quote_found: bool = True
    quote_plain: bool = True  # the quoted text (not "Message not found" / "removed")
    chips: list[ChipBox] = field(default_factory=list)
    marker_y: float | None = None  # the middle of the "New messages" line
    day: str = ""  # the date separator above the bubble ("": none)


@dataclass(frozen=True, slots=True)
class _Fonts:
    """The fonts of a bubble made from the view's font, and their metrics (cached: a
    QFontMetrics costs more than laying out a short message)."""

    key: str
    base: QFont
    bold: QFont
    small: QFont
    underlined: QFont
    metrics: QFontMetrics
    bold_metrics: QFontMetrics
    small_metrics: QFontMetrics
    header_height: int
    italic: QFont
    small_bold: QFont
    small_italic: QFont
    small_bold_metrics: QFontMetrics
    small_italic_metrics: QFontMetrics

    @classmethod
    def of(cls, font: QFont) -> _Fonts:
        bold, underlined, italic = QFont(font), QFont(font), QFont(font)
        bold.setBold(True)
        underlined.setUnderline(True)
        italic.setItalic(True)
        small = _small_font(font)
        small_bold, small_italic = QFont(small), QFont(small)
        small_bold.setBold(True)
        small_italic.setItalic(True)
        bold_metrics, small_metrics = QFontMetrics(bold), QFontMetrics(small)
        return cls(
            key=font.key(),
            base=QFont(font),
            bold=bold,
            small=small,
            underlined=underlined,
            metrics=QFontMetrics(font),
            bold_metrics=bold_metrics,
            small_metrics=small_metrics,
            header_height=max(bold_metrics.height(), small_metrics.height()),
            italic=italic,
            small_bold=small_bold,
            small_italic=small_italic,
            small_bold_metrics=QFontMetrics(small_bold),
            small_italic_metrics=QFontMetrics(small_italic),
        )


def set_density(density: str) -> bool:
    """Rows as ``"comfortable"`` or ``"compact"`` (less space around and in each bubble).
    True when it changed: views showing messages must then forget their cached sizes (a
    ``StyleChange`` event does that)."""
    global _MARGIN_Y, _PAD_Y
    wanted = _DENSITIES.get(density, _DENSITIES["comfortable"])
    if wanted == (_MARGIN_Y, _PAD_Y):
        return False
    _MARGIN_Y, _PAD_Y = wanted
    return True


def density() -> str:
    """The density rows are laid out with now."""
    return next(k for k, v in _DENSITIES.items() if v == (_MARGIN_Y, _PAD_Y))


class MessageDelegate(QStyledItemDelegate):
    """Paints :class:`~chinwag.ui.history_model.HistoryModel` rows as message bubbles.

    Public helpers beyond the delegate API: :meth:`text_of` (the exact text painted for a
    row), :meth:`shown` (what of the message a row shows), :meth:`link_at` (the link under
    a point of a row), :meth:`show_all_at` (whether a point is on "Show all"),
    :meth:`colors` and :meth:`clear_cache`. :attr:`chars_laid_out` counts the characters
    handed to :class:`QTextLayout` for message texts, so tests and benchmarks can see the
    work done."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sizes: OrderedDict[_SizeKey, QSize] = OrderedDict()
        #: Sizes handed out as estimates and not measured yet.
        self._estimates: dict[_SizeKey, QSize] = {}
        #: Rows waiting to be measured (newest last), with the option they were asked with.
        self._pending: OrderedDict[
            tuple[Direction, str], tuple[QPersistentModelIndex, QStyleOptionViewItem]
        ] = OrderedDict()
        self._bodies: OrderedDict[tuple[object, ...], _Body] = OrderedDict()
        self._geometries: OrderedDict[tuple[object, ...], _Geometry] = OrderedDict()
        self._fonts: dict[str, _Fonts] = {}
        self._colors: dict[tuple[int, ...], BubbleColors] = {}
        self._announce: list[QPersistentModelIndex] = []
        self._budget = MEASURE_BUDGET
        self.chars_laid_out = 0
        self._refill = _zero_timer(self, self._refill_budget)
        self._measurer = _zero_timer(self, self._measure_pending)
        self._announcer = _zero_timer(self, self._announce_sizes)

    # -- what is painted ----------------------------------------------------------------

    @staticmethod
    def text_of(index: _Index) -> str:
        """The text painted for the message at ``index``, character for character (a
        long message: its first part and an ellipsis)."""
        return shown_text(_row(index).body).text

    @staticmethod
    def shown(index: _Index) -> Shown:
        """What the row of ``index`` shows of its message."""
        return shown_text(_row(index).body)

    def body_layout(self, option: QStyleOptionViewItem, index: _Index) -> QTextLayout:
        """The laid-out text of the row painted in ``option.rect``: its characters, lines
        and formats (links, search matches) exactly as painted."""
        return self._geometry(option, index, option.rect.width()).body

    def body_origin(self, option: QStyleOptionViewItem, index: _Index) -> QPointF:
        """Where :meth:`body_layout` is drawn, relative to ``option.rect``'s top left."""
        return self._geometry(option, index, option.rect.width()).body_origin

    def bubble_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRectF:
        """The bubble of the row, relative to ``option.rect``'s top left."""
        return QRectF(self._geometry(option, index, option.rect.width()).bubble)

    def show_all_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRectF | None:
        """Where "Show all" is, relative to ``option.rect``'s top left (None: the whole
        message is shown)."""
        return self._geometry(option, index, option.rect.width()).more

    def quote_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRectF | None:
        """Where the quote of a reply is, relative to ``option.rect``'s top left (None:
        the row is not a reply)."""
        return self._geometry(option, index, option.rect.width()).quote

    def quote_texts(self, option: QStyleOptionViewItem, index: _Index) -> tuple[str, str]:
        """The quote's two lines as drawn before eliding: its author and its text (or
        "Message not found" / "Message removed")."""
        geometry = self._geometry(option, index, option.rect.width())
        return geometry.quote_author, geometry.quote_text

    def chips(self, option: QStyleOptionViewItem, index: _Index) -> list[ChipBox]:
        """The reaction chips drawn for the row (the last may be "+N"), relative to
        ``option.rect``'s top left."""
        return list(self._geometry(option, index, option.rect.width()).chips)

    def edited_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRectF | None:
        """Where the "edited" mark is (None: not edited), relative to the row."""
        return self._geometry(option, index, option.rect.width()).edited

    def body_is_placeholder(self, option: QStyleOptionViewItem, index: _Index) -> bool:
        """True when the row shows "This message was removed" instead of a text."""
        return self._geometry(option, index, option.rect.width()).body_muted

    def marker_shown(self, option: QStyleOptionViewItem, index: _Index) -> bool:
        """True when "New messages" is drawn above the row."""
        return self._geometry(option, index, option.rect.width()).marker_y is not None

    def quote_at(self, option: QStyleOptionViewItem, index: _Index, pos: QPoint) -> bool:
        """Whether ``pos`` (viewport coordinates) is on the quote of the row."""
        if not index.isValid() or not option.rect.contains(pos):
            return False
        quote = self._geometry(option, index, option.rect.width()).quote
        return quote is not None and quote.contains(QPointF(pos - option.rect.topLeft()))

    def chip_at(self, option: QStyleOptionViewItem, index: _Index, pos: QPoint) -> ChipBox | None:
        """The reaction chip under ``pos`` (viewport coordinates), if any."""
        if not index.isValid() or not option.rect.contains(pos):
            return None
        local = QPointF(pos - option.rect.topLeft())
        for box in self._geometry(option, index, option.rect.width()).chips:
            if box.rect.contains(local):
                return box
        return None

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: _Index,
    ) -> bool:
        """Tool tips for the parts of a row: who chose a reaction, the hidden reactions
        of "+N", when it was edited, where a quote leads; else the row's own."""
        if event is None or event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        tip = self._part_tip(option, index, event.pos())
        if tip is None:
            return super().helpEvent(event, view, option, index)
        QToolTip.showText(event.globalPos(), tip, view)
        return True

    def _part_tip(self, option: QStyleOptionViewItem, index: _Index, pos: QPoint) -> str | None:
        geometry = self._geometry(option, index, option.rect.width())
        local = QPointF(pos - option.rect.topLeft())
        model = index.model()

        def name(address: str) -> str:
            return model.name_of(address) if isinstance(model, HistoryModel) else address

        for box in geometry.chips:
            if box.rect.contains(local):
                if box.chip is None:
                    return hidden_reactions_tip(box.hidden)
                return reaction_tip(box.chip, name)
        if geometry.edited is not None and geometry.edited.contains(local):
            edited = _row(index).decor.edited_at
            return f"Edited {long_time(edited)}" if edited else None
        if geometry.quote is not None and geometry.quote.contains(local):
            if geometry.quote_found:
                return "Show the message this replies to"
            return "The message this replies to is not in the history"
        return None

    @staticmethod
    def links_of(index: _Index, limit: int | None = None) -> list[Link]:
        """The links of the message at ``index`` (the first ``limit`` of them), among its
        first :data:`LINK_SCAN_CHARS` characters."""
        body = _row(index).body
        if len(body) <= LINK_SCAN_CHARS:
            return find_links(body, limit)
        head = body[: LINK_SCAN_CHARS + _LINK_LOOKAHEAD]
        return [link for link in find_links(head, limit) if link.end <= LINK_SCAN_CHARS]

    @staticmethod
    def state_label(index: _Index) -> str:
        """What is shown of an own message's state ("" for an incoming message)."""
        if index.data(Role.DIRECTION) is not Direction.OUTGOING:
            return ""
        return _STATE_LABEL.get(index.data(Role.STATE), "")

    def colors(self, palette: QPalette, outgoing: bool) -> BubbleColors:
        """The colours a bubble is painted with in ``palette`` (cached per palette)."""
        return self._colors_keyed(palette, outgoing)[1]

    def _colors_keyed(
        self, palette: QPalette, outgoing: bool
    ) -> tuple[tuple[int, ...], BubbleColors]:
        key = (int(outgoing), *(palette.color(role).rgba() for role in _PALETTE_ROLES))
        colors = self._colors.get(key)
        if colors is None:
            if len(self._colors) > 32:
                self._colors.clear()
            colors = self._colors[key] = bubble_colors(palette, outgoing)
        return key, colors

    # -- sizes ----------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        width = _available_width(option)
        row = _row(index)
        key = _size_key(row, width)
        size = self._sizes.get(key)
        if size is not None:
            self._sizes.move_to_end(key)
            return size
        if self._spend(_cost(row)):
            self._estimates.pop(key, None)  # the caller takes this size instead
            return self._remember(key, self._geometry(option, index, width, row).height, width)
        # Over this turn's budget: an estimate now, the real size in a later turn.
        estimate = self._estimates.get(key)
        if estimate is None:
            estimate = self._estimates[key] = self._estimate(option, row, width)
        pending = (row.direction, row.uid)
        self._pending[pending] = (QPersistentModelIndex(index), QStyleOptionViewItem(option))
        self._pending.move_to_end(pending)
        if not self._measurer.isActive():
            self._measurer.start()
        return estimate

    @property
    def measuring(self) -> bool:
        """True while rows given an estimate wait to be measured."""
        return bool(self._pending) or bool(self._announce)

    def clear_cache(self) -> None:
        """Forget cached sizes and layouts (after a font or style change)."""
        self._sizes.clear()
        self._estimates.clear()
        self._bodies.clear()
        self._geometries.clear()
        self._fonts.clear()
        self._colors.clear()

    def _fonts_of(self, font: QFont) -> _Fonts:
        key = font.key()
        fonts = self._fonts.get(key)
        if fonts is None:
            if len(self._fonts) > 8:
                self._fonts.clear()
            fonts = self._fonts[key] = _Fonts.of(font)
        return fonts

    def _remember(self, key: _SizeKey, height: int, width: int) -> QSize:
        size = self._sizes[key] = QSize(width, height)
        if len(self._sizes) > _SIZE_CACHE_LIMIT:  # bounded: widths change on every resize
            self._sizes.popitem(last=False)
        return size

    def _spend(self, cost: int) -> bool:
        """Take ``cost`` from this turn's measuring budget; False once it is used up (the
        first row of a turn is always measured, whatever it costs)."""
        if self._budget <= 0:
            return False
        self._budget -= cost
        if not self._refill.isActive():
            self._refill.start()
        return True

    def _refill_budget(self) -> None:
        self._budget = MEASURE_BUDGET

    def _measure_pending(self) -> None:
        """Measure rows that were given an estimate, newest first (the bottom of a
        conversation is what is on screen), up to a budget; the view hears of each row
        whose size was not the estimate."""
        budget = MEASURE_BUDGET
        changed: list[QModelIndex] = []
        while self._pending and budget > 0:
            _, (persistent, option) = self._pending.popitem(last=True)
            model = persistent.model()
            if not persistent.isValid() or model is None:
                continue
            try:
                width = _available_width(option)
            except RuntimeError:  # the view is gone
                self._pending.clear()
                break
            index = model.index(persistent.row(), persistent.column(), persistent.parent())
            row = _row(index)
            key = _size_key(row, width)
            size = self._sizes.get(key)
            if size is None:
                budget -= _cost(row)
                size = self._remember(key, self._geometry(option, index, width, row).height, width)
            estimate = self._estimates.pop(key, None)
            if estimate is not None and estimate != size:
                changed.append(index)
        if self._pending:
            self._measurer.start()
        else:
            self._estimates.clear()  # any left were for widths the view no longer has
        for index in changed:
            self.sizeHintChanged.emit(index)

    def _announce_sizes(self) -> None:
        announce, self._announce = self._announce, []
        for persistent in announce:
            model = persistent.model()
            if persistent.isValid() and model is not None:
                self.sizeHintChanged.emit(
                    model.index(persistent.row(), persistent.column(), persistent.parent())
                )

    def _estimate(self, option: QStyleOptionViewItem, row: _Row, width: int) -> QSize:
        """A row's size without laying its text out: average characters per line."""
        shown = shown_text(row.body)
        fonts = self._fonts_of(option.font)
        metrics = fonts.metrics
        per_line = max(1, int(_text_width(width) / max(1, metrics.averageCharWidth())))
        lines = sum(max(1, -(-len(part) // per_line)) for part in shown.text.split("\u2028"))
        body_height = max(lines * metrics.lineSpacing(), metrics.height())
        failed = row.direction is Direction.OUTGOING and row.state is MessageState.FAILED
        footer = fonts.small_metrics.height() if failed else 0
        more = metrics.height() if shown.elided else 0
        decor = row.decor
        extra = 0.0
        if decor.quote is not None:
            extra += 2 * fonts.small_metrics.height() + 2 * _QUOTE_PAD + _LINE_GAP
        if decor.reactions is not None:
            extra += _LINE_GAP + metrics.height() + 2 * _CHIP_PAD_Y
        if decor.new_marker:
            extra += fonts.small_bold_metrics.height() + 2 * _MARKER_PAD
        if decor.day_break:
            extra += separator_height(fonts.small_bold_metrics)
        return QSize(width, _row_height(fonts, body_height, more, footer, extra))

    # -- links and "show all" ------------------------------------------------------------

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
            text_rect = line.naturalTextRect()
            if not (text_rect.left() <= local.x() <= text_rect.right()):
                return None
            unit = line.xToCursor(local.x(), QTextLine.CursorPosition.CursorOnCharacter)
            position = geometry.utf16.from_utf16(unit)
            for link in geometry.links:
                if link.start <= position < link.end:
                    return QUrl(link.url)
            return None
        return None

    def show_all_at(self, option: QStyleOptionViewItem, index: _Index, pos: QPoint) -> bool:
        """Whether ``pos`` (viewport coordinates) is on the "Show all" of the row painted
        in ``option.rect``."""
        if not index.isValid() or not option.rect.contains(pos):
            return False
        if not shown_text(_row(index).body).elided:
            return False
        more = self._geometry(option, index, option.rect.width()).more
        return more is not None and more.contains(QPointF(pos - option.rect.topLeft()))

    # -- painting -------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        width = option.rect.width()
        row = _row(index)
        geometry = self._geometry(option, index, width, row)
        key = _size_key(row, width)
        estimate = self._estimates.pop(key, None)
        if key not in self._sizes:
            # Laid out for painting anyway: the real size is known now.
            size = self._remember(key, geometry.height, width)
            if estimate is not None and estimate != size:
                self._announce.append(QPersistentModelIndex(index))
                self._announcer.start()

        palette = option.palette
        colors = geometry.colors
        painter.save()
        painter.setClipRect(option.rect)  # nothing of a message is drawn outside its row
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(QPointF(option.rect.topLeft()))

        if geometry.day:
            paint_separator(
                painter,
                palette,
                separator_text_color(palette),
                float(width),
                _MARGIN_Y,
                geometry.day,
                geometry.fonts.small_bold,
                geometry.fonts.small_bold_metrics,
            )
        if geometry.marker_y is not None:
            self._paint_marker(painter, option, geometry)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        current_match = bool(index.data(Role.CURRENT_MATCH))
        if current_match:
            pen = QPen(CURRENT_MATCH_BACKGROUND, 2.0)
        elif selected:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2.0)
        elif index.data(Role.MENTION):  # a room message naming us: outlined
            pen = QPen(mention_color(palette, colors.fill), 2.0)
        else:
            pen = QPen(Qt.PenStyle.NoPen)
        painter.setPen(pen)
        painter.setBrush(QBrush(colors.fill))
        painter.drawRoundedRect(geometry.bubble, _RADIUS, _RADIUS)

        # Header: sender (bold) and time on the left, the state of own messages right.
        fonts = geometry.fonts
        small, bold = fonts.small, fonts.bold
        inner = geometry.bubble.adjusted(_PAD_X, 0, -_PAD_X, 0)
        bold_metrics, small_metrics = fonts.bold_metrics, fonts.small_metrics
        state_width = small_metrics.horizontalAdvance(geometry.state) if geometry.state else 0
        time_width = small_metrics.horizontalAdvance(geometry.time)
        edited_width = small_metrics.horizontalAdvance(EDITED_LABEL) + 6 if geometry.edited else 0
        room = _sender_room(inner.width(), time_width, edited_width, state_width)
        sender = geometry.sender
        # Elide only when it really does not fit: elidedText() measures with fractional
        # advances and would shorten a name that was measured to fit exactly.
        if bold_metrics.horizontalAdvance(sender) > room:
            sender = bold_metrics.elidedText(sender, Qt.TextElideMode.ElideRight, room)
        baseline = geometry.header_y + bold_metrics.ascent()
        painter.setFont(bold)
        nick = index.data(Role.SENDER_COLOR)  # a room's: the nick's own colour
        painter.setPen(readable(nick, colors.fill) if isinstance(nick, QColor) else colors.text)
        painter.drawText(QPointF(inner.left(), baseline), sender)
        painter.setFont(small)
        painter.setPen(colors.muted)
        time_left = inner.left() + bold_metrics.horizontalAdvance(sender) + 8
        painter.drawText(QPointF(time_left, baseline), geometry.time)
        if geometry.edited is not None:
            painter.drawText(QPointF(time_left + time_width + 6, baseline), EDITED_LABEL)
        if geometry.state:
            failed = row.state is MessageState.FAILED
            painter.setPen(colors.error if failed else colors.muted)
            painter.drawText(QPointF(inner.right() - state_width, baseline), geometry.state)

        if geometry.quote is not None:
            self._paint_quote(painter, geometry)
        # Body: plain text, links and search matches drawn through its formats; kept to
        # its own box (a tower of combining marks must not cover the header).
        painter.save()
        painter.setClipRect(geometry.body_rect, Qt.ClipOperation.IntersectClip)
        painter.setPen(colors.muted if geometry.body_muted else colors.text)
        geometry.body.draw(painter, geometry.body_origin)
        painter.restore()
        if geometry.more is not None:
            painter.setFont(fonts.underlined)
            painter.setPen(colors.link)
            painter.drawText(
                QPointF(geometry.more.left(), geometry.more.top() + fonts.metrics.ascent()),
                geometry.more_text,
            )
        if geometry.footer is not None:
            painter.setPen(colors.error)
            geometry.footer.draw(painter, geometry.footer_origin)
        if geometry.chips:
            self._paint_chips(painter, option.palette, geometry)
        painter.restore()

    @staticmethod
    def _paint_marker(painter: QPainter, option: QStyleOptionViewItem, geometry: _Geometry) -> None:
        """The "New messages" line across the row, its words in the middle."""
        assert geometry.marker_y is not None
        palette = option.palette
        color = readable(
            palette.color(QPalette.ColorRole.Highlight), palette.color(QPalette.ColorRole.Base)
        )
        fonts = geometry.fonts
        width = float(option.rect.width())
        text_width = fonts.small_bold_metrics.horizontalAdvance(NEW_MESSAGES_TEXT)
        left = (width - text_width) / 2
        y = geometry.marker_y
        painter.setPen(QPen(color, 1.0))
        painter.drawLine(QPointF(_MARGIN_X, y), QPointF(max(_MARGIN_X, left - 8), y))
        painter.drawLine(
            QPointF(min(width - _MARGIN_X, left + text_width + 8), y), QPointF(width - _MARGIN_X, y)
        )
        painter.setFont(fonts.small_bold)
        metrics = fonts.small_bold_metrics
        painter.drawText(
            QPointF(left, y - metrics.height() / 2 + metrics.ascent()), NEW_MESSAGES_TEXT
        )

    @staticmethod
    def _paint_quote(painter: QPainter, geometry: _Geometry) -> None:
        """The quote of a reply: a bar, the author, the start of the text."""
        assert geometry.quote is not None
        colors, fonts = geometry.colors, geometry.fonts
        rect = geometry.quote
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(_blend(colors.fill, colors.text, 0.08)))
        painter.drawRoundedRect(rect, 4.0, 4.0)
        painter.setBrush(QBrush(colors.link))
        painter.drawRect(QRectF(rect.left(), rect.top(), _QUOTE_BAR, rect.height()))
        left = rect.left() + _QUOTE_BAR + _QUOTE_PAD
        room = max(0, int(rect.right() - _QUOTE_PAD - left))
        line = fonts.small_metrics.height()
        painter.setFont(fonts.small_bold)
        painter.setPen(colors.link)
        author = fonts.small_bold_metrics.elidedText(
            geometry.quote_author, Qt.TextElideMode.ElideRight, room
        )
        top = rect.top() + _QUOTE_PAD
        painter.drawText(QPointF(left, top + fonts.small_bold_metrics.ascent()), author)
        plain = geometry.quote_plain
        painter.setFont(fonts.small if plain else fonts.small_italic)
        painter.setPen(colors.text if plain else colors.muted)
        metrics = fonts.small_metrics if plain else fonts.small_italic_metrics
        text = metrics.elidedText(geometry.quote_text, Qt.TextElideMode.ElideRight, room)
        painter.drawText(QPointF(left, top + line + metrics.ascent()), text)

    @staticmethod
    def _paint_chips(painter: QPainter, palette: QPalette, geometry: _Geometry) -> None:
        """The reactions: a rounded chip each ("👍 3"), the user's own highlighted."""
        colors, fonts = geometry.colors, geometry.fonts
        highlight = palette.color(QPalette.ColorRole.Highlight)
        painter.setFont(fonts.base)
        for box in geometry.chips:
            mine = box.chip is not None and box.chip.mine
            fill = (
                _blend(colors.fill, highlight, 0.35)
                if mine
                else _blend(colors.fill, colors.text, 0.08)
            )
            painter.setPen(QPen(highlight if mine else colors.muted, 1.0 if not mine else 1.5))
            painter.setBrush(QBrush(fill))
            painter.drawRoundedRect(box.rect, box.rect.height() / 2, box.rect.height() / 2)
            painter.setPen(readable(colors.text, fill))
            inner = box.rect.adjusted(_CHIP_PAD_X, 0, -_CHIP_PAD_X, 0)
            text = fonts.metrics.elidedText(
                box.text, Qt.TextElideMode.ElideRight, max(0, int(inner.width()) + 1)
            )
            painter.drawText(inner, int(Qt.AlignmentFlag.AlignCenter), text)

    @staticmethod
    def _formats(
        link_color: QColor,
        links: list[Link],
        matches: MatchRanges | None,
        current: bool,
        utf16: Utf16,
        shown: int,
    ) -> list[QTextLayout.FormatRange]:
        """Format ranges for the links and matches within the first ``shown`` characters,
        in the UTF-16 units :class:`QTextLayout` counts in."""
        formats = []
        for link in links:
            fmt = QTextCharFormat()
            fmt.setForeground(link_color)
            fmt.setFontUnderline(True)
            formats.append(_format_range(*utf16.span(link.start, link.end), fmt))
        for start, length in matches or ():
            end = min(start + length, shown)
            if length <= 0 or start >= end:
                continue
            fmt = QTextCharFormat()
            fmt.setBackground(CURRENT_MATCH_BACKGROUND if current else MATCH_BACKGROUND)
            fmt.setForeground(MATCH_TEXT)
            formats.append(_format_range(*utf16.span(start, end), fmt))
        return formats

    # -- geometry -------------------------------------------------------------------------

    def _body(
        self,
        row: _Row,
        font: QFont,
        width: float,
        colors: BubbleColors,
        matches: MatchRanges,
        current: bool,
    ) -> _Body:
        """The laid-out text of ``row`` at text ``width`` (cached)."""
        key = (
            row.direction,
            row.uid,
            row.decor.edited_at,
            width,
            font.key(),
            colors.link.rgba(),
            matches,
            current,
        )
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
            return body
        shown = shown_text(row.body)
        links = [
            link
            for link in find_links(row.body[: shown.length + _LINK_LOOKAHEAD])
            if link.end <= shown.length
        ]
        utf16 = Utf16(shown.text)
        # Formats go in before the layout is made: setting them later discards the lines.
        formats = self._formats(colors.link, links, matches, current, utf16, shown.length)
        rtl = _right_to_left(shown.text)
        layout, height, widest = _lay_out(shown.text, font, width, formats, rtl)
        self.chars_laid_out += len(shown.text)
        body = self._bodies[key] = _Body(layout, height, widest, links, utf16, shown, rtl)
        if len(self._bodies) > _LAYOUT_CACHE_LIMIT:
            self._bodies.popitem(last=False)
        return body

    def _geometry(
        self, option: QStyleOptionViewItem, index: _Index, width: int, row: _Row | None = None
    ) -> _Geometry:
        """Where everything of the row goes at ``width`` (cached)."""
        row = row or _row(index)
        outgoing = row.direction is Direction.OUTGOING
        fonts = self._fonts_of(option.font)
        sender = str(index.data(Role.SENDER) or "")
        time = time_label(row.timestamp)
        day = day_label(local_day(row.timestamp)) if row.decor.day_break else ""
        colors_key, colors = self._colors_keyed(option.palette, outgoing)
        matches = tuple(tuple(match) for match in index.data(Role.SEARCH_MATCH) or ())
        current = bool(index.data(Role.CURRENT_MATCH))
        key = (*_size_key(row, width), sender, time, day, fonts.key, colors_key, matches, current)
        geometry = self._geometries.get(key)
        if geometry is not None:
            self._geometries.move_to_end(key)
            return geometry
        geometry = self._geometries[key] = self._measure(
            row, fonts, width, sender, time, colors, matches, current
        )
        geometry.day = day
        if len(self._geometries) > _LAYOUT_CACHE_LIMIT:
            self._geometries.popitem(last=False)
        return geometry

    def _measure(
        self,
        row: _Row,
        fonts: _Fonts,
        width: int,
        sender: str,
        time: str,
        colors: BubbleColors,
        matches: MatchRanges,
        current: bool,
    ) -> _Geometry:
        outgoing = row.direction is Direction.OUTGOING
        decor = row.decor
        state = _STATE_LABEL.get(row.state, "") if outgoing and row.state is not None else ""
        max_text = _text_width(width)
        if decor.removed:
            body = self._placeholder(fonts, max_text)
        else:
            body = self._body(row, fonts.base, max_text, colors, matches, current)
        metrics = fonts.metrics
        more_text = show_all_label(body.shown.total) if body.shown.elided else ""
        more_width = metrics.horizontalAdvance(more_text) if more_text else 0
        more_height = metrics.height() if more_text else 0

        footer = None
        footer_height = footer_width = 0.0
        if outgoing and row.state is MessageState.FAILED:
            reason = f"Not sent: {row.error}" if row.error else "Not sent"
            footer, footer_height, footer_width = _lay_out(
                f"{reason} \u2014 right-click to retry", fonts.small, max_text
            )

        bold_metrics, small_metrics = fonts.bold_metrics, fonts.small_metrics
        edited_width = small_metrics.horizontalAdvance(EDITED_LABEL) if decor.edited_at else 0
        header_width = (
            bold_metrics.horizontalAdvance(sender)
            + 8
            + small_metrics.horizontalAdvance(time)
            + (6 + edited_width if edited_width else 0)
            + (12 + small_metrics.horizontalAdvance(state) if state else 0)
        )
        quote_height = quote_width = 0.0
        quote_author = quote_text = ""
        quote = decor.quote
        if quote is not None:
            quote_author = quote.author
            if not quote.found:
                quote_text = quote.text or NOT_FOUND_TEXT  # (the reply's own quote)
            elif quote.removed:
                quote_text = REMOVED_QUOTE_TEXT
            else:
                quote_text = quote.text
            quote_height = 2 * small_metrics.height() + 2 * _QUOTE_PAD
            plain = (quote.found or bool(quote.text)) and not quote.removed
            text_metrics = small_metrics if plain else fonts.small_italic_metrics
            quote_width = min(
                float(max_text),
                _QUOTE_BAR
                + 2 * _QUOTE_PAD
                + 1  # elidedText() measures in fractions: room for the rounding
                + max(
                    fonts.small_bold_metrics.horizontalAdvance(quote_author),
                    text_metrics.horizontalAdvance(quote_text[:QUOTE_MEASURE]),
                ),
            )
        chips: list[ChipBox] = []
        chips_height = chips_width = 0.0
        if decor.reactions is not None:
            chips, chips_height, chips_width = _lay_out_chips(
                decor.reactions, fonts.metrics, float(max_text)
            )
        marker_height = (
            float(fonts.small_bold_metrics.height() + 2 * _MARKER_PAD) if decor.new_marker else 0.0
        )
        # The date separator goes above everything else of the row (and the new-messages
        # line under it): both push the bubble down.
        day_height = separator_height(fonts.small_bold_metrics) if decor.day_break else 0.0
        content_width = min(
            max_text,
            max(
                header_width,
                body.width,
                footer_width,
                float(more_width),
                quote_width,
                chips_width,
            ),
        )
        bubble_width = content_width + 2 * _PAD_X
        extra = (
            (quote_height + _LINE_GAP if quote is not None else 0.0)
            + (_LINE_GAP + chips_height if chips else 0.0)
            + marker_height
            + day_height
        )
        height = _row_height(fonts, body.height, more_height, footer_height, extra)
        bubble_height = height - 2 * _MARGIN_Y - marker_height - day_height
        left = width - _MARGIN_X - bubble_width if outgoing else _MARGIN_X
        bubble = QRectF(left, _MARGIN_Y + day_height + marker_height, bubble_width, bubble_height)
        header_y = bubble.top() + _PAD_Y
        text_left = bubble.left() + _PAD_X
        quote_rect = None
        body_y = header_y + fonts.header_height + _LINE_GAP
        if quote is not None:
            quote_rect = QRectF(text_left, body_y, quote_width, quote_height)
            body_y += quote_height + _LINE_GAP
        # Right-to-left lines stand at the right end of the width they were laid out in:
        # move them into the bubble, which may be narrower.
        shift = (max_text - content_width) if body.rtl else 0.0
        geometry = _Geometry(
            bubble=bubble,
            header_y=header_y,
            sender=sender,
            time=time,
            state=state,
            body=body.layout,
            body_origin=QPointF(text_left - shift, body_y),
            body_rect=QRectF(text_left, body_y, content_width, body.height),
            links=body.links,
            utf16=body.utf16,
            colors=colors,
            fonts=fonts,
            height=height,
            body_muted=decor.removed,
            quote=quote_rect,
            quote_author=quote_author,
            quote_text=quote_text,
            quote_found=quote is None or quote.found,
            quote_plain=quote is None or ((quote.found or bool(quote.text)) and not quote.removed),
        )
        if decor.new_marker:
            geometry.marker_y = _MARGIN_Y + day_height + marker_height / 2
        if edited_width:
            time_width = small_metrics.horizontalAdvance(time)
            state_width = small_metrics.horizontalAdvance(state) if state else 0
            room = _sender_room(content_width, time_width, edited_width + 6, state_width)
            sender_width = min(bold_metrics.horizontalAdvance(sender), room)
            geometry.edited = QRectF(
                text_left + sender_width + 8 + time_width + 6,
                header_y,
                edited_width,
                float(fonts.header_height),
            )
        below = body_y + body.height + _LINE_GAP
        if more_text:
            geometry.more = QRectF(text_left, below, more_width, more_height)
            geometry.more_text = more_text
            below += more_height + _LINE_GAP
        if footer is not None:
            geometry.footer = footer
            geometry.footer_origin = QPointF(text_left, below)
            below += footer_height + _LINE_GAP
        if chips:
            geometry.chips = [
                ChipBox(box.rect.translated(text_left, below), box.text, box.chip, box.hidden)
                for box in chips
            ]
        return geometry

    def _placeholder(self, fonts: _Fonts, width: float) -> _Body:
        """The body of a removed message: "This message was removed", in italics."""
        key = ("removed", width, fonts.key)
        body = self._bodies.get(key)
        if body is None:
            layout, height, widest = _lay_out(REMOVED_TEXT, fonts.italic, width)
            shown = Shown(REMOVED_TEXT, 0, 0)
            body = self._bodies[key] = _Body(
                layout, height, widest, [], Utf16(REMOVED_TEXT), shown, False
            )
            if len(self._bodies) > _LAYOUT_CACHE_LIMIT:
                self._bodies.popitem(last=False)
        return body


def _zero_timer(parent: QObject, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(slot)
    return timer


def _available_width(option: QStyleOptionViewItem) -> int:
    """The row width: the view's viewport (``option.rect`` is not set for size hints)."""
    widget = option.widget
    if isinstance(widget, QAbstractScrollArea):
        return max(1, widget.viewport().width())
    return max(1, option.rect.width()) if option.rect.isValid() else 400


def _text_width(width: int) -> int:
    """How wide the text of a bubble may be in a row ``width`` wide."""
    indent = max(_MIN_INDENT, int(width * _INDENT_SHARE))
    max_bubble = max(80, width - 2 * _MARGIN_X - indent)
    return max_bubble - 2 * _PAD_X


def _sender_room(inner: float, time: int, edited: int, state: int) -> int:
    """How wide the sender's name may be in a header ``inner`` wide: what the time, the
    "edited" mark (with its gap) and the state leave."""
    return max(0, int(inner) - time - 8 - edited - (state + 12 if state else 0))


def _row_height(fonts: _Fonts, body: float, more: float, footer: float, extra: float = 0.0) -> int:
    """A row's height: margins, padding, the header, the body, "Show all", the footer,
    and ``extra`` (a quote, reactions, the "New messages" line, with their gaps)."""
    bubble = (
        2 * _PAD_Y
        + fonts.header_height
        + _LINE_GAP
        + body
        + (_LINE_GAP + more if more else 0)
        + (_LINE_GAP + footer if footer else 0)
        + extra
    )
    return int(bubble + 2 * _MARGIN_Y + 0.999)


def _lay_out_chips(
    reactions: Reactions, metrics: QFontMetrics, width: float
) -> tuple[list[ChipBox], float, float]:
    """The reaction chips in lines of at most ``width``, relative to where they start:
    at most :data:`MAX_CHIP_LINES` lines, the last ending in "+N" when not all fit.
    Looks at no more chips than fit (a thousand reactions cost what a few do)."""
    height = float(metrics.height() + 2 * _CHIP_PAD_Y)
    locale = QLocale()
    boxes: list[ChipBox] = []
    x = y = 0.0
    line = 1
    overflow = None
    for n, chip in enumerate(reactions.chips):
        text = f"{chip.emoji} {locale.toString(chip.count)}"
        chip_width = min(width, float(metrics.horizontalAdvance(text) + 2 * _CHIP_PAD_X))
        if x > 0 and x + chip_width > width:
            if line == MAX_CHIP_LINES:
                overflow = n
                break
            line += 1
            x, y = 0.0, y + height + _CHIP_GAP
        boxes.append(ChipBox(QRectF(x, y, chip_width, height), text, chip))
        x += chip_width + _CHIP_GAP
    if overflow is not None:
        shown = overflow
        while True:
            hidden = len(reactions.chips) - shown
            text = f"+{locale.toString(hidden)}"
            more_width = float(metrics.horizontalAdvance(text) + 2 * _CHIP_PAD_X)
            last = boxes[-1] if boxes else None
            start = last.rect.right() + _CHIP_GAP if last is not None else 0.0
            on_line = last is not None and last.rect.top() == y
            if on_line and start + more_width > width and len(boxes) > 1:
                boxes.pop()
                shown -= 1
                continue
            if not on_line:
                start = 0.0
            boxes.append(
                ChipBox(
                    QRectF(start, y, min(width, more_width), height),
                    text,
                    None,
                    reactions.chips[shown:],
                )
            )
            break
    right = max((box.rect.right() for box in boxes), default=0.0)
    return boxes, y + height, right


def reaction_tip(chip: Chip, name: Callable[[str], str], limit: int = 10) -> str:
    """Who chose a reaction: "👍 Alice, Bob and 3 others"."""
    names = [name(sender) for sender in chip.senders[:limit]]
    rest = chip.count - len(names)
    who = ", ".join(names)
    if rest > 0:
        who += f" and {QLocale().toString(rest)} other{'s' if rest > 1 else ''}"
    return f"{chip.emoji} {who}"


def hidden_reactions_tip(hidden: tuple[Chip, ...], limit: int = 30) -> str:
    """The reactions a "+N" chip stands for."""
    locale = QLocale()
    parts = [f"{c.emoji} {locale.toString(c.count)}" for c in hidden[:limit]]
    rest = len(hidden) - limit
    if rest > 0:
        parts.append(f"\u2026 and {locale.toString(rest)} more")
    return "  ".join(parts)


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
    rtl: bool = False,
) -> tuple[QTextLayout, float, float]:
    """``text`` word-wrapped to ``width``: the layout, its height and its widest line."""
    layout = QTextLayout(text, font)
    if formats:
        layout.setFormats(formats)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    if rtl:  # lines flush right, as right-to-left text is read
        option.setTextDirection(Qt.LayoutDirection.RightToLeft)
        option.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignAbsolute)
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
    "EDITED_LABEL",
    "ELIDE_CHARS",
    "ELIDE_LINES",
    "LINK_SCHEMES",
    "MAX_CHIP_LINES",
    "MEASURE_BUDGET",
    "MIN_CONTRAST",
    "NEW_MESSAGES_TEXT",
    "NOT_FOUND_TEXT",
    "REMOVED_QUOTE_TEXT",
    "REMOVED_TEXT",
    "BubbleColors",
    "ChipBox",
    "Link",
    "MessageDelegate",
    "Shown",
    "Utf16",
    "bubble_colors",
    "contrast_ratio",
    "display_text",
    "error_color",
    "find_links",
    "hidden_reactions_tip",
    "reaction_tip",
    "readable",
    "relative_luminance",
    "show_all_label",
    "shown_text",
    "time_label",
]
