"""A banner over the contact list: a line of rich text and Accept / Decline, on the
palette's alternate base (a subscription request, an invitation to a group chat)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def escape(text: str) -> str:
    """Remote text goes into rich text only escaped (a nick is not markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Banner(QFrame):
    """``text`` (rich text, read out as ``said``) with Accept and Decline, whose
    accessible names say what each answers; the banner itself is named ``name``."""

    accepted = Signal()
    declined = Signal()

    def __init__(
        self,
        text: str,
        *,
        said: str,
        name: str,
        accept_name: str,
        decline_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.label = QLabel(text, self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAccessibleName(said)
        self.accept_button = QPushButton("Accept", self)
        self.accept_button.setAccessibleName(accept_name)
        self.decline_button = QPushButton("Decline", self)
        self.decline_button.setAccessibleName(decline_name)
        self.accept_button.clicked.connect(self.accepted)
        self.decline_button.clicked.connect(self.declined)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.decline_button)
        buttons.addWidget(self.accept_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self.setAccessibleName(name)
