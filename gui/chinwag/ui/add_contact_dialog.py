"""The Add contact dialog: which account (when there are several), the contact's address
(checked as it is typed), a display name, a group (an existing one or a new one), and an
optional first message.

Add runs ``roster.add_contact`` (roster set plus subscription request) as an asyncio task
(:class:`~chinwag.ui.tasks.UiTasks`: Cancel, closing or deleting the dialog stops
waiting), then sends the message if there is one; problems are shown in the dialog,
which stays open so the user can correct them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import AccountDisabled, ChinwagError, NotConnected
from chinwag.core.events import ContactRemoved, ContactUpdated, RosterReceived
from chinwag.core.jid import Jid
from chinwag.core.models import ConnectionState
from chinwag.ui.account_editor import (
    FormMessage,
    MessageKind,
    address_problem,
    busy_bar,
    chain_tab_order,
    describe_failure,
    failure_details,
    line_edit,
)
from chinwag.ui.bridge import RosterEvent
from chinwag.ui.context import UiContext
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)

#: Longest wait for the server to confirm the roster change; slixmpp's own IQ timeout
#: is 30 s, this only guards against a connection that never answers at all.
ADD_TIMEOUT = 45.0


class AddContactDialog(QDialog):
    """Adds a contact; emits :attr:`added` and closes when the server has it."""

    #: (account, contact's bare address) once added.
    added = Signal(str, str)

    def __init__(
        self,
        ctx: UiContext,
        parent: QWidget | None = None,
        *,
        account: str | None = None,
        jid: str = "",
        name: str = "",
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the add contact dialog")
        self._task: asyncio.Task[None] | None = None
        self.setWindowTitle("Add contact")
        self.setAccessibleName("Add contact")

        form = self._build_form()
        self._message = FormMessage("Problem", self)
        self._busy_bar = busy_bar(self)
        buttons = self._build_buttons()

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._message)
        layout.addWidget(self._busy_bar)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)
        chain_tab_order(
            self._account,
            self._address,
            self._name,
            self._group,
            self._note,
            self._add,
            self._cancel,
        )

        self._choose_account(account)
        self._address.setText(jid)
        self._name.setText(name)
        self._account.currentIndexChanged.connect(lambda *_: self._account_changed())
        self._address.textChanged.connect(self._validate)
        # Whether the form can be sent: the accounts, whether they are signed in, and
        # whether the address is in the roster already.
        ctx.bridge.accounts_changed.connect(self._revalidate)
        ctx.bridge.connection_changed.connect(self._revalidate)
        ctx.bridge.roster_changed.connect(self._on_roster_event)
        self._account_changed()
        self._address.setFocus()

    def _build_form(self) -> QFormLayout:
        self._account = QComboBox(self)
        self._account.setAccessibleName("Account")
        for config in self._ctx.core.accounts.accounts:
            self._account.addItem(config.jid, config.jid)
        self._address = line_edit(self, "Contact's address", placeholder="name@example.org")
        self._name = line_edit(self, "Display name", placeholder="Optional")
        self._group = QComboBox(self)
        self._group.setEditable(True)
        self._group.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._group.setAccessibleName("Group")
        group_edit = self._group.lineEdit()
        assert group_edit is not None  # editable, so it has one
        group_edit.setPlaceholderText("No group")
        group_edit.setAccessibleName("Group")
        self._note = QPlainTextEdit(self)
        self._note.setAccessibleName("Message")
        self._note.setPlaceholderText("Optional: say who you are")
        self._note.setTabChangesFocus(True)  # Tab moves on, as in every other field
        self._note.setFixedHeight(self._note.fontMetrics().lineSpacing() * 4)

        form = QFormLayout()
        form.addRow("Add to a&ccount:", self._account)
        form.addRow("Add&ress:", self._address)
        form.addRow("Display &name:", self._name)
        form.addRow("&Group:", self._group)
        form.addRow("&Message:", self._note)
        # With one account there is nothing to choose.
        form.setRowVisible(self._account, self._account.count() > 1)
        return form

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(self)
        self._add = buttons.addButton("&Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self._add.setAccessibleName("Add")
        self._add.setDefault(True)
        self._cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._add.clicked.connect(self.add)
        self._cancel.clicked.connect(self.reject)
        return buttons

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        data = self._account.currentData()
        return str(data) if data else None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def add(self) -> bool:
        """Start adding; False (and the reason shown) when the form is not ready."""
        if self.busy:
            return False
        problem = self._problem()
        account = self.account
        if problem is not None or account is None:  # (no account is a problem too)
            self._message.show_message(problem[0] if problem else "", MessageKind.ERROR)
            return False
        jid = Jid.parse(self._address.text()).bare
        group = self._group.currentText().strip()
        self._task = self._tasks.start(
            self._run(
                account,
                jid,
                self._name.text().strip(),
                [group] if group else [],
                self._note.toPlainText().strip(),
            ),
            what=f"adding {jid}",
            on_done=self._done,
        )
        if self._task is None:
            return False
        self._set_busy(True)
        return True

    def reject(self) -> None:
        """Escape or Cancel while adding stops waiting (the server may still add it)."""
        if self.busy and self._task is not None:
            self._task.cancel()
            return
        super().reject()

    # -- adding -------------------------------------------------------------------------

    async def _run(self, account: str, jid: str, name: str, groups: list[str], note: str) -> None:
        core = self._ctx.core
        try:
            await asyncio.wait_for(core.roster.add_contact(account, jid, name, groups), ADD_TIMEOUT)
            if note:
                await core.messaging.send(account, jid, note)
        except TimeoutError:
            self._fail(f"The server did not answer. {jid} may not have been added.")
            return
        except (NotConnected, AccountDisabled) as exc:
            self._fail(f"{describe_failure(exc, account)} Sign in and try again.")
            return
        except ChinwagError as exc:
            self._fail(failure_details(exc))
            return
        except Exception as exc:  # the server refused the roster change (an IQ error)
            log.info("%s: adding %s failed: %s", account, jid, exc)
            self._fail(f"The server did not add {jid}: {exc or type(exc).__name__}.")
            return
        self._set_busy(False)
        self.added.emit(account, jid)
        self.accept()

    def _fail(self, text: str) -> None:
        self._message.show_message(text, MessageKind.ERROR)

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is not self._task:
            return
        self._set_busy(False)
        if task.cancelled():
            self._message.show_message("Stopped waiting for the server.", MessageKind.HINT)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self._account, self._address, self._name, self._group, self._note):
            widget.setEnabled(not busy)
        self._busy_bar.setVisible(busy)
        if busy:
            self._add.setEnabled(False)
            self._cancel.setFocus()
        else:
            problem = self._problem()
            self._add.setEnabled(problem is None)

    # -- the form -----------------------------------------------------------------------

    def _choose_account(self, wanted: str | None) -> None:
        """The account asked for, else the first one signed in, else the first."""
        core = self._ctx.core
        index = self._account.findData(wanted) if wanted else -1
        if index < 0:
            online = [
                i
                for i in range(self._account.count())
                if core.state(str(self._account.itemData(i))) is ConnectionState.ONLINE
            ]
            index = online[0] if online else 0
        self._account.setCurrentIndex(index)

    def _account_changed(self) -> None:
        """Offer the groups the chosen account's contacts already use."""
        account = self.account
        typed = self._group.currentText()
        self._group.clear()
        self._group.addItem("")
        if account is not None:
            self._group.addItems(self._ctx.core.roster.groups(account))
        self._group.setCurrentText(typed)
        self._validate()

    def _revalidate(self, _event: object) -> None:
        if not self.busy:
            self._validate()

    def _on_roster_event(self, event: RosterEvent) -> None:
        if isinstance(event, ContactUpdated | ContactRemoved | RosterReceived):
            self._revalidate(event)

    def _problem(self) -> tuple[str, MessageKind] | None:
        account = self.account
        core = self._ctx.core
        if account is None:
            return "Add an account first: contacts belong to one of your accounts.", (
                MessageKind.ERROR
            )
        text = self._address.text()
        problem = address_problem(text, whose="the contact's")
        if problem is not None:
            return problem, MessageKind.ERROR if text.strip() else MessageKind.HINT
        jid = Jid.parse(text).bare
        if jid == account:
            return "That is your own address.", MessageKind.ERROR
        if core.roster.contact(account, jid) is not None:
            return f"{jid} is already one of your contacts.", MessageKind.ERROR
        if core.state(account) is not ConnectionState.ONLINE:
            return f"Sign in to {account} to add contacts to it.", MessageKind.HINT
        return None

    def _validate(self, *_: object) -> None:
        problem = self._problem()
        self._add.setEnabled(problem is None and not self.busy)
        self._add.setToolTip(problem[0] if problem else "")
        if problem is None:
            self._message.clear_message()
        else:
            self._message.show_message(*problem)
