"""Sending an IQ and turning the server's refusal or silence into a typed core error, so
callers (dialogs, scripts) get a sentence instead of a slixmpp exception."""

from __future__ import annotations

from typing import Any

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

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
GET_ONLY = (
    "{http://jabber.org/protocol/disco#info}query",
    "{http://jabber.org/protocol/disco#items}query",
    "{urn:xmpp:time}time",
    "{jabber:iq:last}query",
)


def refuse_sets(client: Any) -> None:
    """Answer a ``set`` of what only ``get`` makes sense for with an error: every request
    gets an answer (RFC 6120 8.2.3), or the asker waits for its timeout."""

    def refuse(iq: Any) -> None:
        reply = iq.reply(clear=True)
        reply["type"] = "error"
        reply["error"]["type"] = "modify"
        reply["error"]["condition"] = "bad-request"
        reply.send()

    for path in GET_ONLY:
        client.register_handler(
            Callback(
                f"Chinwag refuses set {path}",
                MatchXPath(f"{{jabber:client}}iq/{path}"),
                lambda iq: refuse(iq) if iq["type"] == "set" else None,
            )
        )
