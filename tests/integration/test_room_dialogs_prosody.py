"""Issue 12, the group chat dialogs over the rig's real Prosody: a room made with the
Create dialog behind a password turns away a Join with the wrong one (said in the
dialog, which stays open) and lets in the right one, opening the room's window; the
Browse window pages through a real service's public rooms and searches them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import fresh_room
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from test_room_discovery import make_public_room

from chinwag.core.models import ConversationKind
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.create_room_dialog import CreateRoomDialog
from chinwag.ui.join_room_dialog import JoinRoomDialog
from chinwag.ui.room_browser import PAGE_SIZE, RoomBrowser
from chinwag.ui.room_window import RoomWindow
from chinwag.ui.tasks import wait_idle
from conftest import Client, CoreMaker
from rig.peer import XmppPeer
from rig.qt_forms import click, message, named

pytestmark = [
    pytest.mark.prosody,
    pytest.mark.qt_log_ignore(r"^This plugin does not support "),
]


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)
    return value


@pytest.fixture
def keep_running(qapp: QApplication) -> Iterator[None]:
    """Closing the last window must not quit the app (and with it the test's loop)."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(before)


@pytest.fixture
def contexts(keep_running: None) -> Iterator[Callable[[Client], UiContext]]:
    """``contexts(client)``: the Qt side of a signed-in core, as the application's."""
    made: list[UiContext] = []

    def make(client: Client) -> UiContext:
        ctx: UiContext

        def chat(account: str, peer: str) -> object:
            return ConversationWindow(ctx, account, peer)

        def room(account: str, address: str) -> object:
            return RoomWindow(ctx, account, address)

        def is_room(account: str, address: str) -> bool:
            return client.core.rooms.room(account, address) is not None

        bridge = EventBridge(client.core.bus)
        ctx = UiContext(client.core, bridge, ConversationWindows(chat, room, is_room))
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.windows.close_all()
        ctx.bridge.close()


async def test_a_password_room_made_by_create_turns_away_a_wrong_password_in_join(
    prosody: Any, cores: CoreMaker, contexts: Callable[[Client], UiContext], qtbot: QtBot
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"), nickname="Alice")
    bob = await cores(prosody, *prosody.make_user("bob"), nickname="Bob")
    room = fresh_room(prosody, "club")

    create = CreateRoomDialog(contexts(alice))
    qtbot.addWidget(create)
    create.show()
    qtbot.keyClicks(named(create, QLineEdit, "Name"), "Book club")
    address = named(create, QLineEdit, "Group chat address")
    await eventually(lambda: "@" in address.text(), what="the address suggested")
    assert address.text() == f"book-club@{prosody.muc_domain}"  # the server's own service
    address.clear()
    qtbot.keyClicks(address, room)
    click(qtbot, named(create, QCheckBox, "Needs a password"))
    qtbot.keyClicks(named(create, QLineEdit, "Password"), "pages")
    click(qtbot, named(create, QPushButton, "Create"))
    await eventually(lambda: not create.isVisible(), what="created")
    assert alice.core.rooms.room(alice.jid, room).created  # type: ignore[union-attr]
    bookmark = alice.core.bookmarks.get(alice.jid, room)
    assert bookmark is not None
    assert (bookmark.name, bookmark.autojoin) == ("Book club", True)

    bob_ctx = contexts(bob)
    join = JoinRoomDialog(bob_ctx, room=room)
    qtbot.addWidget(join)
    join.show()
    password = named(join, QLineEdit, "Password")
    qtbot.keyClicks(password, "wrong")
    join_button = named(join, QPushButton, "Join")
    click(qtbot, join_button)
    await eventually(lambda: "password" in message(join) and join_button.isEnabled())
    await wait_idle()  # (bob's group chat service found meanwhile: the refusal stays)
    print("MSG", repr(message(join)), join.isVisible())
    assert message(join) == (
        f"{room} needs a password, or the password was wrong. Enter it and try again."
    )
    assert join.isVisible()
    assert not bob.core.rooms.is_joined(bob.jid, room)

    password.clear()
    qtbot.keyClicks(password, "pages")
    click(qtbot, join_button)
    await eventually(lambda: not join.isVisible(), what="joined")
    assert bob.core.rooms.is_joined(bob.jid, room)
    window = bob_ctx.windows.find(bob.jid, room, ConversationKind.GROUPCHAT)
    assert isinstance(window, RoomWindow)
    await eventually(lambda: "Bob" in alice.core.rooms.room(alice.jid, room).occupants)  # type: ignore[union-attr]
    await wait_idle()


async def test_browse_pages_through_a_real_service_and_searches_it(
    prosody_own: Any, cores: CoreMaker, contexts: Callable[[Client], UiContext], qtbot: QtBot
) -> None:
    server = prosody_own  # (its own server: the only public rooms are this test's)
    alice = await cores(server, *server.make_user("alice"))
    rooms = {f"pub-{i:03d}@{server.muc_domain}": f"Public room {i:03d}" for i in range(60)}
    async with XmppPeer(server, *server.make_user("owner")) as owner:
        owner.client.register_plugin("xep_0045")
        addresses = list(rooms)
        for start in range(0, len(addresses), 20):
            await asyncio.gather(
                *(
                    make_public_room(
                        owner, room, rooms[room], stay=room.endswith("7@" + server.muc_domain)
                    )
                    for room in addresses[start : start + 20]
                )
            )

        browser = RoomBrowser(contexts(alice))
        qtbot.addWidget(browser)
        browser.show()
        more = named(browser, QPushButton, "More")
        await eventually(lambda: len(browser.rooms()) == PAGE_SIZE, what="the first page")
        assert named(browser, QLineEdit, "Service").text() == server.muc_domain
        await eventually(more.isEnabled)
        assert message(browser, "Status") == "Showing 50 of 60 group chats."
        click(qtbot, more)
        await eventually(lambda: len(browser.rooms()) == 60, what="the last page")
        await wait_idle()
        assert not more.isEnabled()
        listed = browser.rooms()
        assert {r.jid: r.name for r in listed} == rooms  # each once, named
        assert {r.jid for r in listed if r.occupants} == {
            a for a in rooms if a.endswith("7@" + server.muc_domain)
        }

        qtbot.keyClicks(named(browser, QLineEdit, "Search"), "ROOM 04")
        await eventually(lambda: "found" in message(browser, "Status"), what="the search")
        assert sorted(r.jid for r in browser.rooms()) == [
            f"pub-04{i}@{server.muc_domain}" for i in range(10)
        ]
        browser.close()
        await wait_idle()
