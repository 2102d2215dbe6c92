"""The Conversations API's refusals that come from the room's XMPP error (conversations-
api.md section 2: not-authorized is 3, gone is 16, no answer is 10002), provoked by a
script with another party's help: a slixmpp peer makes a password-protected public
room, or destroys a room the app knew; the server stalls (paused) before the room
passes our message on. The app as a process on its own bus with the rig's Prosody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from rig.app import AppProcess
from rig.conversations import plain, profile_on_own_bus, refused, room_uuid
from rig.muc import NS_OWNER, make_room, room_name
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
PUBLIC = {
    "muc#roomconfig_publicroom": "1",
    "muc#roomconfig_membersonly": "0",
    "muc#roomconfig_whois": "anyone",
    "muc#roomconfig_persistentroom": "1",
}


async def conversations(client: Any, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def destroy(peer: XmppPeer, room: str) -> None:
    client: Any = peer.client
    iq = client.make_iq_set(ito=JID(room))
    query = ET.SubElement(iq.xml, f"{{{NS_OWNER}}}query")
    ET.SubElement(query, f"{{{NS_OWNER}}}destroy")
    await iq.send(timeout=15)


async def test_a_password_protected_room_is_not_authorized(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("owner")) as owner:
        room = room_name(prosody)
        await make_room(
            owner,
            room,
            "owner",
            {
                **PUBLIC,
                "muc#roomconfig_passwordprotectedroom": "1",
                "muc#roomconfig_roomsecret": "sesame",
            },
        )
        await refused(
            3, "NotAuthorized", conversations(client, "JoinConversation", "s", room_uuid(room))
        )
    assert chinwag_app.running()


async def test_a_destroyed_room_is_gone(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("owner")) as owner:
        room = room_name(prosody)
        await make_room(owner, room, "owner", PUBLIC)
        uuid = room_uuid(room)
        path = await conversations(client, "JoinConversation", "s", uuid)
        assert await client.get(path, CONVERSATION, "Address") == room
        assert await conversations(client, "LeaveConversation", "s", uuid) == 0
        await destroy(owner, room)
        await refused(
            16, "ConversationDeleted", conversations(client, "JoinConversation", "s", uuid)
        )
    assert chinwag_app.running()


async def test_a_room_that_does_not_pass_the_message_on_is_a_timeout(
    prosody_own: ProsodyServer, tmp_path: Path
) -> None:
    """10002, Timeout: the server stalls (paused) before the room reflects our message;
    once it goes on, the message arrives after all and the app carries on."""
    async with profile_on_own_bus(tmp_path, prosody_own, "app") as app:
        client = await app.client()
        signals = await client.watch()
        path = await conversations(client, "CreateConversation", "a{sv}", {})
        prosody_own.pause()
        try:
            await refused(
                10002,
                "Timeout",
                client.call(path, CONVERSATION, "SendMessage", "ss", ["stalled", ""]),
            )
        finally:
            prosody_own.resume()
        await signals.wait_for(
            "OnSendMessage", lambda b: b[0] == path and plain(b[1])["message"]["text"] == "stalled"
        )
        sent = plain((await client.call(path, CONVERSATION, "SendMessage", "ss", ["after", ""]))[0])
        assert sent["message"]["text"] == "after"
        assert app.running()
