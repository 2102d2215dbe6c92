"""The id an action or a reply names (XEP-0308 corrections, XEP-0424 retractions,
XEP-0444 reactions, XEP-0461 replies): read and checked the same way by each of those
modules. A bad element (no id, a blank or over-long one, several that disagree) is
logged and dropped on its own: the rest of the stanza still means what it says."""

from __future__ import annotations

import logging
from xml.etree.ElementTree import Element

from slixmpp.stanza import Message as MessageStanza

log = logging.getLogger(__name__)

#: Longest id accepted (ids are usually uuids; anything this long is not one).
MAX_ID_CHARS = 1024


def sender(stanza: MessageStanza) -> str:
    """Who the stanza says it is from, for the log."""
    return stanza.xml.get("from") or "(no sender)"


def only(stanza: MessageStanza, tag: str, what: str) -> Element | None:
    """The message's direct child ``tag``, or None: there is none, or there are several
    naming different ids (which one the sender meant cannot be told: logged)."""
    found = stanza.xml.findall(tag)
    if not found:
        return None
    if len({el.get("id") for el in found}) > 1:
        log.info("%s from %s names several messages: ignored", what, sender(stanza))
        return None
    return found[0]


def target_id(el: Element, what: str, stanza: MessageStanza) -> str:
    """The ``id`` of ``el``, or "" (logged) when it is missing, blank or too long."""
    uid = el.get("id") or ""
    if not uid.strip():
        log.info("%s from %s names no message: ignored", what, sender(stanza))
        return ""
    if len(uid) > MAX_ID_CHARS:
        log.info("%s from %s names an id of %d characters: ignored", what, sender(stanza), len(uid))
        return ""
    return uid
