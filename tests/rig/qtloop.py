"""The asyncio event loop for async tests: a qasync ``QEventLoop`` on the pytest-qt app.

Chinwag runs one event loop, Qt's, with asyncio on top through qasync. Async tests must do
the same, or code that mixes Qt signals and coroutines would run on two loops. pytest-asyncio
1.5 has a hook for exactly this, ``pytest_asyncio_loop_factories`` (overriding the old
``event_loop_policy`` fixture is deprecated there, and deprecation warnings are errors
here); ``tests/conftest.py`` implements it with :func:`new_qasync_loop`. pytest-asyncio
then hands the factory to ``asyncio.Runner(loop_factory=...)``, runs each ``async def
test_...`` with ``Runner.run`` (which drives ``QApplication.exec()`` through qasync until
the test coroutine is done) and closes the loop after the test (default loop scope:
function, so every test gets a fresh loop on the one session-wide QApplication).

:class:`LoopAwareTimeout` (with :class:`SignalWakeup`) replaces pytest-timeout's "signal"
method: plain pytest-timeout cannot interrupt a test blocked inside ``QApplication.exec()``
(the Python handler only runs when some Python callback runs, and then asyncio swallows the
exception inside that callback), so a hung async test or async fixture would hang the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import socket
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest
import pytest_timeout
import qasync
from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication

# The loop most recently made by new_qasync_loop (weakly held; a one-slot registry).
_last_loop: list[weakref.ref[asyncio.AbstractEventLoop]] = []


def new_qasync_loop() -> asyncio.AbstractEventLoop:
    """Create a qasync event loop bound to the existing (pytest-qt) QApplication."""
    app = QApplication.instance()
    if app is None:
        raise RuntimeError(
            "no QApplication: the rig's autouse fixture should have requested pytest-qt's qapp"
        )
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    _last_loop[:] = [weakref.ref(loop)]
    return loop


def current_test_loop() -> asyncio.AbstractEventLoop | None:
    """The most recently created test loop, if it is still open."""
    loop = _last_loop[0]() if _last_loop else None
    if loop is None or loop.is_closed():
        return None
    return loop


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    """Where a task is suspended, following awaits into coroutines *and* async generators.

    ``Task.print_stack`` stops at ``await agen.__anext__()`` (how pytest-asyncio drives
    async fixtures), hiding the fixture line that hangs; this walks into the generator.
    """
    lines: list[str] = []
    obj: Any = task.get_coro()
    seen: set[int] = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        frame = next(
            (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(obj, a, None))),
            None,
        )
        following = next(
            (n for a in ("cr_await", "gi_yieldfrom", "ag_await") if (n := getattr(obj, a, None))),
            None,
        )
        if frame is not None:
            lines.extend(traceback.format_stack(frame, limit=1))
            if following is not None and not hasattr(following, "cr_frame"):
                # e.g. an async_generator_asend: find the generator it drives
                generators = [
                    v for v in frame.f_locals.values() if inspect.isasyncgen(v) and v.ag_await
                ]
                if generators:
                    following = generators[0]
        if following is None:
            break
        if frame is None and not hasattr(following, "ag_frame"):
            lines.append(f"  awaiting {following!r}\n")
            break
        obj = following
    if obj is not None and not any(hasattr(obj, a) for a in ("cr_frame", "gi_frame", "ag_frame")):
        lines.append(f"  awaiting {obj!r}\n")
    return lines


def format_task_stacks(tasks: Iterable[asyncio.Task[Any]]) -> str:
    """Readable "where is each task suspended" report."""
    out = []
    for task in tasks:
        out.append(f"Task {task.get_name()} ({task.get_coro()!r}):\n")
        out.extend(_await_chain(task))
    return "".join(out)


def format_thread_stacks() -> str:
    """Stacks of all threads but the current one (hangs often involve a worker)."""
    current = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        if ident == current:
            continue
        out.append(f"Thread {names.get(ident, '?')} ({ident}):\n")
        out.extend(traceback.format_stack(frame))
    return "".join(out)


class SignalWakeup:
    """Let Python signal handlers run while the main thread sleeps in Qt's event loop.

    CPython runs a Python-level signal handler only when the main thread executes
    bytecode; a thread blocked in ``QApplication.exec()`` with nothing to do never does
    (Qt retries ``poll`` on EINTR). With ``signal.set_wakeup_fd`` the C-level handler writes
    a byte to a socket that a ``QSocketNotifier`` watches, so Qt calls back into Python and
    the handler runs. Create it in the main thread after the QApplication exists.
    """

    def __init__(self) -> None:
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._wsock.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while self._rsock.recv(4096):
                pass

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._notifier.activated.disconnect(self._drain)
        self._rsock.close()
        self._wsock.close()


@dataclass
class TimeoutRecord:
    """What the rig's timeout did to a test (kept in the item's stash for the report)."""

    seconds: float
    cancelled_tasks: bool = False
    stacks: str = ""


class LoopAwareTimeout:
    """pytest-timeout's "signal" method, made to work for tests running a qasync loop.

    At the timeout (SIGALRM; see :class:`SignalWakeup`):

    1. if a test loop is running, cancel all its tasks (recording their stacks) instead of
       raising -- an exception raised inside a loop callback would be swallowed by asyncio;
       the cancelled test, fixture or teardown then fails normally;
       otherwise behave exactly like pytest-timeout (dump stacks, ``pytest.fail``);
    2. ``grace`` seconds later, if the test is still running, fail it pytest-timeout's way;
    3. ``2 * grace`` seconds after the timeout, from a thread, kill the rig's servers and
       end the process like pytest-timeout's "thread" method (stacks, ``os._exit(1)``), so
       a wedged test can never hang the run.
    """

    def __init__(
        self,
        item: pytest.Item,
        settings: Any,
        record: TimeoutRecord,
        *,
        grace: float = 10.0,
        before_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self.item = item
        self.settings = settings
        self.record = record
        self.grace = grace
        self.before_exit = before_exit
        self._stage = 0
        self._hard_timer: threading.Timer | None = None
        self._previous_handler: Any = None

    def start(self) -> None:
        self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.settings.timeout)

    def cancel(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        if self._hard_timer is not None:
            self._hard_timer.cancel()
            self._hard_timer.join()
            self._hard_timer = None

    def _hard_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.before_exit()
        pytest_timeout.timeout_timer(self.item, self.settings)  # dumps stacks, os._exit(1)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        self._stage += 1
        if self._stage == 1:
            self._hard_timer = threading.Timer(2 * self.grace, self._hard_exit)
            self._hard_timer.daemon = True
            self._hard_timer.start()
            signal.setitimer(signal.ITIMER_REAL, self.grace)
            loop = current_test_loop()
            if loop is not None and loop.is_running():
                self._cancel_loop_tasks(loop)
                return
        pytest_timeout.timeout_sigalrm(self.item, self.settings)

    def _cancel_loop_tasks(self, loop: asyncio.AbstractEventLoop) -> None:
        tasks = asyncio.all_tasks(loop)
        self.record.cancelled_tasks = True
        self.record.stacks = format_task_stacks(tasks) + format_thread_stacks()
        message = f"test rig timeout: still running after {self.settings.timeout:g}s"

        def cancel_all() -> None:
            for task in tasks:
                task.cancel(message)

        # From a signal handler: hand over to the loop rather than touch it mid-callback.
        loop.call_soon_threadsafe(cancel_all)
