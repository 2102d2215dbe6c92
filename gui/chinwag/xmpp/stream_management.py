"""XEP-0198 Stream Management: which of our messages the server has taken.

slixmpp keeps the unacked queue and resends it on resumption; this module turns its
acks into ``on_acked`` for our messages, and asks for an ack right after each burst of
messages has been written (one ``<r/>`` per burst, not one per stanza)."""

from __future__ import annotations

import asyncio
from typing import Any

from slixmpp.plugins.xep_0198.stanza import RequestAck
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient


class StreamManagement:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        self._ack_pending = False
        self._answer_pending = False
        client.add_event_handler("stanza_acked", self._acked)
        # slixmpp resends the unacked queue on resumption without the send filters (so
        # without _outgoing): ask for the ack of those here.
        client.add_event_handler("session_resumed", self._resumed)
        # slixmpp writes stanzas from a queue, after its filters: requesting the ack from
        # here (once the message has passed them) puts <r/> after the message on the wire.
        client.add_filter("out_sync", self._outgoing)
        # Answer the server's <r/> once per loop iteration with the latest count, not once
        # per request: under load the server asks often, and each answer is a write.
        client.remove_handler("Stream Management Request Ack")
        client.register_handler(
            Callback(
                "Chinwag SM request",
                MatchXPath(RequestAck.tag_name()),
                self._on_request,
                instream=True,
            )
        )

    @property
    def enabled(self) -> bool:
        return bool(self._client.plugin["xep_0198"].enabled_out)

    def unacked_uids(self) -> set[str]:
        queue = self._client.plugin["xep_0198"].unacked_queue
        return {s["id"] for _, s in queue if isinstance(s, MessageStanza) and s["id"]}

    def _resumed(self, _: Any) -> None:
        if self._client.plugin["xep_0198"].unacked_queue and not self._ack_pending:
            self._ack_pending = True
            asyncio.get_running_loop().call_soon(self._request)

    def _acked(self, stanza: Any) -> None:
        if isinstance(stanza, MessageStanza) and stanza["body"] and stanza["id"]:
            self._listener.on_acked(stanza["id"], stanza["to"].bare)

    def _outgoing(self, stanza: Any) -> Any:
        if isinstance(stanza, MessageStanza) and stanza["body"] and not self._ack_pending:
            self._ack_pending = True
            # Right after the write, not later: the server then acks before the recipient's
            # receipt can come back, so states go queued -> sent -> delivered in order.
            asyncio.get_running_loop().call_soon(self._request)
        return stanza

    def _on_request(self, _: Any) -> None:
        if not self._answer_pending:
            self._answer_pending = True
            asyncio.get_running_loop().call_soon(self._answer)

    def _answer(self) -> None:
        self._answer_pending = False
        self._client.plugin["xep_0198"].send_ack()

    def _request(self) -> None:
        self._ack_pending = False
        if self._client.transport is not None and self.enabled:
            self._client.plugin["xep_0198"].request_ack()
