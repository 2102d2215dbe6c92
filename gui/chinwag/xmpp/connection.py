"""One account's XMPP connection: implements :class:`chinwag.core.ports.XmppConnection`
on top of :class:`ChinwagClient` and the feature modules, and classifies every way a
sign-in can fail into the core's typed errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from slixmpp import JID
from slixmpp.stanza import StreamFeatures
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.errors import (
    AuthenticationFailed,
    CertificateUntrusted,
    ChinwagError,
    ResourceConflict,
    ServerUnreachable,
    StreamError,
    TlsFailure,
)
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    ConversationKind,
    DiscoInfo,
    DiscoItemsPage,
    Message,
    Show,
    TlsMode,
)
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp import (
    carbons,
    chatstates,
    disco_rooms,
    entity_time,
    invitations,
    mam,
    markers,
    moderation,
    receipts,
    resolve,
    stanzas,
    tls,
)
from chinwag.xmpp.avatars import AvatarFeature
from chinwag.xmpp.blocking import BlockingFeature
from chinwag.xmpp.bookmarks import BookmarksFeature
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.entity_time import EntityTime
from chinwag.xmpp.iq import refuse_sets
from chinwag.xmpp.last_activity import LastActivity
from chinwag.xmpp.messages import MessageDispatcher
from chinwag.xmpp.muc import RoomFeature
from chinwag.xmpp.presence import PresenceFeature
from chinwag.xmpp.registration import register_handler
from chinwag.xmpp.roster import RosterFeature
from chinwag.xmpp.stream_management import StreamManagement
from chinwag.xmpp.user_data import UserDataFeature
from chinwag.xmpp.vcard import ProfileFeature

log = logging.getLogger(__name__)

#: Ping the server this often; no answer within the timeout drops the connection so the
#: session reconnects instead of sitting on a dead socket.
PING_INTERVAL = 60.0
PING_TIMEOUT = 20.0


def classify(exc: BaseException | str | None, account: str) -> ChinwagError:
    """A typed error for whatever slixmpp reported."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return CertificateUntrusted(
            f"the certificate of the server of {account} is not trusted: {exc.verify_message}"
        )
    if isinstance(exc, ssl.SSLError):
        return TlsFailure(f"TLS with the server of {account} failed: {exc.reason or exc}")
    if isinstance(exc, resolve.Unreachable):
        return ServerUnreachable(f"cannot reach the server of {account}: {exc}")
    if isinstance(exc, OSError):
        return ServerUnreachable(f"cannot reach the server of {account}: {exc.strerror or exc}")
    if isinstance(exc, str) and exc.startswith("No DNS record"):
        return ServerUnreachable(f"cannot reach the server of {account}: no DNS record")
    return ServerUnreachable(
        f"the connection to the server of {account} was lost" + (f": {exc}" if exc else "")
    )


class SlixmppConnection:
    """The :class:`XmppConnection` of one account."""

    def __init__(
        self,
        config: AccountConfig,
        password: str,
        listener: ConnectionListener,
        *,
        register: bool = False,
    ) -> None:
        self._config = config
        self._listener = listener
        self._client = client = ChinwagClient(config, password, register=register)
        self._sm = StreamManagement(client, listener)
        self._messages = MessageDispatcher(client, listener, self._sm.inbound.hold)
        self._rooms = RoomFeature(client, listener, self._messages.dispatcher)
        invitations.register(self._messages.dispatcher, listener)
        self._presence = PresenceFeature(client, listener)
        self._roster = RosterFeature(client, listener)
        self._blocking = BlockingFeature(client, listener)
        self._bookmarks = BookmarksFeature(client, listener, self._messages.dispatcher)
        self._user_data = UserDataFeature(client, listener, self._messages.dispatcher)
        self._entity_time = EntityTime(client)
        self._last_activity = LastActivity(client, listener)
        #: Avatars (XEP-0084, XEP-0153) and contact details (vCard4, versions).
        self.avatars = AvatarFeature(client, listener, self._messages.dispatcher)
        self.profiles = ProfileFeature(client)
        self._pending: asyncio.Future[None] | None = None
        self._started = False
        self._closing = False
        self._ping_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        #: True once this connection has resumed the stream a previous run left.
        self.took_over_stream = False
        self._stream_error: ChinwagError | None = None
        # Before any feature is acted on: no sign-in, registration or binding on a stream
        # that is not encrypted and cannot be (no STARTTLS offered).
        client.add_filter("in", self._require_tls)
        client.register_handler(
            Callback(
                "Chinwag STARTTLS refused",
                MatchXPath("{urn:ietf:params:xml:ns:xmpp-tls}failure"),
                self._on_starttls_refused,
            )
        )
        refuse_sets(client)
        if register:
            register_handler(client, self._fail)
        client.add_event_handler("stream_negotiated", self._on_negotiated)
        client.add_event_handler("session_resumed", self._on_resumed)
        client.add_event_handler("failed_all_auth", self._on_auth_failed)
        client.add_event_handler("connection_failed", self._on_connection_failed)
        client.add_event_handler("ssl_invalid_chain", self._on_invalid_chain)
        client.add_event_handler("pin_mismatch", self._on_pin_mismatch)
        client.add_event_handler("stream_error", self._on_stream_error)
        client.add_event_handler("disconnected", self._on_disconnected)

    # -- XmppConnection -----------------------------------------------------------------

    @property
    def acks_enabled(self) -> bool:
        return self._sm.enabled

    @property
    def client(self) -> ChinwagClient:
        return self._client

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        self._closing = False
        host, port = self._client.target()
        self._client.connect(host, port)
        try:
            await self._pending
        except CertificateUntrusted as exc:
            if not exc.fingerprint:
                exc.fingerprint = await self._presented_fingerprint(host, port)
            raise
        finally:
            self._pending = None

    async def _presented_fingerprint(self, host: str | None, port: int | None) -> str:
        """The fingerprint of the refused certificate, for the user to decide on."""
        config = self._config
        try:
            der = await tls.fetch_certificate(
                host or config.jid.partition("@")[2],
                port or (5223 if config.tls is TlsMode.DIRECT else 5222),
                config.jid.partition("@")[2],
                direct=config.tls is TlsMode.DIRECT,
            )
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            log.info("%s: could not read the server certificate: %s", config.jid, exc)
            return ""
        return tls.fingerprint(der) if der else ""

    async def disconnect(self) -> None:
        self._closing = True
        self._stop_ping()
        client = self._client
        client.cancel_connection_attempt()
        if client.transport is not None:
            # A clean close ends the stream-management session on purpose.
            client.end_session_on_disconnect = True
            gone = client.disconnected
            await client.disconnect(wait=2.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(gone), 3.0)
        task = self._end_send_queue()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The stream ended on purpose: nothing to resume; make sure that is written.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._sm.flush(), 3.0)

    def abort(self) -> None:
        self._stop_ping()
        self._client.cancel_connection_attempt()
        if self._client.transport is not None:
            self._client.abort()
        self._end_send_queue()

    def _end_send_queue(self) -> asyncio.Task[None] | None:
        """slixmpp keeps a task writing its send queue for the client's lifetime: end it,
        so nothing of this connection runs after it is closed."""
        task: asyncio.Task[None] | None = getattr(self._client, "_run_out_filters", None)
        if task is None or task.done():
            return None
        task.cancel()
        return task

    def send_message(self, message: Message) -> None:
        stanzas.build_outgoing(self._client, message).send()

    def unacked_uids(self) -> set[str]:
        return self._sm.unacked_uids()

    def send_receipt(self, to: str, uid: str) -> None:
        receipts.send_receipt(self._client, to, uid)

    def send_displayed(
        self, to: str, uid: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        markers.send_displayed(self._client, to, uid, kind)

    def send_chat_state(
        self, to: str, state: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        chatstates.send_chat_state(self._client, to, state, kind)

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        client = self._client
        if client.privacy.set(chat_states=chat_states, read_markers=read_markers):
            client.advertise_privacy()
            self._presence.features_changed(online=self._started)

    def join_room(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        self._rooms.join(room, nick, password, show)

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        self._rooms.leave(room, nick, status)

    def set_room_subject(self, room: str, subject: str) -> None:
        self._rooms.set_subject(room, subject)

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        await self._rooms.configure(room, fields)

    def change_nick(self, room: str, nick: str) -> None:
        self._rooms.change_nick(room, nick)

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        await self._rooms.set_role(room, nick, role, reason)

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        await self._rooms.set_affiliation(room, jid, affiliation, reason)

    async def destroy_room(self, room: str, reason: str = "") -> None:
        await self._rooms.destroy(room, reason)

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        return await self._rooms.affiliations(room, affiliation)

    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None:
        await moderation.moderate(self._client, room, stanza_id, reason)

    async def disco_info(self, jid: str) -> DiscoInfo:
        return await disco_rooms.disco_info(self._client, jid)

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        return await disco_rooms.disco_items(self._client, jid, limit, after)

    async def ping_occupant(self, room: str, nick: str) -> str:
        return await disco_rooms.ping_occupant(self._client, room, nick)

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        invitations.send_direct(self._client, room, contact, reason, password)
        if mediated:
            invitations.send_mediated(self._client, room, contact, reason)

    def decline(self, room: str, inviter: str, reason: str = "") -> None:
        invitations.send_decline(self._client, room, inviter, reason)

    def send_presence(self, show: Show, status: str, priority: int) -> None:
        self._presence.send(show, status, priority)

    def send_subscription(self, to: str, kind: str) -> None:
        self._presence.send_subscription(to, kind)

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        await self._roster.set_item(jid, name, groups)

    async def roster_remove(self, jid: str) -> None:
        await self._roster.remove_item(jid)

    async def block(self, jids: Sequence[str]) -> None:
        await self._blocking.block(jids)

    async def unblock(self, jids: Sequence[str]) -> None:
        await self._blocking.unblock(jids)

    def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        return mam.archive_pages(self._client, after_id, start, archive)

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        return await mam.archive_page_before(self._client, archive, before_id, limit, start)

    async def server_time(self) -> float | None:
        return await entity_time.server_now(self._client)

    async def fetch_bookmarks(self) -> list[Bookmark]:
        return await self._bookmarks.fetch()

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        await self._bookmarks.publish(bookmark)

    async def retract_bookmark(self, room: str) -> None:
        await self._bookmarks.retract(room)

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        return await self._user_data.fetch(jid, node)

    async def publish_user_data(self, node: str, data: str) -> None:
        await self._user_data.publish(node, data)

    async def delete_user_data(self, node: str) -> None:
        await self._user_data.delete(node)

    # -- how the stream goes ------------------------------------------------------------

    def _on_starttls_refused(self, _: Any) -> None:
        log.warning("%s: the server refused to start encryption", self._config.jid)
        self._fail(TlsFailure(f"the server of {self._config.jid} refused to start encryption"))

    def _require_tls(self, stanza: Any) -> Any:
        if (
            isinstance(stanza, StreamFeatures)
            and not self._client.encrypted
            and "starttls" not in stanza["features"]
        ):
            log.warning("%s: the server offers no encryption; not signing in", self._config.jid)
            self._fail(TlsFailure(f"the server of {self._config.jid} did not offer encryption"))
            return None
        return stanza

    def _fail(self, error: ChinwagError) -> None:
        pending = self._pending
        if pending is not None and not pending.done():
            pending.set_exception(error)
            self.abort()

    async def _on_negotiated(self, _: Any) -> None:
        await self._session_ready(resumed=False)

    async def _on_resumed(self, _: Any) -> None:
        await self._session_ready(resumed=True)

    async def _session_ready(self, resumed: bool) -> None:
        # Never a silent downgrade: a server (or someone in between) that does not offer
        # STARTTLS must not get a session, whatever slixmpp would go on with.
        if not self._client.encrypted:
            self._fail(TlsFailure(f"the server of {self._config.jid} did not offer encryption"))
            return
        if not self._client.authenticated:
            self._fail(AuthenticationFailed(f"the server of {self._config.jid} skipped sign-in"))
            return
        # The stream of a run that died, taken over: its presences, roster pushes and
        # block list went to that run. Start over as a new session does, from a fresh
        # presence (unavailable first, so the server sends us everyone's presence again).
        took_over, self._sm.saved.took_over = self._sm.saved.took_over, False
        if took_over:
            self.took_over_stream = True
            self._presence.send(Show.OFFLINE, "", 0)
            resumed = False
        if not resumed:
            self._presence.prepare_caps()
            try:
                # Independent requests: one round trip for all, not three in a row. All
                # finish before the first presence goes out (on_session_started).
                await asyncio.gather(
                    carbons.enable(self._client),
                    self._roster.fetch(),
                    self._blocking.fetch(),
                )
            except Exception as exc:
                log.warning("%s: session set-up failed: %s", self._config.jid, exc)
                self._fail(StreamError(f"the server did not answer while signing in: {exc}"))
                return
        self._started = True
        self._listener.on_session_started(resumed)
        if resumed:  # (a change the stream ended before announcing)
            self._presence.features_changed(online=True)
        self._start_ping()  # (ends a flush window of a previous stream)
        if not resumed:  # our first presence is on its way: offline messages come next
            self._messages.offline_flush = True
            self._flush_task = asyncio.create_task(
                self._end_offline_flush(), name=f"offline flush {self._config.jid}"
            )
        pending = self._pending
        if pending is not None and not pending.done():
            pending.set_result(None)

    def _on_auth_failed(self, _: Any) -> None:
        self._fail(AuthenticationFailed(f"the server refused the password for {self._config.jid}"))

    def _on_connection_failed(self, exc: Any) -> None:
        self._client.cancel_connection_attempt()  # retries are the session's to schedule
        if self._client.pin_mismatch:
            return
        self._fail(classify(exc, self._config.jid))

    def _on_invalid_chain(self, exc: Any) -> None:
        self._fail(
            classify(
                exc if isinstance(exc, ssl.SSLError) else ssl.SSLCertVerificationError(str(exc)),
                self._config.jid,
            )
        )

    def _on_pin_mismatch(self, actual: str) -> None:
        self._fail(
            CertificateUntrusted(
                f"the certificate of the server of {self._config.jid} ({actual}) does not match "
                "the trusted fingerprint",
                fingerprint=actual,
            )
        )

    def _on_stream_error(self, stanza: Any) -> None:
        condition = stanza["condition"] or "undefined-condition"
        text = stanza["text"] or ""
        error: ChinwagError | None
        if condition in ("host-unknown", "improper-addressing"):
            error = ServerUnreachable(f"the server does not serve {self._config.jid}: {condition}")
        elif condition == "conflict":
            error = ResourceConflict(
                f"{self._config.jid}/{self._config.resource} signed in from somewhere else "
                "and replaced this connection"
            )
        elif condition == "not-authorized":
            error = AuthenticationFailed(f"the server refused {self._config.jid}: {condition}")
        else:
            error = StreamError(f"the server closed the stream: {condition} {text}".strip())
        self._stream_error = error
        self._fail(error)

    def _on_disconnected(self, reason: Any) -> None:
        self._stop_ping()
        if self._pending is not None and not self._pending.done():
            pin = self._client.pin_mismatch
            if pin:
                self._on_pin_mismatch(pin)
            else:
                self._fail(
                    classify(
                        reason if isinstance(reason, BaseException) else None, self._config.jid
                    )
                )
            return
        if not self._started:
            return
        self._started = False
        self._presence.stream_ended()
        error: ChinwagError | None = None
        if not self._closing:
            error = self._stream_error or classify(
                reason if isinstance(reason, BaseException) else None, self._config.jid
            )
        self._stream_error = None
        self._listener.on_disconnected(error)

    async def _end_offline_flush(self) -> None:
        """The server answers in order: once it has answered a ping sent after our first
        presence, it has flushed every message it kept for us offline."""
        try:
            await self._client.plugin["xep_0199"].ping(
                jid=JID(self._config.jid.partition("@")[2]), timeout=PING_TIMEOUT
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no answer: the stream is going anyway
            log.debug("%s: no answer after the first presence: %s", self._config.jid, exc)
        finally:
            self._messages.offline_flush = False

    # -- keepalive ----------------------------------------------------------------------

    def _start_ping(self) -> None:
        self._stop_ping()
        self._ping_task = asyncio.create_task(self._ping_loop(), name=f"ping {self._config.jid}")

    def _stop_ping(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            self._flush_task = None
        self._messages.offline_flush = False
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL)
            try:
                await self._client.plugin["xep_0199"].ping(timeout=PING_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("%s: ping failed (%s): dropping the connection", self._config.jid, exc)
                self._ping_task = None
                self._client.abort()
                return
