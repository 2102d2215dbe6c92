"""The accounts dialog: every account with its live connection state, and Add, Edit,
Enable/Disable and Remove. Serverless chat on the local network (XEP-0174) has a row of
its own, "This network (no server)", always there (in italics, last unless it is the
only account) so that it can be turned on and off here: Enable and Disable, no Edit, and
never made primary while a server account exists.

States follow :class:`~chinwag.core.events.ConnectionStateChanged` as it happens (from the
one event bridge). Enabling, disabling and removing run as asyncio tasks on the one
event loop (:class:`~chinwag.ui.tasks.UiTasks`; they finish even if the dialog is
closed); Remove asks first, in a window-modal box opened with ``open()``."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import ChinwagError
from chinwag.core.models import AccountConfig, ConnectionState
from chinwag.core.status import Status
from chinwag.ui.account_editor import (
    AccountEditor,
    FormMessage,
    MessageKind,
    describe_failure,
    failure_details,
)
from chinwag.ui.context import UiContext
from chinwag.ui.icons import status_icon
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)

_ACCOUNT = Qt.ItemDataRole.UserRole
_LINK_LOCAL = Qt.ItemDataRole.UserRole + 1  # the serverless row (an account or not yet)
#: What the serverless row is called.
THIS_NETWORK = "This network (no server)"


class AccountsDialog(QDialog):
    """Lists the accounts and manages them. Non-modal: show it with ``show()``."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the accounts dialog")
        self.setWindowTitle("Accounts")
        self.setAccessibleName("Accounts")

        self._list = self._build_list()
        self._message = FormMessage("Problem", self)

        self._add = self._button("&Add…", "Add an account")
        self._edit = self._button("&Edit…", "Edit the selected account")
        self._toggle = self._button("&Disable", "Disable the selected account")
        self._remove = self._button("&Remove…", "Remove the selected account")
        self._primary = self._button(
            "Make &primary", "Make the selected account the one scripts use by default"
        )
        side = QVBoxLayout()
        for button in (self._add, self._edit, self._toggle, self._remove, self._primary):
            side.addWidget(button)
        side.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close_button = close.button(QDialogButtonBox.StandardButton.Close)
        close_button.setAccessibleName("Close")
        # No default button: Enter on the list edits the account instead of closing.
        close_button.setAutoDefault(False)
        close.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.addWidget(self._list, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(self._message)
        layout.addWidget(close)

        self._add.clicked.connect(self.add_account)
        self._edit.clicked.connect(self.edit_selected)
        self._toggle.clicked.connect(self.toggle_selected)
        self._remove.clicked.connect(self.remove_selected)
        self._primary.clicked.connect(self.make_selected_primary)
        self._list.itemActivated.connect(lambda *_: self.edit_selected())
        self._list.installEventFilter(self)
        self._list.currentItemChanged.connect(lambda *_: self._update_buttons())
        ctx.bridge.accounts_changed.connect(self._on_event)
        ctx.bridge.connection_changed.connect(self._on_event)
        self._sync()
        rows = self._rows()
        if rows:
            self._list.setCurrentItem(rows[0])
        self._list.setFocus()
        self.resize(560, 320)

    def _build_list(self) -> QTreeWidget:
        view = QTreeWidget(self)
        view.setAccessibleName("Accounts")
        view.setColumnCount(2)
        view.setHeaderLabels(["Account", "Status"])
        view.setRootIsDecorated(False)
        view.setUniformRowHeights(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = view.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        remove_key = QAction("Remove account", view)
        remove_key.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        remove_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove_key.triggered.connect(self.remove_selected)
        view.addAction(remove_key)
        return view

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter on the list edits the account, and nothing else: left to the view, the
        key would go on to this dialog, which presses the default button of whatever
        dialog is its child by then (the editor just opened: it would save and close)."""
        if (
            watched is self._list
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            self.edit_selected()
            return True
        return super().eventFilter(watched, event)

    def _button(self, text: str, description: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.setAccessibleDescription(description)
        button.setAutoDefault(False)
        return button

    # -- public -------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The selected account's address (None: none, or serverless chat not added yet)."""
        item = self._list.currentItem()
        return str(item.data(0, _ACCOUNT)) or None if item is not None else None

    @property
    def selected_link_local(self) -> bool:
        """The "This network (no server)" row is selected."""
        item = self._list.currentItem()
        return item is not None and bool(item.data(0, _LINK_LOCAL))

    def select_link_local(self) -> None:
        for item in self._rows():
            if item.data(0, _LINK_LOCAL):
                self._list.setCurrentItem(item)
                return

    def select(self, account: str) -> None:
        for item in self._rows():
            if item.data(0, _ACCOUNT) == account:
                self._list.setCurrentItem(item)
                return

    def state_text(self, account: str) -> str:
        """What the Status column says for ``account``."""
        return self._describe(self._ctx.core.accounts.get(account))[0]

    def add_account(self) -> AccountEditor:
        editor = AccountEditor(self._ctx, None, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._added)
        editor.open()
        return editor

    def edit_selected(self) -> AccountEditor | None:
        account = self.selected
        if account is None or self.selected_link_local:  # (nothing to set: no server)
            return None
        editor = AccountEditor(self._ctx, account, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(lambda jid: self._edited(jid, editor.reconnect_needed))
        editor.open()
        return editor

    def toggle_selected(self) -> None:
        account = self.selected
        if self.selected_link_local:
            on = account is not None and self._ctx.core.accounts.get(account).enabled
            self._spawn(self._switch_link_local(not on))
            return
        if account is None:
            return
        enable = not self._ctx.core.accounts.get(account).enabled
        self._spawn(self._set_enabled(account, enable))

    def make_selected_primary(self) -> None:
        account = self.selected
        if account is not None:
            try:
                self._ctx.core.accounts.make_primary(account)  # AccountChanged re-syncs
            except ChinwagError as exc:  # (serverless chat while a server account exists)
                self._failed(exc)

    def remove_selected(self) -> QMessageBox | None:
        """Ask (window-modal, not blocking) whether to remove the selected account."""
        account = self.selected
        if account is None:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove account",
            f"Remove {account} from Chinwag?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setInformativeText(
            "Chinwag stops chatting on this network; its history stays, and you can turn "
            "it on again later."
            if self.selected_link_local
            else "Its settings and saved password are deleted from this computer. The "
            "account itself stays on its server, and you can add it again later."
        )
        remove = box.addButton("&Remove", QMessageBox.ButtonRole.DestructiveRole)
        remove.setAccessibleName("Remove")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        box.setDefaultButton(cancel)  # the harmless answer for a reflexive Enter
        box.setEscapeButton(cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _: (
                self._spawn(self._remove_account(account))
                if box.clickedButton() is remove
                else None
            )
        )
        box.open()
        return box

    # -- reacting -----------------------------------------------------------------------

    def _on_event(self, _event: object) -> None:
        """An account or its connection changed: the list follows."""
        self._sync()

    def _added(self, account: str) -> None:
        self._sync()
        self.select(account)
        if self._ctx.core.accounts.get(account).enabled:
            self._ctx.core.session(account).start()

    def _edited(self, account: str, reconnect_needed: bool) -> None:
        core = self._ctx.core
        config = core.accounts.get(account)
        if not config.enabled:
            return
        state = core.state(account)
        session = core.sessions.get(account)
        wanted = session is not None and session.wanted
        # New server settings or password only take effect on a new connection; and an
        # account that had given up (wrong password, say) is worth another try.
        if state is ConnectionState.FAILED or (reconnect_needed and wanted):
            self._spawn(self._reconnect(account))

    async def _reconnect(self, account: str) -> None:
        await self._ctx.core.sign_out(account)
        self._ctx.core.session(account).start()

    async def _set_enabled(self, account: str, enabled: bool) -> None:
        await self._ctx.core.set_enabled(account, enabled)
        if enabled:
            self._ctx.core.session(account).start()

    async def _switch_link_local(self, on: bool) -> None:
        from chinwag.core.link_local import disable_link_local, enable_link_local

        if on:
            await enable_link_local(self._ctx.core)
        else:
            await disable_link_local(self._ctx.core)

    async def _remove_account(self, account: str) -> None:
        core = self._ctx.core
        if account in core.sessions:
            await core.sign_out(account)  # signed out before its settings disappear
        core.accounts.remove(account)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an account action; it changes accounts and sessions, so it finishes even
        if the dialog is closed."""
        self._message.clear_message()
        self._tasks.start(coro, what="an account action", on_error=self._failed, outlive=True)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ChinwagError):
            text = exc.message[:1].upper() + exc.message[1:]
            self._message.show_message(f"{text}.", MessageKind.ERROR)
        else:  # logged by the task helper
            self._message.show_message(f"Something unexpected went wrong: {exc}", MessageKind.ERROR)

    # -- the list -----------------------------------------------------------------------

    def _describe(self, config: AccountConfig) -> tuple[str, Status, str]:
        """(state text, status for the icon, details for the tooltip)."""
        if not config.enabled:
            return "Disabled", Status.OFFLINE, ""
        session = self._ctx.core.sessions.get(config.jid)
        state = session.state if session else ConnectionState.OFFLINE
        error = session.last_error if session else None
        if state is ConnectionState.ONLINE:
            return "Online", Status.ONLINE, ""
        if state is ConnectionState.CONNECTING:
            return "Connecting…", Status.CONNECTING, ""
        if state is ConnectionState.RECONNECTING:
            return "Reconnecting…", Status.CONNECTING, failure_details(error)
        if state is ConnectionState.FAILED:
            return describe_failure(error, config.jid), Status.OFFLINE, failure_details(error)
        return "Offline", Status.OFFLINE, ""

    def _sync(self) -> None:
        """Bring the rows in line with the accounts, keeping the selection."""
        accounts = self._ctx.core.accounts.accounts
        selected, on_network = self.selected, self.selected_link_local
        rows = self._rows()
        keys = [a.jid for a in accounts]
        if not any(a.link_local for a in accounts):
            keys.append("")  # (serverless chat, not added yet)
        if [str(item.data(0, _ACCOUNT)) for item in rows] != keys:
            self._list.clear()
            rows = [QTreeWidgetItem(self._list) for _ in keys]
        for index, (item, config) in enumerate(zip(rows, accounts, strict=False)):
            text, status, details = self._describe(config)
            name = f"{config.jid} (primary)" if index == 0 and len(accounts) > 1 else config.jid
            item.setData(0, _ACCOUNT, config.jid)
            item.setData(0, _LINK_LOCAL, config.link_local)
            item.setText(0, THIS_NETWORK if config.link_local else name)
            item.setText(1, text)
            item.setIcon(0, status_icon(status))
            item.setToolTip(1, details or text)
            item.setData(1, Qt.ItemDataRole.AccessibleTextRole, f"{text} {details}".strip())
            if config.link_local:
                self._mark_this_network(item, f"Chat with no server, as {config.jid}")
        if len(rows) > len(accounts):
            item = rows[-1]
            item.setData(0, _ACCOUNT, "")
            item.setData(0, _LINK_LOCAL, True)
            item.setText(0, THIS_NETWORK)
            item.setText(1, "Off")
            item.setIcon(0, status_icon(Status.OFFLINE))
            item.setToolTip(1, "Off")
            item.setData(1, Qt.ItemDataRole.AccessibleTextRole, "Off")
            self._mark_this_network(
                item, "Chat with the people on this network, no server needed: Enable"
            )
        if on_network and not self.selected_link_local:
            self.select_link_local()
        elif selected is not None and self.selected != selected:
            self.select(selected)
        self._update_buttons()

    @staticmethod
    def _mark_this_network(item: QTreeWidgetItem, tip: str) -> None:
        """The serverless row looks unlike the accounts on servers (italics)."""
        font = item.font(0)
        font.setItalic(True)
        item.setFont(0, font)
        item.setToolTip(0, f"Serverless chat on the local network (XEP-0174). {tip}")
        item.setData(0, Qt.ItemDataRole.AccessibleTextRole, THIS_NETWORK)

    def _rows(self) -> list[QTreeWidgetItem]:
        items = (self._list.topLevelItem(i) for i in range(self._list.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _update_buttons(self) -> None:
        account = self.selected
        config = self._ctx.core.accounts.find(account) if account else None
        on_network = self.selected_link_local
        self._edit.setEnabled(config is not None and not on_network)
        self._toggle.setEnabled(config is not None or on_network)
        self._remove.setEnabled(config is not None)
        primary = self._ctx.core.accounts.primary
        servers = any(not a.link_local for a in self._ctx.core.accounts.accounts)
        self._primary.setEnabled(
            config is not None
            and primary is not None
            and primary != config
            and not (config.link_local and servers)
        )
        enabled = config.enabled if config is not None else not on_network
        self._toggle.setText("&Disable" if enabled else "E&nable")
        self._toggle.setAccessibleName("Disable" if enabled else "Enable")
        self._toggle.setAccessibleDescription(
            f"{'Disable' if enabled else 'Enable'} the selected account"
        )
