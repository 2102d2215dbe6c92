"""Files in conversations (XEP-0363 upload, XEP-0066 links): send a file, receive one.

Sending (:meth:`FileService.send_file`), one-to-one or to a room:

1. the message is committed first, its body the file's name, *held* (state HELD: no
   outbox flush and no restart sends it early; it shows as being sent), then its
   attachment (state ``uploading``);
2. the upload service is found (disco, cached per stream); a file over its
   ``max-file-size`` fails at once (``too-big``), no service fails ``no-upload-service``;
3. a slot is asked for (at most :attr:`FileService.slot_timeout` seconds: ``timeout``),
   the file PUT there with progress (:class:`AttachmentChanged` events) and a cancel
   (:meth:`FileService.cancel`);
4. the message's body becomes the URL with a XEP-0066 link, and it is released: sent
   (queued when signed out: the outbox sends it); in a room we are no longer in it
   fails instead.

An upload that fails or is cancelled fails its message too, with the upload's reason
(the file's card says how the upload ended and offers Retry). An interrupted upload
(the app stopped) is ``failed``/``interrupted`` on the next start (:meth:`FileService.start`),
and so is its message; a message held with no upload running (the app stopped between
committing it and its attachment) fails then with :data:`NEVER_UPLOADED`, and one whose
file was uploaded but that was not released yet is released. :meth:`FileService.retry`
holds the message again and uploads again.

Receiving: a message with a link gets an attachment (``offered``). Nothing is fetched
from strangers (not in the roster), nor in rooms. From contacts, an image whose server
says it is at most :attr:`FileService.auto_image_limit` (5 MB) is fetched at once.
Everything else waits for :meth:`FileService.download`: into the downloads folder, the
name sanitised (no folders, no hidden or control characters, never overwriting), at
most :attr:`FileService.max_download` bytes (100 MB: a 200 MB offer fails ``too-big``
without being fetched beyond that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import stat as stat_mode
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from chinwag.core.attachments import (
    Attachment,
    AttachmentState,
    AttachmentStore,
    FileTransport,
    TransferError,
    TransferFailure,
    UploadService,
)
from chinwag.core.events import (
    AccountRemoved,
    AttachmentChanged,
    ConnectionStateChanged,
    EventBus,
    MessageAdded,
    MessageRemoved,
)
from chinwag.core.messaging import MessagingService
from chinwag.core.models import (
    ConnectionState,
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    MessageState,
    Origin,
)
from chinwag.core.ports import MessageStore
from chinwag.core.tasks import BackgroundTasks

log = logging.getLogger(__name__)

__all__ = ["AttachmentChanged", "FileService", "safe_name", "unique_path"]

#: Why a transfer the app stopped in the middle of failed.
INTERRUPTED = "the app stopped during the transfer"
#: Why a held message with no upload at all failed (see the module docstring).
NEVER_UPLOADED = "the app stopped before its file was uploaded"
#: Why a file's message whose upload was cancelled was not sent.
UPLOAD_CANCELLED = "the upload of its file was cancelled"
#: Why a file's message whose account was removed while its file uploaded was not sent.
ACCOUNT_REMOVED = "its account was removed before its file was uploaded"
#: The largest file downloaded (bytes).
MAX_DOWNLOAD = 100 * 1024 * 1024
#: Images from contacts up to this size are fetched without asking.
AUTO_IMAGE_LIMIT = 5 * 1024 * 1024
#: Automatic downloads at once (a caught-up archive may hold many images).
AUTO_DOWNLOADS_AT_ONCE = 2
SLOT_TIMEOUT = 45.0
DISCOVERY_TIMEOUT = 30.0
ONLINE_TIMEOUT = 120.0
#: The longest file name kept (characters, before the extension's).
MAX_NAME_CHARS = 120
#: Progress events at most every this many bytes (and at each state change).
PROGRESS_STEP = 256 * 1024


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that is a plain name in one folder: no path separators, no control
    characters, not hidden (no leading dot), not ``..``, at most MAX_NAME_CHARS."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if len(ext) > 16:
        stem, ext = name, ""
    stem = stem[:MAX_NAME_CHARS].strip()
    if not stem:
        return fallback + (f".{ext}" if ext else "")
    return stem + (f".{ext}" if ext else "")


def name_from_url(url: str) -> str:
    path = urlsplit(url).path
    return safe_name(unquote(path.rsplit("/", 1)[-1]))


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2).ext`` ... when taken."""
    candidate = folder / name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while candidate.exists() or candidate.with_name(candidate.name + ".part").exists():
        candidate = folder / (f"{stem} ({n})" + (f".{ext}" if ext else ""))
        n += 1
    return candidate


def guess_mime(name: str) -> str:
    import mimetypes  # (here: imported with the first file, not at start)

    mime, _ = mimetypes.guess_type(name, strict=False)
    return mime or "application/octet-stream"


class FileService:
    """Sends and receives files; see the module docstring."""

    def __init__(
        self,
        messaging: MessagingService,
        store: AttachmentStore,
        transport: FileTransport,
        bus: EventBus,
        *,
        messages: MessageStore,
        is_contact: Callable[[str, str], bool],
        downloads: Callable[[], Path],
    ) -> None:
        self._messaging = messaging
        self._messages = messages
        self._store = store
        self._transport = transport
        self._bus = bus
        self._is_contact = is_contact
        #: Where downloads go (the user's downloads folder).
        self.downloads_dir = downloads
        self.max_download = MAX_DOWNLOAD
        self.auto_image_limit = AUTO_IMAGE_LIMIT
        self.auto_download = True
        self.slot_timeout = SLOT_TIMEOUT
        self.discovery_timeout = DISCOVERY_TIMEOUT
        #: How long an upload waits for its account to sign in.
        self.online_timeout = ONLINE_TIMEOUT
        #: The running transfer of each attachment (by message id).
        self._running: dict[int, asyncio.Task[None]] = {}
        self._keys: dict[int, ConversationKey] = {}
        self._auto = asyncio.Semaphore(AUTO_DOWNLOADS_AT_ONCE)
        self._tasks = BackgroundTasks("file transfer")
        #: Settling what a run before left (:meth:`start`): once, before anything else.
        self._recovery: asyncio.Future[None] | None = None
        #: Shutting down: a transfer cancelled now was interrupted, not cancelled.
        self._closing = False
        #: Why a running upload is stopped, when not by the user (by message id).
        self._stopped_why: dict[int, str] = {}
        #: Uploads a retry is starting (from its checks to its task): one at a time.
        self._retrying: set[int] = set()
        self._unsubscribes = [
            bus.subscribe(MessageAdded, self._on_message),
            bus.subscribe(MessageRemoved, self._on_removed),
            bus.subscribe(AccountRemoved, self._on_account_removed),
        ]

    # -- the state of things ------------------------------------------------------------

    def attachment(self, message_id: int) -> Attachment | None:
        found = self._store.attachment(message_id)
        return self._as_seen(found) if found is not None else None

    def attachments(self, message_ids: list[int]) -> dict[int, Attachment]:
        return {i: self._as_seen(a) for i, a in self._store.attachments(message_ids).items()}

    def _as_seen(self, attachment: Attachment) -> Attachment:
        """A transfer stored as running that no task runs was stopped by the app's end."""
        if attachment.active and attachment.message_id not in self._running:
            return replace(attachment, state=AttachmentState.FAILED, error=INTERRUPTED)
        return attachment

    async def _recover(self) -> None:
        """Settle what a run before left, once; every call waits for it (a file sent
        meanwhile is not taken for one the app stopped in the middle of)."""
        if self._recovery is None:
            self._recovery = asyncio.ensure_future(self._settle())
        recovery = self._recovery
        try:
            await asyncio.shield(recovery)
        except Exception:
            if self._recovery is recovery:  # (tried again by the next call)
                self._recovery = None
            log.exception("settling the transfers a run before left failed")

    async def start(self) -> None:
        """What the app stopped in the middle of is settled (the app calls this on start;
        the first transfer does too): transfers stored as running fail (``interrupted``:
        they can be retried), and so do the messages of those uploads; a message held
        with no upload at all fails (:data:`NEVER_UPLOADED`), one whose file was
        uploaded is released (the outbox sends it)."""
        await self._recover()

    async def _settle(self) -> None:
        for attachment in self._store.unfinished_attachments():
            if attachment.message_id in self._running:
                continue
            if attachment.state is AttachmentState.DOWNLOADING and attachment.local_path:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(Path(attachment.local_path + ".part").unlink)
            await self._store.put_attachment(
                replace(
                    attachment,
                    state=AttachmentState.FAILED,
                    error=INTERRUPTED,
                    local_path=attachment.local_path
                    if attachment.direction is Direction.OUTGOING
                    else "",
                )
            )
        for message in self._messages.held_outgoing():
            if message.id is None or message.id in self._running:
                continue
            found = self._store.attachment(message.id)
            if (
                found is not None
                and found.state is AttachmentState.UPLOADED
                and not message.removed
            ):
                await self._messaging.retry(message)  # (its body is its link already)
            else:
                await self._messaging.fail_held(message, _why_not_sent(found))

    async def close(self) -> None:
        self._closing = True
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        for task in list(self._running.values()):
            task.cancel()
        await self._tasks.drain()
        await self._transport.close()

    def _publish(self, key: ConversationKey, attachment: Attachment) -> None:
        self._bus.publish(AttachmentChanged(key, attachment))

    async def _save(self, key: ConversationKey, attachment: Attachment) -> Attachment:
        await self._store.put_attachment(attachment)
        self._publish(key, attachment)
        return attachment

    # -- sending ------------------------------------------------------------------------

    async def send_file(
        self, key: ConversationKey, path: str | Path, *, connect: bool = False, flags: int = 0
    ) -> Message:
        """Commit a message with the file at ``path`` and start uploading it; returns the
        message (its attachment follows in :class:`AttachmentChanged` events).

        Raises :class:`TransferError` (``file``) when it is no readable file, and what
        :meth:`MessagingService.send` raises (unknown account, not signed in, ...)."""
        await self._recover()
        try:
            source = await asyncio.to_thread(lambda: Path(path).expanduser().resolve())
            stat = await asyncio.to_thread(source.stat)
            readable = await asyncio.to_thread(_readable, source)
        except OSError as exc:
            raise TransferError(
                f"cannot read {path}: {exc.strerror or exc}", TransferFailure.FILE
            ) from exc
        if not stat_mode.S_ISREG(stat.st_mode) or not readable:
            raise TransferError(f"{source} is no file that can be read", TransferFailure.FILE)
        name = safe_name(source.name)
        message = await self._messaging.send(
            key.account, key.peer, name, kind=key.kind, held=True, connect=connect, flags=flags
        )
        assert message.id is not None
        attachment = Attachment(
            message_id=message.id,
            account=key.account,
            direction=Direction.OUTGOING,
            name=name,
            size=stat.st_size,
            mime=guess_mime(name),
            url="",
            local_path=str(source),
            state=AttachmentState.UPLOADING,
        )
        await self._save(key, attachment)
        self._start(key, attachment, self._upload(key, message, attachment))
        return message

    async def retry(self, message_id: int) -> None:
        """Transfer again a failed or cancelled attachment (upload or download)."""
        await self._recover()
        attachment = self._store.attachment(message_id)
        if attachment is None or attachment.active or self._busy(message_id):
            return
        if attachment.direction is Direction.INCOMING:
            await self.download(message_id)
            return
        if attachment.state is AttachmentState.UPLOADED:
            return
        message = self._message(message_id)
        if message is None or message_id in self._retrying:
            return  # (a retry of it is starting: Retry twice is one upload)
        self._retrying.add(message_id)
        try:
            if message.state is MessageState.FAILED:  # (as its upload left it)
                held = await self._messaging.hold(message)
                if held is None or self._busy(message_id):
                    return
                message = held
            elif message.state is not MessageState.HELD:
                return  # (sent, or on its way)
            key = message.key
            attachment = await self._save(
                key, replace(attachment, state=AttachmentState.UPLOADING, error="", transferred=0)
            )
            self._start(key, attachment, self._upload(key, message, attachment))
        finally:
            self._retrying.discard(message_id)

    def cancel(self, message_id: int) -> bool:
        """Stop the transfer of that attachment (True when one was running)."""
        task = self._running.get(message_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def wait(self, message_id: int) -> None:
        """Until the transfer of that attachment (if any) has ended."""
        task = self._running.get(message_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    def _busy(self, message_id: int) -> bool:
        """A transfer of that attachment runs (one that has just ended does not, though
        its task's end is not yet told)."""
        task = self._running.get(message_id)
        return task is not None and not task.done()

    def _message(self, message_id: int) -> Message | None:
        return self._messages.get_by_id(message_id)

    def _start(self, key: ConversationKey, attachment: Attachment, coro: object) -> None:
        task = self._tasks.spawn(coro)  # type: ignore[arg-type]
        self._running[attachment.message_id] = task
        self._keys[attachment.message_id] = key

        def ended(_task: asyncio.Task[object]) -> None:
            if self._running.get(attachment.message_id) is task:
                del self._running[attachment.message_id]
                self._stopped_why.pop(attachment.message_id, None)  # (a download's)

        task.add_done_callback(ended)

    def _progress(self, key: ConversationKey, attachment: Attachment) -> Callable[[int], None]:
        last = [0]

        def report(done: int) -> None:
            if done - last[0] >= PROGRESS_STEP or done >= attachment.size > 0:
                last[0] = done
                self._publish(key, replace(attachment, transferred=done))

        return report

    async def _upload(self, key: ConversationKey, message: Message, attachment: Attachment) -> None:
        account = key.account
        try:
            service = await self._find_service(account)
            if service is None:
                raise TransferError(
                    "the server of this account offers no file upload",
                    TransferFailure.NO_SERVICE,
                )
            if service.max_size is not None and attachment.size > service.max_size:
                raise TransferError(
                    f"{attachment.name} is {_size(attachment.size)}; the server takes files "
                    f"up to {_size(service.max_size)}",
                    TransferFailure.TOO_BIG,
                )
            try:
                slot = await asyncio.wait_for(
                    self._transport.request_slot(
                        account, service.jid, attachment.name, attachment.size, attachment.mime
                    ),
                    self.slot_timeout,
                )
            except TimeoutError as exc:
                raise TransferError(
                    "the upload service did not answer", TransferFailure.TIMEOUT
                ) from exc
            await self._transport.upload(
                account,
                slot,
                Path(attachment.local_path),
                attachment.size,
                attachment.mime,
                self._progress(key, attachment),
            )
            await self._store.set_outgoing_body(attachment.message_id, slot.get_url, slot.get_url)
            await self._save(
                key,
                replace(attachment, url=slot.get_url, state=AttachmentState.UPLOADED, error=""),
            )
        except asyncio.CancelledError:
            await self._save(key, replace(attachment, state=AttachmentState.CANCELLED, error=""))
            why = self._stopped_why.pop(attachment.message_id, "") or (
                INTERRUPTED if self._closing else UPLOAD_CANCELLED
            )
            await self._messaging.fail_held(message, why)
            return
        except TimeoutError:
            error = TransferError("no answer in time", TransferFailure.TIMEOUT)
        except TransferError as exc:
            error = exc
        except Exception as exc:  # (a bug must not leave it "uploading" for good)
            log.exception("upload of %s failed", attachment.name)
            error = TransferError(str(exc), TransferFailure.NETWORK)
        else:
            await self._messaging.release(message)
            return
        await self._failed(key, attachment, error)
        await self._messaging.fail_held(message, str(error))

    async def _find_service(self, account: str) -> UploadService | None:
        """The upload service; signed out (a script's message signs the account in),
        after waiting up to :attr:`online_timeout` for the sign-in."""
        try:
            return await asyncio.wait_for(
                self._transport.find_upload_service(account), self.discovery_timeout
            )
        except TransferError as exc:
            if exc.reason is not TransferFailure.NOT_SIGNED_IN:
                raise
        online = asyncio.Event()

        def changed(event: ConnectionStateChanged) -> None:
            if event.account == account and event.state is ConnectionState.ONLINE:
                online.set()

        unsubscribe = self._bus.subscribe(ConnectionStateChanged, changed)
        try:
            await asyncio.wait_for(online.wait(), self.online_timeout)
        except TimeoutError as exc:
            raise TransferError(
                f"{account} did not sign in to upload the file", TransferFailure.NOT_SIGNED_IN
            ) from exc
        finally:
            unsubscribe()
        return await asyncio.wait_for(
            self._transport.find_upload_service(account), self.discovery_timeout
        )

    async def _failed(
        self, key: ConversationKey, attachment: Attachment, exc: TransferError
    ) -> None:
        log.info("%s: transfer of %s failed: %s", attachment.account, attachment.name, exc)
        await self._save(key, replace(attachment, state=AttachmentState.FAILED, error=str(exc)))

    # -- receiving ----------------------------------------------------------------------

    def _on_removed(self, event: MessageRemoved) -> None:
        """Our file's message taken back while its file uploads: the upload stops (the
        message is not sent: see :meth:`MessagingService.release`)."""
        message = event.message
        if message.outgoing and message.id is not None:
            self.cancel(message.id)

    def _on_account_removed(self, event: AccountRemoved) -> None:
        """The account's transfers stop: its files' messages are not sent (were the
        account added again, its outbox would send what the user gave up with it)."""
        for message_id, key in list(self._keys.items()):
            if key.account == event.account and self._busy(message_id):
                self._stopped_why[message_id] = ACCOUNT_REMOVED
                self.cancel(message_id)

    def _on_message(self, event: MessageAdded) -> None:
        message = event.message
        if not message.oob_url or message.id is None or message.origin is Origin.LOCAL:
            return
        name = name_from_url(message.oob_url)
        attachment = Attachment(
            message_id=message.id,
            account=message.account,
            direction=message.direction,
            name=name,
            size=0,
            mime=guess_mime(name),
            url=message.oob_url,
        )
        self._tasks.spawn(self._offered(message, attachment))

    async def _offered(self, message: Message, attachment: Attachment) -> None:
        key = message.key
        if self._store.attachment(attachment.message_id) is not None:
            return  # (the same message again)
        await self._save(key, attachment)
        if self._may_fetch_unasked(message, attachment):
            self._start(key, attachment, self._auto_fetch(key, attachment))

    def _may_fetch_unasked(self, message: Message, attachment: Attachment) -> bool:
        if not self.auto_download or not attachment.is_image:
            return False
        if message.kind is not ConversationKind.CHAT:
            return False  # (a room's occupants are not our contacts)
        if message.direction is Direction.OUTGOING:
            return True  # our own, from another device
        return self._is_contact(message.account, message.peer)

    async def _auto_fetch(self, key: ConversationKey, attachment: Attachment) -> None:
        async with self._auto:
            try:
                remote = await self._transport.probe(attachment.account, attachment.url)
            except TransferError as exc:
                log.info("not fetching %s: %s", attachment.url, exc)
                return
            if remote.size is not None:
                attachment = await self._save(key, replace(attachment, size=remote.size))
            if (
                remote.size is None
                or remote.size > self.auto_image_limit
                or not remote.mime.startswith("image/")
            ):
                return  # (the user may still fetch it)
            await self._download(key, attachment, self.auto_image_limit)

    async def download(self, message_id: int) -> None:
        """Fetch an offered (or failed, cancelled) file into the downloads folder."""
        await self._recover()
        attachment = self._store.attachment(message_id)
        if attachment is None or not attachment.url or self._busy(message_id):
            return
        message = self._message(message_id)
        key = message.key if message is not None else self._keys.get(message_id)
        if key is None:
            return
        self._start(key, attachment, self._download(key, attachment, self.max_download))

    async def _download(self, key: ConversationKey, attachment: Attachment, limit: int) -> None:
        if attachment.size > limit:
            await self._failed(
                key,
                attachment,
                TransferError(
                    f"{attachment.name} is {_size(attachment.size)}, more than the "
                    f"{_size(limit)} downloaded",
                    TransferFailure.TOO_BIG,
                ),
            )
            return
        part: Path | None = None
        try:
            folder = self.downloads_dir()
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            target = await asyncio.to_thread(unique_path, folder, safe_name(attachment.name))
            part = target.with_name(target.name + ".part")
            attachment = await self._save(
                key,
                replace(
                    attachment,
                    state=AttachmentState.DOWNLOADING,
                    error="",
                    local_path=str(target),
                    transferred=0,
                ),
            )
            size = await self._transport.download(
                attachment.account,
                attachment.url,
                part,
                limit,
                self._progress(key, attachment),
            )
            await asyncio.to_thread(part.replace, target)
            part = None
            await self._save(
                key,
                replace(attachment, state=AttachmentState.DOWNLOADED, size=size, transferred=size),
            )
        except asyncio.CancelledError:
            await self._save(
                key, replace(attachment, state=AttachmentState.CANCELLED, local_path="")
            )
        except TransferError as exc:
            await self._failed(key, replace(attachment, local_path=""), exc)
        except OSError as exc:
            await self._failed(
                key,
                replace(attachment, local_path=""),
                TransferError(f"cannot save the file: {exc.strerror or exc}", TransferFailure.FILE),
            )
        finally:
            if part is not None:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(part.unlink, True)


def _why_not_sent(attachment: Attachment | None) -> str:
    """Why a held message whose upload is not running (on start) will not be sent."""
    if attachment is None or attachment.direction is not Direction.OUTGOING:
        return NEVER_UPLOADED
    if attachment.state is AttachmentState.CANCELLED:
        return UPLOAD_CANCELLED
    return attachment.error or INTERRUPTED


def _readable(path: Path) -> bool:
    with path.open("rb"):
        return True


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"
