"""XMPP addresses (RFC 7622), validated and normalised without slixmpp.

The core needs to reject a malformed address before it reaches storage or the network,
and to compare addresses reliably (case-insensitive local part and domain)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chinwag.core.errors import InvalidAddress

_MAX_PART = 1023
# RFC 7622 forbids these in the localpart, and whitespace/controls anywhere.
_LOCAL_FORBIDDEN = set("\"&'/:<>@")
_LABEL = re.compile(r"^[^\s./@:]+$")


def _has_control_or_space(s: str) -> bool:
    return any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in s)


@dataclass(frozen=True, slots=True)
class Jid:
    """A parsed, normalised address: ``local@domain/resource`` (local and resource optional)."""

    local: str
    domain: str
    resource: str = ""

    @property
    def bare(self) -> str:
        return f"{self.local}@{self.domain}" if self.local else self.domain

    @property
    def full(self) -> str:
        return f"{self.bare}/{self.resource}" if self.resource else self.bare

    def __str__(self) -> str:
        return self.full

    @classmethod
    def parse(cls, text: str) -> Jid:
        """Parse and normalise ``text``; raise :class:`InvalidAddress` with the reason."""
        if not isinstance(text, str):
            raise InvalidAddress("an address must be a string")
        raw = text.strip()
        if not raw:
            raise InvalidAddress("the address is empty")
        rest, sep, resource = raw.partition("/")
        if sep and not resource:
            raise InvalidAddress(f"{text!r}: empty resource after '/'")
        local, at, domain = rest.rpartition("@")
        if not at:
            local, domain = "", rest
        elif not local:
            raise InvalidAddress(f"{text!r}: empty name before '@'")
        domain = domain.rstrip(".").lower()
        if not domain:
            raise InvalidAddress(f"{text!r}: no domain")
        labels = domain.split(".")
        if any(not label or not _LABEL.match(label) for label in labels):
            raise InvalidAddress(f"{text!r}: {domain!r} is not a valid domain")
        if len(domain.encode()) > _MAX_PART:
            raise InvalidAddress(f"{text!r}: the domain is too long")
        if local:
            if _LOCAL_FORBIDDEN & set(local) or _has_control_or_space(local):
                raise InvalidAddress(f"{text!r}: the name contains a character not allowed")
            local = local.casefold()
            if len(local.encode()) > _MAX_PART:
                raise InvalidAddress(f"{text!r}: the name is too long")
        if resource and (
            len(resource.encode()) > _MAX_PART
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in resource)
        ):
            raise InvalidAddress(f"{text!r}: the resource is not valid")
        return cls(local, domain, resource)


def bare(text: str) -> str:
    """The normalised bare address of ``text``; raises :class:`InvalidAddress`."""
    return Jid.parse(text).bare


def room_address(text: str) -> str:
    """The normalised bare address of a room (``name@service``); raises
    :class:`InvalidAddress` for anything else (no name, a resource, malformed)."""
    jid = Jid.parse(text)
    if not jid.local or jid.resource:
        raise InvalidAddress(f"{text[:100]!r} is not the address of a room")
    return jid.bare


def is_valid(text: str) -> bool:
    try:
        Jid.parse(text)
    except InvalidAddress:
        return False
    return True
