"""Conversation1's membership events end to end (conversations-api.md sections 1 and 4):
the app as a process on its own bus, the other people slixmpp clients on the rig's
Prosody. An occupant coming into and going out of a room we are in is told
(OnEditConversation: joinConversation, leaveConversation, by them) and retransmitted;
an uber conversation's RetransmitEvents returns only what was posted while we were in
it, where another conversation returns what was posted while we were out too."""

from __future__ import annotations

from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID

from rig.conversations import plain
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"


async def conversations(client: Any, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return body[0] if len(body) == 1 else body


def muc(peer: XmppPeer) -> Any:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    return client.plugin["xep_0045"]


async def join(peer: XmppPeer, room: str, nick: str) -> None:
    await muc(peer).join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


async def create(client: Any, *people: str, **flags: bool) -> str:
    config = {
        "title": Variant("s", "Comings and goings"),
        "participants": Variant("aa{sv}", [{"user": Variant("s", p)} for p in people]),
        **{name: Variant("b", value) for name, value in flags.items()},
    }
    path: str = await conversations(client, "CreateConversation", "a{sv}", config)
    return path


async def everything(client: Any, path: str) -> list[dict[str, Any]]:
    """RetransmitEvents over the whole log (it is short here)."""
    last = await client.get(path, CONVERSATION, "LastSequence")
    body = await client.call(path, CONVERSATION, "RetransmitEvents", "xx", [1, last])
    events: list[dict[str, Any]] = plain(body[0])
    return events


def membership(user: str, action: str) -> Any:
    def match(body: list[Any]) -> bool:
        event = plain(body[1])
        return bool(event["action"] == action and event["user"] == user)

    return match


async def test_an_occupant_coming_and_going_is_told_and_retransmitted(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        path = await create(client, bob.jid)
        room = await client.get(path, CONVERSATION, "Address")

        await join(bob, room, "bob")
        came = await signals.wait_for("OnEditConversation", membership(bob.jid, "joinConversation"))
        muc(bob).leave_muc(JID(room), "bob")
        went = await signals.wait_for(
            "OnEditConversation", membership(bob.jid, "leaveConversation")
        )
        assert went[0] == path
        left = plain(went[1])
        bob_id = plain(await conversations(client, "GetUserByName", "s", bob.jid))["im_id"]
        assert left["im_user_id"] == bob_id
        assert left["sequence"] > plain(came[1])["sequence"]
        told = [plain(b[1]) for b in signals.named("OnEditConversation") if b[0] == path]
        assert [e["action"] for e in told if e["user"] == bob.jid] == [
            "joinConversation",
            "leaveConversation",
        ]
        logged = await everything(client, path)
        assert left in logged
        assert plain(came[1]) in logged


async def posted_while_out(chinwag_app: Any, **flags: bool) -> tuple[list[str], list[str]]:
    """In a new group conversation (``flags``) with Bob: Bob posts while we are in,
    while we are out (after LeaveConversation, before JoinConversation) and after we
    are back; the texts RetransmitEvents returns then, once the app has every one, and
    the texts told by OnSendMessage."""
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        path = await create(client, bob.jid, public_join=True, **flags)
        uuid = await client.get(path, CONVERSATION, "Uuid")
        room = await client.get(path, CONVERSATION, "Address")
        await join(bob, room, "bob")

        def posted(text: str) -> Any:
            def match(body: list[Any]) -> bool:
                return bool(body[0] == path and plain(body[1])["message"]["text"] == text)

            return match

        def say(text: str) -> None:
            bob.client.send_message(mto=JID(room), mbody=text, mtype="groupchat")

        say("while in")
        await signals.wait_for("OnSendMessage", posted("while in"))
        assert await conversations(client, "LeaveConversation", "s", uuid) == 0
        await signals.wait_for(
            "OnEditConversation", membership(chinwag_app.jid, "leaveConversation")
        )
        say("while out")
        # Bob's own copy of it: the room has it (and its archive) before we come back.
        while True:
            echo = await bob.next_message(timeout=30)
            if echo["type"] == "groupchat" and echo["body"] == "while out":
                break
        assert await conversations(client, "JoinConversation", "s", uuid) == path
        # The room's archive brings what we missed once we are back (logged; told
        # unless the conversation is uber). RetransmitEvents waits for that catch-up,
        # and the signals it sent come before its reply.
        say("back again")
        await signals.wait_for("OnSendMessage", posted("back again"))
        events = await everything(client, path)
        told = [
            plain(b[1])["message"]["text"] for b in signals.named("OnSendMessage") if b[0] == path
        ]
        return [e["message"]["text"] for e in events if e["action"] == "sendMessage"], told


async def test_an_uber_conversation_retransmits_only_what_was_posted_while_we_were_in(
    chinwag_app: Any,
) -> None:
    retransmitted, told = await posted_while_out(chinwag_app, uber=True)
    assert retransmitted == ["while in", "back again"]
    assert told == ["while in", "back again"]


async def test_another_conversation_retransmits_what_was_posted_while_we_were_out(
    chinwag_app: Any,
) -> None:
    retransmitted, told = await posted_while_out(chinwag_app)
    assert retransmitted == ["while in", "while out", "back again"]
    assert sorted(told) == sorted(retransmitted)
