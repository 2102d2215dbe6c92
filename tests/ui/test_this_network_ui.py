"""Serverless chat turned on and off by the user: the first-run dialog's "Chat on this
network now", the accounts dialog's "This network (no server)" row, and the preferences'
switch, driven as a person would (clicks), on the ``ui`` rig (a real core and store with a
stand-in connection, which signs in at once). Never the primary account while a server
account exists (the rig has one: ``me@localhost``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QPushButton, QTreeWidget, QWidget
from pytestqt.qtbot import QtBot

from chinwag.core.link_local import link_local_account, link_local_on
from chinwag.core.models import ConnectionState
from chinwag.system.preferences import FILE_NAME, Preferences
from chinwag.ui.accounts_dialog import THIS_NETWORK, AccountsDialog
from chinwag.ui.first_run_dialog import FirstRunDialog
from chinwag.ui.preferences_dialog import PreferencesDialog

if TYPE_CHECKING:
    from conftest import UiRig

pytestmark = pytest.mark.usefixtures("keep_running_without_windows")

W = TypeVar("W", bound=QWidget)
LEFT = Qt.MouseButton.LeftButton


def named(parent: QWidget, kind: type[W], name: str) -> W:
    found = [w for w in parent.findChildren(kind) if w.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {kind.__name__} named {name!r}"
    return found[0]


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Let the event loop run until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)
    return value


def online(ui: UiRig) -> bool:
    account = link_local_account(ui.core)
    return account is not None and ui.core.state(account.jid) is ConnectionState.ONLINE


def network_row(dialog: AccountsDialog) -> tuple[str, str]:
    view = named(dialog, QTreeWidget, "Accounts")
    rows = [view.topLevelItem(i) for i in range(view.topLevelItemCount())]
    found = [(r.text(0), r.text(1)) for r in rows if r is not None and r.text(0) == THIS_NETWORK]
    assert len(found) == 1, found
    return found[0]


async def test_first_run_chat_on_this_network_now(ui: UiRig, qtbot: QtBot) -> None:
    dialog = FirstRunDialog(ui.ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    signed_in: list[str] = []
    dialog.signed_in.connect(signed_in.append)
    qtbot.mouseClick(named(dialog, QPushButton, "Chat on this network now"), LEFT)
    await eventually(lambda: signed_in, what="signed in on this network")
    account = link_local_account(ui.core)
    assert account is not None
    assert signed_in == [account.jid]
    assert account.enabled
    assert online(ui)
    assert not dialog.isVisible()
    assert ui.core.primary == ui.me  # the server account stays primary


async def test_accounts_dialog_turns_this_network_on_and_off(ui: UiRig, qtbot: QtBot) -> None:
    dialog = AccountsDialog(ui.ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    assert network_row(dialog) == (THIS_NETWORK, "Off")  # there before it is ever used
    dialog.select_link_local()
    toggle = named(dialog, QPushButton, "Enable")
    assert not named(dialog, QPushButton, "Edit").isEnabled()  # nothing to set
    qtbot.mouseClick(toggle, LEFT)
    await eventually(lambda: network_row(dialog) == (THIS_NETWORK, "Online"), what="on")
    assert dialog.selected_link_local
    assert dialog.selected is not None
    assert not named(dialog, QPushButton, "Make primary").isEnabled()
    assert ui.core.primary == ui.me
    view = named(dialog, QTreeWidget, "Accounts")
    assert view.currentItem().font(0).italic()  # shown unlike a server account

    qtbot.mouseClick(named(dialog, QPushButton, "Disable"), LEFT)
    await eventually(lambda: network_row(dialog) == (THIS_NETWORK, "Disabled"), what="off")
    assert not link_local_on(ui.core)


async def test_the_preferences_switch_follows_and_turns_it(
    ui: UiRig, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = PreferencesDialog(Preferences(tmp_path / FILE_NAME), ctx=ui.ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    switch = named(dialog, QCheckBox, "Chat on this network with no server")
    assert not switch.isChecked()
    qtbot.mouseClick(switch, LEFT, pos=QPoint(8, switch.height() // 2))
    await eventually(lambda: online(ui), what="on from the preferences")
    assert switch.isChecked()
    qtbot.mouseClick(switch, LEFT, pos=QPoint(8, switch.height() // 2))
    await eventually(lambda: not link_local_on(ui.core), what="off from the preferences")
    account = link_local_account(ui.core)
    assert account is not None
    await eventually(lambda: ui.core.state(account.jid) is ConnectionState.OFFLINE)
    # turned on elsewhere (the accounts dialog, a script): the switch follows
    await ui.core.set_enabled(account.jid, True)
    assert switch.isChecked()
