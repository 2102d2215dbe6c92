"""Pages of history coming in while the reader scrolls move nothing on screen: with rows
of very different heights and a date separator every few messages, scrolled to the very
top page after page, and after a jump to a message near the newest (a search hit, a
date) then scrolling up. What the reader sees is compared as pixels: a full repaint of
the view just before each page and just after it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage
from test_history_view_layout import button_rect, masked, next_turn, painted_afresh

from chinwag.core.models import ConversationKey, Message
from chinwag.ui.day_separators import local_day

if TYPE_CHECKING:
    from conftest import UiRig

HOUR = 3600.0


async def varied_history(ui: UiRig, count: int, day_every: int) -> list[Message]:
    """``count`` messages: a new day every ``day_every``; every 5th a long text, the
    others one to four lines."""
    messages = []
    timestamp = 1_600_000_000.0
    for n in range(count):
        timestamp += 20 * HOUR if n % day_every == 0 else 60
        body = f"message {n} " + ("word " * 200 if n % 5 == 0 else "\nline" * (n % 4))
        messages.append(ui.message(n, timestamp=timestamp, body=body))
    stored = await ui.store.add_incoming(messages)
    await ui.read_to_end()
    return stored


async def pages_up(window: Any, most: int) -> tuple[int, list[int]]:
    """Scroll up by 400 px at a time (at most ``most`` times, or to the very top): the
    pages that came in, and the steps at which a page changed what was shown."""
    view, model = window.history_view, window.model
    scroll_bar = view.verticalScrollBar()
    pages, moved = 0, []
    for step in range(most):
        scroll_bar.setValue(max(0, scroll_bar.value() - 400))
        shown: QImage = painted_afresh(view)  # (the page comes in a later turn)
        corner = button_rect(view, window.jump_button)
        rows = model.rowCount()
        for _ in range(3):
            await next_turn()
        if model.rowCount() != rows:
            pages += 1
            corner = corner.united(button_rect(view, window.jump_button))
            if masked(painted_afresh(view), corner) != masked(shown, corner):
                moved.append(step)
        if not model.has_older and scroll_bar.value() == 0:
            break
    return pages, moved


async def test_scrolled_to_the_top_page_after_page_nothing_shown_moves(
    ui: UiRig, conversation_window: Callable[..., Awaitable[Any]]
) -> None:
    await varied_history(ui, 250, day_every=7)
    window = await conversation_window(activate=False)
    await next_turn()
    pages, moved = await pages_up(window, 200)
    assert not window.model.has_older  # (the very first message reached)
    assert pages >= 8
    assert moved == []


async def test_after_a_jump_near_the_newest_scrolling_up_moves_nothing_shown(
    ui: UiRig, conversation_window: Callable[..., Awaitable[Any]]
) -> None:
    """Around a message near the newest, fewer rows than a page are loaded: the first of
    them started a day there (a date separator above it) though the message before it
    is of the same day; the next page above took that separator away, and the text
    shown at the top moved up by its height."""
    stored = await varied_history(ui, 200, day_every=1000)  # (all of one day)
    window = await conversation_window(activate=False)
    await next_turn()
    window.go_to_date(local_day(stored[0].timestamp))  # the newest page is let go
    await next_turn()
    (hit,) = ui.store.search("message 195", ConversationKey(ui.me, ui.peer))
    window.show_found("message 195", hit)  # a search hit near the newest
    await next_turn()
    assert window.model.rowCount() < window.model.page_size
    pages, moved = await pages_up(window, 8)
    assert pages >= 1
    assert moved == []
