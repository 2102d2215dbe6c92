"""Files through the real Prosody's XEP-0363 upload component (mod_http_file_share):
the core uploads and a slixmpp peer downloads, the peer uploads and the core downloads;
the server's size limit, a slot that never comes, a cancel."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from helpers import history

from chinwag.core.attachments import AttachmentState, TransferFailure
from chinwag.core.events import MessageAdded, MessageStateChanged
from chinwag.core.files import AttachmentChanged, FileService
from chinwag.core.models import ConversationKey, Direction, MessageState
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def files_of(client: Any) -> FileService:
    files = client.core.files
    assert files is not None
    return files


def make_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


async def fetch(url: str) -> bytes:
    # (the system store, which honours SSL_CERT_FILE: aiohttp's default does not)
    context = ssl.create_default_context()
    async with aiohttp.ClientSession() as session, session.get(url, ssl=context) as response:
        assert response.status == 200
        return await response.read()


async def peer_upload(peer: XmppPeer, service: str, path: Path) -> str:
    """Upload as slixmpp's XEP-0363 plugin does (its own upload_file ignores
    SSL_CERT_FILE): a slot, then a PUT."""
    data = path.read_bytes()
    slot = await peer.client.plugin["xep_0363"].request_slot(
        service, path.name, len(data), "application/pdf"
    )
    put = slot["http_upload_slot"]["put"]
    headers = {h["name"]: h["value"] for h in put["headers"]}
    headers["Content-Type"] = "application/pdf"
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            put["url"], data=data, headers=headers, ssl=ssl.create_default_context()
        ) as response,
    ):
        assert response.status in (200, 201)
    url: str = slot["http_upload_slot"]["get"]["url"]
    return url


async def test_core_uploads_and_a_peer_downloads(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    digest = make_file(tmp_path / "holiday photo.png", 300_000)
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        key = ConversationKey(alice.jid, bob.jid)
        message = await files_of(alice).send_file(key, tmp_path / "holiday photo.png")
        # committed before any upload, and held: not sent with its placeholder body
        assert message.state is MessageState.HELD
        assert message.error == ""
        assert message.body == "holiday photo.png"

        got = await bob.next_message(timeout=20)
        url = got["body"]
        oob = got.xml.find("{jabber:x:oob}x/{jabber:x:oob}url")
        assert oob is not None
        assert oob.text == url
        assert url.startswith(f"https://localhost:{prosody_files.https_port}/")
        assert hashlib.sha256(await fetch(url)).hexdigest() == digest

    done = await alice.events.wait(
        AttachmentChanged,
        lambda e: (
            e.attachment.message_id == message.id and e.attachment.state is AttachmentState.UPLOADED
        ),
    )
    assert done.attachment.url == url
    progress = [
        e.attachment.transferred
        for e in alice.events.of(AttachmentChanged)
        if e.attachment.message_id == message.id and e.attachment.transferred
    ]
    assert progress
    assert progress[-1] == 300_000
    await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.id == message.id and e.message.state is MessageState.SENT,
    )
    stored = history(alice.core, alice.jid, bob.jid)[-1]
    assert (stored.body, stored.oob_url) == (url, url)


async def test_peer_uploads_and_the_core_downloads_on_request(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    files = files_of(alice)
    files.downloads_dir = lambda: tmp_path / "downloads"
    digest = make_file(tmp_path / "report.pdf", 120_000)
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        bob.client.register_plugin("xep_0363")
        bob.client.register_plugin("xep_0066")
        url = await peer_upload(bob, prosody_files.upload_domain, tmp_path / "report.pdf")
        msg = bob.client.make_message(mto=alice.jid, mbody=url, mtype="chat")
        msg["oob"]["url"] = url
        msg.send()
        added = await alice.events.wait(MessageAdded, lambda e: e.message.oob_url == url)
    message_id = added.message.id
    assert message_id is not None
    offered = await alice.events.wait(
        AttachmentChanged, lambda e: e.attachment.message_id == message_id
    )
    # a stranger's file: offered, never fetched unasked
    assert offered.attachment.state is AttachmentState.OFFERED
    assert offered.attachment.direction is Direction.INCOMING
    assert offered.attachment.name == "report.pdf"
    assert not (tmp_path / "downloads").exists()

    await files.download(message_id)
    done = await alice.events.wait(
        AttachmentChanged,
        lambda e: (
            e.attachment.message_id == message_id
            and e.attachment.state is AttachmentState.DOWNLOADED
        ),
    )
    path = Path(done.attachment.local_path)
    assert path.parent == tmp_path / "downloads"
    assert path.name == "report.pdf"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert files.attachment(message_id) == done.attachment.__class__(
        **{**_fields(done.attachment), "transferred": 0}
    )


def _fields(attachment: Any) -> dict[str, Any]:
    return {name: getattr(attachment, name) for name in attachment.__slots__}


async def test_a_file_over_the_servers_limit_is_refused_before_uploading(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    big = tmp_path / "big.bin"
    with big.open("wb") as f:  # sparse: the size without the bytes
        f.truncate(prosody_files.file_share_size_limit + 1)
    bob, _ = prosody_files.make_user("bob")
    message = await files_of(alice).send_file(ConversationKey(alice.jid, bob), big)
    failed = await alice.events.wait(
        AttachmentChanged,
        lambda e: (
            e.attachment.message_id == message.id and e.attachment.state is AttachmentState.FAILED
        ),
    )
    assert "the server takes files up to 26.2 MB" in failed.attachment.error
    assert not [
        e for e in alice.events.of(AttachmentChanged) if e.attachment.transferred
    ]  # not a byte sent
    # the message failed too, with the upload's reason (its card offers Retry)
    not_sent = await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.id == message.id and e.message.state is MessageState.FAILED,
    )
    assert not_sent.message.error == failed.attachment.error


class _SilentSlots:
    """The real transport, but the upload service never answers a slot request."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.asked = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def request_slot(self, *args: Any) -> Any:
        self.asked.set()
        await asyncio.Event().wait()


async def test_a_slot_that_never_comes_fails_with_a_timeout(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    files = files_of(alice)
    files._transport = _SilentSlots(files._transport)  # type: ignore[assignment]
    files.slot_timeout = 0.5
    make_file(tmp_path / "a.txt", 10)
    bob, _ = prosody_files.make_user("bob")
    message = await files.send_file(ConversationKey(alice.jid, bob), tmp_path / "a.txt")
    failed = await alice.events.wait(
        AttachmentChanged,
        lambda e: (
            e.attachment.message_id == message.id and e.attachment.state is AttachmentState.FAILED
        ),
    )
    assert failed.attachment.error == "the upload service did not answer"


async def test_cancelling_an_upload_sends_nothing_and_retry_sends_it(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    files = files_of(alice)
    make_file(tmp_path / "video.bin", 4_000_000)
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        key = ConversationKey(alice.jid, bob.jid)
        started = asyncio.Event()
        alice.core.bus.subscribe(
            AttachmentChanged, lambda e: e.attachment.transferred and started.set()
        )
        message = await files.send_file(key, tmp_path / "video.bin")
        await started.wait()
        assert files.cancel(message.id or 0)
        await files.wait(message.id or 0)
        attachment = files.attachment(message.id or 0)
        assert attachment is not None
        assert attachment.state is AttachmentState.CANCELLED
        assert bob.messages.empty()

        await files.retry(message.id or 0)
        got = await bob.next_message(timeout=20)
        assert got["body"].endswith("/video.bin")


async def test_failure_reasons_are_named(prosody_files, cores: CoreMaker, tmp_path: Path) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    from chinwag.core.attachments import TransferError

    with pytest.raises(TransferError) as caught:
        await files_of(alice).send_file(
            ConversationKey(alice.jid, "bob@localhost"), tmp_path / "missing"
        )
    assert caught.value.reason is TransferFailure.FILE
