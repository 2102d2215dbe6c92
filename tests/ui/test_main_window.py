"""The main window driven as a person would: typing in the filter, keys and clicks on the
list, the menus and the context menu, the subscription banners and the status header.

The core is real (real SQLite storage, real sessions, roster and messaging services);
only the network is a scripted connection (:class:`FakeConnection`) that records what
would be sent, so sign-in, approve/deny and roster edits go through the core exactly as
in the application. Conversation windows are a stub that records ``open`` calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QPalette
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QWidget

from chinwag.core.errors import AuthenticationFailed
from chinwag.core.events import StorageFailed, StorageRecovered
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    ConnectionState,
    Contact,
    ConversationKind,
    Direction,
    DiscoInfo,
    DiscoItemsPage,
    Message,
    MessageState,
    Origin,
    Presence,
    Show,
    Subscription,
)
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.status import SELECTABLE, Status
from chinwag.core.users import NICK
from chinwag.storage import SqliteMessageStore
from chinwag.system.config import JsonConfigStore
from chinwag.system.secrets import FileSecretStore
from chinwag.ui import roster_model
from chinwag.ui.bridge import EventBridge
from chinwag.ui.contact_details_dialog import ContactDetailsDialog
from chinwag.ui.context import UiContext
from chinwag.ui.icons import status_icon
from chinwag.ui.main_window import EMPTY_ROSTER_HINT, MAX_BANNERS, MainWindow
from chinwag.ui.roster_model import RosterRole

ME = "me@example.org"


class FakeConnection:
    """The network, scripted: ``mode`` is "ok" (signs in), "hang" (never answers) or
    "fail" (wrong password). Records what would be sent."""

    def __init__(self, listener: ConnectionListener, mode: str) -> None:
        self.listener = listener
        self.mode = mode
        self.presences: list[tuple[Show, str]] = []
        self.subscriptions: list[tuple[str, str]] = []
        self.roster_sets: list[tuple[str, str, list[str]]] = []
        self.roster_removes: list[str] = []
        self.blocks: list[tuple[str, ...]] = []

    @property
    def acks_enabled(self) -> bool:
        return True

    async def connect(self) -> None:
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "fail":
            raise AuthenticationFailed("not-authorized")
        self.listener.on_session_started(False)

    async def disconnect(self) -> None:
        self.listener.on_disconnected(None)

    def abort(self) -> None:
        pass

    def send_message(self, message: Message) -> None:
        pass

    def unacked_uids(self) -> set[str]:
        return set()  # nothing is sent, so nothing waits for an acknowledgement

    def send_receipt(self, to: str, uid: str) -> None:
        pass

    def send_displayed(
        self, to: str, uid: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        pass

    def send_chat_state(
        self, to: str, state: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        pass

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        pass

    def join_room(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        pass

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        pass

    def set_room_subject(self, room: str, subject: str) -> None:
        pass

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        pass

    def change_nick(self, room: str, nick: str) -> None:
        pass

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        pass

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        pass

    async def destroy_room(self, room: str, reason: str = "") -> None:
        pass

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        return []

    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None:
        pass

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        pass

    def decline(self, room: str, inviter: str, reason: str = "") -> None:
        pass

    def send_presence(self, show: Show, status: str, priority: int) -> None:
        self.presences.append((show, status))

    def send_subscription(self, to: str, kind: str) -> None:
        self.subscriptions.append((to, kind))

    async def block(self, jids: Sequence[str]) -> None:
        self.blocks.append(("block", *jids))

    async def unblock(self, jids: Sequence[str]) -> None:
        self.blocks.append(("unblock", *jids))

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        self.roster_sets.append((jid, name, list(groups)))

    async def roster_remove(self, jid: str) -> None:
        self.roster_removes.append(jid)

    async def server_time(self) -> float | None:
        return None

    async def fetch_bookmarks(self) -> list[Bookmark]:
        return []

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        pass

    async def retract_bookmark(self, room: str) -> None:
        pass

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        return None

    async def publish_user_data(self, node: str, data: str) -> None:
        pass

    async def delete_user_data(self, node: str) -> None:
        pass

    async def disco_info(self, jid: str) -> DiscoInfo:
        return DiscoInfo(jid)

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        return DiscoItemsPage()

    async def ping_occupant(self, room: str, nick: str) -> str:
        return ""

    async def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        return
        yield  # an async generator with nothing in it

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        return ArchiveSlice()


class Network:
    """The connection factory: the next connections behave as ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.connections: list[FakeConnection] = []

    def __call__(
        self, config: AccountConfig, password: str, listener: ConnectionListener, **_: Any
    ) -> FakeConnection:
        conn = FakeConnection(listener, self.mode)
        self.connections.append(conn)
        return conn

    @property
    def conn(self) -> FakeConnection:
        return self.connections[-1]


class Windows:
    """ConversationWindows stand-in: records who was opened."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []

    def open(self, account: str, peer: str, *, activate: bool = True) -> None:
        self.opened.append((account, peer))


class Blocking:
    """The blocking service the core is getting (``core.blocking``), recorded."""

    def __init__(self) -> None:
        self.blocked: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, str, str]] = []

    async def block(self, account: str, jid: str) -> None:
        self.calls.append(("block", account, jid))
        self.blocked.add((account, jid))

    async def unblock(self, account: str, jid: str) -> None:
        self.calls.append(("unblock", account, jid))
        self.blocked.discard((account, jid))

    def is_blocked(self, account: str, jid: str) -> bool:
        return (account, jid) in self.blocked


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
async def core(tmp_path: Path, network: Network) -> AsyncIterator[ChinwagCore]:
    core = ChinwagCore(
        SqliteMessageStore.open(tmp_path / "h.db"),
        FileSecretStore(tmp_path / "secrets.json"),
        JsonConfigStore(tmp_path / "accounts.json"),
        network,
    )
    core.add_account(AccountConfig(jid=ME, nickname="Morgan"), "pw")
    core.roster.on_roster(
        ME,
        [
            Contact(ME, "alice@wonderland.lit", "Alice", ("Friends",), Subscription.BOTH),
            Contact(ME, "bob@builder.example", "Bob", ("Friends", "Work"), Subscription.BOTH),
            Contact(ME, "carol@x.org", "Carol", ("Work",), Subscription.BOTH),
        ],
        "v1",
        True,
    )
    core.roster.on_presence(ME, "alice@wonderland.lit", Presence(Show.ONLINE, resource="pc"))
    try:
        yield core
    finally:
        await core.shutdown()


@pytest.fixture
def ctx(core: ChinwagCore) -> Iterator[UiContext]:
    bridge = EventBridge(core.bus)
    yield UiContext(core, bridge, Windows())  # type: ignore[arg-type]
    bridge.close()


@pytest.fixture
def window(ctx: UiContext, qtbot: Any) -> Iterator[MainWindow]:
    window = MainWindow(ctx)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.really_quit = True
    window.close()
    window.deleteLater()


async def until(check: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Let the event loop run until ``check()`` holds (no nested loop)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await asyncio.sleep(0.01)
    return value


def shown(window: MainWindow) -> list[tuple[str, list[str]]]:
    model = window.contact_view.model()
    out = []
    for row in range(model.rowCount()):
        group = model.index(row, 0)
        out.append(
            (group.data(), [model.index(r, 0, group).data() for r in range(model.rowCount(group))])
        )
    return out


def row_of(window: MainWindow, jid: str, group: str | None = None) -> QModelIndex:
    model = window.contact_view.model()
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        for r in range(model.rowCount(parent)):
            index = model.index(r, 0, parent)
            if index.data(RosterRole.JID) == jid and group in (None, parent.data()):
                return index
    raise AssertionError(f"{jid} is not shown")


async def signed_in(core: ChinwagCore, network: Network) -> FakeConnection:
    await core.sign_in(ME)
    await core.messaging.wait_archive_synced(ME)
    return network.conn


# -- the filter ---------------------------------------------------------------------------


async def test_typing_in_the_filter_narrows_the_list_and_escape_clears_it(
    window: MainWindow, qtbot: Any
) -> None:
    everyone = shown(window)
    assert everyone == [("Friends", ["Alice", "Bob"]), ("Work", ["Bob", "Carol"])]
    assert window.filter_edit.placeholderText() == "Find a contact"

    window.filter_edit.setFocus()
    qtbot.keyClicks(window.filter_edit, "bo")
    assert shown(window) == [("Friends", ["Bob"]), ("Work", ["Bob"])]
    qtbot.keyClicks(window.filter_edit, "b@BUILDER")  # the address, in any case
    assert shown(window) == [("Friends", ["Bob"]), ("Work", ["Bob"])]
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(window.filter_edit, "x")
    assert shown(window) == []

    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)
    assert window.filter_edit.text() == ""
    assert shown(window) == everyone


async def test_ctrl_f_finds_down_walks_into_the_list_and_enter_opens_the_match(
    window: MainWindow, ctx: UiContext, qtbot: Any
) -> None:
    window.activateWindow()
    await until(window.isActiveWindow)
    window.contact_view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus()

    qtbot.keyClicks(window.filter_edit, "car")
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Return)  # the best match
    assert ctx.windows.opened == [(ME, "carol@x.org")]  # type: ignore[attr-defined]

    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Down)
    assert window.contact_view.hasFocus()
    assert window.contact_view.currentIndex().data(RosterRole.JID) == "carol@x.org"


async def test_tab_goes_from_the_filter_to_the_list(window: MainWindow, qtbot: Any) -> None:
    window.activateWindow()
    await until(window.isActiveWindow)
    window.filter_edit.setFocus()
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Tab)
    assert window.contact_view.hasFocus()
    qtbot.keyClick(window.contact_view, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert window.filter_edit.hasFocus()


# -- the view menu ------------------------------------------------------------------------


async def test_show_offline_contacts_can_be_switched_off_and_on(
    window: MainWindow, core: ChinwagCore
) -> None:
    assert window.show_offline_action.isChecked()
    window.show_offline_action.trigger()
    assert shown(window) == [("Friends", ["Alice"])]

    core.roster.on_presence(ME, "carol@x.org", Presence(Show.AWAY, resource="pc"))
    await until(lambda: shown(window) == [("Friends", ["Alice"]), ("Work", ["Carol"])])

    window.show_offline_action.trigger()
    assert shown(window) == [("Friends", ["Alice", "Bob"]), ("Work", ["Bob", "Carol"])]


async def test_sort_by_status_puts_the_most_available_first(
    window: MainWindow, core: ChinwagCore
) -> None:
    core.roster.on_presence(ME, "bob@builder.example", Presence(Show.DND, resource="pc"))
    window.roster_model.flush()
    window.sort_by_status_action.trigger()
    assert window.sort_by_status_action.isChecked()
    assert not window.sort_by_name_action.isChecked()
    assert shown(window) == [("Friends", ["Alice", "Bob"]), ("Work", ["Bob", "Carol"])]

    core.roster.on_presence(ME, "carol@x.org", Presence(Show.CHAT, resource="pc"))
    await until(lambda: shown(window)[1] == ("Work", ["Carol", "Bob"]))

    window.sort_by_name_action.trigger()
    assert shown(window)[1] == ("Work", ["Bob", "Carol"])


# -- opening a conversation ---------------------------------------------------------------


async def test_double_click_and_enter_open_the_conversation_of_that_contact(
    window: MainWindow, ctx: UiContext, qtbot: Any
) -> None:
    view = window.contact_view
    opened = ctx.windows.opened  # type: ignore[attr-defined]
    bob = row_of(window, "bob@builder.example", "Work")
    where = view.visualRect(bob).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert opened == []  # a single click selects
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert opened == [(ME, "bob@builder.example")]

    view.setFocus()
    view.setCurrentIndex(row_of(window, "alice@wonderland.lit"))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened == [(ME, "bob@builder.example"), (ME, "alice@wonderland.lit")]

    # Enter on a group folds or unfolds it, and opens nothing.
    group = bob.parent()
    view.setCurrentIndex(group)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not view.isExpanded(group)
    qtbot.keyClick(view, Qt.Key.Key_Enter)
    assert view.isExpanded(group)
    assert len(opened) == 2


async def test_folded_groups_stay_folded_after_filtering(window: MainWindow, qtbot: Any) -> None:
    view = window.contact_view
    work = row_of(window, "carol@x.org").parent()
    view.setFocus()
    view.setCurrentIndex(work)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert not view.isExpanded(work)

    qtbot.keyClicks(window.filter_edit, "carol")  # while filtering every group is open
    assert view.isExpanded(row_of(window, "carol@x.org").parent())
    window.filter_edit.clear()
    work = row_of(window, "carol@x.org").parent()
    assert not view.isExpanded(work)  # the user's folding is back
    assert view.isExpanded(row_of(window, "alice@wonderland.lit").parent())


async def test_a_group_coming_back_in_a_big_batch_is_unfolded(
    window: MainWindow, core: ChinwagCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_model, "SETTLE_LAYOUT_ROWS", 0)  # every batch: a layout change
    window.show_offline_action.trigger()
    assert shown(window) == [("Friends", ["Alice"])]
    core.roster.on_presence(ME, "carol@x.org", Presence(Show.ONLINE, resource="pc"))
    await until(lambda: len(shown(window)) == 2)
    work = row_of(window, "carol@x.org").parent()
    assert window.contact_view.isExpanded(work)


# -- subscription requests ------------------------------------------------------------------


async def test_subscription_requests_are_banners_answered_with_accept_or_decline(
    window: MainWindow, core: ChinwagCore, network: Network, qtbot: Any
) -> None:
    conn = await signed_in(core, network)
    conn.listener.on_subscription("zed@z.org", "subscribe", "Zed")
    conn.listener.on_subscription("yan@y.org", "subscribe", "")
    banners = window.subscription_banners()
    assert [(b.jid, b.isVisible()) for b in banners] == [("zed@z.org", True), ("yan@y.org", True)]
    assert "Zed" in banners[0].label.text()

    qtbot.mouseClick(banners[0].accept_button, Qt.MouseButton.LeftButton)
    assert ("zed@z.org", "subscribed") in conn.subscriptions
    assert ("zed@z.org", "subscribe") in conn.subscriptions  # asking back: not in the roster
    assert [b.jid for b in window.subscription_banners()] == ["yan@y.org"]

    qtbot.mouseClick(window.subscription_banners()[0].decline_button, Qt.MouseButton.LeftButton)
    assert ("yan@y.org", "unsubscribed") in conn.subscriptions
    assert window.subscription_banners() == []
    assert core.roster.pending_requests(ME) == {}


async def test_a_request_answered_while_signed_out_stays_with_a_notice(
    window: MainWindow, core: ChinwagCore, qtbot: Any
) -> None:
    core.roster.on_subscription(ME, "zed@z.org", "subscribe", "Zed")
    banner = window.subscription_banners()[0]
    qtbot.mouseClick(banner.accept_button, Qt.MouseButton.LeftButton)
    assert window.subscription_banners() == [banner]
    assert "zed@z.org" in window.statusBar().currentMessage()


async def test_a_flood_of_requests_shows_a_few_banners_and_a_count(
    window: MainWindow, core: ChinwagCore
) -> None:
    for n in range(MAX_BANNERS + 4):
        core.roster.on_subscription(ME, f"spam{n}@x.org", "subscribe", "")
    assert len(window.subscription_banners()) == MAX_BANNERS
    assert "4 more" in window._more_requests.text()


async def test_pending_requests_are_shown_when_the_window_opens(
    core: ChinwagCore, ctx: UiContext, qtbot: Any
) -> None:
    core.roster.on_subscription(ME, "early@x.org", "subscribe", "Early")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.really_quit = True
    assert [b.jid for b in window.subscription_banners()] == ["early@x.org"]


# -- the status header ----------------------------------------------------------------------


async def test_status_selector_lists_the_statuses_in_order_with_own_name(
    window: MainWindow,
) -> None:
    header = window.status_header
    combo = header.status_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [s.label for s in SELECTABLE]
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Online",
        "Busy",
        "Be right back",
        "Away",
        "Out to lunch",
        "Appear offline",
        "Offline",
    ]
    assert all(not combo.itemIcon(i).isNull() for i in range(combo.count()))
    assert header.status is Status.OFFLINE  # not signed in yet
    assert header.name_label.text() == "Morgan"


async def test_choosing_offline_signs_out(
    window: MainWindow,
    core: ChinwagCore,
    network: Network,
    qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await signed_in(core, network)
    combo = window.status_header.status_combo
    await until(lambda: window.status_header.status is Status.ONLINE)
    calls: list[str | None] = []
    sign_out = core.sign_out

    async def recording_sign_out(account: str | None = None) -> bool:
        calls.append(account)
        return await sign_out(account)

    monkeypatch.setattr(core, "sign_out", recording_sign_out)
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_End)  # the last entry: Offline
    assert combo.currentText() == "Offline"
    await until(lambda: core.state(ME) is ConnectionState.OFFLINE)
    assert calls == [None]  # every account


async def test_choosing_a_status_while_signed_out_signs_in_with_it(
    window: MainWindow, core: ChinwagCore, network: Network, qtbot: Any
) -> None:
    header = window.status_header
    network.mode = "hang"
    qtbot.keyClicks(header.message_edit, "Back at 3")
    header.pick(Status.BUSY)
    await until(lambda: core.state(ME) is ConnectionState.CONNECTING)
    assert header.state_label.isVisible()
    assert header.state_label.text() == "Connecting…"
    assert header.status is Status.BUSY
    combo, connecting = header.status_combo, status_icon(Status.CONNECTING).cacheKey()
    assert combo.itemIcon(combo.currentIndex()).cacheKey() == connecting

    await core.sign_out()
    network.mode = "ok"
    header.pick(Status.AWAY)
    await until(lambda: core.state(ME) is ConnectionState.ONLINE)
    assert network.conn.presences[-1] == (Show.AWAY, "Back at 3")  # sent on sign-in
    assert core.session(ME).picked is Status.AWAY
    assert not header.state_label.isVisible()
    assert all(combo.itemIcon(i).cacheKey() != connecting for i in range(combo.count()))


async def test_a_failed_sign_in_shows_why(
    window: MainWindow, core: ChinwagCore, network: Network
) -> None:
    network.mode = "fail"
    window.status_header.pick(Status.ONLINE)
    await until(lambda: core.state(ME) is ConnectionState.FAILED)
    label = window.status_header.state_label
    await until(label.isVisible)
    assert "not-authorized" in label.text()
    assert window.status_header.status is Status.OFFLINE


async def test_the_status_message_is_applied_with_enter_and_escape_undoes(
    window: MainWindow, core: ChinwagCore, network: Network, qtbot: Any
) -> None:
    conn = await signed_in(core, network)
    edit = window.status_header.message_edit
    qtbot.keyClicks(edit, "Reading")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert core.session(ME).status == "Reading"
    assert conn.presences[-1] == (Show.ONLINE, "Reading")

    qtbot.keyClicks(edit, " a book")
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == "Reading"


async def test_a_status_picked_with_no_account_asks_for_one(
    window: MainWindow, core: ChinwagCore
) -> None:
    core.accounts.remove(ME)
    asked: list[bool] = []
    window.accounts_requested.connect(lambda: asked.append(True))
    window.status_header.pick(Status.ONLINE)
    assert asked == [True]
    assert window.status_header.name_label.text() == "No account"


# -- the context menu ------------------------------------------------------------------------


def action(menu: Any, text: str) -> Any:
    for act in menu.actions():
        if act.text().replace("&", "") == text:
            return act
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


async def test_context_menu_sends_a_message_renames_and_moves(
    window: MainWindow, core: ChinwagCore, ctx: UiContext, network: Network
) -> None:
    conn = await signed_in(core, network)
    bob = row_of(window, "bob@builder.example", "Work")
    menu = window.menu_for(bob)
    assert menu is not None
    assert window.menu_for(bob.parent()) is None  # groups have none

    action(menu, "Send message").trigger()
    assert ctx.windows.opened == [(ME, "bob@builder.example")]  # type: ignore[attr-defined]

    action(menu, "Details…").trigger()  # (its module is imported then, not at start)
    (details,) = window.findChildren(ContactDetailsDialog)
    assert (details.account, details.jid, details.isVisible()) == (ME, "bob@builder.example", True)
    details.close()

    action(menu, "Rename…").trigger()
    dialog = window.findChild(QInputDialog)
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.textValue() == "Bob"
    assert not dialog.isModal() or dialog.windowModality() != Qt.WindowModality.ApplicationModal
    dialog.setTextValue("Robert")
    dialog.accept()
    await until(lambda: conn.roster_sets)
    assert conn.roster_sets[-1] == ("bob@builder.example", "Robert", ["Friends", "Work"])

    move = action(menu, "Move to group").menu()
    assert [a.text() for a in move.actions() if a.text()] == [
        "Contacts",
        "Friends",
        "Work",
        "New group…",
    ]
    assert not action(move, "Work").isEnabled()  # where it is already
    action(move, "Contacts").trigger()  # out of Work; still in Friends
    await until(lambda: len(conn.roster_sets) == 2)
    assert conn.roster_sets[-1] == ("bob@builder.example", "Bob", ["Friends"])

    action(move, "New group…").trigger()
    new = [d for d in window.findChildren(QInputDialog) if d.isVisible()][-1]
    new.setTextValue("Builders")
    new.accept()
    await until(lambda: len(conn.roster_sets) == 3)
    assert conn.roster_sets[-1] == ("bob@builder.example", "Bob", ["Friends", "Builders"])


async def test_remove_contact_asks_first_without_blocking(
    window: MainWindow, core: ChinwagCore, network: Network
) -> None:
    conn = await signed_in(core, network)
    menu = window.menu_for(row_of(window, "carol@x.org"))
    assert menu is not None
    action(menu, "Remove contact…").trigger()
    box = window.findChild(QMessageBox)
    assert box is not None
    assert box.isVisible()  # open(), not exec(): we are still running
    assert "Carol" in box.text()
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    cancel.click()
    await asyncio.sleep(0.05)
    assert conn.roster_removes == []

    action(menu, "Remove contact…").trigger()
    box = [b for b in window.findChildren(QMessageBox) if b.isVisible()][-1]
    remove = next(b for b in box.buttons() if b.text() == "Remove")
    remove.click()
    await until(lambda: conn.roster_removes)
    assert conn.roster_removes == ["carol@x.org"]


async def test_rename_and_remove_name_the_contact_as_the_list_does(
    window: MainWindow, core: ChinwagCore, network: Network
) -> None:
    conn = await signed_in(core, network)
    core.roster.on_roster(
        ME, [Contact(ME, "dan@x.org", "", ("Work",), Subscription.BOTH)], "v2", False
    )
    core.users.on_push(ME, "dan@x.org", NICK, "Danny")  # the nickname dan publishes
    window.filter_model.set_show_offline(True)
    await until(lambda: ("Work", ["Bob", "Carol", "Danny"]) in shown(window))

    dialog = window.rename_contact(ME, "dan@x.org")
    assert dialog.textValue() == "Danny"  # the name the list shows
    dialog.accept()  # unchanged: the nickname is not made the user's name for dan
    dialog = window.rename_contact(ME, "dan@x.org")
    dialog.setTextValue("Daniel")
    dialog.accept()
    await until(lambda: conn.roster_sets)
    assert conn.roster_sets == [("dan@x.org", "Daniel", ["Work"])]

    box = window.remove_contact(ME, "dan@x.org")
    assert box.text() == "Remove Danny (dan@x.org) from your contacts?"
    box.button(QMessageBox.StandardButton.Cancel).click()


async def test_a_failed_change_is_a_notice_not_a_crash(window: MainWindow) -> None:
    dialog = window.rename_contact(ME, "alice@wonderland.lit")  # signed out: NotConnected
    dialog.setTextValue("Al")
    dialog.accept()
    await until(lambda: window.statusBar().currentMessage())
    assert "Could not rename alice@wonderland.lit" in window.statusBar().currentMessage()


async def test_block_and_unblock_from_the_menu_and_blocked_contacts_look_it(
    window: MainWindow, core: ChinwagCore, network: Network
) -> None:
    conn = await signed_in(core, network)
    alice = row_of(window, "alice@wonderland.lit")
    menu = window.menu_for(alice)
    assert menu is not None
    action(menu, "Block").trigger()
    await until(lambda: conn.blocks)
    assert conn.blocks == [("block", "alice@wonderland.lit")]

    conn.listener.on_blocklist(["alice@wonderland.lit"], True, False)  # the server's push
    await until(lambda: row_of(window, "alice@wonderland.lit").data(RosterRole.BLOCKED))
    assert row_of(window, "alice@wonderland.lit").data(RosterRole.STATUS_MESSAGE) == "Blocked"
    action(window.menu_for(row_of(window, "alice@wonderland.lit")), "Unblock").trigger()
    await until(lambda: len(conn.blocks) == 2)
    assert conn.blocks[-1] == ("unblock", "alice@wonderland.lit")


async def test_block_is_offered_only_when_the_core_can_block(
    window: MainWindow, core: ChinwagCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(core, "blocking", raising=False)
    menu = window.menu_for(row_of(window, "alice@wonderland.lit"))
    assert menu is not None
    assert not action(menu, "Block").isEnabled()

    blocking = Blocking()  # the API the main window relies on, nothing more
    monkeypatch.setattr(core, "blocking", blocking, raising=False)
    action(window.menu_for(row_of(window, "alice@wonderland.lit")), "Block").trigger()
    await until(lambda: blocking.calls)
    assert blocking.calls == [("block", ME, "alice@wonderland.lit")]
    action(window.menu_for(row_of(window, "alice@wonderland.lit")), "Unblock").trigger()
    await until(lambda: len(blocking.calls) == 2)
    assert blocking.calls[-1] == ("unblock", ME, "alice@wonderland.lit")


async def test_the_menu_key_opens_the_menu_of_the_current_row(window: MainWindow) -> None:
    view = window.contact_view
    view.setFocus()
    view.setCurrentIndex(row_of(window, "carol@x.org"))
    # What Qt sends for the Menu key or Shift+F10 (the platform makes it out of the key,
    # which offscreen does not do): a keyboard context-menu event at no particular place.
    QApplication.sendEvent(
        view, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(), QPoint())
    )
    menus = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.inherits("QMenu")]
    assert len(menus) == 1
    assert menus[0].accessibleName() == "Actions for Carol"
    menus[0].close()


# -- menus and closing --------------------------------------------------------------------------


async def test_file_menu_asks_for_what_other_windows_do(window: MainWindow) -> None:
    asked: list[str] = []
    window.add_contact_requested.connect(lambda: asked.append("add"))
    window.accounts_requested.connect(lambda: asked.append("accounts"))
    window.quit_requested.connect(lambda: asked.append("quit"))
    file_menu = window.menuBar().actions()[0].menu()
    for text in ("Add contact…", "Accounts…", "Quit"):
        action(file_menu, text).trigger()
    assert asked == ["add", "accounts", "quit"]
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


async def test_closing_hides_to_the_tray_unless_really_quitting(window: MainWindow) -> None:
    hidden: list[bool] = []
    window.hidden_to_tray.connect(lambda: hidden.append(True))
    window.close()
    assert not window.isVisible()
    assert hidden == [True]

    window.present()
    assert window.isVisible()
    window.really_quit = True
    assert window.close()
    assert hidden == [True]


# -- accessibility and looks ---------------------------------------------------------------------


async def test_every_control_has_an_accessible_name(window: MainWindow, core: ChinwagCore) -> None:
    core.roster.on_subscription(ME, "zed@z.org", "subscribe", "Zed")
    focusable = [
        w
        for w in window.findChildren(QWidget)
        if w.focusPolicy() != Qt.FocusPolicy.NoFocus and w.isVisibleTo(window)
    ]
    assert len(focusable) >= 6
    unnamed = [w for w in focusable if not w.accessibleName()]
    # Qt's own parts of a control (a line edit's clear button) carry no name of ours.
    assert [
        w for w in unnamed if w.parent() is not None and w.parent().accessibleName() == ""
    ] == []


@pytest.mark.parametrize("dark", [False, True])
async def test_the_list_paints_every_kind_of_row_in_light_and_dark(
    window: MainWindow, core: ChinwagCore, dark: bool
) -> None:
    if dark:
        palette = QPalette()
        for role, color in (
            (QPalette.ColorRole.Window, "#2b2b2b"),
            (QPalette.ColorRole.Base, "#1e1e1e"),
            (QPalette.ColorRole.Text, "#eeeeee"),
            (QPalette.ColorRole.WindowText, "#eeeeee"),
            (QPalette.ColorRole.Highlight, "#2f81f7"),
            (QPalette.ColorRole.HighlightedText, "#ffffff"),
        ):
            palette.setColor(role, QColor(color))
        window.setPalette(palette)
    core.roster.on_presence(
        ME, "bob@builder.example", Presence(Show.DND, "a status\nwith two lines", resource="pc")
    )
    core.messaging.on_incoming(ME, [_message("carol@x.org")], [""])
    await until(lambda: row_of(window, "carol@x.org").data(RosterRole.UNREAD) == 1)
    window.contact_view.setCurrentIndex(row_of(window, "bob@builder.example"))
    image = window.contact_view.viewport().grab().toImage()
    assert not image.isNull()
    # Rows all share one height (uniformRowHeights), with room for two lines of text.
    heights = {window.contact_view.visualRect(i).height() for i in _all_rows(window)}
    assert len(heights) == 1
    assert heights.pop() >= 2 * window.contact_view.fontMetrics().height()


def _all_rows(window: MainWindow) -> list[QModelIndex]:
    model = window.contact_view.model()
    out = []
    for row in range(model.rowCount()):
        group = model.index(row, 0)
        out.append(group)
        out += [model.index(r, 0, group) for r in range(model.rowCount(group))]
    return out


def _message(peer: str) -> Message:
    return Message(
        ME,
        peer,
        Direction.INCOMING,
        "hello",
        1_700_000_000.0,
        uid=f"u-{peer}",
        sender=peer,
        state=MessageState.RECEIVED,
        origin=Origin.LIVE,
    )


async def test_view_settings_are_kept_for_the_next_start(
    ctx: UiContext, qtbot: Any, tmp_path: Path
) -> None:
    from chinwag.system.ui_settings import UiSettings
    from chinwag.ui.roster_model import SortMode

    ctx.settings = UiSettings(tmp_path / "ui.json")
    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show_offline_action.trigger()  # hide offline contacts
    first.sort_by_status_action.trigger()
    first.really_quit = True
    first.close()

    ctx.settings = UiSettings(tmp_path / "ui.json")  # read back from the file
    second = MainWindow(ctx)
    qtbot.addWidget(second)
    assert not second.show_offline_action.isChecked()
    assert not second.filter_model.show_offline
    assert second.sort_by_status_action.isChecked()
    assert second.filter_model.sort_mode is SortMode.STATUS
    second.really_quit = True
    second.close()


def test_unreadable_view_settings_are_ignored(tmp_path: Path) -> None:
    from chinwag.system.ui_settings import UiSettings

    (tmp_path / "ui.json").write_text("{not json")
    settings = UiSettings(tmp_path / "ui.json")
    assert settings.get("show_offline", True) is True
    settings.set("sort", "STATUS")
    assert UiSettings(tmp_path / "ui.json").get("sort") == "STATUS"


async def test_a_full_disk_is_said_until_the_history_can_be_written_again(
    window: MainWindow, core: ChinwagCore, qtbot: Any
) -> None:
    window.show()
    assert not window.storage_warning.isVisible()
    core.bus.publish(StorageFailed("the history cannot be written: database or disk is full"))
    await until(window.storage_warning.isVisible)
    assert "disk is full" in window.storage_warning.text()
    core.bus.publish(StorageRecovered())
    await until(lambda: not window.storage_warning.isVisible())


# -- an empty list, an empty status bar ------------------------------------------------------


def drawn_colours(window: MainWindow) -> set[int]:
    image = window.contact_view.viewport().grab().toImage()
    return {
        image.pixel(x, y) for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
    }


async def test_an_empty_list_says_how_to_add_someone(window: MainWindow, core: ChinwagCore) -> None:
    view = window.contact_view
    assert view.placeholder_text() == ""
    window.filter_edit.setText("nobody like this")
    await until(lambda: view.model().rowCount() == 0)
    assert view.placeholder_text() == "No contact matches."
    window.filter_edit.clear()
    window.show_offline_action.setChecked(False)
    core.roster.on_presence(ME, "alice@wonderland.lit", Presence(Show.OFFLINE, resource="pc"))
    await until(lambda: view.model().rowCount() == 0)
    assert view.placeholder_text().startswith("Nobody is online")

    core.roster.on_roster(ME, [], "v2", True)  # nobody at all
    await until(lambda: view.placeholder_text() == EMPTY_ROSTER_HINT)
    assert "add someone" in EMPTY_ROSTER_HINT
    assert len(drawn_colours(window)) > 1  # the hint is painted, not only the background
    core.roster.on_roster(ME, [Contact(ME, "dan@x.org", "Dan", (), Subscription.BOTH)], "v3", True)
    window.show_offline_action.setChecked(True)
    await until(lambda: view.model().rowCount() > 0)
    assert view.placeholder_text() == ""


async def test_the_status_bar_shows_only_while_it_has_a_notice(window: MainWindow) -> None:
    bar = window.statusBar()
    assert not bar.isVisible()  # no empty strip under the list
    window._notify("Could not do that")
    assert bar.isVisible()
    assert bar.currentMessage() == "Could not do that"
    bar.clearMessage()  # as when the notice times out
    assert not bar.isVisible()
