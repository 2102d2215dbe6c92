"""End to end: the REST (UCWA 2.0) gateway of the app as a process (``--rest-port 0``,
the port read from ``$XDG_STATE_HOME/chinwag/gateways.json``) on a real Prosody, driven
with curl and a key made by ``chinwag-remote gateway-key create ... --kind rest``: an
application, makeMeAvailable, a conversation started with a peer (who gets its first
message), the peer's answer read from the event channel as a data URI, sendMessage with
an operationId (never twice), typing and stop; and examples/ucwa_bot.sh answering."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.gateways.ucwa import parse_data_uri
from rig.app import APP_TIMEOUT, AppProcess
from rig.gateways import gateway_app, gateway_port
from rig.gateways import make_key as make_gateway_key
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [
    pytest.mark.prosody,
    pytest.mark.dbus,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHATSTATES = "http://jabber.org/protocol/chatstates"


@pytest.fixture
async def rest_app(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    async with gateway_app(prosody, tmp_path, "--rest-port", "0") as app:
        yield app


def make_key(app: AppProcess) -> str:
    return make_gateway_key(app, "rest")


class Curl:
    """curl against the gateway: (status, headers, JSON body) of each request."""

    def __init__(self, app: AppProcess, key: str) -> None:
        self.base = f"http://127.0.0.1:{gateway_port(app, 'rest')}"
        self.key = key
        self.dir = app.home

    async def __call__(self, method: str, href: str, *args: str) -> tuple[int, dict[str, str], Any]:
        headers = self.dir / "curl-headers"
        proc = await asyncio.create_subprocess_exec(
            "curl",
            "-sS",
            "-X",
            method,
            "-H",
            f"Authorization: Bearer {self.key}",
            "-D",
            str(headers),
            "-w",
            "\n%{http_code}",
            *args,
            self.base + href,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), APP_TIMEOUT)
        assert proc.returncode == 0, err
        text, _, status = out.decode().rpartition("\n")
        found = {}
        for line in headers.read_text().splitlines()[1:]:
            name, _, value = line.partition(":")
            if value:
                found[name.strip().lower()] = value.strip()
        return int(status), found, json.loads(text) if text.strip() else None

    async def json(self, href: str, body: Any) -> tuple[int, dict[str, str], Any]:
        return await self(
            "POST", href, "-H", "Content-Type: application/json", "--data-binary", json.dumps(body)
        )


def events_of(batch: Any) -> list[dict[str, Any]]:
    return [event for sender in batch["sender"] for event in sender["events"]]


class Channel:
    """The event channel, read in order from ``href`` (the application's events link)."""

    def __init__(self, curl: Curl, href: str) -> None:
        self.curl = curl
        self.href = href
        self.pending: list[dict[str, Any]] = []

    async def until(self, wanted: Any) -> dict[str, Any]:
        """The next event ``wanted`` says yes to (the ones before it are passed over)."""
        while True:
            while self.pending:
                event = self.pending.pop(0)
                if wanted(event):
                    return event
            status, _, batch = await self.curl("GET", self.href + "&timeout=20")
            assert status == 200, batch
            self.href = batch["_links"]["next"]["href"]
            self.pending = events_of(batch)


async def next_stanza(peer: XmppPeer, wanted: Any) -> Any:
    while True:
        stanza = await peer.next_message(timeout=APP_TIMEOUT)
        if wanted(stanza):
            return stanza


def chat_states(peer: XmppPeer) -> asyncio.Queue[str]:
    """The chat states ``peer`` is sent, in order (slixmpp's message event needs a body)."""
    found: asyncio.Queue[str] = asyncio.Queue()

    def got(stanza: Any) -> None:
        for child in stanza.xml:
            if child.tag.startswith(f"{{{CHATSTATES}}}"):
                found.put_nowait(child.tag.split("}")[1])

    peer.client.register_handler(
        Callback("test: chat states", MatchXPath("{jabber:client}message"), got)
    )
    return found


async def next_state(states: asyncio.Queue[str]) -> str:
    """The next chat state but "active" (which comes with every message)."""
    while True:
        state = await asyncio.wait_for(states.get(), APP_TIMEOUT)
        if state != "active":
            return state


async def test_a_conversation_over_curl(rest_app: AppProcess, prosody: ProsodyServer) -> None:
    app = rest_app
    curl = Curl(app, make_key(app))
    assert (await curl("GET", "/ucwa/v1/applications/x"))[0] == 404
    status, _, error = await Curl(app, "not-a-key")("GET", "/ucwa/v1/applications/x")
    assert (status, error["code"]) == (401, "Unauthorized")

    status, headers, application = await curl.json(
        "/ucwa/v1/applications", {"userAgent": "curl", "endpointId": "e2e", "culture": "en-US"}
    )
    assert status == 201, application
    assert headers["location"] == application["_links"]["self"]["href"]
    assert application["_embedded"]["me"]["uri"] == f"xmpp:{app.jid}"
    available = application["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    assert (await curl("POST", available))[0] == 204
    assert (await curl("POST", available))[0] == 409
    channel = Channel(curl, application["_links"]["events"]["href"])

    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        states = chat_states(bob)
        start = application["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
        first = "data:text/plain;charset=utf-8," + urllib.parse.quote("hello Bob, ça va?")
        status, headers, invitation = await curl.json(
            start,
            {
                "operationId": "start-1",
                "to": f"xmpp:{bob.jid}",
                "subject": "e2e",
                "importance": "Normal",
                "_links": {"message": {"href": first}},
            },
        )
        assert status == 201, invitation
        assert headers["location"] == invitation["_links"]["self"]["href"]
        got = await next_stanza(bob, lambda s: bool(s["body"]))
        assert (str(got["from"].bare), got["body"]) == (app.jid, "hello Bob, ça va?")

        event = await channel.until(lambda e: e["link"]["rel"] == "messaging")
        messaging = event["_embedded"]["messaging"]["_links"]
        done = await channel.until(
            lambda e: e["link"]["rel"] == "messagingInvitation" and e["type"] == "completed",
        )
        assert done["status"] == "Success"

        bob.send_chat(app.jid, "fine, and you?")
        event = await channel.until(
            lambda e: e["link"]["rel"] == "message" and e["type"] == "added"
        )
        message = event["_embedded"]["message"]
        assert message["direction"] == "Incoming"
        plain = message["_links"]["plainMessage"]["href"]
        assert plain.startswith("data:text/plain;charset=utf-8,")
        assert parse_data_uri(plain, "plainMessage") == "fine, and you?"

        send = messaging["sendMessage"]["href"] + "?operationId=op-1"
        text = ("-H", "Content-Type: text/plain; charset=utf-8", "--data-binary", "very well")
        status, headers, sent = await curl("POST", send, *text)
        assert status == 201, sent
        assert "/messaging/messages/" in headers["location"]
        got = await next_stanza(bob, lambda s: bool(s["body"]))
        assert got["body"] == "very well"
        status, _, error = await curl("POST", send, *text)
        assert (status, error["code"], error["subcode"]) == (409, "Conflict", "AlreadyExists")
        completed = await channel.until(
            lambda e: e["link"]["href"] == headers["location"] and e["type"] == "completed",
        )
        assert completed["status"] == "Success"

        assert (await curl("POST", messaging["setIsTyping"]["href"]))[0] == 204
        assert await next_state(states) == "composing"
        assert (await curl("POST", messaging["stopMessaging"]["href"]))[0] == 204
        assert await next_state(states) == "gone"
        # nothing was sent twice (it would have come before the chat states)
        while not bob.messages.empty():
            assert not bob.messages.get_nowait()["body"]


async def test_the_ucwa_bot_example_answers(rest_app: AppProcess, prosody: ProsodyServer) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    app = rest_app
    key_file = app.home / "rest-key"
    key_file.write_text(make_key(app) + "\n")
    key_file.chmod(0o600)
    proc = await asyncio.create_subprocess_exec(
        str(EXAMPLES / "ucwa_bot.sh"),
        "--key-file",
        str(key_file),
        env=app.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stderr.readline(), APP_TIMEOUT)
        assert line == b"ucwa_bot: answering messages; Ctrl-C to stop\n"
        async with XmppPeer(prosody, *prosody.make_user("carol")) as carol:
            for text in ("hi bot", "50% off & more"):
                carol.send_chat(app.jid, text)
                got = await next_stanza(carol, lambda s: bool(s["body"]))
                assert (str(got["from"].bare), got["body"]) == (app.jid, f"You said: {text}")
                line = await asyncio.wait_for(proc.stdout.readline(), APP_TIMEOUT)
                assert line.decode() == f"answered: {text}\n"
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), APP_TIMEOUT)
        assert (code, await proc.stderr.read()) == (0, b"")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
