"""The first-run dialog, shown while Chinwag has no account: sign in with an existing XMPP
address, or create an account on a server that allows in-band registration (XEP-0077),
or "Chat on this network now": serverless chat with the people on the local network
(XEP-0174), signed in at once with nothing to fill in.

The attempt runs as an asyncio task on the one event loop (``core.add_account`` then
``core.sign_in``, through :class:`~chinwag.ui.tasks.UiTasks`) while the dialog shows a
busy bar and stays responsive; Cancel (or deleting the dialog) stops it.
A failed attempt leaves no half-made account behind; an untrusted certificate asks the
:class:`~chinwag.ui.certificate_dialog.CertificateDialog` and tries again if trusted."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import CertificateUntrusted, ChinwagError, UnknownAccount
from chinwag.core.jid import Jid
from chinwag.core.models import AccountConfig, TlsMode
from chinwag.ui.account_editor import (
    FormMessage,
    MessageKind,
    address_problem,
    chain_tab_order,
    check_box,
    describe_failure,
    failure_details,
    host_problem,
    line_edit,
    port_spin_box,
)
from chinwag.ui.certificate_dialog import CertificateDialog
from chinwag.ui.context import UiContext
from chinwag.ui.icons import icon
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)


class Mode(enum.Enum):
    SIGN_IN = "sign-in"  # "I have an XMPP address"
    REGISTER = "register"  # "Create a new account"


class FirstRunDialog(QDialog):
    """Signs the first account in (or registers it); emits :attr:`signed_in` and closes.

    "Trust once" pins the certificate for this run only: by default on the account's
    session (``AccountSession.trusted_once``); ``trust_once(account, fingerprint)``
    replaces that, for a composition root that keeps such pins itself."""

    #: Signed in (the new account's bare address); the dialog has closed.
    signed_in = Signal(str)

    def __init__(
        self,
        ctx: UiContext,
        parent: QWidget | None = None,
        *,
        trust_once: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._trust_once = trust_once or self._trust_for_this_run
        self._tasks = UiTasks(self, "the first-run dialog")
        self._task: asyncio.Task[None] | None = None
        self._pins: dict[str, str] = {}  # account -> fingerprint trusted always, for retries
        self._created: set[str] = set()  # accounts this dialog added and has to undo
        self.setWindowTitle("Welcome to Chinwag")
        self.setWindowIcon(icon("chinwag"))
        self.setAccessibleName("Welcome to Chinwag")

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Chinwag talks over XMPP, an open network of servers run by many people. "
            "Sign in with your address, or create a new one on a server that allows it.",
            self,
        )
        intro.setWordWrap(True)
        intro.setAccessibleName("Introduction")
        layout.addWidget(intro)
        self._build_local_choice(layout)
        self._build_mode_choice(layout)
        self._build_form(layout)
        self._build_advanced(layout)
        self._build_footer(layout)
        chain_tab_order(
            self.local_button,
            self._have,
            self._create,
            self._address,
            self._password,
            self._confirm,
            self._remember,
            self._advanced_toggle,
            self._host,
            self._port,
            self._direct_tls,
            self._go,
            self._cancel,
        )

        self._modes.buttonToggled.connect(lambda *_: self._mode_changed())
        self._advanced_toggle.toggled.connect(self._show_advanced)
        for edit in (self._address, self._password, self._confirm, self._host):
            edit.textChanged.connect(self._validate)
        self._go.clicked.connect(self.start)
        self.local_button.clicked.connect(self.chat_on_this_network)
        self._cancel.clicked.connect(self.reject)
        self._mode_changed()
        self._address.setFocus()
        self.setMinimumWidth(440)  # room for the sentences under the form

    def _build_local_choice(self, layout: QVBoxLayout) -> None:
        self.local_button = QPushButton("Chat on this &network now", self)
        self.local_button.setAccessibleName("Chat on this network now")
        self.local_button.setAccessibleDescription(
            "No server and no account needed: chat with the people on this network who run "
            "Chinwag or another serverless XMPP client (XEP-0174)"
        )
        self.local_button.setToolTip(self.local_button.accessibleDescription())
        self.local_button.setAutoDefault(False)
        note = QLabel("No server needed. Or use an XMPP address:", self)
        note.setWordWrap(True)
        layout.addWidget(self.local_button)
        layout.addWidget(note)

    def _build_mode_choice(self, layout: QVBoxLayout) -> None:
        self._have = QRadioButton("I &have an XMPP address", self)
        self._have.setAccessibleName("I have an XMPP address")
        self._create = QRadioButton("Create a &new account", self)
        self._create.setAccessibleName("Create a new account")
        self._create.setToolTip("The server must allow creating accounts from a client")
        self._modes = QButtonGroup(self)
        self._modes.addButton(self._have)
        self._modes.addButton(self._create)
        self._have.setChecked(True)
        layout.addWidget(self._have)
        layout.addWidget(self._create)

    def _build_form(self, layout: QVBoxLayout) -> None:
        self._address = line_edit(self, "Address", placeholder="name@example.org")
        self._password = line_edit(self, "Password", password=True)
        self._confirm = line_edit(self, "Confirm password", password=True)
        self._remember = check_box(self, "&Remember the password", checked=True)
        self._form = QFormLayout()
        self._form.addRow("&Address:", self._address)
        self._form.addRow("Pass&word:", self._password)
        self._form.addRow("Con&firm password:", self._confirm)
        self._form.addRow("", self._remember)
        layout.addLayout(self._form)

    def _build_advanced(self, layout: QVBoxLayout) -> None:
        toggle = self._advanced_toggle = QToolButton(self)
        toggle.setText("A&dvanced")
        toggle.setAccessibleName("Advanced settings")
        toggle.setCheckable(True)
        toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toggle.setArrowType(Qt.ArrowType.RightArrow)
        toggle.setAutoRaise(True)
        self._advanced = QWidget(self)
        self._host = line_edit(self._advanced, "Server", placeholder="Found from the address")
        self._port = port_spin_box(self._advanced)
        self._direct_tls = check_box(
            self._advanced, "Direct &TLS (encrypted from the first byte)", name="Direct TLS"
        )
        self._direct_tls.setAccessibleDescription("XEP-0368: TLS from the first byte")
        form = QFormLayout(self._advanced)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Ser&ver:", self._host)
        form.addRow("&Port:", self._port)
        form.addRow("", self._direct_tls)
        self._advanced.hide()
        layout.addWidget(toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._advanced)

    def _build_footer(self, layout: QVBoxLayout) -> None:
        self._message = FormMessage("Problem", self)
        self._status = QLabel(self)
        self._status.setAccessibleName("Progress")
        self._status.hide()
        self._busy_bar = QProgressBar(self)
        self._busy_bar.setRange(0, 0)  # indeterminate: how long a server takes is unknown
        self._busy_bar.setTextVisible(False)
        self._busy_bar.setAccessibleName("Busy")
        self._busy_bar.hide()
        self._buttons = QDialogButtonBox(self)
        self._go: QPushButton = self._buttons.addButton(
            "&Sign in", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self._go.setDefault(True)
        self._cancel = self._buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        for widget in (self._message, self._status, self._busy_bar):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self._buttons)

    # -- public -------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return Mode.REGISTER if self._create.isChecked() else Mode.SIGN_IN

    def set_mode(self, mode: Mode) -> None:
        (self._create if mode is Mode.REGISTER else self._have).setChecked(True)

    @property
    def busy(self) -> bool:
        """True while an attempt runs (the form is disabled, Cancel stops it)."""
        return self._task is not None and not self._task.done()

    def start(self) -> bool:
        """Start signing in (or registering) with what the form says; False if the form
        is not complete (its problem is shown) or an attempt is already running."""
        if self.busy:
            return False
        problem = self._problem()
        if problem is not None:
            self._message.show_message(problem[0], MessageKind.ERROR)
            return False
        jid = Jid.parse(self._address.text()).bare
        register = self.mode is Mode.REGISTER
        config = AccountConfig(
            jid=jid,
            host=self._host.text().strip(),
            port=self._port.value(),
            tls=TlsMode.DIRECT if self._direct_tls.isChecked() else TlsMode.STARTTLS,
            trusted_fingerprint=self._pins.get(jid, ""),
        )
        self._message.clear_message()
        self._status.setText(
            f"Creating {jid}…" if register else f"Signing in as {jid}…",
        )
        self._task = self._tasks.start(
            self._attempt(config, self._password.text(), self._remember.isChecked(), register),
            what="signing in",
            on_done=self._attempt_done,
        )
        if self._task is None:
            return False
        self._set_busy(True)
        return True

    def chat_on_this_network(self) -> bool:
        """Turn serverless chat on (the link-local account, added and signed in at
        once); False if an attempt is already running."""
        if self.busy:
            return False
        self._message.clear_message()
        self._status.setText("Joining this network…")
        self._task = self._tasks.start(
            self._attempt_local(), what="chat on this network", on_done=self._attempt_done
        )
        if self._task is None:
            return False
        self._set_busy(True)
        return True

    def cancel_attempt(self) -> None:
        """Stop a running attempt; the form stays open for another try."""
        # Once only: a second cancel would interrupt the clean-up of the first.
        if self._task is not None and not self._task.done() and not self._task.cancelling():
            self._task.cancel()

    def reject(self) -> None:
        """Cancel (or Escape, or the close button) stops a running attempt first; only
        when nothing runs does it close the dialog."""
        if self.busy:
            self.cancel_attempt()
            return
        super().reject()

    # -- the attempt --------------------------------------------------------------------

    async def _attempt(
        self, config: AccountConfig, password: str, remember: bool, register: bool
    ) -> None:
        core = self._ctx.core
        jid = config.jid
        if core.accounts.find(jid) is None:
            self._created.add(jid)
        core.add_account(config, password, remember=remember, primary=True)
        try:
            # keep_trying stays on: once signed in, a dropped connection must come back by
            # itself. A first attempt that fails still raises here, and _discard stops the
            # retries along with the account.
            await core.sign_in(jid, register=register)
        except asyncio.CancelledError:
            await self._discard(jid)
            raise
        except CertificateUntrusted as exc:
            # The account stays (stopped) while the user decides: "Trust always" saves
            # the fingerprint into it.
            self._ask_about_certificate(jid, exc, register)
            return
        except ChinwagError as exc:
            await self._discard(jid)
            self._show_failure(exc, jid)
            return
        self._created.discard(jid)
        log.info("%s: signed in from the first-run dialog", jid)
        self._set_busy(False)
        self.signed_in.emit(jid)
        self.accept()

    async def _attempt_local(self) -> None:
        from chinwag.core.link_local import disable_link_local, enable_link_local

        core = self._ctx.core
        try:
            session = await enable_link_local(core)
        except asyncio.CancelledError:
            await disable_link_local(core)
            raise
        except ChinwagError as exc:
            await disable_link_local(core)  # (not left trying by itself)
            text = exc.message[:1].upper() + exc.message[1:]
            self._message.show_message(f"{text}.", MessageKind.ERROR)
            return
        log.info("%s: serverless chat on from the first-run dialog", session.account)
        self._set_busy(False)
        self.signed_in.emit(session.account)
        self.accept()

    async def _discard(self, jid: str) -> None:
        """Undo a failed attempt: stop its session, and forget an account it created."""
        core = self._ctx.core
        if jid in core.sessions:
            await core.sign_out(jid)
        if jid in self._created:
            self._created.discard(jid)
            with contextlib.suppress(UnknownAccount):
                core.accounts.remove(jid)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        if task is not self._task:
            return
        self._set_busy(False)
        if task.cancelled():
            self._message.show_message("Stopped. Nothing was saved.", MessageKind.HINT)
            return
        exc = task.exception()
        if exc is not None:  # a bug, not a sign-in failure (logged): say so, not hang
            self._message.show_message(f"Something unexpected went wrong: {exc}", MessageKind.ERROR)

    def _show_failure(self, error: BaseException, jid: str) -> None:
        details = failure_details(error)
        text = describe_failure(error, jid)
        self._message.show_message(f"{text}\n{details}" if details else text, MessageKind.ERROR)

    def _ask_about_certificate(self, jid: str, error: CertificateUntrusted, register: bool) -> None:
        dialog = CertificateDialog(self._ctx, jid, error.fingerprint, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.decided.connect(lambda choice: self._certificate_decided(dialog, choice, register))
        dialog.open()

    def _certificate_decided(self, dialog: CertificateDialog, choice: str, register: bool) -> None:
        jid = dialog.account
        if choice == CertificateDialog.CANCEL:
            self._spawn_cleanup(self._discard(jid))
            self._message.show_message(
                f"You did not trust the certificate of {dialog.server}, so Chinwag did "
                "not sign in.",
                MessageKind.ERROR,
            )
            return
        if choice == CertificateDialog.ONCE:
            self._trust_once(jid, dialog.fingerprint)
        elif choice == CertificateDialog.ALWAYS:
            self._pins[jid] = dialog.fingerprint
        self.set_mode(Mode.REGISTER if register else Mode.SIGN_IN)
        self.start()

    def _trust_for_this_run(self, account: str, fingerprint: str) -> None:
        self._ctx.core.session(account).trusted_once = fingerprint

    def _spawn_cleanup(self, coro: Coroutine[Any, Any, None]) -> None:
        """Undo what an attempt left (it finishes even if the dialog goes)."""
        self._tasks.start(coro, what="undoing the attempt", outlive=True)

    # -- the form -----------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.local_button,
            self._have,
            self._create,
            self._address,
            self._password,
            self._confirm,
            self._remember,
            self._advanced_toggle,
            self._advanced,
        ):
            widget.setEnabled(not busy)
        self._busy_bar.setVisible(busy)
        self._status.setVisible(busy)
        self._cancel.setToolTip("Stop signing in" if busy else "")
        if busy:
            self._go.setEnabled(False)
            self._cancel.setFocus()
        else:
            self._validate(keep_message=True)

    def _mode_changed(self) -> None:
        register = self.mode is Mode.REGISTER
        self._form.setRowVisible(self._confirm, register)
        self._go.setText("&Create account" if register else "&Sign in")
        self._go.setAccessibleName("Create account" if register else "Sign in")
        self._password.setPlaceholderText("Choose a password" if register else "")
        self._validate()

    def _show_advanced(self, shown: bool) -> None:
        self._advanced.setVisible(shown)
        self._advanced_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.adjustSize()

    def _problem(self) -> tuple[str, MessageKind] | None:
        """What stops the attempt: something typed wrong (an error) or still missing (a
        hint). Checked as the user types, so the button says why it is disabled."""
        address = self._address.text()
        problem = address_problem(address)
        if problem is not None:
            return problem, MessageKind.ERROR if address.strip() else MessageKind.HINT
        register = self.mode is Mode.REGISTER
        if not self._password.text():
            return ("Choose a password." if register else "Enter your password."), (
                MessageKind.HINT
            )
        if register:
            if not self._confirm.text():
                return "Type the password again to confirm it.", MessageKind.HINT
            if self._confirm.text() != self._password.text():
                return "The two passwords are not the same.", MessageKind.ERROR
        host = host_problem(self._host.text())
        return (host, MessageKind.ERROR) if host else None

    def _validate(self, *_: object, keep_message: bool = False) -> None:
        problem = self._problem()
        self._go.setEnabled(problem is None and not self.busy)
        self._go.setToolTip(problem[0] if problem else "")
        if keep_message and self._message.kind is MessageKind.ERROR and self._message.text():
            return  # keep showing why the last attempt failed until the user edits
        if problem is None:
            self._message.clear_message()
        else:
            self._message.show_message(*problem)
