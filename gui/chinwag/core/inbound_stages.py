"""The built-in stages of the inbound pipeline (:mod:`chinwag.core.inbound`), in the order
they run: normalise the times, store the new messages, apply the actions (corrections,
retractions, reactions) to the messages they name, publish what the batch did, and
acknowledge it (the stream's count, receipts, our archive position)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Protocol, TypeVar

from chinwag.core.events import (
    EventBus,
    MessageAdded,
    MessageEdited,
    MessageFolded,
    MessageIdentified,
    MessageRemoved,
    ReactionsChanged,
)
from chinwag.core.inbound import (
    ACKNOWLEDGE,
    APPLY,
    FILTER,
    NORMALISE,
    PUBLISH,
    STORE,
    Batch,
    HeldMessagesDropped,
)
from chinwag.core.models import (
    DUPLICATE,
    REFUSED_NOT_AUTHOR,
    REFUSED_UNKNOWN,
    ActionOutcome,
    ConversationKind,
    Identified,
    Message,
    MessageAction,
    Origin,
)
from chinwag.core.ports import MessageStore

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How many MessageAdded events are told before the loop gets a turn (a flood's batch
#: holds hundreds, and each one costs a window a row).
PUBLISH_CHUNK = 16


class Retrying(Protocol):
    """A write tried again while the history cannot be written (disk full): see
    ``MessagingService._retrying``. Raises :class:`HeldMessagesDropped` when shutting
    down with ``held`` messages not written."""

    def __call__(
        self, write: Callable[[], Awaitable[T]], held: list[Message] | None = None
    ) -> Awaitable[T | None]: ...


class NormaliseTimes:
    """Keep each message's time within its item's [earliest, latest]: our server's stamp
    of an offline or archived message, never in the future nor, for offline storage,
    before we were last here; a live message is dated when it arrived."""

    name = "normalise"
    order = NORMALISE

    async def run(self, batch: Batch) -> None:
        for item in batch.active():
            when = min(max(item.message.timestamp, item.earliest), item.latest)
            if when != item.message.timestamp:
                item.message = replace(item.message, timestamp=when)


class RoomsJoined:
    """A room's message (or an action in a room) goes on only from a room we are in,
    as ``joined(account, room)`` says; any other is dropped (logged): a stanza of type
    groupchat from anyone else is not a room's. With no room support, none is joined."""

    name = "rooms"
    order = FILTER

    def __init__(self, joined: Callable[[str, str], bool] = lambda _account, _room: False):
        self._joined = joined

    async def run(self, batch: Batch) -> None:
        for item in batch.active():
            message = item.message
            if message.kind is ConversationKind.GROUPCHAT and not self._joined(
                message.account, message.peer
            ):
                log.info(
                    "%s: a room message from %s, not a room we are in: dropped",
                    message.account,
                    message.sender,
                )
                item.drop("not in that room")


class StoreMessages:
    """Commit the batch's new messages (not its actions) in one transaction; the store
    drops duplicates. Those new to the history go to :attr:`Batch.committed`, each
    followed by what folding the corrections that waited for it did (see ApplyActions).

    While the history cannot be written (disk full, ...) the batch is held and the write
    tried again, with a growing pause, for as long as it takes: the user and scripts are
    told (StorageFailed), nothing is acknowledged, and once it works every message is
    stored exactly once. Any other failure is taken to be one bad message: the batch is
    then stored message by message, and only a message that fails on its own is given
    up (logged; its item fails)."""

    name = "store"
    order = STORE

    def __init__(self, store: MessageStore, retrying: Retrying) -> None:
        self._store = store
        self._retrying = retrying

    async def run(self, batch: Batch) -> None:
        items = [i for i in batch.active() if i.message.action is MessageAction.NEW]
        if not items:
            return
        stored, lost = await self.add([i.message for i in items])
        for item in items:
            if id(item.message) in lost:
                item.fail("could not be stored")
        batch.committed.extend(stored)

    async def add(
        self, messages: list[Message]
    ) -> tuple[list[Message | ActionOutcome | Identified], set[int]]:
        """Commit ``messages``; returns what that did (those new to the history, each
        followed by the outcomes of the corrections folded into it) and the ids
        (``id()``) of those that could not be stored at all."""
        try:
            stored = await self._retrying(partial(self._store.add_received, messages), messages)
        except HeldMessagesDropped:
            raise
        except Exception:
            log.exception("storing %d incoming message(s) failed", len(messages))
        else:
            return stored or [], set()
        stored_each: list[Message | ActionOutcome | Identified] = []
        lost: set[int] = set()
        for message in messages:
            try:
                stored_each += (
                    await self._retrying(partial(self._store.add_received, [message]), messages)
                    or []
                )
            except HeldMessagesDropped:
                raise
            except Exception:
                log.exception("could not store the message %s from %s", message.uid, message.peer)
                lost.add(id(message))
        return stored_each, lost


class ApplyActions:
    """Hand the batch's corrections, retractions and reactions, after its new messages,
    to the store, which applies each to its target (authorship checked) or refuses it;
    what each did goes to :attr:`Batch.committed`. A correction that cannot be applied
    because its target never reached us, or is not the sender's, is still what the
    sender wrote: its item becomes a new message, stored as such. (Not one of a removed
    message, an empty one, a duplicate.)

    One whose target has not reached us (yet: a live correction of a message the
    archive catch-up brings later, or that comes late) is stored naming its target, and
    the store folds it into the target when that is stored (:meth:`add_received`: any
    batch, any path, after a restart too): the target gets the newest text and the
    correction's row stops showing as a message of its own (MessageEdited, then
    MessageFolded). One by someone other than the target's author stays a message."""

    name = "apply"
    order = APPLY

    def __init__(self, store: MessageStore, retrying: Retrying, storing: StoreMessages) -> None:
        self._store = store
        self._retrying = retrying
        self._storing = storing

    async def run(self, batch: Batch) -> None:
        items = [i for i in batch.active() if i.message.action is not MessageAction.NEW]
        if not items:
            return
        actions = [i.message for i in items]
        try:
            outcomes = await self._retrying(
                partial(self._store.apply_actions, actions), [i.message for i in batch.items]
            )
        except HeldMessagesDropped:
            raise
        except Exception:
            log.exception("applying %d correction(s) or reaction(s) failed", len(actions))
            for item in items:
                item.fail("could not be applied")
            return
        batch.committed.extend(outcomes or [])
        by_message = {id(i.message): i for i in items}
        orphans: list[Message] = []
        for outcome in outcomes or []:
            if outcome.action.action is MessageAction.CORRECT and outcome.refused in (
                REFUSED_UNKNOWN,
                REFUSED_NOT_AUTHOR,
            ):
                waiting = outcome.refused == REFUSED_UNKNOWN
                orphan = replace(
                    outcome.action, replaces=outcome.action.replaces if waiting else ""
                )
                refused = by_message.get(id(outcome.action))
                if refused is not None:
                    refused.message = replace(orphan, replaces="")
                orphans.append(orphan)
        if orphans:
            kept, _ = await self._storing.add(orphans)
            batch.committed.extend(kept)


def publish_outcomes(bus: EventBus, store: MessageStore, outcomes: Sequence[ActionOutcome]) -> None:
    """Tell the bus what actions did (MessageEdited, MessageRemoved, ReactionsChanged;
    a correction folded into its target: MessageEdited then MessageFolded);
    a refusal is logged, a duplicate is silent; one ReactionsChanged per message, after
    the rest."""
    reacted: dict[int, tuple[Message, int]] = {}
    for outcome in outcomes:
        action, target = outcome.action, outcome.target
        if outcome.folded is not None and target is not None:
            # A correction that waited for its target as a message of its own.
            if outcome.refused != DUPLICATE:
                bus.publish(MessageEdited(target, outcome.sequence))
            bus.publish(MessageFolded(outcome.folded, target))
            if target.id is not None:  # reactions to the folded row are the target's now
                reacted[target.id] = (target, outcome.sequence)
            continue
        if outcome.refused == DUPLICATE:
            continue  # the same action again (live, a carbon, the archive)
        if outcome.refused or target is None:
            log.info(
                "%s: refused %s of %s from %s: %s",
                action.account,
                action.action.name.lower(),
                action.target,
                action.sender or action.peer,
                outcome.refused or "no such message",
            )
            continue
        if action.action is MessageAction.CORRECT:
            live = action.origin is not Origin.ARCHIVE
            bus.publish(MessageEdited(target, outcome.sequence, live=live))
        elif action.action is MessageAction.RETRACT:
            bus.publish(MessageRemoved(target, outcome.sequence))
        elif action.action is MessageAction.REACT and target.id is not None:
            reacted[target.id] = (target, outcome.sequence)
    if reacted:
        everyone = store.reactions(list(reacted))
        for message_id, (target, sequence) in reacted.items():
            reactions = tuple(everyone.get(message_id, []))
            bus.publish(ReactionsChanged(target, reactions, sequence))


class Publish:
    """Tell the bus what the batch did, in order: MessageAdded for each new message,
    MessageIdentified for each of ours a room reflected, and what its actions did (see
    :func:`publish_outcomes`: the reactions of a run of actions are told after the rest
    of that run)."""

    name = "publish"
    order = PUBLISH

    def __init__(self, bus: EventBus, store: MessageStore) -> None:
        self._bus = bus
        self._store = store

    async def run(self, batch: Batch) -> None:
        outcomes: list[ActionOutcome] = []
        told = 0
        for result in batch.committed:
            if isinstance(result, Identified):
                publish_outcomes(self._bus, self._store, outcomes)
                outcomes = []
                self._bus.publish(MessageIdentified(result.message))
            elif isinstance(result, Message):
                publish_outcomes(self._bus, self._store, outcomes)
                outcomes = []
                self._bus.publish(MessageAdded(result))
                told += 1
                if told % PUBLISH_CHUNK == 0:
                    # A flood's batch is big: let the windows paint and the streams
                    # read between chunks (everything is committed already).
                    await asyncio.sleep(0)
            else:
                outcomes.append(result)
        publish_outcomes(self._bus, self._store, outcomes)


class Acknowledge:
    """Now that the batch is committed (or known already), tell whoever waits for it:
    the stream's count (the batch's ``done`` callbacks: the server resends what is not
    acknowledged), the sender's receipt, our archive position. Also for duplicates,
    whose sender may be resending because our first receipt was lost; not for an item
    that failed.

    The archive position: for a page of the archive, its last id (written before the
    next page is read); for the stream, the newest stanza id of the batch, once that
    archive's catch-up is over (before that, the catch-up writes it). Each archive has
    its own: the account's, and each room's (``archive`` its address)."""

    name = "acknowledge"
    order = ACKNOWLEDGE

    def __init__(
        self,
        send_receipt: Callable[[str, str, str], None],
        archive_synced: Callable[[str, str], bool],
        save_position: Callable[[str, str, str], Coroutine[Any, Any, None]],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
    ) -> None:
        self._send_receipt = send_receipt
        self._archive_synced = archive_synced
        self._save_position = save_position
        self._spawn = spawn

    async def run(self, batch: Batch) -> None:
        for done in batch.done:
            done()
        if batch.page is not None:
            if batch.page.last_id:
                page = batch.page
                await self._save_position(page.account, page.last_id, page.archive)
            return
        positions: dict[tuple[str, str], str] = {}
        for item in batch.items:
            if item.failed:
                continue
            if item.receipt_to:
                self._send_receipt(item.account, item.receipt_to, item.message.uid)
            # A room's message: the room's archive position (its stanza id is the
            # room's), never our own archive's.
            archive = item.message.peer if item.message.kind is ConversationKind.GROUPCHAT else ""
            if item.message.stanza_id and self._archive_synced(item.account, archive):
                positions[item.account, archive] = item.message.stanza_id
        for (account, archive), position in positions.items():
            self._spawn(self._save_position(account, position, archive))
