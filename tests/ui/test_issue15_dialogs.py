"""Every dialog of issue 15, as a person uses it: each control of the Preferences dialog
takes effect at once (the application, the core, the login entry) and is saved to
``preferences.json`` with no OK to press; Escape closes the Preferences, About, Keyboard
shortcuts and the Script gateways page's dialogs; their controls have accessible names.

Real core and storage (the UI rig), the real login-entry writer in the test's own
``XDG_CONFIG_HOME``; real Qt (offscreen)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QLineEdit,
    QSpinBox,
    QTreeWidget,
    QWidget,
)

from chinwag.gateways.control import GatewayControl
from chinwag.gateways.keys import KeyKind
from chinwag.system import preferences as p
from chinwag.system.autostart import autostart_path
from chinwag.system.autostart import set_autostart as real_autostart
from chinwag.system.preferences import FILE_NAME, Preferences
from chinwag.ui import message_delegate
from chinwag.ui.appearance import PreferencesApplier
from chinwag.ui.gateway_keys_page import CreateKeyDialog, SecretDialog
from chinwag.ui.help_dialogs import AboutDialog, ShortcutsDialog
from chinwag.ui.main_window import MainWindow
from chinwag.ui.preferences_dialog import PreferencesDialog

if TYPE_CHECKING:
    from conftest import UiRig

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def applied(ui: UiRig, qapp: QApplication, tmp_path: Path) -> Iterator[PreferencesApplier]:
    """The preferences in a file, applied as the app applies them (with the real login
    entry writer); the application's palette, font and density are put back after."""
    ui.ctx.preferences = Preferences(tmp_path / FILE_NAME)
    palette, font = QPalette(qapp.palette()), QFont(qapp.font())
    applier = PreferencesApplier(ui.ctx, qapp, real_autostart)
    yield applier
    applier.close()
    qapp.setPalette(palette)
    qapp.setFont(font)
    message_delegate.set_density("comfortable")


@pytest.fixture
async def main(ui: UiRig, tmp_path: Path, qtbot: Any) -> AsyncIterator[MainWindow]:
    ui.ctx.gateways = GatewayControl(tmp_path / "config", tmp_path / "state", _no_api)
    window = MainWindow(ui.ctx)
    window.show()
    qtbot.waitExposed(window)
    yield window
    await ui.ctx.gateways.close()
    window.really_quit = True
    window.close()
    window.deleteLater()


def _no_api() -> Any:
    raise AssertionError("no gateway is started here")


def saved(tmp_path: Path) -> Preferences:
    """The preferences as the file has them now (as the next start reads them)."""
    return Preferences(tmp_path / FILE_NAME)


def click(qtbot: Any, widget: QWidget) -> None:
    if isinstance(widget, QCheckBox):
        qtbot.mouseClick(widget, LEFT, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, LEFT)


def choose(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


async def test_each_control_takes_effect_at_once_and_is_saved(
    ui: UiRig,
    applied: PreferencesApplier,
    main: MainWindow,
    qapp: QApplication,
    qtbot: Any,
    tmp_path: Path,
) -> None:
    dialog = main.show_preferences()
    assert isinstance(dialog, PreferencesDialog)
    assert dialog.isVisible()

    choose(dialog.combos["theme"], "dark")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightnessF() < 0.2
    assert saved(tmp_path).get(p.THEME) == "dark"
    choose(dialog.combos["theme"], "light")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightnessF() > 0.9

    size = 17 if qapp.font().pointSize() != 17 else 18
    dialog.font_size.setValue(size)
    assert qapp.font().pointSize() == size
    assert saved(tmp_path).get(p.FONT_SIZE) == size

    choose(dialog.combos["message_density"], "compact")
    assert message_delegate.density() == "compact"
    choose(dialog.combos["send_key"], "ctrl+enter")
    assert ui.ctx.preferences.ctrl_enter_sends()
    assert saved(tmp_path).ctrl_enter_sends()

    messaging = ui.core.messaging
    click(qtbot, dialog.checks["send_typing_notifications"])
    click(qtbot, dialog.checks["send_read_markers"])
    assert (messaging.send_chat_states, messaging.send_read_markers) == (False, False)
    assert saved(tmp_path).get(p.SEND_TYPING) is False

    assert not autostart_path().exists()
    click(qtbot, dialog.checks["start_on_login"])
    assert autostart_path().is_file()  # the login entry, written at once
    assert "--background" not in autostart_path().read_text()
    click(qtbot, dialog.checks["start_in_tray"])
    assert saved(tmp_path).get(p.START_IN_TRAY) is True
    click(qtbot, dialog.checks["start_on_login"])
    assert not autostart_path().exists()

    click(qtbot, dialog.checks["close_to_tray"])
    with qtbot.waitSignal(main.quit_requested):
        main.close()  # closing the contact list now quits

    for key in ("notify_messages", "notify_mentions", "notify_contacts_online", "sounds"):
        before = saved(tmp_path).get(p.pref(key))
        click(qtbot, dialog.checks[key])
        assert saved(tmp_path).get(p.pref(key)) is (not before), key
    dialog.close()


async def escape_closes(ui: UiRig, qtbot: Any, dialog: QWidget) -> None:
    """Press Escape where the keyboard focus is in ``dialog``, made the active window."""
    dialog.activateWindow()
    await ui.until(lambda: QApplication.activeWindow() is dialog)
    target = QApplication.focusWidget() or dialog
    qtbot.keyClick(target, Qt.Key.Key_Escape)
    await ui.until(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())


async def test_escape_closes_every_dialog_of_issue_15(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    for show in (main.show_preferences, main.show_about, main.show_shortcuts):
        dialog = show()
        assert dialog.isVisible()
        await escape_closes(ui, qtbot, dialog)
        assert type(dialog) not in main._dialogs or not main._dialogs[type(dialog)].isVisible()

    preferences = main.show_preferences()
    assert isinstance(preferences, PreferencesDialog)
    page = preferences.gateway_page
    assert page is not None
    preferences.tabs.setCurrentWidget(page)
    form = page.create_key()
    assert form.isVisible()
    await escape_closes(ui, qtbot, form)
    assert page.keys_view.topLevelItemCount() == 0  # (nothing made)

    entry, secret = page._control.keys.create(KeyKind.REST, ui.me)
    shown = SecretDialog(entry, secret, page)
    shown.open()
    await escape_closes(ui, qtbot, shown)
    assert shown.secret.text() == ""  # (the key leaves with the dialog)
    assert preferences.isVisible()
    await escape_closes(ui, qtbot, preferences)


async def test_the_new_dialogs_controls_have_accessible_names(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    preferences = main.show_preferences()
    assert isinstance(preferences, PreferencesDialog)
    page = preferences.gateway_page
    assert page is not None
    preferences.tabs.setCurrentWidget(page)
    entry, secret = page._control.keys.create(KeyKind.XMLRPC, ui.me)
    dialogs: list[QDialog] = [
        page.create_key(),
        SecretDialog(entry, secret, page),
        AboutDialog(main),
        ShortcutsDialog(main),
    ]
    controls = (QLineEdit, QAbstractButton, QComboBox, QSpinBox, QTreeWidget)
    for dialog in dialogs:
        qtbot.addWidget(dialog)
        dialog.show()
        assert dialog.accessibleName(), type(dialog).__name__
        for kind in controls:
            for widget in dialog.findChildren(kind):
                if isinstance(widget.parentWidget(), QSpinBox | QComboBox):
                    continue  # (a spin box's or combo box's own editor)
                if not widget.isVisibleTo(dialog):
                    continue
                assert widget.accessibleName(), f"{type(dialog).__name__}: {widget!r}"
    for kind in controls:
        for widget in page.findChildren(kind):
            if isinstance(widget, CreateKeyDialog | SecretDialog) or not widget.isVisibleTo(page):
                continue
            if isinstance(widget.parentWidget(), QSpinBox | QComboBox):
                continue
            if widget.window() is not preferences:
                continue
            assert widget.accessibleName(), f"Script gateways page: {widget!r}"
