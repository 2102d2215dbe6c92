"""Avatars where the windows say who they are about: the conversation window's header
(:class:`HeaderAvatar`, also the user's own in the main window's status area), a room's
participants (:func:`occupant_avatar`) and desktop notifications
(:class:`NotificationImages`).

Every picture comes from :class:`~chinwag.ui.avatars.AvatarImages` (decoded off the loop,
letters until then and where there is none), so each follows ``AvatarChanged`` live. A
room occupant shows the picture of their real address only where the room tells it and
we already have that address's avatar (a contact's); else letters on their nick's
XEP-0392 colour, the colour their nick has in the history. A nick never borrows the
picture of an address it spells.

A notification server reads a file: the contact's cached picture, else their letter
avatar drawn once to a PNG in the avatar cache (encoded and written off the loop)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict

from PySide6.QtCore import QBuffer, QIODevice, QRectF, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from chinwag.core import jid as jids
from chinwag.core.models import ConversationKey, ConversationKind, Occupant
from chinwag.core.status import Status
from chinwag.ui.avatars import AvatarImages, avatar_images, initial, letter_avatar
from chinwag.ui.context import UiContext
from chinwag.ui.icons import status_icon

log = logging.getLogger(__name__)

#: The avatar beside the name in a conversation window's header (logical pixels).
HEADER_SIDE = 36
#: An occupant's avatar in a room's participant list.
OCCUPANT_SIDE = 24
#: The letter avatar drawn for notifications (pixels; the server scales it).
NOTIFICATION_SIDE = 96
#: Composed occupant pictures (avatar and presence) kept.
MAX_BADGED = 1000

_badged: OrderedDict[tuple[int, Status, int, float], QPixmap] = OrderedDict()


class HeaderAvatar(QLabel):
    """The avatar of ``jid`` as ``account`` sees it, redrawn when it changes; clickable
    once :meth:`set_action` says what a click does."""

    clicked = Signal()

    def __init__(
        self,
        ctx: UiContext,
        account: str,
        jid: str,
        parent: QWidget | None = None,
        side: int = HEADER_SIDE,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("avatar")
        self.setAccessibleName("Avatar")
        self.setFixedSize(side, side)
        self._images = avatar_images(ctx)
        self._side = side
        self.account = account
        self.jid = jid
        self.name = jid
        self._clickable = False
        self._images.changed.connect(self._on_changed)
        self.refresh()

    def set_contact(self, account: str, jid: str, name: str) -> None:
        if (account, jid, name) != (self.account, self.jid, self.name):
            self.account, self.jid, self.name = account, jid, name
            self.refresh()

    def set_name(self, name: str) -> None:
        self.set_contact(self.account, self.jid, name)

    def set_action(self, tip: str) -> None:
        """A click emits :attr:`clicked`; ``tip`` says what it does."""
        self._clickable = True
        self.setToolTip(tip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def picture_path(self) -> str:
        """The file of the picture shown once decoded; "" when it is letters."""
        return self._images.path(self.account, self.jid) if self.jid else ""

    def refresh(self) -> None:
        if not self.jid:
            self.clear()
            return
        self.setPixmap(
            self._images.pixmap(
                self.account, self.jid, self.name, self._side, self.devicePixelRatioF()
            )
        )

    def _on_changed(self, account: str, jid: str) -> None:
        if (account, jid) == (self.account, self.jid):
            self.refresh()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if (
            self._clickable
            and event.button() == Qt.MouseButton.LeftButton
            and self.rect().contains(event.position().toPoint())
        ):
            self.clicked.emit()
            return
        super().mouseReleaseEvent(event)


def occupant_avatar(
    images: AvatarImages,
    account: str,
    occupant: Occupant,
    side: int = OCCUPANT_SIDE,
    ratio: float = 1.0,
) -> QPixmap:
    """A room occupant's avatar (see the module) with their presence on its corner."""
    real = jids.bare(occupant.jid) if occupant.jid else ""
    if real and images.path(account, real):
        base = images.pixmap(account, real, occupant.nick, side, ratio)
    else:
        base = images.letters(occupant.nick, occupant.nick, side, ratio)
    return with_presence(base, Status.from_show(occupant.show), side, ratio)


def with_presence(base: QPixmap, status: Status, side: int, ratio: float = 1.0) -> QPixmap:
    """``base`` with the icon of ``status`` on its lower trailing corner (cached)."""
    key = (base.cacheKey(), status, side, ratio)
    found = _badged.get(key)
    if found is not None:
        _badged.move_to_end(key)
        return found
    made = QPixmap(base)
    made.setDevicePixelRatio(base.devicePixelRatio())
    badge = max(8, round(side * 0.45))
    painter = QPainter(made)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        at = QRectF(side - badge, side - badge, badge, badge)
        status_icon(status).paint(painter, at.toRect())
    finally:
        painter.end()
    _badged[key] = made
    if len(_badged) > MAX_BADGED:
        _badged.popitem(last=False)
    return made


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG (thread-safe: a QImage, not a QPixmap)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # (a str at run time)
    return bytes(buffer.data().data())


class NotificationImages:
    """The picture of a notification about ``jid`` (a contact or a room): see the
    module. What :class:`~chinwag.ui.notifications.Notifier` asks for each one."""

    #: Longest wait for a letter avatar to be written before notifying without it.
    TIMEOUT = 2.0

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx
        self._images = avatar_images(ctx)

    def name(self, account: str, jid: str) -> str:
        core = self._ctx.core
        if core.rooms.room(account, jid) is not None:
            title = core.conversations.title(
                ConversationKey(account, jid, ConversationKind.GROUPCHAT)
            )
            return title if title and title != jid else jid.partition("@")[0] or jid
        return core.roster.display_name(account, jid)

    async def image_path(self, account: str, jid: str) -> str:
        """A file holding the picture of ``jid``; "" when none could be made."""
        avatars = self._ctx.core.avatars
        path = avatars.path(account, jid)
        if path is not None and path.is_absolute() and path.is_file():
            return str(path)
        name = self.name(account, jid)
        key = f"{NOTIFICATION_SIDE}\n{jid}\n{initial(name)}"
        file_name = hashlib.sha1(key.encode()).hexdigest() + ".png"
        found = avatars.rendered(file_name)
        if found is not None:
            return str(found)
        image = letter_avatar(name, jid, NOTIFICATION_SIDE).toImage()
        try:
            data = await asyncio.wait_for(asyncio.to_thread(png_bytes, image), self.TIMEOUT)
            kept = await asyncio.wait_for(avatars.keep_rendered(file_name, data), self.TIMEOUT)
        except TimeoutError:
            log.info("no letter avatar for the notification about %s: too slow", jid)
            return ""
        return str(kept) if kept is not None else ""

    def icon(self, account: str, jid: str) -> QIcon:
        """For the tray's balloon: the avatar as the app already has it decoded."""
        return QIcon(self._images.pixmap(account, jid, self.name(account, jid), 64))
