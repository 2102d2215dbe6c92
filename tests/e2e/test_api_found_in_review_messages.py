"""Review reproductions: Messages1.SendMessage input handling and delivery reports."""

from __future__ import annotations

import pytest
from dbus_next import Variant

from rig.app import ApiError, AppProcess

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
MESSAGES = "im.chinwag.Messages1"


async def send(client, target, parts, flags=0):
    return (
        await client.call(ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", target, parts, flags])
    )[0]


async def test_review_malformed_alternative_is_invalid_handle(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    parts = [
        {},
        {
            "content-type": Variant("s", "text/plain"),
            "content": Variant("s", "hi"),
            "alternative": Variant("as", ["a", "b"]),  # malformed: should be a string
        },
    ]
    with pytest.raises(ApiError) as caught:
        await send(client, "nobody-rv@localhost", parts)
    assert caught.value.name == "im.chinwag.Error.InvalidHandle", caught.value.text


async def test_review_delivery_report_header_has_message_token(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    parts = [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("s", "hello")}]
    token = await send(client, "nobody-rv2@localhost", parts, 1)
    body = await signals.wait_for(
        "MessageReceived",
        lambda b: b[0][0].get("delivery-token", Variant("s", "")).value == token,
    )
    header = body[0][0]
    print({k: v.value for k, v in header.items()})
    assert "message-token" in header, sorted(header)
