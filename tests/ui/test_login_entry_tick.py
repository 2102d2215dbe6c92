"""Preferences > "Start Chinwag when I log in" and the login entry on disk: the tick says
whether the entry is there when the dialog opens (the stored preference follows it); a
failure to write or remove the entry is said beside the tick; an entry an older Chinwag
wrote (``--background``: never a window) is rewritten at start while the preference is
on, and when the preference is saved.

The app's own wiring (``chinwag.app._apply_preferences``), the real entry writer in the
test's own ``XDG_CONFIG_HOME``, the real main window and dialog (Qt offscreen)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from chinwag.app import _apply_preferences
from chinwag.system import preferences as p
from chinwag.system.autostart import autostart_path, config_home, set_autostart
from chinwag.system.preferences import FILE_NAME, Preferences
from chinwag.ui.appearance import PreferencesApplier
from chinwag.ui.main_window import MainWindow
from chinwag.ui.preferences_dialog import PreferencesDialog

if TYPE_CHECKING:
    from conftest import UiRig

OLD_ENTRY = """[Desktop Entry]
Type=Application
Name=Chinwag
Exec=/usr/bin/chinwag --background
Icon=im.chinwag.Chinwag
X-GNOME-Autostart-enabled=true
"""


@pytest.fixture
def prefs(ui: UiRig, tmp_path: Path) -> Preferences:
    ui.ctx.preferences = Preferences(tmp_path / FILE_NAME)
    return ui.ctx.preferences


def start(ui: UiRig, qapp: QApplication) -> PreferencesApplier:
    """What the app does with the preferences at start."""
    return _apply_preferences(ui.ctx, qapp)


@pytest.fixture
def applied(ui: UiRig, prefs: Preferences, qapp: QApplication) -> Iterator[PreferencesApplier]:
    palette, font = QPalette(qapp.palette()), QFont(qapp.font())
    applier = start(ui, qapp)
    yield applier
    applier.close()
    qapp.setPalette(palette)
    qapp.setFont(font)


@pytest.fixture
async def main(ui: UiRig, qtbot: Any) -> AsyncIterator[MainWindow]:
    window = MainWindow(ui.ctx)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.really_quit = True
    window.close()
    window.deleteLater()


def open_preferences(main: MainWindow) -> PreferencesDialog:
    dialog = main.show_preferences()
    assert isinstance(dialog, PreferencesDialog)
    return dialog


def click(qtbot: Any, dialog: PreferencesDialog) -> None:
    check = dialog.checks["start_on_login"]
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))


def saved(tmp_path: Path) -> bool:
    return Preferences(tmp_path / FILE_NAME).get(p.START_ON_LOGIN)


async def test_the_tick_says_whether_the_entry_is_there_when_the_dialog_opens(
    ui: UiRig, applied: PreferencesApplier, main: MainWindow, tmp_path: Path
) -> None:
    set_autostart(True, ["/usr/bin/chinwag"])  # (written outside the dialog: off as stored)
    assert saved(tmp_path) is False
    dialog = open_preferences(main)
    assert dialog.checks["start_on_login"].isChecked()
    assert saved(tmp_path) is True  # the preference follows the disk
    dialog.close()

    autostart_path().unlink()  # (removed by the session's settings, say)
    dialog = open_preferences(main)
    assert not dialog.checks["start_on_login"].isChecked()
    assert saved(tmp_path) is False
    assert not dialog.login_problem.isVisible()
    dialog.close()


async def test_an_entry_that_cannot_be_written_or_removed_is_said_beside_the_tick(
    ui: UiRig, applied: PreferencesApplier, main: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    config_home().mkdir(parents=True, exist_ok=True)
    blocker = config_home() / "autostart"
    blocker.write_text("a file where the folder should be\n")  # (root ignores modes)
    dialog = open_preferences(main)
    assert not dialog.login_problem.isVisible()

    click(qtbot, dialog)
    assert dialog.login_problem.isVisible()
    assert "cannot be written" in dialog.login_problem.text()
    assert str(autostart_path()) in dialog.login_problem.text()
    assert not autostart_path().exists()

    click(qtbot, dialog)  # off: the (missing) entry cannot be removed either
    assert "cannot be removed" in dialog.login_problem.text()

    blocker.unlink()
    click(qtbot, dialog)  # on, and now it can be written: the words go
    assert autostart_path().is_file()
    assert not dialog.login_problem.isVisible()
    dialog.close()


async def test_an_older_entry_is_rewritten_at_start_while_the_preference_is_on(
    ui: UiRig, prefs: Preferences, qapp: QApplication
) -> None:
    autostart_path().parent.mkdir(parents=True, exist_ok=True)
    autostart_path().write_text(OLD_ENTRY)
    start(ui, qapp).close()  # off: the entry is not Chinwag's business at start
    assert autostart_path().read_text() == OLD_ENTRY

    prefs.set(p.START_ON_LOGIN, True)
    start(ui, qapp).close()
    text = autostart_path().read_text()
    assert "--background" not in text
    assert "Exec=" in text


async def test_an_older_entry_is_rewritten_when_the_preference_is_saved(
    ui: UiRig, applied: PreferencesApplier, main: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    autostart_path().parent.mkdir(parents=True, exist_ok=True)
    autostart_path().write_text(OLD_ENTRY)
    dialog = open_preferences(main)  # the tick shows the entry, saved as on: rewritten
    assert dialog.checks["start_on_login"].isChecked()
    assert saved(tmp_path) is True
    assert "--background" not in autostart_path().read_text()

    autostart_path().write_text(OLD_ENTRY)  # (an older Chinwag again)
    click(qtbot, dialog)
    click(qtbot, dialog)  # off and on: saved, and written as this Chinwag writes it
    assert "--background" not in autostart_path().read_text()
    dialog.close()
