"""The question a person must answer when a server's certificate is not trusted: show the
server and the certificate's SHA-256 fingerprint so it can be compared with the one the
server's administrator published, and let them trust it once, always, or not at all.

"Trust always" is saved here (the account's ``trusted_fingerprint``), so every place that
asks gets the same behaviour; "Trust once" is only reported (:attr:`decided`) because a
pin that lasts one session belongs to whoever owns the session (the composition root)."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import UnknownAccount
from chinwag.ui.account_editor import FormMessage, MessageKind
from chinwag.ui.context import UiContext

log = logging.getLogger(__name__)

_HEX = frozenset("0123456789abcdef")


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` or ``abcd…`` to 64 lowercase hex digits; "" when it is not SHA-256."""
    hexed = text.replace(":", "").replace(" ", "").strip().lower()
    return hexed if len(hexed) == 64 and set(hexed) <= _HEX else ""


def group_fingerprint(fingerprint: str, per_line: int = 16) -> str:
    """``AB:CD:…`` in lines of ``per_line`` bytes, the way certificate viewers show it."""
    pairs = [fingerprint[i : i + 2].upper() for i in range(0, len(fingerprint), 2)]
    lines = [":".join(pairs[i : i + per_line]) for i in range(0, len(pairs), per_line)]
    return "\n".join(lines)


class CertificateDialog(QDialog):
    """Asks whether to trust a server certificate; emits :attr:`decided` exactly once.

    Open it with ``open()`` (window-modal to its parent, never a nested loop). Without a
    usable fingerprint there is nothing to pin, so only Cancel is offered."""

    ONCE = "once"
    ALWAYS = "always"
    CANCEL = "cancel"

    #: 'once' | 'always' | 'cancel'. For 'always' the fingerprint is already saved.
    decided = Signal(str)

    def __init__(
        self,
        ctx: UiContext,
        account: str,
        fingerprint: str,
        parent: QWidget | None = None,
        *,
        server: str = "",
        allow_once: bool = True,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._account = account
        self._fingerprint = normalise_fingerprint(fingerprint)
        self._server = server or account.rpartition("@")[2] or account
        self._choice: str | None = None

        self.setWindowTitle(f"Untrusted certificate: {self._server}")
        self.setAccessibleName("Untrusted certificate")
        layout = QVBoxLayout(self)
        self._build_text(layout)
        self._message = FormMessage("Problem", self)
        layout.addWidget(self._message)
        self._build_buttons(layout, allow_once)

    def _build_text(self, layout: QVBoxLayout) -> None:
        known = bool(self._fingerprint)
        heading = QLabel(f"Is this really the server {self._server}?", self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        heading.setFont(font)
        heading.setAccessibleName("Question")

        explanation = QLabel(self)
        explanation.setTextFormat(Qt.TextFormat.PlainText)
        explanation.setWordWrap(True)
        explanation.setAccessibleName("Explanation")
        explanation.setText(
            f"The certificate of {self._server} is not signed by an authority this "
            "computer trusts. Servers that sign their own certificate look like this, "
            "but so does someone intercepting the connection.\n\n"
            "Compare the fingerprint below with the one the server's administrator "
            "gave you. Trust it only if they are the same."
            if known
            else f"The certificate of {self._server} is not signed by an authority this "
            "computer trusts, and Chinwag could not read its fingerprint, so it cannot "
            "be checked or trusted from here. Ask the server's administrator."
        )

        caption = QLabel("SHA-256 fingerprint:", self)
        label = self._fingerprint_label = QLabel(
            group_fingerprint(self._fingerprint) if known else "unknown", self
        )
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # Selectable, so it can be copied and compared; by keyboard too, which also lets
        # Tab (and a screen reader) reach it.
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        label.setAccessibleName("SHA-256 fingerprint")
        label.setAccessibleDescription(self._fingerprint or "unknown")
        caption.setBuddy(label)
        layout.addWidget(heading)
        layout.addWidget(explanation)
        layout.addSpacing(6)
        layout.addWidget(caption)
        layout.addWidget(label)

    def _build_buttons(self, layout: QVBoxLayout, allow_once: bool) -> None:
        self._buttons = QDialogButtonBox(self)
        self._once: QPushButton | None = None
        self._always: QPushButton | None = None
        if self._fingerprint:
            if allow_once:
                self._once = self._add_button(
                    "Trust &once", "Connect now; ask again next time", self.ONCE
                )
            self._always = self._add_button(
                "Trust &always", "Remember this certificate for this account", self.ALWAYS
            )
        self._cancel = self._buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._cancel.setAccessibleDescription("Do not connect to this server")
        self._cancel.clicked.connect(self.reject)
        # The safe answer is the default: Enter never trusts a certificate by accident.
        for button in (self._once, self._always, self._cancel):
            if button is not None:
                button.setAutoDefault(False)
        self._cancel.setDefault(True)
        self._cancel.setFocus()
        layout.addWidget(self._buttons)

    def _add_button(self, text: str, description: str, choice: str) -> QPushButton:
        button = self._buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
        button.setAccessibleName(text.replace("&", ""))
        button.setAccessibleDescription(description)
        button.clicked.connect(lambda: self._decide(choice))
        return button

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        return self._account

    @property
    def server(self) -> str:
        return self._server

    @property
    def fingerprint(self) -> str:
        """The certificate's SHA-256, lowercase hex without colons ("" when unknown)."""
        return self._fingerprint

    @property
    def choice(self) -> str | None:
        """What was decided, once :attr:`decided` has been emitted."""
        return self._choice

    # -- closing ------------------------------------------------------------------------

    def reject(self) -> None:
        """Cancel, Escape and the window's close button (QDialog routes it here) all
        mean "do not trust"."""
        if self._choice is None:
            self._choice = self.CANCEL
            super().reject()
            self.decided.emit(self.CANCEL)
        else:
            super().reject()

    def _decide(self, choice: str) -> None:
        if self._choice is not None:
            return
        if choice == self.ALWAYS:
            try:
                config = self._ctx.core.accounts.get(self._account)
                self._ctx.core.accounts.update(
                    replace(config, trusted_fingerprint=self._fingerprint)
                )
            except UnknownAccount:
                self._message.show_message(
                    f"{self._account} was removed meanwhile; nothing was saved.",
                    MessageKind.ERROR,
                )
                return
            log.info("%s: certificate %s trusted always", self._account, self._fingerprint)
        self._choice = choice
        self.accept()
        self.decided.emit(choice)
