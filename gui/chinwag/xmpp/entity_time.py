"""XEP-0202 Entity Time: what time it is here, for a contact's client to show ("it is
22:40 for Alice"). Answered to anyone who asks our full address, as the XEP has it; the
clock and the time zone offset are the system's."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.xmpp.client import ChinwagClient

NS = "urn:xmpp:time"


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
            Callback(
                "Chinwag entity time", MatchXPath(f"{{jabber:client}}iq/{{{NS}}}time"), self._on_iq
            )
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
