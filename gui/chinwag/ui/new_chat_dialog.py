"""The New chat dialog (Ctrl+N): one field that finds a contact as it is typed (by the
name the list shows, the nickname they publish, or the address) or takes any address,
a contact or not; the account to chat from when more than one is signed in; Open opens
(or raises) the conversation the way double-clicking a contact does.

Up and Down in the field move through the contacts found; Enter opens the one picked,
or the address typed when it is a whole address; Escape closes. A malformed address is
said under the field, and nothing opens."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QListView,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.jid import Jid
from chinwag.core.models import ConnectionState
from chinwag.ui.account_editor import FormMessage, MessageKind, address_problem, line_edit
from chinwag.ui.context import UiContext

#: The contact's bare address, on each row of the list.
JID_ROLE = Qt.ItemDataRole.UserRole + 1
#: What the typed text is looked for in: the name, the nickname and the address.
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


class NewChatDialog(QDialog):
    """Opens a conversation with a contact found, or with an address typed."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setWindowTitle("New chat")
        self.setAccessibleName("New chat")
        #: The user moved through the list (Up, Down, a click): Enter opens that row,
        #: even when the text typed is a whole address. Typing again clears it.
        self._picked = False

        self.account_box = QComboBox(self)
        self.account_box.setAccessibleName("Account")
        self.field = line_edit(
            self, "Contact", placeholder="A name, or an address like name@example.org"
        )
        self.field.installEventFilter(self)
        self.contacts = QStandardItemModel(self)
        self.found = QSortFilterProxyModel(self)
        self.found.setSourceModel(self.contacts)
        self.found.setFilterRole(SEARCH_ROLE)
        self.found.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.found.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.list = QListView(self)
        self.list.setAccessibleName("Contacts found")
        self.list.setModel(self.found)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay in the field
        self.message = FormMessage("Problem", self)

        form = QFormLayout()
        form.addRow("&From:", self.account_box)
        form.addRow("&To:", self.field)
        self._form = form
        buttons = QDialogButtonBox(self)
        self.open_button = buttons.addButton("&Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setAccessibleName("Open")
        self.open_button.setDefault(True)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.open_button.clicked.connect(self.open_chat)
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.list)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(380)

        self._fill_accounts()
        self._fill_contacts()
        self.account_box.currentIndexChanged.connect(self._on_account_chosen)
        self.field.textEdited.connect(self._on_typed)
        self.list.clicked.connect(self._on_clicked)
        self.list.activated.connect(self._on_activated)
        ctx.bridge.roster_changed.connect(self._on_roster_event)
        ctx.bridge.connection_changed.connect(self._on_connection_event)
        self.field.setFocus()

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        data = self.account_box.currentData()
        return str(data) if data else None

    def matches(self) -> list[str]:
        """The addresses of the contacts found, in the order shown."""
        return [
            str(self.found.index(row, 0).data(JID_ROLE)) for row in range(self.found.rowCount())
        ]

    def chosen(self) -> str | None:
        """The address Enter would open now (None: nothing to open)."""
        current = self.list.currentIndex()
        row = str(current.data(JID_ROLE)) if current.isValid() else None
        if self._picked and row is not None:
            return row
        text = self.field.text().strip()
        if text and address_problem(text, whose="the contact's") is None:
            return Jid.parse(text).bare  # a whole address, typed: that one
        return row

    def open_chat(self) -> bool:
        """Open (or raise) the conversation chosen and close; False (the reason said)
        when there is none to open."""
        account = self.account
        if account is None:
            self.message.show_message(
                "Add an account first: you chat from one of your accounts.", MessageKind.ERROR
            )
            return False
        jid = self.chosen()
        if jid is None:
            problem = address_problem(self.field.text(), whose="the contact's")
            self.message.show_message(problem or "", MessageKind.ERROR)
            self.field.setFocus()
            return False
        self._ctx.windows.open(account, jid)
        self.accept()
        return True

    # -- the list -----------------------------------------------------------------------

    def _fill_accounts(self) -> None:
        """The accounts signed in (else every account: the conversation opens, and what
        is written waits for a sign-in); the chooser shows only when there is a choice."""
        core = self._ctx.core
        every = [config.jid for config in core.accounts.accounts]
        online = [jid for jid in every if core.state(jid) is ConnectionState.ONLINE]
        wanted = online or every[:1]
        if wanted == [self.account_box.itemData(i) for i in range(self.account_box.count())]:
            return
        current = self.account
        self.account_box.blockSignals(True)
        self.account_box.clear()
        for jid in wanted:
            self.account_box.addItem(jid, jid)
        index = self.account_box.findData(current) if current else -1
        self.account_box.setCurrentIndex(max(index, 0))
        self.account_box.blockSignals(False)
        self._form.setRowVisible(self.account_box, len(wanted) > 1)
        self._fill_contacts()

    def _fill_contacts(self) -> None:
        """The chosen account's contacts, named as the contact list names them."""
        current = self.list.currentIndex().data(JID_ROLE)
        self.contacts.clear()
        account = self.account
        if account is not None:
            roster = self._ctx.core.roster
            for contact in roster.contacts(account):
                name = roster.display_name(account, contact.jid)
                nickname = roster.nickname(account, contact.jid)
                shown = name if name == contact.jid else f"{name} ({contact.jid})"
                item = QStandardItem(shown)
                item.setData(contact.jid, JID_ROLE)
                item.setData(f"{name}\n{nickname}\n{contact.jid}", SEARCH_ROLE)
                item.setToolTip(contact.jid)
                self.contacts.appendRow(item)
        self.found.sort(0)
        self._select(current)

    def _on_account_chosen(self, _index: int) -> None:
        self._fill_contacts()

    def _on_roster_event(self, _event: object) -> None:
        self._fill_contacts()

    def _on_connection_event(self, _event: object) -> None:
        self._fill_accounts()

    def _on_clicked(self, _index: QModelIndex) -> None:
        self._pick()

    def _on_activated(self, _index: QModelIndex) -> None:
        self._pick()
        self.open_chat()

    def _on_typed(self, text: str) -> None:
        self._picked = False
        self.message.clear_message()
        self.found.setFilterFixedString(text.strip())
        self._select(None)

    def _select(self, jid: object) -> None:
        """Make the row of ``jid`` current (else the first row, if any)."""
        rows = self.matches()
        row = rows.index(jid) if jid in rows else 0
        if not rows:
            self.list.setCurrentIndex(self.found.index(-1, -1))
            self._picked = False
            return
        self.list.setCurrentIndex(self.found.index(row, 0))

    def _pick(self) -> None:
        self._picked = self.list.currentIndex().isValid()

    def _move(self, step: int) -> None:
        count = self.found.rowCount()
        if not count:
            return
        current = self.list.currentIndex()
        row = current.row() + step if current.isValid() else 0
        self.list.setCurrentIndex(self.found.index(max(0, min(count - 1, row)), 0))
        self._pick()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the field move through the contacts found."""
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                self._move(-1 if event.key() == Qt.Key.Key_Up else 1)
                return True
        return super().eventFilter(watched, event)
