"""The API layer, Conversation1's message and participant operations
(conversations-api.md section 4), called directly over a core with a scripted
connection: payloads, edits and removals of direct conversations, Typing's limit,
MarkAsRead, and every refusal that needs no room."""

from __future__ import annotations

import json
from collections.abc import Awaitable

import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.conversation_ops import ConversationOps
from chinwag.api.messaging_errors import MessagingError
from chinwag.core.events import ReadPositionChanged
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    EventKind,
    Message,
    MessageState,
    direct_message_uuid,
)

DIRECT = ConversationKey(ME, BOB)
ROOM = ConversationKey(ME, "room@conference.localhost", ConversationKind.GROUPCHAT)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def refused(code: int, call: Awaitable[object]) -> MessagingError:
    with pytest.raises(MessagingError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


def ops(rig: ApiLayerRig, clock: Clock | None = None) -> ConversationOps:
    return ConversationOps(rig.api, clock or Clock())


async def test_a_message_with_a_payload_is_stored_and_sent_with_it(rig: ApiLayerRig) -> None:
    sent = await ops(rig).send_message(DIRECT, "hi", '[{"kind": "card", "n": 1}]')
    assert sent.payload == '[{"kind":"card","n":1}]'
    assert sent.sequence == 1
    assert sent.uuid == direct_message_uuid(ME, sent.uid)
    (out,) = rig.connection.sent
    assert (out.body, out.payload) == ("hi", sent.payload)
    stored = rig.core.store.get_by_uuid(DIRECT, sent.uuid)
    assert stored is not None
    assert stored.payload == sent.payload
    # No payload ("" or an empty array): none is carried.
    plain = await ops(rig).send_message(DIRECT, "plain", "[]")
    assert plain.payload == ""


@pytest.mark.parametrize("payload", ["{}", "[1]", '[{"a": 1}, "x"]', "not json", '{"a": [{}]}'])
async def test_a_payload_that_is_no_array_of_objects_is_invalid(
    rig: ApiLayerRig, payload: str
) -> None:
    await refused(10001, ops(rig).send_message(DIRECT, "hi", payload))
    assert rig.connection.sent == []


async def test_text_over_5000_characters_is_23(rig: ApiLayerRig) -> None:
    await ops(rig).send_message(DIRECT, "x" * 5000, "")
    await refused(23, ops(rig).send_message(DIRECT, "x" * 5001, ""))
    sent = rig.connection.sent[0]
    await refused(23, ops(rig).edit_message(DIRECT, sent.uuid, "y" * 5001, None))
    assert len(rig.connection.sent) == 1


async def test_not_signed_in_is_10003(offline_rig: ApiLayerRig) -> None:
    await refused(10003, ops(offline_rig).send_message(DIRECT, "hi", ""))


async def test_editing_our_message_corrects_it_with_its_first_id(rig: ApiLayerRig) -> None:
    conv = ops(rig)
    sent = await conv.send_message(DIRECT, "helo", '[{"v": 1}]')
    outcome = await conv.edit_message(DIRECT, sent.uuid, "hello", None)
    assert outcome.target is not None
    assert (outcome.target.body, outcome.target.payload) == ("hello", '[{"v":1}]')
    assert outcome.target.uuid == sent.uuid  # an edit keeps the uuid
    assert outcome.sequence == 2
    # The payload alone, the text kept; every correction names the first id.
    again = await conv.edit_message(DIRECT, sent.uuid, None, '[{"v": 2}]')
    assert again.target is not None
    assert (again.target.body, again.target.payload) == ("hello", '[{"v":2}]')
    corrections = rig.connection.sent[1:]
    assert [(c.replaces, c.body, c.payload) for c in corrections] == [
        (sent.uid, "hello", '[{"v":1}]'),
        (sent.uid, "hello", '[{"v":2}]'),
    ]
    events = rig.core.conversations.events(DIRECT, 0)
    assert [e.kind for e in events] == [EventKind.MESSAGE, EventKind.EDIT, EventKind.EDIT]
    assert json.loads(events[2].data)["payload"] == '[{"v":2}]'


async def test_edit_and_remove_refusals(rig: ApiLayerRig) -> None:
    conv = ops(rig)
    await rig.receive("from bob")
    (theirs,) = rig.core.store.latest(DIRECT, 1)
    await refused(12, conv.edit_message(DIRECT, theirs.uuid, "mine now", None))
    await refused(12, conv.remove_message(DIRECT, theirs.uuid))  # no moderation in a direct one
    await refused(10, conv.edit_message(DIRECT, "no-such-uuid", "x", None))
    await refused(10, conv.remove_message(DIRECT, "no-such-uuid"))
    await refused(10001, conv.edit_message(DIRECT, "", "x", None))

    sent = await conv.send_message(DIRECT, "oops", "")
    outcome = await conv.remove_message(DIRECT, sent.uuid)
    assert outcome.target is not None
    assert outcome.target.removed
    assert rig.connection.sent[-1].retracts == sent.uid
    await refused(11, conv.edit_message(DIRECT, sent.uuid, "again", None))
    await refused(11, conv.remove_message(DIRECT, sent.uuid))
    await refused(10001, conv.edit_message(DIRECT, theirs.uuid, None, "{}"))


async def test_typing_goes_out_at_most_once_per_10_seconds(rig: ApiLayerRig) -> None:
    clock = Clock()
    conv = ops(rig, clock)
    conv.typing(DIRECT)
    assert rig.connection.chat_states == [(BOB, "composing")]
    clock.now += 9.9
    with pytest.raises(MessagingError) as info:
        conv.typing(DIRECT)
    assert info.value.code == 10000
    other = ConversationKey(ME, "carol@localhost")
    conv.typing(other)  # (per conversation)
    clock.now += 0.1
    conv.typing(DIRECT)
    assert rig.connection.chat_states == [
        (BOB, "composing"),
        ("carol@localhost", "composing"),
        (BOB, "composing"),
    ]


async def test_mark_as_read_moves_our_position_and_sends_a_displayed_marker(
    rig: ApiLayerRig,
) -> None:
    conv = ops(rig)
    await rig.receive("one", "two", "three")
    one, two, three = rig.core.store.latest(DIRECT, 3)
    await refused(24, conv.mark_as_read(DIRECT, 4))
    await refused(24, conv.mark_as_read(DIRECT, 0))
    told: list[ReadPositionChanged] = []
    rig.core.bus.subscribe(ReadPositionChanged, told.append)

    assert await conv.mark_as_read(DIRECT, 2) == 2
    assert rig.connection.displayed == [(BOB, two.uid)]
    states = {m.uid: m.state for m in rig.core.store.latest(DIRECT, 3)}
    assert states == {
        one.uid: MessageState.DISPLAYED,
        two.uid: MessageState.DISPLAYED,
        three.uid: MessageState.RECEIVED,
    }
    assert [(e.participant, e.sequence) for e in told] == [(ME, 2)]
    assert rig.core.conversations.get(DIRECT).read_sequence == 2
    # Never back.
    assert await conv.mark_as_read(DIRECT, 1) == 2
    assert rig.connection.displayed == [(BOB, two.uid)]


async def test_a_direct_conversations_participants_cannot_change(rig: ApiLayerRig) -> None:
    conv = ops(rig)
    await refused(37, conv.add_participants(DIRECT, [{"user": "carol@localhost"}]))
    await refused(39, conv.edit_participants(DIRECT, [{"user": BOB, "can_write": False}]))
    await refused(38, conv.remove_participants(DIRECT, [BOB]))
    await refused(34, conv.update(DIRECT, {"public_join": True}))
    await refused(12, conv.update(DIRECT, {"title": "us"}))


async def test_participant_arguments_are_checked(rig: ApiLayerRig) -> None:
    conv = ops(rig)
    await refused(12, conv.add_participants(ROOM, [{"user": BOB, "can_edit_all_messages": True}]))
    await refused(10001, conv.add_participants(ROOM, [{"user": BOB, "is_owner": 1}]))
    await refused(10001, conv.add_participants(ROOM, [{"user": BOB, "colour": "red"}]))
    await refused(10001, conv.add_participants(ROOM, [{"is_owner": True}]))
    await refused(10001, conv.add_participants(ROOM, [{"user": "not an address@"}]))
    await refused(25, conv.add_participants(ROOM, [{"im_id": 7}]))
    conv.address_of_im_id = lambda im_id: BOB if im_id == 7 else None
    # Resolved, it is a room we are not in: 12.
    await refused(12, conv.add_participants(ROOM, [{"im_id": 7}]))
    await refused(12, conv.send_message(ROOM, "hi", ""))
    await refused(10001, conv.update(ROOM, {"custom_data": "[1]"}))
    await refused(10001, conv.update(ROOM, {"colour": "red"}))
    await refused(23, conv.update(ROOM, {"title": "t" * 5001}))
    await refused(12, conv.update(ROOM, {"title": "t"}))


def test_an_incoming_payload_is_read_from_its_json_container() -> None:
    # (the XMPP side: see tests/integration for the round trip)
    from slixmpp.stanza import Message as MessageStanza

    from chinwag.xmpp import json_payload

    stanza = MessageStanza()
    stanza["body"] = "hi"
    stanza.xml.append(stanza.xml.makeelement(json_payload.TAG, {}))
    stanza.xml[-1].text = ' [ {"a": 1} ] '
    message = Message(ME, BOB, Direction.INCOMING, "hi", 0.0)
    assert json_payload.read(stanza, message).payload == '[{"a":1}]'
    stanza.xml[-1].text = '{"a": 1}'
    assert json_payload.read(stanza, message).payload == ""
