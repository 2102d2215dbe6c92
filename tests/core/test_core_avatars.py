"""Issue 16: the avatar service on its own (a scripted transport, a real disk cache): a
picture is fetched once per hash whoever announces it, announced-too-big pictures are
never fetched, what is not a picture (or a decompression bomb's header, or not what was
announced) is refused and not kept, the index brings offline contacts' pictures back
after a restart; and a vCard of 10,000 fields is cut, not parsed whole."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import pytest
from slixmpp.xmlstream import ET

from chinwag.core import avatars as avatars_module
from chinwag.core.avatars import (
    MAX_AVATAR_BYTES,
    AvatarChanged,
    AvatarInfo,
    AvatarRefused,
    AvatarService,
    check_avatar,
    image_info,
)
from chinwag.core.contact_details import MAX_FIELDS
from chinwag.core.events import EventBus
from chinwag.storage.avatar_cache import AvatarFileCache
from chinwag.xmpp.avatars import decode_base64
from chinwag.xmpp.vcard import NS_VCARD4, parse_vcard4, parse_vcard_temp
from rig.images import png, png_header_only

ME = "me@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"


class Transport:
    """Serves pictures by hash and counts what is asked."""

    def __init__(self, pictures: dict[str, bytes]) -> None:
        self.pictures = pictures
        self.asked: list[tuple[str, str]] = []
        self.own: str | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def fetch_pep_avatar(self, jid: str, item_id: str) -> bytes | None:
        self.asked.append((jid, item_id))
        await self.release.wait()
        return self.pictures.get(item_id)

    async def fetch_vcard_photo(self, jid: str) -> bytes | None:
        self.asked.append((jid, "vcard"))
        return next(iter(self.pictures.values()), None)

    async def publish_avatar(self, data: bytes, info: AvatarInfo) -> None:
        self.pictures[info.id] = data

    async def clear_avatar(self) -> None:
        pass

    def set_own_hash(self, sha1: str | None) -> None:
        self.own = sha1


def service(tmp_path: Path, transport: Transport) -> tuple[AvatarService, list[AvatarChanged]]:
    bus = EventBus()
    seen: list[AvatarChanged] = []
    bus.subscribe(AvatarChanged, seen.append)
    return AvatarService(bus, lambda _account: transport, AvatarFileCache(tmp_path)), seen


def info(data: bytes, size: int | None = None) -> AvatarInfo:
    return AvatarInfo(
        hashlib.sha1(data).hexdigest(), len(data) if size is None else size, "image/png"
    )


async def test_one_fetch_per_hash_for_everyone_who_has_it(tmp_path: Path) -> None:
    picture = png(8, 8)
    transport = Transport({info(picture).id: picture})
    transport.release.clear()
    avatars, seen = service(tmp_path, transport)
    avatars.on_metadata(ME, BOB, [info(picture)])
    avatars.on_metadata(ME, CAROL, [info(picture)])
    avatars.on_metadata(ME, BOB, [info(picture)])  # again, while the fetch is under way
    transport.release.set()
    await avatars.drain()
    assert len(transport.asked) == 1
    assert {e.jid for e in seen} == {BOB, CAROL}
    assert avatars.path(ME, BOB) == avatars.path(ME, CAROL) == tmp_path / info(picture).id
    avatars.on_metadata(ME, BOB, [info(picture)])  # known and cached: nothing asked
    await avatars.drain()
    assert len(transport.asked) == 1

    # a restart: the index gives bob's picture back before he says anything
    again, _ = service(tmp_path, Transport({}))
    again.load()
    assert again.path(ME, BOB) == tmp_path / info(picture).id


async def test_an_avatar_announced_as_50_mb_is_never_fetched(tmp_path: Path) -> None:
    transport = Transport({})
    avatars, _seen = service(tmp_path, transport)
    huge = AvatarInfo(hashlib.sha1(b"x").hexdigest(), 50_000_000, "image/png")
    avatars.on_metadata(ME, BOB, [huge])
    await avatars.drain()
    assert transport.asked == []
    assert "50,000,000" in avatars.refused[huge.id]
    assert avatars.path(ME, BOB) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html>not a picture</html>", "not a PNG"),
        (png_header_only(60_000, 60_000) + b"\0" * 100, "60000x60000"),
        (png(8, 8) + b"\0" * MAX_AVATAR_BYTES, "limit is 1,000,000"),
    ],
)
async def test_what_is_not_an_acceptable_picture_is_refused_and_not_kept(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    announced = info(data, size=100)  # (lying about its size)
    transport = Transport({announced.id: data})
    avatars, _ = service(tmp_path, transport)
    avatars.on_metadata(ME, BOB, [announced])
    await avatars.drain()
    assert reason in avatars.refused[announced.id]
    assert avatars.path(ME, BOB) is None
    assert list(tmp_path.glob(announced.id + "*")) == []


class GatedCache(AvatarFileCache):
    """The real disk cache whose first index write waits for :attr:`gate` (when it runs
    off the loop), recording where and in which order each write starts and ends."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(root)
        self.loop = loop
        self.gate = threading.Event()
        self.first_started = asyncio.Event()
        self.calls: list[tuple[str, int]] = []
        self.loop_thread = threading.get_ident()  # (made on the loop)
        self.on_loop = 0

    def write_index(self, index: dict[str, dict[str, str]]) -> None:
        n = sum(1 for kind, _ in self.calls if kind == "start") + 1
        self.calls.append(("start", n))
        if n == 1:
            self.loop.call_soon_threadsafe(self.first_started.set)
        if threading.get_ident() == self.loop_thread:
            self.on_loop += 1  # (never blocks the loop: the test would hang, not fail)
        elif n == 1:
            assert self.gate.wait(20)
        super().write_index(index)
        self.calls.append(("end", n))


async def test_the_index_is_written_off_the_loop_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(avatars_module, "INDEX_DELAY", 0)  # (written on the next turn)
    first, second = png(8, 8), png(9, 9)
    store = GatedCache(tmp_path, asyncio.get_running_loop())
    for picture in (first, second):
        store.write(info(picture).id, picture)  # (cached: nothing to fetch)
    avatars = AvatarService(EventBus(), lambda _account: Transport({}), store)

    avatars.on_metadata(ME, BOB, [info(first)])
    await asyncio.wait_for(store.first_started.wait(), 20)
    avatars.on_metadata(ME, BOB, [info(second)])  # while the first write is under way
    # every chance for the second write to overtake: the loop turns (its timer and its
    # task), and a round trip through the thread pool it would be written on
    for _ in range(3):
        await asyncio.sleep(0)
    await asyncio.to_thread(lambda: None)
    store.gate.set()
    await avatars.drain()

    assert store.on_loop == 0
    assert store.calls == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    assert AvatarFileCache(tmp_path).read_index() == {ME: {BOB: info(second).id}}
    assert list(tmp_path.glob("index.json.*")) == []  # (no temporary file left)


def test_a_picture_must_be_the_one_announced() -> None:
    with pytest.raises(AvatarRefused, match="SHA-1"):
        check_avatar(png(4, 4), expected_sha1="0" * 40)


def test_picture_headers_are_read_without_decoding() -> None:
    assert image_info(png(30, 20)) == ("image/png", 30, 20)
    assert image_info(b"GIF89a\x10\x00\x20\x00") == ("image/gif", 16, 32)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\x30\x00\x40" + b"\0" * 10
    assert image_info(jpeg) == ("image/jpeg", 64, 48)
    assert image_info(b"RIFF\0\0\0\0WEBPVP8X" + b"\0" * 8 + b"\x3f\0\0\x1f\0\0") == (
        "image/webp",
        64,
        32,
    )
    assert image_info(b"\x89PNG\r\n\x1a\n") is None  # cut short


def test_base64_longer_than_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(AvatarRefused, match="over 1,000,000 bytes"):
        decode_base64("A" * 70_000_000)  # a 50 MB picture's base64
    with pytest.raises(AvatarRefused, match="base64"):
        decode_base64("not base64 !!!")


async def test_the_own_avatar_is_checked_published_and_announced(tmp_path: Path) -> None:
    transport = Transport({})
    avatars, seen = service(tmp_path, transport)
    picture = png(64, 64)
    sha1 = await avatars.set_own(ME, picture)
    assert transport.pictures[sha1] == picture
    assert transport.own == sha1
    assert seen[-1] == AvatarChanged(ME, ME, str(tmp_path / sha1))
    with pytest.raises(AvatarRefused, match="not a PNG"):
        await avatars.set_own(ME, b"hello")
    await avatars.clear_own(ME)
    assert transport.own == ""
    assert avatars.path(ME, ME) is None


def test_a_vcard_of_10000_fields_is_cut() -> None:
    vcard = ET.Element(f"{{{NS_VCARD4}}}vcard")
    for n in range(10_000):
        email = ET.SubElement(vcard, f"{{{NS_VCARD4}}}email")
        ET.SubElement(email, f"{{{NS_VCARD4}}}text").text = f"user{n}@example.org"
    note = ET.SubElement(vcard, f"{{{NS_VCARD4}}}note")  # beyond what is read
    ET.SubElement(note, f"{{{NS_VCARD4}}}text").text = "never seen"
    card = parse_vcard4(vcard)
    assert len(card.fields) == MAX_FIELDS
    assert card.truncated
    assert card.first("email") == "user0@example.org"
    assert card.first("note") == ""


def test_vcard_fields_of_both_kinds() -> None:
    v4 = ET.Element(f"{{{NS_VCARD4}}}vcard")
    for prop, kind, value in [
        ("fn", "text", "Bob Example"),
        ("nickname", "text", "bobby"),
        ("tel", "uri", "tel:+44-20-1234"),
        ("url", "uri", "https://bob.example"),
        ("bday", "date", "1990-02-03"),
        ("note", "text", "x" * 5000),
    ]:
        ET.SubElement(
            ET.SubElement(v4, f"{{{NS_VCARD4}}}{prop}"), f"{{{NS_VCARD4}}}{kind}"
        ).text = value
    card = parse_vcard4(v4)
    assert card.first("fn") == "Bob Example"
    assert card.first("tel") == "+44-20-1234"
    assert card.first("bday") == "1990-02-03"
    assert len(card.first("note")) == 1000
    temp = ET.Element("{vcard-temp}vCard")
    ET.SubElement(temp, "{vcard-temp}FN").text = "Old Style"
    ET.SubElement(ET.SubElement(temp, "{vcard-temp}EMAIL"), "{vcard-temp}USERID").text = "o@x.org"
    ET.SubElement(ET.SubElement(temp, "{vcard-temp}ORG"), "{vcard-temp}ORGNAME").text = "Acme"
    card = parse_vcard_temp(temp)
    assert card.fields == (("fn", "Old Style"), ("email", "o@x.org"), ("org", "Acme"))
