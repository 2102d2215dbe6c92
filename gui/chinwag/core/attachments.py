"""Files in conversations: what an attachment is, where its transfer stands, and the
ports the file service (:mod:`chinwag.core.files`) needs -- the store of attachments
(:mod:`chinwag.storage.attachments`) and the transport that finds the upload service,
asks for slots and moves bytes (:mod:`chinwag.xmpp.http_upload`).

An attachment belongs to one message (``message_id``): an outgoing file's message is
committed before the upload starts, its body the file's name, and is sent (body the URL,
with a XEP-0066 link) once the upload is done; an incoming message with a link gets an
attachment that is downloaded only when the user (or the auto-download policy) says so.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chinwag.core.errors import ChinwagError
from chinwag.core.models import Direction


class AttachmentState(enum.StrEnum):
    """Where an attachment's transfer stands."""

    UPLOADING = "uploading"  # outgoing: the upload runs (or was interrupted: see FAILED)
    UPLOADED = "uploaded"  # outgoing: on the server; the message carries the link
    OFFERED = "offered"  # incoming: a link, not downloaded
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"  # incoming: ``local_path`` has the file
    FAILED = "failed"  # ``error`` says why; can be tried again
    CANCELLED = "cancelled"  # the user stopped it; can be tried again


class TransferFailure(enum.StrEnum):
    """Why a transfer failed (the ``reason`` of :class:`TransferError`)."""

    TOO_BIG = "too-big"  # over the upload service's limit, or our download cap
    NO_SERVICE = "no-upload-service"  # the server offers no XEP-0363 upload
    SLOT_REFUSED = "slot-refused"  # the upload service said no
    TIMEOUT = "timeout"  # no answer in time (a slot, the HTTP server)
    NETWORK = "network"  # the HTTP transfer failed (connection, TLS, status)
    NOT_SIGNED_IN = "not-signed-in"
    FILE = "file"  # the local file cannot be read or written
    INTERRUPTED = "interrupted"  # the app stopped during the transfer
    NOT_ALLOWED = "not-allowed"  # a URL we do not fetch (not https/http)


class TransferError(ChinwagError):
    """A file transfer failed; ``reason`` is a :class:`TransferFailure`."""

    def __init__(self, message: str, reason: TransferFailure) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to the message ``message_id``.

    ``size`` is 0 while unknown (an incoming link before the server said). ``local_path``
    is the file we sent, or where a download went ("" before). ``transferred`` counts the
    bytes moved by the transfer running now (not stored)."""

    message_id: int
    account: str
    direction: Direction
    name: str
    size: int
    mime: str
    url: str
    local_path: str = ""
    state: AttachmentState = AttachmentState.OFFERED
    error: str = ""
    transferred: int = 0

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def active(self) -> bool:
        return self.state in (AttachmentState.UPLOADING, AttachmentState.DOWNLOADING)


@dataclass(frozen=True, slots=True)
class UploadService:
    """A XEP-0363 upload service and its largest file (None: it does not say)."""

    jid: str
    max_size: int | None


@dataclass(frozen=True, slots=True)
class UploadSlot:
    """Where to PUT a file (with these headers) and the URL others GET it from."""

    put_url: str
    get_url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """What an HTTP server says of a URL before we fetch it (HEAD)."""

    size: int | None
    mime: str


#: Called with the bytes moved so far.
Progress = Callable[[int], None]


class AttachmentStore(Protocol):
    """Attachments, one per message (storage v9). Writes are committed when they return."""

    async def put_attachment(self, attachment: Attachment) -> None:
        """Insert or replace the attachment of ``attachment.message_id``."""

    async def set_outgoing_body(self, message_id: int, body: str, oob_url: str) -> None:
        """An uploaded file's message says its URL now (body and XEP-0066 link)."""

    def attachment(self, message_id: int) -> Attachment | None: ...

    def attachments(self, message_ids: Sequence[int]) -> dict[int, Attachment]: ...

    def unfinished_attachments(self) -> list[Attachment]:
        """Those whose transfer was running (uploading, downloading)."""


class FileTransport(Protocol):
    """XEP-0363 discovery and slots over an account's stream, and HTTP transfers with the
    certificate checks of that account. Each raises :class:`TransferError`; cancelling
    the awaiting task stops a transfer."""

    async def find_upload_service(self, account: str) -> UploadService | None: ...

    async def request_slot(
        self, account: str, service: str, name: str, size: int, mime: str
    ) -> UploadSlot: ...

    async def upload(
        self, account: str, slot: UploadSlot, path: Path, size: int, mime: str, progress: Progress
    ) -> None: ...

    async def probe(self, account: str, url: str) -> RemoteFile: ...

    async def download(
        self, account: str, url: str, destination: Path, limit: int, progress: Progress
    ) -> int:
        """Fetch ``url`` into ``destination`` (at most ``limit`` bytes: more is TOO_BIG);
        return its size."""

    async def close(self) -> None: ...
