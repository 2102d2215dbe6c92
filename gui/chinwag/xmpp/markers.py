"""XEP-0333 Chat Markers: a ``displayed`` marker means the reader has seen that message
and everything before it. In a room the marker names the room's stanza id and comes from
the occupant who displayed it (ours is reflected to us too)."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import ConversationKind
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import MARKERS, Dispatcher, Inbound, stanza_type
from chinwag.xmpp.muc import occupant_id

NS = "urn:xmpp:chat-markers:0"


def displayed_id(stanza: MessageStanza) -> str:
    el = stanza.xml.find(f"{{{NS}}}displayed")
    return (el.get("id") or "") if el is not None else ""


def register(dispatcher: Dispatcher, listener: ConnectionListener) -> None:
    """A displayed marker is taken: the peer's, or one of our other devices' (a carbon)."""

    def handle(inbound: Inbound) -> bool:
        shown = displayed_id(inbound.stanza)
        if not shown:
            return False
        if inbound.kind is ConversationKind.GROUPCHAT:
            # An occupant's (ours too, reflected), naming the room's stanza id: the core
            # says whose position it moves.
            listener.on_displayed(
                shown,
                inbound.peer,
                from_self=False,
                kind=ConversationKind.GROUPCHAT,
                nick=inbound.stanza["from"].resource,
                occupant_id=occupant_id(inbound.stanza),
            )
            return True
        listener.on_displayed(shown, inbound.peer, from_self=inbound.sent, kind=inbound.kind)
        return True

    dispatcher.add("markers", MARKERS, handle)


def send_displayed(
    client: ChinwagClient, to: str, uid: str, kind: ConversationKind = ConversationKind.CHAT
) -> None:
    """Tell ``to`` (a contact, or a room: to everyone in it) we displayed ``uid``."""
    marker = client.make_message(mto=to, mtype=stanza_type(kind))
    el = marker.xml.makeelement(f"{{{NS}}}displayed", {"id": uid})
    marker.xml.append(el)
    marker.xml.append(marker.xml.makeelement("{urn:xmpp:hints}store", {}))
    marker.send()
