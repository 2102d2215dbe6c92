"""What windows and dialogs start that awaits the core (through UiTasks): what only
waits for an answer the widget wants stops with the widget, what the user asked of the
core finishes even when the window closes at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chinwag.ui.add_contact_dialog import AddContactDialog
from chinwag.ui.conversation_window import ConversationWindow

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]


async def test_a_message_sent_as_the_window_closes_is_still_stored_and_sent(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    qtbot.keyClicks(window.compose, "sent on the way out")
    qtbot.keyClick(window.compose, Qt.Key.Key_Return)  # the send is scheduled ...
    window.close()  # ... and the window is gone before it ran
    await ui.idle()
    assert [m.body for m in ui.conn.sent] == ["sent on the way out"]
    stored = ui.store.latest(window.key, 1)
    assert [m.body for m in stored] == ["sent on the way out"]


async def test_deleting_the_add_contact_dialog_stops_waiting_for_the_server(
    ui: UiRig,
) -> None:
    conn = await ui.sign_in()
    asked = asyncio.Event()
    outcome: list[str] = []

    async def never_answers(jid: str, name: str, groups: Sequence[str]) -> None:
        asked.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    conn.roster_set = never_answers  # type: ignore[method-assign]
    dialog = AddContactDialog(ui.ctx, jid="new@example.net")
    dialog.show()
    assert dialog.add()
    assert dialog.busy
    await asyncio.wait_for(asked.wait(), 5)
    dialog.deleteLater()
    await ui.until(lambda: outcome, what="the wait to stop")
    assert outcome == ["cancelled"]
