"""What the end-to-end tests of the Conversations API share: D-Bus values as plain
Python, the spec's uuid formulas (conversations-api.md section 1, spelled here as the
spec writes them, not imported from the implementation) and the check of a refusal by
code and name (section 2)."""

from __future__ import annotations

import uuid as uuids
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import ApiError

#: The prefix of the Conversations API's error names.
ERROR = "im.chinwag.Error.Messaging."


def plain(value: Any) -> Any:
    """A D-Bus value with every variant unwrapped (dictionaries and arrays too)."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def room_uuid(room: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?join"))


def direct_uuid(a: str, b: str) -> str:
    low, high = sorted((a, b))
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{low}?chinwag-direct;with={high}"))


def message_uuid_in_room(room: str, stanza_id: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?stanza-id={stanza_id}"))


def message_uuid_direct(sender: str, origin_id: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{sender}?origin-id={origin_id}"))


async def refused(code: int, name: str, call: Any) -> None:
    """``call`` fails with ``im.chinwag.Error.Messaging.<name>``, ``<code>: ...``."""
    with pytest.raises(ApiError) as info:
        await call
    assert info.value.name == ERROR + name
    assert info.value.text.startswith(f"{code}: ")
