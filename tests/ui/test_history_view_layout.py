"""The history view lays out row by row: a new message costs the same work whether the
view holds 10 rows or 10,000, and rows that come or go keep the layout exact.

Work is counted, never timed: the real :class:`MessageDelegate`, with its ``sizeHint``
counted, measures each row the view asks about. ``QListView`` asked it about every row on
each insertion (and the window then about every row again on each state change), so a
conversation's cost per message grew with its history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from chinwag.core.models import ConversationKey, MessageState
from chinwag.ui.conversation_window import HistoryView
from chinwag.ui.history_model import HistoryModel
from chinwag.ui.message_delegate import MessageDelegate

if TYPE_CHECKING:
    from conftest import UiRig

APPENDS = 12


class CountingDelegate(MessageDelegate):
    """The real delegate, counting the rows it is asked to measure."""

    def __init__(self) -> None:
        super().__init__()
        self.size_hints = 0

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        self.size_hints += 1
        return super().sizeHint(option, index)


async def next_turn() -> None:
    """Let the loop run what is already due (Qt's zero timers, such as a delayed layout,
    and posted events), by waiting for a zero timer started after them."""
    for _ in range(2):
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda d=done: d.done() or d.set_result(None))
        await done


@pytest.fixture
def views(qtbot: QtBot) -> Iterator[list[HistoryView]]:
    made: list[HistoryView] = []
    yield made
    for view in made:
        view.close()
        view.deleteLater()


async def shown_view(
    ui: UiRig, views: list[HistoryView], key: ConversationKey, rows: int
) -> tuple[HistoryView, HistoryModel, CountingDelegate]:
    """A history view holding all ``rows`` stored messages, shown, at the bottom."""
    model = HistoryModel(ui.store, key, page_size=max(rows, 2), max_rows=4 * max(rows, 2))
    assert model.rowCount() == rows
    delegate = CountingDelegate()
    view = HistoryView(delegate)
    views.append(view)
    delegate.setParent(view)
    # The scroll bar is always there, so no row count changes the width rows wrap at.
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    view.setModel(model)
    view.resize(480, 360)
    view.show()
    await next_turn()
    view.scrollToBottom()
    await next_turn()
    return view, model, delegate


async def append_and_count(ui: UiRig, view: HistoryView, model: HistoryModel, n: int) -> list[int]:
    """Append ``n`` new messages as the window does (insert, follow the bottom); the
    rows the delegate measured for each, counting whatever the loop ran after it."""
    counts = []
    delegate = view.itemDelegate()
    assert isinstance(delegate, CountingDelegate)
    for i in range(n):
        (message,) = await ui.store.add_incoming([ui.incoming(f"new message {i}")])
        await next_turn()
        before = delegate.size_hints
        assert model.add(message)
        view.scrollToBottom()
        await next_turn()
        counts.append(delegate.size_hints - before)
    return counts


def row_rects_are_exact(view: HistoryView, model: HistoryModel) -> None:
    """Every row starts where the one before it ends, as tall as the delegate says."""
    delegate = view.itemDelegate()
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    bottom = None
    for row in range(model.rowCount()):
        rect = view.visualRect(model.index(row))
        assert rect.height() == delegate.sizeHint(option, model.index(row)).height(), row
        if bottom is not None:
            assert rect.top() == bottom, row
        bottom = rect.top() + rect.height()


@pytest.mark.parametrize("rows", [10, 10_000])
async def test_appending_a_row_measures_only_that_row(
    ui: UiRig, views: list[HistoryView], key: ConversationKey, rows: int
) -> None:
    await ui.fill(rows)
    view, model, _ = await shown_view(ui, views, key, rows)

    counts = await append_and_count(ui, view, model, APPENDS)

    assert counts == [1] * APPENDS  # the new row, nothing else, at 10 rows as at 10,000
    assert model.rowCount() == rows + APPENDS
    last = model.index(model.rowCount() - 1)
    assert view.visualRect(last).bottom() < view.viewport().height()  # followed to the bottom
    scroll_bar = view.verticalScrollBar()
    assert scroll_bar.value() == scroll_bar.maximum()


async def test_a_state_change_measures_only_its_row(
    ui: UiRig, views: list[HistoryView], key: ConversationKey
) -> None:
    stored = await ui.fill(300)
    view, model, delegate = await shown_view(ui, views, key, 300)
    target = stored[-1]
    assert target.outgoing
    row = model.row_of(target)
    assert row is not None
    height = view.visualRect(model.index(row)).height()

    before = delegate.size_hints
    failed = replace(target, state=MessageState.FAILED, error="recipient-unavailable")
    assert model.update(failed)
    await next_turn()

    assert delegate.size_hints - before == 1
    assert view.visualRect(model.index(row)).height() > height  # the reason line
    row_rects_are_exact(view, model)


async def test_rows_trimmed_above_keep_what_is_shown_in_place(
    ui: UiRig, views: list[HistoryView], key: ConversationKey
) -> None:
    await ui.fill(200)
    view, model, delegate = await shown_view(ui, views, key, 200)
    shown = model.index(model.rowCount() - 1)
    anchor, top = QPersistentModelIndex(shown), view.visualRect(shown).top()

    before = delegate.size_hints
    assert model.trim_oldest(150) == 50
    await next_turn()

    assert delegate.size_hints == before  # removing rows measures nothing
    assert view.visualRect(model.index(anchor.row())).top() == top
    row_rects_are_exact(view, model)
    scroll_bar = view.verticalScrollBar()
    assert scroll_bar.value() == scroll_bar.maximum()


async def test_rows_inserted_anywhere_keep_the_layout_exact(
    ui: UiRig, views: list[HistoryView], key: ConversationKey
) -> None:
    stored = await ui.fill(60)
    view, model, delegate = await shown_view(ui, views, key, 60)
    # An archive message between two loaded ones, a long one at the end, then a page of
    # older rows at the top (paging up), then rows dropped at the bottom.
    late = replace(ui.message(0), timestamp=stored[30].timestamp + 1, uid="late", body="x " * 400)
    (late,) = await ui.store.add_incoming([late])
    before = delegate.size_hints
    assert model.add(late)
    assert delegate.size_hints - before == 1
    row_rects_are_exact(view, model)

    (long,) = await ui.store.add_incoming([ui.incoming("word " * 300)])
    assert model.add(long)
    row_rects_are_exact(view, model)

    assert model.trim_newest(40) == 22
    row_rects_are_exact(view, model)
    assert model.trim_oldest(20) == 20
    row_rects_are_exact(view, model)
    assert model.fetch_older() > 0
    row_rects_are_exact(view, model)
    view.resize(300, 360)  # a new width measures every row again
    await next_turn()
    row_rects_are_exact(view, model)


async def test_clicks_and_keys_find_the_rows_laid_out_here(
    ui: UiRig, views: list[HistoryView], key: ConversationKey, qtbot: QtBot
) -> None:
    await ui.fill(40)
    view, model, _ = await shown_view(ui, views, key, 40)
    last = model.index(model.rowCount() - 1)
    rect = view.visualRect(last)
    assert view.indexAt(rect.center()) == last
    assert view.indexAt(rect.topLeft()) == last

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.currentIndex() == last
    assert view.selectionModel().isSelected(last)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.currentIndex().row() == last.row() - 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 0
    assert view.visualRect(model.index(0)).top() == 0  # scrolled to it
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex() == last
    assert view.visualRect(last).bottom() < view.viewport().height()


def on_screen(view: HistoryView) -> QImage:
    """The viewport's pixels as last painted (the offscreen platform's backing store)."""
    viewport = view.viewport()
    corner = viewport.mapTo(viewport.window(), QPoint(0, 0))
    screen = viewport.screen()
    grabbed = screen.grabWindow(
        viewport.window().winId(), corner.x(), corner.y(), viewport.width(), viewport.height()
    )
    return grabbed.toImage().convertToFormat(QImage.Format.Format_RGB32)


def painted_afresh(view: HistoryView) -> QImage:
    """What a full repaint of the viewport shows now."""
    return view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


async def test_what_is_on_screen_is_what_painting_afresh_shows(
    ui: UiRig, conversation_window: Callable[..., Awaitable[Any]]
) -> None:
    """Rows are repainted only where something changed, and rows that come and go above
    the visible part move nothing on screen: after a stream of changes of every kind, and
    once the platform has painted (it paints a few milliseconds after a change), the
    pixels on screen are exactly those of a full repaint."""
    await ui.fill(280)
    conn = await ui.sign_in()
    window = await conversation_window(activate=False)
    view = window.history_view
    await next_turn()
    for i in range(360):  # past the window's 300 rows: the oldest are dropped above
        sent = await ui.core.messaging.send(ui.me, ui.peer, f"message {i} " + "word " * (i % 9))
        if i % 3 == 0:
            conn.ack(sent.uid)  # its state changes
        if i % 7 == 0:
            conn.receive(f"incoming {i} " + "x" * (i % 50))
        if i == 200:  # an archive message lands among the loaded ones
            conn.receive("late", timestamp=window.model.message(260).timestamp + 0.5)
        if i == 300:
            conn.bounce(sent.uid, "recipient-unavailable")  # its row grows a line
        if i % 40 == 0:
            await next_turn()  # painted now and then, as the loop gets to it
    await next_turn()
    assert window.model.rowCount() == window.model.max_rows
    await ui.until(lambda: on_screen(view) == painted_afresh(view), what="the screen")

    scroll_bar = view.verticalScrollBar()
    scroll_bar.setValue(scroll_bar.maximum() // 2)  # the reader scrolls up; more arrive
    await next_turn()
    for i in range(30):
        conn.receive(f"while reading {i}")
        sent = await ui.core.messaging.send(ui.me, ui.peer, f"from here {i}")
        conn.ack(sent.uid)
    await next_turn()
    await ui.until(lambda: on_screen(view) == painted_afresh(view), what="the screen")


def button_rect(view: HistoryView, button: QWidget) -> QRect:
    """Where the jump button (a child of the view, over its viewport) is, in viewport
    coordinates; empty while it is hidden."""
    if not button.isVisible():
        return QRect()
    geometry = button.geometry()
    return QRect(view.viewport().mapFrom(view, geometry.topLeft()), geometry.size())


def masked(image: QImage, rect: QRect) -> QImage:
    """``image`` with ``rect`` blacked out."""
    copy = image.copy()
    painter = QPainter(copy)
    painter.fillRect(rect, Qt.GlobalColor.black)
    painter.end()
    return copy


class PaintCounter(QObject):
    """Counts the paint events of a history view's viewport, beyond those only of the
    jump button's corner (it repaints there as the view scrolls)."""

    def __init__(self, view: HistoryView, button: QWidget) -> None:
        super().__init__(view)
        self.count = 0
        self._view, self._button = view, button
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QPaintEvent):
            corner = button_rect(self._view, self._button)
            self.count += 0 if corner.contains(event.rect()) else 1
        return False


@pytest.mark.parametrize("top", [0, 120], ids=["at the top", "near the top"])
async def test_older_pages_come_in_above_without_a_repaint(
    ui: UiRig, conversation_window: Callable[..., Awaitable[Any]], top: int
) -> None:
    """Scrolled to the top (or near it), a page of older messages comes in above what
    is shown: that stays exactly where it was on screen and nothing is painted again
    (reading and measuring the page is the turn's work; a repaint of every row shown
    doubled it)."""
    await ui.fill(500)
    window = await conversation_window(activate=False)
    view, model = window.history_view, window.model
    await next_turn()
    rows = model.rowCount()
    view.verticalScrollBar().setValue(top)  # the reader scrolls up (the page comes later)
    view.viewport().repaint()  # what that scroll shows, painted now
    shown = view.indexAt(QPoint(view.viewport().width() // 2, 1))
    anchor, where = QPersistentModelIndex(shown), view.visualRect(shown).top()
    paints = PaintCounter(view, window.jump_button)

    await ui.until(lambda: model.rowCount() > rows, what="an older page")
    await next_turn()
    assert model.rowCount() == rows + model.scroll_page
    assert view.visualRect(model.index(anchor.row())).top() == where
    assert view.verticalScrollBar().value() > top
    assert paints.count == 0
    corner = button_rect(view, window.jump_button)  # (not in the viewport's own pixels)
    assert masked(on_screen(view), corner) == masked(painted_afresh(view), corner)
