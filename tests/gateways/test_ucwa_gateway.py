"""The REST gateway over HTTP (gateways.md section 2) with aiohttp's client, over the API
layer's rig (a real core and store, a scripted connection): keys and scopes (401, 403),
every status of the spec, resources with rel/_links/_embedded, data URIs and UCWA dates,
operation ids that never send twice, ack semantics, the long poll's timeout, 413, and
503 while signed out."""

from __future__ import annotations

import asyncio
import io
import re
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from api.api_rig import BOB, ME, ApiLayerRig
from chinwag.api.ucwa import EventQueue
from chinwag.gateways.keys import INITIATE, RECEIVE, GatewayKeys, KeyKind
from chinwag.gateways.server import Gateways
from chinwag.gateways.ucwa import UcwaGateway, data_uri, html_to_text, parse_data_uri
from chinwag.gateways.xmlrpc import MAX_FAILURES
from gateways.ucwa_conformance import Conformance, Recorder

JSON = "application/json"
UCWA_JSON = "application/vnd.microsoft.com.ucwa+json"


class Reply:
    def __init__(self, status: int, headers: Any, text: str, body: Any) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self.body = body


class Rig:
    def __init__(
        self, api_rig: ApiLayerRig, gateways: Gateways, base: str, keys: dict[str, str]
    ) -> None:
        self.api_rig = api_rig
        self.gateways = gateways
        self.base = base
        self.keys = keys
        self.http = ClientSession()
        self.recorder = Recorder()
        self.gateway: UcwaGateway | None = None

    async def request(
        self,
        method: str,
        href: str,
        *,
        key: str | None = "all",
        json: Any = None,
        data: Any = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> Reply:
        headers = {} if accept is None else {"Accept": accept}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = href if href.startswith("http") else self.base + href
        async with self.http.request(method, url, headers=headers, json=json, data=data) as r:
            text = await r.text()
            body = await r.json(content_type=None) if text else None
            return Reply(r.status, r.headers, text, body)

    async def application(self, endpoint: str = "e1") -> dict[str, Any]:
        reply = await self.request(
            "POST", "/ucwa/v1/applications", json={"userAgent": "test", "endpointId": endpoint}
        )
        assert reply.status == 201, reply.text
        return dict(reply.body)

    async def conversation(self, app: dict[str, Any], peer: str = BOB) -> dict[str, Any]:
        """The messaging resource of a conversation started with ``peer``."""
        start = app["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
        reply = await self.request("POST", start, json={"to": f"xmpp:{peer}"})
        assert reply.status == 201, reply.text
        batch = await self.events(app)
        for event in all_events(batch):
            if event["link"]["rel"] == "messaging":
                return dict(event["_embedded"]["messaging"])
        raise AssertionError(f"no messaging resource in {batch}")

    async def events(self, app: dict[str, Any], ack: int | None = None, timeout: int = 10) -> Any:
        href = app["_links"]["events"]["href"].split("?")[0]
        query = f"?timeout={timeout}" + ("" if ack is None else f"&ack={ack}")
        reply = await self.request("GET", href + query)
        assert reply.status == 200, reply.text
        return reply.body


def all_events(batch: Any) -> list[dict[str, Any]]:
    return [event for sender in batch["sender"] for event in sender["events"]]


def next_ack(batch: Any) -> int:
    query = urllib.parse.urlparse(batch["_links"]["next"]["href"]).query
    return int(urllib.parse.parse_qs(query)["ack"][0])


def assert_error(reply: Reply, status: int, code: str, subcode: str | None = None) -> None:
    assert reply.status == status, reply.text
    assert set(reply.body) == {"code", "subcode", "message"}
    assert reply.body["code"] == code
    if subcode is not None:
        assert reply.body["subcode"] == subcode
    assert reply.body["message"]


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Rig]:
    api_rig = await ApiLayerRig.start(tmp_path)
    keys = GatewayKeys(tmp_path / "gateway-keys.json")
    made = {
        "all": keys.create(KeyKind.REST, ME)[1],
        "initiate": keys.create(KeyKind.REST, ME, [INITIATE])[1],
        "receive": keys.create(KeyKind.REST, ME, [RECEIVE])[1],
        "xmlrpc": keys.create(KeyKind.XMLRPC, ME)[1],
    }
    gateways = Gateways(tmp_path)
    gateway = UcwaGateway(api_rig.api, keys)
    app = gateway.app()
    recorder = Recorder()
    recorder.install(app)
    port = await gateways.start("rest", app, 0)
    rig = Rig(api_rig, gateways, f"http://127.0.0.1:{port}", made)
    rig.recorder = recorder
    rig.gateway = gateway
    try:
        yield rig
    finally:
        await rig.http.close()
        await gateways.close()
        await api_rig.close()
    # Every answer a test saw is as the OpenAPI document says.
    assert recorder.seen
    assert Conformance().all_problems(recorder.seen) == []


async def test_no_or_a_bad_key_is_401_and_a_missing_scope_403(gw: Rig) -> None:
    path = "/ucwa/v1/applications"
    body = {"userAgent": "t", "endpointId": "e"}
    for key in (None, "wrong", "xmlrpc"):
        reply = await gw.request("POST", path, key=key, json=body)
        assert_error(reply, 401, "Unauthorized")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(await gw.request("POST", path, key="receive", json=body), 403, "Forbidden")
    app = await gw.application()
    events = app["_links"]["events"]["href"]
    reply = await gw.request("GET", events + "&timeout=0", key="initiate")
    assert_error(reply, 403, "Forbidden", "InsufficientScope")
    assert (await gw.request("GET", events + "&timeout=0", key="receive")).status == 200


async def test_an_application_and_the_same_endpoint_again(gw: Rig) -> None:
    reply = await gw.request(
        "POST",
        "/ucwa/v1/applications",
        json={"USERAGENT": "bot/1.0", "endpointid": "abc", "Culture": "en-GB"},
        content_type=UCWA_JSON,
    )
    assert reply.status == 201, reply.text
    app = reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Location"] == app["_links"]["self"]["href"]
    assert (app["rel"], app["userAgent"], app["endpointId"], app["culture"]) == (
        "application",
        "bot/1.0",
        "abc",
        "en-GB",
    )
    me = app["_embedded"]["me"]
    assert (me["rel"], me["uri"]) == ("me", f"xmpp:{ME}")
    assert "makeMeAvailable" in me["_links"]
    communication = app["_embedded"]["communication"]
    assert {"self", "startMessaging", "conversations"} <= set(communication["_links"])
    for resource in (app, me, communication):
        got = await gw.request("GET", resource["_links"]["self"]["href"], accept=UCWA_JSON)
        assert got.headers["Content-Type"].startswith(UCWA_JSON)
        assert got.status == 200
        assert got.body["rel"] == resource["rel"]
    again = await gw.request(
        "POST", "/ucwa/v1/applications", json={"userAgent": "x", "endpointId": "abc"}
    )
    assert again.status == 201
    assert again.body["_links"]["self"] == app["_links"]["self"]

    for bad in (
        {"userAgent": "x" * 101, "endpointId": "e"},
        {"userAgent": "x", "endpointId": "e" * 101},
        {"userAgent": "x"},
        [1, 2],
    ):
        reply = await gw.request("POST", "/ucwa/v1/applications", json=bad)
        assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    reply = await gw.request("POST", "/ucwa/v1/applications", data="{", content_type=JSON)
    assert_error(reply, 400, "BadRequest")
    deleted = await gw.request("DELETE", app["_links"]["self"]["href"])
    assert deleted.status == 204
    assert_error(await gw.request("GET", app["_links"]["self"]["href"]), 404, "NotFound")
    assert_error(await gw.request("GET", "/ucwa/v1/nothing"), 404, "NotFound")


async def test_make_me_available_then_409(gw: Rig) -> None:
    app = await gw.application()
    href = app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    assert (await gw.request("POST", href)).status == 204
    assert_error(await gw.request("POST", href), 409, "Conflict", "AlreadyExists")
    me = await gw.request("GET", app["_embedded"]["me"]["_links"]["self"]["href"])
    assert "makeMeAvailable" not in me.body["_links"]


async def test_ours_is_read_with_either_scope_what_came_in_only_with_receive(gw: Rig) -> None:
    app = await gw.application()
    messaging = await gw.conversation(app)
    send = messaging["_links"]["sendMessage"]["href"]
    reply = await gw.request("POST", send, key="initiate", data="hi", content_type="text/plain")
    assert reply.status == 201, reply.text
    for key in ("initiate", "receive", "all"):
        got = await gw.request("GET", reply.headers["Location"], key=key)
        assert (got.status, got.body["direction"]) == (200, "Outgoing"), (key, got.text)

    first = await gw.events(app)
    await gw.api_rig.receive("an answer")
    batch = await gw.events(app, next_ack(first))
    (incoming,) = [e for e in all_events(batch) if e["link"]["rel"] == "message"]
    href = incoming["link"]["href"]
    reply = await gw.request("GET", href, key="initiate")
    assert_error(reply, 403, "Forbidden", "InsufficientScope")
    assert "Conversations.Receive" in reply.body["message"]
    for key in ("receive", "all"):
        got = await gw.request("GET", href, key=key)
        assert (got.status, got.body["direction"]) == (200, "Incoming"), (key, got.text)


async def test_a_conversation_its_first_message_and_the_events(gw: Rig) -> None:
    app = await gw.application()
    start = app["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
    reply = await gw.request(
        "POST",
        start,
        json={
            "operationId": "op-1",
            "to": f"sip:{BOB}",
            "subject": "Plans",
            "importance": "Normal",
            "_links": {"message": {"href": "data:text/plain;charset=utf-8,hello%20there"}},
        },
    )
    assert reply.status == 201, reply.text
    invitation = (await gw.request("GET", reply.headers["Location"])).body
    assert (invitation["rel"], invitation["to"], invitation["operationId"]) == (
        "messagingInvitation",
        f"xmpp:{BOB}",
        "op-1",
    )
    assert parse_data_uri(invitation["_links"]["message"]["href"], "m") == "hello there"
    (sent,) = gw.api_rig.connection.sent
    assert (sent.peer, sent.body) == (BOB, "hello there")

    batch = await gw.events(app)
    kinds = [(e["link"]["rel"], e["type"]) for e in all_events(batch)]
    assert kinds == [
        ("messagingInvitation", "started"),
        ("conversation", "added"),
        ("messaging", "added"),
    ]
    assert [s["rel"] for s in batch["sender"]] == ["communication", "conversation"]
    messaging = all_events(batch)[-1]["_embedded"]["messaging"]
    assert {"self", "sendMessage", "setIsTyping", "stopMessaging"} <= set(messaging["_links"])
    conversation = all_events(batch)[1]["_embedded"]["conversation"]
    assert conversation["subject"] == "Plans"

    gw.api_rig.connection.listener.on_acked(sent.uid, BOB)
    batch = await gw.events(app, next_ack(batch))
    done = all_events(batch)
    assert [(e["link"]["rel"], e["type"], e.get("status")) for e in done] == [
        ("message", "completed", "Success"),
        ("messagingInvitation", "completed", "Success"),
    ]
    for bad in ({"to": BOB}, {"to": "xmpp:"}, {"to": f"xmpp:{BOB}", "importance": "Huge"}):
        assert_error(await gw.request("POST", start, json=bad), 400, "BadRequest")
    bad_uri = {"to": f"xmpp:{BOB}", "_links": {"message": {"href": "data:image/png,xx"}}}
    assert_error(await gw.request("POST", start, json=bad_uri), 400, "BadRequest")
    assert_error(
        await gw.request("POST", start, json={"to": f"xmpp:{BOB}", "operationId": "op-1"}),
        409,
        "Conflict",
        "AlreadyExists",
    )


async def test_send_message_once_per_operation_id(gw: Rig) -> None:
    app = await gw.application()
    messaging = await gw.conversation(app)
    send = messaging["_links"]["sendMessage"]["href"]
    reply = await gw.request(
        "POST", send + "?operationId=X", data="hi Bob", content_type="text/plain"
    )
    assert reply.status == 201, reply.text
    location = reply.headers["Location"]
    assert re.search(r"/messaging/messages/\d+$", location)
    got = await gw.request("GET", location)
    assert (got.body["rel"], got.body["direction"], got.body["operationId"]) == (
        "message",
        "Outgoing",
        "X",
    )
    assert parse_data_uri(got.body["_links"]["plainMessage"]["href"], "m") == "hi Bob"
    assert re.search(r'"timeStamp": "\\/Date\(\d+\)\\/"', got.text)
    again = await gw.request(
        "POST", send + "?operationId=X", data="hi Bob", content_type="text/plain"
    )
    assert_error(again, 409, "Conflict", "AlreadyExists")
    assert [m.body for m in gw.api_rig.connection.sent] == ["hi Bob"]

    html = "<p>Hello <b>Bob</b> &amp; co</p><p>bye</p>"
    reply = await gw.request("POST", send + "?operationId=Y", data=html, content_type="text/html")
    assert reply.status == 201
    assert gw.api_rig.connection.sent[-1].body == "Hello Bob & co\nbye"

    too_long = "x" * 65_537
    reply = await gw.request(
        "POST", send + "?operationId=Z", data=too_long, content_type="text/plain"
    )
    assert_error(reply, 413, "EntityTooLarge")
    reply = await gw.request(
        "POST", send + "?operationId=Z", data="x" * 65_536, content_type="text/plain"
    )
    assert reply.status == 201
    reply = await gw.request("POST", send + "?operationId=W", data="{}", content_type=JSON)
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    reply = await gw.request("POST", send, data=" ", content_type="text/plain")
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    huge = await gw.request(
        "POST", send, data=io.BytesIO(b"x" * (1024 * 1024 + 1)), content_type="text/plain"
    )
    assert_error(huge, 413, "EntityTooLarge")
    assert len(gw.api_rig.connection.sent) == 3

    batch = await gw.events(app, None, 0)
    completed = [e for e in all_events(batch) if e["link"]["rel"] == "message"]
    assert completed == []  # (not acknowledged by the server yet)
    for message in gw.api_rig.connection.sent:
        gw.api_rig.connection.listener.on_acked(message.uid, BOB)
    seen: list[dict[str, Any]] = []
    ack = next_ack(batch)
    while len(seen) < 3:
        batch = await gw.events(app, ack)
        seen += [e for e in all_events(batch) if e["link"]["rel"] == "message"]
        ack = next_ack(batch)
    assert {e["link"]["href"] for e in seen} >= {location}
    assert {e["status"] for e in seen} == {"Success"}


async def test_typing_and_stop(gw: Rig) -> None:
    app = await gw.application()
    messaging = await gw.conversation(app)
    links = messaging["_links"]
    assert (await gw.request("POST", links["setIsTyping"]["href"])).status == 204
    assert (await gw.request("POST", links["stopMessaging"]["href"])).status == 204
    assert gw.api_rig.connection.chat_states == [(BOB, "composing"), (BOB, "gone")]
    reply = await gw.request(
        "POST", links["sendMessage"]["href"], data="x", content_type="text/plain"
    )
    assert_error(reply, 404, "NotFound")
    assert_error(await gw.request("POST", links["setIsTyping"]["href"]), 404, "NotFound")


async def test_incoming_messages_typing_and_ack(gw: Rig) -> None:
    app = await gw.application()
    me = app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    assert (await gw.request("POST", me)).status == 204
    first = await gw.events(app)
    await gw.api_rig.receive("ünïcode & 100% fine")
    batch = await gw.events(app, next_ack(first))
    events = all_events(batch)
    assert [(e["link"]["rel"], e["type"]) for e in events] == [
        ("conversation", "added"),
        ("messaging", "added"),
        ("message", "added"),
    ]
    message = events[-1]["_embedded"]["message"]
    assert message["direction"] == "Incoming"
    plain = message["_links"]["plainMessage"]["href"]
    assert plain.startswith("data:text/plain;charset=utf-8,")
    assert parse_data_uri(plain, "m") == "ünïcode & 100% fine"
    assert events[-1]["link"]["href"] == message["_links"]["self"]["href"]
    got = await gw.request("GET", message["_links"]["self"]["href"], key="receive")
    assert got.body["direction"] == "Incoming"
    # not acknowledged: the same again
    assert await gw.events(app, next_ack(first)) == batch
    gw.api_rig.connection.listener.on_chat_state(BOB, "composing")
    typing = await gw.events(app, next_ack(batch))
    (event,) = all_events(typing)
    assert (event["link"]["rel"], event["type"]) == ("typingParticipants", "updated")
    participants = event["_embedded"]["typingParticipants"]["_embedded"]["participant"]
    assert [p["uri"] for p in participants] == [f"xmpp:{BOB}"]
    events_href = app["_links"]["events"]["href"].split("?")[0]
    reply = await gw.request("GET", events_href + f"?ack={next_ack(typing) + 1}")
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    reply = await gw.request("GET", events_href + "?ack=x")
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")


async def test_the_long_poll_timeout_is_honoured(gw: Rig) -> None:
    app = await gw.application()
    href = app["_links"]["events"]["href"].split("?")[0]
    reply = await gw.request("GET", href + "?ack=0&timeout=1")
    assert reply.status == 200
    assert reply.body["sender"] == []
    assert next_ack(reply.body) == 0
    reply = await gw.request("GET", href + "?ack=0&timeout=181")
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")


async def test_a_poll_answers_as_soon_as_an_event_comes(gw: Rig) -> None:
    app = await gw.application()
    href = app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    poll = asyncio.create_task(gw.events(app, 0, 180))
    await asyncio.sleep(0)
    assert (await gw.request("POST", href)).status == 204
    async with asyncio.timeout(10):
        batch = await poll
    assert [e["link"]["rel"] for e in all_events(batch)] == ["me"]


async def test_signed_out_is_503(gw: Rig) -> None:
    app = await gw.application()
    messaging = await gw.conversation(app)
    await gw.api_rig.core.sign_out(ME)
    send = messaging["_links"]["sendMessage"]["href"]
    reply = await gw.request("POST", send, data="hello?", content_type="text/plain")
    assert_error(reply, 503, "ServiceUnavailable")
    start = app["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
    first = {"href": data_uri("hi")}
    reply = await gw.request(
        "POST", start, json={"to": f"xmpp:{BOB}", "_links": {"message": first}}
    )
    assert_error(reply, 503, "ServiceUnavailable")
    assert gw.api_rig.connection.sent == []


async def test_inputs_that_were_500_are_400(gw: Rig) -> None:
    """Found probing where the fuzz (test_ucwa_fuzz.py) does not reach: each was a 500
    with a traceback (int("²") after "²".isdigit(), a lone surrogate reaching the JSON
    answer, json's RecursionError, html.parser's AssertionError)."""
    app = await gw.application()
    events = app["_links"]["events"]["href"].split("?")[0]
    for query in ("ack=%C2%B2", "timeout=%C2%B2", "ack=%D9%A1"):
        reply = await gw.request("GET", f"{events}?{query}")
        assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    start = app["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
    for path, body in (
        ("/ucwa/v1/applications", '{"userAgent": "\\ud800", "endpointId": "e2"}'),
        (start, '{"to": "xmpp:\\udfff@localhost"}'),
        (start, '{"to": "xmpp:bob@localhost", "subject": "\\ud800"}'),
        ("/ucwa/v1/applications", "[" * 100_000 + "]" * 100_000),
    ):
        reply = await gw.request("POST", path, data=body, content_type=JSON)
        assert_error(reply, 400, "BadRequest", "DeserializationFailure")
    marked = "<![foo[ x ]]>"
    reply = await gw.request(
        "POST",
        start,
        json={"to": f"xmpp:{BOB}", "_links": {"message": "data:text/html," + marked}},
    )
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    messaging = await gw.conversation(app)
    send = messaging["_links"]["sendMessage"]["href"]
    reply = await gw.request("POST", send, data=marked, content_type="text/html")
    assert_error(reply, 400, "BadRequest", "ParameterValidationFailure")
    assert gw.api_rig.connection.sent == []


async def test_an_internal_error_is_500(gw: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    app = await gw.application()

    def broken(*_args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("chinwag.api.ucwa.UcwaApi.me", broken)
    assert_error(await gw.request("GET", app["_links"]["self"]["href"]), 500, "ServiceFailure")


async def test_failed_logins_are_limited_per_client(gw: Rig) -> None:
    for _ in range(MAX_FAILURES):
        assert_error(
            await gw.request("GET", "/ucwa/v1/applications/x", key="bad"), 401, "Unauthorized"
        )
    reply = await gw.request("GET", "/ucwa/v1/applications/x")
    assert_error(reply, 429, "TooManyRequests")


async def test_a_long_poll_ends_when_chinwag_closes(
    gw: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await gw.application()
    waiting = asyncio.Event()
    wait = EventQueue.wait

    async def wait_and_tell(self: EventQueue, seconds: float) -> None:
        waiting.set()
        await wait(self, seconds)

    monkeypatch.setattr(EventQueue, "wait", wait_and_tell)
    poll = asyncio.create_task(gw.request("GET", app["_links"]["events"]["href"] + "&timeout=180"))
    async with asyncio.timeout(10):
        await waiting.wait()
        await gw.gateways.close()
        reply = await poll
    assert_error(reply, 503, "ServiceUnavailable")


async def test_every_operation_answers_as_the_openapi_document_says(gw: Rig) -> None:
    """A script's whole life over every operation of the document; each answer is held to
    the document (the fixture checks every answer of every test here the same way)."""
    assert (await gw.request("GET", "/ucwa/openapi.json", key=None)).status == 200
    app = await gw.application()
    links = app["_links"]
    me = app["_embedded"]["me"]["_links"]
    communication = app["_embedded"]["communication"]["_links"]
    for href in (links["self"], me["self"], communication["self"]):
        assert (await gw.request("GET", href["href"], accept=UCWA_JSON)).status == 200
    assert (await gw.request("POST", me["makeMeAvailable"]["href"], json={})).status == 204
    reply = await gw.request(
        "POST",
        communication["startMessaging"]["href"],
        json={"to": f"xmpp:{BOB}", "_links": {"message": data_uri("hi")}},
    )
    assert reply.status == 201
    assert (await gw.request("GET", reply.headers["Location"])).status == 200
    conversations = await gw.request("GET", communication["conversations"]["href"])
    (conversation,) = conversations.body["_embedded"]["conversation"]
    assert (await gw.request("GET", conversation["_links"]["self"]["href"])).status == 200
    messaging = (await gw.request("GET", conversation["_links"]["messaging"]["href"])).body
    send = messaging["_links"]["sendMessage"]["href"]
    sent = await gw.request("POST", send, data="<i>hello</i>", content_type="text/html")
    assert sent.status == 201
    assert (await gw.request("GET", sent.headers["Location"])).status == 200
    typing = messaging["_links"]["typingParticipants"]["href"]
    assert (await gw.request("GET", typing)).status == 200
    assert (await gw.request("POST", messaging["_links"]["setIsTyping"]["href"])).status == 204
    await gw.api_rig.receive("an answer")
    for message in gw.api_rig.connection.sent:
        gw.api_rig.connection.listener.on_acked(message.uid, BOB)
    batch = await gw.events(app, 0, 0)
    assert {e["link"]["rel"] for e in all_events(batch)} >= {"message", "messagingInvitation"}
    assert (await gw.request("POST", messaging["_links"]["stopMessaging"]["href"])).status == 204
    batch = await gw.events(app, next_ack(batch), 0)
    assert (await gw.request("DELETE", links["self"]["href"])).status == 204
    assert_error(await gw.request("GET", links["self"]["href"]), 404, "NotFound")
    reply = await gw.request("PUT", links["self"]["href"])
    assert_error(reply, 405, "MethodNotAllowed")
    assert set(reply.headers["Allow"].split(",")) == {"GET", "DELETE"}
    assert (await gw.request("HEAD", communication["self"]["href"])).status == 405
    assert_error(await gw.request("GET", "/ucwa/v2"), 404, "NotFound")

    seen = {(s.method, s.template) for s in gw.recorder.seen if s.template is not None}
    assert seen >= Conformance().operations()


async def raw_request(gw: Rig, method: str, href: str, body: bytes = b"", **headers: str) -> Any:
    """A request on a socket of its own (the test closes it); returns the writer."""
    port = int(gw.base.rsplit(":", 1)[1])
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = {
        "Host": f"127.0.0.1:{port}",
        "Authorization": f"Bearer {gw.keys['all']}",
        "Content-Length": str(len(body)),
        **headers,
    }
    lines = [f"{method} {href} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    writer.write("\r\n".join(lines).encode() + body)
    await writer.drain()
    return writer


async def test_a_poll_whose_client_goes_away_stops_waiting(gw: Rig) -> None:
    """Not held until its timeout (180 s here): the handler is cancelled when the client
    closes its connection, and the gateway's count of waiting polls goes back to 0."""
    app = await gw.application()
    assert gw.gateway is not None
    ucwa = gw.gateway.ucwa
    writers = [
        await raw_request(gw, "GET", app["_links"]["events"]["href"] + "&timeout=180")
        for _ in range(3)
    ]
    async with asyncio.timeout(10):
        await ucwa.until_polls(3)
    for writer in writers:
        writer.close()
    async with asyncio.timeout(10):
        await ucwa.until_polls(0)
    # The gateway is well: a poll answers as usual.
    assert (await gw.events(app, 0, 0))["rel"] == "events"


async def test_a_send_whose_client_goes_away_is_finished(
    gw: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message being sent when its client leaves is sent whole, and its operationId
    stays used (the client trying again gets 409, not a second message)."""
    app = await gw.application()
    messaging = await gw.conversation(app)
    send = messaging["_links"]["sendMessage"]["href"]
    entered, go_on, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()
    from chinwag.core.messaging import MessagingService

    original = MessagingService.send

    async def slow_send(self: MessagingService, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        await go_on.wait()
        try:
            return await original(self, *args, **kwargs)
        finally:
            finished.set()

    monkeypatch.setattr(MessagingService, "send", slow_send)
    writer = await raw_request(
        gw, "POST", send + "?operationId=once", b"left halfway", **{"Content-Type": "text/plain"}
    )
    async with asyncio.timeout(10):
        await entered.wait()
    writer.close()
    await writer.wait_closed()
    go_on.set()
    async with asyncio.timeout(10):
        await finished.wait()
    assert [m.body for m in gw.api_rig.connection.sent] == ["left halfway"]
    again = await gw.request(
        "POST", send + "?operationId=once", data="left halfway", content_type="text/plain"
    )
    assert_error(again, 409, "Conflict", "AlreadyExists")
    assert len(gw.api_rig.connection.sent) == 1


def test_data_uris_and_html() -> None:
    assert data_uri("a b/é") == "data:text/plain;charset=utf-8,a%20b%2F%C3%A9"
    assert parse_data_uri("data:text/plain;base64,aMOp", "m") == "hé"
    assert parse_data_uri("data:,plain", "m") == "plain"
    assert parse_data_uri("data:text/html,%3Cb%3Ebold%3C%2Fb%3E", "m") == "bold"
    assert html_to_text("a<br>b<script>x</script>") == "a\nb"
