"""Preferences > Script gateways: a key made on the page is shown once (with Copy) and
then lets a script in; a revoked one no longer does, after asking; each gateway is
switched on and off (and moved to another port) at once, in ``gateways.json`` and in the
running Chinwag; files that cannot be used are said on the page.

Real core and storage (the UI rig), the real API layer and gateways over HTTP on
loopback, the real key file; real Qt (offscreen)."""

from __future__ import annotations

import json
import socket
import xmlrpc.client
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import shiboken6
from aiohttp import ClientConnectionError, ClientSession
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QMessageBox, QWidget

from chinwag.api.service import Api
from chinwag.gateways.control import GatewayControl
from chinwag.gateways.keys import FILE_NAME as KEYS_FILE
from chinwag.gateways.keys import INITIATE, KeyKind, md5_hex
from chinwag.gateways.settings import FILE_NAME as SETTINGS_FILE
from chinwag.ui.automation_host import AutomationHost
from chinwag.ui.gateway_keys_page import CreateKeyDialog, GatewayKeysPage, SecretDialog
from chinwag.ui.main_window import MainWindow
from chinwag.ui.preferences_dialog import PreferencesDialog

if TYPE_CHECKING:
    from conftest import UiRig

W = TypeVar("W", bound=QWidget)
LEFT = Qt.MouseButton.LeftButton


class Rig:
    def __init__(self, ui: UiRig, tmp_path: Path) -> None:
        self.ui = ui
        self.config = tmp_path / "config"
        self.state = tmp_path / "state"
        self.config.mkdir()
        self.state.mkdir()
        self.main = MainWindow(ui.ctx)
        self.api: Api | None = None
        self.control = GatewayControl(self.config, self.state, self._api)
        ui.ctx.gateways = self.control

    def _api(self) -> Api:
        if self.api is None:
            self.api = Api(self.ui.core, AutomationHost(self.ui.windows, self.main, lambda: None))
        return self.api

    def settings(self) -> dict[str, Any]:
        return dict(json.loads((self.config / SETTINGS_FILE).read_text()))

    async def close(self) -> None:
        await self.control.close()
        if self.api is not None:
            self.api.close()
        self.main.really_quit = True
        self.main.close()
        self.main.deleteLater()


@pytest.fixture
async def rig(ui: UiRig, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = Rig(ui, tmp_path)
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
def page(rig: Rig, qtbot: Any) -> GatewayKeysPage:
    """The page, in the Preferences dialog as the main window opens it (Ctrl+,)."""
    dialog = rig.main.show_preferences()
    assert isinstance(dialog, PreferencesDialog)
    qtbot.addWidget(dialog)
    page = dialog.gateway_page
    assert page is not None
    dialog.tabs.setCurrentWidget(page)
    return page


def click(qtbot: Any, widget: QWidget) -> None:
    if isinstance(widget, QCheckBox):
        qtbot.mouseClick(widget, LEFT, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, LEFT)


def shown(parent: QWidget, kind: type[W]) -> W:
    found = [d for d in parent.findChildren(kind) if shiboken6.isValid(d) and d.isVisible()]
    assert len(found) == 1, f"{len(found)} {kind.__name__} shown"
    return found[0]


def rows(page: GatewayKeysPage) -> list[list[str]]:
    view = page.keys_view
    return [
        [view.topLevelItem(r).text(c) for c in range(view.columnCount())]
        for r in range(view.topLevelItemCount())
    ]


def lines_holding(text: str) -> list[QLineEdit]:
    return [
        w
        for top in QApplication.topLevelWidgets()
        for w in top.findChildren(QLineEdit)
        if shiboken6.isValid(w) and text in w.text()
    ]


async def make_key(
    qtbot: Any, page: GatewayKeysPage, kind: KeyKind, label: str, *, receive: bool = True
) -> str:
    """Create a key through the page as a person would; returns the secret shown."""
    click(qtbot, page.create_button)
    form = shown(page, CreateKeyDialog)
    form.kind_box.setCurrentIndex(form.kind_box.findData(kind.value))
    qtbot.keyClicks(form.label_edit, label)
    if not receive:
        click(qtbot, form.scope_checks["Conversations.Receive"])
    click(qtbot, form.create_button)
    secret_dialog = shown(page, SecretDialog)
    secret = secret_dialog.secret.text()
    assert len(secret) >= 40
    return secret


async def xmlrpc_inbox(url: str, account: str, password: str) -> Any:
    """LJ.XMLRPC.getinbox with a clear password: the answer, or the fault."""
    body = xmlrpc.client.dumps(({"username": account, "password": password},), "LJ.XMLRPC.getinbox")
    async with ClientSession() as http, http.post(url, data=body.encode()) as reply:
        assert reply.status == 200
        text = await reply.read()
    try:
        return xmlrpc.client.loads(text.decode())[0][0]
    except xmlrpc.client.Fault as fault:
        return fault


# -- keys ------------------------------------------------------------------------------------


async def test_a_key_made_on_the_page_is_shown_once_and_then_lets_a_script_in(
    rig: Rig, page: GatewayKeysPage, qtbot: Any
) -> None:
    ui = rig.ui
    await ui.sign_in()
    keys = rig.control.keys
    assert rows(page) == []

    secret = await make_key(qtbot, page, KeyKind.REST, "cron", receive=False)
    dialog = shown(page, SecretDialog)
    assert "You will not see it again" in named_text(dialog, "Warning")
    click(qtbot, dialog.copy_button)
    assert QGuiApplication.clipboard().text() == secret
    entry = keys.rest_key(secret)  # the key authenticates, with the scope chosen
    assert entry is not None
    assert (entry.account, entry.label, entry.scopes) == (ui.me, "cron", (INITIATE,))
    assert secret not in (rig.config / KEYS_FILE).read_text()  # (only its digest is kept)
    assert rows(page) == [["REST (UCWA)", ui.me, "cron", "Send only", rows(page)[0][4]]]
    dialog.close()
    await ui.until(lambda: not lines_holding(secret))  # shown once: nowhere any more

    secret = await make_key(qtbot, page, KeyKind.XMLRPC, "lj")
    shown(page, SecretDialog).close()
    assert keys.xmlrpc_digests(ui.me) == (md5_hex(secret),)
    assert [r[:4] for r in rows(page)][1] == ["XML-RPC", ui.me, "lj", "All (XML-RPC)"]

    # ... and the running XML-RPC gateway takes it
    click(qtbot, page.switches["xmlrpc"])
    await page.idle()
    url = rig.control.state("xmlrpc").url
    assert url is not None
    assert await xmlrpc_inbox(url, ui.me, secret) == {"items": [], "login": ui.me}
    fault = await xmlrpc_inbox(url, ui.me, "not the key")
    assert isinstance(fault, xmlrpc.client.Fault)


def named_text(parent: QWidget, name: str) -> str:
    from PySide6.QtWidgets import QLabel

    (label,) = [w for w in parent.findChildren(QLabel) if w.accessibleName() == name]
    return label.text()


async def test_a_key_is_revoked_only_after_asking(
    rig: Rig, page: GatewayKeysPage, qtbot: Any
) -> None:
    keys = rig.control.keys
    _made, secret = keys.create(KeyKind.REST, rig.ui.me, label="made with chinwag-remote")
    page.hide()
    page.show()  # (shown again: the key made elsewhere is listed)
    assert [r[2] for r in rows(page)] == ["made with chinwag-remote"]
    assert not page.revoke_button.isEnabled()  # nothing selected
    page.keys_view.topLevelItem(0).setSelected(True)
    assert page.revoke_button.isEnabled()

    click(qtbot, page.revoke_button)
    box = shown(page, QMessageBox)
    assert "made with chinwag-remote" in box.text()
    assert box.defaultButton().accessibleName() == "Cancel"
    click(qtbot, box.defaultButton())
    await rig.ui.until(lambda: not box.isVisible())
    assert keys.rest_key(secret) is not None

    click(qtbot, page.revoke_button)
    box = shown(page, QMessageBox)
    (revoke,) = [b for b in box.buttons() if b.accessibleName() == "Revoke"]
    click(qtbot, revoke)
    await rig.ui.until(lambda: keys.rest_key(secret) is None)
    assert rows(page) == []
    assert not page.revoke_button.isEnabled()


# -- the gateways ----------------------------------------------------------------------------


async def answers(url: str) -> bool:
    try:
        async with ClientSession() as http, http.get(url) as reply:
            return reply.status < 500
    except ClientConnectionError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_switching_a_gateway_saves_it_and_starts_or_stops_it_at_once(
    rig: Rig, page: GatewayKeysPage, qtbot: Any
) -> None:
    assert page.where["rest"].text() == "Off"
    click(qtbot, page.switches["rest"])
    await page.idle()
    assert rig.settings() == {"rest": {"enabled": True, "port": 0}}
    port = rig.control.ports["rest"]
    url = f"http://127.0.0.1:{port}/ucwa/v1"
    assert page.where["rest"].text() == f"Answers at {url}"
    assert await answers(f"http://127.0.0.1:{port}/ucwa/openapi.json")
    state_file = json.loads((rig.state / "gateways.json").read_text())
    assert state_file == {"rest": {"host": "127.0.0.1", "port": port}}

    wanted = free_port()  # another port, while it runs: it moves there
    page.ports["rest"].setValue(wanted)
    await page.idle()
    assert rig.settings() == {"rest": {"enabled": True, "port": wanted}}
    assert rig.control.ports == {"rest": wanted}
    assert page.where["rest"].text() == f"Answers at http://127.0.0.1:{wanted}/ucwa/v1"
    assert not await answers(f"http://127.0.0.1:{port}/ucwa/openapi.json")
    assert await answers(f"http://127.0.0.1:{wanted}/ucwa/openapi.json")

    click(qtbot, page.switches["rest"])
    await page.idle()
    assert rig.settings() == {"rest": {"enabled": False, "port": wanted}}
    assert rig.control.ports == {}
    assert page.where["rest"].text() == "Off"
    assert not await answers(f"http://127.0.0.1:{wanted}/ucwa/openapi.json")
    assert not (rig.state / "gateways.json").exists()


async def test_a_port_in_use_is_said_on_the_page(
    rig: Rig, page: GatewayKeysPage, qtbot: Any
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        page.ports["xmlrpc"].setValue(taken.getsockname()[1])
        click(qtbot, page.switches["xmlrpc"])
        await page.idle()
    assert page.switches["xmlrpc"].isChecked()
    assert page.where["xmlrpc"].text().startswith("Not running. It cannot listen on port")
    assert rig.settings()["xmlrpc"]["enabled"] is True


async def test_files_that_cannot_be_used_are_said_not_a_crash(rig: Rig, qtbot: Any) -> None:
    (rig.config / KEYS_FILE).write_text("{ damaged")
    (rig.config / SETTINGS_FILE).write_text("[]")
    accounts: list[str] = []
    dialog = PreferencesDialog(
        rig.ui.ctx.preferences, gateways=rig.control, accounts=lambda: accounts
    )
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.gateway_page
    assert page is not None
    dialog.tabs.setCurrentWidget(page)
    problem = page.problem.text()
    assert page.problem.isVisible()
    assert "gateway-keys.json is damaged" in problem
    assert "gateways.json holds a list" in problem
    assert rows(page) == []

    click(qtbot, page.create_button)  # no account: nothing to make a key for
    form = shown(page, CreateKeyDialog)
    assert not form.create_button.isEnabled()
    assert "Add an account first" in form.hint.text()
    form.reject()

    accounts.append(rig.ui.me)  # a key cannot be added to a damaged file: said, not lost
    click(qtbot, page.create_button)
    click(qtbot, shown(page, CreateKeyDialog).create_button)
    assert page.problem.text().startswith("No key was made: ")
    assert not [d for d in page.findChildren(SecretDialog) if d.isVisible()]
    assert (rig.config / KEYS_FILE).read_text() == "{ damaged"

    rig.ui.ctx.gateways = None
    without = PreferencesDialog(rig.ui.ctx.preferences)  # (a run with no gateways: no page)
    qtbot.addWidget(without)
    assert without.gateway_page is None
    assert without.tabs.count() == 1
