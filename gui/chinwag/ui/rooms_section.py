"""The "Group chats" section of the contact list: a heading and the list of rooms.

Owns :class:`RoomsSection` (the heading, the view, its context menu and what its actions
do), :class:`RoomView` (the list: Enter opens, the menu key shows the current row's menu)
and :class:`RoomDelegate` (a row: its state icon, name, state in words, and a badge with
the unread count, marked when a message names us). The rows come from
:class:`~chinwag.ui.rooms_model.RoomsModel`; the section only forwards intents to the
core, in the background, failures becoming notices."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QMenu,
    QSizePolicy,
    QStyle,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.models import ConversationKind
from chinwag.ui.contact_delegate import ICON_SIZE, MAX_BADGE, PADDING, ContactDelegate
from chinwag.ui.context import UiContext
from chinwag.ui.icons import icon
from chinwag.ui.item_views import ENTER_KEYS, claim_viewport, request_menu
from chinwag.ui.rooms_model import RoomRole, RoomsFilterModel, RoomsModel, RowState
from chinwag.ui.tasks import UiTasks

Index = QModelIndex | QPersistentModelIndex

#: The list grows with its rooms up to this many rows, then scrolls.
MAX_VISIBLE_ROWS = 6

_STATE_ICON = {
    RowState.JOINED: "status-online",
    RowState.JOINING: "status-connecting",
    RowState.NOT_JOINED: "status-offline",
    RowState.FAILED: "status-busy",
}


class RoomView(QListView):
    """The rooms: Enter opens the current room, the context-menu key opens the menu of
    the current row (not of whatever lies under the mouse)."""

    #: Open this (proxy) index's room.
    open_requested = Signal(QModelIndex)
    #: A context menu is wanted for this (proxy) index at this global position.
    menu_requested = Signal(QModelIndex, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        claim_viewport(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if event.key() in ENTER_KEYS and index.isValid():
            self.open_requested.emit(index)
            event.accept()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            self.open_requested.emit(index)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        request_menu(self, event, self.menu_requested)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        model = self.model()
        rows = min(model.rowCount() if model is not None else 0, MAX_VISIBLE_ROWS)
        row_height = self.sizeHintForRow(0) if rows else 0
        hint.setHeight(rows * row_height + 2 * self.frameWidth())
        return hint

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())


class RoomDelegate(ContactDelegate):
    """A room row: state icon, name (bold with unread messages), its state in words on a
    second, dimmed line, and the unread badge; when an unread message names us the badge
    reads "@ n" in the link colour, so it stands out from rooms that only chatter."""

    def _paint_row(self, painter: QPainter, opt: QStyleOptionViewItem, index: Index) -> None:
        text_color, dim_color = self._colors(opt)
        area = self._content_rect(opt)
        direction = opt.direction
        state = RowState(index.data(RoomRole.STATE) or RowState.NOT_JOINED)
        unread = int(index.data(RoomRole.UNREAD) or 0)
        mentioned = int(index.data(RoomRole.MENTIONS) or 0)

        icon_rect = QRect(area.left(), area.center().y() - ICON_SIZE // 2 + 1, ICON_SIZE, ICON_SIZE)
        icon(_STATE_ICON[state]).paint(painter, QStyle.visualRect(direction, opt.rect, icon_rect))
        area.setLeft(icon_rect.right() + 1 + 2 * PADDING)
        if mentioned:
            badge = self._paint_mention_badge(painter, opt, area, mentioned)
        else:
            badge = self._paint_badge(painter, opt, area, unread)
        area.setRight(area.right() - badge)

        name_font = QFont(opt.font)
        if unread:
            name_font.setBold(True)
        name_fm = QFontMetrics(name_font)
        fm = QFontMetrics(opt.font)
        align = QStyle.visualAlignment(
            direction, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        name_rect = QRect(area.left(), area.top(), area.width(), area.height() // 2)
        state_rect = QRect(
            area.left(), name_rect.bottom() + 1, area.width(), area.height() - name_rect.height()
        )
        painter.setFont(name_font)
        painter.setPen(text_color if state is RowState.JOINED or unread else dim_color)
        name = name_fm.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(QStyle.visualRect(direction, opt.rect, name_rect), align, name)
        painter.setFont(opt.font)
        painter.setPen(dim_color)
        line = " ".join(str(index.data(RoomRole.STATE_TEXT) or "").split())
        painter.drawText(
            QStyle.visualRect(direction, opt.rect, state_rect),
            align,
            fm.elidedText(line, Qt.TextElideMode.ElideRight, area.width()),
        )

    def _paint_mention_badge(
        self, painter: QPainter, opt: QStyleOptionViewItem, area: QRect, count: int
    ) -> int:
        palette: QPalette = opt.palette
        text = f"@ {MAX_BADGE}+" if count > MAX_BADGE else f"@ {count}"
        return self._paint_pill(
            painter,
            opt,
            area,
            text,
            QColor(palette.color(QPalette.ColorRole.Link)),
            palette.color(QPalette.ColorRole.HighlightedText),
            outlined=True,
        )


class RoomsSection(QWidget):
    """The heading "Group chats" and the list of rooms under the contacts; hidden while
    it lists none (none known, or none matching the filter)."""

    #: Something failed (a sentence for the status bar).
    notice = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the group chats list")
        self.model = RoomsModel(ctx.core, ctx.bridge, self)
        self.filter_model = RoomsFilterModel(self.model, self)
        self.setAccessibleName("Group chats")

        self.heading = QLabel("Group chats", self)
        font = QFont(self.heading.font())
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setAccessibleName("Group chats")

        self.view = RoomView(self)
        self.view.setAccessibleName("Group chats")
        self.view.setAccessibleDescription(
            "Your group chats. Enter opens one; the menu key shows actions."
        )
        self.view.setModel(self.filter_model)
        self.view.setItemDelegate(RoomDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.view.open_requested.connect(self.open_room)
        self.view.menu_requested.connect(self._show_menu)
        self.heading.setBuddy(self.view)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.heading)
        layout.addWidget(self.view)

        for signal in (
            self.filter_model.rowsInserted,
            self.filter_model.rowsRemoved,
            self.filter_model.modelReset,
            self.filter_model.layoutChanged,
        ):
            signal.connect(self._update_visibility)
        self._update_visibility()

    # -- public API ------------------------------------------------------------------------

    def set_filter_text(self, text: str) -> None:
        self.filter_model.set_filter_text(text)
        self._update_visibility()

    def first_index(self) -> QModelIndex:
        return self.filter_model.index(0, 0) if self.filter_model.rowCount() else QModelIndex()

    def focus_list(self) -> bool:
        """Focus the list on its current (else first) room; False when it lists none."""
        if not self.filter_model.rowCount():
            return False
        self.view.setFocus(Qt.FocusReason.TabFocusReason)
        if not self.view.currentIndex().isValid():
            self.view.setCurrentIndex(self.first_index())
        return True

    def index_of(self, account: str, room: str) -> QModelIndex:
        """The view's index of the room (invalid when not listed or filtered out)."""
        row = self.model.row_of(account, room)
        if row < 0:
            return QModelIndex()
        return self.filter_model.mapFromSource(self.model.index(row))

    def open_room(self, index: QModelIndex) -> bool:
        """Open the window of the room at ``index`` (of the view's model)."""
        if not index.isValid():
            return False
        self._ctx.windows.open(
            index.data(RoomRole.ACCOUNT),
            index.data(RoomRole.JID),
            kind=ConversationKind.GROUPCHAT,
        )
        return True

    def menu_for(self, index: QModelIndex) -> QMenu | None:
        """The context menu of the room at ``index`` (of the view's model), not shown."""
        if not index.isValid():
            return None
        account: str = index.data(RoomRole.ACCOUNT)
        room: str = index.data(RoomRole.JID)
        state = index.data(RoomRole.STATE)
        bookmarked = bool(index.data(RoomRole.BOOKMARKED))
        menu = QMenu(self)
        menu.setAccessibleName(f"Actions for {index.data()}")
        open_action = menu.addAction(icon("send"), "Open")
        open_action.triggered.connect(lambda: self.open_room(self.index_of(account, room)))
        menu.setDefaultAction(open_action)
        leave = menu.addAction("Leave")
        leave.setEnabled(state in (RowState.JOINED, RowState.JOINING))
        leave.triggered.connect(lambda: self.leave(account, room))
        menu.addSeparator()
        bookmark = menu.addAction("Remove bookmark" if bookmarked else "Bookmark")
        bookmark.triggered.connect(lambda: self.set_bookmarked(account, room, not bookmarked))
        autojoin = menu.addAction("Join automatically")
        autojoin.setCheckable(True)
        autojoin.setChecked(bool(index.data(RoomRole.AUTOJOIN)))
        autojoin.setToolTip("Join this group chat every time you sign in")
        autojoin.toggled.connect(lambda on: self.set_autojoin(account, room, on))
        menu.addSeparator()
        copy = menu.addAction("Copy address")
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(room))
        return menu

    def leave(self, account: str, room: str) -> None:
        self._run(self._ctx.core.rooms.leave(account, room), f"Could not leave {room}")

    def set_bookmarked(self, account: str, room: str, bookmarked: bool) -> None:
        """Bookmark the room (under its nick there, if we are in) or remove its bookmark."""
        bookmarks = self._ctx.core.bookmarks
        if not bookmarked:
            self._run(bookmarks.remove(account, room), f"Could not remove the bookmark of {room}")
            return
        self._add_bookmark(account, room, f"Could not bookmark {room}")

    def set_autojoin(self, account: str, room: str, autojoin: bool) -> None:
        """Join the room on sign-in, or not (a room without a bookmark gets one)."""
        bookmarks = self._ctx.core.bookmarks
        existing = bookmarks.get(account, room)
        if existing is not None:
            if existing.autojoin != autojoin:
                self._run(
                    bookmarks.update(replace(existing, autojoin=autojoin)),
                    f"Could not change {room}",
                )
            return
        self._add_bookmark(account, room, f"Could not change {room}", autojoin=autojoin)

    # -- behaviour -------------------------------------------------------------------------

    def _add_bookmark(
        self, account: str, room: str, failure: str, *, autojoin: bool = False
    ) -> None:
        """Bookmark the room under its nick and password there, if we are in."""
        found = self._ctx.core.rooms.room(account, room)
        self._run(
            self._ctx.core.bookmarks.add(
                account,
                room,
                nick=found.nick if found is not None else "",
                password=found.password if found is not None else "",
                autojoin=autojoin,
            ),
            failure,
        )

    def _run(self, coro: Coroutine[Any, Any, Any], failure: str) -> None:
        self._tasks.start(
            coro,
            what=failure,
            on_error=lambda error: self.notice.emit(f"{failure}: {error}"),
            outlive=True,
        )

    def _show_menu(self, index: QModelIndex, global_pos: QPoint) -> None:
        menu = self.menu_for(index)
        if menu is not None:
            menu.aboutToHide.connect(menu.deleteLater)
            menu.popup(global_pos)  # not exec(): the loop keeps running

    def _update_visibility(self, *_: object) -> None:
        self.setVisible(self.filter_model.rowCount() > 0)
        self.view.updateGeometry()
