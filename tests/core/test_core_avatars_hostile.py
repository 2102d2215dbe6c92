"""Issue 16, second review: the avatar service against a hostile or careless peer.
Announcements that arrive out of order must not leave an older picture shown over a
newer one; a contact flooding new avatar ids must not hold every fetch slot (stale ids
are dropped once nobody wants them); a vCard whose PHOTO does not hash to what the
presences announce is fetched once, not again at every presence."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from pathlib import Path

from chinwag.core.avatars import MAX_CONCURRENT_FETCHES, AvatarChanged, AvatarInfo, AvatarService
from chinwag.core.events import EventBus
from chinwag.storage.avatar_cache import AvatarFileCache
from rig.images import png

ME = "me@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"


class Transport:
    """Serves pictures by id; ``hold`` ids are answered only when released."""

    def __init__(self, pictures: dict[str, bytes], vcard: bytes | None = None) -> None:
        self.pictures = pictures
        self.vcard = vcard
        self.asked: list[tuple[str, str]] = []
        self.hold: dict[str, asyncio.Event] = {}
        #: Set when the id is asked for.
        self.started: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def fetch_pep_avatar(self, jid: str, item_id: str) -> bytes | None:
        self.asked.append((jid, item_id))
        self.started[item_id].set()
        gate = self.hold.get(item_id)
        if gate is not None:
            await gate.wait()
        return self.pictures.get(item_id)

    async def fetch_vcard_photo(self, jid: str) -> bytes | None:
        self.asked.append((jid, "vcard"))
        return self.vcard

    async def publish_avatar(self, data: bytes, info: AvatarInfo) -> None:
        raise AssertionError("not used")

    async def clear_avatar(self) -> None:
        raise AssertionError("not used")

    def set_own_hash(self, sha1: str | None) -> None:
        pass


def service(
    tmp_path: Path, transport: Transport
) -> tuple[AvatarService, defaultdict[str, asyncio.Event]]:
    """The service, and an event per picture (SHA-1) set when one is shown for bob."""
    bus = EventBus()
    shown: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def on_changed(event: AvatarChanged) -> None:
        if event.jid == BOB and event.path:
            shown[Path(event.path).name].set()

    bus.subscribe(AvatarChanged, on_changed)
    return AvatarService(bus, lambda _account: transport, AvatarFileCache(tmp_path)), shown


def info(data: bytes) -> AvatarInfo:
    return AvatarInfo(hashlib.sha1(data).hexdigest(), len(data), "image/png")


async def test_an_older_avatar_fetched_late_does_not_replace_the_newer_one(
    tmp_path: Path,
) -> None:
    old, new = png(8, 8), png(9, 9)
    transport = Transport({info(old).id: old, info(new).id: new})
    slow = transport.hold[info(old).id] = asyncio.Event()
    avatars, shown = service(tmp_path, transport)
    avatars.on_metadata(ME, BOB, [info(old)])  # its fetch is slow to answer
    await transport.started[info(old).id].wait()
    avatars.on_metadata(ME, BOB, [info(new)])  # bob changes his picture meanwhile
    await shown[info(new).id].wait()
    slow.set()
    await avatars.drain()
    assert avatars.hash(ME, BOB) == info(new).id
    assert avatars.path(ME, BOB) == tmp_path / info(new).id


async def test_a_refused_older_avatar_does_not_take_down_the_newer_one(tmp_path: Path) -> None:
    new = png(9, 9)
    bogus = AvatarInfo("ab" * 20, 100, "image/png")
    transport = Transport({bogus.id: b"not a picture", info(new).id: new})
    slow = transport.hold[bogus.id] = asyncio.Event()
    avatars, shown = service(tmp_path, transport)
    avatars.on_metadata(ME, BOB, [bogus])
    await transport.started[bogus.id].wait()
    avatars.on_metadata(ME, BOB, [info(new)])
    await shown[info(new).id].wait()
    slow.set()
    await avatars.drain()
    assert bogus.id in avatars.refused
    assert avatars.path(ME, BOB) == tmp_path / info(new).id


async def test_a_flood_of_avatar_ids_from_one_contact_does_not_starve_the_others(
    tmp_path: Path,
) -> None:
    """Bob announces 200 ids whose fetches hang, then one more; Carol announces hers.
    Only the fetches already under way are held: the stale ids are never asked for, so
    Carol's picture (and Bob's last) arrive as soon as the first slot is free."""
    carol_picture = png(7, 7)
    transport = Transport({info(carol_picture).id: carol_picture})
    gate = asyncio.Event()
    flood = [f"{n:040x}" for n in range(200)]
    for item in flood:
        transport.hold[item] = gate
    avatars, _shown = service(tmp_path, transport)
    for item in flood:
        avatars.on_metadata(ME, BOB, [AvatarInfo(item, 100, "image/png")])
    avatars.on_metadata(ME, CAROL, [info(carol_picture)])
    # Bob's last id is asked for while the stale ones' fetches would still hang (a
    # guard, not a timing: before the fix it never was, all four slots being held).
    try:
        await asyncio.wait_for(transport.started[flood[-1]].wait(), 30)
    finally:
        gate.set()
    await avatars.drain()
    asked_for_bob = [item for jid, item in transport.asked if jid == BOB]
    assert len(asked_for_bob) <= MAX_CONCURRENT_FETCHES + 1, len(asked_for_bob)
    assert avatars.path(ME, CAROL) == tmp_path / info(carol_picture).id


async def test_a_vcard_photo_not_matching_the_presence_hash_is_fetched_once(
    tmp_path: Path,
) -> None:
    picture = png(8, 8)
    announced = "0" * 40  # a client hashing something else than the picture
    transport = Transport({}, vcard=picture)
    avatars, _shown = service(tmp_path, transport)
    for _ in range(5):  # five presences (status changes) with the same hash
        avatars.on_vcard_hash(ME, BOB, announced)
        await avatars.drain()
    assert transport.asked == [(BOB, "vcard")]
    assert avatars.path(ME, BOB) == tmp_path / info(picture).id
