"""Invitations to group chats as banners over the contact list: one per pending
invitation, Accept joins (with the invitation's password) and opens the room's window,
Decline answers the inviter, and a banner goes when the invitation is answered or dropped
anywhere else.

The core is real; the network is the UI rig's scripted connection (the invitation, the
room letting us in). Room windows are a stub the registry makes."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from chinwag.core.models import STATUS_SELF, ConversationKind, RoomPresence, RoomState
from chinwag.ui.invitation_banner import MAX_INVITATION_BANNERS
from chinwag.ui.main_window import MainWindow

ME = "me@example.org"
ROOM = "lounge@conference.example.org"
BOB = "bob@example.net"


class Recorded:
    def __init__(self) -> None:
        self.joins: list[tuple[str, str, str]] = []
        self.declines: list[tuple[str, str, str]] = []


@pytest.fixture
def main(main_with_room_stubs: MainWindow) -> MainWindow:
    return main_with_room_stubs


@pytest.fixture
def sent(ui: Any, main: MainWindow) -> Recorded:
    record = Recorded()
    ui.conn.join_room = lambda room, nick, password="", show=None: record.joins.append(
        (room, nick, password)
    )
    ui.conn.decline = lambda room, inviter, reason="": record.declines.append(
        (room, inviter, reason)
    )
    return record


def invite(ui: Any, room: str = ROOM, inviter: str = BOB, **fields: Any) -> None:
    ui.conn.listener.on_invitation(
        room,
        inviter,
        fields.get("reason", ""),
        fields.get("password", ""),
        fields.get("direct", True),
    )


async def test_a_received_invitation_shows_a_banner(ui: Any, main: MainWindow) -> None:
    area = main.invitation_banners
    assert not area.isVisible()
    invite(ui, reason="standup in 5")
    [banner] = area.banners()
    assert area.isVisible()
    assert banner.isVisible()
    assert BOB in banner.label.text()
    assert ROOM in banner.label.text()
    assert "standup in 5" in banner.label.text()
    assert banner.label.accessibleName() == f"{BOB} invites you to {ROOM}: standup in 5"


async def test_accept_joins_with_the_password_and_opens_the_room(
    ui: Any, main: MainWindow, sent: Recorded, qtbot: Any
) -> None:
    invite(ui, password="sesame")
    opened: list[Any] = []
    ui.windows.created.connect(opened.append)
    [banner] = main.invitation_banners.banners()
    qtbot.mouseClick(banner.accept_button, Qt.MouseButton.LeftButton)
    await ui.until(lambda: sent.joins)
    assert sent.joins == [(ROOM, "Me", "sesame")]
    assert main.invitation_banners.banners() == []
    assert ui.core.invitations.pending(ME) == []
    await ui.until(lambda: opened)
    assert (opened[0].account, opened[0].room) == (ME, ROOM)
    assert ui.windows.find(ME, ROOM, ConversationKind.GROUPCHAT) is opened[0]
    ui.conn.listener.on_room_presence(RoomPresence(ROOM, "Me", codes=frozenset({STATUS_SELF})))
    await ui.until(lambda: ui.core.rooms.is_joined(ME, ROOM))
    await ui.idle()


async def test_a_refused_join_is_told(
    ui: Any, main: MainWindow, sent: Recorded, qtbot: Any
) -> None:
    invite(ui)
    [banner] = main.invitation_banners.banners()
    qtbot.mouseClick(banner.accept_button, Qt.MouseButton.LeftButton)
    await ui.until(lambda: sent.joins)
    ui.conn.listener.on_room_error(ROOM, "registration-required", "")
    await ui.until(lambda: "members only" in main.statusBar().currentMessage())
    assert ui.core.rooms.room(ME, ROOM).state is RoomState.FAILED


async def test_decline_answers_the_inviter(
    ui: Any, main: MainWindow, sent: Recorded, qtbot: Any
) -> None:
    invite(ui, room=ROOM, inviter=BOB, direct=False)
    [banner] = main.invitation_banners.banners()
    qtbot.mouseClick(banner.decline_button, Qt.MouseButton.LeftButton)
    assert sent.declines == [(ROOM, BOB, "")]
    assert main.invitation_banners.banners() == []
    assert not main.invitation_banners.isVisible()
    assert ui.core.invitations.pending(ME) == []
    assert sent.joins == []


async def test_a_banner_goes_when_answered_elsewhere(ui: Any, main: MainWindow) -> None:
    invite(ui)
    assert len(main.invitation_banners.banners()) == 1
    ui.core.invitations.decline(ME, ROOM)  # a script, another window
    assert main.invitation_banners.banners() == []
    assert not main.invitation_banners.isVisible()


async def test_accept_while_signed_out_keeps_the_invitation(
    ui: Any, main: MainWindow, qtbot: Any
) -> None:
    invite(ui)
    await ui.core.sign_out(ME)
    [banner] = main.invitation_banners.banners()
    qtbot.mouseClick(banner.accept_button, Qt.MouseButton.LeftButton)
    assert "Sign in" in main.statusBar().currentMessage()
    assert len(ui.core.invitations.pending(ME)) == 1
    assert main.invitation_banners.banners() == [banner]


async def test_a_burst_shows_a_few_banners_and_counts_the_rest(ui: Any, main: MainWindow) -> None:
    rooms = [f"room{n}@conference.example.org" for n in range(MAX_INVITATION_BANNERS + 2)]
    for room in rooms:
        invite(ui, room=room)
    area = main.invitation_banners
    assert [b.invitation.room for b in area.banners()] == rooms[:MAX_INVITATION_BANNERS]
    assert "2 more" in area._more.text()
    ui.core.invitations.decline(ME, rooms[0])
    assert [b.invitation.room for b in area.banners()] == rooms[1 : MAX_INVITATION_BANNERS + 1]
    assert "1 more" in area._more.text()
