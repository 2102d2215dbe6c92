"""The account and contact dialogs driven as a person would: typing, clicking, Enter and
Escape, never ``exec()``. Most run on the ``ui`` rig (a real core and store with a
scripted connection); the sign-in paths also run against the rig's real Prosody."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chinwag.core.errors import AuthenticationFailed, CertificateUntrusted
from chinwag.core.models import AccountConfig, ConnectionState, Contact, TlsMode
from chinwag.ui.account_editor import AccountEditor, address_problem, describe_failure
from chinwag.ui.accounts_dialog import AccountsDialog
from chinwag.ui.add_contact_dialog import AddContactDialog
from chinwag.ui.bridge import EventBridge
from chinwag.ui.certificate_dialog import CertificateDialog, group_fingerprint
from chinwag.ui.context import UiContext
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.first_run_dialog import FirstRunDialog
from integration.helpers import make_core

if TYPE_CHECKING:
    from conftest import UiRig

# Closing a test's only dialog must not quit the QApplication (and stop the loop); in the
# app the tray keeps Chinwag running the same way.
pytestmark = pytest.mark.usefixtures("keep_running_without_windows")

W = TypeVar("W", bound=QWidget)
ENTER = Qt.Key.Key_Return
ESCAPE = Qt.Key.Key_Escape
LEFT = Qt.MouseButton.LeftButton
FINGERPRINT = "0123456789abcdef" * 4


# --------------------------------------------------------------------------- helpers


def named(parent: QWidget, kind: type[W], name: str) -> W:
    """The one visible-or-not child of ``kind`` whose accessible name is ``name`` (every
    control must have one, so tests find controls the way a screen reader does)."""
    found = [w for w in parent.findChildren(kind) if w.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {kind.__name__} named {name!r}"
    return found[0]


def message(dialog: QWidget) -> str:
    """What the dialog's problem line says ("" when hidden)."""
    label = named(dialog, QLabel, "Problem")
    return label.text() if label.isVisible() else ""


class Spy:
    """Records a Qt signal's emissions."""

    def __init__(self, signal: SignalInstance) -> None:
        self.calls: list[tuple[Any, ...]] = []
        signal.connect(self._record)

    def _record(self, *args: Any) -> None:
        self.calls.append(args)


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Let the event loop run (no nested Qt loop) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


def child_dialog(parent: QWidget, kind: type[W]) -> W | None:
    """The visible dialog of ``kind`` that ``parent`` opened, if any."""
    shown = [d for d in parent.findChildren(kind) if shiboken6.isValid(d) and d.isVisible()]
    return shown[0] if shown else None


def click(qtbot: QtBot, widget: QWidget) -> None:
    """Click ``widget`` where a person would: a radio button or check box on its label
    (they stretch across the dialog, and their middle may be empty space)."""
    if isinstance(widget, (QRadioButton, QCheckBox)):
        qtbot.mouseClick(widget, LEFT, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, LEFT)


def show(qtbot: QtBot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


async def activate(dialog: QWidget) -> None:
    """Make ``dialog`` the active window, so keyboard focus and shortcuts work as on a
    desktop (the offscreen platform activates windows once the loop runs)."""
    dialog.activateWindow()
    await eventually(lambda: QApplication.activeWindow() is dialog, 5.0, "activation")


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    parent = widget.parentWidget()
    # A spin box or editable combo box has focus through its own line edit.
    return parent if isinstance(parent, (QSpinBox, QComboBox)) else widget


def tab_through(qtbot: QtBot, count: int) -> list[str]:
    """Press Tab ``count`` times; the accessible names of the controls reached."""
    names = []
    for _ in range(count):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        names.append(focused().accessibleName())
    return names


def _no_window(account: str, peer: str) -> object:
    raise AssertionError("no conversation window is expected here")


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[UiContext]:
    """A UI context on a real core (storage, password file, slixmpp) with no account."""
    core = make_core(tmp_path / "profile")
    bridge = EventBridge(core.bus)
    try:
        yield UiContext(core, bridge, ConversationWindows(_no_window))
    finally:
        bridge.close()
        await core.shutdown()


def fill_first_run(
    qtbot: QtBot,
    dialog: FirstRunDialog,
    jid: str,
    password: str,
    server: Any = None,
    *,
    register: bool = False,
) -> None:
    if register:
        click(qtbot, named(dialog, QRadioButton, "Create a new account"))
    qtbot.keyClicks(named(dialog, QLineEdit, "Address"), jid)
    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), password)
    if register:
        qtbot.keyClicks(named(dialog, QLineEdit, "Confirm password"), password)
    if server is not None:  # the rig's servers listen on 127.0.0.1 and their own port
        click(qtbot, named(dialog, QToolButton, "Advanced settings"))
        qtbot.keyClicks(named(dialog, QLineEdit, "Server"), server.host)
        port = named(dialog, QSpinBox, "Port")
        port.lineEdit().selectAll()
        qtbot.keyClicks(port.lineEdit(), str(server.port))


# --------------------------------------------------------------------------- helpers' words


def test_address_problems_are_sentences() -> None:
    assert address_problem("") == "Enter an address, like name@example.org."
    assert address_problem("alice@example.org") is None
    assert (
        address_problem("example.org") == "Add your name before the server, like name@example.org."
    )
    assert address_problem("bob", whose="the contact's") == (
        "Add the contact's name before the server, like name@bob."
    )
    assert address_problem("a@") == "This address is not valid: no domain."
    assert address_problem("a b@example.org") == (
        "This address is not valid: the name contains a character not allowed."
    )
    assert "resource" in (address_problem("a@example.org/laptop") or "")


def test_each_sign_in_failure_has_its_sentence() -> None:
    assert "did not accept the password" in describe_failure(
        AuthenticationFailed("refused"), "a@example.org"
    )
    assert "not trusted" in describe_failure(CertificateUntrusted("x"), "a@example.org")


# --------------------------------------------------------------------------- first run


async def test_first_run_validates_the_address_as_it_is_typed(
    real: UiContext, qtbot: QtBot
) -> None:
    dialog = show(qtbot, FirstRunDialog(real))
    sign_in = named(dialog, QPushButton, "Sign in")
    address = named(dialog, QLineEdit, "Address")
    assert not sign_in.isEnabled()
    assert message(dialog) == "Enter an address, like name@example.org."

    qtbot.keyClicks(address, "alice")
    assert message(dialog) == "Add your name before the server, like name@alice."
    qtbot.keyClicks(address, "@")
    assert message(dialog) == "This address is not valid: no domain."
    assert sign_in.toolTip() == message(dialog)  # the disabled button says why
    qtbot.keyClicks(address, "example.org")
    assert message(dialog) == "Enter your password."
    assert not sign_in.isEnabled()

    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), "pw")
    assert sign_in.isEnabled()
    assert message(dialog) == ""


async def test_first_run_create_mode_asks_for_the_password_twice(
    real: UiContext, qtbot: QtBot
) -> None:
    dialog = show(qtbot, FirstRunDialog(real))
    confirm = named(dialog, QLineEdit, "Confirm password")
    assert not confirm.isVisible()

    click(qtbot, named(dialog, QRadioButton, "Create a new account"))
    assert confirm.isVisible()
    create = named(dialog, QPushButton, "Create account")
    qtbot.keyClicks(named(dialog, QLineEdit, "Address"), "new@example.org")
    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), "s3cret")
    assert message(dialog) == "Type the password again to confirm it."
    qtbot.keyClicks(confirm, "s3crex")
    assert message(dialog) == "The two passwords are not the same."
    assert not create.isEnabled()
    qtbot.keyClick(confirm, Qt.Key.Key_Backspace)
    qtbot.keyClicks(confirm, "t")
    assert create.isEnabled()

    click(qtbot, named(dialog, QRadioButton, "I have an XMPP address"))
    assert not confirm.isVisible()
    assert named(dialog, QPushButton, "Sign in").isEnabled()


async def test_first_run_advanced_settings_and_tab_order(real: UiContext, qtbot: QtBot) -> None:
    dialog = show(qtbot, FirstRunDialog(real))
    host = named(dialog, QLineEdit, "Server")
    assert not host.isVisible()
    advanced = named(dialog, QToolButton, "Advanced settings")
    click(qtbot, advanced)
    assert host.isVisible()
    assert named(dialog, QSpinBox, "Port").text() == "Default"
    assert named(dialog, QCheckBox, "Direct TLS").isVisible()

    qtbot.keyClicks(host, "exa mple.org")
    qtbot.keyClicks(named(dialog, QLineEdit, "Address"), "a@example.org")
    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), "pw")
    assert message(dialog).startswith("The server name is not valid")

    host.clear()
    qtbot.keyClicks(host, "xmpp.example.org")
    assert message(dialog) == ""
    await activate(dialog)
    named(dialog, QLineEdit, "Address").setFocus()
    assert tab_through(qtbot, 8) == [
        "Password",
        "Remember the password",
        "Advanced settings",
        "Server",
        "Port",
        "Direct TLS",
        "Sign in",
        "Cancel",
    ]


async def test_first_run_escape_closes_it_when_nothing_runs(real: UiContext, qtbot: QtBot) -> None:
    dialog = show(qtbot, FirstRunDialog(real))
    qtbot.keyClick(named(dialog, QLineEdit, "Address"), ESCAPE)
    assert not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Rejected


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


async def test_first_run_cancel_stops_the_attempt_and_keeps_nothing(
    real: UiContext, qtbot: QtBot, silent_server: int
) -> None:
    dialog = show(qtbot, FirstRunDialog(real))
    server = type("Silent", (), {"host": "127.0.0.1", "port": silent_server})()
    fill_first_run(qtbot, dialog, "alice@example.org", "pw", server)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)

    busy = named(dialog, QProgressBar, "Busy")
    assert busy.isVisible()
    assert not named(dialog, QLineEdit, "Address").isEnabled()
    assert not named(dialog, QPushButton, "Sign in").isEnabled()
    await eventually(lambda: real.core.state("alice@example.org") is ConnectionState.CONNECTING)
    assert real.core.accounts.find("alice@example.org") is not None

    qtbot.keyClick(dialog, ESCAPE)  # Escape while busy stops, and does not close
    await eventually(lambda: not dialog.busy, what="the attempt to stop")
    assert dialog.isVisible()
    assert not busy.isVisible()
    assert message(dialog) == "Stopped. Nothing was saved."
    assert real.core.accounts.accounts == ()
    assert named(dialog, QLineEdit, "Address").isEnabled()

    click(qtbot, named(dialog, QPushButton, "Cancel"))
    assert not dialog.isVisible()


async def test_first_run_unreachable_server_says_so(real: UiContext, qtbot: QtBot) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = type("Closed", (), {"host": "127.0.0.1", "port": probe.getsockname()[1]})()
    dialog = show(qtbot, FirstRunDialog(real))
    fill_first_run(qtbot, dialog, "alice@example.org", "pw", closed)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)

    await eventually(lambda: message(dialog), what="a message")
    first_line, details = message(dialog).split("\n")
    assert first_line == (
        "Chinwag could not reach the server of example.org. Check your network "
        "connection, and the server and port under Advanced."
    )
    assert details.startswith("Cannot reach the server of alice@example.org")
    await eventually(lambda: not dialog.busy)
    # Nothing keeps trying in the background, and nothing was kept.
    assert real.core.accounts.accounts == ()
    assert real.core.sessions == {}


async def test_first_run_signs_in_against_prosody(
    prosody: Any, real: UiContext, qtbot: QtBot
) -> None:
    jid, password = prosody.make_user("alice")
    dialog = show(qtbot, FirstRunDialog(real))
    signed_in = Spy(dialog.signed_in)
    fill_first_run(qtbot, dialog, jid, password, prosody)
    click(qtbot, named(dialog, QPushButton, "Sign in"))
    assert named(dialog, QProgressBar, "Busy").isVisible()

    await eventually(lambda: signed_in.calls, what="signed_in")
    assert signed_in.calls == [(jid,)]
    assert not dialog.isVisible()
    assert real.core.state(jid) is ConnectionState.ONLINE
    config = real.core.accounts.get(jid)
    assert (config.host, config.port, config.tls) == (prosody.host, prosody.port, TlsMode.STARTTLS)
    assert real.core.primary == jid


async def test_first_run_wrong_password_says_so(
    prosody: Any, real: UiContext, qtbot: QtBot
) -> None:
    jid, _ = prosody.make_user("alice")
    dialog = show(qtbot, FirstRunDialog(real))
    fill_first_run(qtbot, dialog, jid, "not-the-password", prosody)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)

    await eventually(lambda: "did not accept the password" in message(dialog))
    assert message(dialog) == (
        f"The server did not accept the password for {jid}. "
        "Check the address and the password, and try again."
    )
    assert dialog.isVisible()
    assert not dialog.busy
    assert real.core.accounts.accounts == ()  # no half-made account is left behind
    sign_in = named(dialog, QPushButton, "Sign in")
    assert sign_in.isEnabled()  # another try is one click away

    # Typing again replaces the old failure with the form's own state.
    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), "x")
    assert message(dialog) == ""


async def test_first_run_registers_a_new_account(
    prosody: Any, real: UiContext, qtbot: QtBot
) -> None:
    jid = f"{prosody.unique_name('new')}@{prosody.domain}"
    dialog = show(qtbot, FirstRunDialog(real))
    signed_in = Spy(dialog.signed_in)
    fill_first_run(qtbot, dialog, jid, "s3cret-pass", prosody, register=True)
    click(qtbot, named(dialog, QPushButton, "Create account"))

    await eventually(lambda: signed_in.calls, what="signed_in")
    assert signed_in.calls == [(jid,)]
    assert real.core.state(jid) is ConnectionState.ONLINE


async def test_first_run_registration_refused_says_so(
    prosody: Any, real: UiContext, qtbot: QtBot
) -> None:
    jid, _ = prosody.make_user("taken")
    dialog = show(qtbot, FirstRunDialog(real))
    fill_first_run(qtbot, dialog, jid, "other-pass", prosody, register=True)
    click(qtbot, named(dialog, QPushButton, "Create account"))

    await eventually(lambda: message(dialog), what="a message")
    assert message(dialog).startswith(f"The server did not create {jid}: the name may be taken")
    assert real.core.accounts.accounts == ()


async def test_first_run_untrusted_certificate_opens_the_certificate_dialog(
    prosody_untrusted: Any, real: UiContext, qtbot: QtBot
) -> None:
    server = prosody_untrusted
    jid, password = server.make_user("alice")
    dialog = show(qtbot, FirstRunDialog(real))
    fill_first_run(qtbot, dialog, jid, password, server)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)

    certificate = await eventually(lambda: child_dialog(dialog, CertificateDialog))
    assert certificate.isModal() or certificate.windowModality() != Qt.WindowModality.NonModal
    assert certificate.server == server.domain
    assert f"Is this really the server {server.domain}?" in [
        label.text() for label in certificate.findChildren(QLabel)
    ]
    shown = named(certificate, QLabel, "SHA-256 fingerprint").text()
    assert certificate.fingerprint == server.server_cert_fingerprint
    assert shown == group_fingerprint(server.server_cert_fingerprint)

    click(qtbot, named(certificate, QPushButton, "Cancel"))
    await eventually(lambda: real.core.accounts.accounts == (), what="the account to go")
    assert "did not trust the certificate" in message(dialog)
    assert dialog.isVisible()


async def test_first_run_trust_once_signs_in_without_saving(
    prosody_untrusted: Any, real: UiContext, qtbot: QtBot
) -> None:
    server = prosody_untrusted
    jid, password = server.make_user("alice")
    dialog = show(qtbot, FirstRunDialog(real))
    signed_in = Spy(dialog.signed_in)
    fill_first_run(qtbot, dialog, jid, password, server)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)
    certificate = await eventually(lambda: child_dialog(dialog, CertificateDialog))

    click(qtbot, named(certificate, QPushButton, "Trust once"))
    await eventually(lambda: signed_in.calls, what="signed_in")
    assert real.core.state(jid) is ConnectionState.ONLINE
    assert real.core.accounts.get(jid).trusted_fingerprint == ""  # nothing saved
    assert real.core.sessions[jid].trusted_once == server.server_cert_fingerprint


async def test_first_run_trust_always_pins_and_signs_in(
    prosody_untrusted: Any, real: UiContext, qtbot: QtBot
) -> None:
    server = prosody_untrusted
    jid, password = server.make_user("alice")
    trusted_once: list[tuple[str, str]] = []
    dialog = show(qtbot, FirstRunDialog(real, trust_once=lambda *a: trusted_once.append(a)))
    signed_in = Spy(dialog.signed_in)
    fill_first_run(qtbot, dialog, jid, password, server)
    qtbot.keyClick(named(dialog, QLineEdit, "Password"), ENTER)
    certificate = await eventually(lambda: child_dialog(dialog, CertificateDialog))
    click(qtbot, named(certificate, QPushButton, "Trust always"))
    await eventually(lambda: signed_in.calls, what="signed_in")
    assert real.core.accounts.get(jid).trusted_fingerprint == server.server_cert_fingerprint
    assert real.core.state(jid) is ConnectionState.ONLINE
    assert trusted_once == []


# --------------------------------------------------------------------------- certificate


async def test_certificate_dialog_shows_the_grouped_fingerprint_and_trusts_always(
    ui: UiRig, qtbot: QtBot
) -> None:
    dialog = show(qtbot, CertificateDialog(ui.ctx, ui.me, FINGERPRINT.upper()))
    decided = Spy(dialog.decided)
    assert dialog.fingerprint == FINGERPRINT
    text = named(dialog, QLabel, "SHA-256 fingerprint").text()
    assert text.splitlines() == [
        "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
        "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
    ]
    assert dialog.server == "example.org"
    buttons = [b.accessibleName() for b in dialog.findChildren(QPushButton)]
    assert sorted(buttons) == ["Cancel", "Trust always", "Trust once"]

    click(qtbot, named(dialog, QPushButton, "Trust always"))
    assert decided.calls == [("always",)]
    assert ui.core.accounts.get(ui.me).trusted_fingerprint == FINGERPRINT
    assert not dialog.isVisible()


async def test_certificate_dialog_enter_and_escape_never_trust(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, CertificateDialog(ui.ctx, ui.me, FINGERPRINT))
    decided = Spy(dialog.decided)
    assert named(dialog, QPushButton, "Cancel").isDefault()
    qtbot.keyClick(named(dialog, QPushButton, "Cancel"), ENTER)
    assert decided.calls == [("cancel",)]
    assert ui.core.accounts.get(ui.me).trusted_fingerprint == ""

    again = show(qtbot, CertificateDialog(ui.ctx, ui.me, FINGERPRINT))
    decided = Spy(again.decided)
    qtbot.keyClick(again, ESCAPE)
    again.close()  # closing after deciding decides nothing more
    assert decided.calls == [("cancel",)]


async def test_certificate_dialog_trust_once_only_reports(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, CertificateDialog(ui.ctx, ui.me, FINGERPRINT))
    decided = Spy(dialog.decided)
    click(qtbot, named(dialog, QPushButton, "Trust once"))
    assert decided.calls == [("once",)]
    assert dialog.choice == "once"
    assert ui.core.accounts.get(ui.me).trusted_fingerprint == ""  # not saved


async def test_certificate_dialog_without_fingerprint_offers_only_cancel(
    ui: UiRig, qtbot: QtBot
) -> None:
    dialog = show(qtbot, CertificateDialog(ui.ctx, ui.me, "", allow_once=True))
    assert named(dialog, QLabel, "SHA-256 fingerprint").text() == "unknown"
    assert [b.accessibleName() for b in dialog.findChildren(QPushButton)] == ["Cancel"]
    no_once = show(qtbot, CertificateDialog(ui.ctx, ui.me, FINGERPRINT, allow_once=False))
    assert sorted(b.accessibleName() for b in no_once.findChildren(QPushButton)) == [
        "Cancel",
        "Trust always",
    ]


# --------------------------------------------------------------------------- accounts


def row(dialog: AccountsDialog, account: str) -> tuple[str, str]:
    view = named(dialog, QTreeWidget, "Accounts")
    for index in range(view.topLevelItemCount()):
        item = view.topLevelItem(index)
        if item.text(0).split(" ")[0] == account:
            return item.text(0), item.text(1)
    raise AssertionError(f"no row for {account}")


async def test_accounts_dialog_follows_the_connection_live(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    assert row(dialog, ui.me) == (ui.me, "Offline")
    assert dialog.selected == ui.me

    conn = await ui.sign_in()
    assert row(dialog, ui.me)[1] == "Online"
    conn.reachable = False
    conn.drop()
    view = named(dialog, QTreeWidget, "Accounts")
    # Reconnecting at once (the drop's "connection reset"), then the first attempt to
    # come back fails: the tooltip says why.
    await eventually(
        lambda: (
            row(dialog, ui.me)[1] == "Reconnecting…"
            and view.topLevelItem(0).toolTip(1) == "The test server is down"
        ),
        what="reconnecting, the server down",
    )
    conn.reachable = True
    await eventually(lambda: row(dialog, ui.me)[1] == "Online", what="back online")


async def test_accounts_dialog_adds_an_account_through_the_editor(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    click(qtbot, named(dialog, QPushButton, "Add"))
    editor = child_dialog(dialog, AccountEditor)
    assert editor is not None
    assert editor.windowModality() != Qt.WindowModality.NonModal  # open(), not exec()
    save = named(editor, QPushButton, "Save")
    assert not save.isEnabled()

    address = named(editor, QLineEdit, "Address")
    qtbot.keyClicks(address, ui.me)
    assert message(editor) == "Chinwag already has an account with this address."
    address.clear()
    qtbot.keyClicks(address, "second@example.org/x")
    assert "resource" in message(editor)
    address.clear()
    qtbot.keyClicks(address, "second@example.org")
    assert message(editor) == "Enter the account's password."
    qtbot.keyClicks(named(editor, QLineEdit, "Password"), "pw2")
    qtbot.keyClicks(named(editor, QLineEdit, "Nickname"), "Two")
    encryption = named(editor, QComboBox, "Encryption")
    encryption.setCurrentIndex(1)
    qtbot.keyClick(named(editor, QLineEdit, "Nickname"), ENTER)

    assert not editor.isVisible()
    config = ui.core.accounts.get("second@example.org")
    assert (config.nickname, config.tls) == ("Two", TlsMode.DIRECT)
    assert config.resource.startswith("chinwag-")  # one of its own, so devices do not clash
    assert ui.core.accounts.password("second@example.org") == "pw2"
    # A new enabled account signs in straight away, and the row follows.
    await eventually(lambda: row(dialog, "second@example.org")[1] == "Online")
    assert dialog.selected == "second@example.org"
    assert row(dialog, ui.me)[0] == f"{ui.me} (primary)"


async def test_accounts_dialog_escape_closes_the_editor_then_the_dialog(
    ui: UiRig, qtbot: QtBot
) -> None:
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    click(qtbot, named(dialog, QPushButton, "Add"))
    editor = child_dialog(dialog, AccountEditor)
    assert editor is not None
    qtbot.keyClicks(named(editor, QLineEdit, "Address"), "third@example.org")
    qtbot.keyClick(named(editor, QLineEdit, "Address"), ESCAPE)
    assert not editor.isVisible()
    assert [a.jid for a in ui.core.accounts.accounts] == [ui.me]  # nothing was saved
    qtbot.keyClick(named(dialog, QTreeWidget, "Accounts"), ESCAPE)
    assert not dialog.isVisible()


async def test_accounts_dialog_edits_the_selected_account(ui: UiRig, qtbot: QtBot) -> None:
    await ui.sign_in()
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    await activate(dialog)
    view = named(dialog, QTreeWidget, "Accounts")
    assert focused() is view
    qtbot.keyClick(view, ENTER)  # Enter on the list edits, it does not close the dialog
    assert dialog.isVisible()
    editor = child_dialog(dialog, AccountEditor)
    assert editor is not None
    address = named(editor, QLineEdit, "Address")
    assert address.isReadOnly()
    assert address.text() == ui.me
    assert named(editor, QLineEdit, "Password").placeholderText() == "Unchanged"
    assert named(editor, QLineEdit, "Nickname").text() == "Me"

    resource = named(editor, QLineEdit, "Resource")
    resource.clear()
    qtbot.keyClicks(resource, "laptop")
    connections = len(ui.connections)
    click(qtbot, named(editor, QPushButton, "Save"))

    config = ui.core.accounts.get(ui.me)
    assert config.resource == "laptop"
    assert ui.core.accounts.password(ui.me) == "secret"  # blank meant unchanged
    # A new resource needs a new connection: the session reconnects by itself.
    await eventually(lambda: len(ui.connections) > connections, what="a reconnect")
    await eventually(lambda: row(dialog, ui.me)[1] == "Online")


async def test_accounts_dialog_disables_and_enables(ui: UiRig, qtbot: QtBot) -> None:
    await ui.sign_in()
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    click(qtbot, named(dialog, QPushButton, "Disable"))
    await eventually(lambda: row(dialog, ui.me)[1] == "Disabled")
    # The row says so as soon as the account is disabled; signing out takes a moment more.
    await eventually(lambda: ui.core.state(ui.me) is ConnectionState.OFFLINE, what="signed out")
    assert not ui.core.accounts.get(ui.me).enabled

    click(qtbot, named(dialog, QPushButton, "Enable"))
    await eventually(lambda: row(dialog, ui.me)[1] == "Online")
    assert ui.core.accounts.get(ui.me).enabled


async def test_accounts_dialog_removes_only_after_asking(ui: UiRig, qtbot: QtBot) -> None:
    await ui.sign_in()
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    click(qtbot, named(dialog, QPushButton, "Remove"))
    box = child_dialog(dialog, QMessageBox)
    assert box is not None
    assert box.text() == f"Remove {ui.me} from Chinwag?"
    assert named(box, QAbstractButton, "Cancel") is box.defaultButton()
    click(qtbot, named(box, QAbstractButton, "Cancel"))
    await asyncio.sleep(0.05)
    assert ui.core.accounts.find(ui.me) is not None

    await activate(dialog)
    view = named(dialog, QTreeWidget, "Accounts")
    rect = view.visualItemRect(view.topLevelItem(0))
    qtbot.mouseClick(view.viewport(), LEFT, pos=rect.center())  # focus the list
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    box = child_dialog(dialog, QMessageBox)
    assert box is not None
    click(qtbot, named(box, QAbstractButton, "Remove"))
    await eventually(lambda: ui.core.accounts.accounts == (), what="the removal")
    view = named(dialog, QTreeWidget, "Accounts")
    assert view.topLevelItemCount() == 1  # only the serverless row (off), always there
    assert view.topLevelItem(0).text(0) == "This network (no server)"
    assert not named(dialog, QPushButton, "Edit").isEnabled()


async def test_accounts_dialog_shows_why_an_account_failed(
    prosody: Any, real: UiContext, qtbot: QtBot
) -> None:
    jid, _ = prosody.make_user("alice")
    real.core.add_account(
        AccountConfig(jid=jid, host=prosody.host, port=prosody.port, enabled=False), "wrong"
    )
    dialog = show(qtbot, AccountsDialog(real))
    assert row(dialog, jid)[1] == "Disabled"
    click(qtbot, named(dialog, QPushButton, "Enable"))
    await eventually(lambda: "did not accept the password" in row(dialog, jid)[1])
    assert real.core.state(jid) is ConnectionState.FAILED


# --------------------------------------------------------------------------- add contact


async def test_add_contact_validates_and_adds(ui: UiRig, qtbot: QtBot) -> None:
    conn = await ui.sign_in()
    ui.set_contact("old@example.net", name="Old")
    friend = Contact(ui.me, "friend@example.net", groups=("Work", "Friends"))
    conn.listener.on_roster([friend], "", full=False)
    dialog = show(qtbot, AddContactDialog(ui.ctx))
    added = Spy(dialog.added)
    add = named(dialog, QPushButton, "Add")
    assert not named(dialog, QComboBox, "Account").isVisible()  # one account: no choice
    assert not add.isEnabled()
    assert message(dialog) == "Enter an address, like name@example.org."

    address = named(dialog, QLineEdit, "Contact's address")
    qtbot.keyClicks(address, "old@example.net")
    assert message(dialog) == "old@example.net is already one of your contacts."
    address.clear()
    qtbot.keyClicks(address, ui.me)
    assert message(dialog) == "That is your own address."
    address.clear()
    qtbot.keyClicks(address, "example.net")
    assert message(dialog) == "Add the contact's name before the server, like name@example.net."
    address.clear()
    qtbot.keyClicks(address, "New@Example.net")
    assert add.isEnabled()

    group = named(dialog, QComboBox, "Group")
    assert [group.itemText(i) for i in range(group.count())] == ["", "Friends", "Work"]
    qtbot.keyClicks(named(dialog, QLineEdit, "Display name"), "Newcomer")
    qtbot.keyClicks(group.lineEdit(), "Friends")
    qtbot.keyClicks(named(dialog, QPlainTextEdit, "Message"), "Hi, it's me from the club")
    click(qtbot, add)

    await eventually(lambda: added.calls, what="added")
    assert added.calls == [(ui.me, "new@example.net")]
    assert not dialog.isVisible()
    assert [(m.peer, m.body) for m in conn.sent] == [
        ("new@example.net", "Hi, it's me from the club")
    ]


async def test_add_contact_shows_a_refusal_and_stays_open(ui: UiRig, qtbot: QtBot) -> None:
    conn = await ui.sign_in()

    async def refuse(jid: str, name: str, groups: Any) -> None:
        raise RuntimeError("not-allowed")  # the server answers the roster set with an error

    conn.roster_set = refuse  # type: ignore[method-assign]
    dialog = show(qtbot, AddContactDialog(ui.ctx, jid="new@example.net"))
    added = Spy(dialog.added)
    address = named(dialog, QLineEdit, "Contact's address")
    qtbot.keyClick(address, ENTER)  # Enter adds, like the Add button

    # The refusal is shown from the adding task; the form is enabled again once it ended.
    await eventually(lambda: message(dialog) and address.isEnabled(), what="the refusal")
    assert message(dialog) == "The server did not add new@example.net: not-allowed."
    assert dialog.isVisible()
    assert added.calls == []
    assert address.isEnabled()
    assert named(dialog, QPushButton, "Add").isEnabled()  # to try again


async def test_add_contact_needs_a_signed_in_account(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, AddContactDialog(ui.ctx, jid="new@example.net"))
    add = named(dialog, QPushButton, "Add")
    assert message(dialog) == f"Sign in to {ui.me} to add contacts to it."
    assert not add.isEnabled()
    await ui.sign_in()  # the dialog follows the connection
    assert add.isEnabled()
    assert message(dialog) == ""


async def test_add_contact_offers_a_choice_of_accounts(ui: UiRig, qtbot: QtBot) -> None:
    ui.core.add_account(AccountConfig(jid="work@example.com"), "pw")
    await ui.sign_in()
    dialog = show(qtbot, AddContactDialog(ui.ctx))
    accounts = named(dialog, QComboBox, "Account")
    assert accounts.isVisible()
    assert accounts.currentText() == ui.me  # the one signed in
    accounts.setCurrentIndex(accounts.findText("work@example.com"))
    qtbot.keyClicks(named(dialog, QLineEdit, "Contact's address"), "x@example.net")
    assert message(dialog) == "Sign in to work@example.com to add contacts to it."


async def test_add_contact_escape_closes(ui: UiRig, qtbot: QtBot) -> None:
    dialog = show(qtbot, AddContactDialog(ui.ctx))
    qtbot.keyClick(named(dialog, QLineEdit, "Contact's address"), ESCAPE)
    assert not dialog.isVisible()


async def test_every_control_has_an_accessible_name(ui: UiRig, qtbot: QtBot) -> None:
    ui.core.add_account(AccountConfig(jid="work@example.com"), "pw")
    dialogs: list[QDialog] = [
        FirstRunDialog(ui.ctx, trust_once=lambda *_: None),
        CertificateDialog(ui.ctx, ui.me, FINGERPRINT),
        AccountsDialog(ui.ctx),
        AccountEditor(ui.ctx, None),
        AccountEditor(ui.ctx, ui.me),
        AddContactDialog(ui.ctx),
    ]
    controls = (QLineEdit, QAbstractButton, QComboBox, QSpinBox, QPlainTextEdit, QTreeWidget)
    for dialog in dialogs:
        show(qtbot, dialog)
        assert dialog.accessibleName(), type(dialog).__name__
        for kind in controls:
            for widget in dialog.findChildren(kind):
                parent = widget.parentWidget()
                if isinstance(parent, QSpinBox) or not widget.isVisibleTo(dialog):
                    continue  # a spin box's own editor is named by the spin box
                assert widget.accessibleName(), f"{type(dialog).__name__}: {widget!r}"


async def test_accounts_dialog_makes_another_account_primary(ui: UiRig, qtbot: QtBot) -> None:
    from chinwag.core.models import AccountConfig

    ui.core.add_account(AccountConfig(jid="second@example.org", enabled=False), "pw")
    dialog = show(qtbot, AccountsDialog(ui.ctx))
    primary = named(dialog, QPushButton, "Make primary")
    dialog.select(ui.me)
    assert not primary.isEnabled()  # it is the primary already
    dialog.select("second@example.org")
    assert primary.isEnabled()
    click(qtbot, primary)
    assert [a.jid for a in ui.core.accounts.accounts] == ["second@example.org", ui.me]
    assert dialog.selected == "second@example.org"
    assert not primary.isEnabled()
