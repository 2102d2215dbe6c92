"""An uber conversation's RetransmitEvents keeps only what was posted while we were in
it (conversations-api.md, RetransmitEvents): the filter over a made-up log, where the
room's archive brings what was said while we were out after our join, stamped in the
archive's whole seconds."""

from __future__ import annotations

from chinwag.api.conversations import _while_in
from chinwag.core.models import ConversationEvent, ConversationKey, ConversationKind, EventKind

ME = "me@example.org"
BOB = "bob@example.org"
KEY = ConversationKey(ME, "room@rooms.example.org", ConversationKind.GROUPCHAT)
# (kind, author, timestamp, brought by the archive)
LOG = [
    (EventKind.CREATED, ME, 100.25, False),
    (EventKind.MESSAGE, BOB, 101.5, False),  # live, while in
    (EventKind.LEAVE, ME, 102.5, False),  # ours: the end of a stay, ours to see
    (EventKind.JOIN, ME, 110.5, False),
    (EventKind.MESSAGE, BOB, 102.0, True),  # said as we left (102.0 to 103): left out
    (EventKind.MESSAGE, BOB, 105.0, True),  # while we were out
    (EventKind.MESSAGE, BOB, 101.0, True),  # missed while in (whole second inside)
    (EventKind.MESSAGE, BOB, 111.0, True),  # after we came back
    (EventKind.MESSAGE, BOB, 112.75, False),  # live, after we came back
]
ENTRIES = [
    ConversationEvent(KEY, n, kind, "", author, ts)
    for n, (kind, author, ts, _) in enumerate(LOG, 1)
]
ARCHIVED = {n for n, (*_, archived) in enumerate(LOG, 1) if archived}


def events(key: ConversationKey, after: int, limit: int) -> list[ConversationEvent]:
    return ENTRIES[after : after + limit]


def test_only_what_was_posted_while_we_were_in() -> None:
    kept = _while_in(events, KEY, ENTRIES, lambda e: e.sequence in ARCHIVED)
    assert [e.sequence for e in kept] == [1, 2, 3, 4, 7, 8, 9]
