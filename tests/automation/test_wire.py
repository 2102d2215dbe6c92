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
from chinwag.automation.wire import EncodedBody, PartsEncoder

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
