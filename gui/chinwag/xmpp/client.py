"""The slixmpp client Chinwag uses: TLS as configured, the plugins every feature module
relies on, and the pinned-certificate check done right after the TLS handshake."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from slixmpp import ClientXMPP
from slixmpp.xmlstream import StanzaBase

from chinwag import __version__
from chinwag.core.models import AccountConfig, TlsMode
from chinwag.xmpp import (
    corrections,
    fallbacks,
    json_payload,
    moderation,
    oob,
    reactions,
    replies,
    resolve,
    retractions,
    tls,
)
from chinwag.xmpp.dispatch import MessageFeatures
from chinwag.xmpp.privacy import Privacy

log = logging.getLogger(__name__)

PLUGINS = (
    "xep_0030",  # service discovery
    "xep_0059",  # result set management (archive paging)
    "xep_0092",  # software version
    "xep_0191",  # blocking command
    "xep_0115",  # entity capabilities
    "xep_0198",  # stream management
    "xep_0199",  # ping
    "xep_0203",  # delayed delivery
    "xep_0280",  # carbons
    "xep_0297",  # forwarding
    "xep_0313",  # message archive management
    "xep_0359",  # unique and stable ids
)
#: Features we implement in our own modules (receipts.py, markers.py, chatstates.py,
#: corrections.py, retractions.py, reactions.py, replies.py, fallbacks.py) instead of
#: loading slixmpp's plugins: every plugin adds a handler that each incoming stanza is
#: matched against, and on a busy stream that matching is most of the CPU.
#: Chat states and chat markers are added by :meth:`ChinwagClient.advertise_privacy`, as
#: the privacy switches allow.
OWN_FEATURES = (
    "urn:xmpp:receipts",
    "urn:xmpp:sid:0",
    corrections.FEATURE,
    retractions.FEATURE,
    reactions.FEATURE,
    replies.FEATURE,
    fallbacks.FEATURE,
    json_payload.FEATURE,
    oob.FEATURE,
)
#: The modules of what a message can say about an earlier one, registered in this order
#: (see :class:`MessageFeatures`). Replies come first: the fallback ranges they strip
#: count the body as sent, before a retraction or reactions drop it. A room's moderation
#: (XEP-0425) is a retraction of its own.
MESSAGE_FEATURES = (replies, corrections, retractions, reactions, moderation, json_payload, oob)
#: XEP-0030 identity: a desktop client (category, type, name).
IDENTITY = ("client", "pc", "Chinwag")
#: slixmpp's catch-all handlers that chinwag.xmpp replaces with its own dispatchers.
REPLACED_HANDLERS = ("IM", "IMError", "Presence")


def serialisable(stanza: StanzaBase) -> StanzaBase:
    """Make every attribute value and text of ``stanza`` a string before it is counted
    and written: slixmpp builds some replies with ints (a roster push refused with
    ``code=503``) that its serialiser cannot write."""
    for el in stanza.xml.iter():
        attrib: dict[str, Any] = el.attrib
        for name, value in attrib.items():
            if not isinstance(value, str):
                attrib[name] = str(value)
        text: Any = el.text
        if text is not None and not isinstance(text, str):
            el.text = str(text)
    return stanza


class ChinwagClient(ClientXMPP):
    """A :class:`ClientXMPP` configured from an :class:`AccountConfig`."""

    def __init__(self, config: AccountConfig, password: str, *, register: bool = False) -> None:
        jid = f"{config.jid}/{config.resource}" if config.resource else config.jid
        pinned = (
            tls.normalise_fingerprint(config.trusted_fingerprint)
            if config.trusted_fingerprint
            else ""
        )
        # (Given to slixmpp, which would otherwise load the system's certificates into a
        # context of its own first: 0.8 MB.)
        super().__init__(jid, password, sasl_mech=None, ssl_context=tls.make_context(pinned))
        self.account = config
        self.pinned = pinned
        #: Set when the pinned fingerprint did not match (checked before any data is sent).
        self.pin_mismatch: str | None = None
        self.enable_plaintext = False
        self.enable_direct_tls = config.tls is TlsMode.DIRECT
        self.enable_starttls = config.tls is TlsMode.STARTTLS
        self.auto_authorize = None  # subscription requests are the user's decision
        self.auto_subscribe = False
        self.whitespace_keepalive = True
        self.whitespace_keepalive_interval = 60
        self.use_message_ids = True
        # Before any plugin's filter: stream management counts a stanza in its out_sync
        # filter, so a stanza that could not be written after that would be counted and
        # never sent, and every ack from then on would be one short.
        self.add_filter("out_sync", serialisable)
        #: The user's privacy switches: every outgoing stanza passes this filter ("out"
        #: filters all run before "out_sync" ones), so a withheld chat state or read
        #: marker is neither written nor counted, whichever feature built the stanza.
        self.privacy = Privacy()
        self.add_filter("out", self.privacy.outgoing)
        for plugin in PLUGINS:
            self.register_plugin(plugin)
        # Without one, slixmpp answers disco#info as client/bot.
        self.plugin["xep_0030"].add_identity(*IDENTITY)
        for feature in OWN_FEATURES:
            self.plugin["xep_0030"].add_feature(feature)
        self.advertise_privacy()
        for name in REPLACED_HANDLERS:
            self.remove_handler(name)
        sm = self.plugin["xep_0198"]
        sm.window = 1_000_000  # acks are requested by :mod:`chinwag.xmpp.stream_management`
        sm.window_counter = sm.window
        self.plugin["xep_0092"].software_name = "Chinwag"
        self.plugin["xep_0092"].version = __version__
        if register:
            self.register_plugin("xep_0077")
        self._connect_hooks: list[Callable[[], None]] = []
        #: What a message says about an earlier one: read from what we receive (live,
        #: carbons, the archive) and written on what we send.
        self.message_features = MessageFeatures()
        for module in MESSAGE_FEATURES:
            module.register(self.message_features)

    def advertise_privacy(self) -> None:
        """Service discovery says what the privacy switches let out: chat states and
        chat markers only while they are on (see :mod:`chinwag.xmpp.privacy`). The
        XEP-0115 hash of it is the presence feature's to renew."""
        disco = self.plugin["xep_0030"]
        for feature, on in self.privacy.advertised().items():
            if on:
                disco.add_feature(feature=feature)
            else:
                disco.del_feature(feature=feature)

    def get_ssl_context(self) -> ssl.SSLContext:
        return self.ssl_context

    async def _connect_loop(self) -> None:
        """slixmpp's connect() runs this as the connection attempt (slixmpp is pinned:
        it is a private method). slixmpp's own tries the resolved addresses one by one,
        reporting each failure; this tries every address of every target the way
        :mod:`chinwag.xmpp.resolve` says, and reports one failure, or none."""
        self.event_when_connected = "connected"
        direct = self.enable_direct_tls
        host, port = self.custom_address or (None, None)
        try:
            targets = await resolve.targets_for(self.default_domain, host, port, direct_tls=direct)
            sock, _target = await resolve.connect(targets)
        except resolve.Unreachable as exc:
            log.info("%s: %s", self.account.jid, exc)
            self.event("connection_failed", exc)
            return
        try:
            await self.loop.create_connection(
                lambda: self,
                sock=sock,
                ssl=self.get_ssl_context() if direct else None,
                server_hostname=self.default_domain if direct else None,
            )
        except OSError as exc:  # the TLS handshake of direct TLS (ssl.SSLError, ...)
            sock.close()
            log.debug("%s: connection failed: %s", self.account.jid, exc)
            self.event("connection_failed", exc)
        except BaseException:
            sock.close()
            raise

    def connection_made(self, transport: asyncio.BaseTransport, send_event: bool = True) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        if self.pinned and ssl_object is not None:
            mismatch = tls.check_pin(ssl_object, self.pinned)
            if mismatch is not None:
                log.warning(
                    "%s: certificate %s does not match the pinned one", self.account.jid, mismatch
                )
                self.pin_mismatch = mismatch
                transport.abort()  # type: ignore[attr-defined]
                self.event("pin_mismatch", mismatch)
                return
        super().connection_made(transport, send_event)

    @property
    def encrypted(self) -> bool:
        """True when the stream runs over TLS (checked before a session or a registration)."""
        transport = self.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    def target(self) -> tuple[str | None, int | None]:
        """Where to connect: the configured host and port, or DNS SRV (None, None)."""
        if self.account.host:
            default = 5223 if self.account.tls is TlsMode.DIRECT else 5222
            return self.account.host, self.account.port or default
        return None, None
