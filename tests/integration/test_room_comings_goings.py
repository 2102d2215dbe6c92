"""Issue 13: others coming into and going out of a room we are in are logged in the
room's conversation (join, leave: the spec's joinConversation / leaveConversation),
over the rig's Prosody with slixmpp occupants: a leave of one's own accord, a kick and
a ban (with the room's reason), each once."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
from helpers import eventually, fresh_room
from slixmpp import JID

from chinwag.api.conversation_events import EventBuilder
from chinwag.core.models import (
    Affiliation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    EventKind,
    Role,
)
from conftest import Client, CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def comings_and_goings(client: Client, key: ConversationKey) -> list[ConversationEvent]:
    return [
        e
        for e in client.core.conversations.events(key, 0)
        if e.kind in (EventKind.JOIN, EventKind.LEAVE) and e.author != client.jid
    ]


def muc(peer: XmppPeer) -> Any:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    return client.plugin["xep_0045"]


async def test_others_leaving_kicked_and_banned_are_logged_once(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    room = fresh_room(prosody, "goings")
    await alice.core.rooms.join(alice.jid, room, "Alice")  # made it: owner, moderator
    key = ConversationKey(alice.jid, room, ConversationKind.GROUPCHAT)
    async with AsyncExitStack() as stack:
        peers: dict[str, XmppPeer] = {}
        for nick in ("Bob", "Carol", "Dave"):
            peer = await stack.enter_async_context(
                XmppPeer(prosody, *prosody.make_user(nick.lower()))
            )
            await muc(peer).join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)
            peers[nick] = peer
        jid = {nick: JID(p.jid).bare for nick, p in peers.items()}
        await eventually(
            lambda: len(comings_and_goings(alice, key)) == 3, what="the three joins logged"
        )

        def logged(count: int) -> Any:
            return eventually(
                lambda: len(comings_and_goings(alice, key)) >= count, what=f"{count} logged"
            )

        muc(peers["Bob"]).leave_muc(JID(room), "Bob", "bye")
        await logged(4)
        await alice.core.rooms.set_role(alice.jid, room, "Carol", Role.NONE, "too loud")
        await logged(5)
        await alice.core.rooms.set_affiliation(
            alice.jid, room, jid["Dave"], Affiliation.OUTCAST, "spam"
        )
        await logged(6)
    await alice.core.conversations.drain()  # (the peers logged out: nothing more)

    logged = comings_and_goings(alice, key)
    assert [(e.kind, e.author, json.loads(e.data or "{}")) for e in logged] == [
        (EventKind.JOIN, jid["Bob"], {}),
        (EventKind.JOIN, jid["Carol"], {}),
        (EventKind.JOIN, jid["Dave"], {}),
        (EventKind.LEAVE, jid["Bob"], {}),
        (EventKind.LEAVE, jid["Carol"], {"reason": "kicked: too loud"}),
        (EventKind.LEAVE, jid["Dave"], {"reason": "banned: spam"}),
    ]
    # As the API tells it: leaveConversation by the one who left.
    builder = EventBuilder(alice.core.store, lambda address: 7 if address == jid["Bob"] else 0)
    event = builder.from_log(logged[3], "the-uuid")
    assert event is not None
    assert (event["action"], event["user"], event["im_user_id"]) == (
        "leaveConversation",
        jid["Bob"],
        7,
    )
