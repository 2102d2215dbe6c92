"""``Messages1.SendMessage`` with the target's conversation window open: the message goes
to the core, and the window shows it from the core's ``MessageAdded`` like any other
message (the API in-process on a private dbus-daemon, the real window, the ``ui`` rig's
scripted connection).

A script's message never travels through the window: what it sends, or fails to send,
does not touch what the user has in the window (the error bar of the user's own attempt,
the draft), and the window shows exactly what typing it there would have stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from dbus_next import Message, MessageType, Variant

from chinwag.automation import names
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from chinwag.automation.server import AutomationServer
from chinwag.core.errors import MessageTooLong
from chinwag.core.models import MAX_MESSAGE_CHARS, Direction, Origin
from chinwag.core.models import MessageType as Kind
from chinwag.ui.automation_host import AutomationHost
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.main_window import MainWindow

if TYPE_CHECKING:
    from conftest import UiRig

pytestmark = pytest.mark.dbus

PEER = "peer@example.net"  # the ui rig's contact
ACTION = 1  # Telepathy message-type


@dataclass
class Rig:
    ui: UiRig
    client: ChinwagMessageBus

    async def reply(self, path: str, interface: str, member: str, sig: str, *args: Any) -> Message:
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
        return reply

    async def send(self, text: str, mtype: int | None = None, flags: int = 0) -> Message:
        header = {} if mtype is None else {"message-type": Variant("u", mtype)}
        parts = [
            header,
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)},
        ]
        return await self.reply(
            names.ROOT, names.MESSAGES, "SendMessage", "osaa{sv}u", "/", PEER, parts, flags
        )

    async def sent(self, text: str, mtype: int | None = None, flags: int = 0) -> str:
        reply = await self.send(text, mtype, flags)
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body
        token = reply.body[0]
        assert isinstance(token, str)
        return token


@pytest.fixture
async def rig(ui: UiRig, dbus_bus: Any) -> AsyncIterator[Rig]:
    await ui.sign_in()
    main = MainWindow(ui.ctx)
    bus = await connect_session_bus(dbus_bus.address)
    server = await AutomationServer.start(
        ui.core, AutomationHost(ui.windows, main, lambda: None), bus
    )
    assert server is not None
    client = await connect_session_bus(dbus_bus.address)
    try:
        yield Rig(ui, client)
    finally:
        ui.windows.close_all()
        main.really_quit = True
        main.close()
        await server.close()
        await server.disconnect()
        await close_message_bus(client)


def open_window(rig: Rig) -> ConversationWindow:
    window = rig.ui.windows.open(rig.ui.me, PEER, activate=False)
    assert isinstance(window, ConversationWindow)
    return window


def row_of(window: ConversationWindow, uid: str) -> Any:
    row = window.model.row_of((Direction.OUTGOING, uid))
    return None if row is None else window.model.message(row)


async def test_the_window_shows_a_sent_message_as_if_typed_there(rig: Rig) -> None:
    window = open_window(rig)
    typed = await window.send_text("typed /me waves", mtype=Kind.ACTION, flags=1)

    token = await rig.sent("scripted /me waves", mtype=ACTION, flags=names.REPORT_DELIVERY)

    shown = await rig.ui.until(lambda: row_of(window, token), what="the message in the window")
    assert window.model.row_of(shown) == window.model.rowCount() - 1  # the newest row
    assert rig.ui.conn.sent[-1].uid == token
    # What the window holds is what typing it there stored, text and time aside.
    for field in ("direction", "mtype", "flags", "origin", "state", "sender", "account", "peer"):
        assert getattr(shown, field) == getattr(typed, field), field
    assert shown.origin is Origin.LOCAL
    scroll_bar = window.history_view.verticalScrollBar()
    assert scroll_bar.value() == scroll_bar.maximum()  # followed, like a message typed


async def test_a_refused_message_leaves_the_window_alone(rig: Rig) -> None:
    window = open_window(rig)
    rows = window.model.rowCount()
    window.compose.setPlainText("the user's draft")

    reply = await rig.send("x" * (MAX_MESSAGE_CHARS + 1))

    assert reply.message_type is MessageType.ERROR
    assert reply.error_name == names.ERROR_PREFIX + "MessageTooLong"
    assert window.error_text == ""  # the script's error is the script's, not the user's
    assert window.compose.toPlainText() == "the user's draft"
    assert window.model.rowCount() == rows
    assert rig.ui.conn.sent == []


async def test_a_sent_message_keeps_the_users_own_error_shown(rig: Rig) -> None:
    window = open_window(rig)
    with pytest.raises(MessageTooLong):
        await window.send_text("y" * (MAX_MESSAGE_CHARS + 1))  # the user's own attempt
    error = window.error_text
    assert error.startswith("Not sent")

    token = await rig.sent("from a script")

    await rig.ui.until(lambda: row_of(window, token), what="the message in the window")
    assert window.error_text == error


async def test_a_message_sent_through_the_core_shows_in_the_open_window(rig: Rig) -> None:
    window = open_window(rig)
    message = await rig.ui.core.messaging.send(rig.ui.me, PEER, "from elsewhere in the app")

    shown = row_of(window, message.uid)  # at once: the window observes MessageAdded
    assert shown is not None
    assert shown.body == "from elsewhere in the app"
    rig.ui.conn.ack(message.uid)
    await rig.ui.until(
        lambda: row_of(window, message.uid).state is not message.state, what="its new state"
    )
    assert window.history_view.visualRect(window.model.index_of(message)).isValid()
