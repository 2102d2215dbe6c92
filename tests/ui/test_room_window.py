"""The window of a group conversation: entering the room, its refusals in words, the
participants panel and what it offers, nicks and their colours, mentions, Tab
completion, typing, sending to the room, and leaving when the window closes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from chinwag.core.events import OccupantChanged
from chinwag.core.models import (
    Affiliation,
    ConversationKey,
    ConversationKind,
    DiscoIdentity,
    DiscoInfo,
    DiscoItem,
    DiscoItemsPage,
    Role,
    RoomState,
)
from chinwag.core.room_permissions import RoomAction
from chinwag.ui.history_model import Role as Row
from chinwag.ui.nick_colors import hue_angle, nick_color
from chinwag.ui.room_window import OccupantsModel, RoomWindow

ROOM = "lounge@rooms.example.org"
ME = "me@example.org"
PEER = "peer@example.net"


async def open_room(ui: Any, *, enter: bool = True, me: dict[str, Any] | None = None) -> RoomWindow:
    await ui.sign_in()
    window = ui.windows.open(ME, ROOM, kind=ConversationKind.GROUPCHAT)
    assert isinstance(window, RoomWindow)
    await ui.until(lambda: ui.conn.joins, what="the join")
    if enter:
        ui.conn.enter(ROOM, "Me", **(me or {}))
        await ui.until(lambda: ui.core.rooms.is_joined(ME, ROOM), what="in the room")
    return window


def rows(window: RoomWindow) -> list[str]:
    window.occupants.refresh()
    return window.occupants.nicks()


async def test_opening_a_room_window_enters_the_room_with_the_accounts_nickname(ui: Any) -> None:
    window = await open_room(ui, enter=False)
    assert ui.conn.joins == [(ROOM, "Me", "")]
    assert "Entering the room" in window._connection_label.text()
    ui.conn.enter(ROOM, "Me")
    await ui.until(lambda: not window._connection_label.isVisibleTo(window), what="joined")
    assert window.windowTitle() == "lounge (group chat)"
    assert window.subject_text == "No subject"
    ui.conn.listener.on_room_subject(ROOM, "Friday: pizza\nand more", "alice")
    await ui.until(lambda: window.subject_text == "Friday: pizza", what="the subject")
    assert window._status_label.toolTip() == "Friday: pizza\nand more"
    # The registry finds it as the room's, and by address alone.
    assert ui.windows.find(ME, ROOM) is window
    assert ui.windows.find(ME, ROOM, ConversationKind.CHAT) is None


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("forbidden", "banned"),
        ("registration-required", "members only"),
        ("not-authorized", "password"),
        ("item-not-found", "no such room"),
    ],
)
async def test_a_refusal_shows_in_the_window_in_words(ui: Any, condition: str, words: str) -> None:
    window = await open_room(ui, enter=False)
    ui.conn.listener.on_room_error(ROOM, condition, "")
    await ui.until(lambda: window.error_text, what="the error")
    assert words in window.error_text
    assert words in window._connection_label.text()
    assert ui.core.rooms.room(ME, ROOM).state is RoomState.FAILED


async def test_a_huge_subject_is_shown_cut(ui: Any) -> None:
    window = await open_room(ui)
    subject = "x" * 250_000
    ui.conn.listener.on_room_subject(ROOM, subject, "alice")
    await ui.until(lambda: window.subject_text.startswith("xxx"), what="the subject")
    assert len(window.subject_text) <= 500
    assert len(window._status_label.toolTip()) <= 2000


async def test_participants_moderators_first_then_by_nick(ui: Any) -> None:
    window = await open_room(ui)
    conn = ui.conn
    conn.room_presence(ROOM, "zoe", role=Role.MODERATOR, jid="zoe@example.org")
    conn.room_presence(ROOM, "Bob", jid="bob@example.org")
    conn.room_presence(ROOM, "alice", role=Role.VISITOR)
    await ui.until(lambda: len(rows(window)) == 4, what="four in the panel")
    assert rows(window) == ["zoe", "Bob", "Me", "alice"]
    assert window._participants_heading.text() == "&Participants (4)"
    zoe = window.occupants.index(0)
    shown = [window.occupants.index(n).data(Qt.ItemDataRole.DisplayRole) for n in range(4)]
    assert shown == ["zoe (moderator)", "Bob", "Me", "alice (no voice)"]
    assert "moderator" in zoe.data(Qt.ItemDataRole.ToolTipRole)
    assert "zoe@example.org" in zoe.data(Qt.ItemDataRole.ToolTipRole)
    conn.room_presence(ROOM, "Bob", available=False)
    await ui.until(lambda: rows(window) == ["zoe", "Me", "alice"], what="Bob gone")
    assert window.participants() == ["zoe@example.org"]


async def test_a_crowd_joining_is_shown_in_a_few_resets(ui: Any, qtbot: Any) -> None:
    window = await open_room(ui)
    resets: list[int] = []
    window.occupants.modelReset.connect(lambda: resets.append(1))
    events: list[OccupantChanged] = []
    ui.core.bus.subscribe(OccupantChanged, events.append)
    for n in range(5000):
        ui.conn.room_presence(ROOM, f"user{n:04}")
    assert len(events) == 5000
    await ui.until(lambda: window.occupants.rowCount() == 5001, what="the crowd shown")
    assert len(resets) <= 3  # one per coalescing interval, not one per occupant


async def test_nicks_are_authors_with_their_own_colour(ui: Any) -> None:
    window = await open_room(ui)
    ui.conn.room_presence(ROOM, "alice", jid="alice@example.org")
    ui.conn.room_says(ROOM, "alice", "hello room")
    model = window.model
    await ui.until(lambda: model.rowCount() == 1, what="the message")
    index = model.index(0)
    assert index.data(Row.SENDER) == "alice"
    assert index.data(Row.SENDER_COLOR) == nick_color("alice")
    assert index.data(Row.SENDER_COLOR) != nick_color("bob")
    assert not index.data(Row.MENTION)
    assert window.transcript()[0][1] == "alice"


def test_nick_colours_follow_xep_0392() -> None:
    # The XEP's own test vector: "Romeo" has the hue 327.255249 degrees and, in HSLuv at
    # saturation 100 and lightness 50, the colour (0.865, 0.000, 0.686).
    assert hue_angle("Romeo") == pytest.approx(327.255249, abs=1e-5)
    color = nick_color("Romeo")
    assert (color.redF(), color.greenF(), color.blueF()) == pytest.approx(
        (0.865, 0.0, 0.686), abs=0.003
    )
    assert isinstance(nick_color("juliet"), QColor)
    assert nick_color("Romeo") == nick_color("Romeo")


async def test_a_message_naming_us_is_a_mention(ui: Any) -> None:
    window = await open_room(ui)
    ui.conn.room_says(ROOM, "alice", "me: are you there?")
    ui.conn.room_says(ROOM, "alice", "Hey ME!")
    ui.conn.room_says(ROOM, "alice", "the meeting is at noon")
    model = window.model
    await ui.until(lambda: model.rowCount() == 3, what="the messages")
    mentions = [model.index(n).data(Row.MENTION) for n in range(3)]
    assert mentions == [True, True, False]
    assert "mentions you" in model.index(0).data(Qt.ItemDataRole.AccessibleTextRole)


async def test_sending_from_the_window_goes_to_the_room(ui: Any) -> None:
    window = await open_room(ui)
    window.compose.set_text("hello all")
    QTest.keyClick(window.compose, Qt.Key.Key_Return)
    await ui.until(lambda: ui.conn.sent, what="sent")
    sent = ui.conn.sent[-1]
    assert (sent.peer, sent.kind, sent.body) == (ROOM, ConversationKind.GROUPCHAT, "hello all")


async def test_tab_completes_nicks_and_cycles(ui: Any) -> None:
    window = await open_room(ui)
    for nick in ("alice", "Alfred", "bob"):
        ui.conn.room_presence(ROOM, nick)
    await ui.until(lambda: len(ui.core.rooms.room(ME, ROOM).occupants) == 3, what="occupants")
    compose = window.compose
    compose.setFocus()
    compose.set_text("al")
    QTest.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.text() == "Alfred: "
    QTest.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.text() == "alice: "
    QTest.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.text() == "Alfred: "
    compose.set_text("ask @bo")
    QTest.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.text() == "ask bob "
    # Our own nick is not offered, and nothing to complete lets Tab move the focus.
    assert not compose.complete_nick() or compose.text() != "ask bob Me "
    compose.set_text("xyz")
    assert not compose.complete_nick()
    assert compose.text() == "xyz"


async def test_typing_in_the_room_names_who(ui: Any) -> None:
    window = await open_room(ui)
    listener = ui.conn.listener
    listener.on_chat_state(ROOM, "composing", kind=ConversationKind.GROUPCHAT, nick="alice")
    await ui.until(lambda: window.typing_text == "alice is typing\u2026", what="alice typing")
    listener.on_chat_state(ROOM, "composing", kind=ConversationKind.GROUPCHAT, nick="bob")
    await ui.until(lambda: "alice and bob" in window.typing_text, what="both typing")
    # Our own chat state, reflected by the room, is not someone typing.
    listener.on_chat_state(ROOM, "composing", kind=ConversationKind.GROUPCHAT, nick="Me")
    ui.conn.room_says(ROOM, "alice", "done")
    await ui.until(lambda: window.typing_text == "bob is typing\u2026", what="alice sent")
    listener.on_chat_state(ROOM, "paused", kind=ConversationKind.GROUPCHAT, nick="bob")
    await ui.until(lambda: window.typing_text == "", what="nobody typing")


def menu_actions(window: RoomWindow, nick: str) -> list[str]:
    menu = window.occupant_menu(nick)
    labels = [a.text().rstrip("\u2026") for a in menu.actions() if not a.isSeparator()]
    menu.close()
    return labels


async def test_the_participant_menu_offers_only_what_we_may_do(ui: Any) -> None:
    window = await open_room(ui)  # a plain participant
    ui.conn.room_presence(ROOM, "alice", jid="alice@example.org")
    await ui.until(lambda: "alice" in ui.core.rooms.room(ME, ROOM).occupants, what="alice")
    assert menu_actions(window, "alice") == ["&Mention"]


async def test_an_owner_kicks_with_a_reason(ui: Any, qtbot: Any) -> None:
    window = await open_room(ui, me={"role": Role.MODERATOR, "affiliation": Affiliation.OWNER})
    ui.conn.room_presence(ROOM, "alice", jid="alice@example.org")
    await ui.until(lambda: "alice" in ui.core.rooms.room(ME, ROOM).occupants, what="alice")
    labels = menu_actions(window, "alice")
    assert labels[:3] == ["&Mention", "Kick", "Revoke voice"]
    assert {"Ban", "Make member", "Make admin", "Make owner", "Make moderator"} <= set(labels)
    alice = ui.core.rooms.room(ME, ROOM).occupants["alice"]
    window.act_on(RoomAction.KICK, alice, "spam")
    await ui.until(lambda: ui.conn.room_changes, what="the kick")
    assert ui.conn.room_changes == [(ROOM, "alice", "none", "spam")]
    window.act_on(RoomAction.GRANT_MEMBERSHIP, alice, "")
    await ui.until(lambda: len(ui.conn.room_changes) == 2, what="membership")
    assert ui.conn.room_changes[1] == (ROOM, "alice@example.org", "member", "")


async def test_mention_from_the_panel_fills_the_compose_box(ui: Any) -> None:
    window = await open_room(ui)
    window._mention("alice")
    assert window.compose.text() == "alice: "


async def test_closing_the_window_leaves_the_room(ui: Any) -> None:
    window = await open_room(ui)
    window.close()
    await ui.until(lambda: ui.conn.leaves == [ROOM], what="the leave")


async def test_closing_everything_at_quit_does_not_leave(ui: Any) -> None:
    await open_room(ui)
    ui.windows.close_all()
    await ui.until(lambda: not ui.windows.all(), what="closed")
    assert ui.conn.leaves == []


def test_the_occupants_model_of_no_room_is_empty(qtbot: Any) -> None:
    model = OccupantsModel(None)
    assert model.rowCount() == 0
    assert model.occupant(0) is None


class _Tray:
    def set_unread(self, count: int) -> None:
        self.unread = count

    def show_message(self, title: str, text: str) -> None:
        pass


class _Notifier(QObject):
    activated = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str]] = []

    def notify(self, title: str, body: str, account: str, jid: str) -> None:
        self.shown.append((title, body))


async def test_a_room_notifies_only_what_names_us(ui: Any) -> None:
    from chinwag.app import Notifications

    await ui.sign_in()
    joining = asyncio.ensure_future(ui.core.rooms.join(ME, ROOM, "Me"))
    await ui.until(lambda: ui.conn.joins, what="the join")
    ui.conn.enter(ROOM, "Me")
    await joining  # in the room, with no window open
    notifier = _Notifier()
    kept = Notifications(ui.ctx, _Tray(), notifier)
    ui.conn.room_says(ROOM, "alice", "lunch, anyone?")
    ui.conn.room_says(ROOM, "alice", "Me, lunch?")
    # Told in the order they came: once the second is, the first was judged too.
    await ui.until(lambda: notifier.shown, what="a notification")
    assert notifier.shown == [("alice in lounge", "Me, lunch?")]
    key = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    assert ui.store.unread_count(key) == 2
    kept.close()


SERVICE = "rooms.example.org"
CAROL = "carol@example.org"


def offer_a_group_chat_service(conn: Any) -> None:
    """The fake server lists a group chat service (disco#items, then its disco#info)."""

    async def items(jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        return DiscoItemsPage((DiscoItem(SERVICE),))

    async def info(jid: str) -> DiscoInfo:
        identities = (DiscoIdentity("conference", "text"),) if jid == SERVICE else ()
        return DiscoInfo(jid, identities)

    conn.disco_items = items
    conn.disco_info = info


async def test_add_people_goes_on_in_a_group_conversation(
    ui: Any, conversation_window: Any
) -> None:
    await ui.sign_in()
    offer_a_group_chat_service(ui.conn)
    chat = await conversation_window(PEER)
    replaced: list[tuple[Any, Any]] = []
    destroyed: list[Any] = []
    ui.windows.replaced.connect(lambda old, new: replaced.append((old, new)))
    ui.windows.destroyed_.connect(destroyed.append)
    chat.add_people(CAROL)
    await ui.until(lambda: ui.conn.joins, what="the new room joined")
    room, nick, _password = ui.conn.joins[0]
    assert room.startswith("chat-")
    assert room.endswith("@" + SERVICE)
    assert nick == "Me"
    ui.conn.enter(
        room, "Me", role=Role.MODERATOR, affiliation=Affiliation.OWNER, codes=frozenset({110, 201})
    )
    await ui.until(lambda: replaced, what="the window replaced")
    old, new = replaced[0]
    assert old is chat
    assert isinstance(new, RoomWindow)
    assert new.key.peer == room
    assert ui.windows.find(ME, room, ConversationKind.GROUPCHAT) is new
    assert ui.windows.find(ME, PEER, ConversationKind.CHAT) is None
    assert destroyed == []  # the conversation went on: nothing was closed for good
    await ui.until(lambda: len(ui.conn.invitations) == 2, what="both invited")
    assert sorted(ui.conn.invitations) == sorted([(room, PEER), (room, CAROL)])
    assert {c[1] for c in ui.conn.room_changes} == {PEER, CAROL}  # made members
    assert {c[2] for c in ui.conn.room_changes} == {"member"}


async def test_add_people_says_why_not(ui: Any, conversation_window: Any) -> None:
    await ui.sign_in()
    chat = await conversation_window(PEER)
    chat.add_people("not an address@")
    assert "is not an address" in chat.error_text
    chat.add_people(PEER)
    assert "already in this conversation" in chat.error_text
    chat.add_people(CAROL)  # the fake server has no group chat service
    await ui.until(lambda: "no group chat service" in chat.error_text, what="the refusal")
    assert ui.conn.joins == []


async def test_a_taken_nick_is_said(ui: Any) -> None:
    window = await open_room(ui, enter=False)
    ui.conn.listener.on_room_error(ROOM, "conflict", "")
    await ui.until(lambda: len(ui.conn.joins) == 2, what="a second nick tried")
    assert ui.conn.joins[1][1] == "Me_"
    ui.conn.enter(ROOM, "Me_")
    await ui.until(lambda: "taken" in window.error_text, what="the notice")
    assert "you are Me_ here" in window.error_text
