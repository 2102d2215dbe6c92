"""XEP-0085 Chat State Notifications: typing, paused, active, inactive, gone."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import ConversationKind, Origin
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import CHAT_STATES, Dispatcher, Inbound, stanza_type

NS = "http://jabber.org/protocol/chatstates"
STATES = ("active", "composing", "paused", "inactive", "gone")


def chat_state(stanza: MessageStanza) -> str:
    for state in STATES:
        if stanza.xml.find(f"{{{NS}}}{state}") is not None:
            return state
    return ""


def register(dispatcher: Dispatcher, listener: ConnectionListener) -> None:
    """The peer's chat state, after the message it came with (if any): only live ones
    (not a carbon's, not one flushed from offline storage)."""

    def handle(inbound: Inbound) -> bool:
        state = chat_state(inbound.stanza)
        if state and not inbound.sent and inbound.origin is Origin.LIVE:
            nick = (
                inbound.stanza["from"].resource
                if inbound.kind is ConversationKind.GROUPCHAT
                else ""
            )
            listener.on_chat_state(inbound.peer, state, kind=inbound.kind, nick=nick)
        return False

    dispatcher.add("chat states", CHAT_STATES, handle)


def send_chat_state(
    client: ChinwagClient, to: str, state: str, kind: ConversationKind = ConversationKind.CHAT
) -> None:
    msg = client.make_message(mto=to, mtype=stanza_type(kind))
    msg.xml.append(msg.xml.makeelement(f"{{{NS}}}{state}", {}))
    msg.xml.append(msg.xml.makeelement("{urn:xmpp:hints}no-store", {}))
    msg.send()
