"""Which message events raise a desktop notification, given the account's choice of
events (ManageNotifications): :func:`chinwag.core.users.notice_for`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chinwag.core.events import MessageAdded, MessageEdited, MessageRemoved
from chinwag.core.models import Direction, Message, Origin
from chinwag.core.users import DEFAULT_NOTIFICATIONS, Notice, notice_for

ME = "me@example.org"
THEIRS = Message(ME, "alice@example.net", Direction.INCOMING, "hi", 1.0, origin=Origin.LIVE)
OURS = replace(THEIRS, direction=Direction.OUTGOING, origin=Origin.LOCAL)
CORRECTED = replace(THEIRS, body="hi!", edited_at=2.0)


def choice(*events: str) -> dict[str, tuple[str, ...]]:
    return {ME: events}


@pytest.mark.parametrize(
    ("chosen", "added", "edited"),
    [
        (DEFAULT_NOTIFICATIONS, True, False),
        (("SendMessage",), True, False),
        (("EditMessage",), False, True),
        (("SendMessage", "EditMessage"), True, True),
        ((), False, False),
    ],
)
def test_the_choice_picks_the_events(chosen: tuple[str, ...], added: bool, edited: bool) -> None:
    by_account = {ME: chosen}.__getitem__
    assert (notice_for(MessageAdded(THEIRS), by_account) is not None) is added
    notice = notice_for(MessageEdited(CORRECTED, 7, live=True), by_account)
    assert notice == (Notice(CORRECTED, edited=True) if edited else None)


def test_only_what_others_say_as_it_arrives() -> None:
    both = choice("SendMessage", "EditMessage").__getitem__
    assert notice_for(MessageAdded(OURS), both) is None
    assert notice_for(MessageAdded(replace(THEIRS, origin=Origin.ARCHIVE)), both) is None
    assert notice_for(MessageAdded(replace(THEIRS, origin=Origin.OFFLINE)), both) is not None
    assert notice_for(MessageAdded(replace(THEIRS, origin=Origin.CARBON)), both) is not None
    # A correction of ours (from another device), from the archive, or folded in late.
    assert (
        notice_for(MessageEdited(replace(CORRECTED, direction=Direction.OUTGOING), live=True), both)
        is None
    )
    assert notice_for(MessageEdited(CORRECTED), both) is None
    assert notice_for(MessageRemoved(replace(THEIRS, removed=True, body="")), both) is None
