"""Defects found reviewing the gateways against gateways.md, each held by a test that
failed before its fix."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from api.api_rig import ApiLayerRig
from chinwag.api.ucwa import Problem, UcwaError
from chinwag.app import _gateway_ports, parse_args
from chinwag.gateways.control import GatewayControl
from chinwag.gateways.keys import KeyKind
from chinwag.gateways.settings import STATE_FILE
from chinwag.gateways.ucwa import parse_data_uri
from chinwag.system.paths import Paths
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


async def test_a_crash_leftover_gateways_json_goes_when_the_gateways_are_off(
    tmp_path: Path,
) -> None:
    """gateways.json says where the running gateways listen: a Chinwag killed with them
    on left its ports there; started with them off, no script must find those ports."""
    paths = Paths.under(tmp_path)
    paths.state.mkdir(parents=True)
    leftover = paths.state / STATE_FILE
    leftover.write_text('{"rest": {"host": "127.0.0.1", "port": 8043}}\n')
    ports = _gateway_ports(parse_args([]), paths)
    assert ports == {}
    control = GatewayControl(paths.config, paths.state, _no_api)
    await control.start(ports)
    assert control.ports == {}
    assert not leftover.exists()
    await control.close()


def _no_api() -> Any:
    raise AssertionError("no gateway is on: no API layer is made")


async def test_a_gateway_that_cannot_listen_leaves_no_old_port_behind(tmp_path: Path) -> None:
    rig = await ApiLayerRig.start(tmp_path)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        paths = Paths.under(tmp_path / "profile")
        paths.state.mkdir(parents=True)
        leftover = paths.state / STATE_FILE
        leftover.write_text('{"rest": {"host": "127.0.0.1", "port": 8043}}\n')
        args = parse_args(["--rest-port", str(taken.getsockname()[1])])
        gateways = GatewayControl(paths.config, paths.state, lambda: rig.api)
        await gateways.start(_gateway_ports(args, paths))
        assert gateways.ports == {}
        assert "cannot listen" in str(gateways.state("rest").problem)
        assert not leftover.exists()
        await gateways.close()
    finally:
        taken.close()
        await rig.close()


@pytest.mark.parametrize(
    ("uri", "text"),
    [
        ("data:text/plain;base64,aGk%3D", "hi"),  # (encodeURIComponent(btoa("hi")))
        ("data:text/plain;charset=utf-8;base64,w6l0w6k%3D", "été"),
        ("data:text/plain;base64,aGVs%0AbG8=", "hello"),  # (base64 wrapped at 76)
        ("data:text/plain;base64,aGVs\r\nbG8=", "hello"),
        ("data:text/plain;base64,aGVsbG8=", "hello"),
    ],
)
def test_a_base64_data_uri_may_be_percent_encoded_or_wrapped(uri: str, text: str) -> None:
    """RFC 2397: a data URI's data is URL-encoded, base64 or not (``=`` and ``+`` may come
    as ``%3D`` and ``%2B``), and base64 decoders pass over line breaks."""
    assert parse_data_uri(uri, "message") == text


@pytest.mark.parametrize(
    "uri",
    ["data:text/plain;base64,aGVsbG8", "data:text/plain;base64,!!!", "data:text/plain;base64,a%ZZ"],
)
def test_a_bad_base64_data_uri_is_still_refused(uri: str) -> None:
    with pytest.raises(UcwaError) as info:
        parse_data_uri(uri, "message")
    assert info.value.problem is Problem.BAD_PARAMETER
