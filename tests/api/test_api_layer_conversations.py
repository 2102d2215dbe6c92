"""The Conversations API's conversations, without D-Bus (conversations-api.md sections 3
and 4): CreateConversation (direct and group), look-ups, the events told to the fronts
and RetransmitEvents giving the very same dictionaries, and the refusals with their
codes."""

from __future__ import annotations

import ast
import asyncio
import json
import uuid as uuids
from typing import Any

import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.messaging_errors import MessagingError
from chinwag.core.models import (
    STATUS_CREATED,
    STATUS_SELF,
    Affiliation,
    ConversationKey,
    ConversationKind,
    DiscoIdentity,
    DiscoInfo,
    DiscoItem,
    Role,
    RoomPresence,
)

SERVICE = "conference.localhost"
CAROL = "carol@localhost"


def direct_uuid(a: str, b: str) -> str:  # the spec's formula, spelt out here
    low, high = sorted((a, b))
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{low}?chinwag-direct;with={high}"))


def events_of(rig: ApiLayerRig) -> list[tuple[ConversationKey, dict[str, Any]]]:
    return [(key, event) for key, event in rig.sink.named("conversation_event")]


async def refused(code: int, call: Any) -> MessagingError:
    with pytest.raises(MessagingError) as info:
        await call if asyncio.iscoroutine(call) else call()
    assert info.value.code == code, info.value
    return info.value


async def test_a_received_message_is_told_and_retransmitted_the_same(rig: ApiLayerRig) -> None:
    conversations = rig.api.conversations
    await rig.receive("hello", "again")
    key = ConversationKey(ME, BOB, ConversationKind.CHAT)
    told = [args for args in await _until(rig, 2) if args[1]["action"] == "sendMessage"]
    assert [k for k, _e in told] == [key, key]
    first = told[0][1]
    assert first["user"] == BOB
    assert first["sequence"] == 1
    assert first["message"]["text"] == "hello"
    assert first["message"]["conversation"] == direct_uuid(ME, BOB)
    assert first["message"]["payload"] == "[]"
    assert await conversations.retransmit(key, 1, 2) == [e for _k, e in told]
    assert await conversations.retransmit_from(key, 2, 100) == [told[1][1]]
    assert await conversations.retransmit_to(key, 2, 1) == [told[1][1]]
    assert conversations.times(key)[1] == 2


async def _until(rig: ApiLayerRig, count: int) -> list[tuple[Any, ...]]:
    """The conversation events told, once there are at least ``count``."""
    await rig.sink.wait_for(
        "conversation_event", lambda _a: len(rig.sink.named("conversation_event")) >= count
    )
    return rig.sink.named("conversation_event")


async def test_retransmission_refusals(rig: ApiLayerRig) -> None:
    conversations = rig.api.conversations
    await rig.receive("one", "two", "three")
    key = ConversationKey(ME, BOB, ConversationKind.CHAT)
    await refused(28, conversations.retransmit(key, 3, 2))
    await refused(22, conversations.retransmit(key, 1, 101))
    await refused(24, conversations.retransmit(key, 2, 4))
    await refused(24, conversations.retransmit(key, 0, 1))
    await refused(21, conversations.retransmit_from(key, 1, 0))
    await refused(21, conversations.retransmit_to(key, 3, 101))
    await refused(24, conversations.retransmit_from(key, 4, 1))
    assert [e["sequence"] for e in await conversations.retransmit_to(key, 3, 100)] == [1, 2, 3]


async def test_a_direct_conversation_is_made_once_and_found_by_its_uuid(rig: ApiLayerRig) -> None:
    conversations = rig.api.conversations
    key = await conversations.create({"direct": True, "participants": [{"user": BOB}]})
    assert key == ConversationKey(ME, BOB, ConversationKind.CHAT)
    again = await conversations.create(
        {"direct": True, "participants": [{"user": ME}, {"user": BOB + "/phone"}]}
    )
    assert again == key
    assert conversations.uuid(key) == direct_uuid(ME, BOB)
    assert conversations.list_conversations() == [key]
    assert conversations.recreate(direct_uuid(ME, BOB)) == key
    assert await conversations.get(direct_uuid(ME, BOB)) == key
    people = conversations.participants(key)
    assert [p["user"] for p in people] == [ME, BOB]
    assert people[1]["can_write"]
    assert not people[1]["can_edit_all_messages"]
    assert people[1]["last_read_sequence"] == 0


async def test_create_conversation_refusals(rig: ApiLayerRig) -> None:
    create = rig.api.conversations.create
    bob = [{"user": BOB}]
    await refused(34, create({"direct": True, "public_join": True, "participants": bob}))
    await refused(34, create({"direct": True, "uber": True, "participants": bob}))
    await refused(35, create({"direct": True, "participants": [*bob, {"user": CAROL}]}))
    await refused(35, create({"direct": True}))
    await refused(25, create({"direct": True, "participants": [{"user": "not an address@"}]}))
    await refused(25, create({"direct": True, "participants": [{"im_id": 999}]}))
    await refused(23, create({"title": "x" * 5001}))
    await refused(10001, create({"custom_data": "[1, 2]"}))
    await refused(10001, create({"title": 3}))
    await refused(10001, create({"colour": "blue"}))
    await refused(8, rig.api.conversations.get(str(uuids.uuid4())))
    await refused(8, lambda: rig.api.conversations.recreate(str(uuids.uuid4())))
    await refused(22, rig.api.conversations.get_many([str(uuids.uuid4())] * 31))
    # A server with no group chat service (the fake lists none).
    await refused(30, create({"title": "Plans", "participants": bob}))


async def test_leaving_or_joining_a_direct_conversation_is_refused(rig: ApiLayerRig) -> None:
    conversations = rig.api.conversations
    await conversations.create({"direct": True, "participants": [{"user": BOB}]})
    await refused(40, conversations.leave(direct_uuid(ME, BOB)))
    await refused(39, conversations.join(direct_uuid(ME, BOB)))


async def test_a_group_conversation_is_a_configured_room_with_its_participants(
    rig: ApiLayerRig,
) -> None:
    conn = rig.connection
    conn.items["localhost"] = [DiscoItem(SERVICE)]
    conn.disco[SERVICE] = DiscoInfo(SERVICE, (DiscoIdentity("conference", "text"),))
    conversations = rig.api.conversations
    joining: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    join_room = conn.join_room

    def join(room: str, nick: str, password: str = "", show: Any = None) -> None:
        join_room(room, nick, password)
        joining.set_result(room)

    conn.join_room = join  # type: ignore[method-assign]
    creating = asyncio.ensure_future(
        conversations.create(
            {
                "title": "Plans",
                "public_join": True,
                "custom_data": '{"colour": "blue"}',
                "participants": [
                    {"user": BOB, "can_manage_participants": True},
                    {"user": CAROL},
                ],
            }
        )
    )
    room = await asyncio.wait_for(joining, 10)
    assert room.endswith("@" + SERVICE)
    conn.listener.on_room_presence(
        RoomPresence(
            room,
            "Me",
            role=Role.MODERATOR,
            affiliation=Affiliation.OWNER,
            jid=ME,
            codes=frozenset({STATUS_SELF, STATUS_CREATED}),
        )
    )
    key = await asyncio.wait_for(creating, 10)
    assert key == ConversationKey(ME, room, ConversationKind.GROUPCHAT)
    configured = next(r for r in conn.room_requests if r[0] == "configure")
    fields = ast.literal_eval(configured[2])  # (the fake's repr of the fields)
    assert fields["muc#roomconfig_roomname"] == "Plans"
    assert fields["muc#roomconfig_publicroom"] == "1"
    assert fields["muc#roomconfig_membersonly"] == "0"
    assert fields["muc#roomconfig_persistentroom"] == "1"
    assert fields["muc#roomconfig_whois"] == "anyone"
    assert json.loads(fields["muc#roomconfig_roomdesc"]) == {
        "custom_data": {"colour": "blue"},
        "uber": False,
    }
    affiliations = {(r[2], r[3]) for r in conn.room_requests if r[0] == "affiliation"}
    assert affiliations == {(BOB, "admin"), (CAROL, "member")}
    assert conversations.title(key) == "Plans"
    assert conversations.public_join(key)
    assert conversations.custom_data(key) == '{"colour":"blue"}'
    people = {p["user"]: p for p in conversations.participants(key)}
    assert people[ME]["is_owner"]
    assert people[ME]["can_manage_participants"]
    assert people[BOB]["can_manage_participants"]
    assert not people[BOB]["is_owner"]
    assert not people[CAROL]["can_manage_participants"]
    # The user's conversation: bookmarked to be entered again after a restart.
    assert conn.bookmarks[room].autojoin
    assert conn.bookmarks[room].name == "Plans"

    # The log: created, then the participants added, told as they were written.
    await rig.core.conversations.drain()
    told = await _until(rig, 2)
    actions = [e["action"] for k, e in told if k == key]
    assert actions == ["createConversation", "addParticipants"]
    assert [e for k, e in told if k == key] == await conversations.retransmit(key, 1, 2)
    assert told[1][1]["users"] == [BOB, CAROL]

    # Leaving: logged once (a second leave is no news).
    assert await conversations.leave(conversations.uuid(key)) == 0
    await rig.core.conversations.drain()
    events = await conversations.retransmit(key, 1, 3)
    assert events[2]["action"] == "leaveConversation"
    assert events[2]["user"] == ME
    # ... and no longer entered after a restart; the bookmark itself stays.
    assert not conn.bookmarks[room].autojoin
    assert conn.bookmarks[room].name == "Plans"


async def test_typing_and_read_are_told_without_being_logged(rig: ApiLayerRig) -> None:
    await rig.receive("hello")
    key = ConversationKey(ME, BOB, ConversationKind.CHAT)
    told = len(await _until(rig, 1))
    rig.connection.listener.on_chat_state(BOB, "paused")
    rig.connection.listener.on_chat_state(BOB, "composing")
    typing = await rig.sink.wait_for("conversation_event", lambda a: a[1]["action"] == "typing")
    assert typing == (key, {"action": "typing", "user": BOB, "im_user_id": 1})
    assert len(rig.sink.named("conversation_event")) == told + 1  # (paused is not typing)
    message = rig.core.store.latest(key, 1)[0]
    await rig.core.conversations.read_up_to(key, BOB, message)
    read = await rig.sink.wait_for("conversation_event", lambda a: a[1]["action"] == "read")
    assert read == (key, {"action": "read", "user": BOB, "im_user_id": 1, "sequence": 1})
    assert rig.api.conversations.times(key)[1] == 1  # neither is in the log
    assert rig.api.conversations.participants(key)[1]["last_read_sequence"] == 1
