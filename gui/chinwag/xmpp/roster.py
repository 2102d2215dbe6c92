"""RFC 6121 roster: fetch (with roster versioning when offered), pushes, and changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chinwag.core.models import Contact, Subscription
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.iq import request

NS = "jabber:iq:roster"


def _contacts(account: str, query: Any) -> list[Contact]:
    out = []
    for item in query.xml.findall(f"{{{NS}}}item"):
        jid = (item.get("jid") or "").lower()
        if not jid:
            continue
        try:
            sub = Subscription(item.get("subscription") or "none")
        except ValueError:
            sub = Subscription.NONE
        names = {(g.text or "").strip() for g in item.findall(f"{{{NS}}}group")}
        groups = tuple(sorted(names - {""}))
        out.append(
            Contact(
                account=account,
                jid=jid,
                name=item.get("name") or "",
                groups=groups,
                subscription=sub,
                ask=item.get("ask") == "subscribe",
                approved=item.get("approved") == "true",
            )
        )
    return out


class RosterFeature:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        client.add_event_handler("roster_update", self._on_push)

    async def fetch(self) -> None:
        version = self._listener.roster_version()
        iq = self._client.make_iq_get(queryxmlns=NS)
        if "rosterver" in self._client.features or version:
            iq["roster"]["ver"] = version
        result = await iq.send(timeout=30)
        query = result.xml.find(f"{{{NS}}}query")
        if query is None:  # roster versioning: nothing changed, pushes follow
            self._listener.on_roster(None, version, True)
            return
        ver = query.get("ver") or ""
        self._listener.on_roster(_contacts(self._client.account.jid, result["roster"]), ver, True)

    def _on_push(self, iq: Any) -> None:
        if iq["type"] != "set":
            return
        query = iq.xml.find(f"{{{NS}}}query")
        ver = query.get("ver") or "" if query is not None else ""
        self._listener.on_roster(_contacts(self._client.account.jid, iq["roster"]), ver, False)

    async def set_item(self, jid: str, name: str, groups: Sequence[str]) -> None:
        iq = self._client.make_iq_set()
        iq["roster"]["items"] = {jid: {"name": name, "groups": list(groups), "subscription": None}}
        await request(iq, f"change the contact {jid}")

    async def remove_item(self, jid: str) -> None:
        iq = self._client.make_iq_set()
        iq["roster"]["items"] = {jid: {"subscription": "remove"}}
        await request(iq, f"remove the contact {jid}")
