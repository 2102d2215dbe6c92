"""Issue 12: editing, removing, replying and reacting in a room, through the rig's
Prosody: the previous issue's model, with the ids a room uses (a correction names the
message's own id; a retraction, reactions and a reply name the room's stanza id) and
authorship by real address, so a forged correction or retraction from another occupant
(a raw client, Mallory) is refused."""

from __future__ import annotations

from typing import Any

import pytest
from actions_rig import peer
from helpers import eventually, fresh_room

from chinwag.core.events import (
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    OccupantChanged,
    ReactionsChanged,
)
from chinwag.core.models import ConversationKey, ConversationKind
from conftest import CoreMaker

pytestmark = pytest.mark.prosody

CORRECT = "urn:xmpp:message-correct:0"
RETRACT = "urn:xmpp:message-retract:1"
MUC = "http://jabber.org/protocol/muc"


async def test_edit_remove_react_and_reply_in_a_room_and_forgeries_refused(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "actions")
    key = ConversationKey(alice.jid, room, ConversationKind.GROUPCHAT)
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    mallory_jid, mallory_password = prosody.make_user("mallory")
    async with peer(prosody, mallory_jid, mallory_password) as mallory:
        presence = mallory.client.make_presence(pto=f"{room}/Mallory")
        presence.xml.append(presence.xml.makeelement(f"{{{MUC}}}x", {}))
        presence.send()
        await alice.events.wait(OccupantChanged, lambda e: e.nick == "Mallory")

        sent = await bob.core.messaging.send(bob.jid, room, "helo", kind=ConversationKind.GROUPCHAT)
        got = (await alice.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid)).message
        assert got.sender == bob.jid
        # Bob's message as Bob's store has it once the room reflected it (the room's id).
        await eventually(
            lambda: (
                bob.core.store.get(bob.jid, room, sent.uid, ConversationKind.GROUPCHAT).stanza_id  # type: ignore[union-attr]
                == got.stanza_id
            ),
            what="Bob's copy gets the room's id",
        )
        mine = bob.core.store.get(bob.jid, room, sent.uid, ConversationKind.GROUPCHAT)
        assert mine is not None

        # Mallory forges a correction and a retraction of Bob's message: refused.
        mallory.stanza(
            room, "pwned", f"<replace xmlns='{CORRECT}' id='{sent.uid}'/>", mtype="groupchat"
        ).send()
        mallory.stanza(
            room, "", f"<retract xmlns='{RETRACT}' id='{got.stanza_id}'/>", mtype="groupchat"
        ).send()
        # Bob corrects it himself: applied (by its own id).
        await bob.core.messaging.correct(mine, "hello")
        edited = await alice.events.wait(MessageEdited, lambda e: e.message.uid == sent.uid)
        assert edited.message.body == "hello"

        # Alice reacts and replies: both name the room's stanza id, and reach Bob.
        theirs = alice.core.store.get(alice.jid, room, sent.uid, ConversationKind.GROUPCHAT)
        assert theirs is not None
        await alice.core.messaging.react(theirs, ["👍"])
        reacted = await bob.events.wait(ReactionsChanged, lambda e: e.message.uid == sent.uid)
        assert reacted.reactions == ((alice.jid, ("👍",)),)
        answer = await alice.core.messaging.send(
            alice.jid, room, "welcome", kind=ConversationKind.GROUPCHAT, reply_to=theirs
        )
        assert answer.reply_to == got.stanza_id
        reply = (await bob.events.wait(MessageAdded, lambda e: e.message.uid == answer.uid)).message
        assert reply.reply_to == got.stanza_id

        # Bob removes it: a tombstone everywhere.
        current = bob.core.store.get(bob.jid, room, sent.uid, ConversationKind.GROUPCHAT)
        assert current is not None
        await bob.core.messaging.retract(current)
        await alice.events.wait(MessageRemoved, lambda e: e.message.uid == sent.uid)

    history = alice.core.store.latest(key, 20)
    # Bob's message: a tombstone (his own retraction), never Mallory's text. Her forged
    # correction is kept as what it is, a message of hers; her retraction did nothing.
    assert [(m.body, m.removed, m.sender) for m in history] == [
        ("", True, bob.jid),
        ("pwned", False, mallory_jid),
        ("welcome", False, alice.jid),
    ]
