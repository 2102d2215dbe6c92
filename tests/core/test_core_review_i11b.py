"""Review of issue 11 (second round), through the real core and storage: orphan
corrections folded (our own carbons, chains naming a folded correction), and what the
event log says about a folded correction."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from core_rig import BOB, ME, Core, incoming

from chinwag.core.events import MessageFolded
from chinwag.core.models import (
    ConversationKey,
    Direction,
    EventKind,
    Message,
    MessageState,
    Origin,
)
from chinwag.xmpp.replies import quote_of

KEY = ConversationKey(ME, BOB)


def at(
    body: str, uid: str, when: float, *, origin: Origin = Origin.LIVE, **fields: object
) -> Message:
    return replace(incoming(body, uid, **fields), timestamp=when, origin=origin)  # type: ignore[arg-type]


def ours(message: Message, origin: Origin = Origin.CARBON) -> Message:
    return replace(
        message, direction=Direction.OUTGOING, sender=ME, state=MessageState.SENT, origin=origin
    )


async def test_our_own_correction_carbon_before_our_message_folds(rig: Core) -> None:
    """Our other device sent m1 then corrected it; the correction's carbon reaches us,
    m1 comes from the archive: one message of ours, corrected."""
    now = time.time()
    await rig.receive(ours(at("fixed", "c1", now, replaces="m1")))
    await rig.receive(ours(at("fxied", "m1", now - 30), Origin.ARCHIVE))
    assert [(m.uid, m.body, m.outgoing) for m in rig.history()] == [("m1", "fixed", True)]
    assert [e.message.uid for e in rig.of(MessageFolded)] == ["c1"]
    assert rig.core.store.pending_outgoing(ME) == []


async def test_a_correction_naming_a_folded_correction_edits_the_message(rig: Core) -> None:
    """Bob's client names the previous correction of the chain (c1, folded): m1 gets
    the text, nothing new shows as a message of its own."""
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await rig.receive(at("helo", "m1", now - 60, origin=Origin.ARCHIVE))
    await rig.receive(at("hello!", "c2", now + 1, replaces="c1"))
    assert [(m.uid, m.body) for m in rig.history()] == [("m1", "hello!")]


async def test_replaying_the_log_gives_the_history_after_a_fold(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await rig.receive(at("helo", "m1", now - 60, origin=Origin.ARCHIVE))
    shown: set[int] = set()
    for event in rig.core.conversations.events(KEY, 0):
        assert event.message_id is not None
        if event.kind is EventKind.MESSAGE:
            shown.add(event.message_id)
        elif event.kind is EventKind.REMOVE:
            shown.discard(event.message_id)
    assert shown == {m.id for m in rig.history()}


@pytest.mark.timeout(30)
def test_a_reply_quote_of_nothing_but_marks_takes_no_time() -> None:
    """A reply whose fallback quote is one long line of '> ' (2 MB; a server lets
    through a quarter of that, in each of many stanzas): the marks were taken off one at
    a time, each copying the rest of the line (quadratic: minutes here, seconds at a
    server's limit, the event loop blocked meanwhile)."""
    assert quote_of("> " * 1_000_000 + "x") == "x"
    assert quote_of(">" * 1_000_000) == ""
    assert quote_of("Anna wrote:\n> >  > We should bake a cake  \n>\n") == "We should bake a cake"
