"""XEP-0428 Fallback Indication: which part of a body is there only for clients that do
not understand an element (the quote of a reply, the text of a retraction)."""

from __future__ import annotations

import logging
import re

from slixmpp.stanza import Message as MessageStanza

from chinwag.xmpp import targets

log = logging.getLogger(__name__)

NS = "urn:xmpp:fallback:0"
FEATURE = NS
_OFFSET = re.compile(r"[0-9]{1,9}")


def _offset(value: str | None) -> int | None:
    if value is None or not _OFFSET.fullmatch(value):
        return None
    return int(value)


def strip(stanza: MessageStanza, body: str, for_ns: str) -> str:
    """``body`` without the parts the sender marked as a fallback for ``for_ns`` (see
    :func:`split`)."""
    return split(stanza, body, for_ns)[0]


def split(stanza: MessageStanza, body: str, for_ns: str) -> tuple[str, str]:
    """``body`` without the parts the sender marked as a fallback for ``for_ns``, and
    those parts (joined).

    Offsets count Unicode code points of the body (as Python indexes strings). A
    ``<fallback/>`` with neither a ``<body/>`` nor a ``<subject/>`` range marks the whole
    body. A range that is not two offsets with ``0 <= start < end <= len(body)`` is
    ignored (logged); overlapping ranges are merged."""
    ranges: list[tuple[int, int]] = []
    for fallback in stanza.xml.findall(f"{{{NS}}}fallback"):
        if fallback.get("for") != for_ns:
            continue
        parts = fallback.findall(f"{{{NS}}}body")
        if not parts and fallback.find(f"{{{NS}}}subject") is None:
            return "", body
        for part in parts:
            start, end = _offset(part.get("start")), _offset(part.get("end"))
            if start is None or end is None or not 0 <= start < end <= len(body):
                log.info(
                    "fallback range %r-%r from %s is outside a body of %d: ignored",
                    part.get("start"),
                    part.get("end"),
                    targets.sender(stanza),
                    len(body),
                )
                continue
            ranges.append((start, end))
    if not ranges:
        return body, ""
    kept: list[str] = []
    taken: list[str] = []
    position = 0
    for start, end in sorted(ranges):
        if start > position:
            kept.append(body[position:start])
        if end > position:
            taken.append(body[max(start, position) : end])
        position = max(position, end)
    kept.append(body[position:])
    return "".join(kept), "".join(taken)
