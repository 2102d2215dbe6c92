"""XEP-0191 Blocking Command: the server-side block list, its pushes, block and unblock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slixmpp import JID

from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.iq import request

NS = "urn:xmpp:blocking"


def _jids(element: Any) -> list[str]:
    return [str(item.get("jid") or "").lower() for item in element.xml.findall(f"{{{NS}}}item")]


class BlockingFeature:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        client.add_event_handler("blocked", self._on_blocked)
        client.add_event_handler("unblocked", self._on_unblocked)

    async def fetch(self) -> None:
        """The whole block list (skipped when the server lacks XEP-0191)."""
        try:
            result = await self._client.plugin["xep_0191"].get_blocked(timeout=30)
        except Exception:
            return
        self._listener.on_blocklist(_jids(result["blocklist"]), True, True)

    async def block(self, jids: Sequence[str]) -> None:
        await self._change("block", jids)

    async def unblock(self, jids: Sequence[str]) -> None:
        await self._change("unblock", jids)

    async def _change(self, what: str, jids: Sequence[str]) -> None:
        iq = self._client.make_iq_set()
        for jid in jids:
            item = iq[what].xml.makeelement(f"{{{NS}}}item", {"jid": str(JID(jid))})
            iq[what].xml.append(item)
        await request(iq, f"{what} {', '.join(jids)}")

    def _from_our_server(self, iq: Any) -> bool:
        """A push comes from our own account (XEP-0191 section 3.5: no ``from``, or our
        bare address); anyone else's is refused, and answered so."""
        sender = iq["from"]
        own = self._client.boundjid
        if not sender or sender.full in (own.bare, own.domain):
            iq.reply().send()
            return True
        reply = iq.reply()
        reply["type"] = "error"
        reply["error"]["type"] = "cancel"
        reply["error"]["condition"] = "not-allowed"
        reply.send()
        return False

    def _on_blocked(self, iq: Any) -> None:
        if self._from_our_server(iq):
            self._listener.on_blocklist(_jids(iq["block"]), True, False)

    def _on_unblocked(self, iq: Any) -> None:
        if not self._from_our_server(iq):
            return
        # An empty <unblock/> unblocks everyone (XEP-0191 section 3.4).
        jids = _jids(iq["unblock"])
        self._listener.on_blocklist(jids, False, not jids)
