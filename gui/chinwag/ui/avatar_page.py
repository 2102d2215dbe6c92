"""Preferences > Avatar: the picture each account shows its contacts, chosen from a file
and published (XEP-0084, and the vCard for older clients), or removed.

A chosen picture is cropped to a centred square and scaled to :data:`PUBLISH_SIDE`
pixels on a worker thread (a photo of 40 megapixels takes a while to decode), then
published as PNG, or JPEG when the PNG would be too big for a stanza. Owns
:class:`AvatarPage`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage, QImageReader
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.avatars import MAX_PUBLISH_BYTES
from chinwag.core.errors import AvatarRefused, ChinwagError
from chinwag.ui.avatars import avatar_images
from chinwag.ui.context import UiContext
from chinwag.ui.tasks import UiTasks

#: The side of a published avatar, in pixels (XEP-0084 advises 96 to 192).
PUBLISH_SIDE = 192
#: The largest picture file read (a chosen file is decoded only once it is under this).
MAX_FILE_PIXELS = 100_000_000
PREVIEW_SIDE = 64
FILE_FILTER = "Pictures (*.png *.jpg *.jpeg *.gif *.webp *.bmp);;All files (*)"


def prepare(path: str) -> bytes:
    """The picture at ``path`` as the bytes to publish (see the module docstring).
    Blocking: run it off the loop. Raises :class:`AvatarRefused` when it is no picture."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid():
        raise AvatarRefused(f"{path} is not a picture Chinwag can read")
    if size.width() * size.height() > MAX_FILE_PIXELS:
        raise AvatarRefused(f"the picture is {size.width()}x{size.height()} pixels: too big")
    image = reader.read()
    if image.isNull():
        raise AvatarRefused(f"{path} could not be read: {reader.errorString()}")
    side = min(image.width(), image.height())
    square = image.copy((image.width() - side) // 2, (image.height() - side) // 2, side, side)
    if side > PUBLISH_SIDE:
        square = square.scaled(
            PUBLISH_SIDE,
            PUBLISH_SIDE,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    data = _encode(square, "PNG")
    if len(data) > MAX_PUBLISH_BYTES:
        data = _encode(square.convertToFormat(QImage.Format.Format_RGB32), "JPEG", 85)
    return data


def _encode(image: QImage, kind: str, quality: int = -1) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # (PySide6 takes the format as str; its stubs say bytes)
    image.save(buffer, kind, quality)  # type: ignore[call-overload]
    buffer.close()
    return bytes(array.data())


class AccountAvatar(QGroupBox):
    """One account's avatar: a preview, Choose… and Remove."""

    def __init__(self, ctx: UiContext, account: str, parent: QWidget | None = None) -> None:
        super().__init__(account, parent)
        self._ctx = ctx
        self.account = account
        self._tasks = UiTasks(self, f"the avatar of {account}")
        row = QHBoxLayout(self)
        self.preview = QLabel(self)
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAccessibleName(f"Avatar of {account}")
        row.addWidget(self.preview)
        column = QVBoxLayout()
        buttons = QHBoxLayout()
        self.choose_button = QPushButton("&Choose picture…", self)
        self.choose_button.setAccessibleName(f"Choose a picture for {account}")
        self.choose_button.clicked.connect(self.choose)
        buttons.addWidget(self.choose_button)
        self.remove_button = QPushButton("&Remove", self)
        self.remove_button.setAccessibleName(f"Remove the avatar of {account}")
        self.remove_button.clicked.connect(self.remove)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        row.addLayout(column, 1)
        avatar_images(ctx).changed.connect(self._on_changed)
        self.refresh()

    def refresh(self) -> None:
        images = avatar_images(self._ctx)
        has = bool(images.path(self.account, self.account))
        name = self.account.partition("@")[0]
        self.preview.setPixmap(
            images.pixmap(self.account, self.account, name, PREVIEW_SIDE, self.devicePixelRatioF())
        )
        self.remove_button.setEnabled(has)

    def _on_changed(self, account: str, jid: str) -> None:
        if account == jid == self.account:
            self.refresh()

    def choose(self) -> QFileDialog:
        """Ask for a file (not modal); the one chosen is published."""
        dialog = QFileDialog(self, f"Choose the avatar of {self.account}", "", FILE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.use_file)
        dialog.open()
        return dialog

    def use_file(self, path: str) -> None:
        """Prepare ``path`` off the loop and publish it."""
        self._busy("Publishing…")
        failed, done = self._ends()
        self._tasks.start(
            self._publish(path), what="publishing the avatar", on_error=failed, on_done=done
        )

    def remove(self) -> None:
        self._busy("Removing…")
        failed, done = self._ends()
        self._tasks.start(
            self._ctx.core.avatars.clear_own(self.account),
            what="removing the avatar",
            on_error=failed,
            on_done=done,
        )

    async def _publish(self, path: str) -> None:
        data = await asyncio.to_thread(prepare, path)
        await self._ctx.core.avatars.set_own(self.account, data)

    def _busy(self, text: str) -> None:
        self.status.setText(text)
        self.choose_button.setEnabled(False)
        self.remove_button.setEnabled(False)

    def _ends(
        self,
    ) -> tuple[Callable[[BaseException], None], Callable[[asyncio.Task[None]], None]]:
        def failed(error: BaseException) -> None:
            reason = str(error) if isinstance(error, ChinwagError) else "something went wrong"
            self.status.setText(f"Not changed: {reason}.")

        def done(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is None:
                self.status.setText("Done: your contacts see it now.")
            self.choose_button.setEnabled(True)
            self.refresh()

        return failed, done


class AvatarPage(QWidget):
    """Preferences > Avatar: one :class:`AccountAvatar` per account."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Avatar")
        layout = QVBoxLayout(self)
        intro = QLabel(
            "The picture your contacts see next to your name. Without one, they see "
            "the first letter of your name on a colour of its own.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.accounts: dict[str, AccountAvatar] = {}
        for config in ctx.core.accounts.accounts:
            box = AccountAvatar(ctx, config.jid, self)
            self.accounts[config.jid] = box
            layout.addWidget(box)
        if not self.accounts:
            layout.addWidget(QLabel("Add an account first (Accounts…).", self))
        layout.addStretch(1)
