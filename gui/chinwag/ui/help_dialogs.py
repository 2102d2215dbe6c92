"""Help > Keyboard shortcuts (F1) and Help > About Chinwag."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chinwag import __version__
from chinwag.ui.icons import icon

LICENCE = "GPL-3.0-or-later"
LINKS = (
    ("Website", "https://chinwag.im"),
    ("Licence (GNU GPL 3.0 or later)", "https://www.gnu.org/licenses/gpl-3.0.html"),
    ("About XMPP", "https://xmpp.org"),
)

#: (keys, what they do), in the order shown.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+N", "New chat: with a contact, or with any address"),
    ("Ctrl+Shift+N", "Add a contact"),
    ("Ctrl+J", "Join a group chat"),
    ("Ctrl+,", "Preferences"),
    ("F1", "Keyboard shortcuts (this list)"),
    ("Ctrl+Q", "Quit Chinwag"),
    ("Ctrl+Tab / Ctrl+Shift+Tab", "Next / previous conversation window"),
    ("Alt+1 … Alt+9", "Conversation window 1 to 9, in the order they were opened"),
    ("Ctrl+F", "Find a contact; in a conversation, search its messages"),
    ("F3 / Shift+F3", "Next / previous search result"),
    ("Ctrl+Shift+F", "Search the messages of all conversations"),
    ("Ctrl+G", "Go to a date in the conversation"),
    ("Ctrl+I", "The contact's details, in a conversation"),
    ("Enter", "Send the message (Ctrl+Enter when chosen in Preferences)"),
    ("Shift+Enter", "Start a new line in the message"),
    ("Up", "Edit your last message (in an empty message box)"),
    ("Tab", "Complete a nickname in a group chat"),
    ("Ctrl+;", "Emoji picker (or type :name for a list of emoji)"),
    ("Ctrl+End", "Jump to the newest message"),
    ("Escape", "Close the search, or cancel a reply or correction"),
    ("Ctrl+W", "Close the conversation window"),
    ("F2", "Rename the selected contact"),
    ("Delete", "Remove the selected contact"),
)


class ShortcutsDialog(QDialog):
    """A table of every keyboard shortcut."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2, self)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, (keys, action) in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(action))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 480)


class AboutDialog(QDialog):
    """The version, the licence and the links."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Chinwag")
        self.setAccessibleName("About Chinwag")
        logo = QLabel(self)
        logo.setPixmap(icon("chinwag").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        links = "<br>".join(
            f'<a href="{html.escape(url)}">{html.escape(words)}</a>' for words, url in LINKS
        )
        self.text = QLabel(
            f"<h2>Chinwag {html.escape(__version__)}</h2>"
            "<p>A scriptable desktop instant messenger for XMPP.</p>"
            f"<p>Licence: {LICENCE}. Chinwag is free software: you may share and change it "
            "under the terms of the GNU General Public License, version 3 or any later "
            "version. It comes with no warranty.</p>"
            f"<p>{links}</p>",
            self,
        )
        self.text.setAccessibleName("About Chinwag")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setMinimumWidth(380)
