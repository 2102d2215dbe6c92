"""The contact details dialog: who a contact is (avatar, name, address, the vCard they
publish: vCard4 or vcard-temp, the nickname of XEP-0172), where they are signed in (each
resource with its client, version and system (XEP-0092, XEP-0115), status and priority),
the presence subscription between us, and the certificate fingerprint of the server our
account is connected to.

What is known at once shows at once; the vCard and the client versions are asked for
when the dialog opens and fill in as they come (a contact who does not answer gets a
sentence, not a frozen dialog). Owns :class:`ContactDetailsDialog`."""

from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.contact_details import FIELDS, ResourceDetails, VCard
from chinwag.core.models import Subscription
from chinwag.core.status import Status
from chinwag.ui.avatars import avatar_images
from chinwag.ui.certificate_dialog import group_fingerprint
from chinwag.ui.context import UiContext
from chinwag.ui.tasks import UiTasks

AVATAR_SIDE = 64

#: What each subscription state means, in the user's words.
SUBSCRIPTION_TEXT = {
    Subscription.BOTH: "You see each other's presence",
    Subscription.TO: "You see their presence; they do not see yours",
    Subscription.FROM: "They see your presence; you do not see theirs",
    Subscription.NONE: "Neither of you sees the other's presence",
}
RESOURCE_COLUMNS = ("Device", "Client", "Version", "System", "Status", "Priority")


def _plain(text: str = "") -> QLabel:
    """A label showing ``text`` as it is: what contacts and servers write (names, vCard
    fields, error texts) is never taken for markup (``<img src="/a/file">`` would read
    a local file into the dialog)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _selectable(text: str) -> QLabel:
    label = _plain(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ContactDetailsDialog(QDialog):
    """The details of ``jid`` as ``account`` sees them (see the module docstring)."""

    def __init__(
        self, ctx: UiContext, account: str, jid: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.account = account
        self.jid = jid
        self._tasks = UiTasks(self, "contact details")
        details = ctx.core.details.details(account, jid)
        self.setWindowTitle(f"Contact details of {details.name}")
        self.setAccessibleName(f"Contact details of {details.name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)

        header = QHBoxLayout()
        self.avatar = QLabel()
        self.avatar.setAccessibleName("Avatar")
        self.avatar.setFixedSize(AVATAR_SIDE, AVATAR_SIDE)
        header.addWidget(self.avatar)
        names = QVBoxLayout()
        self.name_label = _selectable(details.name)
        font = QFont(self.name_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.name_label.setFont(font)
        names.addWidget(self.name_label)
        self.address_label = _selectable(jid)
        names.addWidget(self.address_label)
        header.addLayout(names, 1)
        layout.addLayout(header)

        profile = QGroupBox("Profile")
        self.profile_form = QFormLayout(profile)
        self.vcard_status = _plain("Asking for their profile…")
        self.profile_form.addRow(self.vcard_status)
        if details.nickname:
            self.profile_form.addRow("Nickname they chose:", _selectable(details.nickname))
        layout.addWidget(profile)

        contact = QGroupBox("Contact")
        form = QFormLayout(contact)
        subscription = (
            SUBSCRIPTION_TEXT.get(details.subscription, str(details.subscription))
            if details.subscription is not None
            else "Not in your contact list"
        )
        self.subscription_label = _selectable(subscription)
        form.addRow("Presence:", self.subscription_label)
        if details.groups:
            form.addRow("Groups:", _selectable(", ".join(details.groups)))
        layout.addWidget(contact)

        devices = QGroupBox("Signed in on")
        devices_layout = QVBoxLayout(devices)
        self.resources = QTableWidget(0, len(RESOURCE_COLUMNS))
        self.resources.setAccessibleName("Devices they are signed in on")
        self.resources.setHorizontalHeaderLabels(list(RESOURCE_COLUMNS))
        self.resources.verticalHeader().setVisible(False)
        self.resources.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.resources.horizontalHeader().setStretchLastSection(True)
        devices_layout.addWidget(self.resources)
        self.resources_status = _plain()
        devices_layout.addWidget(self.resources_status)
        self._show_resources(list(details.resources), asked=False)
        layout.addWidget(devices)

        connection = QGroupBox("Your connection")
        connection_form = QFormLayout(connection)
        fingerprint = ctx.core.details.server_fingerprint(account)
        self.fingerprint_label = _selectable(
            group_fingerprint(fingerprint, 8) if fingerprint else "Not signed in"
        )
        self.fingerprint_label.setFont(QFont("monospace"))
        self.fingerprint_label.setAccessibleName("Server certificate fingerprint (SHA-256)")
        connection_form.addRow("Server certificate\n(SHA-256):", self.fingerprint_label)
        layout.addWidget(connection)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        layout.addWidget(buttons)

        images = avatar_images(ctx)
        images.changed.connect(self._on_avatar_changed)
        self._paint_avatar()
        self._tasks.start(
            ctx.core.details.vcard(account, jid),
            what="reading the vCard",
            on_done=self._vcard_done,
        )
        if details.resources:
            self._tasks.start(
                ctx.core.details.resources(account, jid),
                what="asking for client versions",
                on_done=self._resources_done,
            )

    # -- avatar -------------------------------------------------------------------------

    def _paint_avatar(self) -> None:
        name = self.name_label.text()
        pixmap = avatar_images(self._ctx).pixmap(
            self.account, self.jid, name, AVATAR_SIDE, self.devicePixelRatioF()
        )
        self.avatar.setPixmap(pixmap)

    def _on_avatar_changed(self, account: str, jid: str) -> None:
        if (account, jid) == (self.account, self.jid):
            self._paint_avatar()

    # -- vCard --------------------------------------------------------------------------

    def _vcard_done(self, task: asyncio.Task[VCard]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.vcard_status.setText(f"Their profile could not be read: {error}")
            return
        self.show_vcard(task.result())

    def show_vcard(self, card: VCard) -> None:
        """Fill the profile with ``card`` (public for tests and the conversation window)."""
        if not card.fields:
            self.vcard_status.setText("They publish no profile.")
            return
        self.vcard_status.setText(
            "Their profile is longer than shown here." if card.truncated else ""
        )
        self.vcard_status.setVisible(card.truncated)
        for key, value in card.fields:
            label = _selectable(value)
            if key in ("url", "email"):
                href = value if key == "url" else f"mailto:{value}"
                if key == "email" or value.startswith(("https://", "http://")):
                    label.setText(f'<a href="{html.escape(href)}">{html.escape(value)}</a>')
                    label.setTextFormat(Qt.TextFormat.RichText)
                    label.setOpenExternalLinks(True)
                    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            self.profile_form.addRow(f"{FIELDS[key]}:", label)

    # -- resources ----------------------------------------------------------------------

    def _resources_done(self, task: asyncio.Task[list[ResourceDetails]]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.resources_status.setText(f"Their clients could not be asked: {error}")
            return
        self._show_resources(task.result(), asked=True)

    def _show_resources(self, resources: list[ResourceDetails], *, asked: bool) -> None:
        self.resources.setRowCount(len(resources))
        for row, res in enumerate(resources):
            status = Status.from_show(res.show).label
            if res.status:
                status = f"{status}: {res.status}" if status else res.status
            client = res.client or ("(did not say)" if asked else "…")
            if asked and res.error and not res.client:
                client = "(no answer)"
            cells = (
                res.resource or "(none)",
                client,
                res.version,
                res.os,
                status,
                str(res.priority),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 4 and res.status:
                    item.setToolTip(res.status)
                self.resources.setItem(row, column, item)
        self.resources.resizeColumnsToContents()
        if not resources:
            self.resources_status.setText("Not signed in anywhere you can see.")
        self.resources.setVisible(bool(resources))


def open_contact_details(
    ctx: UiContext, account: str, jid: str, parent: QWidget | None = None
) -> ContactDetailsDialog:
    """Show the details of ``jid`` (not modal: the windows behind stay usable); the one
    already open for them is raised instead of a second."""
    owner = parent.window() if parent is not None else None
    if owner is not None:
        for dialog in owner.findChildren(ContactDetailsDialog):
            if (dialog.account, dialog.jid) == (account, jid) and dialog.isVisible():
                dialog.raise_()
                dialog.activateWindow()
                return dialog
    dialog = ContactDetailsDialog(ctx, account, jid, owner)
    dialog.show()
    return dialog
