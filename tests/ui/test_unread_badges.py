"""Unread counts in the UI come from our read position in the conversation's log, not
from each message's DISPLAYED state (issue 11): the contact list's badge counts the
contact's messages after it (not removed ones) and follows it when it moves (read here,
or on another device: our displayed marker comes back as a carbon); the window marks
displayed once per new message of the contact, a message learnt late from the archive
included, and not again for what was read elsewhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from chinwag.core.models import ConversationKey, Direction, Message, MessageState, Origin
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.roster_model import RosterModel, RosterRole

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]


async def signed_in_with_list(ui: UiRig) -> RosterModel:
    """Signed in, the contact in the roster, and the contact list's model over it."""
    await ui.sign_in()
    ui.set_contact(ui.peer, "Peer")
    return await contact_list(ui)


async def contact_list(ui: UiRig) -> RosterModel:
    model = RosterModel(ui.core, ui.bridge)
    await ui.until(lambda: model.index_of(ui.me, ui.peer), what="the contact listed")
    return model


def badge(model: RosterModel, ui: UiRig) -> int:
    (index,) = model.index_of(ui.me, ui.peer)
    return int(index.data(RosterRole.UNREAD))


def away(qtbot: QtBot) -> QWidget:
    """Another window in front: the conversation window is not being read."""
    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    return elsewhere


async def test_reading_on_another_device_clears_the_badge_and_the_window_marks_nothing(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    ui.set_contact(ui.peer, "Peer")
    await ui.fill(4)  # read history
    # The contact's messages after our read position, already DISPLAYED by their state
    # (the state is not what says they are unread): the badge counts them.
    later = await ui.store.add_incoming(
        [
            ui.message(
                100 + n,
                direction=Direction.INCOMING,
                sender=ui.peer,
                state=MessageState.DISPLAYED,
            )
            for n in range(2)
        ]
    )
    model = await contact_list(ui)
    assert badge(model, ui) == 2
    # The user reads them on their phone: our displayed marker comes back as a carbon.
    # It changes no message's state here (they are DISPLAYED already), only our read
    # position: the badge follows it.
    ui.conn.listener.on_displayed(later[-1].uid, ui.peer, True)
    await ui.until(lambda: badge(model, ui) == 0, what="the badge cleared")
    # Opening the window: nothing is left to mark.
    window = await conversation_window()
    await ui.until(lambda: window.model.index_of(later[-1]).isValid(), what="shown")
    await ui.core.messaging.drain()
    await ui.idle()
    assert ui.conn.displayed == []
    assert ui.store.unread_count(ConversationKey(ui.me, ui.peer)) == 0


async def test_the_window_marks_displayed_once_per_new_message_late_history_included(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    model = await signed_in_with_list(ui)
    key = ConversationKey(ui.me, ui.peer)
    history = await ui.fill(4)
    window = await conversation_window()
    first = ui.conn.receive("first")
    await ui.until(lambda: len(ui.conn.displayed) == 1, what="marked")
    second = ui.conn.receive("second")
    await ui.until(lambda: len(ui.conn.displayed) == 2, what="marked")
    await ui.idle()
    assert ui.conn.displayed == [(ui.peer, first.uid), (ui.peer, second.uid)]
    # From the archive, late: older than everything shown, learnt now (a new sequence).
    late = ui.conn.receive(
        "late from the archive", timestamp=history[0].timestamp - 60, origin=Origin.ARCHIVE
    )
    await ui.until(lambda: window.model.index_of(late).isValid(), what="shown")
    await ui.until(lambda: len(ui.conn.displayed) == 3, what="marked")
    await ui.until(lambda: ui.store.unread_count(key) == 0, what="read")
    # Leaving the window and coming back marks nothing more: all of it is read.
    away(qtbot)
    await ui.until(lambda: not window.isActiveWindow(), what="inactive")
    window.present()
    window.activateWindow()
    await ui.until(window.isActiveWindow, what="active again")
    await ui.core.messaging.drain()
    await ui.idle()
    assert len(ui.conn.displayed) == 3
    assert badge(model, ui) == 0
    stored = ui.store.get(ui.me, ui.peer, late.uid)
    assert stored is not None
    assert stored.state is MessageState.DISPLAYED


async def test_a_late_archive_message_is_unread_until_the_window_shows_it(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    model = await signed_in_with_list(ui)
    history = await ui.fill(6)
    late = ui.conn.receive(
        "late from the archive", timestamp=history[1].timestamp + 1, origin=Origin.ARCHIVE
    )
    await ui.until(lambda: badge(model, ui) == 1, what="counted unread")
    window = await conversation_window()
    await ui.until(lambda: badge(model, ui) == 0, what="read in the window")
    await ui.idle()
    assert window.model.index_of(late).isValid()
    assert len(ui.conn.displayed) == 1


async def test_the_badge_counts_neither_removed_messages_nor_our_own(
    ui: UiRig,
) -> None:
    model = await signed_in_with_list(ui)
    await ui.fill(4)
    received = [ui.conn.receive(f"unread {n}") for n in range(3)]
    await ui.until(lambda: badge(model, ui) == 3, what="three unread")
    # Sent from our phone meanwhile (a carbon): not unread.
    mine: Message = ui.incoming(
        "from my phone", direction=Direction.OUTGOING, sender=ui.me, origin=Origin.CARBON
    )
    ui.conn.listener.on_messages([mine], [""])
    await ui.until(lambda: ui.store.get(ui.me, ui.peer, mine.uid), what="ours stored")
    # The contact takes one back: a tombstone is no unread message.
    ui.conn.receive("", retracts=received[1].uid)
    await ui.until(lambda: badge(model, ui) == 2, what="the removed one uncounted")
    await ui.core.messaging.drain()
    model.flush()
    assert badge(model, ui) == 2
