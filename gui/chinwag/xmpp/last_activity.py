"""XEP-0012 Last Activity, online user query: how many seconds the person has been
idle, asked of our full address (a query to the bare address is the server's to answer,
with the time since the account was last online; one to the server, its uptime).

Section 4: only those allowed to see our presence learn it (a contact we share presence
with, or another device of the same account); others get ``<forbidden/>``. While we
appear offline, nobody does: ``<service-unavailable/>``, what the server says for an
address with no one behind it. The core decides who may (``idle_seconds``)."""

from __future__ import annotations

from typing import Any

from slixmpp.xmlstream.handler import Callback

from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.iq import IqGet

NS = "jabber:iq:last"


class LastActivity:
    """Answers ``<iq type='get'><query xmlns='jabber:iq:last'/></iq>``."""

    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        client.plugin["xep_0030"].add_feature(NS)
        client.register_handler(
            Callback(
                "Chinwag last activity",
                IqGet(f"{{{NS}}}query"),
                self._on_iq,
            )
        )

    def _on_iq(self, iq: Any) -> None:
        if iq["type"] != "get":
            return
        asker = iq["from"].bare or self._client.boundjid.domain
        seconds = self._listener.idle_seconds(asker)
        if seconds is None:
            # Our own account may always know: refused to it too, we appear offline.
            hidden = self._listener.idle_seconds(self._client.boundjid.bare) is None
            self._refuse(iq, "service-unavailable" if hidden else "forbidden")
            return
        reply = iq.reply(clear=True)
        reply.xml.append(reply.xml.makeelement(f"{{{NS}}}query", {"seconds": str(seconds)}))
        reply.send()

    @staticmethod
    def _refuse(iq: Any, condition: str) -> None:
        reply = iq.reply(clear=True)
        reply["type"] = "error"
        reply["error"]["type"] = "cancel" if condition == "service-unavailable" else "auth"
        reply["error"]["condition"] = condition
        reply.send()
