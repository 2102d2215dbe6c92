"""Date separators in a history: which local day a message belongs to, what the line above
the first message of each day says, and how it is painted.

The separator is painted by :class:`~chinwag.ui.message_delegate.MessageDelegate` above the
first message of each local day, as part of that message's row (like the "New messages"
line), not as a row of its own: the history model's rows stay one per message, so row
lookups, paging, trimming, selection, keyboard navigation and what a screen reader hears
per row (the day is said before the row's first words) need no second kind of row.

Days are the user's local days (the system time zone, daylight saving included), so a
message sent at 23:30 and one at 00:10 are on two days wherever the user is. The words:
"Today", "Yesterday", the weekday within the last week, else the date in the user's
locale (with its year when it is not this year's)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QLocale, QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen

TODAY_TEXT = "Today"
YESTERDAY_TEXT = "Yesterday"
#: The separator's height beyond its text, and the padding of its pill.
SEPARATOR_PAD = 5
_PILL_PAD_X = 10
#: A timestamp a peer sent that no calendar can hold is shown on this day.
_FALLBACK_DAY = dt.date(1970, 1, 1)


def local_day(timestamp: float) -> dt.date:
    """The local calendar day of a Unix time (a peer's absurd stamp: 1 January 1970)."""
    try:
        return dt.datetime.fromtimestamp(timestamp).date()
    except (OverflowError, OSError, ValueError):
        return _FALLBACK_DAY


def day_label(day: dt.date, today: dt.date | None = None) -> str:
    """What the separator above ``day``'s first message says, seen on ``today``."""
    today = today or dt.date.today()
    ago = (today - day).days
    locale = QLocale()
    qday = QDate(day.year, day.month, day.day)
    if ago == 0:
        return TODAY_TEXT
    if ago == 1:
        return YESTERDAY_TEXT
    if 1 < ago < 7:
        return locale.dayName(qday.dayOfWeek(), QLocale.FormatType.LongFormat)
    if day.year == today.year:
        # The locale's long date without its year: "Monday 3 March", "lundi 3 mars".
        return locale.toString(qday, "dddd d MMMM")
    return locale.toString(qday, QLocale.FormatType.LongFormat)


#: The pill behind a separator's words is of this palette colour.
PILL_ROLE = QPalette.ColorRole.AlternateBase


def line_color(text: QColor) -> QColor:
    """The separator's thin line: its words' colour, faint (decoration, not text)."""
    line = QColor(text)
    line.setAlpha(70)
    return line


def separator_height(metrics: QFontMetrics) -> float:
    """The height a separator adds above its row, in the font of its words."""
    return float(metrics.height() + 2 * SEPARATOR_PAD)


def paint_separator(
    painter: QPainter,
    palette: QPalette,
    text: QColor,
    width: float,
    top: float,
    label: str,
    font: QFont,
    metrics: QFontMetrics,
) -> None:
    """A thin line across the row with ``label`` (in ``text``, a colour readable on the
    pill's :data:`PILL_ROLE` colour) in a pill in its middle, its top at ``top`` (row
    coordinates; the painter is translated to the row)."""
    height = separator_height(metrics)
    middle = top + height / 2
    text_width = metrics.horizontalAdvance(label)
    pill = QRectF(
        (width - text_width) / 2 - _PILL_PAD_X,
        middle - metrics.height() / 2 - 1,
        text_width + 2 * _PILL_PAD_X,
        metrics.height() + 2,
    )
    line = line_color(text)
    painter.save()
    painter.setPen(QPen(line, 1.0))
    painter.drawLine(QPointF(10, middle), QPointF(max(10.0, pill.left() - 6), middle))
    painter.drawLine(
        QPointF(min(width - 10, pill.right() + 6), middle), QPointF(width - 10, middle)
    )
    painter.setBrush(palette.color(PILL_ROLE))
    painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
    painter.setFont(font)
    painter.setPen(text)
    painter.drawText(
        QPointF(pill.left() + _PILL_PAD_X, middle - metrics.height() / 2 + metrics.ascent()), label
    )
    painter.restore()
