"""The XML-RPC gateway over HTTP (gateways.md section 1), with Python's own
``xmlrpc.client`` as the client, over the API layer's rig (a real core and store, a
scripted connection): the three ways to log in, every fault of the spec, challenges
(expiry on an injected clock, single use), the failed-login limit, and documents that
would expand entities refused."""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector

from api.api_rig import BOB, ME, ApiLayerRig
from chinwag.core.models import DiscoIdentity, DiscoInfo
from chinwag.gateways.keys import GatewayKeys, KeyKind, md5_hex
from chinwag.gateways.server import Gateways
from chinwag.gateways.xmlrpc import MAX_FAILURES, XmlRpcGateway

ROOM = "den@conference.localhost"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, api_rig: ApiLayerRig, url: str, key: str, keys: GatewayKeys) -> None:
        self.api_rig = api_rig
        self.url = url
        self.key = key
        self.keys = keys
        self.clock = Clock()

    async def call(self, method: str, *params: Any) -> Any:
        def run() -> Any:
            with xmlrpc.client.ServerProxy(self.url) as proxy:
                return getattr(proxy, method)(*params)

        return await asyncio.to_thread(run)

    async def fault(self, method: str, *params: Any) -> xmlrpc.client.Fault:
        with pytest.raises(xmlrpc.client.Fault) as info:
            await self.call(method, *params)
        return info.value

    def auth(self, **extra: Any) -> dict[str, Any]:
        return {"username": ME, "password": self.key} | extra

    async def post_from(self, address: str, auth: dict[str, Any]) -> Any:
        """getinbox with ``auth``, sent from the loopback ``address``: its answer, or the
        fault."""
        body = xmlrpc.client.dumps((auth,), "LJ.XMLRPC.getinbox").encode()
        connector = TCPConnector(local_addr=(address, 0))
        async with (
            ClientSession(connector=connector) as http,
            http.post(self.url, data=body) as reply,
        ):
            assert reply.status == 200
            text = await reply.read()
        try:
            return xmlrpc.client.loads(text)[0][0]
        except xmlrpc.client.Fault as fault:
            return fault

    async def post(self, body: bytes) -> Any:
        async with ClientSession() as http, http.post(self.url, data=body) as reply:
            assert reply.status == 200
            text = await reply.read()
        return xmlrpc.client.loads(text)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Rig]:
    api_rig = await ApiLayerRig.start(tmp_path)
    keys = GatewayKeys(tmp_path / "gateway-keys.json")
    _entry, key = keys.create(KeyKind.XMLRPC, ME)
    gateways = Gateways(tmp_path)
    rig = Rig(api_rig, "", key, keys)
    gateway = XmlRpcGateway(api_rig.api, keys, clock=rig.clock)
    port = await gateways.start("xmlrpc", gateway.app(), 0)
    rig.url = f"http://127.0.0.1:{port}/interface/xmlrpc"
    try:
        yield rig
    finally:
        await gateways.close()
        await api_rig.close()


def code_and_text(fault: xmlrpc.client.Fault) -> tuple[int, str]:
    return fault.faultCode, fault.faultString


async def test_getchallenge(gw: Rig) -> None:
    answer = await gw.call("LJ.XMLRPC.getchallenge")
    assert answer["auth_scheme"] == "c0"
    assert answer["server_time"] == int(gw.clock.now)
    assert answer["expire_time"] == answer["server_time"] + 60
    assert isinstance(answer["challenge"], str)
    assert answer["challenge"] != (await gw.call("LJ.XMLRPC.getchallenge"))["challenge"]


async def test_clear_hpassword_and_challenge_each_log_in(gw: Rig) -> None:
    digest = md5_hex(gw.key)
    await gw.call("LJ.XMLRPC.getinbox", {"username": ME, "password": gw.key})
    await gw.call("LJ.XMLRPC.getinbox", {"username": "Me@Localhost", "hpassword": digest.upper()})
    challenge = (await gw.call("LJ.XMLRPC.getchallenge"))["challenge"]
    response = md5_hex(challenge + digest)
    answer = await gw.call(
        "LJ.XMLRPC.getinbox",
        {
            "username": ME,
            "auth_method": "challenge",
            "auth_challenge": challenge,
            "auth_response": response,
        },
    )
    assert answer == {"items": [], "login": ME}
    # password wins over hpassword
    await gw.call("LJ.XMLRPC.getinbox", gw.auth(hpassword="0" * 32))
    fault = await gw.fault(
        "LJ.XMLRPC.getinbox", {"username": ME, "password": "wrong", "hpassword": digest}
    )
    assert code_and_text(fault) == (101, "Invalid password")


async def test_a_challenge_is_good_once_and_for_sixty_seconds(gw: Rig) -> None:
    digest = md5_hex(gw.key)

    def by_challenge(challenge: str) -> dict[str, str]:
        return {
            "username": ME,
            "auth_method": "challenge",
            "auth_challenge": challenge,
            "auth_response": md5_hex(challenge + digest),
        }

    challenge = (await gw.call("LJ.XMLRPC.getchallenge"))["challenge"]
    gw.clock.now += 60
    await gw.call("LJ.XMLRPC.getinbox", by_challenge(challenge))
    fault = await gw.fault("LJ.XMLRPC.getinbox", by_challenge(challenge))
    assert fault.faultCode == 101  # used twice
    late = (await gw.call("LJ.XMLRPC.getchallenge"))["challenge"]
    gw.clock.now += 61
    assert code_and_text(await gw.fault("LJ.XMLRPC.getinbox", by_challenge(late))) == (
        105,
        "Challenge expired",
    )
    assert (await gw.fault("LJ.XMLRPC.getinbox", by_challenge("c0:never"))).faultCode == 101


async def test_login_faults(gw: Rig) -> None:
    inbox = "LJ.XMLRPC.getinbox"
    assert code_and_text(await gw.fault(inbox, gw.auth(username="nobody@localhost"))) == (
        100,
        "Invalid username: nobody@localhost",
    )
    assert (await gw.fault(inbox, gw.auth(password="not the key"))).faultCode == 101
    fault = await gw.fault(inbox, gw.auth(auth_method="cookie"))
    assert fault.faultCode == 203
    assert fault.faultString.startswith("Client error: Invalid argument(s): cookie")
    assert (await gw.fault(inbox, gw.auth(auth_method="digest"))).faultCode == 203
    assert code_and_text(await gw.fault(inbox, {"password": gw.key})) == (
        200,
        "Client error: Missing required argument(s): username",
    )
    assert (await gw.fault(inbox, {"username": ME})).faultCode == 200


async def test_revoking_a_key_counts_at_once(gw: Rig) -> None:
    await gw.call("LJ.XMLRPC.getinbox", gw.auth())
    (entry,) = gw.keys.entries()
    gw.keys.revoke(entry.id)
    assert (await gw.fault("LJ.XMLRPC.getinbox", gw.auth())).faultCode == 101


async def test_failed_logins_are_limited_per_account(gw: Rig) -> None:
    for _ in range(MAX_FAILURES):
        assert (await gw.fault("LJ.XMLRPC.getinbox", gw.auth(password="x"))).faultCode == 101
    fault = await gw.fault("LJ.XMLRPC.getinbox", gw.auth())  # even with the right key
    assert code_and_text(fault) == (
        402,
        "Client error: Your IP address is temporarily banned for exceeding the login "
        f"failure rate: too many failed logins for {ME}; try again in a minute",
    )
    # a guesser sending from other loopback addresses is held back all the same
    for n in range(2, 5):
        answer = await gw.post_from(f"127.0.0.{n}", gw.auth(password=f"guess {n}"))
        assert isinstance(answer, xmlrpc.client.Fault)
        assert answer.faultCode == 402
    # a script with a username that is no account of ours is not locked out with it
    fault = await gw.fault("LJ.XMLRPC.getinbox", gw.auth(username="typo@localhost"))
    assert fault.faultCode == 100
    gw.clock.now += 61
    await gw.call("LJ.XMLRPC.getinbox", gw.auth())


async def test_unknown_usernames_are_limited_together_and_lock_out_no_account(
    gw: Rig,
) -> None:
    for n in range(MAX_FAILURES):
        auth = gw.auth(username=f"guess{n}@localhost")
        assert (await gw.fault("LJ.XMLRPC.getinbox", auth)).faultCode == 100
    auth = gw.auth(username="another@localhost")
    assert (await gw.fault("LJ.XMLRPC.getinbox", auth)).faultCode == 402
    assert (await gw.call("LJ.XMLRPC.getinbox", gw.auth()))["login"] == ME


async def test_request_faults(gw: Rig) -> None:
    send = "LJ.XMLRPC.sendmessage"
    assert code_and_text(await gw.fault("LJ.XMLRPC.nothing", gw.auth())) == (
        201,
        "Client error: Unknown method: LJ.XMLRPC.nothing",
    )
    assert (await gw.fault(send)).faultCode == 200  # no arguments at all
    assert (await gw.fault(send, "a string")).faultCode == 203
    assert code_and_text(await gw.fault(send, gw.auth(to=BOB))) == (
        200,
        "Client error: Missing required argument(s): body",
    )
    assert (await gw.fault(send, gw.auth(body="x"))).faultCode == 200  # no to
    assert (await gw.fault(send, gw.auth(to=5, body="x"))).faultCode == 203
    assert (await gw.fault(send, gw.auth(to=BOB, body="x", parent="1"))).faultCode == 203
    fault = await gw.fault(send, gw.auth(to=[BOB, "bad address@"], body="x"))
    assert fault.faultCode == 100
    assert "bad address@" in fault.faultString
    gw.api_rig.connection.disco[ROOM] = DiscoInfo(ROOM, (DiscoIdentity("conference", "text"),))
    fault = await gw.fault(send, gw.auth(to=[BOB, ROOM], body="x"))
    assert code_and_text(fault) == (
        203,
        f"Client error: Invalid argument(s): {ROOM} is a group chat, not a person",
    )
    assert (await gw.fault(send, gw.auth(to=BOB, body="x", subject="a\nb"))).faultCode == 203
    assert (await gw.fault(send, gw.auth(to=BOB, body="x", subject="s" * 256))).faultCode == 203
    fault = await gw.fault(send, gw.auth(to=BOB, body="x" * 5001))
    assert fault.faultString.startswith("Client error: Message body is too long: ")
    assert fault.faultCode == 212
    assert code_and_text(await gw.fault(send, gw.auth(to=BOB, body="  "))) == (
        213,
        "Client error: Message body is empty: the body is empty",
    )
    bad_utf8 = xmlrpc.client.Binary(b"\xff\xfe")
    assert (await gw.fault(send, gw.auth(to=BOB, body="x", subject=bad_utf8))).faultCode == 208
    assert gw.api_rig.connection.sent == []  # nothing was sent by any of these
    inbox = "LJ.XMLRPC.getinbox"
    for bad in ({"itemshow": 0}, {"itemshow": 101}, {"skip": 101}, {"gettype": 20}):
        assert (await gw.fault(inbox, gw.auth(**bad))).faultCode == 209
    assert (await gw.fault(inbox, gw.auth(itemshow="5"))).faultCode == 203
    huge = xmlrpc.client.dumps((gw.auth(lastsync=1),), inbox).replace(
        "<int>1</int>", "<int>" + "9" * 400 + "</int>"
    )
    with pytest.raises(xmlrpc.client.Fault) as info:
        await gw.post(huge.encode())
    assert info.value.faultCode == 209
    read = "LJ.XMLRPC.setmessageread"
    assert (await gw.fault(read, gw.auth())).faultCode == 200
    assert (await gw.fault(read, gw.auth(qid=["1"]))).faultCode == 203
    assert (await gw.fault(read, gw.auth(qid=[424242]))).faultCode == 203


async def test_an_internal_failure_is_a_server_error(
    gw: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gw.api_rig.api.letters, "inbox", broken)
    fault = await gw.fault("LJ.XMLRPC.getinbox", gw.auth())
    assert code_and_text(fault) == (500, "Server error: Internal server error")


async def test_bad_documents(gw: Rig) -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<methodCall><methodName>LJ.XMLRPC.getchallenge</methodName><params><param>
<value><string>&lol4;</string></value></param></params></methodCall>"""
    external = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>LJ.XMLRPC.getchallenge</methodName><params><param>
<value><string>&ext;</string></value></param></params></methodCall>"""
    for document in (laughs, external):
        with pytest.raises(xmlrpc.client.Fault) as info:
            await gw.post(document)
        assert info.value.faultCode == 203
        assert "document type declarations" in info.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as info:
        await gw.post(b"<methodCall><methodName>x</methodName>")
    assert info.value.faultCode == 203
    body = xmlrpc.client.dumps(({"username": ME, "password": gw.key},), "LJ.XMLRPC.getinbox")
    with pytest.raises(xmlrpc.client.Fault) as info:
        await gw.post(body.encode().replace(b"<string>", b"<string>\xff", 1))
    assert info.value.faultCode == 208
    with pytest.raises(xmlrpc.client.Fault) as info:
        await gw.post(body.encode().replace(b"?>", b' encoding="klingon"?>', 1))
    assert info.value.faultCode == 208
    # still answering
    assert (await gw.post(body.encode()))[0][0]["login"] == ME


async def test_send_inbox_and_read(gw: Rig) -> None:
    await gw.api_rig.receive("hello there")
    answer = await gw.call(
        "LJ.XMLRPC.sendmessage",
        gw.auth(to=["Bob@Localhost", "carol@localhost", BOB], subject="Hi", body="<i>x</i>"),
    )
    assert answer["sent_count"] == 2
    assert "last_errors" not in answer
    bob_id, carol_id = answer["msgid"]
    sent = gw.api_rig.connection.sent
    assert [(m.peer, m.subject, m.body) for m in sent] == [
        (BOB, "Hi", "<i>x</i>"),
        ("carol@localhost", "Hi", "<i>x</i>"),
    ]
    inbox = await gw.call("LJ.XMLRPC.getinbox", gw.auth(gettype=18))
    (received,) = inbox["items"]
    assert {k: v for k, v in received.items() if k != "when"} == {
        "qid": received["qid"],
        "msgid": received["qid"],
        "type": 18,
        "state": "N",
        "subject": "",
        "body": "hello there",
        "from": BOB,
    }
    sent_items = (await gw.call("LJ.XMLRPC.getinbox", gw.auth(gettype=19)))["items"]
    assert [(i["qid"], i["to"], i["type"]) for i in sent_items] == [
        (carol_id, "carol@localhost", 19),
        (bob_id, BOB, 19),
    ]
    reply = await gw.call(
        "LJ.XMLRPC.sendmessage", gw.auth(to=BOB, body="re", parent=received["msgid"])
    )
    assert gw.api_rig.connection.sent[-1].reply_to == (
        gw.api_rig.core.store.get_by_id(received["msgid"]).uid  # type: ignore[union-attr]
    )
    assert reply["sent_count"] == 1
    result = await gw.call("LJ.XMLRPC.setmessageread", gw.auth(messageid=[received["msgid"]]))
    assert result == {"result": [{"msgid": received["msgid"], "result": "set read"}]}
    assert len(gw.api_rig.connection.displayed) == 1
    again = await gw.call("LJ.XMLRPC.setmessageread", gw.auth(messageid=[received["msgid"]]))
    assert again == {"result": [{"msgid": received["msgid"], "result": "already red"}]}
    by_qid = await gw.call("LJ.XMLRPC.setmessageread", gw.auth(qid=[received["qid"]]))
    assert by_qid == {"result": [{"qid": received["qid"], "result": "set read"}]}
    (now_read,) = (await gw.call("LJ.XMLRPC.getinbox", gw.auth(gettype=18)))["items"]
    assert now_read["state"] == "R"


async def test_a_send_whose_client_goes_away_is_finished(
    gw: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client closing its connection cancels the request's handler (a long poll's
    must stop), but not a send under way: every recipient still gets the message."""
    from chinwag.core.messaging import MessagingService

    entered, go_on, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()
    original = MessagingService.send
    done = 0

    async def slow_send(self: MessagingService, *args: Any, **kwargs: Any) -> Any:
        nonlocal done
        entered.set()
        await go_on.wait()
        try:
            return await original(self, *args, **kwargs)
        finally:
            done += 1
            if done == 2:
                finished.set()

    monkeypatch.setattr(MessagingService, "send", slow_send)
    body = xmlrpc.client.dumps(
        (gw.auth(to=[BOB, "carol@localhost"], body="left halfway"),), "LJ.XMLRPC.sendmessage"
    ).encode()
    port = int(gw.url.split(":")[2].split("/")[0])
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /interface/xmlrpc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    async with asyncio.timeout(10):
        await entered.wait()
    writer.close()
    await writer.wait_closed()
    go_on.set()
    async with asyncio.timeout(10):
        await finished.wait()
    sent = gw.api_rig.connection.sent
    assert [(m.peer, m.body) for m in sent] == [
        (BOB, "left halfway"),
        ("carol@localhost", "left halfway"),
    ]
