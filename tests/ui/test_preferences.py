"""Preferences take effect at once, with no restart, and the dialogs and shortcuts of
issue 15 do what they say: the Preferences dialog (its widgets show what is stored and
change it), Help > About and Help > Keyboard shortcuts, Ctrl+N, Ctrl+,, F1, Ctrl+Q, and
Ctrl+Tab / Alt+1..9 between conversation windows.

Real core on real storage with the scripted connection of the UI rig; real Qt
(offscreen)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from chinwag import __version__
from chinwag.app import Notifications
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    MessageState,
    Presence,
    Show,
)
from chinwag.system import preferences as p
from chinwag.system.preferences import FILE_NAME, Preferences
from chinwag.ui import message_delegate
from chinwag.ui.appearance import PreferencesApplier
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.help_dialogs import SHORTCUTS, AboutDialog, ShortcutsDialog
from chinwag.ui.main_window import MainWindow
from chinwag.ui.preferences_dialog import PreferencesDialog
from chinwag.ui.window_switcher import WindowSwitcher

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]
CTRL = Qt.KeyboardModifier.ControlModifier
OTHER = "other@example.net"


def luminance(palette: QPalette) -> float:
    return palette.color(QPalette.ColorRole.Window).lightnessF()


@pytest.fixture
def applied(ui: UiRig, qapp: QApplication, tmp_path: Path) -> Iterator[PreferencesApplier]:
    """The rig's preferences in a file, applied as the app does (the palette, font and
    density are put back afterwards: they are the whole application's)."""
    ui.ctx.preferences = Preferences(tmp_path / FILE_NAME)
    palette, font = QPalette(qapp.palette()), QFont(qapp.font())
    logins: list[bool] = []
    applier = PreferencesApplier(ui.ctx, qapp, logins.append)
    applier.logins = logins  # type: ignore[attr-defined]
    yield applier
    applier.close()
    qapp.setPalette(palette)
    qapp.setFont(font)
    message_delegate.set_density("comfortable")


@pytest.fixture
async def main(ui: UiRig, qtbot: Any) -> AsyncIterator[MainWindow]:
    await ui.sign_in()
    window = MainWindow(ui.ctx)
    window.show()
    qtbot.waitExposed(window)
    WindowSwitcher(ui.windows, window, window.app_actions)
    yield window
    window.really_quit = True
    window.close()
    window.deleteLater()


# -- the dialog ---------------------------------------------------------------------------


async def test_the_dialog_shows_what_is_stored_and_stores_what_is_changed(
    ui: UiRig, applied: PreferencesApplier, qtbot: Any, tmp_path: Path
) -> None:
    prefs = ui.ctx.preferences
    prefs.set(p.SEND_READ_MARKERS, False)
    prefs.set(p.THEME, "dark")
    prefs.set(p.FONT_SIZE, 13)
    dialog = PreferencesDialog(prefs)
    qtbot.addWidget(dialog)
    assert not dialog.checks["send_read_markers"].isChecked()
    assert dialog.checks["notify_messages"].isChecked()
    assert dialog.combos["theme"].currentData() == "dark"
    assert dialog.combos["send_key"].currentData() == "enter"
    assert dialog.font_size.value() == 13
    assert set(dialog.checks) | set(dialog.combos) | {"font_size"} == {x.key for x in p.ALL}

    dialog.checks["start_on_login"].click()
    dialog.combos["send_key"].setCurrentIndex(dialog.combos["send_key"].findData("ctrl+enter"))
    dialog.font_size.setValue(0)
    again = Preferences(tmp_path / FILE_NAME)  # (saved at once: no OK to press)
    assert again.get(p.START_ON_LOGIN) is True
    assert again.ctrl_enter_sends()
    assert again.get(p.FONT_SIZE) == 0
    assert applied.logins == [True]  # type: ignore[attr-defined]

    prefs.set(p.SOUNDS, False)  # changed elsewhere: the dialog follows
    assert not dialog.checks["sounds"].isChecked()


async def test_a_damaged_file_gives_the_defaults_in_the_dialog(tmp_path: Path, qtbot: Any) -> None:
    path = tmp_path / FILE_NAME
    path.write_text("{ damaged")
    prefs = Preferences(path)
    assert prefs.problem
    dialog = PreferencesDialog(prefs)
    qtbot.addWidget(dialog)
    assert all(
        dialog.checks[x.key].isChecked() is x.default for x in p.ALL if type(x.default) is bool
    )
    assert dialog.combos["theme"].currentData() == "system"


# -- applied at once ---------------------------------------------------------------------------


async def test_ctrl_enter_mode_changes_what_enter_does_at_once(
    ui: UiRig, applied: PreferencesApplier, conversation_window: OpenWindow, qtbot: Any
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    compose = window._compose
    compose.setFocus()
    ui.ctx.preferences.set(p.SEND_KEY, "ctrl+enter")  # while the window is open
    qtbot.keyClicks(compose, "first line")
    qtbot.keyClick(compose, Qt.Key.Key_Return)
    qtbot.keyClicks(compose, "second")
    assert compose.text() == "first line\nsecond"
    assert conn.sent == []
    qtbot.keyClick(compose, Qt.Key.Key_Return, CTRL)
    await ui.until(lambda: conn.sent)
    assert [m.body for m in conn.sent] == ["first line\nsecond"]

    ui.ctx.preferences.set(p.SEND_KEY, "enter")
    qtbot.keyClicks(compose, "hello")
    qtbot.keyClick(compose, Qt.Key.Key_Return)
    await ui.until(lambda: len(conn.sent) == 2)
    assert conn.sent[1].body == "hello"


async def test_typing_notifications_and_read_markers_stop_when_turned_off(
    ui: UiRig, applied: PreferencesApplier, conversation_window: OpenWindow, qtbot: Any
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    window._compose.setFocus()
    qtbot.keyClicks(window._compose, "a")
    assert conn.chat_states == [(ui.peer, "composing")]
    window._compose.set_text("")

    ui.ctx.preferences.set(p.SEND_TYPING, False)
    ui.ctx.preferences.set(p.SEND_READ_MARKERS, False)
    before = list(conn.chat_states)
    qtbot.keyClicks(window._compose, "b")
    assert window._compose.chat_state == "composing"  # the box still knows
    assert conn.chat_states == before  # nothing goes out
    # The window is active: what arrives is read at once, here.
    conn.receive("are you there?")
    key = ConversationKey(ui.me, ui.peer)
    await ui.until(lambda: read(ui, key, "are you there?"))
    await ui.idle()
    assert conn.displayed == []  # but the contact is not told

    ui.ctx.preferences.set(p.SEND_READ_MARKERS, True)
    conn.receive("hello?")
    await ui.until(lambda: read(ui, key, "hello?"))
    await ui.until(lambda: conn.displayed)
    assert [to for to, _uid in conn.displayed] == [ui.peer]


def read(ui: UiRig, key: ConversationKey, body: str) -> bool:
    latest = ui.store.latest(key, 1)
    return bool(latest) and latest[0].body == body and latest[0].state is MessageState.DISPLAYED


async def test_the_theme_and_the_font_size_change_the_application_at_once(
    ui: UiRig, applied: PreferencesApplier, qapp: QApplication
) -> None:
    system = QPalette(qapp.palette())
    ui.ctx.preferences.set(p.THEME, "dark")
    assert luminance(qapp.palette()) < 0.2
    assert qapp.palette().color(QPalette.ColorRole.Text).lightnessF() > 0.8
    ui.ctx.preferences.set(p.THEME, "light")
    assert luminance(qapp.palette()) > 0.9
    ui.ctx.preferences.set(p.THEME, "system")
    assert qapp.palette().color(QPalette.ColorRole.Window) == system.color(
        QPalette.ColorRole.Window
    )

    size = qapp.font().pointSize()
    wanted = 20 if size != 20 else 22
    ui.ctx.preferences.set(p.FONT_SIZE, wanted)
    assert qapp.font().pointSize() == wanted
    ui.ctx.preferences.set(p.FONT_SIZE, 0)
    assert qapp.font().pointSize() == size


async def test_compact_density_makes_message_rows_lower_in_an_open_window(
    ui: UiRig, applied: PreferencesApplier, conversation_window: OpenWindow
) -> None:
    await ui.fill(3)
    window = await conversation_window()
    view = window._view
    model = view.model()
    index = model.index(model.rowCount() - 1, 0)
    await ui.until(lambda: view.visualRect(index).height() > 0)
    comfortable = view.visualRect(index).height()
    ui.ctx.preferences.set(p.DENSITY, "compact")
    await ui.until(lambda: 0 < view.visualRect(index).height() < comfortable)
    ui.ctx.preferences.set(p.DENSITY, "comfortable")
    await ui.until(lambda: view.visualRect(index).height() == comfortable)


async def test_closing_the_contact_list_quits_unless_it_goes_to_the_tray(
    ui: UiRig, applied: PreferencesApplier, main: MainWindow, qtbot: Any
) -> None:
    with qtbot.waitSignal(main.hidden_to_tray):
        main.close()
    assert not main.isVisible()
    main.show()
    ui.ctx.preferences.set(p.CLOSE_TO_TRAY, False)
    with qtbot.waitSignal(main.quit_requested):
        main.close()
    main.hide_to_tray()  # a script's "hide" still hides
    assert not main.isVisible()


class FakeTray:
    def set_unread(self, count: int) -> None:
        pass

    def show_message(self, title: str, text: str) -> None:
        pass


class FakeNotifier(QObject):
    activated = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str]] = []

    def notify(self, title: str, body: str, account: str, peer: str) -> None:
        self.shown.append((title, body))


async def test_message_and_mention_notifications_and_sounds_can_be_turned_off(
    ui: UiRig, applied: PreferencesApplier
) -> None:
    conn = await ui.sign_in()
    notifier = FakeNotifier()
    sounds: list[str] = []
    notifications = Notifications(ui.ctx, FakeTray(), notifier, sounds.append)
    try:
        ui.ctx.preferences.set(p.NOTIFY_MESSAGES, False)
        conn.receive("quietly")
        key = ConversationKey(ui.me, ui.peer)
        await ui.until(lambda: ui.store.latest(key, 1))
        ui.ctx.preferences.set(p.NOTIFY_MESSAGES, True)
        conn.receive("loudly")
        await ui.until(lambda: notifier.shown)
        assert [body for _title, body in notifier.shown] == ["loudly"]
        assert sounds == ["message-new-instant"]

        room = "room@chat.example.org"
        joining = asyncio.ensure_future(ui.core.rooms.join(ui.me, room, "Me"))
        await ui.until(lambda: conn.joins)
        conn.enter(room, "Me")
        await joining
        ui.ctx.preferences.set(p.NOTIFY_MENTIONS, False)
        conn.room_says(room, "Ann", "Me: first")
        rkey = ConversationKey(ui.me, room, ConversationKind.GROUPCHAT)
        await ui.until(lambda: ui.store.latest(rkey, 1))
        ui.ctx.preferences.set(p.NOTIFY_MENTIONS, True)
        ui.ctx.preferences.set(p.SOUNDS, False)
        conn.room_says(room, "Ann", "Me: second")
        await ui.until(lambda: len(notifier.shown) == 2)
        assert notifier.shown[1][1] == "Me: second"
        assert sounds == ["message-new-instant"]  # no sound this time
    finally:
        notifications.close()


async def test_contacts_coming_online_are_told_when_wanted_but_not_at_sign_in(
    ui: UiRig, applied: PreferencesApplier
) -> None:
    notifier = FakeNotifier()
    sounds: list[str] = []
    notifications = Notifications(ui.ctx, FakeTray(), notifier, sounds.append)
    notifications.ONLINE_QUIET_MS = 60_000
    ui.ctx.preferences.set(p.NOTIFY_CONTACTS_ONLINE, True)
    try:
        await ui.sign_in()
        ui.set_contact(ui.peer, "Pat", Presence(Show.ONLINE))  # the burst at sign-in
        await ui.until(lambda: ui.core.roster.contact(ui.me, ui.peer))
        assert notifier.shown == []
    finally:
        notifications.close()

    notifications = Notifications(ui.ctx, FakeTray(), notifier, sounds.append)
    try:
        ui.set_contact(OTHER, "Olga", Presence(Show.OFFLINE))
        ui.ctx.preferences.set(p.NOTIFY_CONTACTS_ONLINE, False)
        ui.conn.listener.on_presence(OTHER, Presence(Show.AWAY, status="back soon"))
        await ui.until(lambda: presence_of(ui, OTHER) is Show.AWAY)
        ui.conn.listener.on_presence(OTHER, Presence(Show.OFFLINE))
        await ui.until(lambda: presence_of(ui, OTHER) is Show.OFFLINE)
        assert notifier.shown == []
        ui.ctx.preferences.set(p.NOTIFY_CONTACTS_ONLINE, True)
        ui.conn.listener.on_presence(OTHER, Presence(Show.ONLINE, status="hi"))
        await ui.until(lambda: notifier.shown)
        assert notifier.shown == [("Olga is online", f"{OTHER}: hi")]
        assert sounds == ["service-login"]
    finally:
        notifications.close()


def presence_of(ui: UiRig, jid: str) -> Show:
    return ui.core.roster.presence(ui.me, jid).show


# -- help and shortcuts --------------------------------------------------------------------


async def test_about_shows_the_version_licence_and_links(main: MainWindow) -> None:
    main.about_action.trigger()
    dialog = main._dialogs[AboutDialog]
    assert isinstance(dialog, AboutDialog)
    assert dialog.isVisible()
    text = dialog.text.text()
    assert f"Chinwag {__version__}" in text
    assert "GPL-3.0-or-later" in text
    assert 'href="https://' in text
    dialog.close()


async def test_the_keys_of_the_main_window_open_what_they_say(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    main.activateWindow()
    await ui.until(main.isActiveWindow)
    qtbot.keyClick(main, Qt.Key.Key_F1)
    shortcuts = main._dialogs[ShortcutsDialog]
    assert isinstance(shortcuts, ShortcutsDialog)
    assert shortcuts.isVisible()
    listed = [shortcuts.table.item(r, 0).text() for r in range(shortcuts.table.rowCount())]
    assert listed == [keys for keys, _ in SHORTCUTS]
    for keys in ("Ctrl+N", "Ctrl+,", "Ctrl+Q", "F1", "Ctrl+Tab / Ctrl+Shift+Tab"):
        assert keys in listed
    shortcuts.close()

    main.activateWindow()
    await ui.until(main.isActiveWindow)
    qtbot.keyClick(main, Qt.Key.Key_Comma, CTRL)
    preferences = main._dialogs[PreferencesDialog]
    assert isinstance(preferences, PreferencesDialog)
    assert preferences.isVisible()
    qtbot.keyClick(main, Qt.Key.Key_Comma, CTRL)  # one dialog, raised again
    assert main._dialogs[PreferencesDialog] is preferences
    preferences.close()

    main.activateWindow()
    await ui.until(main.isActiveWindow)
    with qtbot.waitSignal(main.add_contact_requested):  # (Ctrl+N: see test_new_chat_dialog)
        qtbot.keyClick(main, Qt.Key.Key_N, CTRL | Qt.KeyboardModifier.ShiftModifier)
    main.activateWindow()
    await ui.until(main.isActiveWindow)
    with qtbot.waitSignal(main.quit_requested):
        qtbot.keyClick(main, Qt.Key.Key_Q, CTRL)
    menus = [a.text() for a in main.menuBar().actions()]
    assert menus.index("&Edit") < menus.index("&View") < menus.index("&Help")


async def test_keys_move_between_conversation_windows(
    ui: UiRig, main: MainWindow, conversation_window: OpenWindow, qtbot: Any
) -> None:
    first = await conversation_window()
    second = await conversation_window(OTHER)
    assert QApplication.activeWindow() is second

    qtbot.keyClick(second._compose, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    await ui.until(first.isActiveWindow)
    qtbot.keyClick(first._compose, Qt.Key.Key_Tab, CTRL)
    await ui.until(second.isActiveWindow)
    qtbot.keyClick(second._compose, Qt.Key.Key_Tab, CTRL)  # round again
    await ui.until(first.isActiveWindow)
    qtbot.keyClick(first._compose, Qt.Key.Key_Backtab, CTRL | Qt.KeyboardModifier.ShiftModifier)
    await ui.until(second.isActiveWindow)
    qtbot.keyClick(second._compose, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)  # none
    assert second.isActiveWindow()

    main.activateWindow()  # from the contact list: the first
    await ui.until(main.isActiveWindow)
    qtbot.keyClick(main, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    await ui.until(second.isActiveWindow)

    # The application's keys work in a conversation window too.
    with qtbot.waitSignal(main.quit_requested):
        qtbot.keyClick(second._compose, Qt.Key.Key_Q, CTRL)
    qtbot.keyClick(second._compose, Qt.Key.Key_F1)
    assert main._dialogs[ShortcutsDialog].isVisible()
    main._dialogs[ShortcutsDialog].close()
