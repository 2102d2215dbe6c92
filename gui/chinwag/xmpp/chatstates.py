"""XEP-0085 Chat State Notifications: typing, paused, active, inactive, gone."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza

from chinwag.xmpp.client import ChinwagClient

NS = "http://jabber.org/protocol/chatstates"
STATES = ("active", "composing", "paused", "inactive", "gone")


def chat_state(stanza: MessageStanza) -> str:
    for state in STATES:
        if stanza.xml.find(f"{{{NS}}}{state}") is not None:
            return state
    return ""


def send_chat_state(client: ChinwagClient, to: str, state: str) -> None:
    msg = client.make_message(mto=to, mtype="chat")
    msg.xml.append(msg.xml.makeelement(f"{{{NS}}}{state}", {}))
    msg.xml.append(msg.xml.makeelement("{urn:xmpp:hints}no-store", {}))
    msg.send()
