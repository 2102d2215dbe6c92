"""End to end: the XML-RPC gateway of the app as a process (``--xmlrpc-port 0``) on a
real Prosody, with Python's xmlrpc.client and a key made by ``chinwag-remote
gateway-key create``: a letter reaches a peer with its subject (type normal, also
without one), the peer's answer is in the inbox unread, setmessageread makes it read and
the peer gets a displayed marker; and examples/lj_cron_sender.py sends through it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import xmlrpc.client
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chinwag.gateways.keys import md5_hex
from rig.app import APP_TIMEOUT, AppProcess
from rig.gateways import gateway_app, gateway_port
from rig.gateways import make_key as make_gateway_key
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MARKERS = "urn:xmpp:chat-markers:0"


@pytest.fixture
async def xmlrpc_app(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    async with gateway_app(prosody, tmp_path, "--xmlrpc-port", "0") as app:
        yield app


def make_key(app: AppProcess) -> str:
    return make_gateway_key(app, "xmlrpc")


def gateway_url(app: AppProcess) -> str:
    return f"http://127.0.0.1:{gateway_port(app, 'xmlrpc')}/interface/xmlrpc"


async def call(url: str, method: str, *params: Any) -> Any:
    def run() -> Any:
        with xmlrpc.client.ServerProxy(url) as proxy:
            return getattr(proxy, method)(*params)

    return await asyncio.to_thread(run)


async def next_stanza(peer: XmppPeer, wanted: Any) -> Any:
    while True:
        stanza = await peer.next_message(timeout=APP_TIMEOUT)
        if wanted(stanza):
            return stanza


async def test_a_letter_its_answer_in_the_inbox_and_the_read_marker(
    xmlrpc_app: AppProcess, prosody: ProsodyServer
) -> None:
    app = xmlrpc_app
    key = make_key(app)
    url = gateway_url(app)
    client = await app.client()
    signals = await client.watch()
    bob = XmppPeer(prosody, *prosody.make_user("bob"))
    bob.client.register_plugin("xep_0333")
    displayed: asyncio.Queue[Any] = asyncio.Queue()
    bob.client.add_event_handler("marker_displayed", displayed.put_nowait)
    async with bob:
        challenge = (await call(url, "LJ.XMLRPC.getchallenge"))["challenge"]
        answer = await call(
            url,
            "LJ.XMLRPC.sendmessage",
            {
                "username": app.jid,
                "auth_method": "challenge",
                "auth_challenge": challenge,
                "auth_response": md5_hex(challenge + md5_hex(key)),
                "to": [bob.jid],
                "subject": "Lunch?",
                "body": "<b>at noon</b>",
            },
        )
        assert answer["sent_count"] == 1
        letter = await next_stanza(bob, lambda s: bool(s["body"]))
        assert (letter["type"], letter["subject"], letter["body"]) == (
            "normal",
            "Lunch?",
            "<b>at noon</b>",
        )

        reply = bob.client.make_message(mto=app.jid, mbody="yes please", mtype="chat")
        reply["id"] = "bob-reply-1"
        reply.send()
        await signals.wait_for("MessageReceived")
        auth = {"username": app.jid, "password": key}
        inbox = await call(url, "LJ.XMLRPC.getinbox", auth | {"gettype": 18})
        (item,) = inbox["items"]
        assert (item["from"], item["body"], item["state"], item["type"]) == (
            bob.jid,
            "yes please",
            "N",
            18,
        )
        (sent,) = (await call(url, "LJ.XMLRPC.getinbox", auth | {"gettype": 19}))["items"]
        assert (sent["to"], sent["subject"], sent["qid"]) == (bob.jid, "Lunch?", answer["msgid"][0])

        marked = await call(url, "LJ.XMLRPC.setmessageread", auth | {"messageid": [item["msgid"]]})
        assert marked == {"result": [{"msgid": item["msgid"], "result": "set read"}]}
        marker = await asyncio.wait_for(displayed.get(), APP_TIMEOUT)
        assert marker.xml.find(f"{{{MARKERS}}}displayed").get("id") == "bob-reply-1"
        (now,) = (await call(url, "LJ.XMLRPC.getinbox", auth | {"gettype": 18}))["items"]
        assert now["state"] == "R"


async def test_a_letter_without_subject_is_still_a_normal_message(
    xmlrpc_app: AppProcess, prosody: ProsodyServer
) -> None:
    app = xmlrpc_app
    auth = {"username": app.jid, "password": make_key(app)}
    async with XmppPeer(prosody, *prosody.make_user("dave")) as dave:
        answer = await call(
            gateway_url(app), "LJ.XMLRPC.sendmessage", auth | {"to": dave.jid, "body": "just this"}
        )
        assert answer["sent_count"] == 1
        letter = await next_stanza(dave, lambda s: bool(s["body"]))
        assert (letter["type"], letter["subject"] or "", letter["body"]) == (
            "normal",
            "",
            "just this",
        )


async def test_the_cron_sender_example(xmlrpc_app: AppProcess, prosody: ProsodyServer) -> None:
    app = xmlrpc_app
    key_file = app.home / "xmlrpc-key"
    key_file.write_text(make_key(app) + "\n")
    key_file.chmod(0o600)
    async with XmppPeer(prosody, *prosody.make_user("erin")) as erin:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "lj_cron_sender.py"),
            "--user",
            app.jid,
            "--key-file",
            str(key_file),
            "--subject",
            "Stand-up",
            erin.jid,
            env=app.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(b"in 5 minutes\n"), APP_TIMEOUT)
        assert (proc.returncode, out, err) == (0, b"", b"")
        letter = await next_stanza(erin, lambda s: bool(s["body"]))
        assert (str(letter["from"].bare), letter["subject"], letter["body"]) == (
            app.jid,
            "Stand-up",
            "in 5 minutes",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "lj_cron_sender.py"),
            "--user",
            app.jid,
            "--key-file",
            str(key_file),
            "--body",
            "x",
            "a room@",
            env=app.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), APP_TIMEOUT)
        assert (proc.returncode, out) == (4, b"")
        assert b"refused (100): Invalid username: a room@" in err
