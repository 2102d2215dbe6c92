"""Holds the REST gateway's answers to its OpenAPI document: a recorder put on the
gateway's aiohttp app sees every response it gives (method, the route's path template,
status, headers, body), and :class:`Conformance` says what in one does not match the
document (a status the operation does not list, a Content-Type it does not name, a
missing Location, a JSON body its schema refuses). jsonschema_rs (which schemathesis
brings) validates the bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
from aiohttp import web

from chinwag.gateways.ucwa_openapi import document

Json = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Seen:
    method: str
    #: The route's path template (None: no route matched).
    template: str | None
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """Records what the app answers (put on the app before it starts)."""

    seen: list[Seen] = field(default_factory=list)

    def install(self, app: web.Application) -> None:
        app.on_response_prepare.append(self._record)

    async def _record(self, request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else None
        body = response.body if isinstance(response, web.Response) else b""
        self.seen.append(
            Seen(
                request.method,
                template,
                response.status,
                dict(response.headers),
                bytes(body) if isinstance(body, (bytes, bytearray)) else b"",
            )
        )


class Conformance:
    """The document's operations and a validator per schema."""

    def __init__(self, doc: Json | None = None) -> None:
        self.doc = doc if doc is not None else document()
        self._validators: dict[str, jsonschema_rs.Validator] = {}

    def resolve(self, value: Json) -> Json:
        while "$ref" in value:
            ref = value["$ref"]
            assert ref.startswith("#/"), ref
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target[part]
            value = target
        return value

    def validator(self, schema: Json) -> jsonschema_rs.Validator:
        key = repr(schema)
        found = self._validators.get(key)
        if found is None:
            root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
            root["components"] = self.doc["components"]
            found = self._validators[key] = jsonschema_rs.validator_for(root)
        return found

    def response_of(self, seen: Seen) -> Json | None:
        """The documented response for what was seen (None: not documented)."""
        if seen.template is None or seen.status == 405:
            # No route, or not a method of the path: the document's shared answers.
            name = {404: "NotFound", 405: "MethodNotAllowed"}.get(seen.status)
            return self.doc["components"]["responses"].get(name) if name else None
        operation = self.doc["paths"].get(seen.template, {}).get(seen.method.lower())
        if operation is None:
            return None
        response = operation["responses"].get(str(seen.status))
        return self.resolve(response) if response is not None else None

    def problems(self, seen: Seen) -> list[str]:
        what = f"{seen.method} {seen.template} -> {seen.status}"
        response = self.response_of(seen)
        if response is None:
            return [f"{what}: not in the document"]
        problems: list[str] = []
        headers = {k.lower(): v for k, v in seen.headers.items()}
        for name, header in response.get("headers", {}).items():
            if header.get("required") and name.lower() not in headers:
                problems.append(f"{what}: no {name} header")
        content = response.get("content", {})
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if not content:
            if seen.body:
                problems.append(f"{what}: a body ({media}) where the document has none")
            return problems
        if media not in content:
            return [*problems, f"{what}: Content-Type {media} is not one of {sorted(content)}"]
        schema = content[media].get("schema", {})
        if media.startswith("text/"):
            return problems
        try:
            value = json.loads(seen.body.decode("utf-8"))
        except ValueError as exc:
            return [*problems, f"{what}: the body is not JSON ({exc})"]
        problems += [
            f"{what}: {error.message} at {'/'.join(map(str, error.instance_path))}"
            for error in self.validator(schema).iter_errors(value)
        ]
        return problems

    def all_problems(self, seen: list[Seen]) -> list[str]:
        return [problem for one in seen for problem in self.problems(one)]

    def operations(self) -> set[tuple[str, str]]:
        """(METHOD, path) of every operation."""
        return {
            (method.upper(), path)
            for path, item in self.doc["paths"].items()
            for method in item
            if method in METHODS
        }
