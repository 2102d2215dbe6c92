"""Issue 16 end to end over the rig's real Prosody: a stock client (slixmpp) publishes its
avatar (XEP-0084) while the user's conversation window with it is open; the window's
header goes from the contact's letter avatar to their picture, without being reopened,
and back to letters when they take it down."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from slixmpp.xmlstream import ET
from test_avatars_over_prosody import metadata, peer_publish, watch_peer

from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.nick_colors import nick_color
from chinwag.xmpp.avatars import NS_DATA, NS_METADATA
from conftest import CoreMaker
from rig.images import png
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [
    pytest.mark.prosody,
    pytest.mark.qt_log_ignore(r"^This plugin does not support "),
]

GREEN = (0, 200, 0)


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)
    return value


@pytest.fixture
def keep_running(qapp: QApplication) -> Iterator[None]:
    """Closing the last window must not quit the app (and with it the test's loop)."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(before)


def centre(pixmap: QPixmap) -> QColor:
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def edge(pixmap: QPixmap) -> QColor:
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, max(2, image.height() // 12))


async def test_a_peers_published_avatar_shows_in_the_open_conversation_header(
    prosody: ProsodyServer, cores: CoreMaker, keep_running: None, qtbot: QtBot
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bridge = EventBridge(alice.core.bus)
    ctx: UiContext

    def chat(account: str, peer: str) -> object:
        return ConversationWindow(ctx, account, peer)

    ctx = UiContext(alice.core, bridge, ConversationWindows(chat, chat, lambda *_: False))
    try:
        async with XmppPeer(prosody, *prosody.make_user("carol")) as carol:
            await watch_peer(alice, carol)
            window = ctx.windows.open(alice.jid, carol.jid)
            assert isinstance(window, ConversationWindow)
            header = window.header_avatar
            assert header.picture_path == ""
            assert edge(header.pixmap()).rgb() == nick_color(carol.jid).rgb()

            picture = png(48, 48, GREEN)
            sha1 = hashlib.sha1(picture).hexdigest()
            data = ET.Element(f"{{{NS_DATA}}}data")
            data.text = base64.b64encode(picture).decode()
            await peer_publish(carol, NS_DATA, sha1, data)
            await peer_publish(carol, NS_METADATA, sha1, metadata(sha1, len(picture)))
            await eventually(
                lambda: centre(header.pixmap()) == QColor(*GREEN), what="carol's picture"
            )
            assert header.picture_path.endswith(sha1)
            assert window.header_avatar is header  # the same window, drawn again

            await peer_publish(
                carol, NS_METADATA, "current", ET.Element(f"{{{NS_METADATA}}}metadata")
            )
            await eventually(lambda: header.picture_path == "", what="taken down")
            await eventually(
                lambda: edge(header.pixmap()).rgb() == nick_color(carol.jid).rgb(),
                what="letters again",
            )
    finally:
        ctx.windows.close_all()
        bridge.close()
