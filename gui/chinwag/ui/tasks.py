"""UI work that awaits the core, done one way: :class:`UiTasks`.

A widget (or any QObject of the UI) that has to await the core makes one
``UiTasks(self, "what it is")`` and starts its coroutines with :meth:`UiTasks.start`:

* the coroutine runs as a task on the running (qasync) loop, and is referenced until
  it is done (asyncio keeps only weak references to tasks);
* an unexpected exception is logged once, here; a :class:`ChinwagError` is the caller's
  to show (``on_error`` gets every exception, after the logging);
* what the owner started is cancelled when the owner is closed (:meth:`UiTasks.close`)
  or destroyed, unless it was started with ``outlive=True``: a call that changes what
  the core stores or sends (send a message, sign out, remove an account) is committed
  and published in steps and must not be cut half-way, so it finishes; once the owner
  is destroyed, only its callbacks are skipped;
* tests (and shutdown) can wait until nothing is running: :meth:`UiTasks.idle` for one
  owner, :func:`wait_idle` for the whole UI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject

from chinwag.core.errors import ChinwagError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Every task started through a UiTasks and not finished yet.
_RUNNING: set[asyncio.Task[Any]] = set()


class _Owner:
    """What the ``destroyed`` handler needs: no reference to the owner (which its own
    signal would keep alive) nor to the UiTasks."""

    __slots__ = ("alive", "cancellable", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.alive = True
        #: Tasks to cancel with the owner (those not started with ``outlive``).
        self.cancellable: set[asyncio.Task[Any]] = set()

    def cancel(self) -> None:
        for task in list(self.cancellable):
            task.cancel()


class UiTasks:
    """The coroutines one owner runs on the event loop (see the module documentation)."""

    def __init__(self, owner: QObject, what: str) -> None:
        self._owner = state = _Owner(what)
        self._tasks: set[asyncio.Task[Any]] = set()

        def destroyed(*_: object) -> None:
            state.alive = False
            state.cancel()

        owner.destroyed.connect(destroyed)

    def start(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        what: str = "",
        on_error: Callable[[BaseException], None] | None = None,
        on_done: Callable[[asyncio.Task[T]], None] | None = None,
        outlive: bool = False,
    ) -> asyncio.Task[T] | None:
        """Run ``coro`` on the running loop. When it ends, an unexpected exception is
        logged (as ``what`` of the owner failing), then, while the owner exists,
        ``on_error(exception)`` (not for a cancellation) and ``on_done(task)`` (however
        it ended) are called. ``outlive``: not cancelled with the owner.

        Returns the task; None (and ``coro`` is closed, and logged) when no loop runs."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            log.error("%s: no running event loop, %s not started", self._owner.what, what or coro)
            return None
        task = loop.create_task(coro)
        self._tasks.add(task)
        _forget_closed_loops()
        _RUNNING.add(task)
        if not outlive:
            self._owner.cancellable.add(task)
        if not self._owner.alive:  # started by an owner being destroyed
            self._owner.cancel()
        owner = self._owner

        def finished(task: asyncio.Task[T]) -> None:
            self._tasks.discard(task)
            _RUNNING.discard(task)
            owner.cancellable.discard(task)
            error = None if task.cancelled() else task.exception()
            if error is not None and not isinstance(error, ChinwagError):
                log.error("%s: %s failed", owner.what, what or "a task", exc_info=error)
            elif error is not None and (on_error is None or not owner.alive):
                log.warning("%s: %s failed: %s", owner.what, what or "a task", error)
            if not owner.alive:
                return
            if error is not None and on_error is not None:
                on_error(error)
            if on_done is not None:
                on_done(task)

        task.add_done_callback(finished)
        return task

    def close(self) -> None:
        """The owner is closed: cancel what it started (except what outlives it)."""
        self._owner.cancel()

    def __len__(self) -> int:
        """How many of the owner's tasks are running."""
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until none of the owner's tasks runs (those started meanwhile too)."""
        await _wait_for(self._tasks)


async def wait_idle() -> None:
    """Wait until no task started by any UiTasks on this loop runs (tests, shutdown)."""
    await _wait_for(_RUNNING)


def running() -> int:
    """How many tasks started by any UiTasks on the running loop (if there is one) are
    running."""
    _forget_closed_loops()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return len(_RUNNING)
    return sum(1 for t in _RUNNING if t.get_loop() is loop)


def _forget_closed_loops() -> None:
    """Tasks of a loop that was closed (a test's) will never finish: let them go."""
    _RUNNING.difference_update([t for t in _RUNNING if t.get_loop().is_closed()])


async def _wait_for(tasks: set[asyncio.Task[Any]]) -> None:
    # asyncio.wait, not gather: the caller giving up must not cancel the tasks.
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    while pending := {
        t for t in tasks if t is not current and not t.done() and t.get_loop() is loop
    }:
        await asyncio.wait(pending)
    await asyncio.sleep(0)  # let their done callbacks run


__all__ = ["UiTasks", "running", "wait_idle"]
