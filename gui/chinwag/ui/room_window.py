"""The window of a group conversation (a room, XEP-0045): the conversation window with
the room's subject in its header, its participants beside the history, nicks as
authors in their own colours (XEP-0392), Tab completing nicks, and messages that name
us outlined.

Opening the window of a room we are not in enters it (with the bookmark's nick and
password, else the account's nickname); the room's refusal shows in the window's error
bar in words. Closing the window leaves the room (a bookmark keeps it listed)."""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QInputDialog,
    QLabel,
    QListView,
    QMenu,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError
from chinwag.core.events import (
    ChatStateChanged,
    OccupantChanged,
    OwnNickChanged,
    RoomJoined,
    RoomLeft,
    RoomSubjectChanged,
)
from chinwag.core.models import (
    Affiliation,
    ConnectionState,
    ConversationKind,
    Occupant,
    Role,
    RoomState,
)
from chinwag.core.room_permissions import RoomAction, allowed_actions
from chinwag.core.rooms import Room
from chinwag.core.status import Status
from chinwag.ui.avatars import AvatarImages, avatar_images
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.icons import status_icon
from chinwag.ui.message_delegate import readable
from chinwag.ui.nick_colors import nick_color
from chinwag.ui.window_avatars import OCCUPANT_SIDE, occupant_avatar

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
#: How often a crowd's comings and goings are shown at most (ms).
OCCUPANTS_COALESCE_MS = 100
#: The most of a subject the header and its tool tip show (a subject may be huge).
SUBJECT_SHOWN_CHARS = 500
_ROLE_ORDER = {Role.MODERATOR: 0, Role.PARTICIPANT: 1, Role.VISITOR: 2, Role.NONE: 3}
_ROLE_WORDS = {
    Role.MODERATOR: "moderator",
    Role.PARTICIPANT: "participant",
    Role.VISITOR: "visitor (no voice)",
    Role.NONE: "",
}


def first_line(text: str, limit: int = SUBJECT_SHOWN_CHARS) -> str:
    line = next((part.strip() for part in text[: limit * 4].splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


class OccupantsModel(QAbstractListModel):
    """Who is in the room, moderators first, then by nick. Follows the room's
    presences, shown at most every :data:`OCCUPANTS_COALESCE_MS` (a 5,000-occupant
    join is one reset, not 5,000 inserts)."""

    OCCUPANT = Qt.ItemDataRole.UserRole + 1
    #: The number of occupants changed.
    count_changed = Signal(int)

    def __init__(self, room: Room | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._room = room
        self._rows: list[Occupant] = []
        self._palette: QPalette | None = None
        #: Avatars (issue 16): the pictures, the account, the screen's pixel ratio.
        self._avatars: tuple[AvatarImages, str, float] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(OCCUPANTS_COALESCE_MS)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    def set_room(self, room: Room | None) -> None:
        self._room = room
        self.changed()

    def set_palette(self, palette: QPalette) -> None:
        self._palette = palette

    def set_avatars(self, images: AvatarImages, account: str, ratio: float = 1.0) -> None:
        """Show occupants' avatars (see :func:`~chinwag.ui.window_avatars.occupant_avatar`)
        instead of presence icons alone."""
        self._avatars = (images, account, ratio)

    def changed(self) -> None:
        """Someone came, changed or left: shown soon."""
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        room = self._room
        occupants = list(room.occupants.values()) if room is not None else []
        if room is not None and room.me is not None and room.me.nick not in room.occupants:
            occupants.append(room.me)
        occupants.sort(key=lambda o: (_ROLE_ORDER.get(o.role, 9), o.nick.casefold(), o.nick))
        self.beginResetModel()
        self._rows = occupants
        self.endResetModel()
        self.count_changed.emit(len(occupants))

    def nicks(self) -> list[str]:
        return [o.nick for o in self._rows]

    def row_of(self, nick: str) -> int | None:
        return next((n for n, o in enumerate(self._rows) if o.nick == nick), None)

    def occupant(self, row: int) -> Occupant | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        occupant = self.occupant(index.row()) if index.isValid() else None
        if occupant is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return occupant.nick + _standing(occupant)
        if role == Qt.ItemDataRole.EditRole:
            return occupant.nick
        if role == self.OCCUPANT:
            return occupant
        if role == Qt.ItemDataRole.ForegroundRole:
            color = nick_color(occupant.nick)
            if self._palette is not None:
                color = readable(color, self._palette.color(QPalette.ColorRole.Base))
            return color
        if role == Qt.ItemDataRole.DecorationRole:
            if self._avatars is not None:
                images, account, ratio = self._avatars
                return occupant_avatar(images, account, occupant, OCCUPANT_SIDE, ratio)
            return status_icon(Status.from_show(occupant.show))
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return describe(occupant, self._room.me if self._room is not None else None)
        return None


def _standing(occupant: Occupant) -> str:
    """What the panel says after a nick: the affiliation of staff, a moderator, or a
    visitor's lack of voice."""
    if occupant.affiliation in (Affiliation.OWNER, Affiliation.ADMIN):
        return f" ({occupant.affiliation.value})"
    if occupant.role is Role.MODERATOR:
        return " (moderator)"
    if occupant.role is Role.VISITOR:
        return " (no voice)"
    return ""


def describe(occupant: Occupant, me: Occupant | None = None) -> str:
    """One occupant in words: nick (you), role, affiliation, status, address."""
    parts = [occupant.nick + (" (you)" if me is not None and me.nick == occupant.nick else "")]
    role = _ROLE_WORDS.get(occupant.role, "")
    if role:
        parts.append(role)
    if occupant.affiliation not in (Affiliation.NONE, Affiliation.OUTCAST):
        parts.append(occupant.affiliation.value)
    parts.append(Status.from_show(occupant.show).label)
    if occupant.status:
        parts.append(first_line(occupant.status, 200))
    if occupant.jid:
        parts.append(occupant.jid)
    return ", ".join(parts)


class RoomWindow(ConversationWindow):
    """A room's conversation window (see the module)."""

    KIND = ConversationKind.GROUPCHAT

    def __init__(self, ctx: UiContext, account: str, room: str, parent: QWidget | None = None):
        self._room_ready = False
        self._typing: list[str] = []  # who is typing, in the order they started
        self._join_error = ""
        self._joining = False  # a join of ours is under way
        super().__init__(ctx, account, jids.room_address(room), parent)
        self._occupants = OccupantsModel(self._room(), self)
        self._occupants.set_palette(self.palette())
        self._occupants.set_avatars(avatar_images(ctx), account, self.devicePixelRatioF())
        self._build_room()
        self._room_ready = True
        self.model.set_author_names(self._nick_of_author)
        self.compose.set_nick_completion(self._completion_nicks)
        self._ctx.bridge.rooms_changed.connect(self._on_room_event)
        self._slots.append((self._ctx.bridge.rooms_changed, self._on_room_event))
        self._refresh_contact()
        self._enter()
        self._say_nick_taken()

    # -- public -------------------------------------------------------------------------

    @property
    def occupants(self) -> OccupantsModel:
        return self._occupants

    @property
    def participants_view(self) -> QListView:
        return self._participants

    @property
    def subject_text(self) -> str:
        return self._status_label.text()

    @property
    def room_menu(self) -> QMenu:
        return self._room_menu

    def participants(self) -> list[str]:
        """The real addresses of the others in the room (where the room tells them)."""
        room = self._room()
        if room is None or not room.joined:
            return []
        own = room.me.nick if room.me is not None else room.nick
        return sorted({o.jid for o in room.occupants.values() if o.jid and o.nick != own})

    def occupant_menu(self, nick: str) -> QMenu:
        """What may be done to ``nick``: mention them, and the room actions our role
        and affiliation allow on them."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("&Mention", lambda: self._mention(nick))
        room = self._room()
        target = room.occupants.get(nick) if room is not None else None
        if room is not None and target is not None:
            actions = allowed_actions(room.me, target)
            if actions:
                menu.addSeparator()
            for action in actions:
                menu.addAction(
                    action.label + ("\u2026" if action in _ASKS_REASON else ""),
                    functools.partial(self.act_on, action, target),
                )
        return menu

    def act_on(self, action: RoomAction, target: Occupant, reason: str | None = None) -> None:
        """Do ``action`` to ``target``; a kick or a ban first asks for a reason."""
        if reason is None and action in _ASKS_REASON:
            dialog = QInputDialog(self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.setWindowTitle(f"{action.label} {target.nick}")
            dialog.setLabelText(f"{action.label} {target.nick}. Reason (optional):")
            dialog.textValueSelected.connect(lambda text: self.act_on(action, target, text))
            dialog.open()
            return
        rooms, key = self._ctx.core.rooms, self.key
        why = reason or ""
        if action.role is not None:
            work = rooms.set_role(key.account, key.peer, target.nick, action.role, why)
        elif action.affiliation is not None and target.jid:
            work = rooms.set_affiliation(key.account, key.peer, target.jid, action.affiliation, why)
        else:
            return
        self._call_core(work, f"{action.label} {target.nick}: not done")

    def change_subject(self, subject: str) -> None:
        try:
            self._ctx.core.rooms.set_subject(self.key.account, self.key.peer, subject)
        except ChinwagError as exc:
            self._show_error(f"Subject not changed: {exc.message}")

    def change_nick(self, nick: str) -> None:
        self._call_core(
            self._ctx.core.rooms.change_nick(self.key.account, self.key.peer, nick),
            "Nickname not changed",
        )

    def invite(self, contact: str, reason: str = "") -> None:
        try:
            address = jids.bare(contact.strip())
            self._ctx.core.invitations.invite(
                self.key.account, self.key.peer, address, reason, mediated=True
            )
        except ChinwagError as exc:
            self._show_error(f"Not invited: {exc.message}")

    # -- building -----------------------------------------------------------------------

    def _build_room(self) -> None:
        """The participants panel beside the history, and the room's menu button."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        at = layout.indexOf(self._history_column)  # (the history and the typing line)
        layout.removeWidget(self._history_column)
        self._splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self._splitter.setObjectName("roomSplitter")
        self._splitter.setChildrenCollapsible(False)
        self._splitter.addWidget(self._history_column)
        panel = QFrame(self._splitter)
        panel.setObjectName("participantsPanel")
        panel_layout = QVBoxLayout(panel)
        panel_layout.setContentsMargins(4, 4, 4, 4)
        panel_layout.setSpacing(2)
        self._participants_heading = QLabel(panel)
        self._participants_heading.setObjectName("participantsHeading")
        self._participants = QListView(panel)
        self._participants.setObjectName("participants")
        self._participants.setAccessibleName("Participants")
        self._participants.setModel(self._occupants)
        self._participants.setUniformItemSizes(True)
        self._participants.setIconSize(QSize(OCCUPANT_SIDE, OCCUPANT_SIDE))
        avatar_images(self._ctx).changed.connect(self._on_avatar_changed)
        self._participants.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._participants.customContextMenuRequested.connect(self._participant_menu_at)
        self._participants.activated.connect(
            lambda index: self._mention(str(index.data(Qt.ItemDataRole.EditRole)))
        )
        self._participants_heading.setBuddy(self._participants)
        panel_layout.addWidget(self._participants_heading)
        panel_layout.addWidget(self._participants, 1)
        self._splitter.addWidget(panel)
        self._splitter.setStretchFactor(0, 1)
        self._splitter.setSizes([max(self.width() - 170, 200), 170])
        layout.insertWidget(at, self._splitter, 1)
        self._occupants.count_changed.connect(self._show_count)
        self._show_count(self._occupants.rowCount())

        header = self._name_label.parentWidget()
        header_layout = header.layout() if header is not None else None
        self._room_button = QToolButton(header)
        self._room_button.setObjectName("roomMenuButton")
        self._room_button.setAccessibleName("Room menu")
        self._room_button.setToolTip("Room: subject, nickname, invitations, leave")
        self._room_button.setText("\u22ef")
        self._room_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._room_menu = QMenu(self._room_button)
        self._room_menu.addAction("Change &subject\u2026", self._ask_subject)
        self._room_menu.addAction("Change &nickname\u2026", self._ask_nick)
        self._room_menu.addAction("&Invite someone\u2026", self._ask_invite)
        self._room_menu.addSeparator()
        self._room_menu.addAction("&Leave the room", self.close)
        self._room_button.setMenu(self._room_menu)
        if header_layout is not None:
            header_layout.addWidget(self._room_button)
        self._status_label.setTextFormat(Qt.TextFormat.PlainText)

    def _on_avatar_changed(self, account: str, _jid: str) -> None:
        """Someone's picture changed: an occupant may show it (a repaint of what shows)."""
        if account == self.key.account and not self._closed:
            self._participants.viewport().update()

    def _show_count(self, count: int) -> None:
        self._participants_heading.setText(f"&Participants ({count})")

    # -- the room -----------------------------------------------------------------------

    def _room(self) -> Room | None:
        return self._ctx.core.rooms.room(self.key.account, self.key.peer)

    def _enter(self) -> None:
        """Join the room unless we are in it or joining it."""
        room = self._room()
        if room is not None and room.state in (RoomState.JOINED, RoomState.JOINING):
            return
        if self._ctx.core.state(self.key.account) is not ConnectionState.ONLINE:
            return  # entered when the account is online (see _on_connection_event)
        core = self._ctx.core
        mark = core.bookmarks.get(self.key.account, self.key.peer)
        nick = (mark.nick if mark is not None else "") or core.rooms.default_nick(self.key.account)
        password = mark.password if mark is not None else ""

        def failed(exc: BaseException) -> None:
            if self._closed:
                return
            room = self._room()
            if room is not None and room.reason:  # the room's refusal, in words
                self._join_error = room.reason
            elif isinstance(exc, ChinwagError):
                self._join_error = exc.message
            else:
                self._join_error = "an internal error occurred (see the log)"
            self._show_error(f"Could not enter the room: {self._join_error}")
            self._refresh_connection()

        self._join_error = ""
        self._joining = True

        def done(_task: Any) -> None:
            self._joining = False
            if not self._closed:
                self._refresh_connection()

        self._tasks.start(
            core.rooms.join(self.key.account, self.key.peer, nick, password),
            what="joining",
            on_error=failed,
            on_done=done,
            outlive=True,
        )
        self._refresh_connection()

    def _on_room_event(self, event: Any) -> None:
        if self._closed or (getattr(event, "account", None), getattr(event, "room", None)) != (
            self.key.account,
            self.key.peer,
        ):
            return
        match event:
            case OccupantChanged():
                self._occupants.changed()
                if event.occupant is None:
                    self._stop_typing(event.nick)
            case RoomJoined():
                self._join_error = ""
                self._hide_error()
                self._occupants.set_room(self._room())
                self._refresh_contact()
                self._refresh_connection()
                self._say_nick_taken()
            case RoomLeft(reason=reason):
                self._occupants.set_room(self._room())
                self._typing.clear()
                self._show_typing(False)
                room = self._room()
                if room is not None and room.state is RoomState.FAILED:
                    self._join_error = reason or "refused"
                    self._show_error(f"Could not enter the room: {self._join_error}")
                elif reason:
                    self._show_error(f"You are no longer in the room: {reason}")
                self._refresh_connection()
            case RoomSubjectChanged() | OwnNickChanged():
                self._refresh_contact()
                self._occupants.changed()

    def _say_nick_taken(self) -> None:
        """The nick asked for was taken there, so the room let us in under another."""
        room = self._room()
        if room is not None and room.joined and room.tries:
            self._show_error(f"Your nickname was taken in this room: you are {room.nick} here.")

    def _nick_of_author(self, author: str) -> str | None:
        room = self._room()
        if room is None:
            return None
        if author in (self.key.account, room.me.author if room.me is not None else None):
            return room.nick
        return next((o.nick for o in room.occupants.values() if o.author == author), None)

    def _completion_nicks(self) -> list[str]:
        room = self._room()
        if room is None:
            return []
        return [nick for nick in room.occupants if nick != room.nick]

    def _mention(self, nick: str) -> None:
        compose = self.compose
        text = compose.text()
        insert = f"{nick}: " if not text.strip() else f"{nick} "
        compose.insertPlainText(insert if not text or text[-1:].isspace() else " " + insert)
        compose.setFocus(Qt.FocusReason.OtherFocusReason)

    def _participant_menu_at(self, where: QPoint) -> None:
        index = self._participants.indexAt(where)
        if index.isValid():
            nick = str(index.data(Qt.ItemDataRole.EditRole))
            self.occupant_menu(nick).popup(self._participants.viewport().mapToGlobal(where))

    def _ask(self, title: str, label: str, value: str, done: Any) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextValue(value)
        dialog.textValueSelected.connect(done)
        dialog.open()
        return dialog

    def _ask_subject(self) -> QInputDialog:
        room = self._room()
        return self._ask(
            "Change subject",
            "The room's subject:",
            room.subject[:SUBJECT_SHOWN_CHARS] if room is not None else "",
            self.change_subject,
        )

    def _ask_nick(self) -> QInputDialog:
        room = self._room()
        return self._ask(
            "Change nickname",
            "Your nickname in this room:",
            room.nick if room is not None else "",
            self._nick_chosen,
        )

    def _ask_invite(self) -> QInputDialog:
        return self._ask(
            "Invite someone",
            "Address of the person to invite (name@example.org):",
            "",
            self._invite_chosen,
        )

    def _nick_chosen(self, nick: str) -> None:
        if nick.strip():
            self.change_nick(nick)

    def _invite_chosen(self, address: str) -> None:
        if address.strip():
            self.invite(address)

    # -- what the conversation window asks of its kind ------------------------------------

    def _names(self) -> tuple[str, str]:
        core = self._ctx.core
        room = core.rooms.room(self.key.account, self.key.peer)
        own = room.nick if room is not None else core.rooms.default_nick(self.key.account)
        mark = core.bookmarks.get(self.key.account, self.key.peer)
        title = (mark.name if mark is not None else "") or core.conversations.title(self.key)
        if not title or title == self.key.peer:
            title = self.key.peer.partition("@")[0] or self.key.peer
        return own, title

    def _refresh_contact(self) -> None:
        if not getattr(self, "_room_ready", False):
            return  # during the base class's construction
        own, name = self._names()
        self.model.set_names(own, name)
        room = self._room()
        subject = first_line(room.subject) if room is not None else ""
        self._name_label.setText(name)
        self._name_label.setToolTip(self.key.peer)
        self.header_avatar.set_name(name)
        self._status_label.setText(subject or "No subject")
        tip = room.subject[: SUBJECT_SHOWN_CHARS * 4] if room is not None and room.subject else ""
        self._status_label.setToolTip(tip)
        joined = room is not None and room.joined
        status = Status.ONLINE if joined else Status.OFFLINE
        icon = status_icon(status)
        self._presence_icon.setPixmap(icon.pixmap(16, 16))
        self._presence_icon.setToolTip("In the room" if joined else "Not in the room")
        self._presence_icon.setAccessibleDescription(self._presence_icon.toolTip())
        self.setWindowIcon(icon)
        self.setWindowTitle(f"{name} (group chat)")
        self._typing_name = name

    def _refresh_connection(self) -> None:
        if not getattr(self, "_room_ready", False):
            super()._refresh_connection()
            return
        state = self._ctx.core.state(self.key.account)
        room = self._room()
        if state is not ConnectionState.ONLINE:
            super()._refresh_connection()
            return
        if room is not None and room.joined:
            text = ""
        elif self._join_error:
            text = f"Not in the room: {self._join_error}."
        elif self._joining or (room is not None and room.state is RoomState.JOINING):
            text = "Entering the room\u2026 messages are sent once in."
        else:
            reason = room.reason if room is not None else ""
            text = f"Not in the room{': ' + reason if reason else ''}."
        self._connection_label.setText(text)
        self._connection_label.setVisible(bool(text))

    def _on_connection_event(self, event: Any) -> None:
        super()._on_connection_event(event)
        if (
            not self._closed
            and getattr(event, "account", None) == self.key.account
            and self._ctx.core.state(self.key.account) is not ConnectionState.ONLINE
        ):
            self._typing.clear()
            self._show_typing(False)

    def _on_roster_event(self, event: Any) -> None:
        return  # a room is not in the roster

    def _on_chat_state(self, event: ChatStateChanged) -> None:
        if self._closed or (event.account, event.peer, event.kind) != (
            self.key.account,
            self.key.peer,
            self.key.kind,
        ):
            return
        if event.state == "composing":
            if event.nick and event.nick not in self._typing:
                self._typing.append(event.nick)
        else:
            self._stop_typing(event.nick)
            return
        self._show_typing(True)

    def _stop_typing(self, nick: str) -> None:
        if nick in self._typing:
            self._typing.remove(nick)
            self._show_typing(bool(self._typing))

    def _show_typing(self, typing: bool) -> None:
        if not getattr(self, "_room_ready", False):
            return
        if not typing:
            # A message ends its author's typing; others may still be typing.
            self._typing_label.setText(self._typing_text() if self._typing else "")
            return
        self._typing_label.setText(self._typing_text())

    def _typing_text(self) -> str:
        names = self._typing
        if not names:
            return ""
        if len(names) == 1:
            return f"{names[0]} is typing\u2026"
        if len(names) == 2:
            return f"{names[0]} and {names[1]} are typing\u2026"
        return f"{names[0]}, {names[1]} and {len(names) - 2} more are typing\u2026"

    def _on_message_added(self, message: Any) -> None:
        if not message.outgoing and message.sender_resource:
            self._stop_typing(message.sender_resource)
        super()._on_message_added(message)

    # -- life ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        leaving = not self._closed and not self._ctx.windows.closing_all
        super().closeEvent(event)
        if leaving:
            room = self._room()
            if room is not None and room.state in (RoomState.JOINED, RoomState.JOINING):
                with contextlib.suppress(RuntimeError):
                    self._tasks.start(
                        self._ctx.core.rooms.leave(self.key.account, self.key.peer),
                        what="leaving",
                        outlive=True,
                    )


_ASKS_REASON = frozenset((RoomAction.KICK, RoomAction.BAN))
