"""The Conversations API's conversations end to end (conversations-api.md sections 3 and
4): the app as a process on its own bus, the other people slixmpp clients on the rig's
Prosody. CreateConversation (a room configured as the spec says, its participants
invited; a direct one made once), the look-ups, the refusals by name and code, the
objects' lifetime (exported when first returned, gone once their holder leaves the bus),
an occupant's message arriving as OnSendMessage with the uuid of the spec's formula,
RetransmitEvents giving what the signals carried, and OpenWindow giving the window a
person uses."""

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

from rig.app import ApiError
from rig.conversations import direct_uuid, plain, refused, room_uuid
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
PATH_PREFIX = "/im/chinwag/Chinwag/conversation/"
ERROR = "im.chinwag.Error.Messaging."
NS_CONFERENCE = "jabber:x:conference"
NS_SID = "urn:xmpp:sid:0"
TIMEOUT = 30.0


async def conversations(client: Any, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return body[0] if len(body) == 1 else body


def invitations(peer: XmppPeer) -> asyncio.Queue[str]:
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


async def own_reflection(peer: XmppPeer, text: str) -> Any:
    while True:
        message = await peer.next_message(timeout=TIMEOUT)
        if message["type"] == "groupchat" and message["body"] == text:
            return message


async def test_a_group_conversation_its_events_and_their_retransmission(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    me = chinwag_app.jid
    assert await client.get(ROOT, CONVERSATIONS, "Me") == me
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        invited = invitations(bob)
        config = {
            "title": Variant("s", "Plans"),
            "public_join": Variant("b", True),
            "custom_data": Variant("s", '{"colour": "blue"}'),
            "participants": Variant("aa{sv}", [{"user": Variant("s", bob.jid)}]),
        }
        seen = len(signals.items)
        path = await conversations(client, "CreateConversation", "a{sv}", config)
        assert path.startswith(PATH_PREFIX)
        props = await client.get_all(path, CONVERSATION)
        room = props["Address"]
        assert props["Uuid"] == room_uuid(room)
        assert props["Title"] == "Plans"
        assert props["Direct"] is False
        assert props["PublicJoin"] is True
        assert props["Uber"] is False
        assert json.loads(props["CustomData"]) == {"colour": "blue"}
        people = {plain(p)["user"]: plain(p) for p in props["Participants"]}
        assert people[me]["is_owner"] is True
        assert people[me]["can_manage_participants"] is True
        assert people[bob.jid]["is_owner"] is False
        assert people[bob.jid]["can_write"] is True
        assert people[bob.jid]["last_read_sequence"] == 0
        assert await asyncio.wait_for(invited.get(), TIMEOUT) == room

        created = await signals.wait_for("OnCreateConversation", after=seen)
        assert created[0] == path
        assert plain(created[1])["action"] == "createConversation"
        assert plain(created[1])["user"] == me

        # Listed, found by uuid (the same object), public.
        uuid = props["Uuid"]
        assert await conversations(client, "GetConversation", "s", uuid) == path
        assert await conversations(client, "GetConversations", "as", [uuid]) == [path]
        assert uuid in await conversations(client, "GetPublicConversations")
        assert path in await conversations(client, "ListConversations")
        assert await conversations(client, "RecreateConversation", "s", uuid) == path

        # Bob comes in and says something: OnSendMessage with the room's stanza id.
        await join(bob, room, "bob")
        seen = len(signals.items)
        bob.client.send_message(mto=JID(room), mbody="hello all", mtype="groupchat")
        reflected = await own_reflection(bob, "hello all")
        sid = next(
            e.get("id")
            for e in reflected.xml.findall(f"{{{NS_SID}}}stanza-id")
            if e.get("by") == room
        )
        said = await signals.wait_for(
            "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "hello all", after=seen
        )
        event = plain(said[1])
        assert said[0] == path
        assert event["action"] == "sendMessage"
        assert event["user"] == bob.jid
        assert event["message"]["uuid"] == str(
            uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?stanza-id={sid}")
        )
        assert event["message"]["conversation"] == uuid
        assert event["message"]["sequence"] == event["sequence"]

        # What the signals carried, again from the log.
        last = await client.get(path, CONVERSATION, "LastSequence")
        assert last >= event["sequence"]
        carried = [
            plain(body[1])
            for member, body in signals.items
            if member.startswith("On")
            and isinstance(body, list)
            and len(body) == 2
            and body[0] == path
            and "sequence" in plain(body[1])
            and plain(body[1])["action"] != "read"
        ]
        again = plain(
            (await client.call(path, CONVERSATION, "RetransmitEvents", "xx", [1, last]))[0]
        )
        assert again == carried
        assert [e["sequence"] for e in again] == list(range(1, last + 1))

        # Refusals of retransmission.
        call = client.call
        await refused(
            28, "FromGreaterThanTo", call(path, CONVERSATION, "RetransmitEvents", "xx", [2, 1])
        )
        await refused(
            22,
            "RequestedNumberTooBig",
            call(path, CONVERSATION, "RetransmitEvents", "xx", [1, 101]),
        )
        await refused(
            24,
            "WrongSequenceArgument",
            call(path, CONVERSATION, "RetransmitEvents", "xx", [1, last + 1]),
        )
        await refused(
            21,
            "RequestedNumberTooBigOr0",
            call(path, CONVERSATION, "RetransmitEventsFrom", "xu", [1, 0]),
        )
        assert plain(
            (await call(path, CONVERSATION, "RetransmitEventsTo", "xu", [last, 1]))[0]
        ) == [carried[-1]]

        # Leaving: an event, and again from the log.
        seen = len(signals.items)
        assert await conversations(client, "LeaveConversation", "s", uuid) == 0
        left = await signals.wait_for("OnEditConversation", after=seen)
        assert left[0] == path
        assert plain(left[1])["action"] == "leaveConversation"
        end = await client.get(path, CONVERSATION, "LastSequence")
        assert plain((await call(path, CONVERSATION, "RetransmitEventsTo", "xu", [end, 1]))[0]) == [
            plain(left[1])
        ]


async def test_direct_conversations_refusals_and_the_window(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    prosody = chinwag_app.prosody
    me = chinwag_app.jid
    peer, _password = prosody.make_user("dana")
    participants = Variant("aa{sv}", [{"user": Variant("s", peer)}])
    path = await conversations(
        client,
        "CreateConversation",
        "a{sv}",
        {"direct": Variant("b", True), "participants": participants},
    )
    again = await conversations(
        client,
        "CreateConversation",
        "a{sv}",
        {"direct": Variant("b", True), "participants": participants},
    )
    assert again == path
    props = await client.get_all(path, CONVERSATION)
    assert props["Uuid"] == direct_uuid(me, peer)
    assert props["Address"] == peer
    assert props["Direct"] is True
    assert [plain(p)["user"] for p in props["Participants"]] == [me, peer]

    two = Variant("aa{sv}", [{"user": Variant("s", peer)}, {"user": Variant("s", "x@localhost")}])
    create = "CreateConversation"
    await refused(
        35,
        "NumberOfUsersInDirect",
        conversations(client, create, "a{sv}", {"direct": Variant("b", True), "participants": two}),
    )
    await refused(
        34,
        "DirectCannotBePublicOrUber",
        conversations(
            client,
            create,
            "a{sv}",
            {
                "direct": Variant("b", True),
                "uber": Variant("b", True),
                "participants": participants,
            },
        ),
    )
    await refused(
        23,
        "MessageSizeExceedsLimit",
        conversations(client, create, "a{sv}", {"title": Variant("s", "x" * 5001)}),
    )
    await refused(
        8,
        "ConversationDoesNotExist",
        conversations(client, "GetConversation", "s", str(uuids.uuid4())),
    )
    await refused(
        8,
        "ConversationDoesNotExist",
        conversations(client, "RecreateConversation", "s", str(uuids.uuid4())),
    )
    await refused(
        40,
        "LeavingDirectNotAllowed",
        conversations(client, "LeaveConversation", "s", props["Uuid"]),
    )
    await refused(
        39,
        "EditingParticipantsInDirect",
        conversations(client, "JoinConversation", "s", props["Uuid"]),
    )
    await refused(
        24,
        "WrongSequenceArgument",
        client.call(path, CONVERSATION, "RetransmitEvents", "xx", [1, 1]),
    )
    await refused(
        23,
        "MessageSizeExceedsLimit",
        client.call(path, CONVERSATION, "SendMessage", "ss", ["x" * 5001, "[]"]),
    )

    # OpenWindow: the window a person uses, the one InstantMessage gives.
    hr, window = await client.call(path, CONVERSATION, "OpenWindow")
    assert hr == 0
    assert await client.messenger("InstantMessage", "v", Variant("s", peer)) == [0, window]
    assert await client.call(window, "im.chinwag.Window1", "Close") == [0]


async def test_a_conversation_object_is_exported_when_returned_and_goes_with_its_holder(
    chinwag_app: Any,
) -> None:
    watcher = await chinwag_app.client()
    holder = await chinwag_app.client()
    peer, _password = chinwag_app.prosody.make_user("erin")
    uuid = direct_uuid(chinwag_app.jid, peer)
    await refused(
        8, "ConversationDoesNotExist", conversations(holder, "GetConversation", "s", uuid)
    )
    participants = Variant("aa{sv}", [{"user": Variant("s", peer)}])
    path = await conversations(
        holder,
        "CreateConversation",
        "a{sv}",
        {"direct": Variant("b", True), "participants": participants},
    )
    # Numbers are not given ahead: the next one is not there.
    n = int(path.rpartition("/")[2])
    with pytest.raises(ApiError) as info:
        await watcher.get(f"{PATH_PREFIX}{n + 1}", CONVERSATION, "Uuid")
    assert info.value.name == "org.freedesktop.DBus.Error.UnknownObject"

    assert await watcher.get(path, CONVERSATION, "Uuid") == uuid  # (reading holds nothing)
    await holder.close()

    async def gone() -> bool:
        try:
            await watcher.get(path, CONVERSATION, "Uuid")
        except ApiError as exc:
            return exc.name == "org.freedesktop.DBus.Error.UnknownObject"
        return False

    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await gone():
        assert asyncio.get_running_loop().time() < deadline, "the object outlived its holder"
        await asyncio.sleep(0.05)
    # Asked for again: the same path (one per conversation for the run), held anew.
    assert await conversations(watcher, "GetConversation", "s", uuid) == path
    assert await watcher.get(path, CONVERSATION, "Address") == peer


async def test_a_signal_exports_the_conversation_it_names(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    async with XmppPeer(prosody, *prosody.make_user("fay")) as fay:
        seen = len(signals.items)
        fay.send_chat(chinwag_app.jid, "hello app")
        said = await signals.wait_for(
            "OnSendMessage", lambda b: plain(b[1])["message"]["text"] == "hello app", after=seen
        )
    path = said[0]
    assert path.startswith(PATH_PREFIX)
    assert await client.get(path, CONVERSATION, "Address") == fay.jid
    assert await client.get(path, CONVERSATION, "Uuid") == direct_uuid(chinwag_app.jid, fay.jid)
    event = plain(said[1])
    assert event["user"] == fay.jid
    assert event["sequence"] == 1
    again = await client.call(path, CONVERSATION, "RetransmitEvents", "xx", [1, 1])
    assert plain(again[0]) == [event]
    # A method returning it gives the same path.
    assert (
        await conversations(client, "GetConversation", "s", event["message"]["conversation"])
        == path
    )
