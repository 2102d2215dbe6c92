"""Issue 13: RetransmitEvents is served from the local log, filling gaps from the server
archive first (conversations-api.md, Conversation1; section 1, ``sequence``): what was
said in a room while we were out of it, or sent to us while we were signed out, comes
from the archive when a script asks past the end of the log, and takes the next
sequences after what was seen, keeping its original time and the message's uuid. Real
Prosody; the occupant and the contact are slixmpp clients."""

from __future__ import annotations

import asyncio
import uuid as uuids
from datetime import datetime
from typing import Any

import pytest
from helpers import eventually, fresh_room
from slixmpp import JID

from chinwag.api.messaging_errors import MessagingError
from chinwag.api.service import Api
from chinwag.core.events import ConnectionStateChanged, ConversationLogged, RoomLeft
from chinwag.core.models import ConnectionState, ConversationKey, ConversationKind, EventKind
from conftest import Client, CoreMaker
from rig.fakes import FakeWindowHost
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody

NS_SID = "urn:xmpp:sid:0"
TIMEOUT = 20.0


def message_uuid_in_room(room: str, stanza_id: str) -> str:  # the spec's formula
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?stanza-id={stanza_id}"))


def message_uuid_direct(sender: str, origin_id: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{sender}?origin-id={origin_id}"))


async def enter(peer: XmppPeer, room: str, nick: str) -> None:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


async def say(peer: XmppPeer, room: str, text: str) -> str:
    """``peer`` says ``text`` in ``room``; the room's stanza id of it (its reflection)."""
    peer.client.send_message(mto=JID(room), mbody=text, mtype="groupchat")
    while True:
        stanza = await peer.next_message(timeout=TIMEOUT)
        if stanza["type"] == "groupchat" and str(stanza["body"]) == text:
            return next(
                str(e.get("id"))
                for e in stanza.xml.findall(f"{{{NS_SID}}}stanza-id")
                if e.get("by") == room
            )


async def archived_stamps(peer: XmppPeer, archive: str | None) -> dict[str, int]:
    """The archive's own time of each result (archive id -> Unix seconds), as ``peer``
    reads it: the original time of what was said."""
    client: Any = peer.client
    if "xep_0313" not in client.plugin:
        client.register_plugin("xep_0313")
    iq = await client.plugin["xep_0313"].retrieve(
        jid=JID(archive) if archive else None, rsm={"max": 100}, timeout=15
    )
    stamps: dict[str, int] = {}
    for result in iq["mam"]["results"]:
        stamp: datetime = result["mam_result"]["forwarded"]["delay"]["stamp"]
        stamps[str(result["mam_result"]["id"])] = int(stamp.timestamp())
    return stamps


def api_of(client: Client) -> Api:
    return Api(client.core, FakeWindowHost(client.core))


async def test_a_room_we_left_is_filled_from_its_archive_as_new_sequences(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    conversations = api_of(alice).conversations
    room = fresh_room(prosody, "gaps")
    key = ConversationKey(alice.jid, room, ConversationKind.GROUPCHAT)
    await alice.core.rooms.join(alice.jid, room, "Alice")
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        await enter(bob, room, "bob")
        before = await say(bob, room, "before we left")
        await eventually(
            lambda: alice.core.store.get_by_stanza_id(key, before), what="alice has it live"
        )
        await alice.core.rooms.leave(alice.jid, room)
        await alice.events.wait(RoomLeft, lambda e: e.room == room)
        await alice.events.wait(
            ConversationLogged,
            lambda e: e.event.key == key and e.event.kind is EventKind.LEAVE,
        )
        last = conversations.times(key)[1]
        seen = await conversations.retransmit(key, 1, last)
        assert [e["action"] for e in seen][-1] == "leaveConversation"

        said = [await say(bob, room, f"while away {n}") for n in range(3)]
        stamps = await archived_stamps(bob, room)

        # Asked past the end: the archive fills the gap, the next sequences, in order.
        missed = await conversations.retransmit_from(key, last + 1, 100)
        assert [e["sequence"] for e in missed] == [last + 1, last + 2, last + 3]
        assert [e["action"] for e in missed] == ["sendMessage"] * 3
        assert [e["message"]["text"] for e in missed] == [f"while away {n}" for n in range(3)]
        assert [e["message"]["uuid"] for e in missed] == [
            message_uuid_in_room(room, sid) for sid in said
        ]
        # Their own time (the archive's), not when they were fetched.
        assert [e["timestamp"] for e in missed] == [stamps[sid] for sid in said]
        # Nothing twice; the old ones as they were.
        assert await conversations.retransmit(key, 1, last) == seen
        assert await conversations.retransmit_from(key, last + 1, 100) == missed
        assert conversations.times(key)[1] == last + 3
        # Past the end still, once the gap is filled: 24.
        with pytest.raises(MessagingError) as info:
            await conversations.retransmit_from(key, last + 4, 1)
        assert info.value.code == 24


async def test_direct_messages_sent_while_signed_out_are_there_right_after_sign_in(
    prosody: Any, cores: CoreMaker
) -> None:
    jid, password = prosody.make_user("alice")
    alice = await cores(prosody, jid, password)
    conversations = api_of(alice).conversations
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        key = ConversationKey(jid, bob.jid)
        bob.send_chat(jid, "while here")
        await eventually(lambda: conversations.times(key)[1] == 1, what="alice has it")
        await alice.core.sign_out(jid)
        uids = []
        for n in range(3):
            message = bob.client.make_message(mto=jid, mbody=f"while out {n}", mtype="chat")
            uid = str(uuids.uuid4())
            message["id"] = uid
            message.xml.append(message.xml.makeelement(f"{{{NS_SID}}}origin-id", {"id": uid}))
            message.send()
            uids.append(uid)
        # (another client of alice's reads her archive's times, and takes the offline
        # messages with it: Chinwag finds them in the archive)
        async with XmppPeer(prosody, jid, password) as elsewhere:
            stamps = await eventually_archived(elsewhere, len(uids) + 1)
        # Asked the moment the account is online (its archive catch-up just started):
        # the gap is filled before the answer.
        asked: list[asyncio.Task[list[dict[str, Any]]]] = []

        def online(event: ConnectionStateChanged) -> None:
            if event.account == jid and event.state is ConnectionState.ONLINE and not asked:
                asked.append(asyncio.ensure_future(conversations.retransmit_from(key, 2, 100)))

        unsubscribe = alice.core.bus.subscribe(ConnectionStateChanged, online)
        try:
            await alice.core.sign_in(jid)
            assert asked
            missed = await asked[0]
        finally:
            unsubscribe()
        assert [e["sequence"] for e in missed] == [2, 3, 4]
        assert [e["message"]["text"] for e in missed] == [f"while out {n}" for n in range(3)]
        assert [e["message"]["uuid"] for e in missed] == [
            message_uuid_direct(bob.jid, uid) for uid in uids
        ]
        assert [e["timestamp"] for e in missed] == stamps[1:]


async def eventually_archived(peer: XmppPeer, count: int) -> list[int]:
    """The times of the first ``count`` results of ``peer``'s own archive, once it has
    that many."""
    async with asyncio.timeout(TIMEOUT):
        while len(stamps := list((await archived_stamps(peer, None)).values())) < count:
            pass
    return stamps[:count]
