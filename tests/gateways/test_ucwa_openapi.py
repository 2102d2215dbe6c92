"""The REST gateway's OpenAPI document (gateways.md section 2) is kept true: every route
of the gateway's aiohttp app is in it with its methods and nothing else is; it is valid
OpenAPI 3.1 (the OpenAPI Initiative's schema for 3.1, which schemathesis ships, every
schema in it valid JSON Schema 2020-12, every $ref found, path parameters as the paths
name them) and loads in schemathesis; it is served at /ucwa/openapi.json with no key.
That the gateway's answers conform to it is checked on every answer of
test_ucwa_gateway.py (its fixture) and by the fuzz in test_ucwa_fuzz.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from aiohttp import ClientSession, web
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from api.api_rig import ApiLayerRig
from chinwag.gateways.keys import GatewayKeys
from chinwag.gateways.server import Gateways
from chinwag.gateways.ucwa import UcwaGateway
from chinwag.gateways.ucwa_openapi import document, document_bytes
from gateways.ucwa_conformance import METHODS, Conformance


@pytest.fixture
async def rest_app(tmp_path: Path) -> AsyncIterator[web.Application]:
    api_rig = await ApiLayerRig.start(tmp_path)
    try:
        yield UcwaGateway(api_rig.api, GatewayKeys(tmp_path / "keys.json")).app()
    finally:
        await api_rig.close()


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        found.add((route.method, resource.canonical))
    return found


async def test_every_route_is_in_the_document_and_every_operation_a_route(
    rest_app: web.Application,
) -> None:
    routes = routes_of(rest_app)
    operations = Conformance().operations()
    assert routes - operations == set(), "routes the document does not have"
    assert operations - routes == set(), "operations that are no route"
    assert ("GET", "/ucwa/openapi.json") in routes
    assert not any(method == "HEAD" for method, _path in routes)


def schemas_in(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every JSON Schema in the document (components', parameters', contents')."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}/{key}"
            if key == "schema" or where.endswith("/components/schemas"):
                yield here, item
            else:
                yield from schemas_in(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from schemas_in(item, f"{where}/{index}")


def refs_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    OPENAPI_31_VALIDATOR.validate(doc)
    found = list(schemas_in(doc))
    assert len(found) > 40
    for where, schema in found:
        assert jsonschema_rs.meta.is_valid(schema), where
    conformance = Conformance(doc)
    for ref in set(refs_in(doc)):
        assert conformance.resolve({"$ref": ref}), ref
    operation_ids = []
    for path, item in doc["paths"].items():
        named = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert named == declared, path
        for method, operation in item.items():
            if method not in METHODS:
                continue
            operation_ids.append(operation["operationId"])
            assert operation["responses"], (method, path)
            for status in operation["responses"]:
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (method, path, status)
            for requirement in operation.get("security", doc["security"]):
                assert set(requirement) <= set(doc["components"]["securitySchemes"])
    assert len(operation_ids) == len(set(operation_ids)) == 18
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "subcode", "message"}

    loaded = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) == 18


def test_a_message_is_read_with_either_scope_as_the_document_says() -> None:
    paths = document()["paths"]
    (get,) = [item["get"] for path, item in paths.items() if path.endswith("/messages/{msg}")]
    assert get["security"] == [
        {"bearer": ["Conversations.Initiate"]},
        {"bearer": ["Conversations.Receive"]},
    ]
    assert "Incoming" in get["description"]
    assert "403" in get["responses"]


def test_the_validation_can_fail() -> None:
    """The checks above catch a broken document."""
    doc = document()
    doc["paths"]["/ucwa/v1/applications"]["post"]["responses"] = {"201": {}}
    with pytest.raises(jsonschema_rs.ValidationError):
        OPENAPI_31_VALIDATOR.validate(doc)
    assert not jsonschema_rs.meta.is_valid({"type": "text"})


async def test_the_document_is_served_without_a_key(tmp_path: Path) -> None:
    api_rig = await ApiLayerRig.start(tmp_path)
    gateways = Gateways(tmp_path)
    app = UcwaGateway(api_rig.api, GatewayKeys(tmp_path / "keys.json")).app()
    try:
        port = await gateways.start("rest", app, 0)
        async with (
            ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/ucwa/openapi.json") as reply,
        ):
            assert reply.status == 200
            assert reply.content_type == "application/json"
            assert await reply.read() == document_bytes()
            assert await reply.json() == document()
    finally:
        await gateways.close()
        await api_rig.close()
