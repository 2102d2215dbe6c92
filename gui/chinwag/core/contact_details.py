"""What the contact details dialog shows, gathered Qt-free: the contact's vCard (vCard4
in PEP, XEP-0292, else vcard-temp, XEP-0054), the nickname they publish (XEP-0172), each
resource online with its client and version (XEP-0092, the client's name also from its
XEP-0115 capabilities), priority and status, the subscription, and the fingerprint of
the certificate the account's server presented.

A vCard is untrusted input: at most :data:`MAX_FIELDS` fields of the kinds in
:data:`FIELDS` are kept, each cut to :data:`MAX_FIELD_CHARS`, whatever the vCard holds
(10,000 fields cost a loop over the first few hundred elements, nothing more)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chinwag.core.errors import ChinwagError, NotConnected
from chinwag.core.models import Presence, Show, Subscription

if TYPE_CHECKING:
    from chinwag.core.roster import RosterService

log = logging.getLogger(__name__)

#: The fields shown, in this order: key -> label.
FIELDS: dict[str, str] = {
    "fn": "Full name",
    "nickname": "Nickname",
    "email": "Email",
    "tel": "Phone",
    "org": "Organisation",
    "title": "Title",
    "bday": "Birthday",
    "url": "Web page",
    "note": "Note",
}
MAX_FIELDS = 50
MAX_FIELD_CHARS = 1000
#: The most elements of a vCard looked at (a vCard of 10,000 fields is cut here).
MAX_ELEMENTS = 500
#: How long a software version query may take (seconds).
VERSION_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class VCard:
    """A vCard as (key of :data:`FIELDS`, value) pairs; ``truncated`` when fields were
    left out because there were too many."""

    fields: tuple[tuple[str, str], ...] = ()
    truncated: bool = False

    def first(self, key: str) -> str:
        return next((value for k, value in self.fields if k == key), "")


class VCardBuilder:
    """Collects fields under the caps (the XMPP side parses into it)."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.truncated = False

    def add(self, key: str, value: str | None) -> None:
        value = " ".join((value or "").split())
        if key not in FIELDS or not value:
            return
        if len(self.fields) >= MAX_FIELDS:
            self.truncated = True
            return
        if len(value) > MAX_FIELD_CHARS:
            value = value[: MAX_FIELD_CHARS - 1] + "\u2026"
        if (key, value) not in self.fields:
            self.fields.append((key, value))

    def build(self) -> VCard:
        order = list(FIELDS)
        return VCard(tuple(sorted(self.fields, key=lambda f: order.index(f[0]))), self.truncated)


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    name: str = ""
    version: str = ""
    os: str = ""


@dataclass(frozen=True, slots=True)
class ResourceDetails:
    resource: str
    show: Show
    status: str
    priority: int
    #: The client's name from its capabilities (XEP-0115) or its version answer.
    client: str = ""
    version: str = ""
    os: str = ""
    #: Why the version is unknown ("" : it is known, or not asked yet).
    error: str = ""


@dataclass(frozen=True, slots=True)
class ContactDetails:
    account: str
    jid: str
    name: str
    nickname: str
    subscription: Subscription | None
    groups: tuple[str, ...] = ()
    resources: tuple[ResourceDetails, ...] = field(default=())


class ProfileTransport(Protocol):
    """What the XMPP side does for details (:class:`chinwag.xmpp.vcard.ProfileFeature`)."""

    async def fetch_vcard(self, jid: str) -> VCard: ...

    async def software_version(self, full_jid: str) -> SoftwareVersion: ...

    async def client_name(self, full_jid: str, caps_node: str) -> str:
        """The name in the client's XEP-0115 identity ("": unknown)."""

    def server_fingerprint(self) -> str:
        """SHA-256 of the certificate the server presented ("": not over TLS)."""


@runtime_checkable
class HasProfiles(Protocol):
    @property
    def profiles(self) -> ProfileTransport: ...


class ContactDetailsService:
    """Gathers :class:`ContactDetails` (see the module docstring)."""

    def __init__(
        self,
        roster: RosterService,
        transport: Callable[[str], ProfileTransport | None],
    ) -> None:
        self._roster = roster
        self._transport = transport

    def _need(self, account: str) -> ProfileTransport:
        transport = self._transport(account)
        if transport is None:
            raise NotConnected(f"{account} is not signed in")
        return transport

    def details(self, account: str, jid: str) -> ContactDetails:
        """What is known without asking anyone (the resources without client names)."""
        contact = self._roster.contact(account, jid)
        resources = sorted(
            (p for p in self._roster.resources(account, jid) if p.available),
            key=lambda p: (-p.priority, p.resource),
        )
        return ContactDetails(
            account=account,
            jid=jid,
            name=self._roster.display_name(account, jid),
            nickname=self._roster.nickname(account, jid),
            subscription=contact.subscription if contact is not None else None,
            groups=tuple(contact.groups) if contact is not None else (),
            resources=tuple(
                ResourceDetails(p.resource, p.show, p.status, p.priority) for p in resources
            ),
        )

    async def vcard(self, account: str, jid: str) -> VCard:
        return await self._need(account).fetch_vcard(jid)

    async def resources(self, account: str, jid: str) -> list[ResourceDetails]:
        """Each resource online, with its client and version asked for at once (a
        resource that does not answer within :data:`VERSION_TIMEOUT` says why)."""
        transport = self._need(account)
        present = [p for p in self._roster.resources(account, jid) if p.available]
        present.sort(key=lambda p: (-p.priority, p.resource))
        return list(await asyncio.gather(*(self._resource(transport, jid, p) for p in present)))

    @staticmethod
    async def _resource(
        transport: ProfileTransport, jid: str, presence: Presence
    ) -> ResourceDetails:
        full = f"{jid}/{presence.resource}" if presence.resource else jid
        client = ""
        if presence.caps_node:
            try:
                client = await transport.client_name(full, presence.caps_node)
            except ChinwagError:
                client = ""
        error = ""
        try:
            version = await asyncio.wait_for(transport.software_version(full), VERSION_TIMEOUT)
        except (ChinwagError, TimeoutError) as exc:
            version = SoftwareVersion()
            error = str(exc) or "no answer"
        return ResourceDetails(
            presence.resource,
            presence.show,
            presence.status,
            presence.priority,
            client=client or version.name,
            version=version.version,
            os=version.os,
            error=error,
        )

    def server_fingerprint(self, account: str) -> str:
        transport = self._transport(account)
        return transport.server_fingerprint() if transport is not None else ""
