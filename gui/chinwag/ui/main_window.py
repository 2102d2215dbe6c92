"""The main window. For now it shows each account and its connection state; the contact
list, conversation windows and the tray come with the desktop-client issue."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QVBoxLayout, QWidget

from chinwag.core.events import ConnectionStateChanged, Event
from chinwag.core.service import ChinwagCore
from chinwag.ui.bridge import EventBridge


class MainWindow(QMainWindow):
    def __init__(self, core: ChinwagCore, bridge: EventBridge) -> None:
        super().__init__()
        self._core = core
        self.setWindowTitle("Chinwag")
        self.setAccessibleName("Chinwag main window")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self._hint = QLabel(self)
        self._accounts = QListWidget(self)
        self._accounts.setAccessibleName("Accounts")
        layout.addWidget(self._hint)
        layout.addWidget(self._accounts)
        self.setCentralWidget(central)
        self.resize(320, 480)
        bridge.event.connect(self._on_event)
        self._refresh()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ConnectionStateChanged):
            self._refresh()

    def _refresh(self) -> None:
        self._accounts.clear()
        accounts = self._core.accounts.accounts
        self._hint.setText(
            "Accounts" if accounts else "No account yet: add one in accounts.json (see README)."
        )
        for account in accounts:
            session = self._core.sessions.get(account.jid)
            state = session.state.value if session else "offline"
            error = f" ({session.last_error})" if session and session.last_error else ""
            self._accounts.addItem(f"{account.jid}: {state}{error}")
