"""An open conversation window when a correction that arrived before the message it
corrects is folded into it (issue 11): the correction's row goes, the message's row shows
the newest text, edited; nothing else moves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from chinwag.core.models import Origin
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.history_model import Role

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]


async def test_the_folded_correction_leaves_the_window_and_its_target_shows_edited(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    await ui.fill(6)
    window = await conversation_window()
    model = window.model
    ModelTester(qtbot).check(model, force_py=True)  # every insert and removal consistent
    rows = model.rowCount()
    correction = ui.conn.receive("the answer", uid="c1", replaces="m1")
    await ui.until(lambda: model.index_of(correction).isValid(), what="shown meanwhile")
    assert model.rowCount() == rows + 1

    original = replace(ui.incoming("teh answer", uid="m1"), origin=Origin.ARCHIVE)
    original = replace(original, timestamp=correction.timestamp - 30)
    ui.conn.listener.on_messages([original], [""])
    await ui.until(lambda: not model.index_of(correction).isValid(), what="folded")
    index = model.index_of(original)
    assert index.isValid()
    assert model.rowCount() == rows + 1  # one row for the two
    assert index.data(Role.BODY) == "the answer"
    assert index.data(Role.EDITED_AT) > 0
    assert [model.message(r).uid for r in range(model.rowCount())].count("c1") == 0
