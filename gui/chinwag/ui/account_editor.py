"""The account editor: one account's settings (address, password, resource, server, port,
TLS mode, nickname, whether the password is remembered), opened empty from the accounts
dialog's Add and filled from its Edit.

It also holds the few form helpers every account and contact dialog shares, so they all
validate addresses with the same sentences and show problems the same way:
:func:`address_problem`, :func:`describe_failure` and :class:`FormMessage`."""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import (
    AccountDisabled,
    AuthenticationFailed,
    CertificateUntrusted,
    ChinwagError,
    InvalidAddress,
    NotConnected,
    RegistrationFailed,
    ServerUnreachable,
    StreamError,
    TlsFailure,
    UnknownAccount,
)
from chinwag.core.jid import Jid
from chinwag.core.models import AccountConfig, TlsMode
from chinwag.ui.context import UiContext

# A host name or an IP literal; whitespace and URL syntax are what people paste by mistake.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^\s/:@\[\]]+|[0-9A-Fa-f:]+)$")


# --------------------------------------------------------------------------- shared helpers


def address_problem(text: str, *, whose: str = "your") -> str | None:
    """Why ``text`` is not a usable bare address, as a sentence; None when it is.

    ``whose`` words the hint for an account ("your") or a contact ("the contact's").
    The reason itself comes from :meth:`Jid.parse`, so the core and the forms agree on
    what an address is."""
    if not text.strip():
        return "Enter an address, like name@example.org."
    try:
        jid = Jid.parse(text)
    except InvalidAddress as exc:
        reason = exc.message
        prefix = f"{text!r}: "
        if reason.startswith(prefix):  # the core quotes the input; the user can see it
            reason = reason[len(prefix) :]
        return f"This address is not valid: {reason}."
    if not jid.local:
        return f"Add {whose} name before the server, like name@{jid.domain}."
    if jid.resource:
        return "Leave out the “/” and what follows it: use the address without a resource."
    return None


def describe_failure(error: BaseException | None, account: str) -> str:
    """One clear sentence for why signing ``account`` in failed (or an account action)."""
    domain = account.rpartition("@")[2] or account
    if isinstance(error, AuthenticationFailed):
        return (
            f"The server did not accept the password for {account}. "
            "Check the address and the password, and try again."
        )
    if isinstance(error, CertificateUntrusted):
        return f"The server of {domain} presented a certificate that is not trusted."
    if isinstance(error, ServerUnreachable):
        return (
            f"Chinwag could not reach the server of {domain}. Check your network "
            "connection, and the server and port under Advanced."
        )
    if isinstance(error, TlsFailure):
        return (
            f"A secure connection to the server of {domain} could not be set up. "
            "If the server expects TLS from the start, turn on direct TLS under Advanced."
        )
    if isinstance(error, RegistrationFailed):
        return (
            f"The server did not create {account}: the name may be taken, or the "
            "server may not allow creating accounts from a client."
        )
    if isinstance(error, StreamError):
        return f"The server of {domain} ended the connection."
    if isinstance(error, NotConnected):
        return f"{account} is not signed in."
    if isinstance(error, AccountDisabled):
        return f"{account} is disabled."
    if isinstance(error, ChinwagError):
        return f"Something went wrong with {account}."
    return f"Something unexpected went wrong with {account}."


def failure_details(error: BaseException | None) -> str:
    """The technical reason behind :func:`describe_failure`, for a second line."""
    if error is None or isinstance(error, AuthenticationFailed):
        return ""  # the sentence already says all there is to say
    text = error.message if isinstance(error, ChinwagError) else str(error)
    return text[:1].upper() + text[1:] if text else ""


class MessageKind(enum.Enum):
    HINT = "hint"  # what is still missing: normal text, not alarming
    ERROR = "error"  # something went wrong or is wrong
    INFO = "info"  # progress


class FormMessage(QLabel):
    """A line under a form saying what is missing or what went wrong.

    Errors take a red that is readable on the current palette (light or dark) and are
    announced to screen readers; hints use the palette's own text colour. Hidden when
    there is nothing to say, so the layout does not keep an empty gap."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote user input
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName(name)
        self._kind = MessageKind.HINT
        self._restyling = False
        self.hide()

    @property
    def kind(self) -> MessageKind:
        return self._kind

    def show_message(self, text: str, kind: MessageKind = MessageKind.HINT) -> None:
        changed = text != self.text() or kind is not self._kind
        self._kind = kind
        self.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))
        self._restyle()
        if changed and text and kind is MessageKind.ERROR:
            QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self, text))

    def clear_message(self) -> None:
        self.show_message("")

    def _restyle(self) -> None:
        self._restyling = True
        try:
            palette = self.palette()
            parent = self.parentWidget()
            base = parent.palette() if parent is not None else palette
            if self._kind is MessageKind.ERROR:
                dark = base.color(QPalette.ColorRole.Window).lightness() < 128
                colour = QColor("#ff938a") if dark else QColor("#b3261e")
            else:
                colour = base.color(QPalette.ColorRole.WindowText)
            palette.setColor(QPalette.ColorRole.WindowText, colour)
            self.setPalette(palette)
        finally:
            self._restyling = False

    def changeEvent(self, event: QEvent) -> None:
        # Follow a switch between light and dark while shown.
        if event.type() == QEvent.Type.PaletteChange and not self._restyling:
            self._restyle()
        super().changeEvent(event)


def line_edit(
    parent: QWidget, name: str, *, placeholder: str = "", password: bool = False
) -> QLineEdit:
    """A line edit with its accessible name (screen readers need one on every field)."""
    edit = QLineEdit(parent)
    edit.setAccessibleName(name)
    edit.setPlaceholderText(placeholder)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


def busy_bar(parent: QWidget) -> QProgressBar:
    """A hidden "Busy" bar without end (the server answers when it does), shown while a
    form waits."""
    bar = QProgressBar(parent)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setAccessibleName("Busy")
    bar.hide()
    return bar


def check_box(parent: QWidget, text: str, *, name: str = "", checked: bool = False) -> QCheckBox:
    """A check box named after its text (without the mnemonic), or ``name``."""
    box = QCheckBox(text, parent)
    box.setAccessibleName(name or text.replace("&", ""))
    box.setChecked(checked)
    return box


def chain_tab_order(*widgets: QWidget) -> None:
    """Tab visits ``widgets`` in this order (the reading order, not creation order)."""
    for first, second in itertools.pairwise(widgets):
        QWidget.setTabOrder(first, second)


def port_spin_box(parent: QWidget) -> QSpinBox:
    """A port field where 0 reads "Default" (the port for the TLS mode, or DNS SRV)."""
    spin = QSpinBox(parent)
    spin.setRange(0, 65535)
    spin.setSpecialValueText("Default")
    spin.setAccessibleName("Port")
    spin.setAccessibleDescription("The server's port; Default uses the usual one")
    return spin


def host_problem(host: str) -> str | None:
    host = host.strip()
    if host and not _HOST.match(host):
        return "The server name is not valid: use a host name or an IP address only."
    return None


# --------------------------------------------------------------------------- the editor


class AccountEditor(QDialog):
    """Edits one account's settings, or a new one's (``account=None``).

    Save validates, then calls ``accounts.update`` (and ``set_password``) for an existing
    account, or ``core.add_account`` for a new one, and emits :attr:`saved`. Signing in
    (or back in, see :attr:`reconnect_needed`) is the opener's business."""

    #: The account was saved (its bare address).
    saved = Signal(str)

    def __init__(
        self, ctx: UiContext, account: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._existing = ctx.core.accounts.get(account) if account else None
        self._reconnect_needed = False
        editing = self._existing is not None
        self.setWindowTitle(f"Edit {account}" if editing else "Add account")
        self.setAccessibleName(self.windowTitle())

        self._address = line_edit(self, "Address", placeholder="name@example.org")
        self._password = line_edit(self, "Password", password=True)
        self._remember = check_box(self, "&Remember the password", checked=True)
        # Whether a password is in the keyring cannot be asked without reading it, so
        # the box starts checked and only a change (or a new password) is acted on.
        self._remember_initial = True
        self._resource = line_edit(self, "Resource", placeholder="Chosen for this computer")
        self._resource.setToolTip("Tells your devices apart, e.g. “laptop”")
        self._host = line_edit(self, "Server", placeholder="Found from the address")
        self._port = port_spin_box(self)
        self._tls = QComboBox(self)
        self._tls.setAccessibleName("Encryption")
        self._tls.addItem("STARTTLS (usual port 5222)", TlsMode.STARTTLS.value)
        self._tls.addItem("Direct TLS (usual port 5223)", TlsMode.DIRECT.value)
        self._nickname = line_edit(self, "Nickname", placeholder="Shown to your contacts")
        self._message = FormMessage("Problem", self)

        form = QFormLayout()
        form.addRow("&Address:", self._address)
        form.addRow("&Password:", self._password)
        form.addRow("", self._remember)
        form.addRow("Reso&urce:", self._resource)
        form.addRow("Ser&ver:", self._host)
        form.addRow("P&ort:", self._port)
        form.addRow("&Encryption:", self._tls)
        form.addRow("&Nickname:", self._nickname)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self._save = buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setAccessibleName("Save")
        self._save.setDefault(True)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._message)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)

        if self._existing is not None:
            self._fill(self._existing)
            self._password.setPlaceholderText("Unchanged")
        else:
            self._resource.setText(AccountConfig(jid="").resource)  # the usual default
        for edit in (self._address, self._password, self._host):
            edit.textChanged.connect(self._validate)
        self._validate()

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        """The account edited (after saving a new one: the one added)."""
        return self._existing.jid if self._existing else None

    @property
    def reconnect_needed(self) -> bool:
        """After :attr:`saved`: whether a signed-in session must reconnect to use the
        new settings (server, port, TLS, resource or password changed)."""
        return self._reconnect_needed

    def save(self) -> bool:
        """Validate and save; False (and the reason shown) when something is wrong."""
        problem = self._problem()
        if problem is not None:
            self._message.show_message(problem[0], MessageKind.ERROR)
            return False
        accounts = self._ctx.core.accounts
        password = self._password.text()
        remember = self._remember.isChecked()
        existing = self._existing
        if existing is None:
            config = self._apply(AccountConfig(jid=Jid.parse(self._address.text()).bare))
            self._ctx.core.add_account(config, password, remember=remember)
            self._existing = accounts.get(config.jid)
        else:
            config = self._apply(existing)
            try:
                accounts.update(config)
            except UnknownAccount:
                self._message.show_message(
                    f"{existing.jid} was removed meanwhile; nothing was saved.", MessageKind.ERROR
                )
                return False
            if password:
                accounts.set_password(existing.jid, password, remember=remember)
            elif remember != self._remember_initial:
                # Blank means "unchanged"; only the remember choice changed.
                accounts.set_remember(existing.jid, remember)
            self._reconnect_needed = bool(password) or any(
                getattr(existing, f) != getattr(config, f)
                for f in ("host", "port", "tls", "resource")
            )
            self._existing = config
        self.saved.emit(config.jid)
        self.accept()
        return True

    # -- private ------------------------------------------------------------------------

    def _fill(self, config: AccountConfig) -> None:
        self._address.setText(config.jid)
        self._address.setReadOnly(True)  # the address is the account's identity
        self._address.setAccessibleDescription("The address cannot be changed")
        self._resource.setText(config.resource)
        self._host.setText(config.host)
        self._port.setValue(config.port)
        self._tls.setCurrentIndex(max(0, self._tls.findData(config.tls.value)))
        self._nickname.setText(config.nickname)

    def _apply(self, config: AccountConfig) -> AccountConfig:
        """``config`` with what the form says (the rest, e.g. enabled, is kept)."""
        return replace(
            config,
            resource=self._resource.text().strip(),
            host=self._host.text().strip(),
            port=self._port.value(),
            tls=TlsMode(self._tls.currentData()),
            nickname=self._nickname.text().strip(),
        )

    def _problem(self) -> tuple[str, MessageKind] | None:
        """What stops saving: something typed wrong (an error) or still missing (a hint)."""
        if self._existing is None:
            address = self._address.text()
            problem = address_problem(address)
            if problem is not None:
                return problem, MessageKind.ERROR if address.strip() else MessageKind.HINT
            if self._ctx.core.accounts.find(address) is not None:
                return "Chinwag already has an account with this address.", MessageKind.ERROR
            if not self._password.text():
                return "Enter the account's password.", MessageKind.HINT
        problem = host_problem(self._host.text())
        return (problem, MessageKind.ERROR) if problem else None

    def _validate(self) -> None:
        problem = self._problem()
        self._save.setEnabled(problem is None)
        self._save.setToolTip(problem[0] if problem else "")
        if problem is None:
            self._message.clear_message()
        else:
            self._message.show_message(*problem)
