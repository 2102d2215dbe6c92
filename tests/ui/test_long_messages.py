"""What a peer sends cannot freeze the conversation window: however long or strange a
message is, a row lays out only its first part (a few thousand characters), and a
resize measures a bounded number of rows before the loop runs again, the rest in the
next turns. (The rest of a long message is one click away: ``test_show_all.py``.)

Work is counted, never timed: every text handed to the delegate's ``QTextLayout`` is
recorded. The longest block of the event loop is printed as a figure (``-s``), never
asserted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextLayout

from chinwag.core.models import AccountConfig, Direction, TlsMode
from chinwag.core.session import Backoff, SessionTiming
from chinwag.system.paths import Paths
from chinwag.system.secrets import FileSecretStore
from chinwag.ui import message_delegate
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.message_delegate import MessageDelegate
from chinwag.wiring import build_core
from rig.peer import XmppPeer

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]

#: A row lays out no more than a few thousand characters of a message.
ROW_LIMIT = 4000
LONG = 250_000
LONG_BODIES = {
    "one unbroken run": "x" * LONG,
    "words": ("lorem ipsum dolor sit amet " * (LONG // 27 + 1))[:LONG],
    "short lines": ("line\n" * (LONG // 5))[:LONG],
}
EMOJI = "\U0001f600" * 25_000
COMBINING = "a" + "\u0301" * 50_000


class LayoutLog:
    """Records the text of every :class:`QTextLayout` the delegate makes."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def longest(self) -> int:
        return max((len(text) for text in self.texts), default=0)

    def rows(self, min_chars: int = 200) -> int:
        """How many layouts of a message text (not a short footer) were made."""
        return sum(len(text) >= min_chars for text in self.texts)


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> LayoutLog:
    log = LayoutLog()

    class RecordingLayout(QTextLayout):
        def __init__(self, text: str = "", *args: Any) -> None:
            log.texts.append(text)
            super().__init__(text, *args)

    monkeypatch.setattr(message_delegate, "QTextLayout", RecordingLayout)
    return log


class Watchdog:
    """The longest gap between the ticks of a 1 ms timer: a figure, printed."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)

    def __enter__(self) -> Watchdog:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, (now - self._last) * 1000)
        self._last = now


async def next_turns(count: int = 3) -> None:
    """Let the loop run what is already due (zero timers, posted events)."""
    for _ in range(count):
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda d=done: d.done() or d.set_result(None))
        await done


def rows_with(window: ConversationWindow, body: str) -> list[int]:
    model = window.model
    return [row for row in range(model.rowCount()) if model.message(row).body == body]


# --------------------------------------------------------------------------- in the window


async def test_long_messages_arriving_in_an_open_window_are_laid_out_in_part(
    ui: UiRig, conversation_window: OpenWindow, layouts: LayoutLog
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    view = window.history_view
    with Watchdog() as dog:
        for body in LONG_BODIES.values():
            ui.conn.receive(body)
        await ui.until(lambda: window.model.rowCount() == 3, what="the messages")
        view.scrollToBottom()
        await next_turns()
        view.viewport().repaint()  # paint the rows now, as the screen would
        window.resize(window.width() - 40, window.height())  # and a resize
        await next_turns()
        view.viewport().repaint()
    print(f"longest block of the loop: {dog.longest:.0f} ms")

    assert layouts.texts, "nothing was laid out"
    assert layouts.longest() <= ROW_LIMIT
    for body in LONG_BODIES.values():
        (row,) = rows_with(window, body)
        index = window.model.index(row)
        assert window.model.message(row).body == body  # stored and kept whole
        text = window.delegate.text_of(index)  # what the row paints
        assert len(text) <= ROW_LIMIT
        assert text.endswith("\u2026")


@pytest.mark.parametrize("body", [EMOJI, COMBINING], ids=["25,000 emoji", "50,000 marks"])
async def test_pathological_text_is_capped_too(
    ui: UiRig, conversation_window: OpenWindow, layouts: LayoutLog, body: str
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    ui.conn.receive(body)
    await ui.until(lambda: window.model.rowCount() == 1, what="the message")
    view = window.history_view
    await next_turns()
    view.viewport().repaint()
    window.resize(window.width() - 40, window.height())
    await next_turns()
    view.viewport().repaint()
    assert layouts.texts, "nothing was laid out"
    assert layouts.longest() <= ROW_LIMIT
    assert len(window.delegate.text_of(window.model.index(0))) <= ROW_LIMIT


async def test_a_resize_measures_a_bounded_number_of_rows_then_the_rest(
    ui: UiRig, conversation_window: OpenWindow, layouts: LayoutLog
) -> None:
    count = 50  # a page of the history, every message long
    await ui.fill(count, body="lorem ipsum dolor sit amet " * 120)
    window = await conversation_window()
    view = window.history_view
    await next_turns()
    assert window.model.rowCount() == count

    # The resize and everything it lays out at once, before the loop runs again.
    layouts.texts.clear()
    width = view.viewport().width()
    window.resize(window.width() - 60, window.height())
    assert view.viewport().width() < width  # the view has its new width already
    view.doItemsLayout()
    view.viewport().repaint()
    measured_at_once = layouts.rows()
    print(f"rows laid out by the resize itself: {measured_at_once} of {count}")
    assert 0 < measured_at_once < count // 2

    # The other rows are measured in the next turns, and every row ends at its size.
    exact: dict[tuple[int, int], int] = {}

    def exact_height(row: int) -> int:
        key = (row, view.viewport().width())
        if key not in exact:
            index = window.model.index(row)
            fresh = MessageDelegate()  # measures its first row exactly, whatever the budget
            exact[key] = fresh.sizeHint(view.item_option(index), index).height()
        return exact[key]

    def all_exact() -> bool:
        model = window.model
        return all(
            view.visualRect(model.index(r)).height() == exact_height(r) for r in range(count)
        )

    await ui.until(all_exact, timeout=30, what="every row at its real height")
    assert layouts.rows() >= count  # each row was laid out once at the new width


# --------------------------------------------------------------------------- end to end


async def test_three_long_messages_from_a_real_peer_through_prosody(
    prosody: Any, tmp_path: Any, keep_running_without_windows: None, layouts: LayoutLog
) -> None:
    jid, password = prosody.make_user("alice")
    paths = Paths.under(tmp_path / "alice").ensure()
    core = build_core(
        paths,
        secrets=FileSecretStore(paths.secrets_file),
        timing=SessionTiming(backoff=Backoff(initial=0.2, cap=1.0)),
    )
    core.add_account(
        AccountConfig(jid=jid, host=prosody.host, port=prosody.port, tls=TlsMode.STARTTLS),
        password,
    )
    await core.sign_in(jid)
    await core.messaging.wait_archive_synced(jid)
    bridge = EventBridge(core.bus)
    holder: list[UiContext] = []
    windows = ConversationWindows(lambda a, p: ConversationWindow(holder[0], a, p))
    holder.append(UiContext(core, bridge, windows))
    peer_jid, peer_password = prosody.make_user("bob")
    try:
        window = windows.open(jid, peer_jid)
        assert isinstance(window, ConversationWindow)
        async with XmppPeer(prosody, peer_jid, peer_password) as bob:
            with Watchdog() as dog:
                for body in LONG_BODIES.values():
                    bob.send_chat(jid, body)
                await _until(lambda: window.model.rowCount() == 3)
                await next_turns()
                window.history_view.viewport().repaint()
            print(f"longest block of the loop: {dog.longest:.0f} ms")
        bodies = {window.model.message(row).body for row in range(3)}
        assert bodies == set(LONG_BODIES.values())  # stored and shown whole, not cut
        assert all(m.direction is Direction.INCOMING for m in map(window.model.message, range(3)))
        assert layouts.longest() <= ROW_LIMIT
    finally:
        windows.close_all()
        await asyncio.sleep(0)
        bridge.close()
        await core.shutdown()


async def _until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value
