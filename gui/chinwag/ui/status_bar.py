"""The top of the main window: who you are and how you appear to others.

Owns :class:`StatusHeader`: your avatar (a click changes it), your name (the primary
account's nickname, else its address), the status selector (``core.status.SELECTABLE``,
in order, with icons), the status message field (Enter applies it, Escape undoes the
edit), and a line that says "Connecting…" while signing in or why the last sign-in failed.

Picking Offline signs every account out; picking anything else while signed out signs the
enabled accounts in, with that status. Both run as asyncio tasks: the header never waits.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.models import ConnectionState
from chinwag.core.session import AccountSession
from chinwag.core.status import SELECTABLE, Status
from chinwag.ui.context import UiContext
from chinwag.ui.icons import status_icon
from chinwag.ui.tasks import UiTasks
from chinwag.ui.window_avatars import HeaderAvatar

#: Your own avatar beside your name and status (logical pixels).
OWN_AVATAR_SIDE = 40

log = logging.getLogger(__name__)


class StatusHeader(QWidget):
    """Own name, status selector and status message, for every enabled account at once."""

    #: The user picked a status but there is no account to sign in with.
    accounts_needed = Signal()
    #: The user clicked their own avatar (to change it).
    avatar_clicked = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "your status")
        self.setAccessibleName("Your status")

        self.name_label = QLabel(self)
        self.name_label.setAccessibleName("Your name")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.name_label.setFont(font)

        self.status_combo = QComboBox(self)
        self.status_combo.setAccessibleName("Status")
        self.status_combo.setToolTip("How you appear to your contacts")
        for status in SELECTABLE:
            self.status_combo.addItem(status_icon(status), status.label, int(status))
        self.status_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.status_combo.activated.connect(self._on_status_picked)

        self.message_edit = QLineEdit(self)
        self.message_edit.setAccessibleName("Status message")
        self.message_edit.setPlaceholderText("Set a status message")
        self.message_edit.setToolTip("Press Enter to show this message to your contacts")
        self.message_edit.setClearButtonEnabled(True)
        self.message_edit.returnPressed.connect(self._on_message_entered)
        self.message_edit.installEventFilter(self)

        self.state_label = QLabel(self)
        self.state_label.setAccessibleName("Connection state")
        self.state_label.setWordWrap(True)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.state_label.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.status_combo)
        row.addWidget(self.message_edit, 1)
        # Your own avatar (issue 16) beside it all; a click: Preferences > Avatar.
        self.avatar = HeaderAvatar(ctx, "", "", self, side=OWN_AVATAR_SIDE)
        self.avatar.setAccessibleName("Your avatar")
        self.avatar.set_action("Your avatar: click to change it")
        self.avatar.clicked.connect(self.avatar_clicked)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout()
        outer.addLayout(layout, 1)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name_label)
        layout.addLayout(row)
        layout.addWidget(self.state_label)
        self.setTabOrder(self.status_combo, self.message_edit)

        # What it shows: accounts, their connections, the status picked.
        for signal in (
            ctx.bridge.accounts_changed,
            ctx.bridge.connection_changed,
            ctx.bridge.own_presence_changed,
        ):
            signal.connect(self._on_event)
        self.refresh()

    # -- public API ------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        """The status the selector shows."""
        return Status(self.status_combo.currentData())

    def pick(self, status: Status) -> None:
        """Choose ``status`` as if the user had picked it in the selector."""
        index = self.status_combo.findData(int(status))
        if index < 0:
            raise ValueError(f"{status!r} cannot be picked")
        self.status_combo.setCurrentIndex(index)
        self._on_status_picked(index)

    def refresh(self) -> None:
        """Show the accounts' current name, status, message and connection state."""
        core = self._ctx.core
        primary = core.accounts.primary
        if primary is None:
            self.name_label.setText("No account")
            self.avatar.set_contact("", "", "")
        else:
            self.name_label.setText(primary.nickname or primary.jid)
            self.avatar.set_contact(primary.jid, primary.jid, primary.nickname or primary.jid)
        self.name_label.setToolTip("\n".join(a.jid for a in core.accounts.accounts))

        sessions = self._sessions()
        lead = sessions[0] if sessions else None
        signed_in = any(s.signed_in for s in sessions)
        shown = lead.picked if lead is not None and signed_in else Status.OFFLINE
        index = self.status_combo.findData(int(shown))
        if index < 0:  # a status set by a script that the selector does not offer
            index = self.status_combo.findData(int(Status.from_show(shown.show)))
        self.status_combo.setCurrentIndex(max(index, 0))
        if lead is not None and not self.message_edit.hasFocus():
            self.message_edit.setText(lead.status)
        self._show_state(sessions)

    # -- behaviour ---------------------------------------------------------------------------

    def _sessions(self) -> list[AccountSession]:
        """Sessions of the enabled accounts, primary first."""
        return self._ctx.core.enabled_sessions()

    def _show_state(self, sessions: list[AccountSession]) -> None:
        several = len(sessions) > 1
        lines: list[str] = []
        connecting = False
        for session in sessions:
            prefix = f"{session.account}: " if several else ""
            if session.state is ConnectionState.CONNECTING:
                connecting = True
            elif session.state is ConnectionState.RECONNECTING:
                connecting = True
                if session.last_error is not None:
                    lines.append(f"{prefix}trying again: {session.last_error}")
            elif session.state is ConnectionState.FAILED and session.last_error is not None:
                lines.append(f"{prefix}could not sign in: {session.last_error}")
        if connecting:
            lines.insert(0, "Connecting…")
        text = "\n".join(lines)
        self.state_label.setText(text)
        self.state_label.setVisible(bool(text))
        for i, status in enumerate(SELECTABLE):
            self.status_combo.setItemIcon(i, status_icon(status))
        lead_state = sessions[0].state if sessions else ConnectionState.OFFLINE
        if connecting and lead_state is not ConnectionState.ONLINE:
            # The chosen status, shown as on its way.
            self.status_combo.setItemIcon(
                self.status_combo.currentIndex(), status_icon(Status.CONNECTING)
            )

    def _on_status_picked(self, index: int) -> None:
        status = Status(self.status_combo.itemData(index))
        core = self._ctx.core
        if status is Status.OFFLINE:
            self._tasks.start(core.sign_out(), what="signing out", outlive=True)
            return
        sessions = self._sessions()
        if not sessions:
            self.accounts_needed.emit()
            self.refresh()
            return
        message = self.message_edit.text().strip()
        for session in sessions:
            # Sent at once when signed in, else on sign-in.
            session.set_status(status, message)
        core.auto_sign_in()  # starts only the sessions that are not signed in or trying
        self.refresh()

    def _on_message_entered(self) -> None:
        message = self.message_edit.text().strip()
        for session in self._sessions():
            session.set_status(session.picked, message)

    def _on_event(self, _event: object) -> None:
        self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.message_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            # Escape undoes the edit instead of leaving a message that was never applied.
            sessions = self._sessions()
            self.message_edit.setText(sessions[0].status if sessions else "")
            return True
        return super().eventFilter(watched, event)
