"""The REST gateway: UCWA 2.0 instant messaging (``gateways.md`` section 2) over the API
layer's applications (:mod:`chinwag.api.ucwa`).

Base ``/ucwa/v1``. Every resource is a JSON object with ``rel``, ``_links`` (always
``self``; each ``{"href": ...}``) and, where it holds others, ``_embedded``. The URLs
are regular (one resource, one path: an OpenAPI document can describe them) but a
client is to follow ``_links``::

    /ucwa/v1/applications                                  POST: create
    /ucwa/v1/applications/{app}                            GET, DELETE
    /ucwa/v1/applications/{app}/me                         GET
    /ucwa/v1/applications/{app}/me/makeMeAvailable         POST
    /ucwa/v1/applications/{app}/communication              GET
    .../communication/messagingInvitations                 POST (= startMessaging)
    .../communication/messagingInvitations/{inv}           GET
    .../communication/conversations                        GET
    .../communication/conversations/{conv}                 GET
    .../conversations/{conv}/messaging                     GET
    .../conversations/{conv}/messaging/sendMessage         POST ?operationId=
    .../conversations/{conv}/messaging/setIsTyping         POST
    .../conversations/{conv}/messaging/stopMessaging       POST
    .../conversations/{conv}/messaging/messages/{msgid}    GET
    .../conversations/{conv}/messaging/typingParticipants  GET
    /ucwa/v1/applications/{app}/events                     GET ?ack=N&timeout=T
    /ucwa/openapi.json                                     GET (no key): the OpenAPI document

Dates are ``"\\/Date(ms)\\/"``; message texts in links are data URIs. Errors are UCWA's
``{"code", "subcode", "message"}`` with the HTTP status of their code.

Credentials: ``Authorization: Bearer <key>``, a gateway key of kind rest
(:meth:`~chinwag.gateways.keys.GatewayKeys.rest_key`); its scopes say what it may do
(:data:`~chinwag.gateways.keys.INITIATE`: create applications, start conversations,
send; :data:`~chinwag.gateways.keys.RECEIVE`: be reachable, read the event channel and
what came in; a message of ours may be read with either). Failed logins are counted
per client address as the XML-RPC gateway counts them (429 once too many)."""

from __future__ import annotations

import base64
import binascii
import html.parser
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chinwag.api.service import Api
from chinwag.api.ucwa import (
    Application,
    Batch,
    ConversationView,
    Embedded,
    InvitationView,
    MessageView,
    MessagingView,
    MeView,
    Problem,
    Ref,
    TypingView,
    UcwaApi,
    UcwaError,
    UcwaEvent,
    bad,
    field_of,
)
from chinwag.gateways.keys import INITIATE, RECEIVE, GatewayKeys
from chinwag.gateways.server import HangupWatch, finish_anyway, make_app
from chinwag.gateways.xmlrpc import FailedLogins, Refused

log = logging.getLogger(__name__)

BASE = "/ucwa/v1"
#: Where the OpenAPI document is served (no key needed: :mod:`.ucwa_openapi`).
DOCUMENT_PATH = "/ucwa/openapi.json"
JSON_TYPES = ("application/json", "application/vnd.microsoft.com.ucwa+json")
#: The status of each UCWA error code.
STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "Conflict": 409,
    "EntityTooLarge": 413,
    "TooManyRequests": 429,
    "ServiceFailure": 500,
    "ServiceUnavailable": 503,
}
#: Request Content-Types a message text may come in.
TEXT_TYPES = ("text/plain", "text/html")
_DATE = re.compile(r'"/Date\((-?\d+)\)/"')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Json = dict[str, Any]


class HttpError(Exception):
    """A refusal the adapter makes itself (authorization, the transport)."""

    def __init__(self, code: str, subcode: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.message = message


def error_body(code: str, subcode: str, message: str) -> Json:
    return {"code": code, "subcode": subcode, "message": message}


def error_response(code: str, subcode: str, message: str) -> web.Response:
    response = json_response(error_body(code, subcode, message), STATUS[code])
    if code == "Unauthorized":
        response.headers["WWW-Authenticate"] = 'Bearer realm="chinwag"'
    return response


def dumps(value: Json) -> str:
    """JSON with UCWA's dates: ``"\\/Date(ms)\\/"`` (``\\/`` is ``/`` in JSON, so the
    text means the same wherever else it might match)."""
    return _DATE.sub(r'"\\/Date(\1)\\/"', json.dumps(value, ensure_ascii=False))


def json_response(value: Json, status: int = 200) -> web.Response:
    return web.Response(
        text=dumps(value), status=status, content_type="application/json", charset="utf-8"
    )


def date(timestamp: float) -> str:
    return f"/Date({int(timestamp * 1000)})/"


# -- data URIs and HTML ------------------------------------------------------------------


def data_uri(text: str) -> str:
    return "data:text/plain;charset=utf-8," + urllib.parse.quote(text, safe="")


def parse_data_uri(uri: object, name: str) -> str:
    """The text of a data URI (text/plain, or text/html reduced to plain text)."""
    if not isinstance(uri, str) or not uri.lower().startswith("data:") or "," not in uri:
        raise bad(f"{name} is a data URI (data:text/plain;charset=utf-8,...)")
    head, payload = uri[5:].split(",", 1)
    params = [p.strip() for p in head.split(";")]
    media = params[0].lower() or "text/plain"
    is_base64 = any(p.lower() == "base64" for p in params[1:])
    charset = "utf-8"
    for p in params[1:]:
        if p.lower().startswith("charset="):
            charset = p[8:].strip() or charset
    if media not in TEXT_TYPES:
        raise bad(f"{name}: a message is text/plain or text/html, not {media}")
    try:
        raw = _base64(payload) if is_base64 else _unquote(payload)
        text = raw.decode(charset)
    except (binascii.Error, ValueError, LookupError) as exc:
        raise bad(f"{name}: the data URI cannot be read ({exc})") from None
    return html_to_text(text) if media == "text/html" else text


def _unquote(payload: str) -> bytes:
    return urllib.parse.unquote_to_bytes(payload)


def _base64(payload: str) -> bytes:
    """A base64 payload: URL-encoded like any data URI's (RFC 2397: ``=`` may come as
    ``%3D``), its spaces and line breaks passed over as base64 decoders do."""
    data = bytes(b for b in _unquote(payload) if b not in b" \t\r\n\f")
    return base64.b64decode(data, validate=True)


class _TextOf(html.parser.HTMLParser):
    """The text an HTML fragment shows: tags out, line breaks for blocks and ``br``."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS - {"br"} and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(text: str) -> str:
    """``text/html`` reduced to the plain text it shows."""
    parser = _TextOf()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError as exc:  # (what html.parser raises for some declarations)
        raise bad(f"the HTML cannot be read: {exc}") from None
    lines = ("".join(parser.parts)).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


# -- the gateway -------------------------------------------------------------------------


class UcwaGateway:
    """The routes, over one API layer and the gateway keys."""

    def __init__(self, api: Api, keys: GatewayKeys, clock: Callable[[], float] = time.time) -> None:
        self._api = api
        self.ucwa = UcwaApi(api)
        self._keys = keys
        self.failures = FailedLogins(clock)
        self.hangups = HangupWatch()

    def app(self) -> web.Application:
        app = make_app()
        app.middlewares.append(self._errors)
        app.on_shutdown.append(self._shutdown)
        app.on_response_prepare.append(_media_type)
        a = BASE + "/applications/{app}"
        c = a + "/communication"
        m = c + "/conversations/{conv}/messaging"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", DOCUMENT_PATH, self.openapi),
            ("POST", BASE + "/applications", self.create_application),
            ("GET", a, self.get_application),
            ("DELETE", a, self.delete_application),
            ("GET", a + "/me", self.get_me),
            ("POST", a + "/me/makeMeAvailable", self.make_me_available),
            ("GET", c, self.get_communication),
            ("POST", c + "/messagingInvitations", self.start_messaging),
            ("GET", c + "/messagingInvitations/{inv}", self.get_invitation),
            ("GET", c + "/conversations", self.get_conversations),
            ("GET", c + "/conversations/{conv}", self.get_conversation),
            ("GET", m, self.get_messaging),
            ("POST", m + "/sendMessage", self.send_message),
            ("POST", m + "/setIsTyping", self.set_is_typing),
            ("POST", m + "/stopMessaging", self.stop_messaging),
            ("GET", m + "/messages/{msg}", self.get_message),
            ("GET", m + "/typingParticipants", self.get_typing),
            ("GET", a + "/events", self.events),
        ]
        # (no HEAD beside each GET: UCWA has none, and a HEAD of the events would poll)
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    async def _shutdown(self, _app: web.Application) -> None:
        self.ucwa.close()  # (every long poll returns)
        await self.hangups.close()

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except UcwaError as exc:
            return error_response(exc.problem.code, exc.problem.subcode, exc.message)
        except HttpError as exc:
            return error_response(exc.code, exc.subcode, exc.message)
        except web.HTTPException as exc:
            if exc.status == 404:
                return error_response("NotFound", "ResourceNotFound", "there is no such resource")
            if exc.status == 405:
                response = error_response(
                    "MethodNotAllowed", "MethodNotAllowed", f"{request.method} is not allowed here"
                )
                if "Allow" in exc.headers:
                    response.headers["Allow"] = exc.headers["Allow"]
                return response
            if exc.status == 413:
                return error_response(
                    "EntityTooLarge", "EntityTooLarge", "the request body is over 1 MiB"
                )
            raise
        except Exception:
            log.exception("UCWA %s %s failed", request.method, request.path)
            return error_response("ServiceFailure", "InternalError", "an internal error")

    # -- authorization -------------------------------------------------------------------

    def _account(self, request: web.Request, scope: str | tuple[str, ...] | None) -> str:
        """The account the request is made for, once its key is good and has ``scope``
        (None: any; several: one of them)."""
        client = request.remote or ""
        try:
            self.failures.check(client)
        except Refused:
            raise HttpError(
                "TooManyRequests", "TooManyFailedLogins", "too many failed logins: wait a minute"
            ) from None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        key = self._keys.rest_key(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            if header:
                self.failures.failed(client)
                log.info("UCWA: a bad key from %s", client)
            raise HttpError(
                "Unauthorized",
                "InvalidToken" if header else "MissingToken",
                "give a gateway key of kind rest: Authorization: Bearer <key>",
            )
        wanted = (scope,) if isinstance(scope, str) else scope
        if wanted is not None and not set(wanted) & set(key.scopes):
            raise HttpError(
                "Forbidden", "InsufficientScope", f"the key lacks the scope {' or '.join(wanted)}"
            )
        if not self.ucwa.is_account(key.account):
            raise HttpError(
                "Forbidden", "UnknownAccount", f"{key.account} is not an account of this Chinwag"
            )
        return key.account

    def _app(self, request: web.Request, scope: str | tuple[str, ...] | None) -> Application:
        account = self._account(request, scope)
        return self.ucwa.application(account, request.match_info["app"])

    # -- hrefs and resources -----------------------------------------------------------

    @staticmethod
    def href(app: Application, ref: Ref) -> str:
        a = f"{BASE}/applications/{app.id}"
        c = f"{a}/communication"
        conv = f"{c}/conversations/{ref.conversation}"
        return {
            "application": a,
            "me": f"{a}/me",
            "makeMeAvailable": f"{a}/me/makeMeAvailable",
            "communication": c,
            "events": f"{a}/events",
            "conversations": f"{c}/conversations",
            "messagingInvitations": f"{c}/messagingInvitations",
            "startMessaging": f"{c}/messagingInvitations",
            "messagingInvitation": f"{c}/messagingInvitations/{ref.item}",
            "conversation": conv,
            "messaging": f"{conv}/messaging",
            "sendMessage": f"{conv}/messaging/sendMessage",
            "setIsTyping": f"{conv}/messaging/setIsTyping",
            "stopMessaging": f"{conv}/messaging/stopMessaging",
            "typingParticipants": f"{conv}/messaging/typingParticipants",
            "message": f"{conv}/messaging/messages/{ref.item}",
        }[ref.rel]

    def links(self, app: Application, *rels: str, conversation: str = "", item: str = "") -> Json:
        return {rel: {"href": self.href(app, Ref(rel, conversation, item))} for rel in rels}

    def application_json(self, app: Application) -> Json:
        return {
            "rel": "application",
            "id": app.id,
            "userAgent": app.user_agent,
            "endpointId": app.endpoint_id,
            "culture": app.culture,
            "_links": {
                "self": self._self(app, "application"),
                "events": {"href": self.href(app, Ref("events")) + "?ack=0"},
            },
            "_embedded": {
                "me": self.me_json(app, self.ucwa.me(app)),
                "communication": self.communication_json(app),
            },
        }

    def _self(self, app: Application, rel: str, conversation: str = "", item: str = "") -> Json:
        return {"href": self.href(app, Ref(rel, conversation, item))}

    def me_json(self, app: Application, me: MeView) -> Json:
        links = {"self": self._self(app, "me")}
        if not me.available:
            links |= self.links(app, "makeMeAvailable")
        return {"rel": "me", "uri": me.uri, "name": me.name, "_links": links}

    def communication_json(self, app: Application) -> Json:
        return {
            "rel": "communication",
            "_links": {"self": self._self(app, "communication")}
            | self.links(app, "startMessaging", "conversations"),
        }

    def conversation_json(self, app: Application, conv: ConversationView) -> Json:
        links = {"self": self._self(app, "conversation", conv.id)}
        links |= self.links(app, "messaging", conversation=conv.id)
        return {
            "rel": "conversation",
            "state": conv.state,
            "subject": conv.subject,
            "importance": conv.importance,
            "participantUri": "xmpp:" + conv.peer,
            "_links": links,
        }

    def messaging_json(self, app: Application, messaging: MessagingView) -> Json:
        c = messaging.conversation
        links = {"self": self._self(app, "messaging", c)}
        if messaging.state == "Connected":
            links |= self.links(app, "sendMessage", "setIsTyping", "stopMessaging", conversation=c)
        links |= self.links(app, "conversation", "typingParticipants", conversation=c)
        return {"rel": "messaging", "state": messaging.state, "_links": links}

    def message_json(self, app: Application, message: MessageView) -> Json:
        c = message.conversation
        links = {"self": self._self(app, "message", c, str(message.id))}
        links |= self.links(app, "messaging", conversation=c)
        links["plainMessage"] = {"href": data_uri(message.text)}
        body: Json = {
            "rel": "message",
            "direction": "Incoming" if message.incoming else "Outgoing",
            "status": message.status,
            "timeStamp": date(message.timestamp),
        }
        if message.operation_id:
            body["operationId"] = message.operation_id
        return body | {"_links": links}

    def invitation_json(self, app: Application, inv: InvitationView) -> Json:
        links = {"self": self._self(app, "messagingInvitation", item=inv.id)}
        links |= self.links(app, "conversation", "messaging", conversation=inv.conversation)
        if inv.text:
            links["message"] = {"href": data_uri(inv.text)}
        return {
            "rel": "messagingInvitation",
            "direction": "Outgoing",
            "state": inv.state,
            "operationId": inv.operation_id,
            "subject": inv.subject,
            "importance": inv.importance,
            "to": "xmpp:" + inv.peer,
            "_links": links,
        }

    def typing_json(self, app: Application, typing: TypingView) -> Json:
        return {
            "rel": "typingParticipants",
            "_links": {"self": self._self(app, "typingParticipants", typing.conversation)},
            "_embedded": {
                "participant": [{"rel": "participant", "uri": "xmpp:" + p} for p in typing.peers]
            },
        }

    def embedded_json(self, app: Application, value: Embedded) -> tuple[str, Json]:
        if isinstance(value, MeView):
            return "me", self.me_json(app, value)
        if isinstance(value, ConversationView):
            return "conversation", self.conversation_json(app, value)
        if isinstance(value, MessagingView):
            return "messaging", self.messaging_json(app, value)
        if isinstance(value, MessageView):
            return "message", self.message_json(app, value)
        if isinstance(value, InvitationView):
            return "messagingInvitation", self.invitation_json(app, value)
        return "typingParticipants", self.typing_json(app, value)

    def event_json(self, app: Application, event: UcwaEvent) -> Json:
        body: Json = {
            "link": {"rel": event.link.rel, "href": self.href(app, event.link)},
            "type": event.type,
        }
        if event.status:
            body["status"] = event.status
        if event.reason is not None:
            body["reason"] = error_body(
                event.reason.code, event.reason.subcode, event.reason.message
            )
        if event.embedded is not None:
            name, value = self.embedded_json(app, event.embedded)
            body["_embedded"] = {name: value}
        return body

    def batch_json(self, app: Application, batch: Batch) -> Json:
        senders: list[Json] = []
        last: Ref | None = None
        for event in batch.events:
            if event.sender != last:
                last = event.sender
                senders.append({"rel": last.rel, "href": self.href(app, last), "events": []})
            senders[-1]["events"].append(self.event_json(app, event))
        events = self.href(app, Ref("events"))
        links: Json = {
            "self": {"href": f"{events}?ack={batch.next_ack}"},
            "next": {"href": f"{events}?ack={batch.next_ack}"},
        }
        if batch.resync:
            links["resync"] = {"href": self.href(app, Ref("application"))}
        return {"rel": "events", "_links": links, "sender": senders}

    # -- requests --------------------------------------------------------------------

    @staticmethod
    async def _json(request: web.Request) -> Json:
        content_type = request.content_type.lower()
        unnamed = ("application/octet-stream", "")  # (no Content-Type given)
        if request.can_read_body and content_type not in (*JSON_TYPES, *unnamed):
            raise bad(f"the body is JSON ({JSON_TYPES[0]}), not {content_type}")
        raw = await request.read()
        try:
            value = json.loads(raw.decode("utf-8")) if raw.strip() else None
            # A string with a lone surrogate ("\ud800") is JSON but no text: nothing
            # could store or send it.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except (UnicodeError, ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise HttpError(
                "BadRequest", "DeserializationFailure", f"not JSON text: {reason}"
            ) from None
        if not isinstance(value, dict):
            raise bad("the body is a JSON object")
        return value

    async def openapi(self, _request: web.Request) -> web.Response:
        from chinwag.gateways.ucwa_openapi import document_bytes

        return web.Response(body=document_bytes(), content_type="application/json", charset="utf-8")

    async def create_application(self, request: web.Request) -> web.Response:
        account = self._account(request, INITIATE)
        fields = await self._json(request)
        app = self.ucwa.create_application(account, fields)
        response = json_response(self.application_json(app), 201)
        response.headers["Location"] = self.href(app, Ref("application"))
        return response

    async def get_application(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        return json_response(self.application_json(app))

    async def delete_application(self, request: web.Request) -> web.Response:
        app = self._app(request, INITIATE)
        self.ucwa.delete_application(app)
        return web.Response(status=204)

    async def get_me(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        return json_response(self.me_json(app, self.ucwa.me(app)))

    async def make_me_available(self, request: web.Request) -> web.Response:
        app = self._app(request, RECEIVE)
        await request.read()  # (a body is allowed: UCWA sends the modalities; all is IM here)
        self.ucwa.make_me_available(app)
        return web.Response(status=204)

    async def get_communication(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        return json_response(self.communication_json(app))

    async def get_conversations(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        conversations = [self.conversation_json(app, c.view()) for c in app.conversations.values()]
        return json_response(
            {
                "rel": "conversations",
                "_links": {"self": self._self(app, "conversations")},
                "_embedded": {"conversation": conversations},
            }
        )

    async def get_conversation(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        conv = app.conversation(request.match_info["conv"])
        return json_response(self.conversation_json(app, conv.view()))

    async def get_messaging(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        conv = app.conversation(request.match_info["conv"])
        return json_response(self.messaging_json(app, conv.messaging()))

    async def get_typing(self, request: web.Request) -> web.Response:
        app = self._app(request, RECEIVE)
        conv = app.conversation(request.match_info["conv"])
        return json_response(self.typing_json(app, conv.typing_view()))

    async def start_messaging(self, request: web.Request) -> web.Response:
        app = self._app(request, INITIATE)
        fields = await self._json(request)
        links = field_of(fields, "_links")
        text = None
        if links is not None:
            if not isinstance(links, dict):
                raise bad("_links is an object")
            message = field_of(links, "message")
            if message is not None:
                href = field_of(message, "href") if isinstance(message, dict) else message
                text = parse_data_uri(href, "_links.message")
        invitation = await finish_anyway(
            self.ucwa.start_messaging(
                app,
                to=field_of(fields, "to"),
                text=text,
                subject=field_of(fields, "subject"),
                importance=field_of(fields, "importance"),
                operation_id=self._operation_id(field_of(fields, "operationId")),
            )
        )
        response = json_response(self.invitation_json(app, invitation.view()), 201)
        response.headers["Location"] = self.href(
            app, Ref("messagingInvitation", item=invitation.id)
        )
        return response

    @staticmethod
    def _operation_id(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise bad("operationId is a string")
        return value

    async def get_invitation(self, request: web.Request) -> web.Response:
        app = self._app(request, None)
        invitation = self.ucwa.invitation(app, request.match_info["inv"])
        return json_response(self.invitation_json(app, invitation.view()))

    async def send_message(self, request: web.Request) -> web.Response:
        app = self._app(request, INITIATE)
        conv = app.conversation(request.match_info["conv"])
        operation_id = request.query.get("operationId")
        text = await self._text(request)
        sent = await finish_anyway(self.ucwa.send_message(app, conv.id, text, operation_id))
        response = json_response(self.message_json(app, sent), 201)
        response.headers["Location"] = self.href(app, Ref("message", conv.id, str(sent.id)))
        return response

    @staticmethod
    async def _text(request: web.Request) -> str:
        """The request's text: text/plain, or text/html reduced to plain text."""
        content_type = request.content_type.lower()
        if content_type not in TEXT_TYPES:
            raise bad(f"the message is text/plain or text/html, not {content_type}")
        raw = await request.read()
        try:
            text = raw.decode(request.charset or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise bad(
                f"the message cannot be read as {request.charset or 'utf-8'}: {exc}"
            ) from None
        return html_to_text(text) if content_type == "text/html" else text

    async def set_is_typing(self, request: web.Request) -> web.Response:
        app = self._app(request, INITIATE)
        self.ucwa.set_is_typing(app, request.match_info["conv"])
        return web.Response(status=204)

    async def stop_messaging(self, request: web.Request) -> web.Response:
        app = self._app(request, INITIATE)
        self.ucwa.stop_messaging(app, request.match_info["conv"])
        return web.Response(status=204)

    async def get_message(self, request: web.Request) -> web.Response:
        """One of ours with either scope (the ``Location`` sendMessage answered is the
        sender's to read); one that came in only with Conversations.Receive."""
        app = self._app(request, (INITIATE, RECEIVE))
        try:
            msgid = int(request.match_info["msg"])
        except ValueError:
            raise UcwaError(Problem.NOT_FOUND, "there is no such message") from None
        message = self.ucwa.message(app, request.match_info["conv"], msgid)
        if message.incoming:
            self._account(request, RECEIVE)
        return json_response(self.message_json(app, message))

    async def events(self, request: web.Request) -> web.Response:
        app = self._app(request, RECEIVE)
        ack = _number(request, "ack", 0)
        timeout = _number(request, "timeout", 180)
        # The connection is not read while the poll waits: on the Qt loop every socket
        # being read is a notifier the dispatcher polls on each iteration, so a thousand
        # idle polls made every iteration dearer (bench_gateways.py: the app's CPU time
        # per D-Bus SendMessage doubled). A client that goes away meanwhile is found by
        # the hang-up watch, which looks at all waiting polls at once.
        with self.hangups.paused(request.transport):
            batch = await self.ucwa.events(app, ack, timeout)
        # Revocation counts at once: a key revoked while its poll waited is told so
        # (401) rather than given what came meanwhile (which stays, not acknowledged).
        self._account(request, RECEIVE)
        return json_response(self.batch_json(app, batch))


async def _media_type(request: web.Request, response: web.StreamResponse) -> None:
    """JSON answers as UCWA's own media type to a client that asks for it (Accept)."""
    if response.content_type == JSON_TYPES[0] and JSON_TYPES[1] in request.headers.get(
        "Accept", ""
    ):
        response.content_type = JSON_TYPES[1]


def _number(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # ("²".isdigit())
        raise bad(f"{name} is a whole number, not {text!r}")
    return int(text)
