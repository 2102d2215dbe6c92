"""Group conversations over the automation API (``automation-api.md`` sections 4 and 5):
``InstantMessage`` on a room's address enters the room and opens its window, a room's
refusal is a named error, ``ConversationWindow1.AddContact`` turns a one-to-one window
into a group conversation (the same handle), and ``OnIMWindowContactAdded`` /
``OnIMWindowContactRemoved`` follow who comes and goes. The app runs for real (Qt
offscreen, its own bus), the other people are slixmpp clients on the rig's Prosody."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from rig.app import ApiError
from rig.muc import make_room, room_name
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
WINDOW = "im.chinwag.Window1"
CONVERSATION = "im.chinwag.ConversationWindow1"
S_OK = 0
NS_CONFERENCE = "jabber:x:conference"
TIMEOUT = 30.0


async def contact_path(client: Any, jid: str) -> str:
    return str(await client.messenger("GetContact", "ss", jid, ""))


def invitations(peer: XmppPeer) -> asyncio.Queue[str]:
    """The rooms of the direct invitations (XEP-0249) ``peer`` receives from now on
    (bodiless messages: slixmpp's own "message" event skips them)."""
    rooms: asyncio.Queue[str] = asyncio.Queue()

    def got(stanza: Any) -> None:
        x = stanza.xml.find(f"{{{NS_CONFERENCE}}}x")
        if x is not None:
            rooms.put_nowait(str(x.get("jid")))

    peer.client.register_handler(
        Callback("test: invitations", MatchXPath("{jabber:client}message"), got)
    )
    return rooms


async def join(peer: XmppPeer, room: str, nick: str) -> None:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


def leave(peer: XmppPeer, room: str, nick: str) -> None:
    peer.client.plugin["xep_0045"].leave_muc(JID(room), nick)


async def groupchat_body(peer: XmppPeer, text: str) -> str:
    while True:
        message = await peer.next_message(timeout=TIMEOUT)
        if message["type"] == "groupchat" and message["body"] == text:
            return str(message["from"])


async def wait_until(check: Any, what: str, timeout: float = TIMEOUT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_instant_message_on_a_room_enters_it_and_follows_who_comes_and_goes(
    chinwag_app: Any,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    room = room_name(prosody, "api")  # not made yet: entering it makes it
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, path = await client.messenger("InstantMessage", "v", Variant("s", room))
        assert hr == S_OK
        assert await client.get(path, CONVERSATION, "Contacts") == []
        seen = len(signals.items)
        await join(bob, room, "bob")
        bob_path = await contact_path(client, bob.jid)
        added = await signals.wait_for("OnIMWindowContactAdded", after=seen)
        assert added == [bob_path, path]
        assert await client.get(path, CONVERSATION, "Contacts") == [bob_path]

        assert await client.call(path, CONVERSATION, "SendText", "s", ["hello room"]) == [S_OK]
        assert (await groupchat_body(bob, "hello room")).startswith(room + "/")
        bob.client.send_message(mto=JID(room), mbody="hello app", mtype="groupchat")

        async def said() -> str | None:
            history = str(await client.get(path, CONVERSATION, "History"))
            return history if "hello app" in history else None

        history = await wait_until(said, "bob's message in the window's History")
        assert "] bob: hello app" in history  # the author is the nick

        # The same address again: the same window.
        assert await client.messenger("InstantMessage", "v", Variant("s", room)) == [S_OK, path]
        seen = len(signals.items)
        leave(bob, room, "bob")
        removed = await signals.wait_for("OnIMWindowContactRemoved", after=seen)
        assert removed == [bob_path, path]
        assert await client.get(path, CONVERSATION, "Contacts") == []
    assert await client.call(path, WINDOW, "Close") == [S_OK]


async def test_a_room_refusing_us_is_a_named_error(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    room = room_name(prosody, "closed")
    async with XmppPeer(prosody, *prosody.make_user("owner")) as owner:
        await make_room(owner, room, config={"muc#roomconfig_membersonly": "1"})
        with pytest.raises(ApiError) as info:
            await client.messenger("InstantMessage", "v", Variant("s", room))
        error = info.value
        assert error.name == "im.chinwag.Error.PermissionDenied"
        assert error.text.startswith("0x80004005: ")
        assert "members only" in error.text
        assert await client.get(ROOT, "im.chinwag.Messenger1", "ConversationWindows") == []


async def test_add_contact_turns_a_one_to_one_window_into_a_group_conversation(
    chinwag_app: Any,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with (
        XmppPeer(prosody, *prosody.make_user("bob")) as bob,
        XmppPeer(prosody, *prosody.make_user("carol")) as carol,
    ):
        hr, path = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == S_OK
        bob_path = await contact_path(client, bob.jid)
        carol_path = await contact_path(client, carol.jid)
        invited = {peer.jid: invitations(peer) for peer in (bob, carol)}
        seen = len(signals.items)
        assert await client.call(
            path, CONVERSATION, "AddContact", "v", [Variant("s", carol.jid)]
        ) == [S_OK]
        room = await asyncio.wait_for(invited[bob.jid].get(), TIMEOUT)
        assert await asyncio.wait_for(invited[carol.jid].get(), TIMEOUT) == room
        assert room.endswith("@" + prosody.muc_domain)
        await join(bob, room, "bob")
        await join(carol, room, "carol")  # a members-only room: both were made members
        for who in (bob_path, carol_path):
            body = await signals.wait_for(
                "OnIMWindowContactAdded", lambda b, w=who: b == [w, path], after=seen
            )
            assert body == [who, path]

        # The same handle is the group conversation's window now.
        assert await client.get(path, WINDOW, "IsClosed") is False
        assert sorted(await client.get(path, CONVERSATION, "Contacts")) == sorted(
            [bob_path, carol_path]
        )
        assert await client.call(path, CONVERSATION, "SendText", "s", ["hi both"]) == [S_OK]
        await groupchat_body(bob, "hi both")
        await groupchat_body(carol, "hi both")
        assert signals.named("OnIMWindowDestroyed") == []
        assert [b for b in signals.named("OnIMWindowCreated") if b == [path]] == [[path]]

        seen = len(signals.items)
        leave(carol, room, "carol")
        removed = await signals.wait_for("OnIMWindowContactRemoved", after=seen)
        assert removed == [carol_path, path]
        # Adding someone already there changes nothing.
        assert await client.call(
            path, CONVERSATION, "AddContact", "v", [Variant("s", bob.jid)]
        ) == [1]
    assert await client.call(path, WINDOW, "Close") == [S_OK]
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b == [path])
