"""Incoming message stanzas: the :class:`~chinwag.xmpp.dispatch.Dispatcher` of one
connection with every feature module's handler registered, in the order they run: an
error bounce, an archive result (ignored live), a carbon copy (unwrapped; a forged one is
refused), a receipt, a displayed marker, the message itself (a chat message or an action
on an earlier one, read by the client's message features), its chat state."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import Origin
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp import carbons, chatstates, mam, markers, receipts, stanzas
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import ERRORS, MESSAGES, Dispatcher, Inbound

log = logging.getLogger(__name__)


def error_text(stanza: MessageStanza) -> str:
    err = stanza["error"]
    condition = err["condition"] or "undefined-condition"
    text = err["text"] or ""
    return f"{condition}: {text}" if text else condition


class MessageDispatcher:
    """Routes every ``<message/>`` we receive (see the module)."""

    def __init__(
        self,
        client: ChinwagClient,
        listener: ConnectionListener,
        hold: Callable[[], Callable[[], None]] | None = None,
    ) -> None:
        self._listener = listener
        #: Keeps the stanza being handled unacknowledged until what it returns is called.
        self._hold = hold
        self._own = client.account.jid
        self._domain = self._own.partition("@")[2]
        self._features = client.message_features
        #: True from our first presence of a new session until the server has answered a
        #: request sent right after it: the server flushes the messages it stored for us
        #: offline in that window, each with its own stamp of when it took them.
        self.offline_flush = False
        self.dispatcher = dispatcher = Dispatcher(client)
        dispatcher.add("errors", ERRORS, self._on_error)
        mam.register(dispatcher)
        carbons.register(dispatcher, self._own, self._features)
        receipts.register(dispatcher, listener)
        markers.register(dispatcher, listener)
        dispatcher.add("messages", MESSAGES, self._on_message)
        chatstates.register(dispatcher, listener)

    def _on_error(self, inbound: Inbound) -> bool:
        """A bounce of one of ours: that message failed, for the reason given."""
        stanza = inbound.stanza
        if stanza.xml.get("type") != "error":
            return False
        uid = stanza["id"]
        if uid:
            self._listener.on_message_error(uid, stanza["from"].bare, error_text(stanza))
        return True

    def _on_message(self, inbound: Inbound) -> bool:
        """A chat message, or an action on an earlier one, goes to the core (held
        unacknowledged until stored); what else the stanza carries is for the handlers
        after this one."""
        stanza = inbound.stanza
        stamp = None
        if inbound.origin is Origin.LIVE and self.offline_flush:
            stamp = stanzas.server_delay(stanza, self._domain)
            if stamp is not None:
                inbound.origin = Origin.OFFLINE
        message = stanzas.to_message(stanza, self._own, inbound.origin, self._features, stamp=stamp)
        if message is not None:
            done = self._hold() if self._hold is not None else None
            self._listener.on_messages([message], [inbound.receipt_to], done)
        return False
