"""Files in a conversation window: the attach button, drag and drop and paste (files and
pasted images), and each file's card in the history row -- name, size, a preview for
images, progress with Cancel, and Download / Open / Retry (see ``chinwag.core.files``).

Previews are made off the event loop, in Qt's thread pool: a :class:`QImageReader` with
an allocation limit reads the image scaled at decode time (``setScaledSize``), so a
decompression bomb (a small file that claims 50,000 x 50,000 pixels) is refused from its
header, and a file that is no image gets "no preview". Previews are cached (by path, the
last 400) for every window.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    QUrl,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QFileDialog,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from chinwag.core.attachments import Attachment, AttachmentState
from chinwag.core.files import AttachmentChanged, FileService
from chinwag.core.models import ConversationKey, Direction, Message
from chinwag.ui.history_model import Role
from chinwag.ui.icons import icon
from chinwag.ui.message_delegate import MessageDelegate

log = logging.getLogger(__name__)

#: A preview's largest size.
PREVIEW = QSize(240, 160)
#: Heights of a file's card under its message: with a preview, and without.
IMAGE_CARD_HEIGHT = PREVIEW.height() + 44
FILE_CARD_HEIGHT = 52
#: QImageReader's allocation limit (MB) and the most pixels an image may claim.
ALLOCATION_LIMIT_MB = 64
MAX_PIXELS = 40_000_000
#: Previews kept.
CACHE_ENTRIES = 400

_Index = QModelIndex | QPersistentModelIndex


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def read_preview(path: str, limit: QSize = PREVIEW) -> tuple[QImage | None, str]:
    """The image at ``path`` scaled to fit ``limit`` (read scaled: never decoded whole),
    or (None, why not). Safe to run in any thread."""
    reader = QImageReader(path)
    reader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    reader.setAutoTransform(True)
    if not reader.canRead():
        return None, "not an image"
    size = reader.size()
    if not size.isValid() or size.isEmpty():
        return None, "not an image"
    if size.width() * size.height() > MAX_PIXELS:
        return None, "image too large to preview"
    scaled = size.scaled(limit, Qt.AspectRatioMode.KeepAspectRatio)
    if scaled.width() < size.width():
        reader.setScaledSize(scaled)
    image = reader.read()
    if image.isNull():
        return None, reader.errorString() or "not an image"
    return image, ""


class _Signals(QObject):
    done = Signal(str, object, str)  # key, QImage | None, why not


class _PreviewJob(QRunnable):
    def __init__(self, key: str, path: str, signals: _Signals) -> None:
        super().__init__()
        self._key = key
        self._path = path
        self._signals = signals

    def run(self) -> None:
        try:
            image, why = read_preview(self._path)
        except Exception as exc:  # (a broken codec must not take the pool's thread)
            image, why = None, str(exc)
        self._signals.done.emit(self._key, image, why)


class PreviewCache(QObject):
    """Previews by file path, made in the thread pool; ``ready``
    says when one is made (or found impossible)."""

    ready = Signal(str)  # the path

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._cache: OrderedDict[str, QPixmap | str] = OrderedDict()
        self._pending: set[str] = set()
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)

    @staticmethod
    def _key(path: str) -> str:
        return path

    def preview(self, path: str) -> QPixmap | str | None:
        """The preview, the reason there is none, or None while it is being made."""
        found = self._cache.get(path)
        if found is not None:
            self._cache.move_to_end(path)
            return found
        if path not in self._pending:
            self._pending.add(path)
            self._pool.start(_PreviewJob(path, path, self._signals))
        return None

    def pending(self) -> int:
        return len(self._pending)

    def _done(self, key: str, image: QImage | None, why: str) -> None:
        self._pending.discard(key)
        self._cache[key] = QPixmap.fromImage(image) if image is not None else (why or "no preview")
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        self.ready.emit(key)


class AttachmentDelegate(MessageDelegate):
    """The message delegate, with each file's card drawn under its message."""

    def __init__(
        self, files: FileService | None, previews: PreviewCache, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.files = files
        self.previews = previews
        #: By message id; None: it has none (until an AttachmentChanged says otherwise).
        self._attachments: dict[int, Attachment | None] = {}

    # -- what there is to draw -----------------------------------------------------------

    def update_attachment(self, attachment: Attachment) -> bool:
        """Keep the newest state; True when the message had no card before (its row
        grows)."""
        new = self._attachments.get(attachment.message_id) is None
        self._attachments[attachment.message_id] = attachment
        return new

    def attachment_of(self, message: Message | None) -> Attachment | None:
        if message is None or message.id is None or self.files is None:
            return None
        if message.direction is Direction.INCOMING and not message.oob_url:
            return None  # (a file of theirs always comes as a link)
        if message.id in self._attachments:
            return self._attachments[message.id]
        found = self._attachments[message.id] = self.files.attachment(message.id)
        return found

    @staticmethod
    def _message(index: _Index) -> Message | None:
        message = index.data(Role.MESSAGE)
        return message if isinstance(message, Message) else None

    @staticmethod
    def card_height(attachment: Attachment) -> int:
        return IMAGE_CARD_HEIGHT if attachment.is_image else FILE_CARD_HEIGHT

    def card_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRectF | None:
        """The card of the row's file (viewport coordinates), if it has one."""
        attachment = self.attachment_of(self._message(index))
        if attachment is None:
            return None
        rect = option.rect
        height = self.card_height(attachment)
        width = min(rect.width() - 24, PREVIEW.width() + 120)
        left = rect.left() + 12
        if attachment.direction is Direction.OUTGOING:
            left = rect.right() - 12 - width
        return QRectF(left, rect.bottom() - height + 2, width, height - 6)

    def button_rect(self, card: QRectF) -> QRectF:
        return QRectF(card.right() - 84, card.bottom() - 30, 76, 24)

    # -- size and painting -------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        size = super().sizeHint(option, index)
        attachment = self.attachment_of(self._message(index))
        if attachment is None:
            return size
        return QSize(size.width(), size.height() + self.card_height(attachment))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        attachment = self.attachment_of(self._message(index))
        if attachment is None:
            super().paint(painter, option, index)
            return
        inner = QStyleOptionViewItem(option)
        inner.rect = option.rect.adjusted(0, 0, 0, -self.card_height(attachment))
        super().paint(painter, inner, index)
        card = self.card_rect(option, index)
        if card is not None:
            self._paint_card(painter, option.palette, card, attachment)

    def _paint_card(
        self, painter: QPainter, palette: QPalette, card: QRectF, attachment: Attachment
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(card, 6, 6)
        text_top = card.top() + 6
        if attachment.is_image:
            area = QRectF(card.left() + 6, card.top() + 6, PREVIEW.width(), PREVIEW.height())
            path = self._preview_path(attachment)
            shown = self.previews.preview(path) if path else "no preview until downloaded"
            if isinstance(shown, QPixmap):
                target = QRectF(area.topLeft(), shown.size().toSizeF())
                painter.drawPixmap(target.toRect(), shown)
            else:
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(area, Qt.AlignmentFlag.AlignCenter, shown or "loading preview…")
            text_top = area.bottom() + 4
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        metrics = painter.fontMetrics()
        line = QRectF(card.left() + 8, text_top, card.width() - 100, metrics.height())
        painter.drawText(
            line,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(attachment.name, Qt.TextElideMode.ElideMiddle, int(line.width())),
        )
        status = QRectF(line.left(), line.bottom(), line.width(), metrics.height())
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            status,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(
                status_text(attachment), Qt.TextElideMode.ElideRight, int(status.width())
            ),
        )
        if attachment.active and attachment.size > 0:
            bar = QRectF(card.left() + 8, card.bottom() - 5, card.width() - 16, 3)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Mid))
            painter.drawRect(bar)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            done = min(1.0, attachment.transferred / attachment.size)
            painter.drawRect(QRectF(bar.left(), bar.top(), bar.width() * done, bar.height()))
        label = action_label(attachment)
        if label:
            button = self.button_rect(card)
            painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
            painter.setBrush(palette.color(QPalette.ColorRole.Button))
            painter.drawRoundedRect(button, 4, 4)
            painter.drawText(button, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    @staticmethod
    def _preview_path(attachment: Attachment) -> str:
        if (
            attachment.direction is Direction.OUTGOING
            or attachment.state is AttachmentState.DOWNLOADED
        ):
            return attachment.local_path
        return ""


def status_text(attachment: Attachment) -> str:
    size = human_size(attachment.size) if attachment.size else "size unknown"
    state = attachment.state
    if state is AttachmentState.UPLOADING:
        return f"Uploading… {human_size(attachment.transferred)} of {size}"
    if state is AttachmentState.DOWNLOADING:
        return f"Downloading… {human_size(attachment.transferred)} of {size}"
    if state is AttachmentState.FAILED:
        return f"Failed: {attachment.error}"
    if state is AttachmentState.CANCELLED:
        return f"Cancelled ({size})"
    if state is AttachmentState.UPLOADED:
        return f"Sent ({size})"
    if state is AttachmentState.DOWNLOADED:
        return f"Downloaded ({size})"
    return f"File offered ({size})"


def action_label(attachment: Attachment) -> str:
    """What the card's button does now ("" : no button)."""
    state = attachment.state
    if attachment.active:
        return "Cancel"
    if state in (AttachmentState.FAILED, AttachmentState.CANCELLED):
        return "Retry"
    if state is AttachmentState.OFFERED:
        return "Download"
    if state is AttachmentState.DOWNLOADED or (
        state is AttachmentState.UPLOADED and attachment.local_path
    ):
        return "Open"
    return ""


def local_files(mime: QMimeData) -> list[str]:
    """The local files (not folders) a drop or a paste carries."""
    if not mime.hasUrls():
        return []
    return [
        u.toLocalFile() for u in mime.urls() if u.isLocalFile() and os.path.isfile(u.toLocalFile())
    ]


class AttachmentController(QObject):
    """One window's files: its attach button, drops and pastes, clicks on the cards.

    ``view`` is the history view (its viewport gets the clicks and drops), ``compose``
    the compose box (drops and pastes), ``show_error`` the window's error bar."""

    #: A file was handed to the core (its path); for tests and the window.
    sending = Signal(str)

    def __init__(
        self,
        files: FileService | None,
        key: ConversationKey,
        delegate: AttachmentDelegate,
        view: QAbstractItemView,
        compose: QWidget,
        *,
        changed: SignalInstance,
        start: Callable[..., Any],
        show_error: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._files = files
        self._key = key
        self._delegate = delegate
        self._view = view
        self._compose = compose
        self._start = start
        self._show_error = show_error
        self.dialog: QFileDialog | None = None
        self.button = QToolButton(compose.parentWidget())
        self.button.setObjectName("attachButton")
        self.button.setText("📎")  # (shown only if the icon is missing)
        self.button.setIcon(icon("attach"))
        self.button.setAccessibleName("Attach a file")
        self.button.setToolTip("Send a file (or drop it here, or paste it)")
        self.button.setEnabled(files is not None)
        self.button.clicked.connect(self.choose)
        # (a scroll area's drops reach its viewport)
        targets = [compose, view.viewport()]
        if isinstance(compose, QAbstractScrollArea):
            targets.append(compose.viewport())
        for widget in targets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)
        delegate.previews.ready.connect(self._preview_ready)
        changed.connect(self._on_changed)

    def _preview_ready(self, _path: str) -> None:
        self._view.viewport().update()

    # -- sending ------------------------------------------------------------------------

    def choose(self) -> None:
        """The file dialog (opened, never exec'd)."""
        if self.dialog is None:
            self.dialog = QFileDialog(self._compose.window(), "Send a file")
            self.dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
            self.dialog.filesSelected.connect(self.send_files)
        self.dialog.open()

    def send_files(self, paths: list[str]) -> None:
        if self._files is None:
            return
        for path in paths:
            self.sending.emit(path)
            self._start(
                self._files.send_file(self._key, path),
                what=f"sending {Path(path).name}",
                on_error=lambda exc: self._show_error(str(exc)),
            )

    def send_image(self, image: QImage) -> None:
        """A pasted image: saved as PNG (in the pool, off the loop), then sent."""
        folder = Path(tempfile.gettempdir()) / "chinwag-pasted"
        name = time.strftime("pasted image %Y-%m-%d %H.%M.%S.png")
        target = folder / name
        signals = _Signals(self)

        def saved(_key: str, _image: object, why: str) -> None:
            if why:
                self._show_error(f"could not keep the pasted image: {why}")
            else:
                self.send_files([str(target)])
            signals.deleteLater()

        signals.done.connect(saved)

        class Save(QRunnable):
            def run(self) -> None:
                folder.mkdir(parents=True, exist_ok=True)
                ok = image.save(str(target))  # (PNG, from the name)
                signals.done.emit(str(target), None, "" if ok else "cannot write it")

        QThreadPool.globalInstance().start(Save())

    def take_mime(self, mime: QMimeData) -> bool:
        """Send what a drop or paste carries when it is files or an image."""
        files = local_files(mime)
        if files:
            self.send_files(files)
            return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.send_image(image)
                return True
        return False

    # -- the cards ------------------------------------------------------------------------

    def _on_changed(self, event: AttachmentChanged) -> None:
        if event.key != self._key:
            return
        if self._delegate.update_attachment(event.attachment):
            self._row_grew(event.attachment.message_id)
        self._view.viewport().update()

    def _row_grew(self, message_id: int) -> None:
        model = self._view.model()
        for row in range(model.rowCount() - 1, -1, -1):
            index = model.index(row, 0)
            message = index.data(Role.MESSAGE)
            if isinstance(message, Message) and message.id == message_id:
                self._delegate.sizeHintChanged.emit(index)
                return

    def act_at(self, pos: QPoint) -> bool:
        """A click on a card's button at ``pos`` (viewport coordinates)."""
        index = self._view.indexAt(pos)
        if not index.isValid() or self._files is None:
            return False
        option = QStyleOptionViewItem()
        option.rect = self._view.visualRect(index)
        card = self._delegate.card_rect(option, index)
        message = AttachmentDelegate._message(index)
        attachment = self._delegate.attachment_of(message)
        if card is None or attachment is None or not card.contains(pos.toPointF()):
            return False
        label = action_label(attachment)
        if not self._delegate.button_rect(card).contains(pos.toPointF()) and label != "Open":
            return False
        self.act(attachment, label)
        return True

    def act(self, attachment: Attachment, label: str) -> None:
        files = self._files
        if files is None:
            return
        if label == "Cancel":
            files.cancel(attachment.message_id)
        elif label == "Retry":
            self._start(files.retry(attachment.message_id), what="retrying a file")
        elif label == "Download":
            self._start(files.download(attachment.message_id), what="downloading a file")
        elif label == "Open" and attachment.local_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(attachment.local_path))

    # -- events -----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            mime = event.mimeData()
            if self._files is not None and (local_files(mime) or mime.hasImage()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            if self._files is not None and self.take_mime(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.KeyPress and watched is self._compose:
            assert isinstance(event, QKeyEvent)
            if event.matches(QKeySequence.StandardKey.Paste) and self._files is not None:
                mime = QGuiApplication.clipboard().mimeData()
                if mime is not None and (
                    local_files(mime) or (mime.hasImage() and not mime.hasText())
                ):
                    return self.take_mime(mime)
        elif kind == QEvent.Type.MouseButtonRelease and watched is self._view.viewport():
            assert isinstance(event, QMouseEvent)
            if event.button() == Qt.MouseButton.LeftButton:
                return self.act_at(event.position().toPoint())
        return False


#: One preview cache for every window.
_SHARED: list[PreviewCache] = []


def shared_previews() -> PreviewCache:
    if not _SHARED:
        _SHARED.append(PreviewCache(QGuiApplication.instance()))
    return _SHARED[0]


__all__ = [
    "AttachmentController",
    "AttachmentDelegate",
    "PreviewCache",
    "action_label",
    "read_preview",
    "shared_previews",
    "status_text",
]
