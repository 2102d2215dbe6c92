"""How a received ``<message/>`` is taken apart: the feature modules register what they
handle, and each stanza goes once through what they registered.

- :class:`Dispatcher`: an ordered list of stanza handlers (an error bounce, an archive
  result, a carbon copy, an invitation, a receipt, a marker, the message itself, a chat
  state), each
  registered by its module's ``register`` and looking only at its own elements. A
  handler that takes the stanza ends its handling (a receipt is not also a message).
- :class:`MessageFeatures`: the elements a chat message carries about an earlier one
  (a correction, a retraction, reactions, a reply), each module registering how to
  find, read and write its element; used for live messages, carbons and archive pages
  alike (:func:`chinwag.xmpp.stanzas.to_message`) and for the messages we send
  (:func:`chinwag.xmpp.stanzas.build_outgoing`)."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.models import ConversationKind, Message, Origin
from chinwag.xmpp import targets

if TYPE_CHECKING:
    from slixmpp.xmlstream import XMLStream

log = logging.getLogger(__name__)

#: Where each module's stanza handler runs (lower first).
ERRORS = 0
ARCHIVE = 10
CARBONS = 20
INVITATIONS = 25
RECEIPTS = 30
MARKERS = 40
ROOMS = 45
MESSAGES = 50
CHAT_STATES = 60


@dataclass(eq=False)
class Inbound:
    """A received message stanza as the handlers see it; a handler may change it for
    those after it (a carbon becomes the message it copies)."""

    stanza: MessageStanza
    origin: Origin = Origin.LIVE
    #: A copy of what one of our other devices sent (a sent carbon).
    sent: bool = False
    #: The full address a receipt goes to once the message is stored ("" : none asked).
    receipt_to: str = ""

    @property
    def peer(self) -> str:
        """The bare address of who we talk with (a contact, or a room): the recipient
        of what we sent."""
        return str(self.stanza["to"].bare if self.sent else self.stanza["from"].bare)

    @property
    def kind(self) -> ConversationKind:
        """A room's stanza (type groupchat) or a one-to-one one (chat, normal, none)."""
        return kind_of(self.stanza)


def kind_of(stanza: MessageStanza) -> ConversationKind:
    return ConversationKind.GROUPCHAT if stanza["type"] == "groupchat" else ConversationKind.CHAT


def stanza_type(
    kind: ConversationKind, subject: str = "", *, letter: bool = False
) -> Literal["chat", "groupchat", "normal"]:
    """The ``type`` of a message stanza of a conversation of ``kind``; a one-to-one
    ``letter`` (as the XML-RPC gateway sends, subject or not), or any one-to-one message
    with a ``subject``, is a single message, type ``normal`` (RFC 6121 5.2.2), not a line
    of a chat."""
    if kind is ConversationKind.GROUPCHAT:
        return "groupchat"
    return "normal" if letter or subject else "chat"


@dataclass(frozen=True)
class StanzaHandler:
    """``handle`` returns True when it took the stanza: no handler after it sees it."""

    name: str
    order: int
    handle: Callable[[Inbound], bool]


class Dispatcher:
    """Routes every ``<message/>`` through the registered handlers, in order, once."""

    def __init__(self, client: XMLStream) -> None:
        self._handlers: list[StanzaHandler] = []
        # slixmpp's own "message" event fires only for messages with a body; receipts,
        # markers, chat states and carbons have none, so take every <message/> here.
        client.register_handler(
            Callback("Chinwag messages", MatchXPath("{jabber:client}message"), self.dispatch)
        )

    @property
    def handlers(self) -> tuple[StanzaHandler, ...]:
        return tuple(self._handlers)

    def add(self, name: str, order: int, handle: Callable[[Inbound], bool]) -> None:
        """Register ``handle`` at ``order`` (after those of the same order)."""
        if any(h.name == name for h in self._handlers):
            raise ValueError(f"a message handler {name!r} is registered already")
        orders = [h.order for h in self._handlers]
        self._handlers.insert(
            bisect.bisect_right(orders, order), StanzaHandler(name, order, handle)
        )

    def dispatch(self, stanza: Any) -> None:
        inbound = Inbound(stanza)
        try:
            for handler in self._handlers:
                if handler.handle(inbound):
                    return
        except Exception:
            # One malformed element must not take the stream with it; what could not be
            # read is logged (the archive still has the message).
            log.exception("could not read a message stanza from %s", stanza.xml.get("from"))


@dataclass(frozen=True)
class MessageFeature:
    """One element a chat message can carry besides its text."""

    #: Its namespace (for the log).
    namespace: str
    #: Whether the stanza carries the element, well-formed or not.
    present: Callable[[MessageStanza], bool]
    #: The message with its fields set from a well-formed element (a bad one is logged,
    #: and the message returned as it was).
    read: Callable[[MessageStanza, Message], Message]
    #: Add the element to our stanza when the message's fields say so.
    write: Callable[[MessageStanza, Message], None]


class MessageFeatures:
    """The registered :class:`MessageFeature`\\ s, read and written in the order added."""

    def __init__(self) -> None:
        self._features: list[MessageFeature] = []

    def add(self, feature: MessageFeature) -> None:
        self._features.append(feature)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(f.namespace for f in self._features)

    def present(self, stanza: MessageStanza) -> bool:
        """True when the stanza carries any of the elements (well-formed or not): it may
        mean something without a body."""
        return any(f.present(stanza) for f in self._features)

    def read(self, stanza: MessageStanza, message: Message) -> Message:
        """``message`` with what each feature read from its element; one that fails is
        logged and the others still read theirs."""
        for feature in self._features:
            try:
                message = feature.read(stanza, message)
            except Exception:
                log.exception(
                    "could not read %s from %s", feature.namespace, targets.sender(stanza)
                )
        return message

    def write(self, stanza: MessageStanza, message: Message) -> None:
        for feature in self._features:
            feature.write(stanza, message)
