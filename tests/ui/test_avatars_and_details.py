"""Issue 16's widgets: letter avatars (a stable XEP-0392 colour and the first letter),
a contact's published picture decoded off the loop and drawn in its place, the contact
details dialog (vCard, devices, subscription, server fingerprint; a 10,000-field vCard
cut; Escape closes), and Preferences > Avatar publishing a chosen picture scaled to
192 pixels, refusing a file that is no picture, and removing it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from slixmpp.xmlstream import ET

from chinwag.core.avatars import AvatarInfo, image_info
from chinwag.core.contact_details import SoftwareVersion, VCard
from chinwag.core.models import Presence, Show
from chinwag.storage.avatar_cache import AvatarFileCache
from chinwag.ui.avatar_page import PUBLISH_SIDE
from chinwag.ui.avatars import avatar_images, initial, letter_avatar
from chinwag.ui.contact_details_dialog import ContactDetailsDialog
from chinwag.ui.nick_colors import nick_color
from chinwag.ui.preferences_dialog import PreferencesDialog
from chinwag.xmpp.vcard import NS_VCARD4, parse_vcard4
from rig.images import png

if TYPE_CHECKING:
    from conftest import UiRig

ME = "me@example.org"  # (the rig's account and contact)
PEER = "peer@example.net"


async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Let the loop run until ``check()`` is truthy (each pass yields to the loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)
    return value


class Avatars:
    """A scripted XMPP side of avatars: serves and keeps pictures by hash."""

    def __init__(self) -> None:
        self.pictures: dict[str, bytes] = {}
        self.own: str | None = None

    async def fetch_pep_avatar(self, jid: str, item_id: str) -> bytes | None:
        return self.pictures.get(item_id)

    async def fetch_vcard_photo(self, jid: str) -> bytes | None:
        return None

    async def publish_avatar(self, data: bytes, info: AvatarInfo) -> None:
        self.pictures[info.id] = data

    async def clear_avatar(self) -> None:
        self.pictures.clear()

    def set_own_hash(self, sha1: str | None) -> None:
        self.own = sha1


class Profiles:
    """A scripted XMPP side of contact details."""

    def __init__(self, card: VCard) -> None:
        self.card = card

    async def fetch_vcard(self, jid: str) -> VCard:
        return self.card

    async def software_version(self, full_jid: str) -> SoftwareVersion:
        return SoftwareVersion("Conversations", "2.15", "Android")

    async def client_name(self, full_jid: str, caps_node: str) -> str:
        return ""

    def server_fingerprint(self) -> str:
        return "ab" * 32


def scripted(ui: UiRig, tmp_path: Path, card: VCard | None = None) -> Avatars:
    """The rig's core with a disk cache and scripted avatar and details transports (the
    rig's fake connection does neither)."""
    avatars = Avatars()
    ui.core.avatars._store = AvatarFileCache(tmp_path / "avatars")
    ui.core.avatars._transport = lambda _account: avatars
    ui.core.details._transport = lambda _account: Profiles(card or VCard())
    return avatars


def test_a_letter_avatar_has_the_first_letter_on_a_stable_xep_0392_colour(qapp: Any) -> None:
    assert initial("  émile") == "É"
    assert initial("42 things") == "4"
    assert initial("") == "?"
    first = letter_avatar("Bob", "bob@example.org", 40).toImage()
    again = letter_avatar("Bob", "bob@example.org", 40).toImage()
    assert first == again
    edge = first.pixelColor(20, 3)  # inside the disc, clear of the letter
    assert edge.rgb() == nick_color("bob@example.org").rgb()
    other = letter_avatar("Bob", "alice@example.org", 40).toImage().pixelColor(20, 3)
    assert other.rgb() != edge.rgb()
    assert first.pixelColor(0, 0).alpha() == 0  # a disc: the corners are clear


async def test_a_contacts_picture_replaces_their_letters_once_decoded(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    avatars = scripted(ui, tmp_path)
    picture = png(48, 48, (250, 0, 0))
    sha1 = hashlib.sha1(picture).hexdigest()
    avatars.pictures[sha1] = picture
    images = avatar_images(ui.ctx)
    letters = images.pixmap(ME, PEER, "Peer", 32).toImage()
    told: list[tuple[str, str]] = []
    images.changed.connect(lambda account, jid: told.append((account, jid)))
    ui.core.avatars.on_metadata(ME, PEER, [AvatarInfo(sha1, len(picture), "image/png")])
    await eventually(lambda: told, what="the changed signal")
    assert told[0] == (ME, PEER)
    await eventually(lambda: images.path(ME, PEER), what="the picture on disk")
    await eventually(
        lambda: images.pixmap(ME, PEER, "Peer", 32).toImage() != letters, what="decoded"
    )
    drawn = images.pixmap(ME, PEER, "Peer", 32).toImage()
    assert drawn.pixelColor(16, 16) == QColor(250, 0, 0)


async def test_the_details_dialog_shows_profile_devices_and_certificate(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    card = VCard((("fn", "Peer Example"), ("email", "peer@mail.example"), ("note", "Hi")))
    scripted(ui, tmp_path, card)
    await ui.sign_in()
    ui.set_contact(name="Pete", presence=Presence(Show.AWAY, "lunch", 5, "phone"))
    dialog = ContactDetailsDialog(ui.ctx, ME, PEER)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name_label.text() == "Pete"
    assert dialog.address_label.text() == PEER
    assert "see each other" in dialog.subscription_label.text()
    assert dialog.fingerprint_label.text().startswith("AB:AB:AB")

    def shown(form: Any) -> dict[str, str]:
        rows: dict[str, str] = {}
        for row in range(form.rowCount()):
            label = form.itemAt(row, form.ItemRole.LabelRole)
            field = form.itemAt(row, form.ItemRole.FieldRole)
            if label is not None and field is not None:
                rows[label.widget().text()] = field.widget().text()
        return rows

    await eventually(lambda: "Full name:" in shown(dialog.profile_form), what="the vCard")
    rows = shown(dialog.profile_form)
    assert rows["Full name:"] == "Peer Example"
    assert "peer@mail.example" in rows["Email:"]
    assert rows["Note:"] == "Hi"
    table = dialog.resources
    await eventually(lambda: table.item(0, 1).text() == "Conversations", what="versions")
    assert [table.item(0, c).text() for c in range(table.columnCount())] == [
        "phone",
        "Conversations",
        "2.15",
        "Android",
        "Away: lunch",
        "5",
    ]
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


async def test_a_vcard_of_10000_fields_shows_the_first_fifty(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    vcard = ET.Element(f"{{{NS_VCARD4}}}vcard")
    for n in range(10_000):
        ET.SubElement(
            ET.SubElement(vcard, f"{{{NS_VCARD4}}}tel"), f"{{{NS_VCARD4}}}uri"
        ).text = f"tel:+1-555-{n:05}"
    scripted(ui, tmp_path, parse_vcard4(vcard))
    await ui.sign_in()
    ui.set_contact()
    dialog = ContactDetailsDialog(ui.ctx, ME, PEER)
    qtbot.addWidget(dialog)
    await eventually(lambda: dialog.profile_form.rowCount() > 40, what="the vCard")
    assert dialog.profile_form.rowCount() == 1 + 50  # the note, then the fields
    assert dialog.vcard_status.text() == "Their profile is longer than shown here."


async def test_preferences_publish_a_chosen_picture_and_remove_it(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    avatars = scripted(ui, tmp_path)
    await ui.sign_in()
    dialog = PreferencesDialog(ui.ctx.preferences, ctx=ui.ctx)
    qtbot.addWidget(dialog)
    assert dialog.avatar_page is not None
    assert dialog.tabs.tabText(dialog.tabs.indexOf(dialog.avatar_page)) == "&Avatar"
    box = dialog.avatar_page.accounts[ME]
    assert not box.remove_button.isEnabled()  # nothing to remove yet

    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("shopping: eggs, milk")
    box.use_file(str(not_a_picture))
    await eventually(lambda: box.status.text().startswith("Not changed"), what="refusal")
    assert "not a picture" in box.status.text()
    assert avatars.pictures == {}

    photo = tmp_path / "photo.png"
    photo.write_bytes(png(400, 300, (0, 0, 255)))
    box.use_file(str(photo))
    await eventually(lambda: box.status.text().startswith("Done"), what="publishing")
    (published,) = avatars.pictures.values()
    assert image_info(published) == ("image/png", PUBLISH_SIDE, PUBLISH_SIDE)
    assert avatars.own == hashlib.sha1(published).hexdigest()
    assert box.remove_button.isEnabled()

    box.remove_button.click()
    await eventually(lambda: avatars.own == "", what="removal")
    await eventually(lambda: not box.remove_button.isEnabled(), what="the button to follow")
    assert avatars.pictures == {}
