"""A correction that arrives before the message it corrects (issue 11): shown as a
message while its target is unknown, folded into the target once that is stored (live,
from the archive, after a restart), through the real core and storage."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path
from typing import cast

from core_rig import BOB, EVE, ME, Core, incoming, make_rig

from chinwag.core.events import MessageAdded, MessageEdited, MessageFolded
from chinwag.core.models import (
    ConversationKey,
    Direction,
    EventKind,
    Message,
    MessageState,
    Origin,
)

KEY = ConversationKey(ME, BOB)


def at(
    body: str, uid: str, when: float, *, origin: Origin = Origin.LIVE, **fields: object
) -> Message:
    message = incoming(body, uid, **fields)  # type: ignore[arg-type]
    return replace(message, timestamp=when, origin=origin)


def log_of(rig: Core) -> list[tuple[int, EventKind, str]]:
    """The conversation's event log: (sequence, kind, uid of the message named)."""
    store = rig.core.store
    out = []
    for event in rig.core.conversations.events(KEY, 0):
        named = store.get_by_id(event.message_id) if event.message_id is not None else None
        out.append((event.sequence, event.kind, named.uid if named else ""))
    return out


def assert_folded(rig: Core, body: str, original: str, orphan_uid: str) -> Message:
    """One message shows, with ``body``, edited, its first text a version; the orphan's
    row is gone from listing, search, counts; the open window was told."""
    (shown,) = rig.history()
    assert (shown.uid, shown.body) == ("m1", body)
    assert shown.edited_at > 0
    assert shown.id is not None
    versions = rig.core.store.versions(shown.id)
    assert versions[0][1] == original
    store = rig.core.store
    assert store.count(KEY) == 1
    assert [hit.message.uid for hit in store.search(body)] == ["m1"]
    assert store.unread_count(KEY) == 1  # the message (the orphan counted until now)
    folded = rig.of(MessageFolded)
    assert [(e.message.uid, e.into.uid, e.into.body) for e in folded] == [(orphan_uid, "m1", body)]
    assert folded[0].message.removed
    edited = rig.of(MessageEdited)
    assert edited
    assert edited[-1].message.uid == "m1"
    assert edited[-1].message.body == body
    # MessageEdited comes before MessageFolded (a window updates, then drops the row).
    kinds = [type(e) for e in rig.events if isinstance(e, MessageEdited | MessageFolded)]
    assert kinds[-2:] == [MessageEdited, MessageFolded]
    return shown


async def test_orphan_then_target_from_the_archive(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    (orphan,) = rig.history()
    assert (orphan.uid, orphan.body, orphan.replaces) == ("c1", "hello", "")  # shown meanwhile
    assert rig.core.store.unread_count(KEY) == 1

    await rig.receive(at("helo", "m1", now - 60, origin=Origin.ARCHIVE))
    assert_folded(rig, "hello", "helo", "c1")
    added = [e.message for e in rig.of(MessageAdded)]
    assert [m.uid for m in added] == ["c1", "m1"]
    assert added[-1].body == "hello"  # told as it is now: the correction applied
    # The log: the orphan as a message, the target, the edit, and the orphan's row gone
    # (folded: a replay gives the history): gap-free.
    assert log_of(rig) == [
        (1, EventKind.MESSAGE, "c1"),
        (2, EventKind.MESSAGE, "m1"),
        (3, EventKind.EDIT, "m1"),
        (4, EventKind.REMOVE, "c1"),
    ]
    info = rig.core.store.conversation_info(KEY)
    assert info is not None
    assert info.last_sequence == 4


async def test_orphan_then_live_target(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await rig.receive(at("helo", "m1", now + 1))  # the original overtaken, arrives late
    assert_folded(rig, "hello", "helo", "c1")


async def test_the_correction_seen_again_after_the_fold_changes_nothing(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await rig.receive(at("helo", "m1", now - 60, origin=Origin.ARCHIVE))
    before = log_of(rig)
    await rig.receive(at("hello", "c1", now, replaces="m1", origin=Origin.ARCHIVE))
    assert [m.body for m in rig.history()] == ["hello"]
    assert log_of(rig) == before


async def test_orphan_restart_then_target(tmp_path: Path) -> None:
    now = time.time()
    first = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig = await anext(first)
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await first.aclose()  # the app quits with the correction still waiting
    again = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig2 = await anext(again)
    try:
        assert [m.uid for m in rig2.history()] == ["c1"]
        await rig2.receive(at("helo", "m1", now - 60, origin=Origin.OFFLINE))
        assert_folded(rig2, "hello", "helo", "c1")
        assert [kind for _seq, kind, _uid in log_of(rig2)] == [
            EventKind.MESSAGE,
            EventKind.MESSAGE,
            EventKind.EDIT,
            EventKind.REMOVE,
        ]
    finally:
        await again.aclose()


async def test_an_orphan_from_someone_else_stays_a_message(rig: Core) -> None:
    now = time.time()
    # Eve (a forged sender, or a room's other occupant) "corrects" m1 before it comes.
    await rig.receive(at("not what bob said", "c1", now, sender=EVE, replaces="m1"))
    await rig.receive(at("helo", "m1", now + 1))
    assert [(m.uid, m.body, m.edited_at) for m in rig.history()] == [
        ("c1", "not what bob said", 0.0),
        ("m1", "helo", 0.0),
    ]
    assert rig.of(MessageFolded) == []
    assert [kind for _s, kind, _u in log_of(rig)] == [EventKind.MESSAGE, EventKind.MESSAGE]


async def test_our_own_correction_does_not_fold_into_their_message(rig: Core) -> None:
    now = time.time()
    # Our other device's correction (a carbon) names an id; Bob's message has that id.
    ours = replace(
        at("my fix", "c1", now, replaces="m1"),
        direction=Direction.OUTGOING,
        sender=ME,
        state=MessageState.SENT,
        origin=Origin.CARBON,
    )
    await rig.receive(ours)
    await rig.receive(at("helo", "m1", now + 1))
    assert sorted(m.body for m in rig.history()) == ["helo", "my fix"]
    assert rig.of(MessageFolded) == []


async def test_two_orphans_the_newest_wins_whatever_the_order(rig: Core) -> None:
    now = time.time() - 60  # from the archive, which keeps their times
    archived = Origin.ARCHIVE
    await rig.receive(at("hello!", "c2", now + 2, replaces="m1", origin=archived))  # newer first
    await rig.receive(at("hello", "c1", now + 1, replaces="m1", origin=archived))
    assert [m.body for m in rig.history()] == ["hello", "hello!"]
    await rig.receive(at("helo", "m1", now, origin=archived))
    (shown,) = rig.history()
    assert (shown.body, shown.edited_at) == ("hello!", now + 2)
    assert shown.id is not None
    assert rig.core.store.versions(shown.id) == [(now + 1, "helo"), (now + 2, "hello")]
    assert sorted(e.message.uid for e in rig.of(MessageFolded)) == ["c1", "c2"]
    assert rig.core.store.count(KEY) == 1
    assert rig.core.store.unread_count(KEY) == 1
    log = log_of(rig)
    assert [seq for seq, _k, _u in log] == [1, 2, 3, 4, 5, 6, 7]  # gap-free
    assert sorted((k, u) for _s, k, u in log[2:]) == sorted(
        [
            (EventKind.MESSAGE, "m1"),
            (EventKind.EDIT, "m1"),
            (EventKind.REMOVE, "c1"),
            (EventKind.EDIT, "m1"),
            (EventKind.REMOVE, "c2"),
        ]
    )


async def test_a_chain_of_orphans_ends_on_the_newest_text(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now + 1, replaces="m1"))
    await rig.receive(at("hello!", "c2", now + 2, replaces="m1"))
    await rig.receive(at("helo", "m1", now, origin=Origin.ARCHIVE))
    assert [(m.uid, m.body) for m in rig.history()] == [("m1", "hello!")]


async def test_the_received_log_keeps_the_orphan_and_says_it_is_folded(rig: Core) -> None:
    now = time.time()
    await rig.receive(at("hello", "c1", now, replaces="m1"))
    await rig.receive(at("helo", "m1", now - 60, origin=Origin.ARCHIVE))
    entries = rig.core.store.received_after(ME, 0, 10)
    # Append-only: what was received stays logged; read back, the orphan is folded
    # (removed) and the message has its newest text.
    assert [(e.sequence, e.message.uid, e.message.removed) for e in entries] == [
        (1, "c1", True),
        (2, "m1", False),
    ]
    assert entries[1].message.body == "hello"
