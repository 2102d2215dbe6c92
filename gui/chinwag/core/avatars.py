"""Avatars: which picture each contact (and the user) has, fetched by hash only when the
hash is new, kept on disk by SHA-1 and announced on the bus.

Two ways a contact says they have one: XEP-0084 (PEP: ``urn:xmpp:avatar:metadata``
pushes with the SHA-1, size and type of the picture, the data in its own node) and
XEP-0153 (the SHA-1 of the vCard's PHOTO in every presence). A contact who publishes
XEP-0084 metadata is taken at their word there; their vCard hash is then ignored.

Untrusted input: a picture announced as bigger than :data:`MAX_AVATAR_BYTES` is never
fetched; what arrives is refused when it is bigger, is not a PNG, JPEG, GIF or WebP
(read from its header: :func:`image_info`), is wider or taller than
:data:`MAX_AVATAR_SIDE` (a decompression bomb is a small file of huge dimensions), or
does not hash to what was announced. Hashing and the header check run off the loop;
decoding and scaling belong to whoever draws it (the UI, off its loop too).

Letter avatars (XEP-0392 colour, first letter of the name) are the UI's to draw where
:meth:`AvatarService.path` gives None."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from chinwag.core.errors import AvatarRefused, ChinwagError, NotConnected
from chinwag.core.events import AvatarChanged, EventBus
from chinwag.core.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: The biggest avatar fetched or kept (bytes of the encoded picture).
MAX_AVATAR_BYTES = 1_000_000
#: The biggest side of an avatar in pixels, read from its header before anything decodes
#: it (XEP-0084 advises 96 to 192; clients publish up to 1024 in practice).
MAX_AVATAR_SIDE = 1024
#: The biggest own avatar published: a stanza carries it base64-encoded, and servers cap
#: stanzas (Prosody: 256 KiB); the preferences scale a chosen picture well under this.
MAX_PUBLISH_BYTES = 150_000
#: Fetches under way at once (a roster of 500 signing in does not send 500 requests).
MAX_CONCURRENT_FETCHES = 4
#: Seconds between a change and writing the index (changes in between: one write).
INDEX_DELAY = 2.0
#: XEP-0153 hashes remembered as standing for another picture (see ``_aliases``).
MAX_ALIASES = 1000
#: Types accepted, as their MIME types.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True, slots=True)
class AvatarInfo:
    """One picture of XEP-0084 metadata (``<info/>``): its SHA-1 (the item id), size in
    bytes, type and dimensions (0: not said). ``url``: held elsewhere (not fetched)."""

    id: str
    bytes: int
    type: str
    width: int = 0
    height: int = 0
    url: str = ""


class AvatarTransport(Protocol):
    """What the XMPP side does for avatars (:class:`chinwag.xmpp.avatars.AvatarFeature`)."""

    async def fetch_pep_avatar(self, jid: str, item_id: str) -> bytes | None:
        """The data of ``jid``'s XEP-0084 avatar ``item_id``; None when there is none.
        Raises :class:`AvatarRefused` for data over :data:`MAX_AVATAR_BYTES`."""

    async def fetch_vcard_photo(self, jid: str) -> bytes | None:
        """The PHOTO of ``jid``'s vCard (XEP-0153); None when there is none."""

    async def publish_avatar(self, data: bytes, info: AvatarInfo) -> None:
        """Publish our avatar (XEP-0084, and the vCard where the server does not)."""

    async def clear_avatar(self) -> None:
        """Publish that we have no avatar."""

    def set_own_hash(self, sha1: str | None) -> None:
        """The hash our presences announce (XEP-0153); None: not known yet."""


@runtime_checkable
class HasAvatars(Protocol):
    """A connection that does avatars (the real one does; test fakes may not)."""

    @property
    def avatars(self) -> AvatarTransport: ...


@runtime_checkable
class AvatarListener(Protocol):
    """What a connection reports about avatars (the account session forwards it)."""

    def on_avatar_metadata(self, jid: str, infos: Sequence[AvatarInfo]) -> None:
        """XEP-0084 metadata of ``jid`` (bare); empty: they have none."""

    def on_avatar_hash(self, jid: str, sha1: str) -> None:
        """XEP-0153 hash in a presence of ``jid`` (bare); "": they have none."""


class AvatarStore(Protocol):
    """The disk cache (:class:`chinwag.storage.avatar_cache.AvatarFileCache`). Its
    methods block: the service calls them off the loop, except :meth:`path`."""

    def path(self, sha1: str) -> Path | None:
        """The cached picture of ``sha1``; None when not cached."""

    def write(self, sha1: str, data: bytes) -> Path: ...

    def read_index(self) -> dict[str, dict[str, str]]: ...

    def write_index(self, index: dict[str, dict[str, str]]) -> None: ...

    def rendered_path(self, name: str) -> Path | None:
        """A picture the app drew and kept (``<sha1>.png``); None when not kept."""

    def write_rendered(self, name: str, data: bytes) -> Path: ...


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """The MIME type, width and height of a PNG, JPEG, GIF or WebP read from its header
    (nothing is decoded); None when ``data`` is none of them or its header is broken."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return "image/png", w, h
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return "image/gif", w, h
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_info(data)
        if data[:2] == b"\xff\xd8":
            return _jpeg_info(data)
    except (struct.error, IndexError):
        return None
    return None


def _webp_info(data: bytes) -> tuple[str, int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return "image/webp", w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return "image/webp", w, h
    if chunk == b"VP8X":
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return "image/webp", w, h
    return None


def _jpeg_info(data: bytes) -> tuple[str, int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # Start of frame (baseline, progressive, ...): not DHT (C4), JPG (C8), DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return "image/jpeg", w, h
        i += 2 + length
    return None


def check_avatar(data: bytes, expected_sha1: str = "", limit: int = MAX_AVATAR_BYTES) -> str:
    """The SHA-1 of ``data`` once it passes every check of the module docstring; raises
    :class:`AvatarRefused` saying which failed. Blocking (hashing): run it off the loop."""
    if len(data) > limit:
        raise AvatarRefused(f"the picture is {len(data):,} bytes; the limit is {limit:,}")
    info = image_info(data)
    if info is None:
        raise AvatarRefused("the picture is not a PNG, JPEG, GIF or WebP image")
    _, width, height = info
    if not (0 < width <= MAX_AVATAR_SIDE and 0 < height <= MAX_AVATAR_SIDE):
        raise AvatarRefused(
            f"the picture is {width}x{height} pixels; the limit is "
            f"{MAX_AVATAR_SIDE}x{MAX_AVATAR_SIDE}"
        )
    sha1 = hashlib.sha1(data).hexdigest()
    if expected_sha1 and sha1 != expected_sha1.lower():
        raise AvatarRefused("the picture is not the one announced (its SHA-1 differs)")
    return sha1


def pick(infos: Sequence[AvatarInfo]) -> AvatarInfo | None:
    """The picture to fetch from XEP-0084 metadata: held in PEP (no url), of a type we
    take; PNG first (the one every publisher must offer)."""
    usable = [i for i in infos if not i.url and i.type in IMAGE_TYPES and i.id]
    usable.sort(key=lambda i: i.type != "image/png")
    return usable[0] if usable else None


class AvatarService:
    """Every account's idea of who has which avatar (see the module docstring)."""

    def __init__(
        self,
        bus: EventBus,
        transport: Callable[[str], AvatarTransport | None],
        store: AvatarStore | None = None,
    ) -> None:
        self._bus = bus
        self._transport = transport
        self._store = store
        #: (account, jid) -> SHA-1 of their avatar ("" : none).
        self._hashes: dict[tuple[str, str], str] = {}
        #: Contacts who publish XEP-0084 metadata: their vCard hash is not used.
        self._pep: set[tuple[str, str]] = set()
        #: SHA-1 -> the picture, when no disk store is given (tests, headless tools).
        self._memory: dict[str, Path] = {}
        #: Hashes being fetched, and who waits for each.
        self._waiting: dict[str, set[tuple[str, str]]] = {}
        #: (account, jid) -> the hash they announced last: a fetch answering after they
        #: announced another is not shown (nor done, if it has not started yet).
        self._wanted: dict[tuple[str, str], str] = {}
        #: XEP-0153 hash announced -> SHA-1 of the vCard PHOTO it turned out to be (a
        #: client hashing something else): the PHOTO is not fetched again per presence.
        self._aliases: dict[str, str] = {}
        #: Hashes refused once (not asked for again in this run).
        self.refused: dict[str, str] = {}
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)
        self._tasks = BackgroundTasks("fetching an avatar")
        self._index_dirty = False
        self._index_handle: asyncio.TimerHandle | None = None
        #: Index writes (on a thread each, one after the other) and the latest of them.
        self._index_writes = BackgroundTasks("writing the avatar index")
        self._last_index_write: asyncio.Task[None] | None = None

    # -- reading ------------------------------------------------------------------------

    def load(self) -> None:
        """Who had which avatar last time (the cache index): offline contacts keep
        their picture. A small file, read once at start-up."""
        if self._store is None:
            return
        try:
            index = self._store.read_index()
        except (OSError, ValueError) as exc:
            log.warning("the avatar index could not be read: %s", exc)
            return
        for account, people in index.items():
            for jid, sha1 in people.items():
                if isinstance(sha1, str):
                    self._hashes[(account, jid)] = sha1

    def hash(self, account: str, jid: str) -> str:
        return self._hashes.get((account, jid), "")

    def path(self, account: str, jid: str) -> Path | None:
        """The picture of ``jid``'s avatar on disk; None: none known (draw letters)."""
        sha1 = self._hashes.get((account, jid))
        if not sha1:
            return None
        if self._store is None:
            return self._memory.get(sha1)
        return self._store.path(sha1)

    # -- what contacts announce ---------------------------------------------------------

    def on_metadata(self, account: str, jid: str, infos: Sequence[AvatarInfo]) -> None:
        self._pep.add((account, jid))
        chosen = pick(infos)
        self._wanted[(account, jid)] = chosen.id.lower() if chosen is not None else ""
        if chosen is None:
            if infos:
                log.info("%s: no avatar of %s we can use (%s)", account, jid, infos)
            self._set(account, jid, "")
            return
        if chosen.bytes > MAX_AVATAR_BYTES:
            reason = f"announced as {chosen.bytes:,} bytes (limit {MAX_AVATAR_BYTES:,})"
            log.warning("%s: avatar of %s refused: %s", account, jid, reason)
            self.refused[chosen.id] = reason
            self._set(account, jid, "")
            return
        self._want(account, jid, chosen.id.lower(), pep=True)

    def on_vcard_hash(self, account: str, jid: str, sha1: str) -> None:
        if (account, jid) in self._pep:
            return
        self._wanted[(account, jid)] = sha1.lower()
        alias = self._aliases.get(sha1.lower())
        if alias is not None and self.cached(alias) is not None:
            self._set(account, jid, alias)
            return
        if not sha1:
            self._set(account, jid, "")
            return
        self._want(account, jid, sha1.lower(), pep=False)

    def _want(self, account: str, jid: str, sha1: str, *, pep: bool) -> None:
        if sha1 == self._hashes.get((account, jid)) and self.path(account, jid) is not None:
            return
        if self.cached(sha1) is not None:
            self._set(account, jid, sha1)
            return
        if sha1 in self.refused:
            self._set(account, jid, "")
            return
        waiting = self._waiting.get(sha1)
        if waiting is not None:
            waiting.add((account, jid))
            return
        self._waiting[sha1] = {(account, jid)}
        self._tasks.spawn(self._fetch(account, jid, sha1, pep))

    def cached(self, sha1: str) -> Path | None:
        if self._store is None:
            return self._memory.get(sha1)
        return self._store.path(sha1)

    async def _fetch(self, account: str, jid: str, sha1: str, pep: bool) -> None:
        try:
            async with self._limit:
                if not self._still_wanted(sha1):
                    return  # (announced, then replaced before its turn came)
                transport = self._transport(account)
                if transport is None:
                    return
                data = await (
                    transport.fetch_pep_avatar(jid, sha1)
                    if pep
                    else transport.fetch_vcard_photo(jid)
                )
                if data is None:
                    log.info("%s: %s announced avatar %s but has none", account, jid, sha1)
                    return
                # (the vCard's hash is what the presence said; XEP-0084's must match)
                actual = await asyncio.to_thread(check_avatar, data, sha1 if pep else "")
                await self._keep(actual, data)
                if actual != sha1:
                    if len(self._aliases) >= MAX_ALIASES:
                        self._aliases.pop(next(iter(self._aliases)))
                    self._aliases[sha1] = actual
        except AvatarRefused as exc:
            log.warning("%s: avatar of %s refused: %s", account, jid, exc)
            self.refused[sha1] = str(exc)
            actual = ""
        except ChinwagError as exc:  # refused, timed out, gone offline: next announcement
            log.info("%s: avatar of %s not fetched: %s", account, jid, exc)
            return
        finally:
            waiting = self._waiting.pop(sha1, set())
        for who in waiting:
            if self._wanted.get(who) == sha1:
                self._set(*who, actual)

    def _still_wanted(self, sha1: str) -> bool:
        return any(self._wanted.get(who) == sha1 for who in self._waiting.get(sha1, ()))

    async def _keep(self, sha1: str, data: bytes) -> Path:
        if self._store is None:
            path = Path(f"memory:{sha1}")
            self._memory[sha1] = path
            return path
        return await asyncio.to_thread(self._store.write, sha1, data)

    def _set(self, account: str, jid: str, sha1: str) -> None:
        key = (account, jid)
        before = self._hashes.get(key)
        self._hashes[key] = sha1
        if account == jid:
            transport = self._transport(account)
            if transport is not None:
                transport.set_own_hash(sha1)
        if before == sha1:
            return
        self._save_index()
        path = self.path(account, jid)
        self._bus.publish(AvatarChanged(account, jid, str(path) if path else ""))

    # -- the user's own -----------------------------------------------------------------

    async def set_own(self, account: str, data: bytes) -> str:
        """Publish ``data`` (PNG, JPEG, GIF or WebP) as the account's avatar; returns its
        SHA-1. Raises :class:`AvatarRefused` (too big, not a picture) or the
        connection's error (not signed in, refused)."""
        sha1 = await asyncio.to_thread(check_avatar, data, "", MAX_PUBLISH_BYTES)
        info = image_info(data)
        assert info is not None  # (checked)
        mime, width, height = info
        transport = self._need(account)
        await transport.publish_avatar(data, AvatarInfo(sha1, len(data), mime, width, height))
        await self._keep(sha1, data)
        self._pep.add((account, account))
        self._set(account, account, sha1)
        return sha1

    async def clear_own(self, account: str) -> None:
        await self._need(account).clear_avatar()
        self._set(account, account, "")

    def _need(self, account: str) -> AvatarTransport:
        transport = self._transport(account)
        if transport is None:
            raise NotConnected(f"{account} is not signed in")
        return transport

    # -- pictures the app draws ---------------------------------------------------------

    def rendered(self, name: str) -> Path | None:
        """A picture kept by :meth:`keep_rendered` (a stat, no read); None: not kept, or
        no disk cache."""
        return self._store.rendered_path(name) if self._store is not None else None

    async def keep_rendered(self, name: str, data: bytes) -> Path | None:
        """Keep a picture the UI drew (a letter avatar as a PNG, for a notification
        server that reads files) as ``name`` (``<sha1>.png``), written off the loop;
        None without a disk cache or when it cannot be written."""
        if self._store is None:
            return None
        try:
            return await asyncio.to_thread(self._store.write_rendered, name, data)
        except (OSError, ValueError) as exc:
            log.warning("a rendered avatar could not be kept: %s", exc)
            return None

    # -- the index ----------------------------------------------------------------------

    def _save_index(self) -> None:
        """Write the index soon, once for a burst of changes (a roster signing in)."""
        if self._store is None:
            return
        self._index_dirty = True
        if self._index_handle is None:
            # (no loop: a synchronous test; written at drain)
            with contextlib.suppress(RuntimeError):
                self._index_handle = asyncio.get_running_loop().call_later(
                    INDEX_DELAY, self._write_index
                )

    def _index(self) -> dict[str, dict[str, str]]:
        index: dict[str, dict[str, str]] = {}
        for (account, jid), sha1 in self._hashes.items():
            if sha1:
                index.setdefault(account, {})[jid] = sha1
        return index

    def _write_index(self) -> None:
        """Write the index as it is now, off the loop: a copy taken here (the loop's
        state, never read from the thread), written on a thread after the write before
        it has landed, so two quick updates land in the order they were made. The file
        is replaced whole (written to a temporary name, synced and renamed: a crash
        leaves the old index or the new one)."""
        self._index_handle = None
        store = self._store
        if not self._index_dirty or store is None:
            return
        self._index_dirty = False
        index = self._index()
        previous = self._last_index_write

        async def in_order() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # (its failure is its own, logged)
            try:
                await asyncio.to_thread(store.write_index, index)
            except OSError as exc:
                log.warning("the avatar index could not be written: %s", exc)

        self._last_index_write = self._index_writes.spawn(in_order())

    async def drain(self) -> None:
        await self._tasks.drain()
        if self._index_handle is not None:
            self._index_handle.cancel()
        self._write_index()
        await self._index_writes.drain()
