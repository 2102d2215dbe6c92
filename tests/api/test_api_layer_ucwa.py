"""UCWA's behaviour in the API layer (gateways.md section 2), no transport: applications
(one per endpointId), makeMeAvailable, conversations started with their first message,
operation ids never sending twice, completions, incoming messages and typing on the event
channel, ack semantics and the channel's bound, and when a message is refused (signed
out, disabled) or kept for later (reconnecting)."""

from __future__ import annotations

import asyncio

import pytest
from api_rig import BOB, ME, ApiLayerRig, ScriptedConnection

from chinwag.api.ucwa import (
    MAX_EVENTS,
    Application,
    Batch,
    EventQueue,
    Problem,
    Ref,
    UcwaApi,
    UcwaError,
    UcwaEvent,
)
from chinwag.core.errors import ServerUnreachable
from chinwag.core.events import ConnectionStateChanged
from chinwag.core.models import ConnectionState, Message

TIMEOUT = 10.0


def described(events: tuple[UcwaEvent, ...]) -> list[tuple[str, str, str, str]]:
    return [(e.sender.rel, e.link.rel, e.type, e.status) for e in events]


async def next_batch(ucwa: UcwaApi, app: Application, ack: int) -> Batch:
    """The next batch after ``ack`` that has events (the long poll waits for one)."""
    return await ucwa.events(app, ack, TIMEOUT)


def refused(problem: Problem) -> pytest.RaisesExc[UcwaError]:
    return pytest.raises(UcwaError, check=lambda e: e.problem is problem)


async def test_applications_are_per_endpoint_and_fields_are_checked(ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"UserAgent": "bot/1", "ENDPOINTID": "e1", "culture": "x"})
    assert (app.user_agent, app.endpoint_id, app.culture) == ("bot/1", "e1", "x")
    again = ucwa.create_application(ME, {"userAgent": "other", "endpointId": "e1"})
    assert again is app
    assert ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e2"}) is not app
    with refused(Problem.BAD_PARAMETER):
        ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e" * 101})
    with refused(Problem.BAD_PARAMETER):
        ucwa.create_application(ME, {"userAgent": "bot"})
    with refused(Problem.BAD_PARAMETER):
        ucwa.create_application(ME, {"userAgent": 5, "endpointId": "e3"})
    ucwa.create_application(ME, {"userAgent": "u" * 100, "endpointId": "e" * 100})
    with refused(Problem.NOT_FOUND):
        ucwa.application("other@localhost", app.id)


async def test_make_me_available_once(ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    ucwa.make_me_available(app)
    with refused(Problem.ALREADY_EXISTS):
        ucwa.make_me_available(app)
    batch = await next_batch(ucwa, app, 0)
    assert described(batch.events) == [("me", "me", "updated", "")]


async def test_a_conversation_starts_with_its_first_message_and_completes(
    rig: ApiLayerRig, ucwa: UcwaApi
) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    invitation = await ucwa.start_messaging(
        app, to="sip:Bob@Localhost", text="hello", subject="Plans", operation_id="op1"
    )
    (sent,) = rig.connection.sent
    assert (sent.peer, sent.body, sent.subject) == (BOB, "hello", "")
    batch = await next_batch(ucwa, app, 0)
    assert described(batch.events) == [
        ("communication", "messagingInvitation", "started", ""),
        ("communication", "conversation", "added", ""),
        ("conversation", "messaging", "added", ""),
    ]
    conv = app.conversation(invitation.conversation)
    assert (conv.peer, conv.subject) == (BOB, "Plans")

    rig.connection.listener.on_acked(sent.uid, BOB)
    batch = await next_batch(ucwa, app, batch.next_ack)
    assert described(batch.events) == [
        ("conversation", "message", "completed", "Success"),
        ("communication", "messagingInvitation", "completed", "Success"),
    ]
    assert batch.events[0].link == Ref("message", conv.id, str(sent.id))
    assert invitation.state == "Connected"


async def test_an_operation_id_is_used_once(rig: ApiLayerRig, ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    invitation = await ucwa.start_messaging(app, to=f"xmpp:{BOB}", operation_id="start")
    conv = invitation.conversation
    first = await ucwa.send_message(app, conv, "one", "op")
    with refused(Problem.ALREADY_EXISTS):
        await ucwa.send_message(app, conv, "one", "op")
    with refused(Problem.ALREADY_EXISTS):
        await ucwa.send_message(app, conv, "two", "start")
    assert [m.body for m in rig.connection.sent] == ["one"]
    assert ucwa.message(app, conv, first.id).operation_id == "op"
    # a refused request used nothing up
    with refused(Problem.TOO_LARGE):
        await ucwa.send_message(app, conv, "x" * 65_537, "big")
    await ucwa.send_message(app, conv, "x" * 65_536, "big")
    # another application has its own operation ids
    other = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "other"})
    theirs = await ucwa.start_messaging(other, to=f"xmpp:{BOB}")
    await ucwa.send_message(other, theirs.conversation, "three", "op")
    assert [m.body[:5] for m in rig.connection.sent] == ["one", "xxxxx", "three"]


async def test_a_failed_message_completes_with_its_reason(rig: ApiLayerRig, ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    conv = (await ucwa.start_messaging(app, to=f"xmpp:{BOB}")).conversation
    batch = await next_batch(ucwa, app, 0)
    sent = await ucwa.send_message(app, conv, "hi", None)
    uid = rig.connection.sent[-1].uid
    rig.connection.listener.on_message_error(uid, BOB, "service-unavailable")
    batch = await next_batch(ucwa, app, batch.next_ack)
    (event,) = batch.events
    assert (event.link.item, event.type, event.status) == (str(sent.id), "completed", "Failure")
    assert event.reason is not None
    assert "service-unavailable" in event.reason.message


async def test_incoming_messages_and_typing_reach_available_applications(
    rig: ApiLayerRig, ucwa: UcwaApi
) -> None:
    quiet = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "quiet"})
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    ucwa.make_me_available(app)
    ack = (await next_batch(ucwa, app, 0)).next_ack
    rig.connection.listener.on_chat_state(BOB, "composing")  # (no conversation yet)
    await rig.receive("are you there?")
    batch = await next_batch(ucwa, app, ack)
    assert described(batch.events) == [
        ("communication", "conversation", "added", ""),
        ("conversation", "messaging", "added", ""),
        ("conversation", "message", "added", ""),
    ]
    message = batch.events[-1].embedded
    assert message is not None
    assert getattr(message, "incoming", None) is True
    assert getattr(message, "text", None) == "are you there?"
    rig.connection.listener.on_chat_state(BOB, "composing")
    batch = await next_batch(ucwa, app, batch.next_ack)
    (typing,) = batch.events
    assert (typing.link.rel, typing.type) == ("typingParticipants", "updated")
    assert getattr(typing.embedded, "peers", None) == (BOB,)
    await rig.receive("hello?")
    batch = await next_batch(ucwa, app, batch.next_ack)
    assert described(batch.events) == [
        ("conversation", "typingParticipants", "updated", ""),  # (no longer typing)
        ("conversation", "message", "added", ""),
    ]
    assert (await ucwa.events(quiet, 0, 0)).events == ()


async def test_events_stay_until_acknowledged(rig: ApiLayerRig, ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    ucwa.make_me_available(app)
    await rig.receive("one")
    first = await ucwa.events(app, 0, 0)
    again = await ucwa.events(app, 0, 0)
    assert first == again
    assert len(first.events) == 4
    assert first.next_ack == first.events[-1].number
    await rig.receive("two")
    after = await ucwa.events(app, first.next_ack, 0)
    assert described(after.events) == [("conversation", "message", "added", "")]
    assert (await ucwa.events(app, after.next_ack, 0)).events == ()
    with refused(Problem.BAD_PARAMETER):
        await ucwa.events(app, after.next_ack + 1, 0)
    with refused(Problem.BAD_PARAMETER):
        await ucwa.events(app, 0, 181)


async def test_a_long_poll_returns_when_an_event_comes(rig: ApiLayerRig, ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    ucwa.make_me_available(app)
    ack = (await ucwa.events(app, 0, 0)).next_ack
    polls = [asyncio.create_task(ucwa.events(app, ack, 180)) for _ in range(3)]
    await asyncio.sleep(0)  # (every poll is waiting)
    assert not any(p.done() for p in polls)
    await rig.receive("wake up")
    async with asyncio.timeout(TIMEOUT):
        batches = await asyncio.gather(*polls)
    assert all(len(b.events) == 3 for b in batches)
    # an application deleted under a poll: the poll ends, NotFound
    poll = asyncio.create_task(ucwa.events(app, batches[0].next_ack, 180))
    await asyncio.sleep(0)
    ucwa.delete_application(app)
    with refused(Problem.NOT_FOUND):
        async with asyncio.timeout(TIMEOUT):
            await poll


async def test_a_short_timeout_gives_an_empty_batch(ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    batch = await ucwa.events(app, 0, 0.01)
    assert batch == Batch((), 0, False)


async def test_the_channel_is_bounded() -> None:
    queue = EventQueue()
    for _ in range(MAX_EVENTS + 10):
        queue.push(Ref("me"), Ref("me"), "updated")
    assert len(queue) == MAX_EVENTS
    batch = queue.batch(0)
    assert batch.resync
    assert batch.events[0].number == 11
    queue.ack(batch.next_ack)
    assert not queue.batch(batch.next_ack).resync


async def test_stop_messaging_ends_the_conversation(rig: ApiLayerRig, ucwa: UcwaApi) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    conv = (await ucwa.start_messaging(app, to=f"xmpp:{BOB}")).conversation
    ucwa.set_is_typing(app, conv)
    ack = (await ucwa.events(app, 0, 0)).next_ack
    ucwa.stop_messaging(app, conv)
    assert rig.connection.chat_states == [(BOB, "composing"), (BOB, "gone")]
    batch = await ucwa.events(app, ack, 0)
    assert described(batch.events) == [
        ("conversation", "messaging", "updated", ""),
        ("communication", "conversation", "deleted", ""),
    ]
    with refused(Problem.NOT_FOUND):
        await ucwa.send_message(app, conv, "still there?", None)


async def test_bad_addresses_are_refused(ucwa: UcwaApi, rig: ApiLayerRig) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    for to in ("bob@localhost", "tel:123", "xmpp:localhost", "xmpp:a@b/c", None, f"xmpp:{ME}"):
        with refused(Problem.BAD_PARAMETER):
            await ucwa.start_messaging(app, to=to, text="hi")
    assert rig.connection.sent == []


async def test_signed_out_or_disabled_is_refused_reconnecting_is_kept(
    rig: ApiLayerRig, ucwa: UcwaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ucwa.create_application(ME, {"userAgent": "bot", "endpointId": "e"})
    conv = (await ucwa.start_messaging(app, to=f"xmpp:{BOB}")).conversation
    # reconnecting: accepted, and sent once the connection is back
    monkeypatch.setattr(ScriptedConnection, "refuse_connect", ServerUnreachable("down"))
    reconnecting = asyncio.Event()

    def on_state(event: ConnectionStateChanged) -> None:
        if event.state is ConnectionState.RECONNECTING:
            reconnecting.set()

    unsubscribe = rig.core.bus.subscribe(ConnectionStateChanged, on_state)
    rig.connection.listener.on_disconnected(ServerUnreachable("lost"))
    async with asyncio.timeout(TIMEOUT):
        await reconnecting.wait()
    unsubscribe()
    transmitted = asyncio.Event()
    send = ScriptedConnection.send_message

    def send_and_tell(self: ScriptedConnection, message: Message) -> None:
        send(self, message)
        transmitted.set()

    monkeypatch.setattr(ScriptedConnection, "send_message", send_and_tell)
    kept = await ucwa.send_message(app, conv, "later", "kept")
    assert kept.status == "Pending"
    assert not transmitted.is_set()
    monkeypatch.setattr(ScriptedConnection, "refuse_connect", None)
    async with asyncio.timeout(TIMEOUT):
        await transmitted.wait()
    assert [m.body for m in rig.connection.sent] == ["later"]

    await rig.core.sign_out(ME)
    with refused(Problem.UNAVAILABLE):
        await ucwa.send_message(app, conv, "now", "out")
    with refused(Problem.UNAVAILABLE):
        await ucwa.start_messaging(app, to=f"xmpp:{BOB}", text="now")
    await rig.core.set_enabled(ME, False)
    with refused(Problem.UNAVAILABLE):
        await ucwa.send_message(app, conv, "now", "out")
    assert [m.body for m in rig.connection.sent] == ["later"]
