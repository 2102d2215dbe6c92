"""Date separators: the first message of each local day has one painted above it, with
"Today", "Yesterday", the weekday within a week, else the date; days are the user's
local days (the time zone's), and the separator stays exact as pages come and go and
messages arrive out of order."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, QLocale
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from chinwag.core.models import ConversationKey, Message
from chinwag.ui.conversation_window import HistoryView
from chinwag.ui.day_separators import (
    TODAY_TEXT,
    YESTERDAY_TEXT,
    day_label,
    local_day,
    separator_height,
)
from chinwag.ui.history_model import HistoryModel, Role, loaded_messages
from chinwag.ui.message_delegate import MessageDelegate

if TYPE_CHECKING:
    from conftest import UiRig


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local time zone is Auckland's (UTC+13 in January) for the test."""
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """A local time (in the zone in force) as a Unix time."""
    return dt.datetime(year, month, day, hour, minute).timestamp()  # naive: local


def breaks(model: HistoryModel) -> list[bool]:
    return [model.starts_day(row) for row in range(model.rowCount())]


def expected_breaks(everything: list[Message], shown: list[Message]) -> list[bool]:
    """Which shown messages start a local day, judged on the whole history."""
    position = {m.uid: n for n, m in enumerate(everything)}
    result = []
    for message in shown:
        n = position[message.uid]
        result.append(
            n == 0 or local_day(everything[n - 1].timestamp) != local_day(message.timestamp)
        )
    return result


def test_labels() -> None:
    today = dt.date(2024, 5, 15)  # a Wednesday
    assert day_label(today, today) == TODAY_TEXT
    assert day_label(dt.date(2024, 5, 14), today) == YESTERDAY_TEXT
    monday = QLocale().dayName(1, QLocale.FormatType.LongFormat)
    assert day_label(dt.date(2024, 5, 13), today) == monday
    friday = QLocale().dayName(5, QLocale.FormatType.LongFormat)
    assert day_label(dt.date(2024, 5, 10), today) == friday  # 5 days ago
    # a week or more ago: the date, with the year only when it is not this year's
    same_year = day_label(dt.date(2024, 5, 8), today)
    assert same_year == QLocale().toString(QDate(2024, 5, 8), "dddd d MMMM")
    assert "2024" not in same_year
    assert day_label(dt.date(2023, 12, 31), today) == QLocale().toString(
        QDate(2023, 12, 31), QLocale.FormatType.LongFormat
    )
    assert "2023" in day_label(dt.date(2023, 12, 31), today)
    # a stamp from the future (a peer's clock): the date, not "Today"
    assert day_label(dt.date(2024, 5, 16), today) != TODAY_TEXT


def test_absurd_stamps_do_not_raise() -> None:
    assert local_day(1e20) == dt.date(1970, 1, 1)
    assert local_day(float("nan")) == dt.date(1970, 1, 1)


async def test_days_are_local_days(ui: UiRig, key: ConversationKey, zone: None) -> None:
    # 23:30 and 00:10 local are two days in Auckland, though one UTC day (10:30, 11:10).
    stamps = [
        at(2024, 1, 9, 23, 30),
        at(2024, 1, 10, 0, 10),
        at(2024, 1, 10, 12, 0),
        at(2024, 1, 10, 23, 59),
        at(2024, 1, 12, 8, 0),
    ]
    assert dt.datetime.fromtimestamp(stamps[0], dt.UTC).date() == dt.date(2024, 1, 9)
    assert dt.datetime.fromtimestamp(stamps[1], dt.UTC).date() == dt.date(2024, 1, 9)
    await ui.store.add_incoming([ui.message(n, timestamp=stamp) for n, stamp in enumerate(stamps)])
    model = HistoryModel(ui.store, key)
    assert breaks(model) == [True, True, False, False, True]
    assert model.decor(model.message(0)).day_break
    assert not model.decor(model.message(2)).day_break
    assert model.index(1).data(Role.DECOR).day_break


async def test_separators_stay_exact_while_paging(
    ui: UiRig, key: ConversationKey, zone: None
) -> None:
    # 4 messages a day over 30 days, in pages of 6: page edges fall inside days.
    start = at(2024, 3, 1, 7)
    stamps = [start + day * 86_400 + n * 3 * 3600 for day in range(30) for n in range(4)]
    everything = await ui.store.add_incoming(
        [ui.message(n, timestamp=stamp) for n, stamp in enumerate(stamps)]
    )
    model = HistoryModel(ui.store, key, page_size=6, max_rows=12)
    changed: list[int] = []
    model.dataChanged.connect(lambda first, _last, _roles: changed.append(first.row()))
    # The newest page starts in the middle of a day: its first row has no separator.
    assert breaks(model) == expected_breaks(everything, loaded_messages(model))
    assert breaks(model)[0] is False
    while model.fetch_older():  # up to the start, trimming the bottom as it goes
        assert breaks(model) == expected_breaks(everything, loaded_messages(model))
    assert loaded_messages(model)[0].uid == everything[0].uid
    assert breaks(model)[0] is True
    while model.fetch_newer():  # and back down, trimming the top
        assert breaks(model) == expected_breaks(everything, loaded_messages(model))
    # Rows are never told they changed: the day before the first row is read before
    # the view hears of it, so a row is measured once with its separator.
    assert changed == []
    # A jump into the middle
    model.load_around(everything[50])
    assert breaks(model) == expected_breaks(everything, loaded_messages(model))


async def test_a_message_arriving_out_of_order_moves_the_separator(
    ui: UiRig, key: ConversationKey, zone: None
) -> None:
    first, second = at(2024, 2, 1, 9), at(2024, 2, 2, 9)
    await ui.store.add_incoming([ui.message(0, timestamp=first), ui.message(1, timestamp=second)])
    model = HistoryModel(ui.store, key)
    assert breaks(model) == [True, True]
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, roles: changed.append(top.row()))
    # An archive message earlier on the second day: it starts the day now.
    (late,) = await ui.store.add_incoming([ui.message(2, timestamp=at(2024, 2, 2, 6), uid="late")])
    assert model.add(late)
    assert breaks(model) == [True, True, False]
    assert changed == [2]  # the row that lost its separator, and only it
    changed.clear()
    # A new message today: its own separator; nobody else changes.
    (new,) = await ui.store.add_incoming([ui.incoming("hello")])
    assert model.add(new)
    assert breaks(model) == [True, True, False, True]
    assert changed == []
    # The first message of the second day folds away: the next one starts the day.
    assert model.remove(replace(late))
    assert breaks(model) == [True, True, True]
    assert changed == [1]


async def test_the_delegate_draws_the_separator_above_the_bubble(
    ui: UiRig, key: ConversationKey, qtbot: QtBot, zone: None
) -> None:
    stamps = [at(2024, 4, 1, 9), at(2024, 4, 1, 10), at(2024, 4, 2, 9)]
    await ui.store.add_incoming(
        [ui.message(n * 2, timestamp=s, body="same") for n, s in enumerate(stamps)]
    )
    model = HistoryModel(ui.store, key)
    delegate = MessageDelegate()
    view = HistoryView(delegate)
    qtbot.addWidget(view)
    delegate.setParent(view)
    view.setModel(model)
    view.resize(420, 400)
    view.show()
    qtbot.waitExposed(view)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(model.index(0))
    heights = [delegate.sizeHint(option, model.index(row)).height() for row in range(3)]
    metrics = option.fontMetrics  # (the separator's words are in a smaller font)
    extra = heights[0] - heights[1]
    assert extra > 0
    assert heights[2] == heights[0]
    assert extra == pytest.approx(separator_height(metrics), abs=metrics.height())
    # The bubble is below the separator: nothing of it is in the separator's band.
    bubble = delegate.bubble_rect(option, model.index(0))
    assert bubble.top() >= extra
    plain = delegate.bubble_rect(option, model.index(1))
    assert bubble.height() == plain.height()
    image = view.grab().toImage()
    assert not image.isNull()
