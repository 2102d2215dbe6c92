"""Preferences > Script gateways: the XML-RPC and REST (UCWA) gateways switched on and
off, and their port chosen, applied at once (a gateway starts or stops while Chinwag
runs; saved in ``gateways.json``); where each answers while it runs; and the gateway
keys: listed, created (the secret shown once, with a Copy button) and revoked after
asking. The same :class:`GatewayKeys` and settings as ``chinwag-remote gateway-key`` and
the command line: one code path. A key file or settings file that cannot be used is said
on the page, never a crash."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chinwag.gateways.control import GatewayControl, GatewayState
from chinwag.gateways.keys import INITIATE, RECEIVE, GatewayKey, KeyFileError, KeyKind
from chinwag.gateways.settings import SettingsError
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)

KIND_NAMES = {KeyKind.REST: "REST (UCWA)", KeyKind.XMLRPC: "XML-RPC"}
SCOPE_NAMES = {
    INITIATE: "Start conversations and send messages",
    RECEIVE: "Read incoming messages and events",
}
#: The key list's columns.
COLUMNS = ("Kind", "Account", "Label", "Scope", "Created")


def describe_scopes(key: GatewayKey) -> str:
    if key.kind is KeyKind.XMLRPC:
        return "All (XML-RPC)"
    if set(key.scopes) >= {INITIATE, RECEIVE}:
        return "Send and receive"
    return "Send only" if key.scopes == (INITIATE,) else "Receive only"


def describe_created(key: GatewayKey) -> str:
    if not key.created:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(key.created))


class GatewayKeysPage(QWidget):
    """The page. :attr:`switches`, :attr:`ports` and :attr:`where` are each gateway's
    check box, port and address line, by name; :attr:`keys_view` lists the keys (each
    item's data is the key's id)."""

    def __init__(
        self,
        control: GatewayControl,
        accounts: Callable[[], Sequence[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._control = control
        self._accounts = accounts
        self._tasks = UiTasks(self, "script gateways")
        self._updating = False
        self.switches: dict[str, QCheckBox] = {}
        self.ports: dict[str, QSpinBox] = {}
        self.where: dict[str, QLabel] = {}
        self.setAccessibleName("Script gateways")

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Scripts that do not speak D-Bus can drive Chinwag through these gateways. "
            "They answer this computer only and take gateway keys, never your XMPP "
            "password. A change here applies at once: no restart is needed.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.problem = QLabel(self)
        self.problem.setAccessibleName("Problem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setStyleSheet("color: palette(highlighted-text); background: #b3261e;")
        self.problem.setContentsMargins(6, 4, 6, 4)
        self.problem.hide()
        layout.addWidget(self.problem)

        box = QGroupBox("Gateways", self)
        grid = QGridLayout(box)
        for row, state in enumerate(control.states()):
            name = state.name
            switch = QCheckBox(f"&{state.title}", self)
            switch.setAccessibleName(state.title)
            switch.toggled.connect(partial(self._apply, name))
            port = QSpinBox(self)
            port.setRange(0, 65535)
            port.setSpecialValueText("Any free port")
            port.setKeyboardTracking(False)
            port.setAccessibleName(f"{state.title} port")
            port.setToolTip("The loopback port it listens on (Any free port: Chinwag picks one)")
            port.valueChanged.connect(partial(self._apply, name))
            where = QLabel(self)
            where.setAccessibleName(f"{state.title} address")
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(switch, row * 2, 0)
            grid.addWidget(QLabel("Port:", self), row * 2, 1)
            grid.addWidget(port, row * 2, 2)
            grid.addWidget(where, row * 2 + 1, 0, 1, 3)
            self.switches[name] = switch
            self.ports[name] = port
            self.where[name] = where
        grid.setColumnStretch(0, 1)
        layout.addWidget(box)

        keys_box = QGroupBox("Gateway keys", self)
        keys_layout = QVBoxLayout(keys_box)
        self.keys_view = QTreeWidget(self)
        self.keys_view.setAccessibleName("Gateway keys")
        self.keys_view.setHeaderLabels(list(COLUMNS))
        self.keys_view.setRootIsDecorated(False)
        self.keys_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.keys_view.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.keys_view.itemSelectionChanged.connect(self._selection_changed)
        keys_layout.addWidget(self.keys_view)
        buttons = QHBoxLayout()
        self.create_button = QPushButton("&Create key…", self)
        self.create_button.setAccessibleName("Create key")
        self.create_button.clicked.connect(self.create_key)
        self.revoke_button = QPushButton("&Revoke…", self)
        self.revoke_button.setAccessibleName("Revoke")
        self.revoke_button.clicked.connect(self.revoke_selected)
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        keys_layout.addLayout(buttons)
        note = QLabel(
            "The keys are kept in gateway-keys.json in the settings folder, readable by "
            "you only; an XML-RPC key's digest there is a credential itself.",
            self,
        )
        note.setWordWrap(True)
        keys_layout.addWidget(note)
        layout.addWidget(keys_box, 1)

        self.refresh()
        self._unsubscribe = control.subscribe(self.refresh)
        self.destroyed.connect(lambda *_: self._unsubscribe())

    # -- showing ---------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()  # (a key made with chinwag-remote meanwhile)
        super().showEvent(event)

    def refresh(self) -> None:
        """Show the gateways and the keys as they are now."""
        self._updating = True
        try:
            for state in self._control.states():
                self.switches[state.name].setChecked(state.enabled)
                self.ports[state.name].setValue(state.port)
                self.where[state.name].setText(self._where(state))
        finally:
            self._updating = False
        self._fill_keys()
        self._show_problem()

    @staticmethod
    def _where(state: GatewayState) -> str:
        if state.url is not None:
            return f"Answers at {state.url}"
        if state.problem:
            return f"Not running. {state.problem}"
        return "On: starting…" if state.enabled else "Off"

    def _fill_keys(self) -> None:
        selected = self.selected_id()
        self.keys_view.clear()
        for key in sorted(self._control.keys.entries(), key=lambda k: k.created):
            item = QTreeWidgetItem(
                [
                    KIND_NAMES[key.kind],
                    key.account,
                    key.label,
                    describe_scopes(key),
                    describe_created(key),
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, key.id)
            self.keys_view.addTopLevelItem(item)
            if key.id == selected:
                item.setSelected(True)
        self._selection_changed()

    def _show_problem(self, extra: str | None = None) -> None:
        problems = [
            p for p in (extra, self._control.keys.problem(), self._control.settings_problem()) if p
        ]
        self.problem.setText("\n".join(problems))
        self.problem.setVisible(bool(problems))

    def selected_id(self) -> str | None:
        items = self.keys_view.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)) if items else None

    def _selection_changed(self) -> None:
        self.revoke_button.setEnabled(self.selected_id() is not None)

    # -- the gateways ----------------------------------------------------------------------

    def _apply(self, name: str, *_: object) -> None:
        if self._updating:
            return
        enabled = self.switches[name].isChecked()
        port = self.ports[name].value()
        self.where[name].setText("Starting…" if enabled else "Stopping…")
        self._tasks.start(
            self._control.set_enabled(name, enabled, port),
            on_done=self._applied,
            outlive=True,  # (a gateway is not left half started with the dialog closed)
        )

    def _applied(self, task: asyncio.Task[GatewayState]) -> None:
        self.refresh()
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, SettingsError):
            self._show_problem(f"{exc}: the change was not made.")
        elif exc is not None:
            self._show_problem(f"The change failed: {exc}")

    async def idle(self) -> None:
        """Wait until every start or stop asked for here is done (for tests)."""
        await self._tasks.idle()

    # -- the keys --------------------------------------------------------------------------

    def create_key(self) -> CreateKeyDialog:
        dialog = CreateKeyDialog(self._accounts(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._create(dialog))
        dialog.open()
        return dialog

    def _create(self, dialog: CreateKeyDialog) -> None:
        try:
            entry, secret = self._control.keys.create(
                dialog.kind(), dialog.account(), dialog.scopes(), dialog.label()
            )
        except (KeyFileError, ValueError) as exc:
            self._show_problem(f"No key was made: {exc}")
            return
        self.refresh()
        shown = SecretDialog(entry, secret, self)
        shown.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        shown.open()

    def revoke_selected(self) -> QMessageBox | None:
        """Ask (window-modal, not blocking) whether to revoke the selected key."""
        key_id = self.selected_id()
        key = next((k for k in self._control.keys.entries() if k.id == key_id), None)
        if key is None:
            return None
        what = f"“{key.label}”" if key.label else f"{key.id}"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Revoke gateway key",
            f"Revoke the key {what} of {key.account} ({KIND_NAMES[key.kind]})?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setInformativeText(
            "A script using it is refused from its next request on. This cannot be undone: "
            "a new key would have to be made and given to the script."
        )
        revoke = box.addButton("&Revoke", QMessageBox.ButtonRole.DestructiveRole)
        revoke.setAccessibleName("Revoke")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _: self._revoke(key.id) if box.clickedButton() is revoke else None
        )
        box.open()
        return box

    def _revoke(self, key_id: str) -> None:
        try:
            self._control.keys.revoke(key_id)
        except KeyFileError as exc:
            self._show_problem(f"The key was not revoked: {exc}")
            return
        self.refresh()


class CreateKeyDialog(QDialog):
    """What a new key is for: its kind, account, label and (REST) scopes."""

    def __init__(self, accounts: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create gateway key")
        self.setAccessibleName("Create gateway key")
        form = QFormLayout(self)
        self.kind_box = QComboBox(self)
        self.kind_box.setAccessibleName("Kind")
        for kind in (KeyKind.REST, KeyKind.XMLRPC):
            self.kind_box.addItem(KIND_NAMES[kind], kind.value)
        form.addRow("&Kind:", self.kind_box)
        self.account_box = QComboBox(self)
        self.account_box.setAccessibleName("Account")
        self.account_box.addItems(list(accounts))
        form.addRow("&Account:", self.account_box)
        self.label_edit = QLineEdit(self)
        self.label_edit.setAccessibleName("Label")
        self.label_edit.setPlaceholderText("What it is for, e.g. “cron reminder”")
        form.addRow("&Label:", self.label_edit)
        self.scope_checks: dict[str, QCheckBox] = {}
        scopes = QVBoxLayout()
        for scope, words in SCOPE_NAMES.items():
            check = QCheckBox(words, self)
            check.setAccessibleName(words)
            check.setChecked(True)
            check.toggled.connect(self._update)
            scopes.addWidget(check)
            self.scope_checks[scope] = check
        self.scope_label = QLabel("&Scope:", self)
        self.scope_label.setBuddy(next(iter(self.scope_checks.values())))
        form.addRow(self.scope_label, scopes)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setAccessibleName("Hint")
        form.addRow(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.create_button = self.buttons.addButton(
            "&Create", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setAccessibleName("Create")
        self.create_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.kind_box.currentIndexChanged.connect(self._update)
        self._update()

    def kind(self) -> KeyKind:
        return KeyKind(str(self.kind_box.currentData()))

    def account(self) -> str:
        return self.account_box.currentText()

    def label(self) -> str:
        return self.label_edit.text().strip()

    def scopes(self) -> tuple[str, ...]:
        if self.kind() is not KeyKind.REST:
            return ()
        return tuple(s for s, check in self.scope_checks.items() if check.isChecked())

    def _update(self, *_: object) -> None:
        rest = self.kind() is KeyKind.REST
        for check in self.scope_checks.values():
            check.setEnabled(rest)
        hint = ""
        if not self.account():
            hint = "Add an account first: a key belongs to one account."
        elif rest and not self.scopes():
            hint = "Choose at least one thing the key may do."
        elif not rest:
            hint = "An XML-RPC key may do everything the XML-RPC gateway offers."
        self.hint.setText(hint)
        self.create_button.setEnabled(bool(self.account()) and (not rest or bool(self.scopes())))


class SecretDialog(QDialog):
    """The new key, shown this once, with a Copy button."""

    def __init__(self, entry: GatewayKey, secret: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New gateway key")
        self.setAccessibleName("New gateway key")
        layout = QVBoxLayout(self)
        scopes = f"; {describe_scopes(entry).lower()}" if entry.kind is KeyKind.REST else ""
        heading = QLabel(f"<b>Key for {entry.account}</b> ({KIND_NAMES[entry.kind]}{scopes})", self)
        heading.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(heading)
        warning = QLabel(
            "Copy this key now and give it to your script. <b>You will not see it again</b>: "
            "Chinwag keeps only a digest of it. If it is lost, revoke it and make another.",
            self,
        )
        warning.setAccessibleName("Warning")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        row = QHBoxLayout()
        self.secret = QLineEdit(secret, self)
        self.secret.setAccessibleName("Key")
        self.secret.setReadOnly(True)
        self.secret.setMinimumWidth(self.secret.fontMetrics().horizontalAdvance(secret) + 24)
        self.secret.selectAll()
        row.addWidget(self.secret, 1)
        self.copy_button = QPushButton("&Copy", self)
        self.copy_button.setAccessibleName("Copy")
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # The key leaves the widget with the dialog (no copy lingers in a hidden one).
        self.finished.connect(lambda _result: self.secret.clear())

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.secret.text())
        self.copy_button.setText("Copied")
