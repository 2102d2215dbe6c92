"""Issue 12, finding rooms and noticing we were dropped from one, over the rig's real
Prosody: the server's group chat service is found by service discovery; its public
rooms are listed in pages with their names and how many are in each, and searched; a
room that forgot us without telling (XEP-0410 self-ping) is joined again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import fresh_room
from slixmpp import JID
from slixmpp.xmlstream import ET

from chinwag.core.events import OccupantChanged, RoomJoined
from chinwag.core.rooms import SelfPing
from conftest import Client, CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody

NS_OWNER = "http://jabber.org/protocol/muc#owner"
ROOMS = 120


async def make_public_room(peer: XmppPeer, room: str, name: str, stay: bool) -> None:
    """``peer`` makes ``room`` public and persistent, named ``name``; it stays in it
    (one occupant) or leaves (none)."""
    client: Any = peer.client
    await client.plugin["xep_0045"].join_muc_wait(JID(room), "owner", maxstanzas=0, timeout=15)
    iq = client.make_iq_set(ito=JID(room))
    form = ET.SubElement(ET.SubElement(iq.xml, f"{{{NS_OWNER}}}query"), "{jabber:x:data}x")
    form.set("type", "submit")
    for var, value in (
        ("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
        ("muc#roomconfig_roomname", name),
        ("muc#roomconfig_publicroom", "1"),
        ("muc#roomconfig_persistentroom", "1"),
    ):
        field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
        ET.SubElement(field, "{jabber:x:data}value").text = value
    await iq.send(timeout=15)
    if not stay:
        client.plugin["xep_0045"].leave_muc(JID(room), "owner")


async def test_the_servers_group_chat_service_is_found(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    assert await alice.core.rooms.conference_service(alice.jid) == prosody.muc_domain
    # (once a session: the second answer is the first)
    assert await alice.core.rooms.conference_service(alice.jid) == prosody.muc_domain


async def test_public_rooms_are_listed_in_pages_with_names_and_counts_and_searched(
    prosody_own: Any, cores: CoreMaker
) -> None:
    server = prosody_own  # (its own server: the only public rooms are this test's)
    alice = await cores(server, *server.make_user("alice"))
    names = {f"pub-{i:03d}@{server.muc_domain}": f"Public room {i:03d}" for i in range(ROOMS)}
    # The owner stays in every third room.
    occupants = {room: 1 if i % 3 == 0 else 0 for i, room in enumerate(names)}
    hidden = f"hidden@{server.muc_domain}"  # made by joining: not public
    async with XmppPeer(server, *server.make_user("owner")) as owner:
        owner.client.register_plugin("xep_0045")
        rooms = list(names)
        for start in range(0, ROOMS, 20):
            await asyncio.gather(
                *(
                    make_public_room(owner, room, names[room], stay=bool(occupants[room]))
                    for room in rooms[start : start + 20]
                )
            )
        await alice.core.rooms.join(alice.jid, hidden, "Alice")

        service = await alice.core.rooms.conference_service(alice.jid)
        assert service == server.muc_domain
        pages = []
        after = ""
        while True:
            page = await alice.core.rooms.list_rooms(alice.jid, service, after, limit=50)
            pages.append(page)
            after = page.last
            if not after:
                break
            assert len(pages) < 5, "the listing does not end"
        assert [len(p.rooms) for p in pages] == [50, 50, 20]
        assert {p.total for p in pages} == {ROOMS}
        listed = [r for p in pages for r in p.rooms]
        assert {r.jid: r.name for r in listed} == names  # each once, named, no hidden room
        assert {r.jid: r.occupants for r in listed} == occupants

        found = await alice.core.rooms.search_rooms(alice.jid, service, "ROOM 07")
        assert sorted(r.jid for r in found) == [f"pub-07{i}@{server.muc_domain}" for i in range(10)]
        assert {r.occupants for r in found} == {0, 1}  # (with their counts)
        by_address = await alice.core.rooms.search_rooms(alice.jid, service, "pub-11", limit=5)
        assert [r.jid for r in by_address] == [f"pub-11{i}@{server.muc_domain}" for i in range(5)]
        assert await alice.core.rooms.search_rooms(alice.jid, service, "hidden") == []


def _connection(client: Client) -> Any:
    return client.core.sessions[client.jid].connection


async def drop_behind_the_cores_back(client: Client, room: str, nick: str) -> None:
    """Leave ``room`` from ``client``'s connection without its core hearing of it: the
    room's answer (our unavailable presence) is dropped before anything reads it."""
    raw: Any = _connection(client).client
    answered = asyncio.Event()

    def drop(stanza: Any) -> Any:
        if stanza.xml.tag == "{jabber:client}presence" and str(stanza["from"]) == f"{room}/{nick}":
            answered.set()
            return None
        return stanza

    raw.add_filter("in", drop)
    try:
        raw.send_presence(pto=JID(f"{room}/{nick}"), ptype="unavailable")
        await asyncio.wait_for(answered.wait(), 20)
    finally:
        raw.del_filter("in", drop)


async def test_a_room_that_forgot_us_is_joined_again_after_a_self_ping(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "selfping")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await alice.events.wait(OccupantChanged, lambda e: e.nick == "Bob" and e.occupant is not None)
    # A room that has us says so.
    assert await bob.core.rooms.self_ping(bob.jid, room) is SelfPing.IN

    await drop_behind_the_cores_back(bob, room, "Bob")
    await alice.events.wait(OccupantChanged, lambda e: e.nick == "Bob" and e.occupant is None)
    assert bob.core.rooms.is_joined(bob.jid, room)  # (what the core believes)

    assert await bob.core.rooms.self_ping(bob.jid, room) is SelfPing.REJOINING
    await bob.events.wait(RoomJoined, lambda _: len(bob.events.of(RoomJoined)) == 2)
    assert bob.core.rooms.is_joined(bob.jid, room)
    back = await alice.events.wait(
        OccupantChanged,
        lambda e: (
            e.nick == "Bob"
            and e.occupant is not None
            and e.previous is None
            and len(alice.events.of(OccupantChanged, lambda o: o.nick == "Bob")) == 3
        ),
    )
    assert back.occupant is not None
    assert back.occupant.jid == bob.jid
    # Alice was never dropped: still in.
    assert await alice.core.rooms.self_ping(alice.jid, room) is SelfPing.IN


async def test_the_self_ping_loop_finds_a_silent_room_that_forgot_us(
    prosody: Any, cores: CoreMaker
) -> None:
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "selfpingloop")
    other = fresh_room(prosody, "stillin")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await bob.core.rooms.join(bob.jid, other, "Bob")
    await drop_behind_the_cores_back(bob, room, "Bob")
    assert bob.core.rooms.is_joined(bob.jid, room)

    # Rooms silent for a tenth of a second are pinged: the one that forgot us is found
    # out and joined again; the other is left alone.
    bob.core.rooms.self_ping_interval = 0.1
    await bob.events.wait(RoomJoined, lambda e: len(bob.events.of(RoomJoined)) == 3)
    assert [e.room for e in bob.events.of(RoomJoined)] == [room, other, room]
    assert bob.core.rooms.is_joined(bob.jid, room)
    assert bob.core.rooms.is_joined(bob.jid, other)
