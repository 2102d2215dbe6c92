"""A waiting UCWA long poll's connection is not read (bench_gateways.py: on the Qt loop
each socket being read is a notifier the dispatcher polls on every iteration, so a
thousand idle polls made every D-Bus call cost twice the CPU); it is read again once the
poll has answered, and the keep-alive connection serves the next request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from api.api_rig import ME, ApiLayerRig
from chinwag.api.ucwa import EventQueue
from chinwag.gateways.keys import GatewayKeys, KeyKind
from chinwag.gateways.server import Gateways
from chinwag.gateways.ucwa import UcwaGateway


def server_transports(gateways: Gateways) -> list[asyncio.Transport]:
    (runner,) = gateways._runners
    assert isinstance(runner, web.AppRunner)
    assert runner.server is not None
    transports = [handler.transport for handler in runner.server.connections]
    return [t for t in transports if isinstance(t, asyncio.Transport)]


async def test_a_waiting_poll_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api_rig = await ApiLayerRig.start(tmp_path)
    keys = GatewayKeys(tmp_path / "gateway-keys.json")
    key = keys.create(KeyKind.REST, ME)[1]
    gateways = Gateways(tmp_path)
    port = await gateways.start("rest", UcwaGateway(api_rig.api, keys).app(), 0)
    waiting = asyncio.Event()
    wait = EventQueue.wait

    async def wait_and_tell(self: EventQueue, seconds: float) -> None:
        if seconds > 0:
            waiting.set()
        await wait(self, seconds)

    monkeypatch.setattr(EventQueue, "wait", wait_and_tell)
    base = f"http://127.0.0.1:{port}"
    try:
        async with ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
            fields = {"userAgent": "test", "endpointId": "e1"}
            async with http.post(base + "/ucwa/v1/applications", json=fields) as r:
                assert r.status == 201
                app = await r.json()
            events = base + app["_links"]["events"]["href"]
            me = base + app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]

            async def poll() -> int:
                async with http.get(events + "&timeout=180") as r:
                    await r.read()
                    return r.status

            polling = asyncio.create_task(poll())
            try:
                async with asyncio.timeout(10):
                    await waiting.wait()
                (transport,) = server_transports(gateways)
                assert not transport.is_reading()
                async with http.post(me) as r:  # (another connection: the poll's is busy)
                    assert r.status == 204
                async with asyncio.timeout(10):
                    assert await polling == 200
            finally:
                polling.cancel()
            assert all(t.is_reading() for t in server_transports(gateways))
            async with http.get(events + "&timeout=0") as r:  # the connections serve on
                assert r.status == 200
    finally:
        await gateways.close()
        await api_rig.close()
