"""The "Group chats" section of the contact list, driven as a person would: rooms listed
from the bookmarks and the rooms we are in, their state, unread badge and mentions, the
filter, Enter and the context menu.

The core is real (storage, sessions, rooms, bookmarks, messaging); the network is the UI
rig's scripted connection, which plays the room's presences and messages. Room windows
are a stub the registry makes (the room window is not what is tested here)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from chinwag.core.events import OccupantChanged
from chinwag.core.models import (
    STATUS_SELF,
    Bookmark,
    ConversationKey,
    ConversationKind,
    Occupant,
    RoomPresence,
)
from chinwag.ui.main_window import MainWindow
from chinwag.ui.rooms_model import RoomRole, RowState

ME = "me@example.org"
ROOM = "lounge@conference.example.org"
OTHER = "attic@conference.example.org"


@pytest.fixture
def main(main_with_room_stubs: MainWindow) -> MainWindow:
    return main_with_room_stubs


async def enter(ui: Any, room: str = ROOM, nick: str = "Me") -> None:
    """Join ``room`` through the core, the fake server letting us in."""
    joining = asyncio.ensure_future(ui.core.rooms.join(ME, room, nick))
    await ui.until(lambda: ui.core.rooms.room(ME, room) is not None)
    ui.conn.listener.on_room_presence(RoomPresence(room, nick, codes=frozenset({STATUS_SELF})))
    await joining


def say(ui: Any, body: str, nick: str = "bob", room: str = ROOM) -> None:
    ui.conn.receive(
        body,
        peer=room,
        kind=ConversationKind.GROUPCHAT,
        sender=f"{room}/{nick}",
        sender_resource=nick,
    )


def rows(window: MainWindow) -> list[tuple[str, str]]:
    proxy = window.rooms_section.filter_model
    return [
        (proxy.index(r, 0).data(), proxy.index(r, 0).data(RoomRole.STATE))
        for r in range(proxy.rowCount())
    ]


def index(window: MainWindow, room: str = ROOM) -> QModelIndex:
    """The room's row in the section (invalid while not listed: its data is None)."""
    return window.rooms_section.index_of(ME, room)


def action(menu: QMenu, text: str) -> Any:
    for act in menu.actions():
        if act.text() == text:
            return act
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


async def test_lists_bookmarked_and_joined_rooms_and_follows_join_leave(
    ui: Any, main: MainWindow
) -> None:
    section = main.rooms_section
    assert not section.isVisible()  # no room yet: no heading either
    ui.conn.listener.on_bookmarks([Bookmark(ME, OTHER, name="The Attic")], [], False)
    await ui.until(lambda: rows(main) == [("The Attic", RowState.NOT_JOINED)])
    assert section.isVisible()
    assert section.heading.text() == "Group chats"

    await enter(ui)
    await ui.until(lambda: ("lounge", RowState.JOINED) in rows(main))
    assert rows(main) == [("lounge", RowState.JOINED), ("The Attic", RowState.NOT_JOINED)]

    await ui.core.rooms.leave(ME, ROOM)  # not bookmarked: it goes
    await ui.until(lambda: rows(main) == [("The Attic", RowState.NOT_JOINED)])


async def test_signed_out_no_room_is_joined(ui: Any, main: MainWindow) -> None:
    await enter(ui)
    await ui.until(lambda: rows(main) == [("lounge", RowState.JOINED)])
    await ui.core.sign_out(ME)
    await ui.until(lambda: rows(main) == [("lounge", RowState.NOT_JOINED)])


async def test_a_refused_join_shows_why(ui: Any, main: MainWindow) -> None:
    joining = asyncio.ensure_future(ui.core.rooms.join(ME, ROOM, "Me"))
    await ui.until(lambda: ui.core.rooms.room(ME, ROOM) is not None)
    # (Entering publishes nothing: the bookmark coming lists the room as it is now.)
    ui.conn.listener.on_bookmarks([Bookmark(ME, ROOM, name="Lounge")], [], False)
    await ui.until(lambda: rows(main) == [("Lounge", RowState.JOINING)])
    ui.conn.listener.on_room_error(ROOM, "forbidden", "")
    with pytest.raises(Exception, match="banned"):
        await joining
    await ui.until(lambda: rows(main) == [("Lounge", RowState.FAILED)])
    assert "banned from the room" in index(main).data(Qt.ItemDataRole.ToolTipRole)


async def test_unread_badge_and_mentions_appear_and_clear_on_read(
    ui: Any, main: MainWindow
) -> None:
    await enter(ui, nick="Alice")
    await ui.until(lambda: rows(main) == [("lounge", RowState.JOINED)])
    say(ui, "good morning all")
    await ui.until(lambda: index(main).data(RoomRole.UNREAD) == 1)
    assert index(main).data(RoomRole.MENTIONS) == 0
    say(ui, "alice: can you look at this?")
    say(ui, "malice is not a name")
    await ui.until(lambda: index(main).data(RoomRole.UNREAD) == 3)
    assert index(main).data(RoomRole.MENTIONS) == 1
    assert "1 mentioning you" in index(main).data(Qt.ItemDataRole.ToolTipRole)

    # Read (here or on another device): the badge and the mention go.
    await ui.core.messaging.mark_displayed(ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT))
    await ui.until(lambda: index(main).data(RoomRole.UNREAD) == 0)
    assert index(main).data(RoomRole.MENTIONS) == 0


async def test_mentions_unread_before_the_list_was_built_are_found(
    ui: Any, main: MainWindow
) -> None:
    await enter(ui, nick="Alice")
    say(ui, "hey Alice!")
    await ui.until(lambda: index(main).data(RoomRole.MENTIONS) == 1)
    second = MainWindow(ui.ctx)  # a fresh list reads them back from the store
    try:
        found = second.rooms_section.index_of(ME, ROOM)
        assert found.data(RoomRole.UNREAD) == 1
        assert found.data(RoomRole.MENTIONS) == 1
    finally:
        second.really_quit = True
        second.close()
        second.deleteLater()


async def test_a_flood_and_a_crowd_are_coalesced(ui: Any, main: MainWindow) -> None:
    await enter(ui)
    model = main.rooms_section.model
    model.flush()
    changes: list[int] = []
    model.dataChanged.connect(lambda *_: changes.append(1))
    model.rowsInserted.connect(lambda *_: changes.append(1))
    model.rowsRemoved.connect(lambda *_: changes.append(1))
    reads: list[int] = []
    read_unread = model._read_unread
    model._read_unread = lambda key: reads.append(1) or read_unread(key)  # type: ignore[method-assign]
    for n in range(200):
        ui.core.bus.publish(OccupantChanged(ME, ROOM, f"n{n}", Occupant(f"n{n}"), None))
    for n in range(100):
        say(ui, f"Me: flood {n}")  # each one mentions us, too
    await ui.until(lambda: index(main).data(RoomRole.MENTIONS) == 100)
    model.flush()
    assert index(main).data(RoomRole.UNREAD) == 100
    # Not one redraw (nor one count read) per message, nor any per occupant.
    assert len(changes) < 10
    assert len(reads) < 10


async def test_filter_narrows_rooms_by_name_or_address(ui: Any, main: MainWindow) -> None:
    ui.conn.listener.on_bookmarks(
        [Bookmark(ME, OTHER, name="The Attic"), Bookmark(ME, ROOM, name="Lounge")], [], False
    )
    await ui.until(lambda: len(rows(main)) == 2)
    main.filter_edit.setText("attic")
    assert [name for name, _ in rows(main)] == ["The Attic"]
    main.filter_edit.setText("lounge@conf")
    assert [name for name, _ in rows(main)] == ["Lounge"]
    main.filter_edit.setText("nothing like it")
    assert rows(main) == []
    assert not main.rooms_section.isVisible()
    main.filter_edit.setText("")
    assert len(rows(main)) == 2
    assert main.rooms_section.isVisible()


async def test_enter_opens_the_room_window(ui: Any, main: MainWindow, qtbot: Any) -> None:
    ui.conn.listener.on_bookmarks([Bookmark(ME, ROOM, name="Lounge")], [], False)
    await ui.until(lambda: rows(main))
    opened: list[Any] = []
    ui.windows.created.connect(opened.append)
    view = main.rooms_section.view
    view.setFocus()
    view.setCurrentIndex(index(main))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert len(opened) == 1
    assert (opened[0].account, opened[0].room) == (ME, ROOM)
    assert ui.windows.find(ME, ROOM, ConversationKind.GROUPCHAT) is opened[0]
    assert ui.windows.find(ME, ROOM, ConversationKind.CHAT) is None

    # From the filter: no contact matches, Enter opens the room that does.
    main.filter_edit.setText("loun")
    main.filter_edit.setFocus()
    qtbot.keyClick(main.filter_edit, Qt.Key.Key_Return)
    assert opened[0].presented == 2


async def test_down_from_the_filter_reaches_the_rooms(
    ui: Any, main: MainWindow, qtbot: Any
) -> None:
    ui.conn.listener.on_bookmarks([Bookmark(ME, ROOM, name="Lounge")], [], False)
    await ui.until(lambda: rows(main))
    main.filter_edit.setText("loun")
    main.activateWindow()
    main.filter_edit.setFocus()
    qtbot.keyClick(main.filter_edit, Qt.Key.Key_Down)
    view = main.rooms_section.view
    assert view.currentIndex().data() == "Lounge"


async def test_context_menu_actions_reach_the_core(ui: Any, main: MainWindow) -> None:
    published: list[Bookmark] = []
    retracted: list[str] = []
    left: list[str] = []

    async def publish(bookmark: Bookmark) -> None:
        published.append(bookmark)

    async def retract(room: str) -> None:
        retracted.append(room)

    ui.conn.publish_bookmark = publish
    ui.conn.retract_bookmark = retract
    ui.conn.leave_room = lambda room, nick, status="": left.append(room)
    await enter(ui)
    await ui.until(lambda: rows(main))
    section = main.rooms_section

    menu = section.menu_for(index(main))
    assert menu is not None
    assert [a.text() for a in menu.actions() if a.text()] == [
        "Open",
        "Leave",
        "Bookmark",
        "Join automatically",
        "Copy address",
    ]
    action(menu, "Bookmark").trigger()
    await ui.until(lambda: ui.core.bookmarks.get(ME, ROOM) is not None)
    assert published[-1].room == ROOM
    assert published[-1].nick == "Me"
    assert not published[-1].autojoin
    await ui.until(lambda: index(main).data(RoomRole.BOOKMARKED))

    action(section.menu_for(index(main)), "Join automatically").trigger()
    await ui.until(lambda: index(main).data(RoomRole.AUTOJOIN))
    assert published[-1].autojoin

    action(section.menu_for(index(main)), "Copy address").trigger()
    assert QGuiApplication.clipboard().text() == ROOM

    opened: list[Any] = []
    ui.windows.created.connect(opened.append)
    action(section.menu_for(index(main)), "Open").trigger()
    assert [(w.account, w.room) for w in opened] == [(ME, ROOM)]

    action(section.menu_for(index(main)), "Leave").trigger()
    await ui.until(lambda: index(main).data(RoomRole.STATE) == RowState.NOT_JOINED)
    assert left == [ROOM]
    assert not action(section.menu_for(index(main)), "Leave").isEnabled()

    action(section.menu_for(index(main)), "Remove bookmark").trigger()
    await ui.until(lambda: rows(main) == [])
    assert retracted == [ROOM]


async def test_join_automatically_bookmarks_a_room_without_one(ui: Any, main: MainWindow) -> None:
    await enter(ui)
    await ui.until(lambda: rows(main))
    action(main.rooms_section.menu_for(index(main)), "Join automatically").trigger()
    await ui.until(lambda: ui.core.bookmarks.get(ME, ROOM) is not None)
    assert replace(ui.core.bookmarks.get(ME, ROOM), extensions="") == Bookmark(
        ME, ROOM, nick="Me", autojoin=True
    )
