"""XEP-0313 Message Archive Management: catch up with our own archive after a connect,
page by page from the last archive id seen (or from a start time the first time); and a
room's archive read backwards, the newest page first (:func:`archive_page_before`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Collector
from slixmpp.xmlstream.matcher.base import MatcherBase

from chinwag.core.models import ArchiveSlice, Message, Origin
from chinwag.xmpp import invitations, stanzas
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import ARCHIVE, Dispatcher, Inbound
from chinwag.xmpp.iq import request

log = logging.getLogger(__name__)
NS = "urn:xmpp:mam:2"
RESULT = f"{{{NS}}}result"
FIN = f"{{{NS}}}fin"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_DATA = "jabber:x:data"
PAGE = 250


def register(dispatcher: Dispatcher) -> None:
    """Archive results arriving on the stream are taken and left: the catch-up query
    reads its own (:func:`archive_pages`), and nobody else's is believed."""

    def handle(inbound: Inbound) -> bool:
        return inbound.stanza.xml.find(RESULT) is not None

    dispatcher.add("archive results", ARCHIVE, handle)


def _result_message(result: Any, client: ChinwagClient) -> Message | None:
    """A core message from one ``<result/>`` of the archive (an invitation is none: the
    server archives them, and they came live)."""
    archive_id = result["mam_result"]["id"]
    forwarded = result["mam_result"]["forwarded"]
    inner = forwarded["stanza"]
    if inner.xml.get("type") != "groupchat" and invitations.carries_invitation(inner):
        return None
    # The <delay/> of the <forwarded/> is our server's: it wraps what it archived.
    return stanzas.to_message(
        inner,
        client.account.jid,
        Origin.ARCHIVE,
        client.message_features,
        archive_id=archive_id,
        stamp=stanzas.delay_of(forwarded),
    )


async def archive_pages(
    client: ChinwagClient, after_id: str | None, start: float | None, archive: str = ""
) -> AsyncIterator[tuple[list[Message], str]]:
    """Pages of (messages, last archive id) in archive order: after ``after_id``, or from
    ``start`` when there is no position or the server no longer knows it. ``archive``: a
    room's archive (MAM on the room, its ids the room's stanza ids); "": our own."""
    holder = JID(archive) if archive else None
    own = client.account.jid
    rsm: dict[str, Any] = {"max": PAGE}
    since = datetime.fromtimestamp(start, UTC) if start is not None and not after_id else None
    if after_id:
        rsm["after"] = after_id
    while True:
        try:
            iq = await client.plugin["xep_0313"].retrieve(
                jid=holder, start=since, rsm=rsm, timeout=60
            )
        except IqError as exc:
            if after_id and exc.condition == "item-not-found":
                # Our position is not in the archive (expired, or an id we should not have
                # believed): go by time instead of taking the whole archive again.
                log.info("%s: archive position %s unknown, going by time", own, after_id)
                after_id, since = None, datetime.fromtimestamp(start or 0, UTC)
                rsm = {"max": PAGE}
                continue
            raise
        results = iq["mam"]["results"]
        page = [m for m in (_result_message(r, client) for r in results) if m is not None]
        fin = iq["mam_fin"]
        last = fin["rsm"]["last"] or (results[-1]["mam_result"]["id"] if results else "")
        if page or last:
            yield page, last
        if fin["complete"] in (True, "true") or not results or not last:
            return
        rsm = {"max": PAGE, "after": last}


class _ResultsOf(MatcherBase):
    """Matches the ``<message/>`` results of one query: a ``<result/>`` with its query
    id, from the archive asked (a room's bare address; our own: our address or none)."""

    def __init__(self, query_id: str, holders: frozenset[str]) -> None:
        super().__init__(query_id)
        self._query_id = query_id
        self._holders = holders

    def match(self, stanza: Any) -> bool:
        xml = stanza.xml
        if xml.tag != "{jabber:client}message":
            return False
        result = xml.find(RESULT)
        if result is None or result.get("queryid") != self._query_id:
            return False
        return JID(xml.get("from") or "").bare in self._holders


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def archive_page_before(
    client: ChinwagClient, archive: str, before_id: str, limit: int, start: float | None = None
) -> ArchiveSlice:
    """One page of an archive read backwards (XEP-0059 2.5): the ``limit`` newest results
    before ``before_id``, or the archive's very last page when it is "" (an empty
    ``<before/>``, which slixmpp's ``retrieve`` cannot send: its RSM interface drops an
    empty value, so the query is built here). ``start``: no older than this (Unix time).
    ``archive``: a room's address; "": our own. Raises ``RequestRefused``."""
    own = client.account.jid
    iq = client.make_iq_set(ito=JID(archive) if archive else None)
    query_id = str(iq["id"])
    query = ET.SubElement(iq.xml, f"{{{NS}}}query", {"queryid": query_id})
    if start is not None:
        form = ET.SubElement(query, f"{{{NS_DATA}}}x", {"type": "submit"})
        kind = ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": "FORM_TYPE", "type": "hidden"})
        ET.SubElement(kind, f"{{{NS_DATA}}}value").text = NS
        since = ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": "start"})
        ET.SubElement(since, f"{{{NS_DATA}}}value").text = _stamp(start)
    rsm = ET.SubElement(query, f"{{{NS_RSM}}}set")
    ET.SubElement(rsm, f"{{{NS_RSM}}}max").text = str(limit)
    ET.SubElement(rsm, f"{{{NS_RSM}}}before").text = before_id or None
    holders = frozenset((JID(archive).bare,)) if archive else frozenset(("", JID(own).bare))
    collector = Collector(f"MAM before {query_id}", _ResultsOf(query_id, holders))
    client.register_handler(collector)
    try:
        answer = await request(iq, f"read the archive of {archive or own}")
    finally:
        results = collector.stop()
    ids: list[str] = []
    messages: list[Message] = []
    for result in results:
        archive_id = result["mam_result"]["id"]
        if not archive_id:
            continue
        ids.append(archive_id)
        message = _result_message(result, client)
        if message is not None:
            messages.append(message)
    fin = answer.xml.find(FIN)
    # complete: the page holds the oldest result of the query. (Not a short page: a
    # server may give fewer than asked, Prosody's rooms at most 50 by default.)
    complete = fin is not None and fin.get("complete") in ("true", "1")
    return ArchiveSlice(tuple(messages), tuple(ids), complete or not ids)
