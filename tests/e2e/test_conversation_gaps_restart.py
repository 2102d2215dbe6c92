"""RetransmitEvents across a restart and across a gap filled from the server archive
(conversations-api.md, Conversation1: "served from the local log, filling gaps from the
server archive"; section 1, ``sequence``: history that arrives late gets the next
sequences and keeps its original timestamp). A script keeps the last sequence it saw of
a room and of a direct conversation; the app is stopped; an occupant speaks in the room
and the contact sends direct messages; the app starts again on the same profile, and
RetransmitEventsFrom(last + 1, 100) gives exactly what was missed, in order, once each.

The app as a process on its own bus, the others slixmpp clients on the rig's Prosody.
Names, paths and values are spelled as the spec writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID

from rig.app import APP_TIMEOUT, ApiClient, AppProcess, start_app, wait_signed_in, write_profile
from rig.conversations import (
    direct_uuid,
    message_uuid_direct,
    message_uuid_in_room,
    plain,
    refused,
    room_uuid,
)
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
NS_SID = "urn:xmpp:sid:0"
S_OK = 0


async def conversations(client: ApiClient, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return body[0] if len(body) == 1 else body


async def on(client: ApiClient, path: str, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(path, CONVERSATION, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def enter(peer: XmppPeer, room: str, nick: str) -> None:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


async def say(peer: XmppPeer, room: str, text: str) -> str:
    """``peer`` says ``text`` in ``room``; the room's stanza id of it (its reflection)."""
    peer.client.send_message(mto=JID(room), mbody=text, mtype="groupchat")
    while True:
        stanza = await peer.next_message(timeout=APP_TIMEOUT)
        if stanza["type"] == "groupchat" and str(stanza["body"]) == text:
            return next(
                str(e.get("id"))
                for e in stanza.xml.findall(f"{{{NS_SID}}}stanza-id")
                if e.get("by") == room
            )


def send_direct(peer: XmppPeer, to: str, text: str, origin_id: str) -> None:
    message = peer.client.make_message(mto=to, mbody=text, mtype="chat")
    message["id"] = origin_id
    message.xml.append(message.xml.makeelement(f"{{{NS_SID}}}origin-id", {"id": origin_id}))
    message.send()


async def quit_app(app: AppProcess, client: ApiClient) -> None:
    assert await client.call(ROOT, MESSENGER, "Quit") == [S_OK]
    assert await app.wait_exit() == 0
    await app.close_clients()


async def test_retransmit_after_a_restart_gives_exactly_what_was_missed(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    app = await start_app(tmp_path, env, jid, password, prosody)
    try:
        async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
            client = await app.client()
            await wait_signed_in(app, client)
            signals = await client.watch()
            room_path = await conversations(
                client,
                "CreateConversation",
                "a{sv}",
                {
                    "title": Variant("s", "Gaps"),
                    "participants": Variant("aa{sv}", [{"user": Variant("s", bob.jid)}]),
                },
            )
            room = await client.get(room_path, CONVERSATION, "Address")
            await enter(bob, room, "bob")
            await say(bob, room, "before the stop")
            await signals.wait_for(
                "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "before the stop"
            )
            send_direct(bob, jid, "hello before", "origin-before")
            await signals.wait_for(
                "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "hello before"
            )
            direct_path = await conversations(
                client, "GetConversation", "s", direct_uuid(jid, bob.jid)
            )
            # The script's last sequences, as it was told them.
            in_room = await on(client, room_path, "RetransmitEvents", "xx", 1, 1)
            assert in_room[0]["action"] == "createConversation"
            room_last = await client.get(room_path, CONVERSATION, "LastSequence")
            direct_last = await client.get(direct_path, CONVERSATION, "LastSequence")
            told_room = [
                plain(b[1])
                for b in signals.named("OnSendMessage")
                if plain(b[1])["message"]["conversation"] == room_uuid(room)
            ]
            assert told_room[-1]["sequence"] == room_last
            before_room = await on(client, room_path, "RetransmitEvents", "xx", 1, room_last)
            before_direct = await on(client, direct_path, "RetransmitEvents", "xx", 1, direct_last)
            assert before_direct[-1]["message"]["text"] == "hello before"
            await quit_app(app, client)

            # While the app is down: the occupant speaks, the contact writes.
            said = [await say(bob, room, f"in the room {n}") for n in range(3)]
            for n in range(3):
                send_direct(bob, jid, f"direct {n}", f"origin-{n}")

            app = await start_app(tmp_path, env, jid, password, prosody)
            client = await app.client()
            await wait_signed_in(app, client)
            room_path = await conversations(client, "GetConversation", "s", room_uuid(room))
            direct_path = await conversations(
                client, "GetConversation", "s", direct_uuid(jid, bob.jid)
            )

            # Across the restart: what was seen is as it was.
            assert await on(client, room_path, "RetransmitEvents", "xx", 1, room_last) == (
                before_room
            )
            assert (
                await on(client, direct_path, "RetransmitEvents", "xx", 1, direct_last)
                == before_direct
            )

            # Across the gap: exactly what was missed, in order, the next sequences.
            missed = await on(client, room_path, "RetransmitEventsFrom", "xu", room_last + 1, 100)
            assert [e["sequence"] for e in missed] == [room_last + n for n in (1, 2, 3)]
            assert [(e["action"], e["message"]["text"]) for e in missed] == [
                ("sendMessage", f"in the room {n}") for n in range(3)
            ]
            assert [e["message"]["uuid"] for e in missed] == [
                message_uuid_in_room(room, sid) for sid in said
            ]
            missed_direct = await on(
                client, direct_path, "RetransmitEventsFrom", "xu", direct_last + 1, 100
            )
            assert [e["sequence"] for e in missed_direct] == [direct_last + n for n in (1, 2, 3)]
            assert [(e["user"], e["message"]["text"]) for e in missed_direct] == [
                (bob.jid, f"direct {n}") for n in range(3)
            ]
            assert [e["message"]["uuid"] for e in missed_direct] == [
                message_uuid_direct(bob.jid, f"origin-{n}") for n in range(3)
            ]
            # Nothing more, nothing twice.
            assert await client.get(room_path, CONVERSATION, "LastSequence") == room_last + 3
            assert await client.get(direct_path, CONVERSATION, "LastSequence") == direct_last + 3
            await refused(
                24,
                "WrongSequenceArgument",
                on(client, room_path, "RetransmitEventsFrom", "xu", room_last + 4, 1),
            )
            again = await on(client, room_path, "RetransmitEvents", "xx", 1, room_last + 3)
            assert again == before_room + missed
            # The conversation it made is the user's still: the app went back into the
            # room by itself (CreateConversation bookmarked it to be joined), so what the
            # script says there reaches the occupant.
            await on(client, room_path, "SendMessage", "ss", "back again", "")
            while True:
                stanza = await bob.next_message(timeout=APP_TIMEOUT)
                if stanza["type"] == "groupchat" and str(stanza["body"]) == "back again":
                    break
            await quit_app(app, client)
    finally:
        await app.close_clients()
        if app.running():
            await app.terminate()
