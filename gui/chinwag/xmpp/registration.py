"""XEP-0077 In-Band Registration: create the account on the server before signing in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slixmpp.exceptions import IqError, IqTimeout

from chinwag.core.errors import ChinwagError, RegistrationFailed, TlsFailure
from chinwag.xmpp.client import ChinwagClient


def register_handler(client: ChinwagClient, fail: Callable[[ChinwagError], None]) -> None:
    """On the server's registration feature, register our local part and password."""

    async def on_register(_form: Any) -> None:
        if not client.encrypted:  # never send a password in the clear
            fail(TlsFailure(f"the server of {client.account.jid} did not offer encryption"))
            return
        iq = client.make_iq_set()
        iq["register"]["username"] = client.boundjid.user or client.requested_jid.user
        iq["register"]["password"] = client.password
        try:
            await iq.send(timeout=30)
        except IqError as exc:
            condition = exc.iq["error"]["condition"]
            reason = {
                "conflict": "that name is taken on this server",
                "not-allowed": "this server does not allow creating accounts",
                "not-acceptable": "the server did not accept the name or password",
            }.get(condition, exc.iq["error"]["text"] or condition)
            fail(RegistrationFailed(f"could not create {client.account.jid}: {reason}"))
        except IqTimeout:
            fail(RegistrationFailed(f"could not create {client.account.jid}: no answer"))

    client.add_event_handler("register", on_register)
