"""The Conversations API's users over D-Bus (conversations-api.md section 3): look-ups by
name and IM id, EditUser with public and private custom data, SetOnline, subscriptions
and ManageNotifications, with their signals and refusals. The app as a process on its
own bus with the rig's Prosody; names and codes spelled as the spec writes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dbus_next import Variant

from rig.conversations import plain, refused

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
ERROR = "im.chinwag.Error.Messaging."


async def conversations(client: Any, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return plain(body[0] if len(body) == 1 else body)


async def test_me_by_name_and_by_im_id(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    me = await client.get(ROOT, CONVERSATIONS, "Me")
    assert me == chinwag_app.jid
    user = await conversations(client, "GetUserByName", "s", me)
    assert user["name"] == me
    assert isinstance(user["im_id"], int)
    assert user["im_id"] > 0
    for key in ("display_name", "custom_data", "private_custom_data"):
        assert isinstance(user[key], str), key
    for key in ("conversations", "left_conversations", "notifications"):
        assert isinstance(user[key], list), key
    again = await conversations(client, "GetUserByIMId", "x", user["im_id"])
    assert again == user
    both = await conversations(client, "GetUsersByIMId", "ax", [user["im_id"], user["im_id"]])
    assert both == [user, user]
    await refused(
        25, "UserNotFound", conversations(client, "GetUserByName", "s", "nobody-x@localhost")
    )
    await refused(25, "UserNotFound", conversations(client, "GetUserByIMId", "x", 987_654))
    await refused(
        22,
        "RequestedNumberTooBig",
        conversations(client, "GetUsersByName", "as", [me] * 51),
    )


async def test_edit_user_keeps_public_and_private_custom_data(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    me = await client.get(ROOT, CONVERSATIONS, "Me")
    seen = len(signals.items)
    edited = await conversations(
        client,
        "EditUser",
        "a{sv}",
        {
            "custom_data": Variant("s", json.dumps({"team": "blue"})),
            "private_custom_data": Variant("s", json.dumps({"pin": 1234})),
        },
    )
    assert json.loads(edited["custom_data"]) == {"team": "blue"}
    assert json.loads(edited["private_custom_data"]) == {"pin": 1234}
    (event,) = await signals.wait_for("OnEditUser", after=seen)
    assert plain(event)["action"] == "editUser"
    assert plain(event)["user"] == me
    read = await conversations(client, "GetUserByName", "s", me)
    assert json.loads(read["custom_data"]) == {"team": "blue"}
    # Absent: unchanged; {}: removed.
    edited = await conversations(
        client, "EditUser", "a{sv}", {"private_custom_data": Variant("s", "{}")}
    )
    assert json.loads(edited["custom_data"]) == {"team": "blue"}
    assert edited["private_custom_data"] in ("", "{}")
    await refused(
        18,
        "UserValidation",
        conversations(client, "EditUser", "a{sv}", {"custom_data": Variant("s", "[1, 2]")}),
    )
    big = json.dumps({"x": "y" * 6000})  # over 5 kB
    await refused(
        18,
        "UserValidation",
        conversations(client, "EditUser", "a{sv}", {"custom_data": Variant("s", big)}),
    )


async def test_notifications_online_and_subscriptions(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    me = await client.get(ROOT, CONVERSATIONS, "Me")
    assert await conversations(client, "ManageNotifications", "as", ["EditMessage"]) == 0
    user = await conversations(client, "GetUserByName", "s", me)
    assert user["notifications"] == ["EditMessage"]
    await refused(
        26,
        "NotificationEventIncorrect",
        conversations(client, "ManageNotifications", "as", ["Typing"]),
    )
    seen = len(signals.items)
    assert await conversations(client, "SetOnline", "b", False) == 0
    (event,) = await signals.wait_for("OnSetStatus", after=seen)
    assert plain(event)["online"] is False
    seen = len(signals.items)
    assert await conversations(client, "SetOnline", "b", True) == 0
    (event,) = await signals.wait_for("OnSetStatus", after=seen)
    assert plain(event)["online"] is True
    assert isinstance(await conversations(client, "GetSubscriptions"), list)
