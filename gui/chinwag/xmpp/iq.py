"""Sending an IQ and turning the server's refusal or silence into a typed core error, so
callers (dialogs, scripts) get a sentence instead of a slixmpp exception."""

from __future__ import annotations

from typing import Any

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

from chinwag.core.errors import RequestRefused

TIMEOUT = 30


async def request(iq: Any, what: str) -> Any:
    """Send ``iq`` and return the result; raise :class:`RequestRefused` naming ``what``."""
    try:
        return await iq.send(timeout=TIMEOUT)
    except IqError as exc:
        error = exc.iq["error"]
        condition = error["condition"] or "undefined-condition"
        text = error["text"] or ""
        raise RequestRefused(
            f"the server refused to {what}: {condition}" + (f" ({text})" if text else ""),
            condition=condition,
        ) from exc
    except IqTimeout as exc:
        raise RequestRefused(f"the server did not answer a request to {what}", "timeout") from exc


#: What we answer ``get`` requests for and nobody may ``set``: discovery (XEP-0030), entity
#: time (XEP-0202), last activity (XEP-0012).
GET_ONLY = frozenset(
    (
        "{http://jabber.org/protocol/disco#info}query",
        "{http://jabber.org/protocol/disco#items}query",
        "{urn:xmpp:time}time",
        "{jabber:iq:last}query",
    )
)


class IqGet(MatcherBase):
    """Matches an ``<iq type='get'/>`` carrying ``payload`` (a Clark-notation tag): one
    tag and one attribute compared, where slixmpp's MatchXPath builds an element and
    searches it for every stanza of the stream."""

    def __init__(self, payload: str) -> None:
        super().__init__(payload)
        self._payload = payload

    def match(self, stanza: Any) -> bool:
        xml = stanza.xml
        if xml.tag != "{jabber:client}iq" or xml.get("type") != "get":
            return False
        return any(child.tag == self._payload for child in xml)


class _GetOnlySet(MatcherBase):
    """Matches an ``<iq type='set'/>`` whose payload is one of :data:`GET_ONLY`: a tag
    and an attribute compared, so a message never costs more than one comparison."""

    def match(self, stanza: Any) -> bool:
        xml = stanza.xml
        if xml.tag != "{jabber:client}iq" or xml.get("type") != "set":
            return False
        return any(child.tag in GET_ONLY for child in xml)


def refuse_sets(client: Any) -> None:
    """Answer a ``set`` of what only ``get`` makes sense for with an error: every request
    gets an answer (RFC 6120 8.2.3), or the asker waits for its timeout."""

    def refuse(iq: Any) -> None:
        reply = iq.reply(clear=True)
        reply["type"] = "error"
        reply["error"]["type"] = "modify"
        reply["error"]["condition"] = "bad-request"
        reply.send()

    client.register_handler(Callback("Chinwag refuses sets of get-only", _GetOnlySet(None), refuse))
