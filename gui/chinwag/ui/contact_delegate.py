"""How one row of the contact list is painted.

Owns :class:`ContactDelegate`: a contact row shows its presence icon, its name, its status
message on a second, dimmed line and a badge with its unread count; a group row is a
header with the group's name and "online/total". Every colour comes from the palette the
view is given, so the list follows the system's light or dark theme. All rows have one
height (the view uses ``uniformRowHeights`` so that thousands of rows lay out in no time).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from chinwag.core.status import Status
from chinwag.ui.avatars import AvatarImages
from chinwag.ui.icons import icon, status_icon
from chinwag.ui.roster_model import RosterRole

Index = QModelIndex | QPersistentModelIndex

PADDING = 4  # around and between the parts of a row, in pixels
ICON_SIZE = 16
DIM_ALPHA = 150  # of 255: the status message and offline names, readable on any theme
MAX_BADGE = 99  # more unread than this reads "99+"


def _dimmed(color: QColor) -> QColor:
    dim = QColor(color)
    dim.setAlpha(DIM_ALPHA)
    return dim


class ContactDelegate(QStyledItemDelegate):
    """Paints contacts and group headers of a :class:`~chinwag.ui.roster_model.RosterModel`
    (directly or through a proxy). With ``avatars``, a contact row starts with its
    avatar (the picture, or letters), the presence icon on its corner."""

    def __init__(self, parent: QObject | None = None, avatars: AvatarImages | None = None) -> None:
        super().__init__(parent)
        self.avatars = avatars

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        # Two text lines for every row: the view lays rows out with uniform heights, and
        # a list whose rows jump in height when a status message appears reads badly.
        fm = QFontMetrics(option.font)
        height = max(2 * fm.height(), ICON_SIZE) + 3 * PADDING
        return QSize(ICON_SIZE + 12 * fm.averageCharWidth(), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        # Background, selection, hover and focus as the style draws them; no text or icon.
        opt.text = ""
        opt.features = QStyleOptionViewItem.ViewItemFeature.None_
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        try:
            self._paint_row(painter, opt, index)
        finally:
            painter.restore()

    def _paint_row(self, painter: QPainter, opt: QStyleOptionViewItem, index: Index) -> None:
        """The row's own content, over the style's background (the painter is restored)."""
        if index.data(RosterRole.IS_GROUP):
            self._paint_group(painter, opt, index)
        else:
            self._paint_contact(painter, opt, index)

    # -- parts -------------------------------------------------------------------------------

    @staticmethod
    def _colors(opt: QStyleOptionViewItem) -> tuple[QColor, QColor]:
        state = opt.state
        palette: QPalette = opt.palette
        if not state & QStyle.StateFlag.State_Enabled:
            group = QPalette.ColorGroup.Disabled
        elif state & QStyle.StateFlag.State_Active:
            group = QPalette.ColorGroup.Active
        else:
            group = QPalette.ColorGroup.Inactive
        selected = bool(state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text = palette.color(group, role)
        return text, _dimmed(text)

    @staticmethod
    def _content_rect(opt: QStyleOptionViewItem) -> QRect:
        rect: QRect = opt.rect
        return rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)

    def _paint_badge(
        self, painter: QPainter, opt: QStyleOptionViewItem, area: QRect, count: int
    ) -> int:
        """The unread badge at the trailing end of ``area``; returns the width it took."""
        if count <= 0:
            return 0
        palette: QPalette = opt.palette
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text = f"{MAX_BADGE}+" if count > MAX_BADGE else str(count)
        # Highlight on the normal row, inverted on a selected one, so it always stands out.
        back = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
        )
        fore = palette.color(
            QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.HighlightedText
        )
        return self._paint_pill(painter, opt, area, text, back, fore)

    def _paint_pill(
        self,
        painter: QPainter,
        opt: QStyleOptionViewItem,
        area: QRect,
        text: str,
        back: QColor,
        fore: QColor,
        *,
        outlined: bool = False,
    ) -> int:
        """``text`` in bold on a rounded ``back`` (outlined in ``fore`` if asked) at the
        trailing end of ``area``; returns the width it took."""
        font = QFont(opt.font)
        font.setBold(True)
        fm = QFontMetrics(font)
        height = fm.height() + 2
        width = max(height, fm.horizontalAdvance(text) + 2 * PADDING + 2)
        rect = QRect(area.right() - width + 1, area.center().y() - height // 2, width, height)
        rect = QStyle.visualRect(opt.direction, opt.rect, rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if outlined:
            painter.setPen(fore)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(back)
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(fore)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        return width + PADDING

    def _paint_group(self, painter: QPainter, opt: QStyleOptionViewItem, index: Index) -> None:
        text_color, dim_color = self._colors(opt)
        area = self._content_rect(opt)
        online = index.data(RosterRole.ONLINE_COUNT) or 0
        total = index.data(RosterRole.TOTAL_COUNT) or 0
        view = opt.widget
        collapsed = view is not None and hasattr(view, "isExpanded") and not view.isExpanded(index)
        # A collapsed group still tells that someone in it wrote.
        unread = (index.data(RosterRole.UNREAD) or 0) if collapsed else 0
        badge = self._paint_badge(painter, opt, area, unread)
        area.setRight(area.right() - badge)
        font = QFont(opt.font)
        font.setBold(True)
        fm = QFontMetrics(font)
        count = f"{online}/{total}"
        count_width = QFontMetrics(opt.font).horizontalAdvance(count)
        name_width = max(0, area.width() - count_width - 2 * PADDING)
        name = fm.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, name_width)
        direction = opt.direction
        align = QStyle.visualAlignment(
            direction, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        name_rect = QRect(area.left(), area.top(), fm.horizontalAdvance(name), area.height())
        painter.setFont(font)
        painter.setPen(text_color)
        painter.drawText(QStyle.visualRect(direction, opt.rect, name_rect), align, name)
        count_rect = QRect(name_rect.right() + 2 * PADDING, area.top(), count_width, area.height())
        painter.setFont(opt.font)
        painter.setPen(dim_color)
        painter.drawText(QStyle.visualRect(direction, opt.rect, count_rect), align, count)

    def _paint_avatar(
        self,
        painter: QPainter,
        opt: QStyleOptionViewItem,
        index: Index,
        area: QRect,
        presence: QIcon,
    ) -> int:
        """The avatar at the leading end of ``area`` with ``presence`` on its lower
        trailing corner; returns where the text starts."""
        assert self.avatars is not None
        side = area.height()
        widget = opt.widget
        ratio = widget.devicePixelRatioF() if widget is not None else 1.0
        pixmap = self.avatars.pixmap(
            str(index.data(RosterRole.ACCOUNT) or ""),
            str(index.data(RosterRole.JID) or ""),
            str(index.data() or ""),
            side,
            ratio,
        )
        rect = QRect(area.left(), area.top(), side, side)
        painter.drawPixmap(QStyle.visualRect(opt.direction, opt.rect, rect), pixmap)
        badge = ICON_SIZE * 3 // 4
        corner = QRect(rect.right() - badge + 3, rect.bottom() - badge + 3, badge, badge)
        presence.paint(painter, QStyle.visualRect(opt.direction, opt.rect, corner))
        return rect.right() + 3 + 2 * PADDING

    def _paint_contact(self, painter: QPainter, opt: QStyleOptionViewItem, index: Index) -> None:
        text_color, dim_color = self._colors(opt)
        area = self._content_rect(opt)
        direction = opt.direction
        status = Status(index.data(RosterRole.STATUS) or Status.OFFLINE)
        unread = index.data(RosterRole.UNREAD) or 0
        blocked = bool(index.data(RosterRole.BLOCKED))

        status_icon_ = icon("block") if blocked else status_icon(status)
        if self.avatars is not None:
            area.setLeft(self._paint_avatar(painter, opt, index, area, status_icon_))
        else:
            icon_rect = QRect(
                area.left(), area.center().y() - ICON_SIZE // 2 + 1, ICON_SIZE, ICON_SIZE
            )
            status_icon_.paint(painter, QStyle.visualRect(direction, opt.rect, icon_rect))
            area.setLeft(icon_rect.right() + 1 + 2 * PADDING)
        area.setRight(area.right() - self._paint_badge(painter, opt, area, unread))

        name_font = QFont(opt.font)
        if unread:  # as mail readers do: who wrote stands out
            name_font.setBold(True)
        name_fm = QFontMetrics(name_font)
        fm = QFontMetrics(opt.font)
        message = str(index.data(RosterRole.STATUS_MESSAGE) or "")
        align = QStyle.visualAlignment(
            direction, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        if message:
            name_rect = QRect(area.left(), area.top(), area.width(), area.height() // 2)
            message_rect = QRect(
                area.left(),
                name_rect.bottom() + 1,
                area.width(),
                area.height() - name_rect.height(),
            )
        else:  # a lone name sits in the middle of the row
            name_rect = QRect(area)
            message_rect = QRect()
        name = name_fm.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, area.width())
        painter.setFont(name_font)
        present = (status is not Status.OFFLINE or unread) and not blocked
        painter.setPen(text_color if present else dim_color)
        painter.drawText(QStyle.visualRect(direction, opt.rect, name_rect), align, name)
        if message:
            # One line of the message: a status can hold newlines, a row cannot.
            line = " ".join(message.split())
            painter.setFont(opt.font)
            painter.setPen(dim_color)
            painter.drawText(
                QStyle.visualRect(direction, opt.rect, message_rect),
                align,
                fm.elidedText(line, Qt.TextElideMode.ElideRight, area.width()),
            )
