"""Sending an IQ and turning the server's refusal or silence into a typed core error, so
callers (dialogs, scripts) get a sentence instead of a slixmpp exception."""

from __future__ import annotations

from typing import Any

from slixmpp.exceptions import IqError, IqTimeout

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
