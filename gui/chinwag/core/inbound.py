"""The inbound pipeline: what happens to received stanzas between the connection (or a
page of the server's archive) and the history, as an ordered list of stages, after
Dino's message processor.

Received stanzas are taken in batches (:class:`Batch`), one :class:`Item` per stanza,
and each batch goes through every stage in :attr:`Stage.order`. The stages a feature
needs are added to the pipeline by that feature (:meth:`Pipeline.add`), at a place
named by an order; the slots below leave room between the built-in ones (normalise,
store, apply the actions, publish, acknowledge) for a dedupe or a filter, say.

A stage may

- transform an item: change its message, or replace it (``item.message = ...``);
- drop an item (:meth:`Item.drop`): no later stage sees it, and it is still
  acknowledged (it was handled); a stage that does not want a receipt sent for it
  clears :attr:`Item.receipt_to`. :meth:`Item.fail` is for an item that could not be
  handled (its message could not be stored): it gets no receipt either, and the archive
  position does not move past it;
- hold the batch: by not returning. Nothing after it runs, so nothing is acknowledged,
  until it does. A stage that gives up holding (shutting down while the history cannot
  be written) raises :class:`HeldMessagesDropped`: the batch ends there, unacknowledged
  (the server keeps what it did not hear acknowledged).

Acknowledging (the stream's count, the sender's receipt, our archive position) is the
last built-in stage: it runs only once every stage before it has returned, so only what
is committed is acknowledged. Any other error of a stage is logged and the batch goes
on to the next stage: a feature's bug must not stop the stream from being acknowledged
(that would hold everything received after it)."""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from chinwag.core.models import ActionOutcome, Identified, Message

log = logging.getLogger(__name__)

#: Where the built-in stages run, and the slots between them (a stage's ``order``).
NORMALISE = 100
DEDUPE = 200
FILTER = 300
STORE = 400
APPLY = 500
PUBLISH = 700
ACKNOWLEDGE = 900


class HeldMessagesDropped(Exception):
    """Shutting down while received messages cannot be stored: the batch that held them
    ends unacknowledged (see ``MessagingService.drain(final=True)``)."""


@dataclass(eq=False)
class Item:
    """One received stanza, as a message (a new one or an action on an earlier one)."""

    account: str
    message: Message
    #: The full address to send a delivery receipt to once committed ("" : none).
    receipt_to: str = ""
    #: The message's time is kept within [earliest, latest] (see the normalise stage):
    #: when it arrived, and for offline storage no earlier than when we were last here.
    earliest: float = -math.inf
    latest: float = math.inf
    #: Why a stage let it go no further ("" while it goes on).
    dropped: str = ""
    #: It could not be handled: no receipt, and the archive position stays before it.
    failed: bool = False

    def drop(self, reason: str) -> None:
        """No later stage sees this item; it is acknowledged all the same."""
        self.dropped = reason or "dropped"

    def fail(self, reason: str) -> None:
        """This item could not be handled: dropped, with no receipt and no position."""
        self.drop(reason)
        self.failed = True


@dataclass(frozen=True)
class ArchivePage:
    """Where a batch read from the server's archive came from."""

    account: str
    #: The archive id of the page's last result ("" : none): saved once committed.
    last_id: str = ""
    #: Whose archive: a room's address, or "" for the account's own.
    archive: str = ""


@dataclass(eq=False)
class Batch:
    """Items taken together: one transaction per burst, one acknowledgement."""

    items: list[Item]
    #: Called once the batch is committed: the stream acknowledges its stanzas then.
    done: list[Callable[[], None]] = field(default_factory=list)
    #: Set for a page of the archive (None: received on the stream).
    page: ArchivePage | None = None
    #: What the batch did to the history, in order: messages new to it, what each
    #: action did (applied or refused), and stored room messages that learnt the room's
    #: id (our own, reflected). The publish stage tells the bus of these.
    committed: list[Message | ActionOutcome | Identified] = field(default_factory=list)
    #: The order of the stage running now (or last run); 0 before the first.
    at: int = 0

    def active(self) -> list[Item]:
        """The items no stage has dropped."""
        return [item for item in self.items if not item.dropped]

    @property
    def added(self) -> list[Message]:
        """The messages new to the history, in order."""
        return [m for m in self.committed if isinstance(m, Message)]


class Stage(Protocol):
    """One step of the inbound pipeline."""

    @property
    def name(self) -> str:
        """Unique in its pipeline."""
        ...

    @property
    def order(self) -> int:
        """Where it runs: lower first (see the module's constants for the slots)."""
        ...

    async def run(self, batch: Batch) -> None:
        """Do this stage's part to the batch's active items (see the module)."""
        ...


class Pipeline:
    """Stages run in order; ties in the order they were added."""

    def __init__(self, stages: Iterable[Stage] = ()) -> None:
        self._stages: list[Stage] = []
        for stage in stages:
            self.add(stage)

    @property
    def stages(self) -> tuple[Stage, ...]:
        return tuple(self._stages)

    def add(self, stage: Stage) -> None:
        """Add ``stage`` at its order (after those of the same order); from the next
        batch on."""
        if any(s.name == stage.name for s in self._stages):
            raise ValueError(f"the inbound pipeline has a stage {stage.name!r} already")
        orders = [s.order for s in self._stages]
        self._stages.insert(bisect.bisect_right(orders, stage.order), stage)

    def remove(self, name: str) -> None:
        """Take out the stage called ``name`` (from the next batch on)."""
        self._stages = [s for s in self._stages if s.name != name]

    async def run(self, batch: Batch) -> None:
        """Run ``batch`` through every stage. Raises :class:`HeldMessagesDropped` when a
        stage gave up holding it (nothing after that stage ran)."""
        for stage in list(self._stages):
            batch.at = stage.order
            try:
                await stage.run(batch)
            except (HeldMessagesDropped, asyncio.CancelledError):
                raise
            except Exception:
                log.exception(
                    "inbound stage %r failed on a batch of %d stanza(s)",
                    stage.name,
                    len(batch.items),
                )
