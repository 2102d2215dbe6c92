"""Issue 12, the group chat dialogs driven as a person would (typing, clicking, Enter,
never ``exec()``): Join (the address checked as typed and completed with the server's
group chat service, each refusal said in words with the dialog kept open, success
opening the room's window and bookmarking), Create (the configuration sent, a room
already there left as it was) and Browse (pages, More, a search that drops the one
before it, Join from the list). The core is real; the connection plays a scripted
group chat service (:class:`Muc`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPushButton,
    QTreeView,
)
from pytestqt.qtbot import QtBot

from chinwag.core.models import (
    STATUS_CREATED,
    STATUS_SELF,
    Affiliation,
    Bookmark,
    ConversationKind,
    DiscoIdentity,
    DiscoInfo,
    DiscoItem,
    DiscoItemsPage,
    Role,
    RoomPresence,
)
from chinwag.ui.context import UiContext
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.create_room_dialog import CreateRoomDialog, room_config, suggested_name
from chinwag.ui.join_room_dialog import JoinRoomDialog
from chinwag.ui.main_window import MainWindow
from chinwag.ui.room_browser import PAGE_SIZE, RoomBrowser
from chinwag.ui.room_window import RoomWindow
from rig.qt_forms import W, click, message, named, type_into

if TYPE_CHECKING:
    from conftest import FakeConnection, UiRig

SERVICE = "conference.example.org"
ROOM = f"lounge@{SERVICE}"
ENTER = Qt.Key.Key_Return
ROOMINFO = "http://jabber.org/protocol/muc#roominfo"


class Muc:
    """The group chat service of example.org, scripted on the fake connection: rooms
    that let us in, make a new room, ask for a password, or refuse with a condition;
    and the public rooms, listed in pages (XEP-0059) with their counts."""

    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        #: room -> the condition it refuses with, "" to let in, "new" to be made.
        self.answers: dict[str, str] = {}
        #: room -> the password it wants.
        self.passwords: dict[str, str] = {}
        self.joins: list[tuple[str, str, str]] = []
        self.left: list[str] = []
        self.configured: list[tuple[str, dict[str, Any]]] = []
        self.bookmarks: list[Bookmark] = []
        #: The public rooms (address, name, occupants, description), in address order.
        self.public: list[tuple[str, str, int, str]] = []
        self.listed: list[tuple[str, str]] = []  # (after, jid) of each listing asked
        #: While set, a listing of the service waits for it (the first one only).
        self.gate: asyncio.Event | None = None
        #: While set, the server's items (where its group chat service is) wait for it.
        self.service_gate: asyncio.Event | None = None
        conn.join_room = self.join_room  # type: ignore[method-assign]
        conn.leave_room = self.leave_room  # type: ignore[method-assign]
        conn.configure_room = self.configure_room  # type: ignore[method-assign]
        conn.publish_bookmark = self.publish_bookmark  # type: ignore[method-assign]
        conn.disco_items = self.disco_items  # type: ignore[method-assign]
        conn.disco_info = self.disco_info  # type: ignore[method-assign]

    def join_room(self, room: str, nick: str, password: str = "", show: Any = None) -> None:
        self.joins.append((room, nick, password))
        answer = self.answers.get(room, "")
        if room in self.passwords and password != self.passwords[room]:
            answer = "not-authorized"
        listener = self.conn.listener
        loop = asyncio.get_running_loop()
        if answer in ("", "new"):
            codes = frozenset({STATUS_SELF, STATUS_CREATED} if answer == "new" else {STATUS_SELF})
            presence = RoomPresence(
                room, nick, role=Role.MODERATOR, affiliation=Affiliation.OWNER, codes=codes
            )
            loop.call_soon(listener.on_room_presence, presence)
        else:
            loop.call_soon(listener.on_room_error, room, answer, "")

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        self.left.append(room)

    async def configure_room(self, room: str, fields: Any) -> None:
        self.configured.append((room, dict(fields)))

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        self.bookmarks.append(bookmark)

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        if jid == "example.org":
            if self.service_gate is not None:
                await self.service_gate.wait()
            return DiscoItemsPage((DiscoItem(SERVICE), DiscoItem("upload.example.org")))
        assert jid == SERVICE
        self.listed.append((after, jid))
        if self.gate is not None:
            gate, self.gate = self.gate, None
            await gate.wait()
        rooms = [r for r in self.public if r[0] > after]
        page = rooms[:limit] if limit else rooms
        last = page[-1][0] if page else ""
        items = tuple(DiscoItem(r[0], r[1]) for r in page)
        return DiscoItemsPage(items, last, len(self.public), paged=True)

    async def disco_info(self, jid: str) -> DiscoInfo:
        if jid == SERVICE:
            return DiscoInfo(jid, (DiscoIdentity("conference", "text", "Chatrooms"),))
        for address, name, count, description in self.public:
            if address == jid:
                form = {
                    "muc#roominfo_occupants": (str(count),),
                    "muc#roominfo_description": (description,),
                }
                identity = DiscoIdentity("conference", "text", name)
                return DiscoInfo(jid, (identity,), forms={ROOMINFO: form})
        return DiscoInfo(jid)


@pytest.fixture
def ctx(ui: UiRig) -> Iterator[UiContext]:
    """The UI context with a registry that has room windows, as the application's."""
    made: UiContext

    def chat(account: str, peer: str) -> object:
        from chinwag.ui.conversation_window import ConversationWindow

        return ConversationWindow(made, account, peer)

    def room(account: str, address: str) -> object:
        return RoomWindow(made, account, address)

    def is_room(account: str, address: str) -> bool:
        return ui.core.rooms.room(account, address) is not None

    made = UiContext(ui.core, ui.bridge, ConversationWindows(chat, room, is_room))
    yield made
    made.windows.close_all()


@pytest.fixture
async def muc(ui: UiRig) -> Muc:
    conn = await ui.sign_in()
    return Muc(conn)


def show(qtbot: QtBot, dialog: W) -> W:
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


# --------------------------------------------------------------------------- join


async def test_join_checks_the_address_as_typed_and_completes_a_bare_name(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    dialog = show(qtbot, JoinRoomDialog(ctx))
    join = named(dialog, QPushButton, "Join")
    address = named(dialog, QLineEdit, "Group chat address")
    nick = named(dialog, QLineEdit, "Nick")
    assert not named(dialog, QComboBox, "Account").isVisible()  # one account: no choice
    assert nick.text() == "Me"  # the account's nickname
    assert message(dialog) == "Enter the group chat's address, like room@conference.example.org."
    assert not join.isEnabled()

    type_into(qtbot, address, f"{ROOM}/Me")
    assert message(dialog) == "Leave out the “/” and what follows it: a group chat has no nick."
    assert not join.isEnabled()
    type_into(qtbot, address, f"@{SERVICE}")
    assert message(dialog) == (
        "Add the group chat's name before the service, like room@conference.example.org."
    )
    type_into(qtbot, address, "a b@conference.example.org")
    assert message(dialog).startswith("This is not the address of a group chat: ")
    assert not join.isEnabled()

    type_into(qtbot, address, "Lounge")  # a bare name: the server's group chat service
    await ui.until(join.isEnabled, what="the service found")
    assert message(dialog) == f"Joins {ROOM}."
    assert dialog.room == ROOM
    type_into(qtbot, nick, "")
    assert message(dialog) == "Enter a nick: the name others see you under in the group chat."
    assert not join.isEnabled()
    type_into(qtbot, nick, "Bob")
    type_into(qtbot, address, ROOM)
    assert join.isEnabled()
    assert message(dialog) == ""


async def test_join_needs_a_signed_in_account(ui: UiRig, ctx: UiContext, qtbot: QtBot) -> None:
    dialog = show(qtbot, JoinRoomDialog(ctx, room=ROOM))
    join = named(dialog, QPushButton, "Join")
    assert not join.isEnabled()
    assert message(dialog) == (
        "Sign in to an account first: group chats are joined from one of your accounts."
    )
    await ui.sign_in()  # the dialog follows the connection
    assert dialog.account == ui.me
    assert join.isEnabled()
    assert named(dialog, QLineEdit, "Nick").text() == "Me"


REFUSALS = [
    ("not-authorized", "Password", f"{ROOM} needs a password, or the password was wrong."),
    ("registration-required", "Group chat address", f"{ROOM} is for members only"),
    ("forbidden", "Group chat address", f"You are banned from {ROOM}."),
    ("conflict", "Nick", "That nick is taken in this group chat: choose another."),
    ("item-not-found", "Group chat address", f"{ROOM} does not exist"),
    ("service-unavailable", "Group chat address", f"{ROOM} is full"),
]


@pytest.mark.parametrize(("condition", "field", "words"), REFUSALS)
async def test_a_refusal_is_said_in_words_and_the_dialog_stays_open(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot, condition: str, field: str, words: str
) -> None:
    muc.answers[ROOM] = condition
    muc.service_gate = asyncio.Event()  # the service is found after the refusal
    dialog = show(qtbot, JoinRoomDialog(ctx, room=ROOM))
    joined: list[tuple[str, str]] = []
    dialog.joined.connect(lambda *args: joined.append(args))
    qtbot.keyClick(named(dialog, QLineEdit, "Group chat address"), ENTER)  # Enter joins

    join = named(dialog, QPushButton, "Join")
    await ui.until(lambda: join.isEnabled() and "Joining" not in message(dialog))
    assert words in message(dialog)
    muc.service_gate.set()
    await ui.idle()
    assert words in message(dialog)  # (it stands until something is changed)
    assert dialog.isVisible()
    assert joined == []
    assert named(dialog, QLineEdit, field).hasFocus()  # where to fix it
    assert ctx.windows.find(ui.me, ROOM, ConversationKind.GROUPCHAT) is None
    if condition == "conflict":  # (the core tried other nicks first)
        assert [n for _, n, _ in muc.joins] == ["Me", "Me_", "Me__", "Me_2", "Me_3"]


async def test_a_room_that_does_not_answer_is_said_so(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.core.rooms, "_timeout", 0.05)
    muc.conn.join_room = lambda *args, **kw: None  # type: ignore[method-assign]
    dialog = show(qtbot, JoinRoomDialog(ctx, room=ROOM))
    click(qtbot, named(dialog, QPushButton, "Join"))
    await ui.until(lambda: "did not answer" in message(dialog))
    assert message(dialog) == f"{ROOM} did not answer. Try again later."
    assert dialog.isVisible()


async def test_a_wrong_password_is_fixed_in_the_dialog_and_the_room_opens_bookmarked(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    muc.passwords[ROOM] = "s3cret"
    dialog = show(qtbot, JoinRoomDialog(ctx))
    joined: list[tuple[str, str]] = []
    dialog.joined.connect(lambda *args: joined.append(args))
    qtbot.keyClicks(named(dialog, QLineEdit, "Group chat address"), ROOM)
    password = named(dialog, QLineEdit, "Password")
    qtbot.keyClicks(password, "wrong")
    autojoin = named(dialog, QCheckBox, "Join automatically")
    assert not autojoin.isEnabled()  # (only a bookmark is joined automatically)
    click(qtbot, named(dialog, QCheckBox, "Bookmark it"))
    assert autojoin.isEnabled()
    click(qtbot, autojoin)
    click(qtbot, named(dialog, QPushButton, "Join"))
    await ui.until(lambda: "password" in message(dialog) and password.isEnabled())
    assert password.hasFocus()
    assert muc.bookmarks == []

    type_into(qtbot, password, "s3cret")
    qtbot.keyClick(password, ENTER)
    await ui.until(lambda: joined, what="joined")
    assert joined == [(ui.me, ROOM)]
    assert not dialog.isVisible()
    assert [p for _, _, p in muc.joins] == ["wrong", "s3cret"]
    assert ui.core.rooms.is_joined(ui.me, ROOM)
    window = ctx.windows.find(ui.me, ROOM, ConversationKind.GROUPCHAT)
    assert isinstance(window, RoomWindow)
    assert window.isVisible()
    assert muc.bookmarks == [Bookmark(ui.me, ROOM, nick="Me", password="s3cret", autojoin=True)]
    assert ui.core.bookmarks.get(ui.me, ROOM) is not None


async def test_join_without_a_bookmark_opens_the_window_only(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    dialog = show(qtbot, JoinRoomDialog(ctx, room="lounge", nick="Bob"))
    join = named(dialog, QPushButton, "Join")
    await ui.until(join.isEnabled, what="the service found")
    click(qtbot, join)
    await ui.until(lambda: not dialog.isVisible(), what="the dialog closed")
    assert muc.joins == [(ROOM, "Bob", "")]
    assert ctx.windows.find(ui.me, ROOM, ConversationKind.GROUPCHAT) is not None
    assert muc.bookmarks == []


# --------------------------------------------------------------------------- create


def test_a_suggested_address_is_the_name_in_lower_case_joined_by_dashes() -> None:
    assert suggested_name("Book Club!") == "book-club"
    assert suggested_name("  Déjà  vu__2 ") == "déjà-vu-2"
    assert suggested_name("!!!") == ""


def test_a_suggested_address_has_one_dash_between_words_and_none_at_the_end() -> None:
    # A run of spaces and underscores is one dash; cutting at 64 leaves no dash behind.
    assert suggested_name("Tea _ cakes") == "tea-cakes"
    assert suggested_name("Café / Crème __ x") == "café-crème-x"
    cut = suggested_name("a" * 63 + " b")
    assert cut == "a" * 63


async def test_create_sends_the_configuration_and_bookmarks_the_room(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    room = f"book-club@{SERVICE}"
    muc.answers[room] = "new"
    dialog = show(qtbot, CreateRoomDialog(ctx))
    created: list[tuple[str, str]] = []
    dialog.created.connect(lambda *args: created.append(args))
    create = named(dialog, QPushButton, "Create")
    assert not create.isEnabled()
    assert message(dialog) == "Enter a name for the group chat."
    address = named(dialog, QLineEdit, "Group chat address")
    qtbot.keyClicks(named(dialog, QLineEdit, "Name"), "Book Club")
    await ui.until(lambda: address.text() == room, what="the address suggested")
    qtbot.keyClicks(named(dialog, QLineEdit, "Description"), "Reading together")
    click(qtbot, named(dialog, QCheckBox, "Listed publicly"))
    click(qtbot, named(dialog, QCheckBox, "Members only"))
    click(qtbot, named(dialog, QCheckBox, "Needs a password"))
    assert not create.isEnabled()
    assert message(dialog) == "Enter the password people need to join."
    qtbot.keyClicks(named(dialog, QLineEdit, "Password"), "pages")
    assert create.isEnabled()
    assert named(dialog, QCheckBox, "Bookmark it").isChecked()  # by default
    assert named(dialog, QCheckBox, "Join automatically").isChecked()
    click(qtbot, create)

    await ui.until(lambda: created, what="created")
    assert created == [(ui.me, room)]
    assert not dialog.isVisible()
    assert muc.joins == [(room, "Me", "pages")]
    [(configured_room, fields)] = muc.configured
    assert configured_room == room
    assert fields == {
        "muc#roomconfig_persistentroom": "1",
        "muc#roomconfig_whois": "anyone",
        "muc#roomconfig_roomname": "Book Club",
        "muc#roomconfig_roomdesc": "Reading together",
        "muc#roomconfig_publicroom": "1",
        "muc#roomconfig_membersonly": "1",
        "muc#roomconfig_moderatedroom": "0",
        "muc#roomconfig_passwordprotectedroom": "1",
        "muc#roomconfig_roomsecret": "pages",
    }
    assert muc.bookmarks == [
        Bookmark(ui.me, room, name="Book Club", nick="Me", password="pages", autojoin=True)
    ]
    assert ctx.windows.find(ui.me, room, ConversationKind.GROUPCHAT) is not None


async def test_an_edited_address_no_longer_follows_the_name(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    dialog = show(qtbot, CreateRoomDialog(ctx))
    name = named(dialog, QLineEdit, "Name")
    address = named(dialog, QLineEdit, "Group chat address")
    qtbot.keyClicks(name, "Team")
    await ui.until(lambda: address.text() == f"team@{SERVICE}")
    type_into(qtbot, address, "crew")
    qtbot.keyClicks(name, " Two")
    assert address.text() == "crew"
    assert dialog.room == f"crew@{SERVICE}"


async def test_a_room_that_exists_already_is_not_reconfigured(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    muc.answers[ROOM] = ""  # someone's room: it lets us in, not made by our join
    dialog = show(qtbot, CreateRoomDialog(ctx))
    created: list[tuple[str, str]] = []
    dialog.created.connect(lambda *args: created.append(args))
    qtbot.keyClicks(named(dialog, QLineEdit, "Name"), "Lounge")
    address = named(dialog, QLineEdit, "Group chat address")
    await ui.until(lambda: address.text() == ROOM)
    click(qtbot, named(dialog, QPushButton, "Create"))
    await ui.until(lambda: "exists already" in message(dialog) and address.isEnabled())
    assert message(dialog) == (
        f"{ROOM} exists already: it was not changed. Choose another address, "
        "or join it with Join Group Chat."
    )
    assert dialog.isVisible()
    assert created == []
    assert muc.configured == []
    assert muc.left == [ROOM]  # (not ours to be in)
    assert not ui.core.rooms.is_joined(ui.me, ROOM)
    assert muc.bookmarks == []
    assert ctx.windows.find(ui.me, ROOM, ConversationKind.GROUPCHAT) is None


def test_room_config_without_a_password_sends_no_secret() -> None:
    config = room_config("Quiet", "", public=False, members_only=False, moderated=True, password="")
    assert config["muc#roomconfig_passwordprotectedroom"] == "0"
    assert config["muc#roomconfig_moderatedroom"] == "1"
    assert "muc#roomconfig_roomsecret" not in config


# --------------------------------------------------------------------------- browse


def public_rooms(count: int) -> list[tuple[str, str, int, str]]:
    return [
        (f"pub-{i:03d}@{SERVICE}", f"Public room {i:03d}", i % 3, f"Room number {i}")
        for i in range(count)
    ]


async def test_browse_lists_pages_with_more_and_counts(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    muc.public = public_rooms(120)
    browser = show(qtbot, RoomBrowser(ctx))
    more = named(browser, QPushButton, "More")
    await ui.until(lambda: len(browser.rooms()) == PAGE_SIZE, what="the first page")
    assert named(browser, QLineEdit, "Service").text() == SERVICE  # the account's own
    first = browser.rooms()[0]
    assert (first.jid, first.name, first.occupants, first.description) == (
        f"pub-000@{SERVICE}",
        "Public room 000",
        0,
        "Room number 0",
    )
    view = named(browser, QTreeView, "Group chats")
    model = view.model()
    assert [model.index(1, c).data() for c in range(4)] == [
        "Public room 001",
        f"pub-001@{SERVICE}",
        "1",
        "Room number 1",
    ]
    await ui.until(more.isEnabled)
    assert message(browser, "Status") == "Showing 50 of 120 group chats."
    click(qtbot, more)
    await ui.until(lambda: len(browser.rooms()) == 100, what="the second page")
    await ui.until(more.isEnabled)
    click(qtbot, more)
    await ui.until(lambda: len(browser.rooms()) == 120, what="the last page")
    await ui.idle()
    assert not more.isEnabled()
    assert [r.jid for r in browser.rooms()] == [r[0] for r in muc.public]  # each once
    assert [after for after, _ in muc.listed] == [
        "",
        f"pub-049@{SERVICE}",
        f"pub-099@{SERVICE}",
    ]


async def test_browse_searches_and_a_newer_search_drops_the_one_before(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    muc.public = public_rooms(120)
    browser = show(qtbot, RoomBrowser(ctx))
    await ui.until(lambda: len(browser.rooms()) == PAGE_SIZE)
    await ui.idle()
    search = named(browser, QLineEdit, "Search")

    gate = muc.gate = asyncio.Event()  # the first search waits for the service
    asked = len(muc.listed)
    qtbot.keyClicks(search, "room 07")
    await ui.until(lambda: len(muc.listed) > asked, what="the first search asked")
    qtbot.keyClicks(search, "3")  # "room 073": a newer search, answered at once
    await ui.until(lambda: [r.jid for r in browser.rooms()] == [f"pub-073@{SERVICE}"])
    gate.set()  # the first search's answer comes now: too late to be shown
    await ui.idle()
    assert [r.jid for r in browser.rooms()] == [f"pub-073@{SERVICE}"]
    assert browser.rooms()[0].occupants == 1  # (with its count)
    assert message(browser, "Status") == "1 group chat found for “room 073”."
    assert not named(browser, QPushButton, "More").isVisible()

    type_into(qtbot, search, "nothing like it")
    await ui.until(lambda: "No group chat found" in message(browser, "Status"))
    assert browser.rooms() == []
    type_into(qtbot, search, "")  # cleared: the listing again
    await ui.until(lambda: len(browser.rooms()) == PAGE_SIZE)


async def test_enter_on_a_listed_room_opens_the_join_dialog_filled_in(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    muc.public = public_rooms(3)
    browser = show(qtbot, RoomBrowser(ctx))
    await ui.until(lambda: len(browser.rooms()) == 3)
    view = named(browser, QTreeView, "Group chats")
    view.setFocus()
    view.setCurrentIndex(view.model().index(2, 0))
    qtbot.keyClick(view, ENTER)
    dialogs = [d for d in browser.findChildren(JoinRoomDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert named(dialog, QLineEdit, "Group chat address").text() == f"pub-002@{SERVICE}"
    assert named(dialog, QLineEdit, "Nick").text() == "Me"
    click(qtbot, named(dialog, QPushButton, "Join"))
    await ui.until(lambda: ctx.windows.find(ui.me, f"pub-002@{SERVICE}"), what="the room open")
    await ui.until(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
    assert browser.isVisible()  # (to join another)


async def test_browse_says_when_the_service_does_not_list(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    browser = show(qtbot, RoomBrowser(ctx))
    await ui.until(lambda: "lists no group chats" in message(browser, "Status"))
    assert message(browser, "Status") == f"{SERVICE} lists no group chats."
    assert not named(browser, QPushButton, "Join").isEnabled()


# --------------------------------------------------------------------------- main window


async def test_the_main_window_offers_the_group_chat_dialogs(
    ui: UiRig, ctx: UiContext, qtbot: QtBot
) -> None:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    entries = [a.text() for a in menus["&Group chat"].actions()]  # type: ignore[union-attr]
    assert entries == ["&Join Group Chat…", "&Create Group Chat…", "&Browse Group Chats…"]
    assert window.join_room_action.shortcut().toString() == "Ctrl+J"
    asked: list[str] = []
    window.join_room_requested.connect(lambda: asked.append("join"))
    window.create_room_requested.connect(lambda: asked.append("create"))
    window.browse_rooms_requested.connect(lambda: asked.append("browse"))
    window.join_room_action.trigger()
    window.create_room_action.trigger()
    window.browse_rooms_action.trigger()
    assert asked == ["join", "create", "browse"]


async def test_every_control_has_an_accessible_name(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    for dialog in (JoinRoomDialog(ctx), CreateRoomDialog(ctx), RoomBrowser(ctx)):
        show(qtbot, dialog)
        assert dialog.accessibleName()
        for kind in (QLineEdit, QAbstractButton, QComboBox, QTreeView):
            for widget in dialog.findChildren(kind):
                if widget.isVisibleTo(dialog) and widget.parentWidget() is not None:
                    if isinstance(widget.parentWidget(), QTreeView | QComboBox):
                        continue  # (a view's own header and scroll bar buttons)
                    assert widget.accessibleName(), f"{type(dialog).__name__}: {widget}"
        dialog.close()
    await ui.idle()


async def test_a_bookmarked_room_starts_from_its_bookmark(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    await ui.core.bookmarks.add(
        ui.me, ROOM, name="The lounge", nick="Lou", password="pw", autojoin=True
    )
    dialog = show(qtbot, JoinRoomDialog(ctx))
    type_into(qtbot, named(dialog, QLineEdit, "Group chat address"), ROOM)
    assert named(dialog, QLineEdit, "Nick").text() == "Lou"
    assert named(dialog, QLineEdit, "Password").text() == "pw"
    assert named(dialog, QCheckBox, "Bookmark it").isChecked()
    assert named(dialog, QCheckBox, "Join automatically").isChecked()
    click(qtbot, named(dialog, QPushButton, "Join"))
    await ui.until(lambda: not dialog.isVisible(), what="the dialog closed")
    assert muc.joins == [(ROOM, "Lou", "pw")]
    # Joining changed nothing of the bookmark the user did not change.
    kept = ui.core.bookmarks.get(ui.me, ROOM)
    assert kept is not None
    assert (kept.name, kept.nick, kept.password, kept.autojoin) == ("The lounge", "Lou", "pw", True)


async def test_an_xmpp_link_names_the_room(
    ui: UiRig, ctx: UiContext, muc: Muc, qtbot: QtBot
) -> None:
    dialog = show(qtbot, JoinRoomDialog(ctx))
    address = named(dialog, QLineEdit, "Group chat address")
    type_into(qtbot, address, f"xmpp:{ROOM}?join")
    assert dialog.room == ROOM
    type_into(qtbot, address, "xmpp:caf%C3%A9@conference.example.org?join;password=x")
    assert dialog.room == "café@conference.example.org"
