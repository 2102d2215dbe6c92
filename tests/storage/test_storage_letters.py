"""``letters()``: an account's one-to-one messages across its conversations, newest
first (what the XML-RPC gateway's inbox lists)."""

from __future__ import annotations

from storage_helpers import ME, OTHER, MessageFactory

from chinwag.core.models import ConversationKind, Direction
from chinwag.storage import SqliteMessageStore

ROOM = "room@conference.example.net"


async def test_letters_newest_first_by_direction_time_and_page(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    first = make.incoming("first")
    await store.add_incoming([first])
    to_other = await store.add_outgoing(make.outgoing("to other", peer=OTHER))
    await store.add_incoming(
        [make.incoming("in a room", peer=ROOM, kind=ConversationKind.GROUPCHAT)]
    )
    await store.add_incoming([make.incoming("another account's", account="else@example.org")])
    last = make.incoming("last")
    await store.add_incoming([last])

    def bodies(**kwargs: object) -> list[str]:
        return [m.body for m in store.letters(ME, **kwargs)]  # type: ignore[arg-type]

    assert bodies() == ["last", "to other", "first"]
    assert bodies(direction=Direction.INCOMING) == ["last", "first"]
    assert bodies(direction=Direction.OUTGOING) == ["to other"]
    assert bodies(since=to_other.timestamp) == ["last", "to other"]
    assert bodies(limit=1, skip=1) == ["to other"]
    assert bodies(skip=3) == []
    assert next(m.id for m in store.letters(ME, limit=2, skip=1)) == to_other.id
