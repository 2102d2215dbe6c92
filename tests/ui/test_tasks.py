"""UiTasks, the one way UI code awaits the core: tasks run on the loop and are kept,
an unexpected exception is logged once (a ChinwagError is the caller's), what an owner
started is cancelled when it is closed or destroyed (except what must outlive it), and
tests can wait for everything to be idle."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
import shiboken6
from PySide6.QtCore import QObject

from chinwag.core.errors import ChinwagError, NotConnected
from chinwag.ui import tasks as ui_tasks
from chinwag.ui.tasks import UiTasks, wait_idle


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_task_runs_is_kept_and_can_be_waited_for() -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    release = asyncio.Event()
    done: list[str] = []

    async def work() -> str:
        await release.wait()
        done.append("work")
        return "result"

    task = tasks.start(work(), on_done=lambda t: done.append(f"done: {t.result()}"))
    assert task is not None
    del task
    gc.collect()  # asyncio keeps tasks weakly: the helper must hold it
    assert len(tasks) == 1
    assert ui_tasks.running() >= 1
    release.set()
    await tasks.idle()
    assert done == ["work", "done: result"]
    assert len(tasks) == 0


async def test_an_unexpected_exception_is_logged_once_and_given_to_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    seen: list[BaseException] = []

    async def broken() -> None:
        raise ValueError("a bug")

    with caplog.at_level(logging.DEBUG):
        tasks.start(broken(), what="breaking", on_error=seen.append)
        await tasks.idle()
        gc.collect()  # nothing left for asyncio to report as "never retrieved"
    assert [type(e) for e in seen] == [ValueError]
    logged = errors_logged(caplog)
    assert len(logged) == 1
    assert logged[0].getMessage() == "a test: breaking failed"
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[1] is seen[0]


async def test_a_chinwag_error_is_the_callers_to_show(caplog: pytest.LogCaptureFixture) -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    seen: list[BaseException] = []

    async def refused() -> None:
        raise NotConnected("not signed in")

    with caplog.at_level(logging.DEBUG):
        tasks.start(refused(), on_error=seen.append)
        await tasks.idle()
    assert [type(e) for e in seen] == [NotConnected]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # Nobody to show it: not lost, but not a bug either.
    with caplog.at_level(logging.DEBUG):
        tasks.start(refused(), what="sending")
        await tasks.idle()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["a test: sending failed: not signed in"]
    assert not errors_logged(caplog)


async def test_closing_the_owner_cancels_what_it_started_but_what_outlives_it() -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    release = asyncio.Event()
    finished: list[str] = []
    cancelled: list[str] = []

    async def work(name: str) -> None:
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        finished.append(name)

    waiting = tasks.start(work("waiting"))
    committing = tasks.start(work("committing"), outlive=True)
    assert waiting is not None
    assert committing is not None
    await asyncio.sleep(0)  # both started
    tasks.close()
    await asyncio.wait({waiting})
    assert waiting.cancelled()
    assert not committing.done()
    release.set()
    await tasks.idle()
    assert cancelled == ["waiting"]
    assert finished == ["committing"]


async def test_a_destroyed_owner_cancels_its_tasks_and_gets_no_callbacks() -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    release = asyncio.Event()
    calls: list[str] = []

    async def work() -> None:
        await release.wait()
        raise ChinwagError("too late")

    waiting = tasks.start(work(), on_done=lambda _t: calls.append("waiting done"))
    committing = tasks.start(
        work(),
        on_error=lambda _e: calls.append("committing error"),
        on_done=lambda _t: calls.append("committing done"),
        outlive=True,
    )
    assert waiting is not None
    assert committing is not None
    await asyncio.sleep(0)
    shiboken6.delete(owner)  # as deleteLater() does, with Python still holding it
    await asyncio.wait({waiting})
    assert waiting.cancelled()
    assert not committing.done()  # it finishes ...
    release.set()
    await tasks.idle()
    assert isinstance(committing.exception(), ChinwagError)
    assert calls == []  # ... but nothing is done with a widget that is gone


async def test_waiting_for_the_whole_ui_to_be_idle() -> None:
    first, second = QObject(), QObject()
    steps: list[int] = []

    async def step(n: int, delay: int) -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        steps.append(n)

    UiTasks(first, "first").start(step(1, 5))
    UiTasks(second, "second").start(step(2, 10))
    await wait_idle()
    assert sorted(steps) == [1, 2]
    assert ui_tasks.running() == 0


async def test_giving_up_waiting_does_not_cancel_the_tasks() -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")
    release = asyncio.Event()
    task = tasks.start(release.wait())
    assert task is not None
    waiting = asyncio.ensure_future(tasks.idle())
    await asyncio.sleep(0)  # waiting now
    waiting.cancel()
    await asyncio.wait({waiting})
    assert waiting.cancelled()
    assert not task.done()
    release.set()
    await tasks.idle()
    assert task.done()
    assert not task.cancelled()


def test_without_a_running_loop_nothing_starts(caplog: pytest.LogCaptureFixture) -> None:
    owner = QObject()
    tasks = UiTasks(owner, "a test")

    async def work() -> None:  # pragma: no cover - never run
        pass

    coro = work()
    with caplog.at_level(logging.ERROR):
        assert tasks.start(coro, what="working") is None
    assert coro.cr_frame is None  # closed, so no "never awaited" warning
    assert "no running event loop" in caplog.text
    assert len(tasks) == 0
