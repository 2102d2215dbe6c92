"""Issue 16's avatars in the windows: the conversation header shows the contact's letters
and then, live, their picture; its avatar, the details button and Ctrl+I open the
contact details; a room's participants show letters on their nick's colour, or the
picture of their real address where we have it (never that of an address a nick
spells); the main window shows the user's own avatar (a click: Preferences > Avatar);
notifications carry the sender's avatar as a file (the cached picture, else their
letters drawn to a PNG) and the tray balloon shows it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from test_avatars_and_details import scripted
from test_tray import FakeNotificationServer, serve

from chinwag.core.avatars import AvatarInfo
from chinwag.core.models import ConversationKind, Role
from chinwag.storage.avatar_cache import AvatarFileCache
from chinwag.ui.contact_details_dialog import ContactDetailsDialog
from chinwag.ui.main_window import MainWindow
from chinwag.ui.nick_colors import nick_color
from chinwag.ui.notifications import Notifier
from chinwag.ui.preferences_dialog import PreferencesDialog
from chinwag.ui.room_window import OccupantsModel, RoomWindow
from chinwag.ui.tray import Tray
from chinwag.ui.window_avatars import NOTIFICATION_SIDE, OCCUPANT_SIDE, NotificationImages
from rig.dbus import PrivateSessionBus, close_message_bus
from rig.images import png

if TYPE_CHECKING:
    from conftest import UiRig

ME = "me@example.org"
PEER = "peer@example.net"
ROOM = "lounge@rooms.example.org"
RED = (250, 0, 0)


def centre(pixmap: QPixmap) -> QColor:
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def edge(pixmap: QPixmap) -> QColor:
    """Inside the disc, clear of the letter (and of a presence badge)."""
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, max(2, image.height() // 12))


def publish(ui: UiRig, avatars: Any, jid: str, rgb: tuple[int, int, int] = RED) -> str:
    """``jid`` announces a picture of one colour (XEP-0084) that the scripted side holds."""
    picture = png(48, 48, rgb)
    sha1 = hashlib.sha1(picture).hexdigest()
    avatars.pictures[sha1] = picture
    ui.core.avatars.on_metadata(ME, jid, [AvatarInfo(sha1, len(picture), "image/png")])
    return sha1


async def test_the_header_shows_letters_then_the_picture_as_it_arrives(
    ui: UiRig, tmp_path: Path, conversation_window: Any
) -> None:
    avatars = scripted(ui, tmp_path)
    await ui.sign_in()
    ui.set_contact(name="Pete")
    window = await conversation_window(PEER)
    header = window.header_avatar
    await ui.until(lambda: header.name == "Pete", what="the roster name")
    assert header.picture_path == ""
    assert edge(header.pixmap()).rgb() == nick_color(PEER).rgb()  # letters, their colour

    sha1 = publish(ui, avatars, PEER)
    await ui.until(lambda: centre(header.pixmap()) == QColor(*RED), what="the picture")
    assert Path(header.picture_path).name == sha1

    ui.core.avatars.on_metadata(ME, PEER, [])  # they take it down: letters again
    await ui.until(lambda: header.picture_path == "", what="letters again")
    await ui.until(lambda: edge(header.pixmap()).rgb() == nick_color(PEER).rgb(), what="drawn")


async def test_a_stranger_without_a_name_has_letters_from_the_first_paint(
    ui: UiRig, conversation_window: Any
) -> None:
    await ui.sign_in()
    window = await conversation_window("zed@example.com")  # not in the roster: no name
    header = window.header_avatar
    assert header.name == "zed@example.com"
    assert not header.pixmap().isNull()
    assert edge(header.pixmap()).rgb() == nick_color("zed@example.com").rgb()


async def test_ctrl_i_the_button_and_the_avatar_open_the_contact_details(
    ui: UiRig, tmp_path: Path, conversation_window: Any, qtbot: Any
) -> None:
    scripted(ui, tmp_path)
    await ui.sign_in()
    ui.set_contact(name="Pete")
    window = await conversation_window(PEER)

    def dialogs() -> list[ContactDetailsDialog]:
        return [d for d in window.findChildren(ContactDetailsDialog) if d.isVisible()]

    qtbot.keyClick(window.compose, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    await ui.until(dialogs, what="the details dialog")
    (dialog,) = dialogs()
    assert (dialog.account, dialog.jid) == (ME, PEER)
    assert dialog.name_label.text() == "Pete"
    dialog.close()
    await ui.until(lambda: not dialogs(), what="closed")

    button = window.findChild(type(window.jump_button), "contactDetails")
    assert button is not None
    assert button.accessibleName() == "Contact details"
    button.click()
    await ui.until(dialogs, what="the details dialog again")
    qtbot.mouseClick(window.header_avatar, Qt.MouseButton.LeftButton)  # the same one, raised
    assert len(dialogs()) == 1


async def test_a_room_has_no_contact_details(ui: UiRig, qtbot: Any) -> None:
    await ui.sign_in()
    window = ui.windows.open(ME, ROOM, kind=ConversationKind.GROUPCHAT)
    assert isinstance(window, RoomWindow)
    assert window.show_details() is None
    assert window.findChild(type(window.jump_button), "contactDetails") is None
    # (its header shows the room's letters on the room's colour)
    await ui.until(lambda: window.header_avatar.name == "lounge", what="the room's name")
    assert edge(window.header_avatar.pixmap()).rgb() == nick_color(ROOM).rgb()


async def test_participants_show_letters_on_their_nick_colour_or_a_known_picture(
    ui: UiRig, tmp_path: Path
) -> None:
    avatars = scripted(ui, tmp_path)
    await ui.sign_in()
    window = ui.windows.open(ME, ROOM, kind=ConversationKind.GROUPCHAT)
    assert isinstance(window, RoomWindow)
    await ui.until(lambda: ui.conn.joins, what="the join")
    ui.conn.enter(ROOM, "Me")
    ui.conn.room_presence(ROOM, "bob", jid="bob@example.org/laptop")
    ui.conn.room_presence(ROOM, "carol", jid="carol@example.org")
    # a nick spelling an address whose picture we have: still letters
    ui.conn.room_presence(ROOM, "carol@example.org", role=Role.VISITOR)
    model: OccupantsModel = window.occupants

    def avatar(nick: str) -> QPixmap:
        model.refresh()
        row = model.row_of(nick)
        assert row is not None, nick
        decoration = model.index(row).data(Qt.ItemDataRole.DecorationRole)
        assert isinstance(decoration, QPixmap)
        return decoration

    def everyone() -> bool:
        model.refresh()
        return len(model.nicks()) == 4

    await ui.until(everyone, what="four in the room")
    assert edge(avatar("bob")).rgb() == nick_color("bob").rgb()
    assert edge(avatar("carol")).rgb() == nick_color("carol").rgb()

    publish(ui, avatars, "carol@example.org")  # carol's real address has a picture
    await ui.until(lambda: centre(avatar("carol")) == QColor(*RED), what="carol's picture")
    assert edge(avatar("bob")).rgb() == nick_color("bob").rgb()
    impostor = avatar("carol@example.org")
    assert edge(impostor).rgb() == nick_color("carol@example.org").rgb()
    assert centre(impostor) != QColor(*RED)
    # their presence on the lower corner of the picture
    shown = avatar("carol").toImage()
    corner = shown.pixelColor(shown.width() - 4, shown.height() - 4)
    assert corner != QColor(*RED)
    assert window.participants_view.iconSize().width() == OCCUPANT_SIDE


async def test_the_main_window_shows_your_own_avatar_and_a_click_changes_it(
    ui: UiRig, tmp_path: Path, qtbot: Any
) -> None:
    scripted(ui, tmp_path)
    await ui.sign_in()
    window = MainWindow(ui.ctx)
    qtbot.addWidget(window)
    window.show()
    own = window.status_header.avatar
    assert (own.account, own.jid, own.name) == (ME, ME, "Me")
    assert edge(own.pixmap()).rgb() == nick_color(ME).rgb()

    await ui.core.avatars.set_own(ME, png(64, 64, (0, 0, 250)))
    await ui.until(lambda: centre(own.pixmap()) == QColor(0, 0, 250), what="own picture")

    qtbot.mouseClick(own, Qt.MouseButton.LeftButton)
    dialog = window._dialogs.get(PreferencesDialog)
    assert isinstance(dialog, PreferencesDialog)
    assert dialog.isVisible()
    assert dialog.tabs.currentWidget() is dialog.avatar_page
    window.really_quit = True
    dialog.close()
    window.close()


@pytest.fixture
async def desktop(dbus_bus: PrivateSessionBus) -> Any:
    server = FakeNotificationServer()
    bus = await serve(dbus_bus.address, server)
    try:
        yield server
    finally:
        await close_message_bus(bus)


def image_of(call: dict[str, Any]) -> Path:
    uri = call["hints"]["image-path"]
    assert uri.startswith("file://")
    return Path(unquote(urlparse(uri).path))


async def test_a_notification_carries_the_senders_avatar(
    ui: UiRig, tmp_path: Path, desktop: FakeNotificationServer
) -> None:
    avatars = scripted(ui, tmp_path)
    await ui.sign_in()
    ui.set_contact(name="Pete")
    notifier = Notifier(None, min_interval=0, images=NotificationImages(ui.ctx))
    try:
        notifier.notify("Pete", "hello", ME, PEER)
        await ui.until(lambda: notifier.backend == "dbus", what="the notification")
        letters = image_of(desktop.calls[0])  # none published: their letters, as a PNG
        assert letters.parent == tmp_path / "avatars" / "rendered"
        drawn = QImage(str(letters))
        assert drawn.width() == NOTIFICATION_SIDE
        assert drawn.pixelColor(NOTIFICATION_SIDE // 2, 4).rgb() == nick_color(PEER).rgb()

        notifier.withdraw(ME, PEER)  # (drawn once: the next one uses the same file)
        notifier.notify("Pete", "again", ME, PEER)
        await ui.until(lambda: len(desktop.calls) == 2, what="the second")
        assert image_of(desktop.calls[1]) == letters

        sha1 = publish(ui, avatars, PEER)
        await ui.until(lambda: ui.core.avatars.path(ME, PEER), what="the picture kept")
        notifier.withdraw(ME, PEER)
        notifier.notify("Pete", "with a face", ME, PEER)
        await ui.until(lambda: len(desktop.calls) == 3, what="the third")
        picture = image_of(desktop.calls[2])
        assert picture == tmp_path / "avatars" / sha1
    finally:
        await notifier.aclose()


async def test_the_tray_balloon_shows_the_senders_avatar(
    ui: UiRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    avatars = scripted(ui, tmp_path)
    await ui.sign_in()
    ui.set_contact(name="Pete")
    publish(ui, avatars, PEER)
    images = NotificationImages(ui.ctx)
    await ui.until(lambda: ui.core.avatars.path(ME, PEER), what="the picture kept")
    # (decoded for the windows first: the balloon uses what is decoded, never waits)
    await ui.until(
        lambda: centre(images.icon(ME, PEER).pixmap(64, 64)) == QColor(*RED), what="decoded"
    )
    tray = Tray(ui.ctx)
    shown: list[tuple[str, QIcon | None]] = []

    def balloon(title: str, body: str, msecs: int = 0, *, icon: QIcon | None = None) -> bool:
        shown.append((title, icon))
        return True

    monkeypatch.setattr(tray, "show_message", balloon)
    notifier = Notifier(tray, images=images)  # no session bus here: the tray's balloon
    try:
        notifier.notify("Pete", "hello", ME, PEER)
        await ui.until(lambda: shown, what="the balloon")
        ((title, icon),) = shown
        assert title == "Pete"
        assert icon is not None
        assert centre(icon.pixmap(64, 64)) == QColor(*RED)
    finally:
        await notifier.aclose()
        tray.close()


def test_rendered_pictures_are_kept_only_under_their_own_names(tmp_path: Path) -> None:
    cache = AvatarFileCache(tmp_path / "avatars")
    name = "a" * 40 + ".png"
    assert cache.rendered_path(name) is None
    kept = cache.write_rendered(name, b"png")
    assert cache.rendered_path(name) == kept == tmp_path / "avatars" / "rendered" / name
    for bad in ("../index.json", "a" * 40, "x.png"):
        with pytest.raises(ValueError, match="not a rendered"):
            cache.write_rendered(bad, b"png")
        assert cache.rendered_path(bad) is None
