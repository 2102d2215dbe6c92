"""XEP-0198 Stream Management: which of our messages the server has taken, and which of
its stanzas we have.

slixmpp keeps the unacked queue and resends it on resumption; this module turns its
acks into ``on_acked`` for our messages and our actions on them (corrections,
retractions, reactions: a reaction has no body), and asks for an ack right after each
burst of them has been written (one ``<r/>`` per burst, not one per stanza). Receipts,
markers and chat states are not followed.

Inbound, a message counts as handled (the ``h`` we send the server) only once it is
committed to history, not when it is read off the socket: slixmpp's own counter is
replaced by :class:`InboundCounter`. A crash, or a full disk, between the two then leaves
the message in the server's queue, which resends it on resumption."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from slixmpp.plugins.xep_0198.stanza import Ack, RequestAck
from slixmpp.stanza import Iq, Presence
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.models import StreamState
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp import reactions
from chinwag.xmpp.client import ChinwagClient

log = logging.getLogger(__name__)
MAX_SEQ = 2**32
#: How long the server's ack request waits for held messages to be stored before it is
#: answered without them (Prosody closes a stream that leaves a request unanswered 30 s).
HELD_ANSWER_DELAY = 2.0
#: More unacknowledged stanzas than this in a saved stream state means it is damaged.
MAX_RESTORED_UNACKED = 100_000
#: How long a change that can wait (a message sent or acknowledged) waits to be saved.
LAZY_SAVE = 1.0


def _nothing() -> None:
    pass


def _ours(stanza: Any) -> bool:
    """One of our messages, or an action on one (a correction and a retraction have a
    body, reactions none): what the core follows until the server acknowledges it. Not
    a receipt, a marker or a chat state."""
    return isinstance(stanza, MessageStanza) and (bool(stanza["body"]) or reactions.present(stanza))


class InboundCounter:
    """The ``h`` of XEP-0198 as "stanzas handled": every stanza is handled when read,
    except those held (messages on their way to history) until released; ``h`` is the
    count of stanzas read before the oldest one still held."""

    def __init__(self, plugin: Any) -> None:
        self._plugin = plugin
        #: Called whenever the last held stanza is released.
        self.on_idle: Callable[[], None] = _nothing
        self._arrived = 0
        self._held: deque[int] = deque()
        self._released: set[int] = set()
        self._current: int | None = None
        #: Bumped on every new or resumed stream: a release from an older one is void
        #: (on resumption the server resends what we had not acknowledged).
        self._generation = 0

    def restart(self) -> None:
        """A stream was enabled (h from 0) or resumed (h from what we sent in resume)."""
        self._generation += 1
        self._arrived = self._plugin.handled
        self._held.clear()
        self._released.clear()
        self._current = None

    def incoming(self, stanza: Any) -> Any:
        """slixmpp's "in" filter: runs right before the handlers of each stanza."""
        self._current = None
        if self._plugin.enabled_in and isinstance(stanza, MessageStanza | Presence | Iq):
            self._arrived += 1
            self._current = self._arrived
            if not self._held:
                self._plugin.handled = self._arrived % MAX_SEQ
        return stanza

    def hold(self) -> Callable[[], None]:
        """Hold the stanza being handled right now; call what this returns once it is
        committed."""
        seq = self._current
        if seq is None:
            return _nothing
        self._held.append(seq)
        generation = self._generation

        def release() -> None:
            if generation == self._generation:
                self._released.add(seq)
                self._advance()

        return release

    def _advance(self) -> None:
        held, released = self._held, self._released
        while held and held[0] in released:
            released.discard(held.popleft())
        handled = held[0] - 1 if held else self._arrived
        self._plugin.handled = handled % MAX_SEQ
        if not held:
            self.on_idle()

    @property
    def held(self) -> int:
        return len(self._held)


class SavedStream:
    """The stream's state kept in storage, so that a Chinwag killed and started again
    resumes its stream and learns exactly which of its messages the server took.

    Written through the listener (a small row, group-committed with whatever else is
    being written, at most one write in flight), and always before the server is told a
    count: a resumption may never claim less than we told it (the server would refuse
    it), nor more than is stored."""

    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        self._plugin = client.plugin["xep_0198"]
        #: Our messages (and actions) the server has not acknowledged: uid -> (peer, count
        #: sent at).
        self.unacked: dict[str, tuple[str, int]] = {}
        #: The state restored at start, until the stream is resumed (or not).
        self.restored: StreamState | None = None
        #: True once a stream of the last run was resumed, until the connection reads it.
        self.took_over = False
        self._saved_h: int | None = None
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._waiting: list[Callable[[int], None]] = []
        #: Told a count older than we have: tell the newer one once it is saved.
        self._owed: Callable[[int], None] | None = None
        #: Set when a change must be saved at once (a count to tell, a new stream).
        self._now = asyncio.Event()

    def restore(self) -> None:
        """Take up the stream a previous run left (before the first connect)."""
        state = self._listener.stream_state()
        if state is None or not state.stream_id:
            return
        unacked = (state.sent - state.acked) % MAX_SEQ
        if unacked > MAX_RESTORED_UNACKED or len(state.unacked) > unacked:
            log.warning("%s: the saved stream state makes no sense; not resuming", state.jid)
            return
        plugin = self._plugin
        plugin.sm_id = state.stream_id
        plugin.handled = state.handled % MAX_SEQ
        plugin.last_ack = state.acked % MAX_SEQ
        plugin.seq = state.sent % MAX_SEQ
        # Stand-ins for what we had sent and not got acknowledged, so that the server's
        # count in <resumed/> is taken as it is (they are not sent again: they are None).
        plugin.unacked_queue = deque(
            ((state.acked + n) % MAX_SEQ, None) for n in range(1, unacked + 1)
        )
        self.unacked = {uid: (peer, sent) for uid, peer, sent in state.unacked}
        self._saved_h = state.handled
        self.restored = state
        log.info("%s: resuming the stream of the last run", state.jid)

    def resumed(self) -> list[tuple[str, str]]:
        """After a resumption: our messages the server says it took, as (uid, peer), of
        those sent in the last run (the rest is queued still, and is sent again)."""
        state, self.restored = self.restored, None
        if state is None:
            self.changed()
            return []
        self.took_over = True
        plugin = self._plugin
        plugin.unacked_queue = deque(item for item in plugin.unacked_queue if item[1] is not None)
        taken_count = (plugin.last_ack - state.acked) % MAX_SEQ
        plugin.seq = (plugin.last_ack + len(plugin.unacked_queue)) % MAX_SEQ
        taken = [
            (uid, peer)
            for uid, (peer, sent) in self.unacked.items()
            if 0 < (sent - state.acked) % MAX_SEQ <= taken_count
        ]
        self.unacked.clear()
        self.changed()
        return taken

    def new_stream(self) -> None:
        """A stream was enabled, or the old one ended for good."""
        self.unacked.clear()
        self.restored = None
        self._saved_h = None
        self.changed()

    def sent(self, uid: str, peer: str) -> None:
        # Written lazily: a message whose count was not saved when we died is looked up
        # in our archive at the next start, so saving it at once would only cost a write
        # per message.
        self.unacked[uid] = (peer, self._plugin.seq)
        self.changed(lazy=True)

    def acked(self, uid: str) -> None:
        if self.unacked.pop(uid, None) is not None:
            self.changed(lazy=True)

    def report(self, send: Callable[[int], None]) -> None:
        """Call ``send(h)`` with a count the server may be told: one already saved. The
        saved count goes out at once; a newer one once it is saved (lazily: a write per
        ack request would cost a write per message received)."""
        plugin = self._plugin
        if not plugin.sm_id:
            send(plugin.handled)
            return
        if self._saved_h is None:  # nothing saved for this stream yet
            self._waiting.append(send)
            self.changed()
            return
        send(self._saved_h)
        if self._saved_h != plugin.handled:
            self._owed = send
            self.changed(lazy=True)

    def before_resume(self) -> None:
        """Signed in again: a resumption will claim the saved count, never more (a run
        that dies next must be able to claim it too) nor less than told (the server
        would refuse it). What came after it is sent again, and dropped as duplicates."""
        if self._plugin.sm_id and self._saved_h is not None:
            self._plugin.handled = self._saved_h % MAX_SEQ

    def forget_reports(self) -> None:
        """Counts still to be told belong to a stream that is gone: a lower count than
        the resumption claimed would make the server close the stream."""
        self._waiting.clear()
        self._owed = None

    def changed(self, *, lazy: bool = False) -> None:
        """Save the state: now, or (``lazy``) within :data:`LAZY_SAVE` seconds."""
        self._dirty = True
        if not lazy:
            self._now.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._save(), name=f"stream state {self._client.account.jid}"
            )

    async def flush(self) -> None:
        """Wait for the last write (a clean close: its "no stream" must land)."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def _snapshot(self) -> StreamState | None:
        plugin = self._plugin
        if not plugin.sm_id:
            return None
        return StreamState(
            stream_id=plugin.sm_id,
            jid=str(self._client.boundjid),
            handled=plugin.handled,
            acked=plugin.last_ack,
            sent=plugin.seq,
            unacked=tuple((uid, peer, sent) for uid, (peer, sent) in self.unacked.items()),
        )

    async def _save(self) -> None:
        while self._dirty:
            if not self._now.is_set():
                # (awaited in this task, not wrapped in one of its own: a loop that ends
                # would leave such a task never started, a warning at the next collection)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LAZY_SAVE):
                        await self._now.wait()
            self._now.clear()
            self._dirty = False
            await asyncio.sleep(0)  # take in what else changes in this loop iteration
            state = self._snapshot()
            try:
                await self._listener.save_stream_state(state)
            except Exception as exc:  # a full disk: a later resumption may fail, no more
                log.debug("%s: stream state not saved: %s", self._client.account.jid, exc)
                state = None
            told = self._saved_h
            if state is not None:
                self._saved_h = state.handled
            h = state.handled if state is not None else self._plugin.handled
            waiting, self._waiting = self._waiting, []
            if self._owed is not None and state is not None and state.handled != told:
                # (not when it could not be saved: the server has the saved count)
                waiting.append(self._owed)
            self._owed = None
            for send in waiting:
                send(h)


class StreamManagement:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        plugin = client.plugin["xep_0198"]
        self.saved = SavedStream(client, listener)
        self.saved.restore()
        client.add_event_handler("session_end", lambda _: self.saved.new_stream())
        client.add_event_handler("auth_success", lambda _: self._before_resume())
        self.inbound = InboundCounter(plugin)
        client.del_filter("in", plugin._handle_incoming)
        client.add_filter("in", self.inbound.incoming)
        client.add_event_handler("sm_enabled", lambda _: self._restart())
        self._ack_pending = False
        self._answer_pending = False
        #: The server asked for an ack while messages were held, and was answered (or is
        #: still to be) without them: ack again once they are stored.
        self._owe_ack = False
        self._answer_timer: asyncio.TimerHandle | None = None
        self.inbound.on_idle = self._on_idle
        client.add_event_handler("stanza_acked", self._acked)
        # slixmpp resends the unacked queue on resumption without the send filters (so
        # without _outgoing): ask for the ack of those here.
        client.add_event_handler("session_resumed", self._resumed)
        # slixmpp writes stanzas from a queue, after its filters: requesting the ack from
        # here (once the message has passed them) puts <r/> after the message on the wire.
        client.add_filter("out_sync", self._outgoing)
        # Answer the server's <r/> once per loop iteration with the latest count, not once
        # per request: under load the server asks often, and each answer is a write.
        client.remove_handler("Stream Management Request Ack")
        client.register_handler(
            Callback(
                "Chinwag SM request",
                MatchXPath(RequestAck.tag_name()),
                self._on_request,
                instream=True,
            )
        )

    @property
    def enabled(self) -> bool:
        return bool(self._client.plugin["xep_0198"].enabled_out)

    def unacked_uids(self) -> set[str]:
        queue = self._client.plugin["xep_0198"].unacked_queue
        return {s["id"] for _, s in queue if isinstance(s, MessageStanza) and s["id"]}

    def _before_resume(self) -> None:
        self.saved.before_resume()
        self.inbound.restart()  # (what the old stream still holds is void)

    def _restart(self, resumed: bool = False) -> None:
        """A new or resumed stream: counting starts again, nothing is owed."""
        if not resumed:
            # The server counts this stream's stanzas from zero: so do we (slixmpp resets
            # its counts only when a resumption fails, not for a stream that had none),
            # or its first ack would seem to cover what it never got.
            plugin = self._client.plugin["xep_0198"]
            plugin.last_ack = 0
            plugin.seq = len(plugin.unacked_queue) % MAX_SEQ
            self.saved.new_stream()
        self.inbound.restart()
        self.saved.forget_reports()  # counts meant for the stream before
        self._owe_ack = False
        if self._answer_timer is not None:
            self._answer_timer.cancel()
            self._answer_timer = None

    def _resumed(self, _: Any) -> None:
        for uid, peer in self.saved.resumed():
            self._listener.on_acked(uid, peer)
        self._restart(resumed=True)
        if self._client.plugin["xep_0198"].unacked_queue and not self._ack_pending:
            self._ack_pending = True
            asyncio.get_running_loop().call_soon(self._request)

    def _acked(self, stanza: Any) -> None:
        if _ours(stanza) and stanza["id"]:
            self.saved.acked(stanza["id"])
            self._listener.on_acked(stanza["id"], stanza["to"].bare)

    async def flush(self) -> None:
        await self.saved.flush()

    def _outgoing(self, stanza: Any) -> Any:
        if not _ours(stanza):
            return stanza
        if stanza["id"] and self.enabled:
            self.saved.sent(stanza["id"], stanza["to"].bare)
        if not self._ack_pending:
            self._ack_pending = True
            # Right after the write, not later: the server then acks before the recipient's
            # receipt can come back, so states go queued -> sent -> delivered in order.
            asyncio.get_running_loop().call_soon(self._request)
        return stanza

    def _on_request(self, _: Any) -> None:
        if self.inbound.held:
            # Messages on their way to history: answer once they are stored (the count
            # then covers them), or after a while anyway (the server drops a stream that
            # does not answer), owing the server a second ack.
            self._owe_ack = True
            if self._answer_timer is None:
                self._answer_timer = asyncio.get_running_loop().call_later(
                    HELD_ANSWER_DELAY, self._answer_now
                )
        elif not self._answer_pending:
            self._answer_pending = True
            asyncio.get_running_loop().call_soon(self._answer)

    def _on_idle(self) -> None:
        if self._owe_ack:
            self._owe_ack = False
            if not self._answer_pending:
                self._answer_pending = True
                asyncio.get_running_loop().call_soon(self._answer)

    def _answer_now(self) -> None:
        self._answer_timer = None
        if not self._answer_pending:
            self._answer_pending = True
            self._answer()

    def _answer(self) -> None:
        self._answer_pending = False
        if self._answer_timer is not None and not self.inbound.held:
            self._answer_timer.cancel()
            self._answer_timer = None
        self.saved.report(self._send_ack)

    def _send_ack(self, h: int) -> None:
        # Only on a stream with stream management on: never on the next connection
        # before it is set up (an <a/> in the middle of STARTTLS would break TLS).
        if self._client.transport is None or not self._client.plugin["xep_0198"].enabled_in:
            return
        ack = Ack(self._client)
        ack["h"] = h
        self._client.send_raw(str(ack))

    def _request(self) -> None:
        self._ack_pending = False
        if self._client.transport is not None and self.enabled:
            self._client.plugin["xep_0198"].request_ack()
