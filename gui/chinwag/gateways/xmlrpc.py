"""The XML-RPC gateway: the LiveJournal / Dreamwidth messaging methods
(``gateways.md`` section 1) over the API layer's letters (:mod:`chinwag.api.letters`).

``POST /interface/xmlrpc``. The body is parsed by defusedxml's expat parser with
document type declarations refused outright (XML-RPC has none), so an entity-expansion
("billion laughs") or external-entity document is a fault and never expands. Answers
are ``xmlrpc.client.dumps``; refusals are faults numbered and worded as the protocol
does (``Client error: `` before codes from 200, ``Server error: `` from 500, the detail
after a colon).

Credentials are gateway keys of kind xmlrpc (:class:`~chinwag.gateways.keys.GatewayKeys`,
MD5 hex digests): ``clear`` (``password`` = the key, or ``hpassword`` = its MD5 hex;
``password`` wins), or ``challenge`` (c0: MD5 hex of challenge + MD5 hex of the key)
with a challenge from ``getchallenge`` that is good once, for 60 s.

Failed logins are counted per account (the username), and those naming no account of
ours together: too many in a minute and every login to that account (or with an unknown
username) is refused (402) until the minute has passed. Not per client address: every
script here comes from 127.0.0.1, so counting by address would let one cron job with a
stale key lock out every script of every account; and any local process may send from
any address of 127.0.0.0/8, so an address-keyed count would not hold back a guesser
either. Keyed by account, a guesser gets :data:`MAX_FAILURES` tries a minute at each
account whatever its addresses, a bad script locks out its own account only, and the
counts are bounded (the accounts, plus one)."""

from __future__ import annotations

import collections
import hmac
import logging
import secrets
import time
import xmlrpc.client
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from xml.parsers import expat

from aiohttp import web
from defusedxml.common import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

from chinwag.api.letters import LetterError
from chinwag.api.service import Api
from chinwag.gateways.keys import GatewayKeys, md5_hex
from chinwag.gateways.server import finish_anyway, make_app

log = logging.getLogger(__name__)

PATH = "/interface/xmlrpc"
#: How long a challenge is good for.
CHALLENGE_SECONDS = 60
#: At most this many challenges are kept waiting (the oldest go first).
MAX_CHALLENGES = 10_000
#: How long a challenge is remembered after it expired (to say "expired" rather than
#: "invalid" to a script whose clock or cron ran late).
EXPIRED_KEPT_SECONDS = 600
#: Failed logins an account may have in :data:`FAILURE_WINDOW` seconds.
MAX_FAILURES = 10
FAILURE_WINDOW = 60.0
#: Where failed logins naming no account of ours are counted.
UNKNOWN_ACCOUNTS = ""
RECEIVED = 18  # UserMessageRecvd
SENT = 19  # UserMessageSent

#: The protocol's fault texts, by code.
FAULTS: Mapping[int, str] = {
    100: "Invalid username",
    101: "Invalid password",
    105: "Challenge expired",
    200: "Missing required argument(s)",
    201: "Unknown method",
    203: "Invalid argument(s)",
    208: "Invalid text encoding",
    209: "Parameter out of range",
    212: "Message body is too long",
    213: "Message body is empty",
    402: "Your IP address is temporarily banned for exceeding the login failure rate",
    500: "Internal server error",
}

Clock = Callable[[], float]
Args = dict[str, Any]


def fault_string(code: int, detail: str = "") -> str:
    """The fault's text as the protocol writes it."""
    prefix = "Server error: " if code >= 500 else "Client error: " if code >= 200 else ""
    text = prefix + FAULTS[code]
    return f"{text}: {detail}" if detail else text


class Refused(Exception):
    """A request answered with the fault ``code``."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(fault_string(code, detail))
        self.code = code
        self.detail = detail

    @property
    def fault(self) -> xmlrpc.client.Fault:
        return xmlrpc.client.Fault(self.code, fault_string(self.code, self.detail))


class Challenges:
    """Challenges handed out, each good once until it expires."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        #: challenge -> when it expires (oldest first).
        self._waiting: collections.OrderedDict[str, float] = collections.OrderedDict()

    def issue(self) -> tuple[str, int, int]:
        """A new challenge, the server time and when it expires (Unix times)."""
        now = int(self._clock())
        self._forget(now)
        challenge = "c0:" + secrets.token_hex(16)
        expires = now + CHALLENGE_SECONDS
        self._waiting[challenge] = expires
        while len(self._waiting) > MAX_CHALLENGES:
            self._waiting.popitem(last=False)
        return challenge, now, expires

    def take(self, challenge: str) -> None:
        """Use ``challenge`` up: 105 when it has expired, 101 when it was never given
        or is used already."""
        now = self._clock()
        expires = self._waiting.pop(challenge, None)
        self._forget(now)
        if expires is None:
            raise Refused(101, "the challenge is unknown or was used already")
        if now > expires:
            raise Refused(105)

    def _forget(self, now: float) -> None:
        while self._waiting:
            challenge, expires = next(iter(self._waiting.items()))
            if now <= expires + EXPIRED_KEPT_SECONDS:
                break
            del self._waiting[challenge]


class FailedLogins:
    """Failed logins per account (:data:`UNKNOWN_ACCOUNTS` for usernames naming none) in
    the last :data:`FAILURE_WINDOW` seconds."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, account: str) -> collections.deque[float]:
        now = self._clock()
        failures = self._failures.get(account)
        if failures is None:
            return collections.deque()
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        if not failures:
            del self._failures[account]
        return failures

    def check(self, account: str) -> None:
        if len(self._recent(account)) >= MAX_FAILURES:
            who = f"for {account}" if account else "with unknown usernames"
            raise Refused(402, f"too many failed logins {who}; try again in a minute")

    def failed(self, account: str) -> None:
        failures = self._failures.setdefault(account, collections.deque())
        failures.append(self._clock())
        while len(failures) > MAX_FAILURES:  # (only the last ones count)
            failures.popleft()


def parse(body: bytes) -> tuple[str | None, tuple[Any, ...]]:
    """(method name, params) of an XML-RPC call; Refused when it is not one."""
    _check_encoding(body)
    target = xmlrpc.client.Unmarshaller(use_builtin_types=True)
    parser = DefusedExpatParser(target, forbid_dtd=True)
    try:
        parser.feed(body)
        parser.close()
        params = target.close()
    except DefusedXmlException:
        raise Refused(203, "document type declarations and entities are not allowed") from None
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, "") if exc.code else ""
        if message in (
            expat.errors.XML_ERROR_UNKNOWN_ENCODING,
            expat.errors.XML_ERROR_INCORRECT_ENCODING,
        ):
            raise Refused(208, str(exc)) from None
        raise Refused(203, f"not well-formed XML: {exc}") from None
    except LookupError as exc:  # (an encoding Python does not know)
        raise Refused(208, str(exc)) from None
    except Exception as exc:  # (the unmarshaller's: a bad int, an empty call, ...)
        raise Refused(203, f"not an XML-RPC call: {exc or type(exc).__name__}") from None
    return target.getmethodname(), params


def _check_encoding(body: bytes) -> None:
    """A body in UTF-8 (declared so, or not declared) must be valid UTF-8."""
    head = body[:200].lower()
    if head.startswith(b"<?xml") and b"encoding" in head.split(b"?>", 1)[0]:
        declared = head.split(b"encoding", 1)[1].lstrip(b" =\t\r\n")[1:].split(b'"')[0]
        declared = declared.split(b"'")[0]
        if declared not in (b"utf-8", b"utf8"):
            return  # (expat reads the others it knows, and refuses the rest)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(208, f"the request is not valid UTF-8 ({exc.reason})") from None


# -- arguments ---------------------------------------------------------------------------


def _text(args: Args, name: str, *, required: bool = False, default: str = "") -> str:
    """A text argument: a string, or base64 of UTF-8 (as old LiveJournal clients send
    text that is not ASCII)."""
    if name not in args:
        if required:
            raise Refused(200, name)
        return default
    value = args[name]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(208, f"{name} is not UTF-8") from None
    if not isinstance(value, str):
        raise Refused(203, f"{name} is a string")
    return value


def _int(args: Args, name: str) -> int | None:
    if name not in args:
        return None
    value = args[name]
    if type(value) is not int:
        raise Refused(203, f"{name} is an integer")
    if not -(2**63) <= value < 2**63:
        raise Refused(209, f"{name} is out of range")
    return value


def _ints(args: Args, name: str) -> list[int] | None:
    if name not in args:
        return None
    value = args[name]
    values = value if isinstance(value, list) else [value]
    if not all(type(v) is int for v in values):
        raise Refused(203, f"{name} is an array of integers")
    return list(values)


def _recipients(args: Args) -> list[str]:
    if "to" not in args:
        raise Refused(200, "to")
    value = args["to"]
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, (str, bytes)) for item in items):
        raise Refused(203, "to is a string or an array of strings")
    return [_text({"to": item}, "to") for item in items]


# -- the gateway -------------------------------------------------------------------------


class XmlRpcGateway:
    """The methods, over one API and the gateway keys."""

    def __init__(self, api: Api, keys: GatewayKeys, clock: Clock = time.time) -> None:
        self._api = api
        self._keys = keys
        self._clock = clock
        self.challenges = Challenges(clock)
        self.failures = FailedLogins(clock)
        self._methods: dict[str, Callable[[Args, str], Awaitable[Args]]] = {
            "LJ.XMLRPC.sendmessage": self.sendmessage,
            "LJ.XMLRPC.getinbox": self.getinbox,
            "LJ.XMLRPC.setmessageread": self.setmessageread,
        }

    def app(self) -> web.Application:
        app = make_app()
        app.router.add_post(PATH, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            result = await finish_anyway(self.call(body, request.remote or ""))
            text = xmlrpc.client.dumps((result,), methodresponse=True, encoding="utf-8")
        except Refused as exc:
            text = xmlrpc.client.dumps(exc.fault, methodresponse=True, encoding="utf-8")
        return web.Response(body=text.encode("utf-8"), content_type="text/xml", charset="utf-8")

    async def call(self, body: bytes, client: str) -> Args:
        """The answer to the XML-RPC call ``body`` from ``client``; Refused for a fault."""
        method, params = parse(body)
        if method == "LJ.XMLRPC.getchallenge":
            challenge, now, expires = self.challenges.issue()
            return {
                "challenge": challenge,
                "server_time": now,
                "expire_time": expires,
                "auth_scheme": "c0",
            }
        handler = self._methods.get(method or "")
        if handler is None:
            raise Refused(201, method or "no methodName")
        if not params:
            raise Refused(200, "the arguments (a struct) are missing")
        args = params[0]
        if not isinstance(args, dict):
            raise Refused(203, "the argument is a struct")
        account = self.authenticate(args, client)
        try:
            return await handler(args, account)
        except LetterError as exc:
            raise Refused(int(exc.refusal), exc.detail) from None
        except Refused:
            raise
        except Exception:
            log.exception("XML-RPC %s failed", method)
            raise Refused(500) from None

    def authenticate(self, args: Args, client: str) -> str:
        """The account the call is made for, once its credentials are good."""
        method = _text(args, "auth_method", default="clear")
        if method == "cookie":
            raise Refused(203, "cookie authentication is not offered: use clear or challenge")
        if method not in ("clear", "challenge"):
            raise Refused(203, f"unknown auth_method {method!r}")
        username = _text(args, "username", required=True).strip().lower()
        counted = username if self._api.letters.is_account(username) else UNKNOWN_ACCOUNTS
        self.failures.check(counted)
        try:
            if method == "challenge":
                challenge = _text(args, "auth_challenge", required=True)
                response = _text(args, "auth_response", required=True).lower()
                self.challenges.take(challenge)
                self._check_user(username)
                ok = any(
                    hmac.compare_digest(response, md5_hex(challenge + digest))
                    for digest in self._keys.xmlrpc_digests(username)
                )
            else:
                if "password" in args:
                    given = md5_hex(_text(args, "password"))
                elif "hpassword" in args:
                    given = _text(args, "hpassword").lower()
                else:
                    raise Refused(200, "password or hpassword")
                self._check_user(username)
                ok = any(
                    hmac.compare_digest(given, digest)
                    for digest in self._keys.xmlrpc_digests(username)
                )
            if not ok:
                raise Refused(101)
        except Refused as exc:
            if exc.code in (100, 101, 105):
                self.failures.failed(counted)
                log.info("XML-RPC: failed login for %r from %s (%d)", username, client, exc.code)
            raise
        return username

    def _check_user(self, username: str) -> None:
        if not username or not self._api.letters.is_account(username):
            raise Refused(100, username)

    # -- the methods ---------------------------------------------------------------------

    async def sendmessage(self, args: Args, account: str) -> Args:
        to = _recipients(args)
        body = _text(args, "body", required=True)
        subject = _text(args, "subject")
        parent = _int(args, "parent")
        sent = await self._api.letters.send(account, to, body, subject=subject, parent=parent)
        answer: Args = {"sent_count": len(sent.msgids), "msgid": list(sent.msgids)}
        if sent.errors:
            answer["last_errors"] = list(sent.errors)
        return answer

    async def getinbox(self, args: Args, account: str) -> Args:
        itemshow = _int(args, "itemshow")
        skip = _int(args, "skip")
        lastsync = _int(args, "lastsync")
        gettype = _int(args, "gettype")
        if gettype not in (None, RECEIVED, SENT):
            raise Refused(209, f"gettype is {RECEIVED} (received) or {SENT} (sent)")
        items = self._api.letters.inbox(
            account,
            itemshow=100 if itemshow is None else itemshow,
            skip=skip or 0,
            lastsync=lastsync,
            received=None if gettype is None else gettype == RECEIVED,
        )
        out = []
        for item in items:
            entry: Args = {
                "qid": item.qid,
                "type": RECEIVED if item.received else SENT,
                "state": "R" if item.read else "N",
                "when": item.when,
                "subject": item.subject,
                "body": item.body,
            }
            if item.received:
                entry["from"] = item.peer
                entry["msgid"] = item.qid
                if item.parent is not None:
                    entry["parent"] = item.parent
            else:
                entry["to"] = item.peer
            out.append(entry)
        return {"items": out, "login": account}

    async def setmessageread(self, args: Args, account: str) -> Args:
        qids = _ints(args, "qid") or []
        msgids = _ints(args, "messageid") or []
        if not qids and not msgids:
            raise Refused(200, "qid or messageid")
        marked = await self._api.letters.set_read(account, [*qids, *msgids])
        result = []
        for n, entry in enumerate(marked):
            if n < len(qids):
                result.append({"qid": entry.id, "result": "set read"})
            else:
                state = "already red" if entry.already else "set read"
                result.append({"msgid": entry.id, "result": state})
        return {"result": result}
