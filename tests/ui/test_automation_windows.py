"""The automation API in-process with the real widgets (the scripted connection of the
``ui`` rig, a private dbus-daemon): what only a widget can do -- a person closing the
window, a double-click, a modal dialog -- against what a script sees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from dbus_next import Message, MessageType, Variant

from chinwag.automation import names
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from chinwag.automation.server import AutomationServer
from chinwag.core.models import Contact, Subscription
from chinwag.ui.add_contact_dialog import AddContactDialog
from chinwag.ui.automation_host import AutomationHost
from chinwag.ui.main_window import MainWindow
from chinwag.ui.roster_model import RosterRole

pytestmark = pytest.mark.dbus

PEER = "peer@example.net"  # the ui rig's contact


async def eventually(check: Any, timeout: float = 5.0, what: str = "") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
    return result


@dataclass
class Rig:
    ui: Any  # tests/ui/conftest.py UiRig
    main: MainWindow
    server: AutomationServer
    client: ChinwagMessageBus
    signals: list[tuple[str, list[Any]]]
    quits: list[bool]

    async def call(self, path: str, interface: str, member: str, sig: str = "", *args: Any) -> Any:
        reply = await self.client.call(
            Message(
                destination=names.BUS_NAME,
                path=path,
                interface=interface,
                member=member,
                signature=sig,
                body=list(args),
            )
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise AssertionError(f"{reply.error_name}: {reply.body}")
        return reply.body[0] if len(reply.body) == 1 else reply.body

    def named(self, member: str) -> list[list[Any]]:
        return [body for m, body in self.signals if m == member]


@pytest.fixture
async def rig(ui: Any, dbus_bus: Any) -> AsyncIterator[Rig]:
    await ui.sign_in()
    main = MainWindow(ui.ctx)
    quits: list[bool] = []
    bus = await connect_session_bus(dbus_bus.address)
    server = await AutomationServer.start(
        ui.core, AutomationHost(ui.windows, main, lambda: quits.append(True)), bus
    )
    assert server is not None
    client = await connect_session_bus(dbus_bus.address)
    signals: list[tuple[str, list[Any]]] = []

    def on_message(msg: Message) -> bool:
        if msg.message_type is MessageType.SIGNAL and msg.interface == names.MESSENGER:
            signals.append((str(msg.member), list(msg.body)))
        return False

    client.add_message_handler(on_message)
    await client.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="AddMatch",
            signature="s",
            body=[f"type='signal',sender='{names.BUS_NAME}'"],
        )
    )
    try:
        yield Rig(ui, main, server, client, signals, quits)
    finally:
        ui.windows.close_all()
        main.really_quit = True
        main.close()
        await server.close()
        await server.disconnect()
        await close_message_bus(client)


async def test_a_window_the_user_closes_is_destroyed_once_and_answers_s_false(rig: Rig) -> None:
    hr, path = await rig.call(
        names.MESSENGER_PATH, names.MESSENGER, "InstantMessage", "v", Variant("s", PEER)
    )
    assert hr == names.S_OK
    window = rig.ui.windows.find(rig.ui.core.primary or "", PEER)
    assert window is not None

    window.close()  # what the title bar's close button does

    await eventually(lambda: rig.named("OnIMWindowDestroyed"), what="OnIMWindowDestroyed")
    is_closed = await rig.call(
        path, "org.freedesktop.DBus.Properties", "Get", "ss", names.WINDOW, "IsClosed"
    )
    assert is_closed.value is True
    assert await rig.call(path, names.WINDOW, "Show") == names.S_FALSE
    assert await rig.call(path, names.CONVERSATION_WINDOW, "SendText", "s", "hi") == names.S_FALSE
    assert await rig.call(path, names.WINDOW, "Close") == names.S_FALSE
    assert rig.named("OnIMWindowDestroyed") == [[path]]
    assert rig.ui.conn.sent == []  # nothing was sent from a closed window


async def test_instant_message_gives_the_window_a_double_click_opens(rig: Rig) -> None:
    account = rig.ui.core.primary or ""
    rig.ui.core.roster.on_roster(
        account, [Contact(account, PEER, "Pat", subscription=Subscription.BOTH)], "1", True
    )
    model = rig.main.contact_view.model()

    def contact_index() -> Any:
        for group in range(model.rowCount()):
            parent = model.index(group, 0)
            for row in range(model.rowCount(parent)):
                index = model.index(row, 0, parent)
                if index.data(RosterRole.JID) == PEER:
                    return index
        return None

    index = await eventually(contact_index, what="the contact in the list")
    assert rig.main.open_conversation(index)  # the double-click's path
    by_hand = rig.ui.windows.find(account, PEER)

    hr, path = await rig.call(
        names.MESSENGER_PATH, names.MESSENGER, "InstantMessage", "v", Variant("s", PEER)
    )

    assert hr == names.S_OK
    assert rig.ui.windows.find(account, PEER) is by_hand
    assert len(rig.ui.windows.all()) == 1
    assert rig.named("OnIMWindowCreated") == [[path]]  # created once, by the double-click

    assert await rig.call(path, names.CONVERSATION_WINDOW, "SendText", "s", "typed by a bot") == 0
    assert by_hand is not None
    bodies = [m.body for m, _name in by_hand.transcript()]
    assert bodies[-1] == "typed by a bot"  # shows in the window, as if typed
    assert [m.body for m in rig.ui.conn.sent] == ["typed by a bot"]


async def test_the_api_answers_while_a_modal_dialog_is_open(rig: Rig) -> None:
    rig.main.show()
    dialog = AddContactDialog(rig.ui.ctx, rig.main)
    dialog.open()  # window-modal, as the app opens it
    try:
        assert dialog.isVisible()
        hr, path = await rig.call(
            names.MESSENGER_PATH, names.MESSENGER, "InstantMessage", "v", Variant("s", PEER)
        )
        assert hr == names.S_OK
        assert await rig.call(path, names.WINDOW, "Close") == names.S_OK
        assert await rig.call(names.MAIN_WINDOW_PATH, names.WINDOW, "Close") == names.S_OK
        assert not rig.main.isVisible()
        assert await rig.call(names.MAIN_WINDOW_PATH, names.WINDOW, "Show") == names.S_OK
        assert rig.main.isVisible()
    finally:
        dialog.close()


async def test_quit_asks_the_app_to_quit(rig: Rig) -> None:
    assert await rig.call(names.MESSENGER_PATH, names.MESSENGER, "Quit") == names.S_OK
    assert rig.quits == [True]


async def test_renaming_oneself_in_the_account_editor_fires_my_friendly_name_change(
    rig: Rig,
) -> None:
    from dataclasses import replace

    accounts = rig.ui.core.accounts
    me = accounts.primary
    assert me is not None
    before = await rig.call(
        names.MESSENGER_PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        "ss",
        names.MESSENGER,
        "MyFriendlyName",
    )
    assert before.value == me.nickname == "Me"  # the rig's nickname

    accounts.update(replace(me, nickname="Sam"))  # what the account editor saves

    await eventually(lambda: rig.named("OnMyFriendlyNameChange"), what="the signal")
    assert rig.named("OnMyFriendlyNameChange") == [[names.S_OK, "Me"]]
    name = await rig.call(
        names.MESSENGER_PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        "ss",
        names.MESSENGER,
        "MyFriendlyName",
    )
    assert name.value == "Sam"
