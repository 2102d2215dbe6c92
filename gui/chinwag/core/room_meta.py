"""What a group conversation keeps in its room's description (conversations-api.md
section 1): ``custom_data`` (a JSON object, at most 5 kB) and ``uber``, as one JSON
object, so every client reads the same. One place reads and writes it: creating a
conversation and ``Update`` both come here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The most bytes of custom data (UTF-8 of its JSON).
MAX_CUSTOM_DATA = 5 * 1024


class BadCustomData(ValueError):
    """Custom data that is not a JSON object, or is too long."""


@dataclass(frozen=True, slots=True)
class RoomMeta:
    """A room description's meaning: the conversation's custom data (JSON text of an
    object, "{}" for none) and whether it is uber."""

    custom_data: str = "{}"
    uber: bool = False

    def describe(self) -> str:
        """The room description holding it."""
        return json.dumps(
            {"custom_data": json.loads(self.custom_data), "uber": self.uber},
            separators=(",", ":"),
            sort_keys=True,
        )


def custom_data(text: str) -> str:
    """Custom data as given (JSON text; "" = none), checked and made compact; raises
    :class:`BadCustomData`."""
    if not text.strip():
        return "{}"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadCustomData(f"custom data is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadCustomData("custom data is a JSON object")
    compact = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if len(compact.encode()) > MAX_CUSTOM_DATA:
        raise BadCustomData(f"custom data is more than {MAX_CUSTOM_DATA} bytes")
    return compact


def parse(description: str) -> RoomMeta:
    """What a room's description says; a description that is not ours (plain text, or
    another JSON) means no custom data, not uber."""
    try:
        value: Any = json.loads(description) if description.strip() else None
    except ValueError:
        return RoomMeta()
    if not isinstance(value, dict):
        return RoomMeta()
    data = value.get("custom_data", {})
    if not isinstance(data, dict):
        data = {}
    return RoomMeta(
        json.dumps(data, separators=(",", ":"), sort_keys=True), value.get("uber") is True
    )


def room_config(
    title: str, public: bool, meta: RoomMeta, *, members: bool | None = None
) -> dict[str, str]:
    """The muc#roomconfig fields of a group conversation: its name, listed and open when
    public (members-only otherwise, or as ``members`` says), and its description."""
    members_only = (not public) if members is None else members
    return {
        "muc#roomconfig_roomname": title,
        "muc#roomconfig_publicroom": "1" if public else "0",
        "muc#roomconfig_membersonly": "1" if members_only else "0",
        "muc#roomconfig_roomdesc": meta.describe(),
    }
