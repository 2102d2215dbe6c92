"""XEP-0313 Message Archive Management: catch up with our own archive after a connect,
page by page from the last archive id seen (or from a start time the first time)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from slixmpp import JID
from slixmpp.exceptions import IqError

from chinwag.core.models import Message, Origin
from chinwag.xmpp import invitations, stanzas
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import ARCHIVE, Dispatcher, Inbound

log = logging.getLogger(__name__)
NS = "urn:xmpp:mam:2"
RESULT = f"{{{NS}}}result"
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
