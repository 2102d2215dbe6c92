"""Loopback only, seen from another machine: a second network namespace joined to this
one by a veth pair (10.203.N.2 there, 10.203.N.1 here). A gateway started as in
production is not there at all on 10.203.N.1 (connection refused), while a test server
bound to every address shows the way works, and that the gateways' loopback_only
middleware still refuses (403) a request from the namespace and answers one from
127.0.0.1: the defence in depth. Needs root and iproute2's ``ip``; skipped, with the
reason, where the namespace cannot be made."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from chinwag.gateways.server import Gateways, loopback_only, make_app

#: What the namespace's client prints: the HTTP status, or what stopped the connection.
PROBE = """
import socket, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as reply:
        print(reply.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except urllib.error.URLError as exc:
    print(type(exc.reason).__name__)
"""


async def run(*command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace").strip()


async def must(*command: str) -> str:
    code, out = await run(*command)
    assert code == 0, f"{' '.join(command)}: {out}"
    return out


@dataclass
class Netns:
    name: str
    here: str  # this side's address
    there: str  # the namespace's address

    async def get(self, url: str) -> str:
        """What a client in the namespace gets for ``url``."""
        return await must("ip", "netns", "exec", self.name, sys.executable, "-c", PROBE, url)


@pytest.fixture
async def netns() -> AsyncIterator[Netns]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("no ip command (install iproute2)")
    tag = os.getpid() % 100_000
    name, outer, inner = f"chinwag-gw-{tag}", f"cwgw{tag}a", f"cwgw{tag}b"
    subnet = f"10.203.{tag % 250}"
    code, out = await run("ip", "netns", "add", name)
    if code != 0:
        pytest.skip(f"cannot make a network namespace: {out}")
    try:
        await must("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        await must("ip", "link", "set", inner, "netns", name)
        await must("ip", "addr", "add", f"{subnet}.1/24", "dev", outer)
        await must("ip", "link", "set", outer, "up")
        inside = ("ip", "netns", "exec", name)
        await must(*inside, "ip", "addr", "add", f"{subnet}.2/24", "dev", inner)
        await must(*inside, "ip", "link", "set", inner, "up")
        await must(*inside, "ip", "link", "set", "lo", "up")
        yield Netns(name, f"{subnet}.1", f"{subnet}.2")
    finally:
        await run("ip", "link", "del", outer)  # (gone already when the pair was not made)
        await run("ip", "netns", "del", name)


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def hello_app() -> web.Application:
    app = make_app()
    app.router.add_get("/hello", hello)
    return app


async def test_another_machine_cannot_reach_a_gateway(netns: Netns, tmp_path: Path) -> None:
    gateways = Gateways(tmp_path)
    port = await gateways.start("xmlrpc", hello_app(), 0)
    # a server on every address, behind the same middleware
    everywhere_app = hello_app()
    everywhere_app.middlewares.append(loopback_only)
    runner = web.AppRunner(everywhere_app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        await web.SockSite(runner, sock).start()
        open_port = sock.getsockname()[1]

        # from the namespace: nothing listens where the gateway is ...
        assert await netns.get(f"http://{netns.here}:{port}/hello") == "ConnectionRefusedError"
        # ... though the way is open (the server on every address is reached) and the
        # middleware refuses what comes from elsewhere
        assert await netns.get(f"http://{netns.here}:{open_port}/hello") == "403"
        async with ClientSession() as http:
            for url in (
                f"http://127.0.0.1:{open_port}/hello",
                f"http://127.0.0.1:{port}/hello",
            ):
                async with http.get(url) as reply:
                    assert reply.status == 200
                    assert await reply.text() == "hello"
    finally:
        await runner.cleanup()
        await gateways.close()
