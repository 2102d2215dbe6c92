"""Issue 12, finding rooms and self-ping in the core alone (the rig's connection plays the
server and the room): each answer of a self-ping (XEP-0410 3.2) and what the core does
with it, a server with no group chat service, and a service that does not page."""

from __future__ import annotations

import asyncio

import pytest
from core_rig import ME, Core

from chinwag.core.models import (
    STATUS_SELF,
    Affiliation,
    DiscoIdentity,
    DiscoInfo,
    DiscoItem,
    Role,
    RoomPresence,
    RoomState,
)
from chinwag.core.rooms import NS_ROOMINFO, SelfPing

ROOM = "lounge@rooms.localhost"


async def joined(rig: Core) -> None:
    task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
    await asyncio.sleep(0)
    rig.conn.listener.on_room_presence(
        RoomPresence(
            ROOM,
            "me",
            role=Role.PARTICIPANT,
            affiliation=Affiliation.MEMBER,
            jid=ME,
            codes=frozenset({STATUS_SELF}),
        )
    )
    await task


@pytest.mark.parametrize(
    ("answer", "outcome", "joins"),
    [
        ("", SelfPing.IN, 1),
        ("service-unavailable", SelfPing.IN, 1),
        ("feature-not-implemented", SelfPing.IN, 1),
        ("item-not-found", SelfPing.IN, 1),
        ("timeout", SelfPing.NO_ANSWER, 1),
        ("remote-server-timeout", SelfPing.NO_ANSWER, 1),
        ("not-acceptable", SelfPing.REJOINING, 2),
        ("forbidden", SelfPing.REJOINING, 2),
    ],
)
async def test_each_self_ping_answer(rig: Core, answer: str, outcome: SelfPing, joins: int) -> None:
    await joined(rig)
    rig.conn.ping_answers[ROOM] = answer
    assert await rig.core.rooms.self_ping(ME, ROOM) is outcome
    assert rig.conn.pings == [f"{ROOM}/me"]
    assert [r[0] for r in rig.conn.room_requests].count("join") == joins
    state = rig.core.rooms.room(ME, ROOM).state  # type: ignore[union-attr]
    assert state is (RoomState.JOINED if joins == 1 else RoomState.JOINING)


async def test_no_self_ping_for_a_room_we_are_not_in(rig: Core) -> None:
    assert await rig.core.rooms.self_ping(ME, ROOM) is SelfPing.NOT_IN
    assert rig.conn.pings == []


async def test_a_server_without_a_group_chat_service(rig: Core) -> None:
    rig.conn.items["localhost"] = [DiscoItem("upload.localhost"), DiscoItem("gone.localhost")]
    rig.conn.disco["upload.localhost"] = DiscoInfo(
        "upload.localhost", (DiscoIdentity("store", "file"),)
    )
    assert await rig.core.rooms.conference_service(ME) is None
    rig.conn.items["localhost"].append(DiscoItem("rooms.localhost"))
    rig.conn.disco["rooms.localhost"] = DiscoInfo(
        "rooms.localhost", (DiscoIdentity("conference", "text"),)
    )
    assert await rig.core.rooms.conference_service(ME) is None  # (found once a session)
    assert rig.conn.items_asked == ["localhost"]


async def test_a_service_that_sends_every_room_is_paged_here(rig: Core) -> None:
    service = "rooms.localhost"
    rig.conn.items[service] = [DiscoItem(f"r{i}@{service}", f"R {i}") for i in (3, 1, 2, 1)]
    rig.conn.disco[f"r2@{service}"] = DiscoInfo(
        f"r2@{service}", forms={NS_ROOMINFO: {"muc#roominfo_occupants": ("7",)}}
    )
    first = await rig.core.rooms.list_rooms(ME, service, limit=2)
    assert [(r.jid, r.occupants) for r in first.rooms] == [
        (f"r1@{service}", None),
        (f"r2@{service}", 7),
    ]
    assert (first.last, first.total) == (f"r2@{service}", 3)
    second = await rig.core.rooms.list_rooms(ME, service, first.last, limit=2)
    assert [r.jid for r in second.rooms] == [f"r3@{service}"]
    assert second.last == ""
    assert rig.conn.items_asked == [service]  # (the next page from what was read)


async def test_is_room_asks_the_address_then_its_service_once(rig: Core) -> None:
    rooms = rig.core.rooms
    rig.conn.disco["rooms.localhost"] = DiscoInfo(
        "rooms.localhost", (DiscoIdentity("conference", "text"),)
    )
    rig.conn.disco["r1@rooms.localhost"] = DiscoInfo(
        "r1@rooms.localhost", (DiscoIdentity("conference", "text"),)
    )
    rig.conn.disco["localhost"] = DiscoInfo("localhost", (DiscoIdentity("server", "im"),))
    rig.conn.disco["bob@localhost"] = DiscoInfo(
        "bob@localhost", (DiscoIdentity("account", "registered"),)
    )
    assert await rooms.is_room(ME, "r1@rooms.localhost")  # it says so
    assert await rooms.is_room(ME, "new@rooms.localhost")  # not made yet, on a service
    assert not await rooms.is_room(ME, "bob@localhost")  # a person
    assert not await rooms.is_room(ME, "carol@localhost")  # no answer, not on a service
    del rig.conn.disco["rooms.localhost"]  # asked once a session: the answers are kept
    assert await rooms.is_room(ME, "new@rooms.localhost")
    assert await rooms.is_room(ME, "other@rooms.localhost")  # the service's answer too
