"""The OpenAPI 3.1 document of the REST gateway (``gateways.md`` section 2), served at
``GET /ucwa/openapi.json`` with no key needed.

It is data built in Python rather than a JSON file in the package: the numbers it states
(the 100 characters of a field, the 65,536 of a text, the 180 s of a poll, the error
codes and their statuses, the importance values) are the gateway's own constants, so
they cannot drift apart, and mypy and ruff read it like the code it describes. The
tests (``tests/gateways/test_ucwa_openapi.py``) keep the rest true: every route of the
gateway is here with its methods and nothing else is, the document is valid OpenAPI 3.1,
every answer the gateway gives in its tests conforms, and schemathesis fuzzes the
gateway from this document.

The paths are the gateway's routes, written out in full (the server is the gateway's
``http://127.0.0.1:PORT``); a client still follows ``_links``. Where a response may come
as ``application/json`` or as UCWA's ``application/vnd.microsoft.com.ucwa+json`` (when
the client's ``Accept`` names it), both are listed. Not listed, as no operation answers
them: a path that is no route is 404 and a method a path does not have is 405 (both with
the error body, the 405 with ``Allow``; see ``components.responses``); a request that is
not well-formed HTTP is answered 400 by the HTTP server and closed; a request whose body
has not come in whole within 30 s has its connection closed."""

from __future__ import annotations

import functools
import json
from typing import Any

from chinwag import __version__
from chinwag.api.ucwa import IMPORTANCE, MAX_FIELD, MAX_TEXT, MAX_TIMEOUT, Problem
from chinwag.gateways.keys import INITIATE, RECEIVE
from chinwag.gateways.server import MAX_BODY
from chinwag.gateways.ucwa import BASE, DOCUMENT_PATH, JSON_TYPES, STATUS, TEXT_TYPES

Json = dict[str, Any]

#: The subcodes the gateway gives with each UCWA error code.
SUBCODES: dict[str, tuple[str, ...]] = {
    "BadRequest": (Problem.BAD_PARAMETER.subcode, "DeserializationFailure"),
    "Unauthorized": ("MissingToken", "InvalidToken"),
    "Forbidden": ("InsufficientScope", "UnknownAccount"),
    "NotFound": (Problem.NOT_FOUND.subcode,),
    "MethodNotAllowed": ("MethodNotAllowed",),
    "Conflict": (Problem.ALREADY_EXISTS.subcode,),
    "EntityTooLarge": (Problem.TOO_LARGE.subcode, "EntityTooLarge"),
    "TooManyRequests": ("TooManyFailedLogins",),
    "ServiceFailure": (Problem.FAILURE.subcode,),
    "ServiceUnavailable": (Problem.UNAVAILABLE.subcode,),
}
#: HTTP status -> the UCWA error code answered with it.
CODE_OF_STATUS = {status: code for code, status in STATUS.items()}
#: What each error status means, as the operations' responses say it.
_ERROR_TEXT = {
    400: "A parameter is missing or bad (ParameterValidationFailure), or the body is not "
    "JSON (DeserializationFailure).",
    401: "No key, or a key that is not a gateway key of kind rest. Failed logins are "
    "counted per client address.",
    403: "The key lacks the scope this needs (InsufficientScope), or names no account of "
    "this Chinwag (UnknownAccount). A request that does not come from this machine is "
    "refused 403 with a line of text/plain.",
    404: "No such application, conversation, invitation or message (an application is "
    "gone once deleted, or when its account is removed).",
    409: "AlreadyExists: the operationId was used already in this application (nothing is "
    "sent twice), or the application is available already.",
    413: f"A message text over {MAX_TEXT:,} characters (MessageTooLong), or a request "
    f"body over {MAX_BODY:,} bytes (EntityTooLarge).",
    429: "Too many failed logins from this client address in the last minute.",
    500: "ServiceFailure: a bug (logged).",
    503: "The account is signed out or disabled: the message is refused, not queued "
    "(while the account only reconnects, it is accepted and sent when the connection is "
    "back); for the event channel also: Chinwag is closing.",
}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(description: str = "", **more: Any) -> Json:
    schema: Json = {"type": "string", **more}
    if description:
        schema["description"] = description
    return schema


def _object(required: dict[str, Json], optional: dict[str, Json] | None = None) -> Json:
    """A closed object: these properties and no others."""
    return {
        "type": "object",
        "required": list(required),
        "properties": required | (optional or {}),
        "additionalProperties": False,
    }


def _links(required: list[str], optional: list[str] | None = None, **special: Json) -> Json:
    link = _ref("Link")
    return _object(
        {name: special.get(name, link) for name in required},
        {name: special.get(name, link) for name in optional or []},
    )


def _rel(name: str) -> Json:
    return {"type": "string", "const": name}


def schemas() -> Json:
    error_subcodes = sorted({s for subs in SUBCODES.values() for s in subs})
    data_uri = _string(
        "A data URI: data:text/plain;charset=utf-8,<url-encoded text> (or ;base64,)",
        pattern="^data:",
    )
    importance = {"type": "string", "enum": list(IMPORTANCE)}
    ucwa_date = _string('UCWA\'s date, "\\/Date(ms)\\/" in JSON', pattern=r"^/Date\(-?[0-9]+\)/$")
    address = _string("xmpp: and a bare address", pattern="^xmpp:")
    me = _object(
        {
            "rel": _rel("me"),
            "uri": address,
            "name": _string("the account's nickname, else its address"),
            "_links": _links(["self"], ["makeMeAvailable"]),
        }
    )
    communication = _object(
        {
            "rel": _rel("communication"),
            "_links": _links(["self", "startMessaging", "conversations"]),
        }
    )
    conversation = _object(
        {
            "rel": _rel("conversation"),
            "state": {"type": "string", "enum": ["Connected", "Disconnected"]},
            "subject": _string(),
            "importance": importance,
            "participantUri": address,
            "_links": _links(["self", "messaging"]),
        }
    )
    messaging = _object(
        {
            "rel": _rel("messaging"),
            "state": {"type": "string", "enum": ["Connected", "Disconnected"]},
            "_links": _links(
                ["self", "conversation", "typingParticipants"],
                ["sendMessage", "setIsTyping", "stopMessaging"],
            ),
        }
    )
    message = _object(
        {
            "rel": _rel("message"),
            "direction": {"type": "string", "enum": ["Incoming", "Outgoing"]},
            "status": {"type": "string", "enum": ["Pending", "Success", "Failure"]},
            "timeStamp": ucwa_date,
            "_links": _links(
                ["self", "messaging", "plainMessage"], plainMessage=_ref("DataUriLink")
            ),
        },
        {"operationId": _string()},
    )
    invitation = _object(
        {
            "rel": _rel("messagingInvitation"),
            "direction": _rel("Outgoing"),
            "state": {"type": "string", "enum": ["Connecting", "Connected", "Failed"]},
            "operationId": _string(),
            "subject": _string(),
            "importance": importance,
            "to": address,
            "_links": _links(
                ["self", "conversation", "messaging"], ["message"], message=_ref("DataUriLink")
            ),
        }
    )
    typing = _object(
        {
            "rel": _rel("typingParticipants"),
            "_links": _links(["self"]),
            "_embedded": _object(
                {
                    "participant": {
                        "type": "array",
                        "items": _object({"rel": _rel("participant"), "uri": address}),
                    }
                }
            ),
        }
    )
    embedded_names = [
        "me",
        "conversation",
        "messaging",
        "message",
        "messagingInvitation",
        "typingParticipants",
    ]
    resource_of = {
        "me": "Me",
        "conversation": "Conversation",
        "messaging": "Messaging",
        "message": "Message",
        "messagingInvitation": "MessagingInvitation",
        "typingParticipants": "TypingParticipants",
    }
    event = _object(
        {
            "link": _object({"rel": {"type": "string", "enum": embedded_names}, "href": _string()}),
            "type": {
                "type": "string",
                "enum": ["added", "updated", "deleted", "started", "completed"],
            },
        },
        {
            "status": {"type": "string", "enum": ["Success", "Failure"]},
            "reason": _ref("Reason"),
            "_embedded": {
                "type": "object",
                "description": "the resource as it was when the event was made",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {name: _ref(resource_of[name]) for name in embedded_names},
                "additionalProperties": False,
            },
        },
    )
    sender = _object(
        {
            "rel": {"type": "string", "enum": ["communication", "conversation", "me"]},
            "href": _string(),
            "events": {"type": "array", "items": _ref("Event")},
        }
    )
    events = _object(
        {
            "rel": _rel("events"),
            "_links": _links(["self", "next"], ["resync"]),
            "sender": {"type": "array", "items": _ref("Sender")},
        }
    )
    application = _object(
        {
            "rel": _rel("application"),
            "id": _string(),
            "userAgent": _string(),
            "endpointId": _string(),
            "culture": _string(),
            "_links": _links(["self", "events"]),
            "_embedded": _object({"me": _ref("Me"), "communication": _ref("Communication")}),
        }
    )
    conversations = _object(
        {
            "rel": _rel("conversations"),
            "_links": _links(["self"]),
            "_embedded": _object(
                {"conversation": {"type": "array", "items": _ref("Conversation")}}
            ),
        }
    )
    error = _object(
        {
            "code": {"type": "string", "enum": list(STATUS)},
            "subcode": {"type": "string", "enum": error_subcodes},
            "message": _string("what went wrong, for a person", minLength=1),
        }
    )
    reason = _object(
        {
            "code": _string("e.g. RemoteFailure"),
            "subcode": _string("e.g. DeliveryFailure"),
            "message": _string(),
        }
    )
    field = {"type": "string", "maxLength": MAX_FIELD}
    named = {"type": "string", "maxLength": MAX_FIELD, "pattern": r"\S"}
    new_application = {
        "type": "object",
        "description": "Field names are case-insensitive; other fields are ignored.",
        "required": ["userAgent", "endpointId"],
        "properties": {"userAgent": named, "endpointId": named, "culture": field},
        "example": {"userAgent": "bot/1.0", "endpointId": "my-bot", "culture": "en-US"},
    }
    operation_id = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_FIELD,
        "pattern": r"\S",
        "description": "Once per application: the same again is 409 AlreadyExists.",
    }
    invitation_request = {
        "type": "object",
        "description": "Field names are case-insensitive; other fields are ignored.",
        "required": ["to"],
        "properties": {
            "operationId": operation_id,
            "to": _string(
                'A person\'s bare address: "xmpp:address" or "sip:address"',
                pattern="^([xX][mM][pP][pP]|[sS][iI][pP]):",
            ),
            "subject": _string(),
            "importance": importance,
            "_links": {
                "type": "object",
                "properties": {
                    "message": {
                        "description": "the first message, sent at once: text/plain or "
                        "text/html (reduced to plain text)",
                        "anyOf": [_ref("DataUriLink"), data_uri],
                    }
                },
            },
        },
        "example": {
            "operationId": "op-1",
            "to": "xmpp:bob@example.org",
            "subject": "Plans",
            "importance": "Normal",
            "_links": {"message": {"href": "data:text/plain;charset=utf-8,hello%20there"}},
        },
    }
    return {
        "Link": _object({"href": _string()}),
        "DataUriLink": _object({"href": data_uri}),
        "Error": error,
        "Reason": reason,
        "Application": application,
        "Me": me,
        "Communication": communication,
        "Conversations": conversations,
        "Conversation": conversation,
        "Messaging": messaging,
        "Message": message,
        "MessagingInvitation": invitation,
        "TypingParticipants": typing,
        "Event": event,
        "Sender": sender,
        "Events": events,
        "NewApplication": new_application,
        "NewMessagingInvitation": invitation_request,
    }


def _json_content(schema: Json) -> Json:
    return {media: {"schema": schema} for media in JSON_TYPES}


def _error_response(status: int) -> Json:
    code = CODE_OF_STATUS[status]
    schema = {"allOf": [_ref("Error"), {"properties": {"code": {"const": code}}}]}
    response: Json = {"description": f"{code}. {_ERROR_TEXT.get(status, '')}".strip()}
    response["content"] = _json_content(schema)
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
        }
    if status == 403:
        response["content"]["text/plain"] = {"schema": {"type": "string"}}
    if status == 405:
        response["headers"] = {
            "Allow": {"schema": {"type": "string"}, "description": "the methods the path has"}
        }
    return response


def _responses() -> Json:
    return {CODE_OF_STATUS[s]: _error_response(s) for s in sorted(CODE_OF_STATUS)}


_LOCATION = {
    "Location": {
        "description": "the new resource's href",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _ok(status: int, description: str, schema: str | None = None, location: bool = False) -> Json:
    response: Json = {"description": description}
    if schema is not None:
        response["content"] = _json_content(_ref(schema))
    if location:
        response["headers"] = _LOCATION
    return {str(status): response}


def _path_param(name: str, description: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


PATH_PARAMETERS = {
    "app": _path_param("app", "the application's id (from its href)"),
    "conv": _path_param("conv", "the conversation's id (from its href)"),
    "inv": _path_param("inv", "the invitation's id (from its href)"),
    "msg": _path_param("msg", "the message's number (from its href)"),
}


def _operation(
    operation_id: str,
    summary: str,
    scope: str | tuple[str, ...] | None,
    ok: Json,
    errors: tuple[int, ...],
    *,
    parameters: list[Json] | None = None,
    body: Json | None = None,
    description: str = "",
) -> Json:
    """An operation with a key: 401, 403, 429 and 500 come with every one. Several
    scopes: a key with any one of them (security alternatives), as ``description``
    details."""
    statuses = sorted({*errors, 401, 403, 429, 500})
    responses = dict(ok)
    for status in statuses:
        responses[str(status)] = {"$ref": f"#/components/responses/{CODE_OF_STATUS[status]}"}
    scopes = (scope,) if isinstance(scope, str) else scope or ()
    operation: Json = {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"bearer": [one]} for one in scopes] or [{"bearer": []}],
        "responses": responses,
    }
    if description:
        operation["description"] = description
    elif scopes:
        operation["description"] = f"Needs a key with the scope {' or '.join(scopes)}."
    else:
        operation["description"] = "Any key of the application's account will do."
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _json_body(schema: str) -> Json:
    return {"required": True, "content": _json_content(_ref(schema))}


def paths() -> Json:
    a = BASE + "/applications/{app}"
    c = a + "/communication"
    m = c + "/conversations/{conv}/messaging"
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    return {
        DOCUMENT_PATH: {
            "get": {
                "operationId": "getOpenApiDocument",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the OpenAPI document",
                        "content": _json_content({"type": "object"}),
                    }
                },
            }
        },
        BASE + "/applications": {
            "post": _operation(
                "createApplication",
                "Create an application (the same endpointId again: the existing one)",
                INITIATE,
                _ok(201, "the application", "Application", location=True),
                (400, 413),
                body=_json_body("NewApplication"),
            )
        },
        a: {
            "get": _operation(
                "getApplication", "The application", None, _ok(200, "", "Application"), (404,)
            ),
            "delete": _operation(
                "deleteApplication",
                "Delete the application (its polls end 404)",
                INITIATE,
                _ok(204, "deleted"),
                (404,),
            ),
        },
        a + "/me": {
            "get": _operation("getMe", "The account", None, _ok(200, "", "Me"), (404,)),
        },
        a + "/me/makeMeAvailable": {
            "post": _operation(
                "makeMeAvailable",
                "Be reachable: messages from anyone start conversations on the event channel",
                RECEIVE,
                _ok(204, "available"),
                (404, 409, 413),
                body={
                    "required": False,
                    "description": "UCWA's modalities; read and ignored (all is IM here)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            )
        },
        c: {
            "get": _operation(
                "getCommunication", "Communication", None, _ok(200, "", "Communication"), (404,)
            )
        },
        c + "/messagingInvitations": {
            "post": _operation(
                "startMessaging",
                "Start a conversation, with its first message if given",
                INITIATE,
                _ok(201, "the invitation", "MessagingInvitation", location=True),
                (400, 404, 409, 413, 503),
                body=_json_body("NewMessagingInvitation"),
            )
        },
        c + "/messagingInvitations/{inv}": {
            "get": _operation(
                "getMessagingInvitation",
                "An invitation",
                None,
                _ok(200, "", "MessagingInvitation"),
                (404,),
            )
        },
        c + "/conversations": {
            "get": _operation(
                "getConversations", "The conversations", None, _ok(200, "", "Conversations"), (404,)
            )
        },
        c + "/conversations/{conv}": {
            "get": _operation(
                "getConversation", "A conversation", None, _ok(200, "", "Conversation"), (404,)
            )
        },
        m: {
            "get": _operation(
                "getMessaging",
                "A conversation's messaging",
                None,
                _ok(200, "", "Messaging"),
                (404,),
            )
        },
        m + "/sendMessage": {
            "post": _operation(
                "sendMessage",
                "Send a message; its completion comes on the event channel",
                INITIATE,
                _ok(201, "the message", "Message", location=True),
                (400, 404, 409, 413, 503),
                parameters=[
                    {
                        "name": "operationId",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FIELD},
                        "description": "Once per application: the same again is 409 "
                        "AlreadyExists and nothing is sent.",
                    }
                ],
                body={
                    "required": True,
                    "description": f"The text, at most {MAX_TEXT:,} characters; text/html is "
                    "reduced to the plain text it shows.",
                    "content": {media: {"schema": text} for media in TEXT_TYPES},
                },
            )
        },
        m + "/setIsTyping": {
            "post": _operation(
                "setIsTyping", "Typing (XEP-0085 composing)", INITIATE, _ok(204, "sent"), (404,)
            )
        },
        m + "/stopMessaging": {
            "post": _operation(
                "stopMessaging",
                "End the conversation (XEP-0085 gone); it is deleted",
                INITIATE,
                _ok(204, "stopped"),
                (404,),
            )
        },
        m + "/messages/{msg}": {
            "get": _operation(
                "getMessage",
                "A message",
                (INITIATE, RECEIVE),
                _ok(200, "", "Message"),
                (404,),
                description=f"One of ours (Outgoing) needs a key with the scope {INITIATE} "
                f"or {RECEIVE}; one that came in (Incoming) needs {RECEIVE} (else 403).",
            )
        },
        m + "/typingParticipants": {
            "get": _operation(
                "getTypingParticipants",
                "Who is typing",
                RECEIVE,
                _ok(200, "", "TypingParticipants"),
                (404,),
            )
        },
        a + "/events": {
            "get": _operation(
                "getEvents",
                "The event channel: a long poll",
                RECEIVE,
                _ok(200, "the events after ack (none when the timeout passed)", "Events"),
                (400, 404, 503),
                parameters=[
                    {
                        "name": "ack",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                        "description": "Every event up to this number is done with (at most "
                        "the last given); the rest stay available. Default 0.",
                    },
                    {
                        "name": "timeout",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": int(MAX_TIMEOUT)},
                        "description": "Seconds to wait for an event when there is none. "
                        f"Default {MAX_TIMEOUT:g}.",
                    },
                ],
            )
        },
    }


def _with_path_parameters(all_paths: Json) -> Json:
    for path, item in all_paths.items():
        names = [p for p in PATH_PARAMETERS if "{" + p + "}" in path]
        if names:
            item["parameters"] = [PATH_PARAMETERS[n] for n in names]
    return all_paths


def document() -> Json:
    """The document, new each call (a caller may change its copy)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chinwag REST gateway (UCWA 2.0 instant messaging)",
            "version": __version__,
            "description": __doc__ or "",
        },
        "servers": [{"url": "/", "description": "the gateway, on 127.0.0.1 or ::1 only"}],
        "security": [{"bearer": []}],
        "paths": _with_path_parameters(paths()),
        "components": {
            "schemas": schemas(),
            "responses": _responses(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A gateway key of kind rest (chinwag-remote gateway-key "
                    "create ACCOUNT --kind rest). Its scopes: "
                    f"{INITIATE} (create applications, start conversations, send) and "
                    f"{RECEIVE} (be reachable, read the event channel and what came in); "
                    "an operation's security names the scope it needs (several: any one "
                    "of them).",
                }
            },
        },
    }


@functools.cache
def document_bytes() -> bytes:
    """The document as served."""
    return json.dumps(document(), ensure_ascii=False, indent=1).encode("utf-8")
