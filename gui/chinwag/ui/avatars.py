"""Avatars as pictures for the windows: the contact's own (from the core's disk cache,
decoded and scaled on a worker thread, never on the loop) or, where they have none, a
letter avatar: the first letter of their name on a disc of their XEP-0392 colour (from
the bare address, so it is the same in every window, every run and in other clients
that follow the XEP, Gajim and Dino among them).

One :class:`AvatarImages` per window context (:func:`avatar_images`), so each picture is
decoded once whoever shows it; ``changed(account, jid)`` says when one should be drawn
again."""

from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QImage, QImageReader, QPainter, QPainterPath, QPixmap

from chinwag.core.avatars import MAX_AVATAR_SIDE, AvatarService
from chinwag.core.events import AvatarChanged
from chinwag.ui.bridge import EventBridge
from chinwag.ui.nick_colors import nick_color

if TYPE_CHECKING:
    from chinwag.ui.context import UiContext

log = logging.getLogger(__name__)

#: Pictures are decoded to at most this size (pixels a side): enough for a HiDPI header.
DECODE_SIDE = 128
#: Scaled pixmaps kept (a contact list of hundreds at two sizes).
MAX_PIXMAPS = 2000


def initial(name: str) -> str:
    """The letter a letter avatar shows: the first letter or digit of ``name``."""
    for char in name:
        if char.isalnum():
            return char.upper()
    return "?"


def letter_avatar(name: str, jid: str, side: int, ratio: float = 1.0) -> QPixmap:
    """A disc of ``jid``'s XEP-0392 colour with the first letter of ``name``."""
    pixels = max(1, round(side * ratio))
    pixmap = QPixmap(pixels, pixels)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(nick_color(jid))
        painter.drawEllipse(QRectF(0, 0, side, side))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, round(side * 0.5)))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, initial(name))
    finally:
        painter.end()
    return pixmap


def round_picture(image: QImage, side: int, ratio: float = 1.0) -> QPixmap:
    """``image`` cropped to a centred square, scaled to ``side`` and cut to a disc."""
    pixels = max(1, round(side * ratio))
    square = min(image.width(), image.height())
    cropped = image.copy(
        (image.width() - square) // 2, (image.height() - square) // 2, square, square
    ).scaled(
        pixels,
        pixels,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        path = QPainterPath()
        path.addEllipse(QRectF(0, 0, pixels, pixels))
        painter.setClipPath(path)
        painter.drawImage(0, 0, cropped)
    finally:
        painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def decode(path: str, side: int = DECODE_SIDE) -> QImage:
    """The picture at ``path`` scaled down to at most ``side`` a side; a null image when
    it cannot be read or is bigger than the core lets through (checked from its header,
    before decoding). Thread-safe: QImage, not QPixmap."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or max(size.width(), size.height()) > MAX_AVATAR_SIDE:
        return QImage()
    if max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        log.info("avatar %s could not be read: %s", path, reader.errorString())
    return image


class _Done(QObject):
    decoded = Signal(str, QImage)


class _Decode(QRunnable):
    def __init__(self, path: str, done: _Done) -> None:
        super().__init__()
        self._path = path
        self._done = done

    def run(self) -> None:
        self._done.decoded.emit(self._path, decode(self._path))


class AvatarImages(QObject):
    """Pixmaps of avatars, real or letter, for every window (see the module)."""

    #: (account, jid): their avatar is to be drawn again.
    changed = Signal(str, str)

    def __init__(
        self, avatars: AvatarService, bridge: EventBridge | None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._avatars = avatars
        self._images: dict[str, QImage] = {}
        self._loading: dict[str, set[tuple[str, str]]] = {}
        self._pixmaps: OrderedDict[tuple[str, str, str, int, float], QPixmap] = OrderedDict()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._done = _Done(self)
        self._done.decoded.connect(self._on_decoded)
        if bridge is not None:
            bridge.avatars_changed.connect(self._on_changed)

    def path(self, account: str, jid: str) -> str:
        found = self._avatars.path(account, jid)
        return str(found) if found is not None else ""

    def pixmap(self, account: str, jid: str, name: str, side: int, ratio: float = 1.0) -> QPixmap:
        """The avatar of ``jid`` at ``side`` logical pixels: their picture once decoded,
        letters until then (and where they have none)."""
        path = self.path(account, jid)
        image = self._images.get(path) if path else None
        if path and image is None:
            self._load(path, account, jid)
        source = path if image is not None and not image.isNull() else ""
        key = (source or f"letters:{jid}", name if not source else "", jid, side, ratio)
        found = self._pixmaps.get(key)
        if found is not None:
            self._pixmaps.move_to_end(key)
            return found
        if image is not None and not image.isNull():
            made = round_picture(image, side, ratio)
        else:
            made = letter_avatar(name or jid, jid, side, ratio)
        self._pixmaps[key] = made
        if len(self._pixmaps) > MAX_PIXMAPS:
            self._pixmaps.popitem(last=False)
        return made

    def letters(self, name: str, color_key: str, side: int, ratio: float = 1.0) -> QPixmap:
        """A letter avatar of ``name`` on the XEP-0392 colour of ``color_key`` (a room
        occupant: their nick, as their nick is coloured in the history), cached with
        the pictures. Never a picture: a nick is not an address whose avatar to show."""
        key = (f"letters-of:{color_key}", name, color_key, side, ratio)
        found = self._pixmaps.get(key)
        if found is not None:
            self._pixmaps.move_to_end(key)
            return found
        made = self._pixmaps[key] = letter_avatar(name or color_key, color_key, side, ratio)
        if len(self._pixmaps) > MAX_PIXMAPS:
            self._pixmaps.popitem(last=False)
        return made

    def size_hint(self, side: int) -> QSize:
        return QSize(side, side)

    def _load(self, path: str, account: str, jid: str) -> None:
        waiting = self._loading.get(path)
        if waiting is not None:
            waiting.add((account, jid))
            return
        self._loading[path] = {(account, jid)}
        self._pool.start(_Decode(path, self._done))

    def _on_decoded(self, path: str, image: QImage) -> None:
        self._images[path] = image
        for account, jid in self._loading.pop(path, set()):
            self.changed.emit(account, jid)

    def _on_changed(self, event: object) -> None:
        if isinstance(event, AvatarChanged):
            self.changed.emit(event.account, event.jid)

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Wait for decodes under way (shutdown, tests)."""
        return self._pool.waitForDone(msecs)


_by_context: weakref.WeakKeyDictionary[UiContext, AvatarImages] = weakref.WeakKeyDictionary()


def avatar_images(context: UiContext) -> AvatarImages:
    """The :class:`AvatarImages` of a window context (a
    :class:`~chinwag.ui.context.UiContext`), made on first use."""
    found = _by_context.get(context)
    if found is None:
        found = _by_context[context] = AvatarImages(context.core.avatars, context.bridge)
    return found
