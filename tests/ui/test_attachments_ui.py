"""Files in the conversation window (pytest-qt): the attach button and drops send the
file through the core, the card under the message shows the upload and its Cancel works
by clicking it, an incoming file's card downloads on click; previews are made off the
loop, and an image that is not one, or a decompression bomb, gets no preview."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from chinwag.core.attachments import (
    AttachmentState,
    RemoteFile,
    TransferError,
    TransferFailure,
    UploadService,
    UploadSlot,
)
from chinwag.core.files import UPLOAD_CANCELLED, FileService
from chinwag.core.models import Direction, Message, MessageState
from chinwag.storage.attachments import SqliteAttachmentStore
from chinwag.ui.attachments import (
    PREVIEW,
    AttachmentController,
    PreviewCache,
    action_label,
    read_preview,
)
from chinwag.ui.history_model import Role


class SlowTransport:
    """Uploads wait for ``release``; downloads write ``content``."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.uploading = asyncio.Event()
        self.content = b"downloaded bytes"

    async def find_upload_service(self, account: str) -> UploadService | None:
        return UploadService("upload.localhost", 1_000_000)

    async def request_slot(
        self, account: str, service: str, name: str, size: int, mime: str
    ) -> UploadSlot:
        return UploadSlot(f"https://up/{name}", f"https://up/{name}")

    async def upload(
        self, account: str, slot: UploadSlot, path: Path, size: int, mime: str, progress: Any
    ) -> None:
        progress(size // 2)
        self.uploading.set()
        await self.release.wait()
        progress(size)

    async def probe(self, account: str, url: str) -> RemoteFile:
        return RemoteFile(len(self.content), "text/plain")

    async def download(
        self, account: str, url: str, destination: Path, limit: int, progress: Any
    ) -> int:
        if len(self.content) > limit:
            raise TransferError("too big", TransferFailure.TOO_BIG)
        destination.write_bytes(self.content)
        progress(len(self.content))
        return len(self.content)

    async def close(self) -> None:
        pass


@pytest.fixture
def files(ui: Any, tmp_path: Path) -> tuple[FileService, SlowTransport]:
    transport = SlowTransport()
    service = FileService(
        ui.core.messaging,
        SqliteAttachmentStore(ui.store.database),
        transport,
        ui.core.bus,
        messages=ui.store,
        is_contact=lambda _a, _j: False,
        downloads=lambda: tmp_path / "downloads",
    )
    ui.core.files = service
    return service, transport


def card_button_center(window: Any, message_id: int) -> QPoint:
    view = window.history_view
    model = window.model
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        message = index.data(Role.MESSAGE)
        if isinstance(message, Message) and message.id == message_id:
            view.scrollTo(index)
            option = QStyleOptionViewItem()
            option.rect = view.visualRect(index)
            card = window.delegate.card_rect(option, index)
            assert card is not None
            return window.delegate.button_rect(card).center().toPoint()
    raise AssertionError(f"no row for message {message_id}")


async def test_attach_then_cancel_from_the_card(
    ui: Any, conversation_window: Any, files: Any, qtbot: Any, tmp_path: Path
) -> None:
    _service, transport = files
    await ui.sign_in()
    window = await conversation_window()
    button = window.attachments.button
    assert button.isEnabled()
    assert button.accessibleName() == "Attach a file"
    path = tmp_path / "notes.txt"
    path.write_text("x" * 600_000)
    with qtbot.waitSignal(window.attachments.sending):
        window.attachments.send_files([str(path)])
    await asyncio.wait_for(transport.uploading.wait(), 10)
    message = window.model.index(window.model.rowCount() - 1, 0).data(Role.MESSAGE)
    assert message.body == "notes.txt"
    attachment = window.delegate.attachment_of(message)
    await ui.until(lambda: window.delegate.attachment_of(message).transferred == 300_000)
    assert action_label(window.delegate.attachment_of(message)) == "Cancel"
    assert attachment.direction is Direction.OUTGOING

    qtbot.mouseClick(
        window.history_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=card_button_center(window, message.id),
    )
    await ui.until(
        lambda: window.delegate.attachment_of(message).state is AttachmentState.CANCELLED
    )
    assert action_label(window.delegate.attachment_of(message)) == "Retry"
    assert ui.connections[-1].sent == []  # nothing went out
    await ui.until(lambda: ui.store.get_by_id(message.id).state is MessageState.FAILED)
    assert ui.store.get_by_id(message.id).error == UPLOAD_CANCELLED


async def test_a_dropped_file_is_sent(
    ui: Any, conversation_window: Any, files: Any, qtbot: Any, tmp_path: Path
) -> None:
    _service, transport = files
    transport.release.set()
    await ui.sign_in()
    window = await conversation_window()
    path = tmp_path / "dropped.bin"
    path.write_bytes(b"123")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    target = window.compose.viewport()
    QApplication.sendEvent(target, enter)  # (Qt sends a drop only to where one entered)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.attachments.sending) as signal:
        QApplication.sendEvent(target, drop)
    assert signal.args == [str(path)]
    await ui.until(lambda: bool(ui.connections[-1].sent))
    sent = ui.connections[-1].sent[-1]
    assert (sent.body, sent.oob_url) == ("https://up/dropped.bin", "https://up/dropped.bin")


async def test_an_incoming_file_downloads_on_click(
    ui: Any, conversation_window: Any, files: Any, qtbot: Any, tmp_path: Path
) -> None:
    _service, _transport = files
    conn = await ui.sign_in()
    window = await conversation_window()
    url = "https://files.example/x/report.txt"
    conn.receive(url, oob_url=url)

    def incoming() -> Message | None:
        for row in range(window.model.rowCount()):
            m = window.model.index(row, 0).data(Role.MESSAGE)
            if isinstance(m, Message) and m.oob_url == url:
                return m
        return None

    await ui.until(
        lambda: incoming() is not None and window.delegate.attachment_of(incoming()) is not None
    )
    message = incoming()
    assert action_label(window.delegate.attachment_of(message)) == "Download"
    assert not (tmp_path / "downloads").exists()  # a stranger's: not fetched unasked
    qtbot.mouseClick(
        window.history_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=card_button_center(window, message.id),
    )
    await ui.until(
        lambda: window.delegate.attachment_of(message).state is AttachmentState.DOWNLOADED
    )
    assert (tmp_path / "downloads" / "report.txt").read_bytes() == b"downloaded bytes"


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_previews_are_scaled_and_bad_images_refused(qapp: Any, tmp_path: Path) -> None:
    big = QImage(1200, 900, QImage.Format.Format_RGB32)
    big.fill(QColor("red"))
    assert big.save(str(tmp_path / "big.png"))
    image, why = read_preview(str(tmp_path / "big.png"))
    assert why == ""
    assert image is not None
    assert image.width() <= PREVIEW.width()
    assert image.height() <= PREVIEW.height()

    (tmp_path / "fake.png").write_text("I am no image")
    assert read_preview(str(tmp_path / "fake.png")) == (None, "not an image")

    (tmp_path / "bomb.png").write_bytes(_png_header(50_000, 50_000))
    assert read_preview(str(tmp_path / "bomb.png")) == (None, "image too large to preview")


def test_the_preview_cache_works_off_the_loop(qtbot: Any, tmp_path: Path) -> None:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("blue"))
    image.save(str(tmp_path / "a.png"))
    cache = PreviewCache()
    with qtbot.waitSignal(cache.ready, timeout=5000):
        assert cache.preview(str(tmp_path / "a.png")) is None  # being made
    shown = cache.preview(str(tmp_path / "a.png"))
    assert not isinstance(shown, str)
    assert shown is not None
    assert shown.size().width() == 64
    (tmp_path / "b.png").write_text("nope")
    with qtbot.waitSignal(cache.ready, timeout=5000):
        cache.preview(str(tmp_path / "b.png"))
    assert cache.preview(str(tmp_path / "b.png")) == "not an image"
    assert AttachmentController is not None


async def test_a_pasted_image_is_saved_and_sent(
    ui: Any, conversation_window: Any, files: Any, qtbot: Any
) -> None:
    _service, transport = files
    transport.release.set()
    await ui.sign_in()
    window = await conversation_window()
    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("green"))
    mime = QMimeData()
    mime.setImageData(image)
    QApplication.clipboard().setMimeData(mime)
    sent: list[str] = []
    window.attachments.sending.connect(sent.append)
    qtbot.keyClick(window.compose, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    await ui.until(lambda: sent, what="the pasted image to be sent")
    assert sent[0].endswith(".png")
    assert QImage(sent[0]).size() == image.size()
    assert window.compose.text() == ""  # not pasted as text
    await ui.until(lambda: bool(ui.connections[-1].sent))
    assert ui.connections[-1].sent[-1].oob_url.endswith(".png")


async def test_while_its_file_uploads_a_message_shows_as_being_sent_not_failed(
    ui: Any, conversation_window: Any, files: Any, tmp_path: Path
) -> None:
    """The message is held (nothing sends it early) while its file goes up: the window
    shows it as on its way, the card tells the upload, and the message's own "Retry
    sending" is not offered."""
    from chinwag.ui.message_delegate import _STATE_LABEL, MessageDelegate, _row

    _service, transport = files
    await ui.sign_in()
    window = await conversation_window()
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF" + b"x" * 1000)
    window.attachments.send_files([str(path)])
    await asyncio.wait_for(transport.uploading.wait(), 10)
    index = window.model.index(window.model.rowCount() - 1, 0)
    message = index.data(Role.MESSAGE)
    assert message.state is MessageState.HELD
    assert _row(index).state is MessageState.HELD
    assert _row(index).error == ""
    assert MessageDelegate.state_label(index) == _STATE_LABEL[MessageState.QUEUED]
    tip = str(index.data(Qt.ItemDataRole.ToolTipRole))
    assert "Not sent" not in tip
    assert "its file is being uploaded" in tip
    menu = window.message_menu(index)
    labels = [action.text() for action in menu.actions()]
    assert "&Retry sending" not in labels
    # nothing to correct: not sent yet, and its text becomes the file's link
    assert "&Edit" not in labels
    assert "Re&move for everyone\u2026" in labels
    menu.deleteLater()
    assert not window.edit_last()  # (Up in the empty box)
    assert window.editing is None
    transport.release.set()
    await ui.until(lambda: ui.store.get_by_id(message.id).state is MessageState.QUEUED)
    # (the store says QUEUED a moment before the message is handed to the connection)
    await ui.until(lambda: ui.connections[-1].sent, what="the message sent")
    assert ui.connections[-1].sent[-1].body == "https://up/report.pdf"
    # sent, a file's message still is no text to edit (that would replace its link)
    index = window.model.index(window.model.rowCount() - 1, 0)
    menu = window.message_menu(index)
    assert "&Edit" not in [action.text() for action in menu.actions()]
    menu.deleteLater()
    assert not window.edit_last()
    # a text message after it is editable as ever
    await window.send_text("see the report")
    assert window.edit_last()
    assert window.editing is not None
    assert window.editing.body == "see the report"


async def test_a_message_whose_upload_failed_retries_its_upload_not_its_placeholder(
    ui: Any, conversation_window: Any, files: Any, tmp_path: Path
) -> None:
    """A cancelled upload fails its message ("Not sent", with why); its "Retry sending"
    uploads the file again, then sends the link: never the bare file name."""
    from chinwag.ui.message_delegate import _STATE_LABEL, MessageDelegate

    service, transport = files
    await ui.sign_in()
    window = await conversation_window()
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF" + b"x" * 1000)
    window.attachments.send_files([str(path)])
    await asyncio.wait_for(transport.uploading.wait(), 10)
    index = window.model.index(window.model.rowCount() - 1, 0)
    message = index.data(Role.MESSAGE)
    assert service.cancel(message.id)
    await ui.until(lambda: ui.store.get_by_id(message.id).state is MessageState.FAILED)
    await service.wait(message.id)
    index = window.model.index(window.model.rowCount() - 1, 0)
    assert MessageDelegate.state_label(index) == _STATE_LABEL[MessageState.FAILED]
    assert f"Not sent: {UPLOAD_CANCELLED}" in str(index.data(Qt.ItemDataRole.ToolTipRole))
    menu = window.message_menu(index)
    (retry,) = [a for a in menu.actions() if a.text() == "&Retry sending"]
    transport.release.set()
    retry.trigger()
    menu.deleteLater()
    await ui.until(lambda: ui.store.get_by_id(message.id).state is MessageState.QUEUED)
    await ui.until(lambda: ui.connections[-1].sent, what="the message sent")
    assert [m.body for m in ui.connections[-1].sent] == ["https://up/report.pdf"]
