"""The conversation window's "New messages" line follows the conversation's read
position (the core's ``conversations.first_unread``, a sequence of the event log), not
the state of each message: it goes above the first of the contact's messages after our
read position, never above our own, and goes when the user reads them on another
device."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from chinwag.core.models import ConversationKey, Direction, Message, MessageState, Origin
from chinwag.ui.conversation_window import ConversationWindow

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]


def unread_history(ui: UiRig, first: int, count: int, state: MessageState) -> list[Message]:
    """``count`` of the contact's messages, newer than what :meth:`UiRig.fill` made."""
    return [
        ui.message(
            first + n,
            direction=Direction.INCOMING,
            sender=ui.peer,
            body=f"later {n}",
            state=state,
        )
        for n in range(count)
    ]


async def test_messages_after_the_read_position_get_the_line_whatever_their_state(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(10)  # read
    # Shown as displayed (another device marked them) but after our read position.
    later = await ui.store.add_incoming(unread_history(ui, 100, 3, MessageState.DISPLAYED))
    window = await conversation_window(activate=False)
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == later[0].uid


async def test_messages_before_the_read_position_get_no_line_whatever_their_state(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(10)
    await ui.store.add_incoming(unread_history(ui, 100, 3, MessageState.RECEIVED))
    await ui.read_to_end()  # read up to the newest (the read position says so)
    window = await conversation_window(activate=False)
    assert window.read_marker is None


async def test_our_own_messages_after_the_read_position_get_no_line(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(10)
    ours = [
        ui.message(
            100 + n,
            direction=Direction.OUTGOING,
            sender=ui.me,
            body=f"from my phone {n}",
            state=MessageState.SENT,
            origin=Origin.CARBON,
        )
        for n in range(3)
    ]
    await ui.store.add_incoming(ours)  # sent from another device, after our position
    theirs = await ui.store.add_incoming(unread_history(ui, 200, 2, MessageState.RECEIVED))
    key = ConversationKey(ui.me, ui.peer)
    info = ui.store.conversation_info(key)
    assert info is not None
    assert ui.core.conversations.first_unread(key) == info.read_sequence + 1
    window = await conversation_window(activate=False)
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == theirs[0].uid


async def test_the_line_goes_when_the_messages_are_read_on_another_device(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    seen = ui.conn.receive("seen")
    await ui.until(lambda: window.model.index_of(seen).isValid(), what="shown")
    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    await ui.until(lambda: not window.isActiveWindow(), what="inactive")
    first = ui.conn.receive("while away")
    last = ui.conn.receive("and this")
    await ui.until(lambda: window.model.index_of(last).isValid(), what="shown")
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == first.uid
    # The user reads them on their phone: its displayed marker comes back as a carbon.
    ui.conn.listener.on_displayed(last.uid, ui.peer, True)
    await ui.until(lambda: window.read_marker is None, what="the line gone")
    await ui.idle()


async def test_the_line_moves_down_as_the_messages_are_read_on_another_device(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    seen = ui.conn.receive("seen")
    await ui.until(lambda: window.model.index_of(seen).isValid(), what="shown")
    await ui.idle()  # marked read here
    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    await ui.until(lambda: not window.isActiveWindow(), what="inactive")
    away = [ui.conn.receive(f"while away {n}") for n in range(3)]
    await ui.until(lambda: window.model.index_of(away[-1]).isValid(), what="shown")
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == away[0].uid
    # Read on the phone up to a message before the line: it stays where it is.
    ui.conn.listener.on_displayed(seen.uid, ui.peer, True)
    await ui.core.messaging.drain()
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == away[0].uid
    # Up to the first of the new ones: the line moves down to the next.
    ui.conn.listener.on_displayed(away[0].uid, ui.peer, True)
    await ui.until(
        lambda: window.read_marker is not None and window.read_marker.uid == away[1].uid,
        what="the line moved down",
    )
    # Up to the last: it goes.
    ui.conn.listener.on_displayed(away[2].uid, ui.peer, True)
    await ui.until(lambda: window.read_marker is None, what="the line gone")


async def test_reactions_after_the_read_position_are_no_new_messages(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    history = await ui.fill(10)
    ours = next(m for m in reversed(history) if m.direction is Direction.OUTGOING)
    # The contact reacts to our message while the window is closed: in the log after
    # our read position, but not a message.
    ui.conn.receive("", reacts_to=ours.uid, reactions=("\U0001f44d",))
    key = ConversationKey(ui.me, ui.peer)
    await ui.until(lambda: ui.store.reactions([ours.id or 0]), what="the reaction stored")
    assert ui.core.conversations.first_unread(key) != 0
    window = await conversation_window(activate=False)
    assert window.read_marker is None


async def test_the_line_is_found_past_many_of_our_own_messages(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    """More of our own messages after the read position than the window keeps rows:
    the contact's first message after them still gets the line."""
    await ui.sign_in()
    await ui.fill(10)
    window_rows = 1000  # more than any window keeps (HistoryModel.max_rows)
    ours = [
        ui.message(
            100 + n,
            direction=Direction.OUTGOING,
            sender=ui.me,
            body=f"note {n}",
            state=MessageState.SENT,
            origin=Origin.CARBON,
        )
        for n in range(window_rows)
    ]
    await ui.store.add_incoming(ours)
    theirs = await ui.store.add_incoming(
        unread_history(ui, 100 + window_rows, 2, MessageState.RECEIVED)
    )
    window = await conversation_window(activate=False)
    assert window.model.max_rows < window_rows
    marker = window.read_marker
    assert marker is not None
    assert marker.uid == theirs[0].uid
