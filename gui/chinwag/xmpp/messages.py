"""Incoming message stanzas: one dispatcher that sends each part of a message to what it
means for the core (a chat message or an action on an earlier one, a carbon copy, a
receipt, a marker, a chat state, an error bounce); the parts themselves are read by the
feature modules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.models import Origin
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp import carbons, chatstates, markers, receipts, stanzas
from chinwag.xmpp.client import ChinwagClient

NS_MAM = "urn:xmpp:mam:2"
log = logging.getLogger(__name__)


def error_text(stanza: MessageStanza) -> str:
    err = stanza["error"]
    condition = err["condition"] or "undefined-condition"
    text = err["text"] or ""
    return f"{condition}: {text}" if text else condition


class MessageDispatcher:
    """Routes every ``<message/>`` we receive."""

    def __init__(
        self,
        client: ChinwagClient,
        listener: ConnectionListener,
        hold: Callable[[], Callable[[], None]] | None = None,
    ) -> None:
        self._client = client
        self._listener = listener
        #: Keeps the stanza being handled unacknowledged until what it returns is called.
        self._hold = hold
        self._own = client.account.jid
        self._domain = self._own.partition("@")[2]
        #: True from our first presence of a new session until the server has answered a
        #: request sent right after it: the server flushes the messages it stored for us
        #: offline in that window, each with its own stamp of when it took them.
        self.offline_flush = False
        # slixmpp's own "message" event fires only for messages with a body; receipts,
        # markers, chat states and carbons have none, so take every <message/> here.
        client.register_handler(
            Callback("Chinwag messages", MatchXPath("{jabber:client}message"), self._on_stanza)
        )

    def _on_stanza(self, stanza: Any) -> None:
        try:
            self._dispatch(stanza)
        except Exception:
            # One malformed element must not take the message, or the stream, with it;
            # what could not be read is logged (the archive still has the message).
            log.exception("could not read a message stanza from %s", stanza.xml.get("from"))

    def _dispatch(self, stanza: Any) -> None:
        if stanza.xml.get("type") == "error":
            self._on_error(stanza)
            return
        if stanza.xml.find(f"{{{NS_MAM}}}result") is not None:
            return  # archive results are read by the catch-up query
        carbon = carbons.unwrap(stanza, self._own)
        if carbon is not None:
            inner, kind = carbon
            self._handle(inner, Origin.CARBON, sent=kind == "sent")
            return
        if (
            stanza.xml.find(f"{{{carbons.NS}}}private") is not None
            and not stanza["body"]
            and not stanzas.acts(stanza)
        ):
            return
        self._handle(stanza, Origin.LIVE, sent=False)

    def _handle(self, stanza: MessageStanza, origin: Origin, *, sent: bool) -> None:
        peer = stanza["to"].bare if sent else stanza["from"].bare
        uid = receipts.received_id(stanza)
        if uid:
            if not sent:
                self._listener.on_receipt(uid, peer)
            return
        shown = markers.displayed_id(stanza)
        if shown:
            self._listener.on_displayed(shown, peer, from_self=sent)
            return
        stamp = None
        if origin is Origin.LIVE and self.offline_flush:
            stamp = stanzas.server_delay(stanza, self._domain)
            if stamp is not None:
                origin = Origin.OFFLINE
        message = stanzas.to_message(stanza, self._own, origin, stamp=stamp)
        if message is None:
            state = chatstates.chat_state(stanza)
            if state and not sent and origin is Origin.LIVE:
                self._listener.on_chat_state(peer, state)
            return
        receipt_to = ""
        if not sent and receipts.wants_receipt(stanza):
            receipt_to = stanza["from"].full
        done = self._hold() if self._hold is not None else None
        self._listener.on_messages([message], [receipt_to], done)
        state = chatstates.chat_state(stanza)
        if state and not sent and origin is Origin.LIVE:
            self._listener.on_chat_state(peer, state)

    def _on_error(self, stanza: Any) -> None:
        uid = stanza["id"]
        if uid:
            self._listener.on_message_error(uid, stanza["from"].bare, error_text(stanza))
