"""Browse group chats: the public rooms of a group chat service (the account's own by
default), page by page (XEP-0059: More reads the next), each with its name, address,
how many are in it and its description; a search of them by name or address, started a
moment after the typing stops (a search under way is dropped for the newer one); and
Join on the chosen room (double-click, Enter, or the button), which opens the Join
dialog filled in with it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTreeView,
    QWidget,
)

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, InvalidAddress, NotConnected, RequestRefused
from chinwag.core.models import RoomListing, RoomListPage
from chinwag.ui.account_editor import MessageKind, chain_tab_order, line_edit
from chinwag.ui.context import UiContext
from chinwag.ui.join_room_dialog import JoinRoomDialog
from chinwag.ui.room_forms import ANSWER_TIMEOUT, AccountFormDialog, Lookup, fill_accounts

log = logging.getLogger(__name__)

#: Rooms read per page.
PAGE_SIZE = 50
#: The most rooms a search shows.
SEARCH_LIMIT = 100
#: How long the typing must stop before a search starts (milliseconds).
SEARCH_DELAY_MS = 300
#: The role of column 0's item holding the :class:`RoomListing`.
LISTING_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Name", "Address", "People", "Description")


class RoomBrowser(AccountFormDialog):
    """The list of a service's group chats (see the module). Not modal: ``show()``."""

    #: The rows shown changed (a page, a search, or cleared).
    listed = Signal()

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, account: str | None = None
    ) -> None:
        super().__init__(
            ctx,
            parent,
            title="Browse group chats",
            what="the group chat browser",
            message="Status",
        )
        # (self._task: the listing or search under way, one at a time: a newer one
        # cancels it.)
        #: Where the next page starts ("" : no more), of the listing shown.
        self._after = ""
        #: The service field was typed in (it no longer follows the account).
        self._service_typed = False
        #: The (account, service) whose rooms are shown.
        self._shown: tuple[str, str] | None = None
        self.setModal(False)

        self._service = line_edit(self, "Service", placeholder="conference.example.org")
        self._list_button = QPushButton("&List", self)
        self._list_button.setAccessibleName("List")
        self._list_button.setToolTip("List the service's group chats")
        service_row = QHBoxLayout()
        service_row.addWidget(self._service, 1)
        service_row.addWidget(self._list_button)
        self._search = line_edit(self, "Search", placeholder="Search by name or address")
        self._search.setClearButtonEnabled(True)
        self._form.addRow("Ser&vice:", service_row)
        self._form.addRow("&Search:", self._search)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self._view = QTreeView(self)
        self._view.setAccessibleName("Group chats")
        self._view.setModel(self.model)
        self._view.setRootIsDecorated(False)
        self._view.setUniformRowHeights(True)
        self._view.setAllColumnsShowFocus(True)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self._view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._view.setColumnWidth(0, 180)
        self._view.setColumnWidth(1, 220)

        buttons = QDialogButtonBox(self)
        self._more = buttons.addButton("&More", QDialogButtonBox.ButtonRole.ActionRole)
        self._more.setAccessibleName("More")
        self._more.setToolTip("Show the next page of group chats")
        self._join = buttons.addButton("&Join…", QDialogButtonBox.ButtonRole.ActionRole)
        self._join.setAccessibleName("Join")
        self._close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self._close.setAccessibleName("Close")
        for button in (self._more, self._join, self._close):
            # No default button (a button box makes its first accept button one): Enter
            # in the list joins, in the service field lists, in the search searches.
            button.setAutoDefault(False)
        self._more.setEnabled(False)
        self._join.setEnabled(False)

        self._lay_out(buttons, self._view)
        self.resize(720, 480)
        chain_tab_order(
            self._account,
            self._service,
            self._list_button,
            self._search,
            self._view,
            self._more,
            self._join,
            self._close,
        )

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.search_now)

        fill_accounts(self._account, ctx, account)
        self._account.currentIndexChanged.connect(lambda *_: self._account_changed())
        self._service.textEdited.connect(self._service_edited)
        self._service.returnPressed.connect(self.list_rooms)
        self._list_button.clicked.connect(self.list_rooms)
        self._search.textChanged.connect(lambda *_: self._search_timer.start())
        self._search.returnPressed.connect(self.search_now)
        self._more.clicked.connect(self.more)
        self._join.clicked.connect(self.join_selected)
        self._close.clicked.connect(self.close)
        self._view.activated.connect(self._activated)
        selection = self._view.selectionModel()
        selection.currentRowChanged.connect(lambda *_: self._update_buttons())
        self._services.changed.connect(self._service_found)
        self._follow_accounts()
        self._account_changed()
        self._search.setFocus()

    # -- public -------------------------------------------------------------------------

    @property
    def has_more(self) -> bool:
        return bool(self._after)

    def rooms(self) -> list[RoomListing]:
        """The rooms shown, in order."""
        return [self.model.item(row, 0).data(LISTING_ROLE) for row in range(self.model.rowCount())]

    def list_rooms(self) -> bool:
        """Show the first page of the service's rooms (the search is cleared)."""
        account, service = self.account, self._service_address()
        if account is None or not service:
            self._say_why_not()
            return False
        self._search_timer.stop()
        self._search.blockSignals(True)
        self._search.clear()
        self._search.blockSignals(False)
        self._start(self._list(account, service, ""), f"listing {service}'s group chats")
        return True

    def more(self) -> bool:
        """Add the next page of the listing shown."""
        if not self._after or self._shown is None or self.busy:
            return False
        account, service = self._shown
        self._start(self._list(account, service, self._after), f"listing more of {service}")
        return True

    def search_now(self) -> bool:
        """Search the service's rooms for what is typed now (all of them when nothing is)."""
        self._search_timer.stop()
        text = self._search.text().strip()
        if not text:
            return self.list_rooms()
        account, service = self.account, self._service_address()
        if account is None or not service:
            self._say_why_not()
            return False
        self._start(self._find(account, service, text), f"searching {service}")
        return True

    def selected(self) -> RoomListing | None:
        index = self._view.currentIndex()
        if not index.isValid():
            return None
        item = self.model.item(index.row(), 0)
        listing = item.data(LISTING_ROLE) if item is not None else None
        return listing if isinstance(listing, RoomListing) else None

    def join_selected(self) -> JoinRoomDialog | None:
        """Open the Join dialog filled in with the chosen room."""
        listing, account = self.selected(), self.account
        if listing is None or account is None:
            return None
        dialog = JoinRoomDialog(self._ctx, self, account=account, room=listing.jid)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- reading ------------------------------------------------------------------------

    def _start(self, coro: Any, what: str) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()  # (its answer is for a question no longer asked)
        self._task = self._tasks.start(coro, what=what, on_done=self._done)
        self._set_busy(self._task is not None)

    async def _list(self, account: str, service: str, after: str) -> None:
        if not after:
            self._show(account, service, [], "")
        self._message.show_message(f"Reading the group chats of {service}…", MessageKind.INFO)
        try:
            page: RoomListPage = await asyncio.wait_for(
                self._ctx.core.rooms.list_rooms(account, service, after, PAGE_SIZE),
                ANSWER_TIMEOUT,
            )
        except (ChinwagError, TimeoutError) as exc:
            self._message.show_message(self._failure(exc, account, service), MessageKind.ERROR)
            return
        self._append(page.rooms)
        self._after = page.last
        shown = self.model.rowCount()
        if not shown:
            self._message.show_message(f"{service} lists no group chats.", MessageKind.HINT)
        elif page.total is not None and page.total >= shown:
            self._message.show_message(
                f"Showing {shown} of {page.total} group chats.", MessageKind.INFO
            )
        else:
            self._message.show_message(
                f"Showing {shown} group chats{' (more to come)' if self._after else ''}.",
                MessageKind.INFO,
            )

    async def _find(self, account: str, service: str, text: str) -> None:
        self._message.show_message(f"Searching for “{text}”…", MessageKind.INFO)
        try:
            found = await asyncio.wait_for(
                self._ctx.core.rooms.search_rooms(account, service, text, SEARCH_LIMIT),
                ANSWER_TIMEOUT,
            )
        except (ChinwagError, TimeoutError) as exc:
            self._message.show_message(self._failure(exc, account, service), MessageKind.ERROR)
            return
        self._show(account, service, found, "")
        if found:
            self._message.show_message(
                f"{len(found)} group chat{'s' if len(found) != 1 else ''} found for “{text}”.",
                MessageKind.INFO,
            )
        else:
            self._message.show_message(f"No group chat found for “{text}”.", MessageKind.HINT)

    @staticmethod
    def _failure(exc: BaseException, account: str, service: str) -> str:
        if isinstance(exc, TimeoutError):
            return f"{service} did not answer. Try again later."
        if isinstance(exc, NotConnected):
            return f"Sign in to {account} to browse group chats."
        if isinstance(exc, RequestRefused) and exc.condition in (
            "item-not-found",
            "remote-server-not-found",
        ):
            return f"There is no group chat service at {service}."
        if isinstance(exc, RequestRefused) and exc.condition:
            return f"{service} did not list its group chats ({exc.condition})."
        return f"{service} did not list its group chats."

    def _show(self, account: str, service: str, rooms: Any, after: str) -> None:
        self.model.removeRows(0, self.model.rowCount())
        self._shown, self._after = (account, service), after
        self._append(rooms)

    def _append(self, rooms: Any) -> None:
        for listing in rooms:
            count = "" if listing.occupants is None else str(listing.occupants)
            row = [
                QStandardItem(listing.display_name),
                QStandardItem(listing.jid),
                QStandardItem(count),
                QStandardItem(" ".join(listing.description.split())),
            ]
            row[0].setData(listing, LISTING_ROLE)
            row[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if listing.description:
                row[3].setToolTip(listing.description)
            for item in row:
                item.setEditable(False)
            self.model.appendRow(row)
        if self.model.rowCount() and not self._view.currentIndex().isValid():
            self._view.setCurrentIndex(self.model.index(0, 0))
        self.listed.emit()

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is self._task:
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        self._busy_bar.setVisible(busy)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self._more.setEnabled(bool(self._after) and not self.busy)
        self._more.setVisible(not self._search.text().strip())
        self._join.setEnabled(self.selected() is not None)

    def _activated(self, _index: QModelIndex) -> None:
        self.join_selected()

    # -- the account and the service ----------------------------------------------------

    def _service_address(self) -> str:
        text = self._service.text().strip()
        try:
            return jids.Jid.parse(text).bare if text else ""
        except InvalidAddress:
            return ""

    def _say_why_not(self) -> None:
        if self.account is None:
            self._message.show_message(
                "Sign in to an account first: group chats are browsed from one of your accounts.",
                MessageKind.HINT,
            )
        elif not self._service.text().strip():
            self._message.show_message(
                "Enter the group chat service to browse, like conference.example.org.",
                MessageKind.HINT,
            )
        else:
            self._message.show_message(
                "This is not the address of a group chat service.", MessageKind.ERROR
            )

    def _service_edited(self, _text: str) -> None:
        self._service_typed = bool(self._service.text().strip())

    def _account_changed(self) -> None:
        """A newly chosen account lists its own service's rooms (unless one was typed)."""
        account = self.account
        if account is None:
            self._say_why_not()
            return
        if self._service_typed:
            self.list_rooms()
            return
        self._service_found(account)

    def _service_found(self, account: str) -> None:
        if account != self.account or self._service_typed:
            return
        service = self._services.service(account)
        if service.state is Lookup.PENDING:
            self._message.show_message(
                "Looking for your server's group chat service…", MessageKind.INFO
            )
            return
        if service.state is not Lookup.FOUND:
            self._service.clear()
            self._message.show_message(
                f"Chinwag found no group chat service on the server of {account}: enter "
                "one to browse, like conference.example.org.",
                MessageKind.HINT,
            )
            return
        self._service.setText(service.address)
        if self._shown != (account, service.address):
            self.list_rooms()

    def _accounts_moved(self) -> None:
        if fill_accounts(self._account, self._ctx):
            self._services.forget()
            self._account_changed()
        self._show_account_row()

    def closeEvent(self, event: Any) -> None:
        self._search_timer.stop()
        self._tasks.close()
        super().closeEvent(event)
