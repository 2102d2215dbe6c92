"""What other clients see of Chinwag (issue 9, details other clients see, items 8 and 9):
disco#info said client/bot; entity time (XEP-0202) and last activity (XEP-0012) were
answered feature-not-implemented. Asked by a real slixmpp peer through the real
Prosody."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import eventually
from slixmpp.exceptions import IqError

from chinwag.core.events import ConnectionStateChanged
from chinwag.core.models import ConnectionState
from chinwag.core.status import Status
from conftest import Client, CoreMaker
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = pytest.mark.prosody

DISCO_INFO = "http://jabber.org/protocol/disco#info"
CAPS = "http://jabber.org/protocol/caps"
TIME = "urn:xmpp:time"
LAST = "jabber:iq:last"
CHAT_STATES = "http://jabber.org/protocol/chatstates"
MARKERS = "urn:xmpp:chat-markers:0"
RECEIPTS = "urn:xmpp:receipts"


async def subscriptions(peer: XmppPeer) -> dict[str, str]:
    """The peer's roster as the server has it now (asked without a roster version,
    which slixmpp would add and the server then answer with no items)."""
    iq = peer.client.make_iq_get(queryxmlns="jabber:iq:roster")
    result = await iq.send(timeout=20)
    items = result.xml.findall("{jabber:iq:roster}query/{jabber:iq:roster}item")
    return {str(item.get("jid")): str(item.get("subscription")) for item in items}


async def befriend(server: ProsodyServer, jid: str, password: str, bob: XmppPeer) -> None:
    """Mutual presence subscription between ``jid`` and bob, made with plain slixmpp
    clients before Chinwag signs in as ``jid``: each approves in advance (RFC 6121
    section 3.4), then asks."""
    async with XmppPeer(server, jid, password) as me:
        for one, other in ((me, bob), (bob, me)):
            one.client.send_presence(pto=other.jid, ptype="subscribed")
        for one, other in ((me, bob), (bob, me)):
            one.client.send_presence(pto=other.jid, ptype="subscribe")
        deadline = asyncio.get_running_loop().time() + 20
        while (seen := [await subscriptions(me), await subscriptions(bob)]) != [
            {bob.jid: "both"},
            {jid: "both"},
        ]:
            assert asyncio.get_running_loop().time() < deadline, f"not mutual: {seen}"
            await asyncio.sleep(0.05)


async def ask(peer: XmppPeer, to: str, ns: str, element: str = "query") -> Any:
    """An IQ get with an empty ``<element xmlns=ns/>``; the reply's payload element."""
    iq = peer.client.make_iq_get(ito=to)
    iq.xml.append(iq.xml.makeelement(f"{{{ns}}}{element}", {}))
    result = await iq.send(timeout=20)
    payload = result.xml.find(f"{{{ns}}}{element}")
    assert payload is not None, result
    return payload


async def refused(peer: XmppPeer, to: str, ns: str, element: str = "query") -> str:
    with pytest.raises(IqError) as caught:
        await ask(peer, to, ns, element)
    return str(caught.value.iq["error"]["condition"])


def caps_ver(info: Any) -> str:
    """XEP-0115 section 5.1 of a disco#info ``<query/>`` (no data forms in ours)."""
    identities = sorted(
        "/".join(
            (
                i.get("category", ""),
                i.get("type", ""),
                i.get("{http://www.w3.org/XML/1998/namespace}lang", ""),
                i.get("name", ""),
            )
        )
        for i in info.findall(f"{{{DISCO_INFO}}}identity")
    )
    features = sorted(f.get("var", "") for f in info.findall(f"{{{DISCO_INFO}}}feature"))
    text = "".join(f"{s}<" for s in [*identities, *features])
    return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()


class CapsSeen:
    """The caps ``ver`` of every available presence bob gets from one full address."""

    def __init__(self, bob: XmppPeer) -> None:
        self.by_sender: dict[str, str] = {}
        #: Every ver each sender announced, in order.
        self.history: dict[str, list[str]] = {}
        bob.client.add_event_handler("presence_available", self._add)

    def _add(self, presence: Any) -> None:
        caps = presence.xml.find(f"{{{CAPS}}}c")
        if caps is not None:
            self.by_sender[str(presence["from"])] = str(caps.get("ver"))
            self.history.setdefault(str(presence["from"]), []).append(str(caps.get("ver")))


async def signed_in_friend(
    prosody: ProsodyServer, cores: CoreMaker, bob: XmppPeer
) -> tuple[Client, str]:
    """Alice (Chinwag) with bob as a mutual contact; her full address."""
    jid, password = prosody.make_user("alice")
    await befriend(prosody, jid, password, bob)
    alice = await cores(prosody, jid, password)
    return alice, f"{jid}/{alice.core.accounts.get(jid).resource}"


async def test_disco_says_a_desktop_client_named_chinwag(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        caps = CapsSeen(bob)
        _alice, full = await signed_in_friend(prosody, cores, bob)
        info = await ask(bob, full, DISCO_INFO)
        identities = [
            (i.get("category"), i.get("type"), i.get("name"))
            for i in info.findall(f"{{{DISCO_INFO}}}identity")
        ]
        assert identities == [("client", "pc", "Chinwag")]
        features = {f.get("var") for f in info.findall(f"{{{DISCO_INFO}}}feature")}
        assert {DISCO_INFO, TIME, LAST} <= features
        # the hash in our presence is the hash of what we answer
        ver = await eventually(lambda: caps.by_sender.get(full), what="alice's caps")
        assert ver == caps_ver(info)


def features(info: Any) -> set[str]:
    return {str(f.get("var")) for f in info.findall(f"{{{DISCO_INFO}}}feature")}


async def test_privacy_switches_are_what_disco_and_caps_say(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    """Typing notifications off: chat states (XEP-0085) are not advertised, in disco#info
    nor in the XEP-0115 hash our presence carries (a new hash is announced at once);
    read markers off: chat markers (XEP-0333) are not. Receipts (XEP-0184), which the
    switch does not cover, stay. Both back on: advertised again."""
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        caps = CapsSeen(bob)
        alice, full = await signed_in_friend(prosody, cores, bob)
        messaging = alice.core.messaging

        node = "https://chinwag.im"

        async def hashed(ver: str) -> str:
            """The hash of what alice answers for node#ver (XEP-0115 section 6.2)."""
            iq = bob.client.make_iq_get(ito=full)
            iq.xml.append(iq.xml.makeelement(f"{{{DISCO_INFO}}}query", {"node": f"{node}#{ver}"}))
            return caps_ver((await iq.send(timeout=20)).xml.find(f"{{{DISCO_INFO}}}query"))

        async def announced(expected: set[str], absent: set[str]) -> str:
            info = await ask(bob, full, DISCO_INFO)
            assert expected <= features(info)
            assert not absent & features(info)
            ver = caps_ver(info)
            await eventually(lambda: caps.by_sender.get(full) == ver, what=f"caps {ver}")
            assert await hashed(ver) == ver
            return ver

        first = await announced({CHAT_STATES, MARKERS, RECEIPTS}, set())
        messaging.send_chat_states = False
        await announced({MARKERS, RECEIPTS}, {CHAT_STATES})
        assert await hashed(first) == first  # (an earlier hash still answers what it was)
        messaging.send_read_markers = False
        await announced({RECEIPTS}, {CHAT_STATES, MARKERS})
        messaging.send_chat_states = True
        messaging.send_read_markers = True
        await announced({CHAT_STATES, MARKERS, RECEIPTS}, set())


async def test_typing_off_from_the_start_is_never_advertised(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    """The switch set before signing in: the first presence already carries the hash
    without chat states (no presence announces them, even briefly)."""
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        caps = CapsSeen(bob)
        jid, password = prosody.make_user("alice")
        await befriend(prosody, jid, password, bob)
        alice = await cores(prosody, jid, password, sign_in=False)
        alice.core.messaging.send_chat_states = False
        await alice.core.sign_in(jid)
        full = f"{jid}/{alice.core.accounts.get(jid).resource}"
        info = await ask(bob, full, DISCO_INFO)
        assert CHAT_STATES not in features(info)
        ver = await eventually(lambda: caps.by_sender.get(full), what="alice's caps")
        assert ver == caps_ver(info)
        assert caps.history[full] == [ver]


async def test_typing_off_while_the_stream_is_away_is_announced_on_resume(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        caps = CapsSeen(bob)
        alice, full = await signed_in_friend(prosody, cores, bob)
        before = await eventually(lambda: caps.by_sender.get(full), what="alice's caps")
        conn = alice.core.sessions[alice.jid]._conn
        assert conn is not None
        conn.client.abort()
        await alice.events.wait(
            ConnectionStateChanged, lambda e: e.state is not ConnectionState.ONLINE
        )
        alice.core.messaging.send_chat_states = False
        await alice.events.wait(
            ConnectionStateChanged, lambda e: e.state is ConnectionState.ONLINE and e.resumed
        )
        info = await ask(bob, full, DISCO_INFO)
        assert CHAT_STATES not in features(info)
        ver = caps_ver(info)
        assert ver != before
        await eventually(lambda: caps.by_sender.get(full) == ver, what="the new caps")


@pytest.fixture(params=["XST-5:30", "YST+3:30", "UTC0"])
def time_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process in a time zone of its own (POSIX TZ: no tz database needed)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


async def test_entity_time(prosody: ProsodyServer, cores: CoreMaker, time_zone: str) -> None:
    async with (
        XmppPeer(prosody, *prosody.make_user("bob")) as bob,
        XmppPeer(prosody, *prosody.make_user("carol")) as carol,
    ):
        _alice, full = await signed_in_friend(prosody, cores, bob)
        for asker in (bob, carol):  # anyone may ask the time (XEP-0202)
            before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            answer = await ask(asker, full, TIME, "time")
            after = datetime.datetime.now(datetime.UTC)
            tzo = answer.findtext(f"{{{TIME}}}tzo")
            utc = answer.findtext(f"{{{TIME}}}utc")
            assert re.fullmatch(r"[+-]\d\d:\d\d", tzo or ""), tzo
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", utc or ""), utc
            stamp = datetime.datetime.fromisoformat((utc or "").replace("Z", "+00:00"))
            assert before <= stamp <= after
            assert tzo == {"XST-5:30": "+05:30", "YST+3:30": "-03:30", "UTC0": "+00:00"}[time_zone]


async def test_last_activity(prosody: ProsodyServer, cores: CoreMaker) -> None:
    async with (
        XmppPeer(prosody, *prosody.make_user("bob")) as bob,
        XmppPeer(prosody, *prosody.make_user("carol")) as carol,
    ):
        alice, full = await signed_in_friend(prosody, cores, bob)
        # a clock the test moves: no waiting, and the answer is exact
        now = [1000.0]
        activity = alice.core.activity
        activity.clock = lambda: now[0]
        activity.touch()
        now[0] += 125.7
        answer = await ask(bob, full, LAST)
        assert answer.get("seconds") == "125"
        assert list(answer) == []  # no status text from a client's idle time

        activity.touch()  # the person pressed a key
        now[0] += 3
        assert (await ask(bob, full, LAST)).get("seconds") == "3"

        # another device of the same account may know it
        async with XmppPeer(prosody, alice.jid, _password(alice)) as other:
            assert (await ask(other, full, LAST)).get("seconds") == "3"

        # someone who does not see our presence may not (XEP-0012 section 4)
        assert await refused(carol, full, LAST) == "forbidden"
        # and nobody while we appear offline, as if nobody were there
        await alice.core.set_status(Status.INVISIBLE, "")
        assert await refused(bob, full, LAST) == "service-unavailable"
        await alice.core.set_status(Status.AWAY, "")
        assert (await ask(bob, full, LAST)).get("seconds") == "3"


def _password(client: Client) -> str:
    password = client.core.accounts.password(client.jid)
    assert password is not None
    return password


async def test_a_switch_flipped_many_times_quickly_costs_two_presences_at_most(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    """Twelve flips, each in a turn of its own as clicks come: the first change is
    announced at once, the rest once, after a short gap, with the hash of where the
    flipping ended (it was a presence to every contact per flip); what disco#info says
    and the last hash announced agree."""
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        caps = CapsSeen(bob)
        alice, full = await signed_in_friend(prosody, cores, bob)
        first = await eventually(lambda: caps.by_sender.get(full), what="alice's caps")
        messaging = alice.core.messaging
        for flip in range(11):
            messaging.send_chat_states = flip % 2 == 1  # (ends off)
            await asyncio.sleep(0)
        messaging.send_read_markers = False
        info = await ask(bob, full, DISCO_INFO)
        assert not {CHAT_STATES, MARKERS} & features(info)
        final = caps_ver(info)
        await eventually(lambda: caps.by_sender.get(full) == final, what="the final caps")
        # A presence after all of it: whatever alice sent before has come by then.
        told = len(caps.history[full])
        await alice.core.set_status(Status.ONLINE, "flipped")
        await eventually(lambda: len(caps.history[full]) > told, what="the status presence")
        history = caps.history[full]
        assert history[0] == first
        assert len(history) <= 4, history  # first, a change, the end, the status
        assert history[-2:] == [final, final]
