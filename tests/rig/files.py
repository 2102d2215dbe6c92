"""A file service (:class:`chinwag.core.files.FileService`) on a core's real history
database, over a transport the test drives (:class:`GatedTransport`): no server, no HTTP,
and an upload that ends when, and as, the test says."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from chinwag.core.attachments import (
    RemoteFile,
    TransferError,
    TransferFailure,
    UploadService,
    UploadSlot,
)
from chinwag.core.files import FileService
from chinwag.core.service import ChinwagCore
from chinwag.storage import SqliteMessageStore
from chinwag.storage.attachments import SqliteAttachmentStore


class GatedTransport:
    """Every upload waits for ``release`` (set it to let uploads end at once); with
    ``refuse`` set, an upload fails with it instead when released; ``service`` None: the
    server offers no upload service."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        #: Set when an upload has begun (its slot is given).
        self.uploading = asyncio.Event()
        self.service: UploadService | None = UploadService("upload.localhost", 10_000_000)
        self.refuse: TransferError | None = None
        self.uploaded: list[str] = []

    async def find_upload_service(self, account: str) -> UploadService | None:
        return self.service

    async def request_slot(
        self, account: str, service: str, name: str, size: int, mime: str
    ) -> UploadSlot:
        return UploadSlot(f"https://up.localhost/{name}", f"https://up.localhost/{name}")

    async def upload(
        self,
        account: str,
        slot: UploadSlot,
        path: Path,
        size: int,
        mime: str,
        progress: Callable[[int], None],
    ) -> None:
        self.uploading.set()
        await self.release.wait()
        if self.refuse is not None:
            raise self.refuse
        progress(size)
        self.uploaded.append(slot.get_url)

    async def probe(self, account: str, url: str) -> RemoteFile:
        raise TransferError("no downloads here", TransferFailure.NOT_ALLOWED)

    async def download(
        self, account: str, url: str, destination: Path, limit: int, progress: Callable[[int], None]
    ) -> int:
        raise TransferError("no downloads here", TransferFailure.NOT_ALLOWED)

    async def close(self) -> None:
        pass


def file_service(core: ChinwagCore, transport: GatedTransport, downloads: Path) -> FileService:
    """A file service on ``core``'s history (a :class:`SqliteMessageStore`), set as
    ``core.files`` (the core closes it when it shuts down)."""
    store = core.store
    assert isinstance(store, SqliteMessageStore)
    files = FileService(
        core.messaging,
        SqliteAttachmentStore(store.database),
        transport,
        core.bus,
        messages=store,
        is_contact=lambda _account, _jid: False,
        downloads=lambda: downloads,
    )
    core.files = files
    return files
