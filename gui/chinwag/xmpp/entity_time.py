"""XEP-0202 Entity Time: what time it is here, for a contact's client to show ("it is
22:40 for Alice"). Answered to anyone who asks our full address, as the XEP has it; the
clock and the time zone offset are the system's."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback

from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.iq import IqGet

NS = "urn:xmpp:time"
log = logging.getLogger(__name__)
#: How long to wait for the server's time before going by our own clock.
OFFSET_TIMEOUT = 10.0


def tzo(now: datetime.datetime) -> str:
    """The offset of an aware local time from UTC, as XEP-0082 writes it: ``+02:00``,
    ``-05:30``, ``+00:00``."""
    offset = now.utcoffset() or datetime.timedelta(0)
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc(now: datetime.datetime) -> str:
    """XEP-0082 DateTime in UTC with milliseconds: ``2026-12-04T17:58:35.123Z``."""
    stamp = now.astimezone(datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def local_now() -> datetime.datetime:
    return datetime.datetime.now().astimezone()


class EntityTime:
    """Answers ``<iq type='get'><time xmlns='urn:xmpp:time'/></iq>``."""

    def __init__(
        self, client: ChinwagClient, now: Callable[[], datetime.datetime] = local_now
    ) -> None:
        self._client = client
        self._now = now
        client.plugin["xep_0030"].add_feature(NS)
        client.register_handler(
            Callback("Chinwag entity time", IqGet(f"{{{NS}}}time"), self._on_iq)
        )

    def _on_iq(self, iq: Any) -> None:
        if iq["type"] != "get":
            return  # a result or error of someone else's request, or a set: not ours
        now = self._now()
        reply = iq.reply(clear=True)
        element = reply.xml.makeelement(f"{{{NS}}}time", {})
        for name, text in (("tzo", tzo(now)), ("utc", utc(now))):
            child = element.makeelement(f"{{{NS}}}{name}", {})
            child.text = text
            element.append(child)
        reply.xml.append(element)
        reply.send()


async def server_now(client: ChinwagClient) -> float | None:
    """What time it is on our server's clock now (Unix time, asked with this XEP and
    taken at the middle of the round trip); None when it does not say."""
    iq = client.make_iq_get(ito=client.boundjid.domain)
    iq.xml.append(iq.xml.makeelement(f"{{{NS}}}time", {}))
    sent = time.time()
    try:
        answer = await iq.send(timeout=OFFSET_TIMEOUT)
    except (IqError, IqTimeout) as exc:
        log.debug("%s: the server does not tell its time: %s", client.account.jid, exc)
        return None
    received = time.time()
    el = answer.xml.find(f"{{{NS}}}time/{{{NS}}}utc")
    if el is None or not el.text:
        return None
    try:
        then = datetime.datetime.fromisoformat(el.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.UTC)
    return then.timestamp() + (received - sent) / 2
