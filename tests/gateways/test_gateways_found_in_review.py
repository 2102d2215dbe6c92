"""Defects found reviewing the gateways against gateways.md, each held by a test that
failed before its fix."""

from __future__ import annotations

import asyncio

from chinwag.gateways.keys import KeyKind
from gateways.test_ucwa_gateway import Rig, all_events, assert_error, gw, next_ack  # noqa: F401


async def test_a_key_revoked_while_its_long_poll_waits_gets_nothing_more(gw: Rig) -> None:  # noqa: F811
    """Revocation takes effect at once: a poll already waiting when its key is revoked
    answers 401 when it wakes, not with the message that came meanwhile; the events stay
    for a key that is good."""
    app = await gw.application()
    available = app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    assert (await gw.request("POST", available)).status == 204
    first = await gw.events(app)
    assert gw.gateway is not None
    href = app["_links"]["events"]["href"].split("?")[0] + f"?ack={next_ack(first)}&timeout=60"
    keys = gw.gateway._keys
    (receiver,) = [
        k
        for k in keys.entries()
        if k.kind is KeyKind.REST and k.scopes == ("Conversations.Receive",)
    ]
    poll = asyncio.create_task(gw.request("GET", href, key="receive"))
    async with asyncio.timeout(10):
        await gw.gateway.ucwa.until_polls(1)
    keys.revoke(receiver.id)
    await gw.api_rig.receive("for a good key only")
    async with asyncio.timeout(10):
        reply = await poll
    assert_error(reply, 401, "Unauthorized")
    assert "for a good key only" not in reply.text
    kept = await gw.events(app, next_ack(first))  # (the key "all", of the same account)
    rels = [e["link"]["rel"] for e in all_events(kept)]
    assert rels[-1] == "message", rels
