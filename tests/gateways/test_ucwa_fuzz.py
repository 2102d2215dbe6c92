"""The REST gateway fuzzed from its own OpenAPI document with schemathesis: every
operation, with data that fits the document and data that does not (positive and
negative), against the real gateway over HTTP (aiohttp on 127.0.0.1, the API layer, the
real core and store, a scripted XMPP connection: tests/api/api_rig.py) with a key of both
scopes. Each answer must be no 5xx, have a status the operation lists, a Content-Type
and headers it names, and a body its schema accepts; a method a path does not have is 405
with Allow. Afterwards the gateway still answers and a plain send still goes out.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized
(the same examples every run, so CI cannot flake), no example database (nothing written
into the checkout). Half of the examples have their path's ids replaced with those of a
real application, conversation, invitation and message (made again whenever the fuzz
deleted them), so the fuzz reaches the code behind the 404s. A poll's timeout is cut to 0
(a poll waiting its 180 s would only make the fuzz slow; the long poll has its own tests)."""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.api_rig import BOB, ME, ApiLayerRig
from chinwag.gateways.keys import GatewayKeys, KeyKind
from chinwag.gateways.server import Gateways
from chinwag.gateways.ucwa import UcwaGateway
from chinwag.gateways.ucwa_openapi import document
from gateways.ucwa_conformance import METHODS, Conformance, Recorder

#: Examples per operation and generation mode (more for a longer hunt by hand:
#: CHINWAG_FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("CHINWAG_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class Real:
    """The ids of a real application, conversation, invitation and message, made anew
    when the fuzz deleted them (a stopped conversation, a deleted application)."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.base = base
        self.http = session
        self.msg = ""

    def ids(self) -> dict[str, str]:
        created = self.http.post(
            self.base + "/ucwa/v1/applications",
            json={"userAgent": "fuzz", "endpointId": "fuzz"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        app = created.json()
        start = app["_embedded"]["communication"]["_links"]["startMessaging"]["href"]
        listed = self.http.get(
            self.base + app["_embedded"]["communication"]["_links"]["conversations"]["href"],
            timeout=30,
        ).json()["_embedded"]["conversation"]
        invitation = self.http.post(
            self.base + start, json={"to": f"xmpp:{BOB}"}, timeout=30
        ).headers["Location"]
        if not listed:
            listed = self.http.get(
                self.base + app["_embedded"]["communication"]["_links"]["conversations"]["href"],
                timeout=30,
            ).json()["_embedded"]["conversation"]
        conversation = listed[0]["_links"]["self"]["href"]
        if not self.msg:
            sent = self.http.post(
                self.base + conversation + "/messaging/sendMessage",
                data=b"the fuzz's message",
                headers={"Content-Type": "text/plain"},
                timeout=30,
            )
            assert sent.status_code == 201, sent.text
            self.msg = sent.headers["Location"].rsplit("/", 1)[1]
        return {
            "app": app["id"],
            "conv": conversation.rsplit("/", 1)[1],
            "inv": invitation.rsplit("/", 1)[1],
            "msg": self.msg,
        }


def adjust(case: Case, real: dict[str, str] | None) -> None:
    if real is not None and case.path_parameters:
        for name in case.path_parameters:
            case.path_parameters[name] = real[name]
    if case.operation.definition.raw.get("operationId") == "getEvents" and case.query:
        timeout = case.query.get("timeout")
        if isinstance(timeout, int) or (isinstance(timeout, str) and timeout.isdigit()):
            case.query["timeout"] = 0


def fuzz(base: str, secret: str) -> list[str]:
    """Runs the fuzz (in a thread: requests is blocking); the failures, one line each."""
    schema = schemathesis.openapi.from_dict(document())
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret}"
    real = Real(base, session)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 18
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.query or operation.body:  # (else there is nothing to make wrong)
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            run = _runner(operation.as_strategy(generation_mode=mode), base, session, real)
            try:
                run()
            except Exception as exc:  # every operation's failure, not the first only
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def _runner(strategy: Any, base: str, session: requests.Session, real: Real) -> Callable[[], None]:
    @SETTINGS
    @given(case=strategy, use_real=st.booleans())
    def run(case: Case, use_real: bool) -> None:
        adjust(case, real.ids() if use_real else None)
        case.call_and_validate(base_url=base, session=session, checks=CHECKS, timeout=30)

    return run


def unsupported_methods(base: str, secret: str) -> list[str]:
    """Each path with each method it does not have: 405 with Allow naming those it has."""
    doc = document()
    problems = []
    for path, item in doc["paths"].items():
        has = {m.upper() for m in item if m in METHODS}
        url = base + path.replace("{", "x").replace("}", "")
        for method in {"GET", "POST", "PUT", "DELETE", "PATCH"} - has:
            reply = requests.request(
                method, url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
            )
            allow = set(reply.headers.get("Allow", "").split(","))
            if reply.status_code != 405 or allow != has:
                problems.append(f"{method} {path}: {reply.status_code}, Allow {allow}")
            elif reply.json()["code"] != "MethodNotAllowed":
                problems.append(f"{method} {path}: {reply.text}")
    return problems


async def test_the_gateway_fuzzed_from_its_openapi_document(tmp_path: Path) -> None:
    # Hypothesis's caches (of constants, of Unicode data) go here, not into the checkout.
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    api_rig = await ApiLayerRig.start(tmp_path)
    keys = GatewayKeys(tmp_path / "gateway-keys.json")
    secret = keys.create(KeyKind.REST, ME)[1]  # (both scopes)
    gateways = Gateways(tmp_path)
    app = UcwaGateway(api_rig.api, keys).app()
    recorder = Recorder()
    recorder.install(app)
    try:
        port = await gateways.start("rest", app, 0)
        base = f"http://127.0.0.1:{port}"
        failures = await asyncio.to_thread(fuzz, base, secret)
        assert failures == [], "\n\n".join(failures)
        assert await asyncio.to_thread(unsupported_methods, base, secret) == []
        # What the fuzz saw, held to the document by the tests' own checker too.
        assert len(recorder.seen) > 18 * EXAMPLES
        assert Conformance().all_problems(recorder.seen) == []
        statuses = {seen.status for seen in recorder.seen}
        assert {200, 201, 204, 400, 404, 405} <= statuses

        # Still up, and a plain send still goes out.
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {secret}"
        real = await asyncio.to_thread(Real(base, session).ids)
        before = len(api_rig.connection.sent)
        send = (
            f"{base}/ucwa/v1/applications/{real['app']}/communication/conversations/"
            f"{real['conv']}/messaging/sendMessage?"
            + urllib.parse.urlencode({"operationId": "after-the-fuzz"})
        )
        sent = await asyncio.to_thread(
            session.post,
            send,
            data="still here",
            headers={"Content-Type": "text/plain"},
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
        assert len(api_rig.connection.sent) == before + 1
        assert api_rig.connection.sent[-1].body == "still here"
        assert api_rig.connection.sent[-1].peer == BOB
    finally:
        await gateways.close()
        await api_rig.close()
        set_hypothesis_home_dir(None)
