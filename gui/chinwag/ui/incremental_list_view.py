"""A list view whose layout follows the model change by change: :class:`IncrementalListView`.

``QListView`` lays out every row again whenever a row is inserted, removed or changes size
(``rowsInserted`` clears its layout; a delegate's ``sizeHintChanged`` runs
``doItemsLayout``), and with rows of different heights that asks the delegate for the size
of every row: appending a message to a conversation of N rows cost N size hints, so the
cost of each new message grew with the history the window held.

:class:`IncrementalListView` keeps a ``QListView`` (its accessibility, keyboard handling
and selection stay Qt's) but owns the layout: the height of each row and where each row
starts. A change measures only the rows it touches -- an append measures one row, a
``dataChanged`` the changed rows -- and the positions after it are summed again lazily.
Every row is measured again only when all of them may have changed: a model reset, a new
width, a font or style change. Rows that come or go entirely above the visible part keep
what is shown where it is (the scroll position moves with them and no pixel is repainted),
so trimming the oldest row of a long conversation costs nothing on screen either; inside
:meth:`IncrementalListView.inserting_above`, so do rows inserted right at the top of the
visible part (a page of older messages when the reader is at the very top).

Only what Chinwag's history needs is supported: one column, no tree, top-to-bottom flow
without wrapping, scrolling by the pixel, rows as wide as the viewport."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
)
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QRegion, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QListView,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

_Index = QModelIndex | QPersistentModelIndex
_Hint = QAbstractItemView.ScrollHint
_Action = QAbstractItemView.CursorAction


class IncrementalListView(QListView):
    """A ``QListView`` (list mode, one column) laid out row by row as the model changes.

    :attr:`rows_measured` counts the rows whose size the delegate was asked for, so tests
    and benchmarks can see the work a change cost."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._heights: list[int] = []
        #: ``_tops[row]`` is where ``row`` starts; right for rows up to ``_valid``.
        self._tops: list[int] = [0]
        self._valid = 0
        #: Every row must be measured again (reset, new width, new font).
        self._stale = True
        self._width = -1
        self._quiet = 0  # > 0: the scroll position moves, the content on screen does not
        self._above_edge = 0  # > 0: rows inserted at the top of the visible part go above
        self._relayouts = 0  # nesting of updateGeometries (scroll bars showing or hiding)
        self._model: QAbstractItemModel | None = None
        self._measured_delegate: QAbstractItemDelegate | None = None
        #: (start, end, top of start, top after end) between rowsAboutToBeRemoved and
        #: rowsRemoved.
        self._removing: tuple[int, int, int, int] | None = None
        self.rows_measured = 0
        self.setUniformItemSizes(False)
        self.setWrapping(False)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    # -- the model ------------------------------------------------------------------------

    def setModel(self, model: QAbstractItemModel | None) -> None:
        old = self._model
        if old is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                old.layoutChanged.disconnect(self._invalidate)
                old.rowsMoved.disconnect(self._invalidate)
                old.rowsRemoved.disconnect(self._on_rows_removed)
        self._model = model
        self._stale = True
        super().setModel(model)
        if model is not None:
            model.layoutChanged.connect(self._invalidate)
            model.rowsMoved.connect(self._invalidate)
            model.rowsRemoved.connect(self._on_rows_removed)

    def setItemDelegate(self, delegate: QAbstractItemDelegate) -> None:
        old, self._measured_delegate = self._measured_delegate, delegate
        if old is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                old.sizeHintChanged.disconnect(self._on_size_hint_changed)
        super().setItemDelegate(delegate)
        # Qt also schedules a layout of every row on sizeHintChanged (that cannot be
        # disconnected); with the row measured here, that layout only repaints.
        delegate.sizeHintChanged.connect(self._on_size_hint_changed)
        self._invalidate()

    def _invalidate(self, *_: Any) -> None:
        """Measure every row again before the next use of the layout."""
        self._stale = True
        self.scheduleDelayedItemsLayout()

    def reset(self) -> None:
        self._stale = True
        super().reset()

    def rowsInserted(self, parent: _Index, start: int, end: int) -> None:
        if self._own(parent):
            count = end - start + 1
            if self._current(len(self._heights) + count) and start <= len(self._heights):
                option = self._size_option()
                y = self._top(start)
                added = [self._measure(option, row) for row in range(start, end + 1)]
                self._heights[start:start] = added
                self._valid = min(self._valid, start)
                offset = self._offset()
                above = y < offset or (self._above_edge > 0 and y == offset)
                self._changed(y, sum(added) if above else 0)
            else:
                self._invalidate()
        QAbstractItemView.rowsInserted(self, parent, start, end)

    @contextlib.contextmanager
    def inserting_above(self) -> Iterator[None]:
        """Rows inserted inside at the top of the visible part go above it, as rows
        inserted higher up do: what is shown stays where it is and nothing is repainted.
        (Outside, such rows show at the top and push what was there down.)"""
        self._above_edge += 1
        try:
            yield
        finally:
            self._above_edge -= 1

    def rowsAboutToBeRemoved(self, parent: _Index, start: int, end: int) -> None:
        # Qt's part first, while the rows are still there: a current row that goes moves
        # on to the next one, without scrolling to it (dropping the oldest messages must
        # not move what the reader sees).
        auto_scroll = self.hasAutoScroll()
        self.setAutoScroll(False)
        try:
            QAbstractItemView.rowsAboutToBeRemoved(self, parent, start, end)
        finally:
            self.setAutoScroll(auto_scroll)
        self._removing = None
        current = self._own(parent) and self._current(len(self._heights))
        if current and 0 <= start <= end < len(self._heights):
            self._removing = (start, end, self._top(start), self._top(end + 1))

    def _on_rows_removed(self, parent: QModelIndex, start: int, end: int) -> None:
        """After the model dropped the rows (and after Qt's own handler of it)."""
        removing, self._removing = self._removing, None
        if not self._own(parent):
            return
        count = end - start + 1
        if (
            removing is None
            or removing[:2] != (start, end)
            or not self._current(len(self._heights) - count)
        ):
            self._invalidate()
            return
        y, below = removing[2:]
        del self._heights[start : end + 1]
        del self._tops[start + 1 :]
        self._valid = start
        self._changed(y, -(below - y) if below <= self._offset() else 0)

    def dataChanged(
        self, top_left: _Index, bottom_right: _Index, roles: Sequence[int] = ()
    ) -> None:
        if self._own(top_left.parent()) and self._current(len(self._heights)):
            self._measure_again(top_left.row(), bottom_right.row())
        QAbstractItemView.dataChanged(self, top_left, bottom_right, list(roles))

    def _on_size_hint_changed(self, index: QModelIndex) -> None:
        if index.isValid() and self._own(index.parent()) and self._current(len(self._heights)):
            self._measure_again(index.row(), index.row())

    def _measure_again(self, first: int, last: int) -> None:
        """Rows ``first`` to ``last`` may have changed size: measure them (only them)."""
        first, last = max(first, 0), min(last, len(self._heights) - 1)
        if first > last:
            return
        option = self._size_option()
        heights = [self._measure(option, row) for row in range(first, last + 1)]
        if heights == self._heights[first : last + 1]:
            return
        y, bottom = self._top(first), self._top(last + 1)
        above = bottom <= self._offset()
        self._heights[first : last + 1] = heights
        self._valid = min(self._valid, first)
        self._changed(y, self._top(last + 1) - bottom if above else 0)

    # -- the layout -----------------------------------------------------------------------

    def _own(self, parent: _Index) -> bool:
        return not parent.isValid() and self._model is not None

    def _current(self, rows: int) -> bool:
        """Whether the layout may be changed row by row (it is measured, at the present
        width, for ``rows`` rows); if not, it is measured again when next used."""
        return (
            not self._stale
            and self._width == self.viewport().width()
            and self._model is not None
            and rows == self._model.rowCount(self.rootIndex())
        )

    def _size_option(self) -> QStyleOptionViewItem:
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        return option

    def _measure(self, option: QStyleOptionViewItem, row: int) -> int:
        assert self._model is not None
        index = self._model.index(row, self.modelColumn(), self.rootIndex())
        delegate = self.itemDelegateForIndex(index)
        self.rows_measured += 1
        return max(0, delegate.sizeHint(option, index).height()) if delegate else 0

    def _ensure_layout(self) -> None:
        """Measure every row if the layout is not the model's at this width, and know
        where each row starts."""
        model = self._model
        rows = model.rowCount(self.rootIndex()) if model is not None else 0
        width = self.viewport().width()
        if self._stale or width != self._width or rows != len(self._heights):
            self._width = width
            self._stale = False
            option = self._size_option()
            self._heights = [self._measure(option, row) for row in range(rows)]
            self._valid = 0
        self._sum_tops()

    def _sum_tops(self) -> None:
        """Where the rows after ``_valid`` start (sums, no measuring)."""
        start = self._valid
        if start < len(self._heights) or len(self._tops) != len(self._heights) + 1:
            del self._tops[start + 1 :]
            self._tops.extend(accumulate(self._heights[start:], initial=self._tops[start]))
            del self._tops[start + 1]  # accumulate yields its initial value first
            self._valid = len(self._heights)

    def _top(self, row: int) -> int:
        """Where ``row`` starts (``row == rows``: the height of all rows)."""
        if row > self._valid:
            self._sum_tops()
        return self._tops[row]

    def _total(self) -> int:
        self._ensure_layout()
        return self._tops[-1]

    def _offset(self) -> int:
        return self.verticalScrollBar().value()

    def _changed(self, y: int, above: int) -> None:
        """The rows from content position ``y`` down have moved or changed. ``above`` is
        how much the rows above the visible part grew (negative: shrank); what is shown
        then stays where it is, and nothing is repainted."""
        scroll_bar = self.verticalScrollBar()
        if above:
            target = scroll_bar.value() + above
            self._quiet += 1
            try:
                self.updateGeometries()
                scroll_bar.setValue(target)
            finally:
                self._quiet -= 1
            if scroll_bar.value() != target:  # moved by someone else meanwhile
                self.viewport().update()
            return
        self.updateGeometries()
        top = y - scroll_bar.value()
        viewport = self.viewport().rect()
        if top < viewport.height():
            self.viewport().update(QRect(0, max(0, top), viewport.width(), viewport.height()))

    # -- QAbstractItemView ------------------------------------------------------------------

    def doItemsLayout(self) -> None:
        self._ensure_layout()
        QAbstractItemView.doItemsLayout(self)

    def updateGeometries(self) -> None:
        if self._relayouts > 2:  # the scroll bar shows and hides by turns: stop here
            return
        self._relayouts += 1
        try:
            total = self._total()
            height = self.viewport().height()
            scroll_bar = self.verticalScrollBar()
            scroll_bar.setPageStep(height)
            scroll_bar.setRange(0, max(0, total - height))
            self.horizontalScrollBar().setRange(0, 0)
            QAbstractItemView.updateGeometries(self)
        finally:
            self._relayouts -= 1

    def resizeEvent(self, event: QResizeEvent) -> None:
        QAbstractItemView.resizeEvent(self, event)  # not QListView's: it lays out all rows

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._invalidate()
        super().changeEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # Not QListView's: it corrects dy from its own layout, which is never made here.
        if not self._quiet:
            self.viewport().scroll(dx, dy)

    def verticalOffset(self) -> int:
        return self._offset()

    def horizontalOffset(self) -> int:
        return 0

    def visualRect(self, index: _Index) -> QRect:
        if not index.isValid() or not self._own(index.parent()):
            return QRect()
        self._ensure_layout()
        row = index.row()
        if not 0 <= row < len(self._heights):
            return QRect()
        width = self.viewport().width()
        return QRect(0, self._tops[row] - self._offset(), width, self._heights[row])

    def indexAt(self, point: QPoint) -> QModelIndex:
        self._ensure_layout()
        y = point.y() + self._offset()
        if self._model is None or not 0 <= y < self._tops[-1]:
            return QModelIndex()
        if not 0 <= point.x() < self.viewport().width():
            return QModelIndex()
        row = bisect.bisect_right(self._tops, y) - 1
        return self._model.index(row, self.modelColumn(), self.rootIndex())

    def scrollTo(
        self,
        index: _Index,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
    ) -> None:
        rect = self.visualRect(index)
        if not rect.isValid():
            return
        scroll_bar = self.verticalScrollBar()
        value, height = scroll_bar.value(), self.viewport().height()
        top = rect.top() + value
        bottom = top + rect.height()
        if hint == _Hint.PositionAtTop:
            target = top
        elif hint == _Hint.PositionAtBottom:
            target = bottom - height
        elif hint == _Hint.PositionAtCenter:
            target = top - (height - rect.height()) // 2
        elif top < value or rect.height() > height:
            target = top
        elif bottom > value + height:
            target = bottom - height
        else:
            return
        scroll_bar.setValue(target)

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        self._ensure_layout()
        rows = len(self._heights)
        if self._model is None or rows == 0:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            row = rows - 1 if action == _Action.MoveEnd else 0
        else:
            row = current.row()
            page = self.viewport().height()
            if action in (_Action.MoveUp, _Action.MovePrevious):
                row -= 1
            elif action in (_Action.MoveDown, _Action.MoveNext):
                row += 1
            elif action == _Action.MoveHome:
                row = 0
            elif action == _Action.MoveEnd:
                row = rows - 1
            elif action == _Action.MovePageUp:
                row = bisect.bisect_right(self._tops, max(0, self._tops[row] - page)) - 1
            elif action == _Action.MovePageDown:
                target = min(self._tops[-1] - 1, self._tops[row] + page)
                row = bisect.bisect_right(self._tops, target) - 1
        row = min(max(row, 0), rows - 1)
        return self._model.index(row, self.modelColumn(), self.rootIndex())

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        selection_model = self.selectionModel()
        if selection_model is None or self._model is None:
            return
        self._ensure_layout()
        offset = self._offset()
        first = max(0, bisect.bisect_right(self._tops, rect.top() + offset) - 1)
        last = min(len(self._heights), bisect.bisect_right(self._tops, rect.bottom() + offset))
        selection = QItemSelection()
        if first < last and rect.right() >= 0 and rect.left() < self.viewport().width():
            column, root = self.modelColumn(), self.rootIndex()
            selection.select(
                self._model.index(first, column, root), self._model.index(last - 1, column, root)
            )
        selection_model.select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        self._ensure_layout()
        region = QRegion()
        offset, width = self._offset(), self.viewport().width()
        visible_top, visible_bottom = offset, offset + self.viewport().height()
        for n in range(selection.size()):
            selected = selection.at(n)
            if not self._own(selected.parent()):
                continue
            top = max(self._tops[max(0, selected.top())], visible_top)
            bottom = min(self._tops[min(len(self._heights), selected.bottom() + 1)], visible_bottom)
            if top < bottom:
                region += QRegion(0, top - offset, width, bottom - top)
        return region

    def paintEvent(self, event: QPaintEvent) -> None:
        self._ensure_layout()
        model, delegate = self._model, self.itemDelegate()
        if model is None or delegate is None or not self._heights:
            return
        painter = QPainter(self.viewport())
        base = QStyleOptionViewItem()
        self.initViewItemOption(base)
        offset, width = self._offset(), self.viewport().width()
        area = event.rect()
        column, root = self.modelColumn(), self.rootIndex()
        selection = self.selectionModel()
        current = self.currentIndex()
        focused = self.hasFocus()
        enabled = self.isEnabled()
        group = (
            QPalette.ColorGroup.Disabled
            if not enabled
            else QPalette.ColorGroup.Active
            if self.isActiveWindow()
            else QPalette.ColorGroup.Inactive
        )
        palette = QPalette(base.palette)
        palette.setCurrentColorGroup(group)
        base.palette = palette
        try:
            row = max(0, bisect.bisect_right(self._tops, area.top() + offset) - 1)
            while row < len(self._heights):
                y = self._tops[row] - offset
                if y > area.bottom():
                    break
                index = model.index(row, column, root)
                option = QStyleOptionViewItem(base)
                option.rect = QRect(0, y, width, self._heights[row])
                state = option.state
                if selection is not None and selection.isSelected(index):
                    state |= QStyle.StateFlag.State_Selected
                if focused and index == current:
                    state |= QStyle.StateFlag.State_HasFocus
                if not enabled:
                    state &= ~QStyle.StateFlag.State_Enabled
                option.state = state
                delegate.paint(painter, option, index)
                row += 1
        finally:
            painter.end()


__all__ = ["IncrementalListView"]
