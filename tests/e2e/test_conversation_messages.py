"""Conversation1's message and participant operations end to end (conversations-api.md
section 4): the app as a process on its own bus, the other people slixmpp clients on
the rig's Prosody. SendMessage with a payload (XEP-0335 JSON at the occupant), the uuid
of our own room message (the room's stanza id's: the same in SendMessage's answer, in
OnSendMessage, in RetransmitEvents and at an occupant), EditMessage and RemoveMessage of
our own and of an occupant's message, Typing, MarkAsRead, the participants and Update,
with their refusals by name and code."""

from __future__ import annotations

import asyncio
import json
import uuid as uuids
from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from rig.conversations import message_uuid_direct, message_uuid_in_room, plain, refused, room_uuid
from rig.muc import make_room, room_name
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
ERROR = "im.chinwag.Error.Messaging."
NS_SID = "urn:xmpp:sid:0"
NS_JSON = "urn:xmpp:json:0"
NS_CORRECT = "urn:xmpp:message-correct:0"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
TIMEOUT = 30.0


async def conversations(client: Any, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return body[0] if len(body) == 1 else body


async def on(client: Any, path: str, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(path, CONVERSATION, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def join(peer: XmppPeer, room: str, nick: str) -> None:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


async def received(peer: XmppPeer, match: Any) -> Any:
    """The next message stanza ``peer`` receives that ``match`` accepts."""
    while True:
        stanza = await peer.next_message(timeout=TIMEOUT)
        if match(stanza):
            return stanza


def composing(peer: XmppPeer) -> asyncio.Queue[str]:
    """Who ``peer`` is told is composing (slixmpp's message event needs a body)."""
    found: asyncio.Queue[str] = asyncio.Queue()

    def got(stanza: Any) -> None:
        if stanza.xml.find(f"{{{NS_CHATSTATES}}}composing") is not None:
            found.put_nowait(str(stanza["from"]))

    peer.client.register_handler(
        Callback("test: composing", MatchXPath("{jabber:client}message"), got)
    )
    return found


def room_stanza_id(stanza: Any, room: str) -> str:
    return next(
        str(e.get("id"))
        for e in stanza.xml.findall(f"{{{NS_SID}}}stanza-id")
        if e.get("by") == room
    )


def text_of(stanza: Any) -> str:
    return str(stanza["body"])


def participant(user: str, **flags: bool) -> dict[str, Variant]:
    given = {"user": Variant("s", user)}
    given.update({name: Variant("b", value) for name, value in flags.items()})
    return given


async def test_messages_in_a_room_ours_and_an_occupants(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    me = chinwag_app.jid
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        path = await conversations(
            client,
            "CreateConversation",
            "a{sv}",
            {
                "title": Variant("s", "Room"),
                "participants": Variant("aa{sv}", [participant(bob.jid)]),
            },
        )
        room = await client.get(path, CONVERSATION, "Address")
        await join(bob, room, "bob")

        # SendMessage with a payload: the occupant gets the text and the JSON; the uuid is
        # the room's stanza id's, in the answer, the signal, the log and at the occupant.
        seen = len(signals.items)
        sent = await on(client, path, "SendMessage", "ss", "hello room", '[{"card": 1}]')
        at_bob = await received(
            bob, lambda m: m["type"] == "groupchat" and text_of(m) == "hello room"
        )
        container = at_bob.xml.find(f"{{{NS_JSON}}}json")
        assert container is not None
        assert json.loads(container.text) == [{"card": 1}]
        stanza_id = room_stanza_id(at_bob, room)
        assert sent["action"] == "sendMessage"
        assert sent["user"] == me
        me_as_user = plain(await conversations(client, "GetUserByName", "s", me))
        assert sent["im_user_id"] == me_as_user["im_id"]
        assert sent["message"]["uuid"] == message_uuid_in_room(room, stanza_id)
        assert sent["message"]["conversation"] == room_uuid(room)
        assert sent["message"]["text"] == "hello room"
        assert json.loads(sent["message"]["payload"]) == [{"card": 1}]
        told = await signals.wait_for(
            "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "hello room", after=seen
        )
        assert told[0] == path
        assert plain(told[1]) == sent
        assert len([b for b in signals.named("OnSendMessage")[0:] if b[0] == path]) == 1
        again = await on(client, path, "RetransmitEvents", "xx", sent["sequence"], sent["sequence"])
        assert again == [sent]

        # EditMessage of our own: the occupant gets the correction; the uuid is kept.
        seen = len(signals.items)
        edited = await on(
            client,
            path,
            "EditMessage",
            "sa{sv}",
            sent["message"]["uuid"],
            {"text": Variant("s", "hello all")},
        )
        assert edited["action"] == "editMessage"
        assert edited["message"]["uuid"] == sent["message"]["uuid"]
        assert edited["message"]["text"] == "hello all"
        assert json.loads(edited["message"]["payload"]) == [{"card": 1}]  # (kept)
        correction = await received(
            bob, lambda m: m["type"] == "groupchat" and text_of(m) == "hello all"
        )
        assert correction.xml.find(f"{{{NS_CORRECT}}}replace") is not None
        told = await signals.wait_for("OnEditMessage", after=seen)
        assert plain(told[1]) == edited

        # An occupant's message: not ours to edit (12); ours to remove as a moderator.
        seen = len(signals.items)
        bob.client.send_message(mto=JID(room), mbody="from bob", mtype="groupchat")
        bobs = plain(
            (
                await signals.wait_for(
                    "OnSendMessage",
                    lambda b: plain(b[1])["message"]["text"] == "from bob",
                    after=seen,
                )
            )[1]
        )
        assert bobs["user"] == bob.jid
        await refused(
            12,
            "Acl",
            on(
                client,
                path,
                "EditMessage",
                "sa{sv}",
                bobs["message"]["uuid"],
                {"text": Variant("s", "mine")},
            ),
        )
        removed = await on(client, path, "RemoveMessage", "s", bobs["message"]["uuid"])
        assert removed["action"] == "removeMessage"
        assert removed["message"]["uuid"] == bobs["message"]["uuid"]
        await refused(
            11, "MessageDeleted", on(client, path, "RemoveMessage", "s", bobs["message"]["uuid"])
        )

        # RemoveMessage of our own; then it is a tombstone (11); an unknown uuid is 10.
        mine = sent["message"]["uuid"]
        gone = await on(client, path, "RemoveMessage", "s", mine)
        assert gone["action"] == "removeMessage"
        assert gone["message"]["uuid"] == mine
        await refused(11, "MessageDeleted", on(client, path, "RemoveMessage", "s", mine))
        await refused(
            11,
            "MessageDeleted",
            on(client, path, "EditMessage", "sa{sv}", mine, {"text": Variant("s", "again")}),
        )
        await refused(
            10, "MessageDoesNotExist", on(client, path, "RemoveMessage", "s", str(uuids.uuid4()))
        )
        await refused(
            23, "MessageSizeExceedsLimit", on(client, path, "SendMessage", "ss", "x" * 5001, "")
        )
        await refused(
            10001, "InvalidArguments", on(client, path, "SendMessage", "ss", "hi", "not json")
        )
        await refused(
            10001, "InvalidArguments", on(client, path, "SendMessage", "ss", "hi", '{"a": 1}')
        )

        # Typing: composing at the occupant; a second within 10 s is discarded.
        typing = composing(bob)
        assert await on(client, path, "Typing") == 0
        assert (await asyncio.wait_for(typing.get(), TIMEOUT)).startswith(room + "/")
        await refused(10000, "MethodCallDiscarded", on(client, path, "Typing"))

        # MarkAsRead: beyond the last is 24; up to the last fires OnRead.
        last = await client.get(path, CONVERSATION, "LastSequence")
        await refused(24, "WrongSequenceArgument", on(client, path, "MarkAsRead", "x", last + 1))
        seen = len(signals.items)
        assert await on(client, path, "MarkAsRead", "x", last) == 0
        read = plain((await signals.wait_for("OnRead", lambda b: b[0] == path, after=seen))[1])
        assert read["action"] == "read"
        assert read["user"] == me
        assert read["sequence"] == last


async def test_our_room_messages_uuid_is_the_same_everywhere(chinwag_app: Any) -> None:
    """The defect: the uuid of our own room message came from our own id until the room
    reflected it, so SendMessage and OnSendMessage gave one that RetransmitEvents later
    did not."""
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("cleo")) as cleo:
        path = await conversations(
            client,
            "CreateConversation",
            "a{sv}",
            {"participants": Variant("aa{sv}", [participant(cleo.jid)])},
        )
        room = await client.get(path, CONVERSATION, "Address")
        await join(cleo, room, "cleo")
        seen = len(signals.items)
        sent = await on(client, path, "SendMessage", "ss", "one uuid", "")
        at_cleo = await received(
            cleo, lambda m: m["type"] == "groupchat" and text_of(m) == "one uuid"
        )
        computed = message_uuid_in_room(room, room_stanza_id(at_cleo, room))
        told = await signals.wait_for(
            "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "one uuid", after=seen
        )
        logged = await on(
            client, path, "RetransmitEvents", "xx", sent["sequence"], sent["sequence"]
        )
        assert sent["message"]["uuid"] == computed
        assert plain(told[1])["message"]["uuid"] == computed
        assert logged[0]["message"]["uuid"] == computed
        # Found by it: edited by the uuid everyone knows.
        edited = await on(
            client, path, "EditMessage", "sa{sv}", computed, {"payload": Variant("s", '[{"n": 2}]')}
        )
        assert edited["message"]["uuid"] == computed
        assert edited["message"]["text"] == "one uuid"


async def test_participants_update_and_a_direct_conversation(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    me = chinwag_app.jid
    carol, _password = prosody.make_user("carol")
    async with XmppPeer(prosody, *prosody.make_user("dave")) as dave:
        # Dave writes to us first: his IM id (the author of a logged event).
        seen = len(signals.items)
        dave.send_chat(me, "hi there")
        said = await signals.wait_for(
            "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "hi there", after=seen
        )
        direct, daves = said[0], plain(said[1])
        dave_id = daves["im_user_id"]
        assert dave_id > 0

        # A direct conversation: SendMessage with a payload; no participants' changes.
        sent = await on(client, direct, "SendMessage", "ss", "back to you", '[{"x": true}]')
        at_dave = await received(dave, lambda m: text_of(m) == "back to you")
        container = at_dave.xml.find(f"{{{NS_JSON}}}json")
        assert container is not None
        assert json.loads(container.text) == [{"x": True}]
        origin = at_dave.xml.find("{urn:xmpp:sid:0}origin-id")
        origin_id = origin.get("id") if origin is not None else at_dave["id"]
        assert sent["message"]["uuid"] == message_uuid_direct(me, origin_id)
        await refused(12, "Acl", on(client, direct, "RemoveMessage", "s", daves["message"]["uuid"]))
        await refused(
            37,
            "AddingToDirect",
            on(client, direct, "AddParticipants", "aa{sv}", [participant(carol)]),
        )
        await refused(
            39,
            "EditingParticipantsInDirect",
            on(client, direct, "EditParticipants", "aa{sv}", [participant(dave.jid)]),
        )
        await refused(
            38, "RemovingFromDirect", on(client, direct, "RemoveParticipants", "as", [dave.jid])
        )
        await refused(
            12, "Acl", on(client, direct, "Update", "a{sv}", {"title": Variant("s", "no")})
        )

    # A group conversation of ours.
    path = await conversations(
        client, "CreateConversation", "a{sv}", {"title": Variant("s", "Team")}
    )
    seen = len(signals.items)
    added = await on(client, path, "AddParticipants", "aa{sv}", [{"im_id": Variant("x", dave_id)}])
    assert added["action"] == "addParticipants"
    assert added["user"] == me
    assert added["users"] == [dave.jid]
    told = await signals.wait_for(
        "OnEditConversation", lambda b: plain(b[1])["action"] == "addParticipants", after=seen
    )
    assert told[0] == path
    assert plain(told[1]) == added
    assert await on(
        client, path, "RetransmitEvents", "xx", added["sequence"], added["sequence"]
    ) == [added]
    await refused(
        13,
        "AlreadyInParticipantsList",
        on(client, path, "AddParticipants", "aa{sv}", [participant(dave.jid)]),
    )
    await refused(
        25,
        "UserNotFound",
        on(client, path, "AddParticipants", "aa{sv}", [{"im_id": Variant("x", 987654321)}]),
    )
    await refused(
        12,
        "Acl",
        on(
            client,
            path,
            "AddParticipants",
            "aa{sv}",
            [participant(carol, can_edit_all_messages=True)],
        ),
    )
    await refused(
        19,
        "UserIsNotInTheParticipantList",
        on(client, path, "EditParticipants", "aa{sv}", [participant(carol)]),
    )
    edited = await on(
        client,
        path,
        "EditParticipants",
        "aa{sv}",
        [participant(dave.jid, can_manage_participants=True)],
    )
    assert edited["action"] == "editParticipants"
    assert edited["users"] == [dave.jid]
    removed = await on(client, path, "RemoveParticipants", "as", [dave.jid])
    assert removed["action"] == "removeParticipants"
    assert removed["users"] == [dave.jid]
    await refused(
        19,
        "UserIsNotInTheParticipantList",
        on(client, path, "RemoveParticipants", "as", [dave.jid]),
    )

    # Update: the title (a property now), an event; its refusals.
    seen = len(signals.items)
    updated = await on(client, path, "Update", "a{sv}", {"title": Variant("s", "Team two")})
    assert updated["action"] == "editConversation"
    assert updated["user"] == me
    told = await signals.wait_for(
        "OnEditConversation", lambda b: plain(b[1])["action"] == "editConversation", after=seen
    )
    assert plain(told[1]) == updated
    assert await client.get(path, CONVERSATION, "Title") == "Team two"
    await refused(
        23,
        "MessageSizeExceedsLimit",
        on(client, path, "Update", "a{sv}", {"title": Variant("s", "x" * 5001)}),
    )
    await refused(
        10001,
        "InvalidArguments",
        on(client, path, "Update", "a{sv}", {"colour": Variant("s", "red")}),
    )


async def test_in_someone_elses_room_we_manage_nothing(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("erin")) as erin:
        room = room_name(prosody)
        await make_room(
            erin,
            room,
            "erin",
            {
                "muc#roomconfig_publicroom": "1",
                "muc#roomconfig_membersonly": "0",
                "muc#roomconfig_whois": "anyone",
                "muc#roomconfig_persistentroom": "1",
            },
        )
        path = await conversations(client, "JoinConversation", "s", room_uuid(room))
        seen = len(signals.items)
        erin.client.send_message(mto=JID(room), mbody="erin's", mtype="groupchat")
        erins = plain(
            (
                await signals.wait_for(
                    "OnSendMessage",
                    lambda b: plain(b[1])["message"]["text"] == "erin's",
                    after=seen,
                )
            )[1]
        )
        uuid = erins["message"]["uuid"]
        await refused(
            12, "Acl", on(client, path, "EditMessage", "sa{sv}", uuid, {"text": Variant("s", "x")})
        )
        await refused(12, "Acl", on(client, path, "RemoveMessage", "s", uuid))  # no moderator
        await refused(
            12, "Acl", on(client, path, "Update", "a{sv}", {"title": Variant("s", "mine")})
        )
        await refused(
            12,
            "Acl",
            on(client, path, "AddParticipants", "aa{sv}", [participant(erin.jid)]),
        )
        # Our own message there: edited and removed by us.
        sent = await on(client, path, "SendMessage", "ss", "a guest's", "")
        await on(
            client,
            path,
            "EditMessage",
            "sa{sv}",
            sent["message"]["uuid"],
            {"text": Variant("s", "a guest's!")},
        )
        gone = await on(client, path, "RemoveMessage", "s", sent["message"]["uuid"])
        assert gone["message"]["uuid"] == sent["message"]["uuid"]
