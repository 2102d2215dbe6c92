"""The direct encoder of message parts (``chinwag.automation.wire``) writes exactly the
bytes dbus-next's marshaller writes for the same body built of variants, and a message
carrying them reads back as that body."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from dbus_next import Message, MessageType, Variant
from dbus_next._private.marshaller import Marshaller
from dbus_next._private.unmarshaller import Unmarshaller

from chinwag.automation.adapter import PART_SIGNATURES
from chinwag.automation.bus import marshall
from chinwag.automation.conversations import dictionary, events_body
from chinwag.automation.wire import DictsEncoder, EncodedBody, PartsEncoder, PlainDict

ENCODER = PartsEncoder(PART_SIGNATURES)

MESSAGES: list[list[dict[str, Any]]] = [
    [
        {
            "message-token": "abc",
            "message-type": 0,
            "message-sent": 1_700_000_000,
            "message-sender-id": "bob@example.org",
            "message-received": 1_700_000_001,
            "account": "/im/chinwag/Chinwag/account/1",
            "message-sequence": 1,
        },
        {"content-type": "text/plain", "content": "héllo wörld ✓ 𝄞"},
    ],
    [
        {
            "message-token": "abc.report.4",
            "message-type": 4,
            "delivery-status": 4,
            "delivery-token": "abc",
            "scrollback": True,
            "message-sequence": 2**40,
            "message-received": -5,
        }
    ],
    [{}],
    [{"scrollback": False, "content": ""}, {}, {"content": "x" * 1001}],
    [],
]


def variants(parts: list[dict[str, Any]]) -> list[dict[str, Variant]]:
    return [{k: Variant(PART_SIGNATURES[k], v) for k, v in part.items()} for part in parts]


def dbus_next_bytes(signature: str, body: list[Any]) -> bytes:
    marshaller = Marshaller(signature, body)
    marshaller.marshall()
    return bytes(marshaller.buffer)


@pytest.mark.parametrize("parts", MESSAGES, ids=range(len(MESSAGES)))
def test_one_message_is_byte_for_byte_dbus_nexts(parts: list[dict[str, Any]]) -> None:
    assert ENCODER.message(parts) == dbus_next_bytes("aa{sv}", [variants(parts)])


@pytest.mark.parametrize("count", [0, 1, 2, len(MESSAGES)])
def test_a_list_of_messages_is_byte_for_byte_dbus_nexts(count: int) -> None:
    chosen = MESSAGES[:count]
    expected = dbus_next_bytes("aaa{sv}", [[variants(p) for p in chosen]])
    assert ENCODER.messages(chosen) == expected


def test_a_message_with_an_encoded_body_reads_back_as_the_body() -> None:
    reply = Message(
        message_type=MessageType.METHOD_RETURN,
        reply_serial=7,
        destination=":1.42",
        signature="aaa{sv}",
        body=[EncodedBody("aaa{sv}", ENCODER.messages(MESSAGES))],
    )
    reply.serial = 9
    plain = Message(
        message_type=MessageType.METHOD_RETURN,
        reply_serial=7,
        destination=":1.42",
        signature="aaa{sv}",
        body=[[variants(p) for p in MESSAGES]],
        serial=9,
    )
    data = marshall(reply)
    assert data == plain._marshall()
    unmarshaller = Unmarshaller(io.BytesIO(data))
    assert unmarshaller.unmarshall()
    read = unmarshaller.message.body[0]
    assert [[{k: v.value for k, v in part.items()} for part in m] for m in read] == MESSAGES


def test_a_body_of_the_wrong_signature_is_refused() -> None:
    signal = Message.new_signal(
        "/x", "a.b", "C", "aaa{sv}", [EncodedBody("aa{sv}", ENCODER.message([{}]))]
    )
    signal.serial = 1
    with pytest.raises(ValueError, match=re.escape("aa{sv} body in a aaa{sv} message")):
        marshall(signal)


# -- plain dictionaries (the Conversations API's events) --------------------------------------

DICT_ENCODER = DictsEncoder()

EVENTS: list[dict[str, Any]] = [
    {
        "action": "sendMessage",
        "user": "occupant-id:abc=",
        "im_user_id": 7,
        "sequence": 2**40,
        "timestamp": 1_700_000_000,
        "message": {
            "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "conversation": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "text": "héllo wörld ✓ 𝄞 ",
            "payload": '[{"k": "ü"}]',
            "sequence": 3,
        },
    },
    {"action": "typing", "user": "bob@example.org", "im_user_id": 0},
    {"action": "addParticipants", "users": ["a@x", "b@x"], "sequence": -1, "timestamp": -5},
    {"action": "subscribe", "users": []},  # an empty list: as
    {"action": "setStatus", "online": True, "also": False},
    {"mixed": [1, "two", True], "ints": [1, -2, 2**62], "bools": [True, False]},
    {
        "nested": {"deeper": {"n": 1, "s": "", "b": False}, "list": ["x"]},
        "participants": [{"user": "a@x", "is_admin": True}, {}, {"user": "ü"}],
    },
    {"": "an empty key", "k" * 300: "a long key", "s": "x" * 1001},
    {},
    {"i": 1},  # an int right after an 8-aligned entry start
]


def _walk(values: list[dict[str, Any]]) -> list[dict[str, Variant]]:
    return [dictionary(v) for v in values]


def plain_value(value: Any) -> Any:
    if isinstance(value, Variant):
        return plain_value(value.value)
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    return value


@pytest.mark.parametrize("event", EVENTS, ids=range(len(EVENTS)))
def test_a_dictionary_is_byte_for_byte_dbus_nexts(event: dict[str, Any]) -> None:
    expected = dbus_next_bytes("a{sv}", _walk([event]))
    assert DICT_ENCODER.dictionary(event) == expected


@pytest.mark.parametrize("count", [0, 1, 2, 3, len(EVENTS)])
def test_a_list_of_dictionaries_is_byte_for_byte_dbus_nexts(count: int) -> None:
    chosen = EVENTS[:count]
    assert DICT_ENCODER.dictionaries(chosen) == dbus_next_bytes("aa{sv}", [_walk(chosen)])


def test_events_in_a_reply_read_back_as_the_variants_would() -> None:
    reply = Message(
        message_type=MessageType.METHOD_RETURN,
        reply_serial=3,
        destination=":1.7",
        signature="aa{sv}",
        body=[events_body(EVENTS)],
    )
    reply.serial = 4
    generic = Message(
        message_type=MessageType.METHOD_RETURN,
        reply_serial=3,
        destination=":1.7",
        signature="aa{sv}",
        body=[_walk(EVENTS)],
        serial=4,
    )
    data = marshall(reply)
    assert data == generic._marshall()
    unmarshaller = Unmarshaller(io.BytesIO(data))
    assert unmarshaller.unmarshall()
    read = unmarshaller.message.body[0]
    expected = [
        {k: (v.signature, plain_value(v)) for k, v in event.items()} for event in _walk(EVENTS)
    ]
    assert [{k: (v.signature, plain_value(v)) for k, v in e.items()} for e in read] == expected
    assert plain_value(read)[:2] == EVENTS[:2]


def test_a_value_of_no_d_bus_type_is_refused() -> None:
    with pytest.raises(TypeError, match="no D-Bus value for float"):
        DICT_ENCODER.dictionary({"f": 1.5})


@pytest.mark.parametrize("path", ["/a", "/im/chinwag/Chinwag/conversation/1", "/ab/c", "/abcd"])
def test_a_signal_carrying_a_plain_dictionary_is_byte_for_byte_dbus_nexts(path: str) -> None:
    # The object path before the dictionary moves it: every alignment is counted from
    # the body's start (paths of different lengths).
    for serial, event in enumerate(EVENTS, start=1):
        fast = Message.new_signal("/x", "a.b", "OnSendMessage", "oa{sv}", [path, PlainDict(event)])
        generic = Message.new_signal(
            "/x", "a.b", "OnSendMessage", "oa{sv}", [path, dictionary(event)]
        )
        fast.serial = generic.serial = serial
        data = marshall(fast)
        assert data == generic._marshall(), event
        unmarshaller = Unmarshaller(io.BytesIO(data))
        assert unmarshaller.unmarshall()
        assert unmarshaller.message.body[0] == path


def test_a_plain_dictionary_alone_is_the_whole_body() -> None:
    fast = Message.new_signal("/x", "a.b", "OnSetStatus", "a{sv}", [PlainDict(EVENTS[4])])
    generic = Message.new_signal("/x", "a.b", "OnSetStatus", "a{sv}", [dictionary(EVENTS[4])])
    fast.serial = generic.serial = 2
    assert marshall(fast) == generic._marshall()


def test_a_plain_dictionary_not_last_as_a_sv_is_refused() -> None:
    signal = Message.new_signal("/x", "a.b", "C", "oas", ["/p", PlainDict({})])
    signal.serial = 1
    with pytest.raises(ValueError, match=re.escape("(a{sv}) last in a oas message")):
        marshall(signal)


@pytest.mark.parametrize("member", ["E", "Error7", "LongerMember", "Member8x"])
def test_the_header_is_dbus_nexts_with_every_field(member: str) -> None:
    # Every field the header may have, of lengths that pad differently.
    def message(body: Any) -> Message:
        return Message(
            message_type=MessageType.ERROR,
            path=f"/p/{member}",
            interface=f"a.{member}",
            member=member,
            error_name=f"im.chinwag.Error.{member}",
            reply_serial=2**32 - 1,
            destination=f":1.{len(member)}",
            signature="a{sv}",
            body=[body],
            serial=77,
        )

    assert marshall(message(PlainDict(EVENTS[0]))) == message(dictionary(EVENTS[0]))._marshall()
