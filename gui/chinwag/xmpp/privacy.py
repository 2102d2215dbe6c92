"""What the user chose not to tell contacts (the privacy preferences): XEP-0085 chat
states (typing notifications) and XEP-0333 read markers.

One outgoing filter on the client, which every stanza passes whoever built it (a message,
a correction, a letter, a room's message, a chat state alone, a marker): with chat states
off no element of their namespace leaves; with read markers off no ``<displayed/>`` (nor
``<received/>``, ``<acknowledged/>`` of XEP-0333) leaves. A stanza that was only that (a
chat state alone, a marker alone) is not sent at all. What asks the contact something,
not tells about the user, stays: the ``<markable/>`` flag and XEP-0184 receipts and their
requests.

What is withheld is not advertised either (:meth:`Privacy.advertised`): service discovery
and the XEP-0115 hash in our presence leave out chat states while they are off, and chat
markers while read markers are off, so a contact's client neither expects them from us
nor learns a feature the user turned off. Receipts stay advertised: the switches do not
cover them."""

from __future__ import annotations

from typing import Any

from slixmpp.stanza import Message as MessageStanza

NS_CHAT_STATES = "http://jabber.org/protocol/chatstates"
NS_MARKERS = "urn:xmpp:chat-markers:0"
#: XEP-0333 elements that tell the contact what the user has read (``markable`` asks).
READ_MARKERS = frozenset(
    f"{{{NS_MARKERS}}}{name}" for name in ("received", "displayed", "acknowledged")
)
#: Elements that say nothing on their own: a message left with only these was a chat
#: state or a marker alone.
ENVELOPE = frozenset(
    {
        "{urn:xmpp:sid:0}origin-id",
        "{urn:xmpp:hints}no-store",
        "{urn:xmpp:hints}no-permanent-store",
        "{urn:xmpp:hints}store",
        "{urn:xmpp:hints}no-copy",
        "{jabber:client}thread",
    }
)


class Privacy:
    """The switches (both on until :meth:`set`) and the client's outgoing filter."""

    def __init__(self) -> None:
        self.chat_states = True
        self.read_markers = True

    def set(self, *, chat_states: bool, read_markers: bool) -> bool:
        """Set both switches; True when either changed."""
        changed = (chat_states, read_markers) != (self.chat_states, self.read_markers)
        self.chat_states = chat_states
        self.read_markers = read_markers
        return changed

    def advertised(self) -> dict[str, bool]:
        """The disco#info features the switches govern, each with whether it is
        advertised now."""
        return {NS_CHAT_STATES: self.chat_states, NS_MARKERS: self.read_markers}

    def withheld(self, tag: str) -> bool:
        """True for an element the user chose not to send."""
        if not self.chat_states and tag.startswith(f"{{{NS_CHAT_STATES}}}"):
            return True
        return not self.read_markers and tag in READ_MARKERS

    def outgoing(self, stanza: Any) -> Any:
        """The "out" filter: ``stanza`` without what is withheld; None (not sent) when
        nothing else was in it."""
        if not isinstance(stanza, MessageStanza) or (self.chat_states and self.read_markers):
            return stanza
        withheld = [el for el in stanza.xml if self.withheld(el.tag)]
        if not withheld:
            return stanza
        for el in withheld:
            stanza.xml.remove(el)
        if all(el.tag in ENVELOPE for el in stanza.xml):
            return None
        return stanza
