"""Issue 16, second review: what a contact (or their server) writes in a vCard or a name
is shown as the text it is, never as markup. A QLabel's default (AutoText) renders
anything that looks like HTML: a vCard note or a name of ``<img src="/some/file">`` read
a local file into the dialog (``/dev/zero``: a freeze), ``<h1>`` or a huge font took
the dialog over, and ``<a href>`` made links the user never saw as such."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel
from test_avatars_and_details import ME, PEER, eventually, scripted

from chinwag.core.contact_details import VCard
from chinwag.ui.contact_details_dialog import ContactDetailsDialog
from rig.images import png

if TYPE_CHECKING:
    from conftest import UiRig


async def test_markup_in_a_vcard_or_a_name_is_shown_as_text(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png(600, 600))
    markup = f'<img src="{big}">'
    card = VCard((("fn", markup), ("note", f"<b>{markup}</b>")))
    scripted(ui, tmp_path, card)
    await ui.sign_in()
    ui.set_contact(name=markup)
    dialog = ContactDetailsDialog(ui.ctx, ME, PEER)
    qtbot.addWidget(dialog)
    dialog.show()
    await eventually(lambda: dialog.profile_form.rowCount() > 2, what="the vCard")
    labels = [dialog.name_label] + [
        label
        for label in dialog.findChildren(QLabel)
        if label.text() in (markup, f"<b>{markup}</b>")
    ]
    assert len(labels) >= 3, [label.text() for label in dialog.findChildren(QLabel)]
    for label in labels:
        # As text, one line of it; as markup, the 600-pixel picture read from the disk.
        assert label.sizeHint().height() < 300, label.text()
