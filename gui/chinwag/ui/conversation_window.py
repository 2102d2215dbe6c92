"""The window of one conversation: :class:`ConversationWindow`.

Owns what a person sees of a conversation with one contact: a header with the contact's
name and presence, the history (a :class:`HistoryView` over a
:class:`~chinwag.ui.history_model.HistoryModel`, painted by
:class:`~chinwag.ui.message_delegate.MessageDelegate`), the other side's typing, an
inline error bar, search in the conversation and the compose box. It renders models and
forwards intents to the core (send, reply, edit, remove, react, retry, chat states,
displayed markers); it keeps no message state of its own.

Editing and replying: Up in the empty compose box (or Edit in a message's menu) puts the
last own message's text in the box under an "Editing" bar, and Enter sends it as a
correction; Reply puts a quote of the message above the box, and Enter sends the reply.
Escape cancels either (an edit gives back what was typed before it). The history follows
the core's message events live (an edit, a removal, new reactions change one row, which
alone is measured again), and shows "New messages" above the first message of the
contact's after our read position when the window opened (the core's
``conversations.first_unread``), or above the first that came while it was not looked
at, until the user has scrolled past it (or read it on another device).

The window connects to the bridge's families it shows (messages, chat states, the
roster, accounts, connections, read positions). Nothing here blocks the event loop:
sending and marking read are coroutines run by :class:`~chinwag.ui.tasks.UiTasks` on
the running (qasync) loop, menus are popped up, never ``exec()``-ed, and reads from
the store are the store's fast synchronous reads (a page, a search)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QEvent,
    QItemSelectionModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import (
    QCloseEvent,
    QContextMenuEvent,
    QDesktopServices,
    QFocusEvent,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chinwag.core import jid as jids
from chinwag.core.attachments import AttachmentState
from chinwag.core.errors import ChinwagError, InvalidAddress
from chinwag.core.events import (
    AccountChanged,
    ChatStateChanged,
    ConnectionStateChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    MessageAdded,
    MessageEdited,
    MessageFolded,
    MessageIdentified,
    MessageRemoved,
    MessageStateChanged,
    ReactionsChanged,
    RosterReceived,
)
from chinwag.core.group_start import start_group
from chinwag.core.jid import Jid
from chinwag.core.models import (
    ConnectionState,
    ConversationKey,
    ConversationKind,
    Direction,
    EventKind,
    Message,
    MessageState,
    MessageType,
    Origin,
    SearchHit,
)
from chinwag.core.status import Status
from chinwag.ui.attachments import AttachmentController, AttachmentDelegate, shared_previews
from chinwag.ui.bridge import (
    AccountEvent,
    ConnectionEvent,
    ConversationChange,
    MessageEvent,
    RosterEvent,
)
from chinwag.ui.compose_box import ComposeBox
from chinwag.ui.context import UiContext
from chinwag.ui.day_separators import local_day
from chinwag.ui.history_model import (
    Chip,
    HistoryModel,
    Role,
    RowKey,
    first_line,
    row_key,
)
from chinwag.ui.icons import icon, status_icon
from chinwag.ui.incremental_list_view import IncrementalListView
from chinwag.ui.jump_to_date import DatePopup, start_of_day, to_date
from chinwag.ui.message_delegate import ChipBox, MessageDelegate
from chinwag.ui.message_text_window import MessageTextWindow
from chinwag.ui.message_versions_window import MessageVersionsWindow
from chinwag.ui.screen_fit import fit_to_screen
from chinwag.ui.tasks import UiTasks
from chinwag.ui.window_frame import WindowFrame

log = logging.getLogger(__name__)

#: Within this many pixels of an end of the history, the next page there is loaded.
PREFETCH_PX = 200
#: Within this many pixels of the bottom the view follows new messages.
STICK_PX = 8
#: Hits asked of the store per search (newest first).
SEARCH_LIMIT = 200
#: Pause after the last keystroke in the search field before searching.
SEARCH_DELAY_MS = 150
#: The reactions a message's menu always offers (those already on it come after them).
COMMON_REACTIONS = (
    "\U0001f44d",
    "\u2764\ufe0f",
    "\U0001f602",
    "\U0001f62e",
    "\U0001f622",
    "\U0001f64f",
)
#: At most this many of a message's other reactions are offered in its menu.
MENU_REACTIONS = 14
#: The "+N" chip's menu lists at most this many of the reactions it stands for.
MORE_MENU_REACTIONS = 40
#: A reply's quote bar shows this much of the first line of what it answers.
CONTEXT_QUOTE_CHARS = 80


_PAGE_KEYS = {
    Qt.Key.Key_PageUp: QAbstractSlider.SliderAction.SliderPageStepSub,
    Qt.Key.Key_PageDown: QAbstractSlider.SliderAction.SliderPageStepAdd,
}


class HistoryView(IncrementalListView):
    """The history list: rows of different heights scrolled by the pixel, newest at the
    bottom, laid out row by row as messages come and go (a new message costs the same
    however many rows are loaded). Maps mouse positions to links through the delegate, and
    reports link clicks, context menu requests and copy requests; the window decides what
    they do."""

    link_activated = Signal(QUrl)
    #: A context menu for a row was asked for (index, global position).
    menu_requested = Signal(QModelIndex, QPoint)
    #: Ctrl+C on a row.
    copy_requested = Signal(QModelIndex)
    #: "Show all" of a long message was clicked.
    show_all_requested = Signal(QModelIndex)
    #: The quote of a reply was clicked (the reply's index).
    quote_activated = Signal(QModelIndex)
    #: A reaction chip was clicked (index, the reaction).
    reaction_activated = Signal(QModelIndex, str)
    #: The "+N" chip was clicked (index, where, the reactions it stands for).
    more_reactions_requested = Signal(QModelIndex, QPoint, object)

    def __init__(self, delegate: MessageDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._delegate = delegate
        self._pressed_link: QUrl | None = None
        self._pressed_more: QPersistentModelIndex | None = None
        self._pressed_quote: QPersistentModelIndex | None = None
        self._pressed_chip: tuple[QPersistentModelIndex, str] | None = None
        self._overlay: QWidget | None = None
        self.setItemDelegate(delegate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMouseTracking(True)  # for the hand cursor over links
        self.verticalScrollBar().setSingleStep(24)
        self.setAccessibleName("Message history")

    def set_overlay(self, widget: QWidget) -> None:
        """A child kept in the bottom-right corner of the viewport (jump to latest)."""
        self._overlay = widget
        self._place_overlay()

    def _place_overlay(self) -> None:
        if self._overlay is None:
            return
        self._overlay.adjustSize()
        viewport = self.viewport().geometry()
        size = self._overlay.size()
        self._overlay.move(
            viewport.right() - size.width() - 16, viewport.bottom() - size.height() - 12
        )

    def item_option(self, index: QModelIndex) -> QStyleOptionViewItem:
        """The style option the delegate painted ``index`` with."""
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = self.visualRect(index)
        return option

    def link_at(self, pos: QPoint) -> QUrl | None:
        """The link under ``pos`` (viewport coordinates), if any."""
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        return self._delegate.link_at(self.item_option(index), index, pos)

    def show_all_at(self, pos: QPoint) -> QModelIndex:
        """The row whose "Show all" is under ``pos`` (viewport coordinates), if any."""
        index = self.indexAt(pos)
        if index.isValid() and self._delegate.show_all_at(self.item_option(index), index, pos):
            return index
        return QModelIndex()

    def quote_at(self, pos: QPoint) -> QModelIndex:
        """The reply whose quote is under ``pos`` (viewport coordinates), if any."""
        index = self.indexAt(pos)
        if index.isValid() and self._delegate.quote_at(self.item_option(index), index, pos):
            return index
        return QModelIndex()

    def chip_at(self, pos: QPoint) -> tuple[QModelIndex, ChipBox] | None:
        """The reaction chip under ``pos`` (viewport coordinates) and its row, if any."""
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        box = self._delegate.chip_at(self.item_option(index), index, pos)
        return None if box is None else (index, box)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if (
            self.link_at(pos) is not None
            or self.show_all_at(pos).isValid()
            or self.quote_at(pos).isValid()
            or self.chip_at(pos) is not None
        ):
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pressed_link = self._pressed_more = self._pressed_quote = None
        self._pressed_chip = None
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.position().toPoint()
            self._pressed_link = self.link_at(pos)
            more = self.show_all_at(pos)
            self._pressed_more = QPersistentModelIndex(more) if more.isValid() else None
            quote = self.quote_at(pos)
            self._pressed_quote = QPersistentModelIndex(quote) if quote.isValid() else None
            chip = self.chip_at(pos)
            if chip is not None:
                self._pressed_chip = (QPersistentModelIndex(chip[0]), chip[1].text)
        # A click makes the row current without scrolling to it: a row taller than the
        # view (a long message under its date separator) must not jump away from the
        # "Show all", link or chip under the pointer between press and release.
        with self._not_scrolling():
            super().mousePressEvent(event)

    @contextlib.contextmanager
    def _not_scrolling(self) -> Iterator[None]:
        """Changes of the current row inside do not scroll to it."""
        auto_scroll = self.hasAutoScroll()
        self.setAutoScroll(False)
        try:
            yield
        finally:
            self.setAutoScroll(auto_scroll)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pressed, self._pressed_link = self._pressed_link, None
        more, self._pressed_more = self._pressed_more, None
        quote, self._pressed_quote = self._pressed_quote, None
        chip, self._pressed_chip = self._pressed_chip, None
        super().mouseReleaseEvent(event)
        left = event.button() == Qt.MouseButton.LeftButton
        pos = event.position().toPoint()
        if left and more is not None and more.isValid():
            released = self.show_all_at(pos)
            if released == more:  # pressed and released on the same "Show all"
                self.show_all_requested.emit(released)
        if left and quote is not None and quote.isValid():
            released = self.quote_at(pos)
            if released == quote:
                self.quote_activated.emit(released)
        if left and chip is not None and chip[0].isValid():
            hit = self.chip_at(pos)
            if hit is not None and hit[0] == chip[0] and hit[1].text == chip[1]:
                index, box = hit
                if box.chip is None:
                    self.more_reactions_requested.emit(
                        index, self.viewport().mapToGlobal(pos), box.hidden
                    )
                else:
                    self.reaction_activated.emit(index, box.chip.emoji)
        # Only a click that starts and ends on the same link opens it (a drag that
        # selects past a link must not).
        if (
            event.button() == Qt.MouseButton.LeftButton
            and pressed is not None
            and self.link_at(event.position().toPoint()) == pressed
        ):
            self.link_activated.emit(pressed)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            index = self.indexAt(event.pos())
            where = event.globalPos()
        else:  # the Menu key or Shift+F10: the current row
            index = self.currentIndex()
            where = self.viewport().mapToGlobal(self.visualRect(index).center())
        if index.isValid():
            self.setCurrentIndex(index)
            self.menu_requested.emit(index, where)
            event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy) and self.currentIndex().isValid():
            self.copy_requested.emit(self.currentIndex())
            event.accept()
            return
        action = _PAGE_KEYS.get(Qt.Key(event.key()))
        if event.modifiers() == Qt.KeyboardModifier.NoModifier and action is not None:
            # Page keys scroll the history like a document; moving the current row a
            # page at a time gets stuck at the first loaded row instead of paging.
            self.verticalScrollBar().triggerAction(action)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        if not self.currentIndex().isValid() and self.model() is not None:
            # Start keyboard navigation at the newest visible message, not the oldest
            # loaded one (Qt's default), which would scroll away from what is read.
            viewport = self.viewport().rect()
            index = self.indexAt(QPoint(viewport.center().x(), viewport.bottom() - 1))
            if index.isValid():
                with self._not_scrolling():  # (it is in view: a tall one stays put)
                    self.selectionModel().setCurrentIndex(
                        index, QItemSelectionModel.SelectionFlag.NoUpdate
                    )
        super().focusInEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_overlay()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._delegate.clear_cache()  # cached row heights were measured in the old font
            self.scheduleDelayedItemsLayout()
        super().changeEvent(event)


class ConversationWindow(WindowFrame, QWidget):
    """A top-level window for the conversation of ``account`` with ``peer``.

    Made by :class:`~chinwag.ui.conversations.ConversationWindows` (one per contact),
    which listens to :attr:`closed` and calls :meth:`present`. Deletes itself once
    closed."""

    #: Emitted once when the window closes, however that happens; it is deleted after.
    closed = Signal()
    #: The kind of conversation this window shows.
    KIND = ConversationKind.CHAT

    def __init__(
        self, ctx: UiContext, account: str, peer: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._ctx = ctx
        self._key = ConversationKey(account, jids.bare(peer), self.KIND)
        self._closed = False
        # What it asks of the core (sending, editing, marking read) outlives the window:
        # once asked, it is committed and published whole (see chinwag.ui.tasks).
        self._tasks = UiTasks(self, f"the conversation with {self._key.peer}")
        self._stick = True  # follow the bottom as messages come in
        self._adjusting = False  # the window itself is moving the scroll bar
        self._marking = False
        self._mark_again = False
        self._unseen = 0  # messages arrived below the visible part
        self._hits: list[SearchHit] = []
        self._hit = -1
        self._text_windows: dict[RowKey, MessageTextWindow] = {}  # "Show all", per message
        self._versions_windows: dict[RowKey, MessageVersionsWindow] = {}
        #: The own message being edited in the compose box, and what was typed before.
        self._editing: Message | None = None
        self._draft = ""
        #: The message the text in the compose box answers.
        self._replying: Message | None = None
        #: Scroll to the "New messages" line once the window is first laid out.
        self._show_marker = False

        own, name = self._names()
        self._typing_name = name
        self._model = HistoryModel(
            ctx.core.store, self._key, own_name=own, peer_name=name, parent=self
        )
        self._place_read_marker()
        self._delegate: MessageDelegate = AttachmentDelegate(
            ctx.core.files, shared_previews(), self
        )
        self._build()
        self._wire()
        self._refresh_contact()
        self._refresh_connection()
        bridge = ctx.bridge
        self._slots: list[tuple[SignalInstance, Any]] = [
            (bridge.messages_changed, self._on_message_event),
            (bridge.chat_states_changed, self._on_chat_state),
            (bridge.roster_changed, self._on_roster_event),
            (bridge.accounts_changed, self._on_account_event),
            (bridge.connection_changed, self._on_connection_event),
            (bridge.conversations_changed, self._on_conversation_event),
        ]
        for signal, slot in self._slots:
            signal.connect(slot)
        fit_to_screen(self, 520, 640)

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        return self._key.account

    @property
    def peer(self) -> str:
        return self._key.peer

    @property
    def key(self) -> ConversationKey:
        return self._key

    @property
    def kind(self) -> ConversationKind:
        return self._key.kind

    @property
    def model(self) -> HistoryModel:
        return self._model

    @property
    def history_view(self) -> HistoryView:
        return self._view

    @property
    def delegate(self) -> MessageDelegate:
        return self._delegate

    @property
    def compose(self) -> ComposeBox:
        return self._compose

    def present(self, activate: bool = True) -> None:
        """Show the window, bring it to the front and (with ``activate``) give it the
        keyboard focus. Without ``activate`` it is shown without taking the focus."""
        if self._closed:
            return
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not activate)
        if self.isMinimized():
            self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        if activate:
            self.activateWindow()
            self._compose.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    async def send_text(
        self, text: str, *, mtype: MessageType = MessageType.NORMAL, flags: int = 0
    ) -> Message:
        """Send ``text`` as typed in this window (the automation API uses it): the
        message shows here as it would after Enter, an error shows in the error bar and
        is raised. The compose box is left alone."""
        return await self._send(text, mtype=mtype, flags=flags)

    # -- what the automation API reads and sets (api.ports.ConversationView) ----

    def transcript(self) -> list[tuple[Message, str]]:
        """The messages this window holds, oldest first, with their authors' names."""
        model = self._model
        rows = (model.message(row) for row in range(model.rowCount()))
        return [(m, model.sender_name(m)) for m in rows]

    def jump_to_latest(self) -> None:
        """Show the newest messages (reloading them if the window had moved back)."""
        self._stick = True  # before a reload, so the reset lands at the bottom
        if not self._model.at_live_end:
            self._model.load_latest()
        self._unseen = 0
        self._view.scrollToBottom()
        self._update_jump_button()

    def open_search(self) -> None:
        self._search_bar.show()
        self._search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search_field.selectAll()
        if self._search_field.text().strip():
            self._run_search()

    def close_search(self) -> None:
        if self._search_bar.isHidden():
            return
        self._search_timer.stop()
        self._search_bar.hide()
        self._hits, self._hit = [], -1
        self._model.set_search([])
        self._compose.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_found(self, text: str, found: SearchHit) -> None:
        """Show ``found`` (a result of the search of all conversations, for ``text``):
        this conversation's search bar opens on ``text`` with the message as its current
        match, scrolled to and highlighted; F3 goes on to its other matches."""
        self._search_timer.stop()
        self._search_field.setText(text)
        self._search_bar.show()
        try:
            hits = self._ctx.core.store.search(text, self._key, SEARCH_LIMIT) if text else []
        except Exception:
            log.exception("search in %s failed", self._key.peer)
            hits = []
        wanted = found.message.id
        if all(hit.message.id != wanted for hit in hits):  # older than the hits asked for
            hits.append(found)
            hits.sort(key=lambda h: (h.message.timestamp, h.message.id or 0), reverse=True)
        self._hits = hits
        self._model.set_search(hits)
        self._hit = next(n for n, hit in enumerate(hits) if hit.message.id == wanted)
        self._show_hit()

    @property
    def search_hits(self) -> list[SearchHit]:
        """The hits of the current search, newest first."""
        return list(self._hits)

    @property
    def current_hit(self) -> SearchHit | None:
        return self._hits[self._hit] if 0 <= self._hit < len(self._hits) else None

    # -- editing, replying, removing, reacting ------------------------------------------

    @property
    def editing(self) -> Message | None:
        """The own message whose correction is in the compose box (None: not editing)."""
        return self._editing

    @property
    def replying_to(self) -> Message | None:
        """The message the compose box answers (None: not a reply)."""
        return self._replying

    @property
    def compose_context_text(self) -> str:
        """The bar above the compose box ("Editing", "Replying to ..."; "" if hidden)."""
        return "" if self._context_bar.isHidden() else self._context_label.text()

    def editable(self, message: Message) -> bool:
        """Ours, not removed, and not a file's (its text is the file's link, and while
        the file uploads it has not been sent: there is nothing to correct)."""
        return (
            message.outgoing
            and not message.removed
            and message.state is not MessageState.HELD
            and not (
                isinstance(self._delegate, AttachmentDelegate)
                and self._delegate.attachment_of(message) is not None
            )
        )

    def last_own_message(self) -> Message | None:
        """The newest own message that can still be edited (:meth:`editable`)."""
        model = self._model
        if model.at_live_end:
            for row in range(model.rowCount() - 1, -1, -1):
                message = model.message(row)
                if message.outgoing and not message.removed:
                    return message if self.editable(message) else None
            if not model.has_older:
                return None
        try:  # the newest messages are not loaded (the window moved back in time)
            newest = self._ctx.core.store.latest(self._key, model.page_size)
        except Exception:
            log.exception("reading the newest messages of %s failed", self._key.peer)
            return None
        last = next((m for m in reversed(newest) if m.outgoing and not m.removed), None)
        return last if last is not None and self.editable(last) else None

    def edit_last(self) -> bool:
        """Start editing the last own message (Up in the empty box); False if none."""
        message = self.last_own_message()
        if message is None:
            return False
        self.start_edit(message)
        return True

    def start_edit(self, message: Message) -> None:
        """Put the text of the own ``message`` in the compose box to correct it."""
        message = self._fresh(message)
        if not self.editable(message) or self._closed:
            return
        if self._editing is None:
            self._draft = self._compose.text()  # given back when the edit ends
        self._replying = None
        self._editing = message
        self._compose.set_text(message.body)
        self._show_context("Editing", "Edit your message; Enter saves it")
        self._compose.setFocus(Qt.FocusReason.OtherFocusReason)

    def start_reply(self, message: Message) -> None:
        """Answer ``message``: a quote of it above the compose box."""
        message = self._fresh(message)
        if message.removed or self._closed:
            return
        if self._editing is not None:
            self._end_edit()
        self._replying = message
        self._show_reply_context()
        self._compose.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_compose_context(self) -> None:
        """Escape: stop editing (what was typed before comes back) or replying."""
        if self._editing is not None:
            self._end_edit()
        self._replying = None
        self._hide_context()

    def confirm_remove(self, message: Message) -> QMessageBox | None:
        """Ask whether to remove the own ``message`` for everyone; Remove retracts it."""
        message = self._fresh(message)
        if not message.outgoing or message.removed or self._closed:
            return None
        box = QMessageBox(self)
        box.setObjectName("confirmRemove")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove message")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("Remove this message for everyone?")
        box.setInformativeText(
            f"It is removed here and for {self._typing_name}, whose app shows that a "
            "message was removed if it can remove messages. This cannot be undone."
        )
        remove = box.addButton("&Remove for everyone", QMessageBox.ButtonRole.DestructiveRole)
        remove.setObjectName("removeForEveryone")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        remove.clicked.connect(lambda: self._retract(message))
        box.open()  # window-modal, no nested event loop
        return box

    def toggle_reaction(self, message: Message, reaction: str) -> None:
        """Add ``reaction`` to the user's reactions to ``message``, or take it back."""
        message = self._fresh(message)
        if message.removed or self._closed:
            return
        reactions = self._model.reactions_of(message)
        mine = list(reactions.mine) if reactions is not None else []
        chosen = [r for r in mine if r != reaction] if reaction in mine else [*mine, reaction]
        self._call_core(self._ctx.core.messaging.react(message, chosen), "Reaction not sent")

    def go_to_quoted(self, index: QModelIndex | QPersistentModelIndex) -> bool:
        """Scroll to the message the reply at ``index`` answers; False if it is not in
        the history."""
        message = index.data(Role.MESSAGE)
        if not isinstance(message, Message):
            return False
        target = self._model.target_of(message)
        if target is None:
            return False
        self._scroll_to(target)
        return True

    def show_versions(
        self, index: QModelIndex | QPersistentModelIndex
    ) -> MessageVersionsWindow | None:
        """Open a window with the earlier texts of the edited message at ``index``."""
        message = index.data(Role.MESSAGE)
        if not isinstance(message, Message) or message.id is None or self._closed:
            return None
        try:
            versions = self._ctx.core.store.versions(message.id)
        except Exception:
            log.exception("reading the versions of a message of %s failed", self._key.peer)
            self._show_error("The previous versions could not be read (see the log).")
            return None
        key = row_key(message)
        old = self._versions_windows.pop(key, None)
        if old is not None:  # made again: the message may have been edited since
            old.close()
            old.deleteLater()
        name = self._model.sender_name(message)
        when = QDateTime.fromSecsSinceEpoch(int(message.timestamp)).toString("d MMM yyyy, HH:mm")
        window = MessageVersionsWindow(
            f"Versions of a message from {name}, {when}",
            versions,
            message.body,
            message.edited_at,
            self,
        )
        window.setObjectName("messageVersions")
        self._versions_windows[key] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    @property
    def read_marker(self) -> Message | None:
        """The message "New messages" is drawn above (None: no line, or not loaded)."""
        marker = self._model.read_marker
        if marker is None:
            return None
        row = self._model.row_of(marker)
        return None if row is None else self._model.message(row)

    def show_full_text(
        self, index: QModelIndex | QPersistentModelIndex
    ) -> MessageTextWindow | None:
        """Open (or bring up) a window with the whole text of the message at ``index``:
        the history shows only the first part of a long one."""
        message = index.data(Role.MESSAGE)
        if not isinstance(message, Message) or self._closed:
            return None
        key = row_key(message)
        window = self._text_windows.get(key)
        if window is None:
            name = self._model.sender_name(message)
            when = QDateTime.fromSecsSinceEpoch(int(message.timestamp)).toString(
                "d MMM yyyy, HH:mm"
            )
            window = MessageTextWindow(f"Message from {name}, {when}", message.body, self)
            self._text_windows[key] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def message_menu(self, index: QModelIndex | QPersistentModelIndex) -> QMenu:
        """The context menu of a message: retry (failed own message), reply, edit (own),
        react, copy, show all (a long message), previous versions (an edited one),
        remove for everyone (own), its links. A removed message has none of them."""
        message: Message = index.data(Role.MESSAGE)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setAccessibleName("Message actions")
        if message.removed:
            removed = menu.addAction("This message was removed")
            removed.setEnabled(False)
            return menu
        if message.outgoing and message.state is MessageState.FAILED:
            retry = menu.addAction("&Retry sending")
            retry.triggered.connect(lambda: self._retry(message))
            menu.addSeparator()
        reply = menu.addAction("Rep&ly")
        reply.triggered.connect(lambda _=False: self.start_reply(message))
        if self.editable(message):
            edit = menu.addAction("&Edit")
            edit.triggered.connect(lambda _=False: self.start_edit(message))
        self._add_react_menu(menu, message)
        menu.addSeparator()
        copy = menu.addAction("&Copy text")
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(message.body))
        row = QPersistentModelIndex(index)
        if self._delegate.shown(index).elided:
            show_all = menu.addAction("Show &all text")
            show_all.triggered.connect(lambda _=False: self.show_full_text(row))
        if message.edited_at:
            versions = menu.addAction("Show &previous versions")
            versions.triggered.connect(lambda _=False: self.show_versions(row))
        if message.outgoing:
            menu.addSeparator()
            remove = menu.addAction("Re&move for everyone\u2026")
            remove.triggered.connect(lambda _=False: self.confirm_remove(message))
        for link in self._delegate.links_of(index, 5):
            url = QUrl(link.url)
            shown = link.url if len(link.url) <= 48 else link.url[:47] + "\u2026"
            menu.addSeparator()
            # "&&": an ampersand of the URL must not become a keyboard mnemonic.
            open_link = menu.addAction(f"&Open {shown.replace('&', '&&')}")
            open_link.triggered.connect(lambda _=False, u=url: self._open_link(u))
            copy_link = menu.addAction("Copy link &address")
            copy_link.triggered.connect(
                lambda _=False, u=link.url: QGuiApplication.clipboard().setText(u)
            )
        return menu

    def _add_react_menu(self, menu: QMenu, message: Message) -> QMenu:
        """React: the common reactions and those already on the message, each with how
        many chose it; the user's own are checked, and choosing one toggles it."""
        react = menu.addMenu("Rea&ct")
        react.setObjectName("reactMenu")
        react.setAccessibleName("React")
        reactions = self._model.reactions_of(message)
        chips = {c.emoji: c for c in reactions.chips} if reactions is not None else {}
        others = [e for e in chips if e not in COMMON_REACTIONS][:MENU_REACTIONS]
        for emoji in (*COMMON_REACTIONS, *others):
            self._add_reaction_action(react, message, emoji, chips.get(emoji))
        return react

    def _add_reaction_action(
        self, menu: QMenu, message: Message, emoji: str, chip: Chip | None
    ) -> None:
        count = f"  {QLocale().toString(chip.count)}" if chip is not None else ""
        action = menu.addAction(f"{emoji}{count}".replace("&", "&&"))
        action.setCheckable(True)
        action.setChecked(chip is not None and chip.mine)
        action.setData(emoji)
        action.setToolTip("Take back your reaction" if action.isChecked() else "React")
        action.triggered.connect(lambda _=False: self.toggle_reaction(message, emoji))

    def more_reactions_menu(
        self, index: QModelIndex | QPersistentModelIndex, hidden: tuple[Chip, ...]
    ) -> QMenu:
        """The reactions a "+N" chip stands for, to see and toggle."""
        message: Message = index.data(Role.MESSAGE)
        menu = QMenu(self)
        menu.setObjectName("moreReactions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setAccessibleName("More reactions")
        for chip in hidden[:MORE_MENU_REACTIONS]:
            self._add_reaction_action(menu, message, chip.emoji, chip)
        rest = len(hidden) - MORE_MENU_REACTIONS
        if rest > 0:
            more = menu.addAction(f"\u2026 and {QLocale().toString(rest)} more")
            more.setEnabled(False)
        return menu

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_header())
        layout.addWidget(self._build_search_bar())
        # The history column: the history, with the jump-to-latest button floating over
        # its bottom-right corner, and the typing line under it (a room puts the column
        # beside its participants).
        self._history_column = QWidget(self)
        self._history_column.setObjectName("historyColumn")
        column = QVBoxLayout(self._history_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self._view = HistoryView(self._delegate, self._history_column)
        self._view.setObjectName("history")
        self._view.setModel(self._model)
        column.addWidget(self._view, 1)
        self._jump_button = QToolButton(self._view)
        self._jump_button.setObjectName("jumpToLatest")
        self._jump_button.setAccessibleName("Jump to latest messages")
        self._jump_button.setToolTip("Jump to the latest messages (Ctrl+End)")
        self._jump_button.setText("\u2193 Latest")
        self._jump_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._jump_button.hide()
        self._view.set_overlay(self._jump_button)
        # The other side's typing; the line keeps its height so the history does not jump,
        # and has the history's background, so that it reads as the history's last line
        # (empty, it is no band of the window's grey between history and compose box).
        self._typing_label = _plain_label(self._history_column, "Typing indicator")
        self._typing_label.setObjectName("typingIndicator")
        self._typing_label.setContentsMargins(12, 2, 12, 2)
        self._typing_label.setMinimumHeight(self._typing_label.sizeHint().height())
        self._typing_label.setAutoFillBackground(True)
        self._typing_label.setBackgroundRole(QPalette.ColorRole.Base)
        self._typing_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        column.addWidget(self._typing_label)
        layout.addWidget(self._history_column, 1)
        layout.addWidget(_separator(self, "composeSeparator"))
        layout.addWidget(self._build_compose_area())

        # Tab order: compose -> emoji -> attach -> send -> history -> jump; search bar
        # first when shown. The header's buttons come after the history's.
        header_buttons: list[QWidget] = [self._jump_button, self._date_button]
        if self.KIND is ConversationKind.CHAT:
            header_buttons += [self._add_people_button, self._details_button]
        for first, second in (
            (self._search_field, self._older_button),
            (self._older_button, self._newer_button),
            (self._newer_button, self._close_search_button),
            (self._close_search_button, self._view),
            (self._view, self._jump_button),
            *itertools.pairwise(header_buttons),
            (header_buttons[-1], self._dismiss_error),
            (self._dismiss_error, self._cancel_context),
            (self._cancel_context, self._compose),
            (self._compose, self.compose_extras.emoji_button),
            (self.compose_extras.emoji_button, self.attachments.button),
            (self.attachments.button, self._send_button),
        ):
            QWidget.setTabOrder(first, second)
        self._compose.setFocus(Qt.FocusReason.OtherFocusReason)

    def _build_header(self) -> QFrame:
        """Presence icon, name, presence, and a notice when the account is offline."""
        header = QFrame(self)
        header.setObjectName("conversationHeader")
        header.setFrameShape(QFrame.Shape.StyledPanel)
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(10, 6, 10, 6)
        self._presence_icon = QLabel(header)
        self._presence_icon.setObjectName("presenceIcon")
        self._presence_icon.setAccessibleName("Presence")
        self._presence_icon.setFixedSize(16, 16)
        names = QVBoxLayout()
        names.setSpacing(0)
        self._name_label = _plain_label(header, "Contact name")
        self._name_label.setObjectName("contactName")
        font = QFont(self._name_label.font())
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF(), 1.0) * 1.15)
        self._name_label.setFont(font)
        self._status_label = _plain_label(header, "Contact status")
        self._status_label.setObjectName("contactStatus")
        self._status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        names.addWidget(self._name_label)
        names.addWidget(self._status_label)
        self._build_header_avatar(header, header_layout)
        header_layout.addWidget(self._presence_icon)
        header_layout.addLayout(names, 1)
        self._connection_label = _plain_label(header, "Connection")
        self._connection_label.setObjectName("connectionNotice")
        self._connection_label.setWordWrap(True)
        header_layout.addWidget(self._connection_label)
        self._date_button = _tool_button(header, "goToDate", "", "Go to a date (Ctrl+G)")
        self._date_button.setIcon(icon("calendar"))
        self._date_button.clicked.connect(self.ask_date)
        header_layout.addWidget(self._date_button)
        if self.KIND is ConversationKind.CHAT:
            self._add_people_button = _tool_button(
                header, "addPeople", "", "Add people: go on as a group conversation"
            )
            self._add_people_button.setIcon(icon("add-contact"))
            self._add_people_button.clicked.connect(self.ask_add_people)
            header_layout.addWidget(self._add_people_button)
            self._details_button = _tool_button(
                header, "contactDetails", "", "Contact details (Ctrl+I)"
            )
            self._details_button.setIcon(icon("info"))
            self._details_button.clicked.connect(self.show_details)
            header_layout.addWidget(self._details_button)
        return header

    def _build_header_avatar(self, header: QFrame, header_layout: QHBoxLayout) -> None:
        """The contact's avatar (issue 16) at the header's start; for a chat, a click
        (as Ctrl+I and the details button) opens the contact's details."""
        from chinwag.ui.window_avatars import HeaderAvatar

        self.header_avatar = HeaderAvatar(self._ctx, self._key.account, self._key.peer, header)
        if self.KIND is ConversationKind.CHAT:
            self.header_avatar.set_action("Contact details (Ctrl+I)")
            self.header_avatar.clicked.connect(self.show_details)
        header_layout.addWidget(self.header_avatar)

    def show_details(self) -> QDialog | None:
        """The contact details dialog of the contact (a chat's; rooms have none)."""
        if self.KIND is not ConversationKind.CHAT:
            return None
        from chinwag.ui.contact_details_dialog import open_contact_details

        return open_contact_details(self._ctx, self._key.account, self._key.peer, self)

    def _build_search_bar(self) -> QFrame:
        """Search field, result count, older/newer match, close; hidden until Ctrl+F."""
        self._search_bar = QFrame(self)
        self._search_bar.setObjectName("searchBar")
        self._search_bar.setAccessibleName("Search bar")
        bar = QHBoxLayout(self._search_bar)
        bar.setContentsMargins(8, 4, 8, 4)
        self._search_field = QLineEdit(self._search_bar)
        self._search_field.setObjectName("searchField")
        self._search_field.setAccessibleName("Search in conversation")
        self._search_field.setPlaceholderText("Search in this conversation")
        self._search_field.setClearButtonEnabled(True)
        self._search_status = _plain_label(self._search_bar, "Search results")
        self._search_status.setObjectName("searchStatus")
        self._older_button = _tool_button(
            self._search_bar, "olderMatch", "\u25b2", "Older match (Enter, F3)"
        )
        self._newer_button = _tool_button(
            self._search_bar, "newerMatch", "\u25bc", "Newer match (Shift+Enter, Shift+F3)"
        )
        self._close_search_button = _tool_button(
            self._search_bar, "closeSearch", "\u2715", "Close search (Escape)"
        )
        bar.addWidget(self._search_field, 1)
        bar.addWidget(self._search_status)
        bar.addWidget(self._older_button)
        bar.addWidget(self._newer_button)
        bar.addWidget(self._close_search_button)
        self._search_bar.hide()
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        return self._search_bar

    def _build_error_bar(self) -> QFrame:
        """Inline error bar: why the last send failed (never a modal dialog)."""
        self._error_bar = QFrame(self)
        self._error_bar.setObjectName("errorBar")
        self._error_bar.setAccessibleName("Error")
        self._error_bar.setFrameShape(QFrame.Shape.StyledPanel)
        error_layout = QHBoxLayout(self._error_bar)
        error_layout.setContentsMargins(10, 4, 6, 4)
        self._error_label = _plain_label(self._error_bar, "Error message")
        self._error_label.setObjectName("errorMessage")
        self._error_label.setWordWrap(True)
        self._error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._dismiss_error = _tool_button(
            self._error_bar, "dismissError", "\u2715", "Dismiss the error"
        )
        error_layout.addWidget(self._error_label, 1)
        error_layout.addWidget(self._dismiss_error)
        self._error_bar.hide()
        return self._error_bar

    def _build_context_bar(self) -> QFrame:
        """What the compose box is for, when not a new message: "Editing", or the quote
        of the message a reply answers; with a button (and Escape) to cancel."""
        self._context_bar = QFrame(self)
        self._context_bar.setObjectName("composeContext")
        self._context_bar.setAccessibleName("Compose context")
        self._context_bar.setFrameShape(QFrame.Shape.StyledPanel)
        bar = QHBoxLayout(self._context_bar)
        bar.setContentsMargins(10, 3, 6, 3)
        self._context_label = _ElidedLabel(self._context_bar)
        self._context_label.setTextFormat(Qt.TextFormat.PlainText)
        self._context_label.setAccessibleName("Compose context")
        self._context_label.setObjectName("composeContextText")
        self._context_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = QFont(self._context_label.font())
        font.setBold(True)
        self._context_label.setFont(font)
        self._context_hint = _plain_label(self._context_bar, "How to cancel")
        self._context_hint.setObjectName("composeContextHint")
        self._context_hint.setText("Escape to cancel")
        self._cancel_context = _tool_button(
            self._context_bar, "cancelComposeContext", "\u2715", "Cancel (Escape)"
        )
        bar.addWidget(self._context_label, 1)
        bar.addWidget(self._context_hint)
        bar.addWidget(self._cancel_context)
        self._context_bar.hide()
        return self._context_bar

    def _build_compose_area(self) -> QFrame:
        """Below the separator, on the history's background: the error bar, the context
        bar and the compose row."""
        area = QFrame(self)
        area.setObjectName("composeArea")
        area.setAutoFillBackground(True)
        area.setBackgroundRole(QPalette.ColorRole.Base)
        area_layout = QVBoxLayout(area)
        area_layout.setContentsMargins(0, 0, 0, 0)
        area_layout.setSpacing(0)
        area_layout.addWidget(self._build_error_bar())
        area_layout.addWidget(self._build_context_bar())
        area_layout.addLayout(self._build_compose_row())
        return area

    def _build_compose_row(self) -> QHBoxLayout:
        compose_row = QHBoxLayout()
        compose_row.setContentsMargins(8, 6, 8, 8)
        self._compose = ComposeBox(self)
        self._compose.setObjectName("compose")
        self._compose.set_send_key(self._ctx.preferences.ctrl_enter_sends)
        self._compose.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        line = self._compose.fontMetrics().lineSpacing()
        self._compose.setFixedHeight(int(line * 3.2) + 12)
        self._send_button = QPushButton("&Send", self)
        self._send_button.setObjectName("sendButton")
        self._send_button.setAccessibleName("Send message")
        self._send_button.setToolTip("Send the message (Enter)")
        compose_row.addWidget(self._compose, 1)
        self._add_compose_extras(compose_row)
        self._build_attachments(compose_row)
        compose_row.addWidget(self._send_button, 0, Qt.AlignmentFlag.AlignBottom)
        from chinwag.ui.compose_extras import ButtonSizer

        # (the emoji and attach buttons: square, as tall as Send, at any font size)
        self._button_sizer = ButtonSizer(
            self._send_button, [self.compose_extras.emoji_button, self.attachments.button]
        )
        return compose_row

    def _add_compose_extras(self, compose_row: QHBoxLayout) -> None:
        """Emoji button and picker, :shortcode: completion, spell check (compose_extras)."""
        from chinwag.ui.compose_extras import attach_compose_extras

        self.compose_extras = attach_compose_extras(self._compose, self._ctx)
        compose_row.addWidget(self.compose_extras.emoji_button, 0, Qt.AlignmentFlag.AlignBottom)

    def _build_attachments(self, compose_row: QHBoxLayout) -> None:
        """Files (chinwag.ui.attachments): the attach button before Send; drops and
        pastes on the compose box and the history; the cards' buttons."""
        assert isinstance(self._delegate, AttachmentDelegate)
        self.attachments = AttachmentController(
            self._ctx.core.files,
            self._key,
            self._delegate,
            self._view,
            self._compose,
            changed=self._ctx.bridge.files_changed,
            start=self._tasks.start,
            show_error=self._show_error,
            parent=self,
        )
        compose_row.addWidget(self.attachments.button, 0, Qt.AlignmentFlag.AlignBottom)

    def _wire(self) -> None:
        self._compose.submitted.connect(self._submit)
        self._compose.chat_state_changed.connect(self._send_chat_state)
        self._compose.edit_last_requested.connect(self.edit_last)
        self._cancel_context.clicked.connect(self.cancel_compose_context)
        self._send_button.clicked.connect(self._submit_from_button)
        self._dismiss_error.clicked.connect(self._hide_error)
        self._jump_button.clicked.connect(self.jump_to_latest)

        scroll_bar = self._view.verticalScrollBar()
        scroll_bar.valueChanged.connect(self._on_scrolled)
        scroll_bar.rangeChanged.connect(self._on_range_changed)
        self._view.link_activated.connect(self._open_link)
        self._view.show_all_requested.connect(self.show_full_text)
        self._view.menu_requested.connect(self._show_menu)
        self._view.copy_requested.connect(self._copy_row)
        self._view.quote_activated.connect(self.go_to_quoted)
        self._view.reaction_activated.connect(
            lambda index, emoji: self.toggle_reaction(index.data(Role.MESSAGE), emoji)
        )
        self._view.more_reactions_requested.connect(
            lambda index, where, hidden: self.more_reactions_menu(index, hidden).popup(where)
        )
        self._scroll_check = QTimer(self)
        self._scroll_check.setSingleShot(True)
        self._scroll_check.setInterval(0)
        self._scroll_check.timeout.connect(self._check_scroll_edges)

        self._search_field.textEdited.connect(lambda _: self._search_timer.start())
        self._search_timer.timeout.connect(self._run_search)
        self._search_field.returnPressed.connect(lambda: self._step_hit(+1))
        self._search_field.installEventFilter(self)
        self._older_button.clicked.connect(lambda: self._step_hit(+1))
        self._newer_button.clicked.connect(lambda: self._step_hit(-1))
        self._close_search_button.clicked.connect(self.close_search)

        def shortcut(keys: QKeySequence | QKeySequence.StandardKey, slot: Any) -> None:
            sequence = keys if isinstance(keys, QKeySequence) else QKeySequence(keys)
            QShortcut(sequence, self, context=Qt.ShortcutContext.WindowShortcut).activated.connect(
                slot
            )

        shortcut(QKeySequence.StandardKey.Find, self.open_search)
        shortcut(QKeySequence.StandardKey.FindNext, lambda: self._step_hit(+1))
        shortcut(QKeySequence.StandardKey.FindPrevious, lambda: self._step_hit(-1))
        shortcut(QKeySequence(Qt.Key.Key_Escape), self._escape)
        shortcut(QKeySequence.StandardKey.Close, self.close)
        shortcut(QKeySequence("Ctrl+End"), self.jump_to_latest)
        shortcut(QKeySequence("Ctrl+G"), self.ask_date)
        if self.KIND is ConversationKind.CHAT:
            shortcut(QKeySequence("Ctrl+I"), self.show_details)

    # -- events from the core ---------------------------------------------------------

    def _on_message_event(self, event: MessageEvent) -> None:
        """A message of some conversation was stored, moved on, edited, removed, or
        reacted to: only the row concerned changes."""
        if self._closed or event.message.key != self._key:
            return
        match event:
            case MessageAdded(message=message):
                self._on_message_added(message)
            case MessageStateChanged(message=message) | MessageIdentified(message=message):
                self._model.update(message)  # (identified: it has the room's id now)
            case MessageEdited(message=message):
                self._model.update(message)
                self._follow_change(message)
            case MessageRemoved(message=message):
                self._model.update(message)
                self._follow_change(message)
            case MessageFolded(message=message, into=into):
                self._model.remove(message)
                self._follow_fold(message, into)
            case ReactionsChanged(message=message, reactions=reactions):
                self._model.set_reactions(message, reactions)

    def _follow_change(self, message: Message) -> None:
        """The message being edited or answered was edited or removed (here, from
        another device, or by the contact)."""
        key = row_key(message)
        if self._editing is not None and row_key(self._editing) == key:
            if message.removed:
                self._end_edit()
                self._hide_context()
                self._show_error("The message you were editing was removed.")
            else:
                self._editing = message
        if self._replying is not None and row_key(self._replying) == key:
            if message.removed:
                self._replying = None
                self._hide_context()
            else:
                self._replying = message
                self._show_reply_context()

    def _follow_fold(self, folded: Message, into: Message) -> None:
        """The correction being edited or answered was folded into the message it
        corrects: go on with that message."""
        key = row_key(folded)
        if self._editing is not None and row_key(self._editing) == key:
            self._editing = into
        if self._replying is not None and row_key(self._replying) == key:
            self._replying = into
            self._show_reply_context()

    def _on_chat_state(self, event: ChatStateChanged) -> None:
        key = self._key
        # The peer is a bare address already; a stray resource must not hide it.
        peer = event.peer.partition("/")[0]
        if not self._closed and ConversationKey(event.account, peer, event.kind) == key:
            self._show_typing(event.state == "composing")

    def _on_roster_event(self, event: RosterEvent) -> None:
        """The contact's presence, name or roster entry may have changed."""
        if self._closed:
            return
        key = self._key
        match event:
            case ContactPresenceChanged(account=account, jid=jid, presence=presence):
                if (account, jid) == (key.account, key.peer):
                    self._refresh_contact()
                    if not presence.available:
                        self._show_typing(False)
            case ContactUpdated(contact=contact):
                if (contact.account, contact.jid) == (key.account, key.peer):
                    self._refresh_contact()
            case ContactRemoved(account=account, jid=jid):
                if (account, jid) == (key.account, key.peer):
                    self._refresh_contact()
            case RosterReceived(account=account):
                if account == key.account:
                    self._refresh_contact()
            case _:  # groups: nothing shown here
                pass

    def _on_account_event(self, event: AccountEvent) -> None:
        """The account's settings changed: the user's own name may have."""
        if (
            not self._closed
            and isinstance(event, AccountChanged)
            and event.account == self._key.account
        ):
            self._refresh_contact()

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        if self._closed or event.account != self._key.account:
            return
        if isinstance(event, ConnectionStateChanged):
            self._refresh_connection()
            if event.state is not ConnectionState.ONLINE:
                self._show_typing(False)

    def _on_message_added(self, message: Message) -> None:
        own_here = message.outgoing and message.origin is Origin.LOCAL
        if own_here and not self._model.at_live_end:
            self.jump_to_latest()  # what the user just sent must be in view
        inserted = self._model.add(message)
        if own_here:
            self._stick = True
            self._view.scrollToBottom()
        elif message.direction is Direction.INCOMING:
            self._show_typing(False)  # a message ends "typing"
            if not self._stick or not inserted:
                self._unseen += 1
            if (
                inserted
                and self._model.read_marker is None
                and (not self.isActiveWindow() or self.isMinimized())
                and self._after_read_position(message)
            ):  # not looked at: the unread messages start here
                self._model.set_read_marker(message)
            self._mark_read_soon()
        if self._stick and self._model.rowCount() > self._model.max_rows:
            self._model.trim_oldest(self._model.max_rows)
        self._update_jump_button()

    # -- header -----------------------------------------------------------------------

    def _names(self) -> tuple[str, str]:
        core = self._ctx.core
        config = core.accounts.find(self._key.account)
        own = config.nickname if config is not None and config.nickname else "Me"
        # The conversation's title: for a direct one the contact's name in the roster.
        return own, core.conversations.title(self._key) or self._key.peer

    def _refresh_contact(self) -> None:
        own, name = self._names()
        self._model.set_names(own, name)
        presence = self._ctx.core.roster.presence(self._key.account, self._key.peer)
        status = Status.from_show(presence.show)
        self._name_label.setText(name)
        self._name_label.setToolTip(self._key.peer)
        self.header_avatar.set_name(name)
        detail = status.label + (f" \u2014 {presence.status}" if presence.status else "")
        self._status_label.setText(detail)
        self._status_label.setToolTip(detail)
        icon = status_icon(status)
        self._presence_icon.setPixmap(icon.pixmap(16, 16))
        self._presence_icon.setToolTip(status.label)
        self._presence_icon.setAccessibleDescription(status.label)
        self.setWindowIcon(icon)
        self.setWindowTitle(f"{name} ({status.label})")
        self._typing_name = name

    def _refresh_connection(self) -> None:
        state = self._ctx.core.state(self._key.account)
        if state is ConnectionState.ONLINE:
            text = ""
        elif state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
            text = "Connecting\u2026 messages are sent once connected."
        else:
            text = "Offline: sign in to send messages."
        self._connection_label.setText(text)
        self._connection_label.setVisible(bool(text))

    def _show_typing(self, typing: bool) -> None:
        self._typing_label.setText(f"{self._typing_name} is typing\u2026" if typing else "")

    @property
    def typing_text(self) -> str:
        """The typing line as shown ("" when the contact is not typing)."""
        return self._typing_label.text()

    @property
    def error_text(self) -> str:
        """The error bar's text ("" when it is hidden)."""
        return "" if self._error_bar.isHidden() else self._error_label.text()

    # -- scrolling and paging ---------------------------------------------------------

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick and not self._adjusting:
            self._view.verticalScrollBar().setValue(maximum)
        self._scroll_check.start()

    def _on_scrolled(self, value: int) -> None:
        if self._adjusting:
            return
        maximum = self._view.verticalScrollBar().maximum()
        self._stick = value >= maximum - STICK_PX and self._model.at_live_end
        if self._stick:
            self._unseen = 0
        self._scroll_check.start()
        self._update_jump_button()

    def _check_scroll_edges(self) -> None:
        """Load the next page at whichever end the user has reached (deferred by one
        turn of the loop, so a scroll bar drag is not re-entered)."""
        if self._closed or self._model.rowCount() == 0:
            return
        scroll_bar = self._view.verticalScrollBar()
        value, maximum = scroll_bar.value(), scroll_bar.maximum()
        if value <= PREFETCH_PX and self._model.has_older:
            self._keeping_position(self._model.fetch_older)
        elif value >= maximum - PREFETCH_PX and not self._model.at_live_end:
            self._keeping_position(self._model.fetch_newer)
        self._drop_marker_if_read()
        self._update_jump_button()

    # -- the read position ------------------------------------------------------------

    def _place_read_marker(self) -> None:
        """On opening: "New messages" above the first message of the others that came
        after our read position (the core's ``first_unread``), paging back until it is
        loaded within the rows the window keeps (beyond them: above the oldest loaded
        message after the read position)."""
        model = self._model
        try:
            first = self._ctx.core.conversations.first_unread(self._key)
            target = self._first_unread_message(first)
            if target is None:
                return
            while (
                model.row_of(target) is None
                and model.has_older
                and model.rowCount() + model.scroll_page <= model.max_rows
            ):
                if not model.fetch_older():
                    break
            if model.row_of(target) is None:
                target = self._oldest_loaded_after(first)
        except Exception:
            log.exception("the read position of %s is unavailable", self._key.peer)
            return
        if target is not None:
            model.set_read_marker(target)
            self._show_marker = True

    def _first_unread_message(self, first: int) -> Message | None:
        """The others' message with the lowest sequence from ``first`` on (the sequence
        after our read position; 0: everything is read), looked for in as many entries
        of the log as the window keeps rows; beyond them (edits, reactions and our own
        messages after the read position): the oldest loaded one after it, if any."""
        if not first:
            return None
        core = self._ctx.core
        key = self._key
        after, scanned = first - 1, 0
        while scanned < self._model.max_rows:
            events = core.conversations.events(key, after)
            if not events:
                return None  # the whole log after the read position was looked at
            for event in events:
                if (
                    event.kind is EventKind.MESSAGE  # (not an edit, removal or reaction)
                    and event.message_id is not None
                    and event.author != key.account
                ):
                    message = core.store.get_by_id(event.message_id)
                    if message is not None and message.direction is Direction.INCOMING:
                        return message
            scanned += len(events)
            after = events[-1].sequence
        return self._oldest_loaded_after(first)

    def _oldest_loaded_after(self, first: int, start: int = 0) -> Message | None:
        """The oldest loaded message of the others (from row ``start`` on) with a
        sequence from ``first`` on."""
        model = self._model
        store = self._ctx.core.store
        for row in range(start, model.rowCount()):
            message = model.message(row)
            if message.direction is not Direction.INCOMING or message.id is None:
                continue
            sequence = store.message_sequence(message.id)
            if sequence is not None and sequence >= first:
                return message
        return None

    def _after_read_position(self, message: Message) -> bool:
        """Whether ``message`` came after our read position in the conversation's log."""
        if message.id is None:
            return False
        try:
            first = self._ctx.core.conversations.first_unread(self._key)
            sequence = self._ctx.core.store.message_sequence(message.id) if first else None
        except Exception:
            log.exception("the read position of %s is unavailable", self._key.peer)
            return False
        return sequence is not None and sequence >= first

    def _on_conversation_event(self, event: ConversationChange) -> None:
        """Our read position moved on while this window was not being read (the user
        read on another device): "New messages" moves down to the first of the
        contact's messages after it, or goes when there is none."""
        key = self._key
        if self._closed or event.key != key or event.participant != key.account:
            return
        if self._marking or (self.isActiveWindow() and not self.isMinimized()):
            return  # read here: the line stays until scrolled past
        marker = self._model.read_marker
        row = None if marker is None else self._model.row_of(marker)
        if row is None:
            return
        try:
            self._model.set_read_marker(self._oldest_loaded_after(event.sequence + 1, row))
        except Exception:
            log.exception("the read position of %s is unavailable", key.peer)

    def _show_read_position(self) -> None:
        """Once laid out: if "New messages" is above the view, scroll it to the top."""
        if self._closed:
            return
        marker = self._model.read_marker
        index = QModelIndex() if marker is None else self._model.index_of(marker)
        if not index.isValid():
            return
        view = self._view
        view.doItemsLayout()
        if view.visualRect(index).top() >= 0:
            return  # the line and every new message below it are in view
        self._stick = False
        self._adjusting = True
        try:
            view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
        finally:
            self._adjusting = False
        self._on_scrolled(view.verticalScrollBar().value())

    def _drop_marker_if_read(self) -> None:
        """ "New messages" goes once the user has scrolled past it (it is above the view)
        with the window in front (so what is below it is read)."""
        marker = self._model.read_marker
        if marker is None or self._show_marker or not self.isActiveWindow():
            return
        index = self._model.index_of(marker)
        if index.isValid() and self._view.visualRect(index).bottom() < 0:
            self._model.set_read_marker(None)

    def _keeping_position(self, change: Any) -> None:
        """Run ``change`` (a model change) so the message at the top of the view stays
        exactly where it is on screen.

        The view does that itself for rows coming and going out of sight, without
        repainting anything (a page of older rows measured is work enough for one turn
        of the loop); here it is checked, and mended if the view had to lay every row
        out again."""
        view = self._view
        index = view.indexAt(QPoint(view.viewport().width() // 2, 1))
        if not index.isValid():
            index = self._model.index(0)
        anchor = QPersistentModelIndex(index)
        before = view.visualRect(index).top()
        self._adjusting = True
        try:
            with view.inserting_above():
                changed = change()
            if changed and anchor.isValid():
                view.updateGeometries()  # the scroll range of the rows now there
                after = view.visualRect(self._model.index(anchor.row())).top()
                scroll_bar = view.verticalScrollBar()
                scroll_bar.setValue(scroll_bar.value() + after - before)
        finally:
            self._adjusting = False
        maximum = view.verticalScrollBar().maximum()
        self._stick = view.verticalScrollBar().value() >= maximum - STICK_PX and (
            self._model.at_live_end
        )
        if changed:
            self._scroll_check.start()  # a short page may leave us at the edge still

    def _update_jump_button(self) -> None:
        scroll_bar = self._view.verticalScrollBar()
        away = scroll_bar.value() < scroll_bar.maximum() - max(STICK_PX, 48)
        show = away or not self._model.at_live_end
        self._jump_button.setText(
            f"\u2193 {self._unseen} new" if self._unseen and show else "\u2193 Latest"
        )
        self._jump_button.setVisible(show)
        if show:
            self._jump_button.raise_()
            self._view.set_overlay(self._jump_button)

    @property
    def jump_button(self) -> QToolButton:
        return self._jump_button

    # -- sending ------------------------------------------------------------------------

    def _submit_from_button(self) -> None:
        self._submit(self._compose.text())

    def _submit(self, text: str) -> None:
        if not text.strip() or self._compose.isReadOnly():
            return
        # Read-only while the store commits (milliseconds), so what is cleared on
        # success is exactly what was sent.
        self._compose.setReadOnly(True)
        if self._editing is not None:
            self._spawn(self._correct_from_compose(self._editing, text), "editing")
        else:
            self._spawn(self._send_from_compose(text, self._replying), "sending")

    async def _send_from_compose(self, text: str, reply_to: Message | None = None) -> None:
        try:
            await self._send(text, reply_to=reply_to)
        except Exception:  # shown in the error bar (and logged, if unexpected) by _send
            return  # the text stays in the box to fix or resend
        finally:
            if not self._closed:
                self._compose.setReadOnly(False)
        if not self._closed:
            self._compose.message_sent()
            if reply_to is not None and self._replying is reply_to:
                self._replying = None
                self._hide_context()

    async def _correct_from_compose(self, message: Message, text: str) -> None:
        """Enter while editing: send the correction (nothing if the text is the same)."""
        try:
            if text != self._fresh(message).body:
                await self._ctx.core.messaging.correct(message, text)
        except ChinwagError as exc:
            if not self._closed:
                self._show_error(f"Not edited: {exc.message}")
            return  # the text stays in the box to fix or try again
        except Exception:
            log.exception("editing a message to %s failed", self._key.peer)
            if not self._closed:
                self._show_error("Not edited: an internal error occurred (see the log).")
            return
        finally:
            if not self._closed:
                self._compose.setReadOnly(False)
        if self._closed:
            return
        self._hide_error()
        self._compose.message_sent()
        if self._editing is message or (
            self._editing is not None and row_key(self._editing) == row_key(message)
        ):
            self._end_edit()
            self._hide_context()

    async def _send(
        self,
        text: str,
        *,
        mtype: MessageType = MessageType.NORMAL,
        flags: int = 0,
        reply_to: Message | None = None,
    ) -> Message:
        try:
            message = await self._ctx.core.messaging.send(
                self._key.account,
                self._key.peer,
                text,
                mtype=mtype,
                flags=flags,
                reply_to=reply_to,
                kind=self._key.kind,
            )
        except ChinwagError as exc:
            if not self._closed:
                self._show_error(f"Not sent: {exc.message}")
            raise
        except Exception:
            log.exception("sending to %s failed", self._key.peer)
            if not self._closed:
                self._show_error("Not sent: an internal error occurred (see the log).")
            raise
        if not self._closed:
            self._hide_error()  # the MessageAdded event has shown and scrolled to it
        return message

    def _retry(self, message: Message) -> None:
        """Send a failed message of ours again; one whose file never went up uploads its
        file again (as its card's Retry does): sent as it is, it would be the file's
        name without the file."""
        files = self._ctx.core.files
        found = files.attachment(message.id) if files is not None and message.id else None
        if (
            files is not None
            and found is not None
            and found.direction is Direction.OUTGOING
            and found.state is not AttachmentState.UPLOADED
        ):
            self._call_core(files.retry(found.message_id), "Not sent")
            return
        self._call_core(self._ctx.core.messaging.retry(message), "Not sent")

    def _retract(self, message: Message) -> None:
        if self._editing is not None and row_key(self._editing) == row_key(message):
            self.cancel_compose_context()
        self._call_core(self._ctx.core.messaging.retract(message), "Not removed")

    def _call_core(self, work: Coroutine[Any, Any, Any], failure: str) -> None:
        """Run ``work`` (a call into the core) on the loop; if it fails, the error bar
        says ``failure`` and why."""

        def failed(exc: BaseException) -> None:
            if self._closed:
                return
            if isinstance(exc, ChinwagError):
                self._show_error(f"{failure}: {exc.message}")
            else:  # logged by the task helper
                self._show_error(f"{failure}: an internal error occurred (see the log).")

        self._spawn(work, failure, on_error=failed)

    def _fresh(self, message: Message) -> Message:
        """``message`` as it is now (a menu may have been opened before an edit)."""
        row = self._model.row_of(message)
        return message if row is None else self._model.message(row)

    def _end_edit(self) -> None:
        """Leave editing; what was typed before it comes back."""
        self._editing = None
        draft, self._draft = self._draft, ""
        self._compose.set_text(draft)

    # -- going on as a group conversation ------------------------------------------------

    def ask_add_people(self) -> QInputDialog:
        """Ask whom to add; the conversation then goes on in a new group conversation."""
        dialog = QInputDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle("Add people")
        dialog.setLabelText(f"Start a group conversation with {self._typing_name} and (address):")
        dialog.textValueSelected.connect(self.add_people)
        dialog.open()
        return dialog

    def add_people(self, address: str) -> None:
        """Make a private room with the contact and ``address``, invite both, and go on
        in its window (this one closes; a script's handle of it follows)."""
        key = self._key
        try:
            other = Jid.parse(address.strip()).bare
        except InvalidAddress:
            self._show_error(f"Not added: {address.strip()[:80]!r} is not an address.")
            return
        if other in (key.peer, jids.bare(key.account)):
            self._show_error("Not added: already in this conversation.")
            return
        core = self._ctx.core
        own, name = self._names()
        names = (own, name, core.conversations.title(ConversationKey(key.account, other)))

        async def go_on() -> None:
            room = await start_group(
                core.rooms,
                core.invitations,
                key.account,
                [key.peer, other],
                title=", ".join(names),
                reason=f"{own} invites you to a group conversation",
            )
            if not self._closed:
                self._ctx.windows.replace(self, key.account, room, ConversationKind.GROUPCHAT)

        self._connection_label.setText("Starting a group conversation\u2026")
        self._connection_label.show()
        self._call_core(go_on(), "No group conversation")

    def _show_context(self, text: str, tip: str) -> None:
        self._context_label.setText(text)
        self._context_label.setToolTip(tip)
        self._context_bar.setAccessibleDescription(tip)
        self._context_bar.show()
        self._name_send_button()

    def _name_send_button(self) -> None:
        """ "Save" while editing, "Send" otherwise."""
        if self._editing is not None:
            self._send_button.setText("&Save")
            self._send_button.setAccessibleName("Save the edited message")
            self._send_button.setToolTip("Save the edited message (Enter)")
        else:
            self._send_button.setText("&Send")
            self._send_button.setAccessibleName("Send message")
            self._send_button.setToolTip("Send the message (Enter)")

    def _show_reply_context(self) -> None:
        message = self._replying
        if message is None:
            return
        name = self._model.sender_name(message)
        quote = first_line(message.body, CONTEXT_QUOTE_CHARS)
        self._show_context(f"Replying to {name}: {quote}", f"Reply to {name}: {quote}")

    def _hide_context(self) -> None:
        self._context_bar.hide()
        self._context_label.clear()
        self._name_send_button()

    def _copy_row(self, index: QModelIndex) -> None:
        message = index.data(Role.MESSAGE)
        if isinstance(message, Message) and not message.removed:
            QGuiApplication.clipboard().setText(message.body)

    def _send_chat_state(self, state: str) -> None:
        try:
            key = self._key
            self._ctx.core.messaging.send_chat_state(key.account, key.peer, state, key.kind)
        except ChinwagError as exc:  # chat states are a courtesy: never bother the user
            log.debug("chat state %s not sent: %s", state, exc)

    def _show_error(self, text: str) -> None:
        self._error_label.setText(text[:1].upper() + text[1:])
        self._error_bar.show()

    def _hide_error(self) -> None:
        self._error_bar.hide()
        self._error_label.clear()

    # -- links and the message menu -----------------------------------------------------

    def _open_link(self, url: QUrl) -> None:
        if url.scheme().lower() == "xmpp" and not url.hasQuery():
            # A contact's address opens a conversation here, not in another client.
            try:
                address = jids.bare(url.path())
            except InvalidAddress:
                address = ""
            if address:
                self._ctx.windows.open(self._key.account, address)
                return
        QDesktopServices.openUrl(url)

    def _show_menu(self, index: QModelIndex, where: QPoint) -> None:
        menu = self.message_menu(index)
        menu.popup(where)  # never exec(): no nested event loop

    # -- search -------------------------------------------------------------------------

    def _run_search(self) -> None:
        self._search_timer.stop()
        text = self._search_field.text().strip()
        try:
            self._hits = self._ctx.core.store.search(text, self._key, SEARCH_LIMIT) if text else []
        except Exception:
            log.exception("search in %s failed", self._key.peer)
            self._hits = []
        self._model.set_search(self._hits)
        self._hit = 0 if self._hits else -1
        self._show_hit()

    def _step_hit(self, step: int) -> None:
        """Move to an older (+1) or newer (-1) hit."""
        if self._search_bar.isHidden():
            if step > 0:
                self.open_search()
            return
        if self._search_timer.isActive():  # Enter before the search ran: run it now
            self._run_search()
            return
        if not self._hits:
            return
        self._hit = min(max(self._hit + step, 0), len(self._hits) - 1)
        self._show_hit()

    def _show_hit(self) -> None:
        hit = self.current_hit
        total = len(self._hits)
        more = "+" if total >= SEARCH_LIMIT else ""
        if hit is None:
            has_text = bool(self._search_field.text().strip())
            self._search_status.setText("No matches" if has_text else "")
            self._model.set_current_hit(None)
        else:
            self._search_status.setText(f"{self._hit + 1} of {total}{more}")
            self._model.set_current_hit(hit.message)
            self._scroll_to(hit.message)
        self._older_button.setEnabled(hit is not None and self._hit < total - 1)
        self._newer_button.setEnabled(hit is not None and self._hit > 0)

    # -- jump to a date (chinwag.ui.jump_to_date) -------------------------------------------

    def ask_date(self) -> DatePopup:
        """The calendar under the header's date button; a day picked goes there."""
        popup = DatePopup(self)
        first = self._model.message(0) if self._model.rowCount() else None
        if first is not None and not self._model.has_older:
            popup.set_range(local_day(first.timestamp))
        if self._model.rowCount():
            middle = self._view.indexAt(self._view.viewport().rect().center())
            shown = self._model.message(middle.row()) if middle.isValid() else first
            if shown is not None:
                popup.set_range(None, local_day(shown.timestamp))
        popup.chosen.connect(lambda day: self.go_to_date(to_date(day)))
        button = self._date_button
        popup.popup_at(button.mapToGlobal(button.rect().bottomLeft()))
        return popup

    def go_to_date(self, day: dt.date) -> Message | None:
        """Show the first message on or after the start of local ``day`` at the top of
        the history, current; after the last message: the newest (None returned)."""
        try:
            message = self._ctx.core.store.first_from(self._key, start_of_day(day))
        except Exception:
            log.exception("finding the messages of %s failed", day)
            message = None
        if message is None:
            self.jump_to_latest()
            return None
        self._scroll_to(message, QAbstractItemView.ScrollHint.PositionAtTop)
        self._view.setFocus(Qt.FocusReason.OtherFocusReason)
        return message

    def _scroll_to(
        self,
        message: Message,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.PositionAtCenter,
    ) -> None:
        index = self._model.index_of(message)
        if not index.isValid():
            self._stick = False
            self._adjusting = True
            try:
                self._model.load_around(message)
            finally:
                self._adjusting = False
            index = self._model.index_of(message)
        if not index.isValid():
            return
        self._stick = False
        self._adjusting = True
        try:
            self._view.doItemsLayout()
            self._view.scrollTo(index, hint)
        finally:
            self._adjusting = False
        self._view.setCurrentIndex(index)
        self._on_scrolled(self._view.verticalScrollBar().value())

    def _escape(self) -> None:
        composing = self._editing is not None or self._replying is not None
        if composing and not self._search_field.hasFocus():
            self.cancel_compose_context()
        elif not self._search_bar.isHidden():
            self.close_search()
        elif composing:
            self.cancel_compose_context()
        else:
            self.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._search_field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key, shift = event.key(), event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and shift:
                self._step_hit(-1)
                return True
            if key == Qt.Key.Key_Up:
                self._step_hit(+1)
                return True
            if key == Qt.Key.Key_Down:
                self._step_hit(-1)
                return True
        return super().eventFilter(watched, event)

    # -- read markers ---------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ActivationChange, QEvent.Type.WindowStateChange):
            self._mark_read_soon()

    def _mark_read_soon(self) -> None:
        """Mark incoming messages displayed if the user can see them (window active)."""
        if self._closed or not self.isActiveWindow() or self.isMinimized():
            return
        if self._marking:
            self._mark_again = True
            return
        try:
            # The contact's messages after our read position: none once read here or on
            # another device, whatever their states (nothing to mark then).
            unread = self._ctx.core.store.unread_count(self._key)
        except Exception:  # the store is closing at shutdown
            log.debug("unread count of %s unavailable", self._key.peer, exc_info=True)
            return
        if unread:
            self._marking = True
            self._spawn(self._mark_read(), "marking read")

    async def _mark_read(self) -> None:
        try:
            while True:
                self._mark_again = False
                await self._ctx.core.messaging.mark_displayed(self._key)
                if not self._mark_again:
                    break
        except Exception:
            log.exception("marking %s read failed", self._key.peer)
        finally:
            self._marking = False

    # -- life ---------------------------------------------------------------------------

    def _spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        what: str,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Await the core: what this window asks of it finishes even if it is closed."""
        self._tasks.start(coro, what=what, on_error=on_error, outlive=True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._show_marker:
            QTimer.singleShot(0, self._first_shown)

    def _first_shown(self) -> None:
        if self._show_marker:
            self._show_marker = False
            self._show_read_position()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self._scroll_check.stop()
            self._search_timer.stop()
            for text_window in self._text_windows.values():  # "Show all" windows go too
                text_window.close()
                text_window.deleteLater()
            self._text_windows.clear()
            for versions_window in self._versions_windows.values():
                versions_window.close()
                versions_window.deleteLater()
            self._versions_windows.clear()
            for signal, slot in self._slots:
                with contextlib.suppress(RuntimeError, TypeError):  # gone with the bridge
                    signal.disconnect(slot)
            self._tasks.close()
            if self._compose.chat_states_sent:
                self._send_chat_state("gone")  # XEP-0085: the user left the conversation
            self.closed.emit()
        event.accept()
        super().closeEvent(event)


class _ElidedLabel(QLabel):
    """A one-line label whose text ends in an ellipsis when it does not fit (a quote
    of a long line); :meth:`text` is still the whole text."""

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(
            self.text().replace("\n", " "), Qt.TextElideMode.ElideRight, rect.width()
        )
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            self.palette(),
            self.isEnabled(),
            text,
            self.foregroundRole(),
        )


def _plain_label(parent: QWidget, name: str) -> QLabel:
    """A label that never interprets its text as rich text (names, status messages and
    errors come from other people and servers)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAccessibleName(name)
    return label


def _separator(parent: QWidget, name: str) -> QFrame:
    """A thin horizontal line in the palette's colour for frames and dividers (Mid)."""
    line = QFrame(parent)
    line.setObjectName(name)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setLineWidth(1)
    line.setFixedHeight(1)
    line.setForegroundRole(QPalette.ColorRole.Mid)
    return line


def _tool_button(parent: QWidget, name: str, text: str, tip: str) -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName(name)
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (", maxsplit=1)[0])
    button.setAutoRaise(True)
    return button


__all__ = ["ConversationWindow", "HistoryView"]
