"""The main window: the contact list.

Owns :class:`MainWindow` (the status header, the subscription-request banners, the filter
box and the contact tree with its menus) and the two small widgets only it uses:
:class:`SubscriptionBanner` and :class:`ContactView`. The window renders the roster models
and forwards intents to the core; it holds no roster logic of its own.

Nothing here blocks the event loop: dialogs are opened with ``open()`` and answer through
signals, and every roster change runs as an asyncio task whose failure is shown in the
status bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QKeyCombination, QModelIndex, QObject, QPoint, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QContextMenuEvent,
    QKeyEvent,
    QKeySequence,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import ChinwagError
from chinwag.core.events import (
    ContactUpdated,
    StorageFailed,
    SubscriptionRequestCleared,
    SubscriptionRequested,
)
from chinwag.core.models import Subscription
from chinwag.system import preferences as prefs
from chinwag.ui.avatars import avatar_images
from chinwag.ui.banner import Banner, escape
from chinwag.ui.bridge import RosterEvent, StorageEvent, SubscriptionEvent
from chinwag.ui.contact_delegate import ContactDelegate
from chinwag.ui.context import UiContext
from chinwag.ui.icons import icon
from chinwag.ui.invitation_banner import InvitationBanners
from chinwag.ui.item_views import ENTER_KEYS, claim_viewport, paint_placeholder, request_menu
from chinwag.ui.rooms_section import RoomsSection
from chinwag.ui.roster_model import (
    DEFAULT_GROUP,
    RosterFilterModel,
    RosterModel,
    RosterRole,
    SortMode,
)
from chinwag.ui.screen_fit import fit_to_screen
from chinwag.ui.status_bar import StatusHeader
from chinwag.ui.tasks import UiTasks
from chinwag.ui.window_frame import WindowFrame

log = logging.getLogger(__name__)

#: Subscription banners shown at once; more wait their turn (a burst of requests must
#: not push the contact list out of the window).
MAX_BANNERS = 3
NOTICE_MS = 10_000  # how long a notice stays in the status bar
#: What the contact list says when there is nobody in it yet.
EMPTY_ROSTER_HINT = (
    "No contacts yet.\n\nTo add someone, click the Add contact button beside the search "
    "field and type their address, like alice@example.org."
)


class ContactView(QTreeView):
    """The contact tree: Enter on a group folds it, the context-menu key opens the menu of
    the current row (not of whatever lies under the mouse)."""

    #: A context menu is wanted for this (proxy) index at this global position.
    menu_requested = Signal(QModelIndex, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        claim_viewport(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if event.key() in ENTER_KEYS and index.isValid() and index.data(RosterRole.IS_GROUP):
            self.setExpanded(index, not self.isExpanded(index))
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        request_menu(self, event, self.menu_requested)

    def placeholder_text(self) -> str:
        """What the list says while it shows no row: how to add someone when there is
        nobody, else why nobody shows (the filter, or everyone offline)."""
        proxy = self.model()
        if proxy is None or proxy.rowCount() > 0:
            return ""
        if not isinstance(proxy, RosterFilterModel) or proxy.sourceModel().rowCount() == 0:
            return EMPTY_ROSTER_HINT
        if proxy.filter_text:
            return "No contact matches."
        return "Nobody is online. View > Show offline contacts lists everyone."

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        paint_placeholder(self, self.placeholder_text())


class SubscriptionBanner(Banner):
    """ "<address> wants to see when you are online" with Accept and Decline."""

    def __init__(self, account: str, jid: str, nick: str, parent: QWidget | None = None) -> None:
        who = f"{nick} ({jid})" if nick and nick != jid else jid
        super().__init__(
            f"<b>{escape(who)}</b> wants to add you as a contact.",
            said=f"Contact request from {who}",
            name=f"Contact request from {who}",
            accept_name=f"Accept the request from {jid}",
            decline_name=f"Decline the request from {jid}",
            parent=parent,
        )
        self.account = account
        self.jid = jid


class MainWindow(WindowFrame, QMainWindow):
    """The contact list window. Closing it hides it to the tray unless
    :attr:`really_quit` is set."""

    #: File > Add contact… (the composition root opens the dialog).
    add_contact_requested = Signal()
    #: Group chat > Join Group Chat…, Create Group Chat…, Browse Group Chats… (the
    #: composition root opens the dialogs).
    join_room_requested = Signal()
    create_room_requested = Signal()
    browse_rooms_requested = Signal()
    #: File > Accounts…, or a status picked with no account.
    accounts_requested = Signal()
    #: File > Quit.
    quit_requested = Signal()
    #: The window was closed and is now hidden; the app keeps running in the tray.
    hidden_to_tray = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        #: Set by the app before closing for good; otherwise closing hides to the tray.
        self.really_quit = False
        self._tasks = UiTasks(self, "the contact list")
        self._collapsed: set[str] = set()  # groups the user folded
        self._expanding = False  # expansion changes made here, not by the user
        self._banners: dict[tuple[str, str], SubscriptionBanner] = {}
        self._waiting: dict[tuple[str, str], str] = {}  # requests beyond MAX_BANNERS

        self.setWindowTitle("Chinwag")
        self.setWindowIcon(icon("chinwag"))
        self.setAccessibleName("Chinwag contact list")
        fit_to_screen(self, 340, 600)  # no larger than a small (or scaled) screen

        self.roster_model = RosterModel(ctx.core, ctx.bridge, self)
        self.filter_model = RosterFilterModel(self.roster_model, self)
        self._restore_view_settings()

        self.status_header = StatusHeader(ctx, self)
        self.status_header.accounts_needed.connect(self.accounts_requested)
        self.status_header.avatar_clicked.connect(self.show_avatar_preferences)

        self._banner_area = self._build_banner_area()
        #: Shown while the history cannot be written (the disk is full, ...).
        self.storage_warning = QLabel(self)
        self.storage_warning.setAccessibleName("History problem")
        self.storage_warning.setWordWrap(True)
        self.storage_warning.setFrameShape(QFrame.Shape.StyledPanel)
        self.storage_warning.setMargin(6)
        self.storage_warning.hide()
        self.filter_edit = self._build_filter()
        self.contact_view = self._build_view()
        # Group chats: the invitations over the list, the rooms under the contacts.
        self.invitation_banners = InvitationBanners(ctx, self)
        self.invitation_banners.notice.connect(self._notify)
        self.rooms_section = RoomsSection(ctx, self)
        self.rooms_section.notice.connect(self._notify)
        self._build_actions()
        self._build_menus()
        self._build_room_menu()
        self._build_preferences_and_help()
        self._search_all_action()
        self._build_layout()

        ctx.bridge.storage_changed.connect(self._on_storage_event)
        ctx.bridge.subscriptions_changed.connect(self._on_subscription_event)
        ctx.bridge.roster_changed.connect(self._on_roster_event)
        self._load_requests()
        self._apply_expansion()

    # -- public API ------------------------------------------------------------------------

    def present(self, activate: bool = True) -> None:
        """Show, un-minimise, raise and activate (the tray's "Show")."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        if activate:
            self.activateWindow()

    # -- what the automation API reads and sets (api.ports.MainView) -------------

    def is_shown(self) -> bool:
        return self.isVisible()

    def hide_to_tray(self) -> None:
        """Hidden, still signed in, in the tray (as closing it does, unless the user
        chose that closing quits)."""
        self.hide()
        self.hidden_to_tray.emit()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def open_conversation(self, index: QModelIndex) -> bool:
        """Open the conversation of the contact at ``index`` (of the view's model); False
        for a group row."""
        if not index.isValid() or index.data(RosterRole.IS_GROUP):
            return False
        self._ctx.windows.open(index.data(RosterRole.ACCOUNT), index.data(RosterRole.JID))
        return True

    def menu_for(self, index: QModelIndex) -> QMenu | None:
        """The context menu of the contact at ``index`` (of the view's model), not shown;
        None for a group row."""
        if not index.isValid() or index.data(RosterRole.IS_GROUP):
            return None
        account: str = index.data(RosterRole.ACCOUNT)
        jid: str = index.data(RosterRole.JID)
        row_group: str = index.data(RosterRole.GROUP)
        menu = QMenu(self)
        menu.setAccessibleName(f"Actions for {index.data()}")
        menu.setToolTipsVisible(True)
        send = menu.addAction(icon("send"), "Send message")
        send.triggered.connect(lambda: self._ctx.windows.open(account, jid))
        menu.setDefaultAction(send)
        details = menu.addAction("Details…")
        details.triggered.connect(lambda: self._open_details(account, jid))
        menu.addAction("Rename…").triggered.connect(lambda: self.rename_contact(account, jid))
        menu.addMenu(self._move_menu(menu, account, jid, row_group))
        menu.addAction(self._block_action(menu, account, jid))
        menu.addSeparator()
        remove = menu.addAction(icon("remove-contact"), "Remove contact…")
        remove.triggered.connect(lambda: self.remove_contact(account, jid))
        return menu

    def _open_details(self, account: str, jid: str) -> None:
        # (the dialog and the account and certificate forms it uses are imported when
        # first asked for, not with the contact list)
        from chinwag.ui.contact_details_dialog import open_contact_details

        open_contact_details(self._ctx, account, jid, self)

    def rename_contact(self, account: str, jid: str) -> QInputDialog:
        """Ask for a new name (non-modal), showing the name the list shows (the user's,
        else the nickname the contact publishes); renames on OK when it was changed (an
        unchanged nickname is not made the user's name; an empty one names it by its
        nickname or address again)."""
        shown = self._ctx.core.roster.display_name(account, jid)
        before = shown if shown != jid else ""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename contact")
        dialog.setLabelText(f"Name for {jid}:")
        dialog.setTextValue(before)
        dialog.setAccessibleName("Rename contact")

        def chosen(text: str) -> None:
            if text.strip() != before:
                self._run(
                    self._ctx.core.roster.update_contact(account, jid, name=text.strip()),
                    f"Could not rename {jid}",
                )

        dialog.textValueSelected.connect(chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def move_contact(self, account: str, jid: str, from_group: str, to_group: str) -> None:
        """Move the contact's row from ``from_group`` to ``to_group`` (its other groups
        stay); :data:`DEFAULT_GROUP` means "no group" unless it is a real group."""
        roster = self._ctx.core.roster
        contact = roster.contact(account, jid)
        groups = list(contact.groups if contact else ())
        if from_group in groups:
            groups.remove(from_group)
        real = to_group != DEFAULT_GROUP or DEFAULT_GROUP in roster.groups(account)
        if real and to_group not in groups:
            groups.append(to_group)
        self._run(
            roster.update_contact(account, jid, groups=groups),
            f"Could not move {jid} to {to_group}",
        )

    def ask_new_group(self, account: str, jid: str, from_group: str) -> QInputDialog:
        """Ask for a group name (non-modal); moves the contact there on OK."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("New group")
        dialog.setLabelText(f"Move {jid} to the new group:")
        dialog.setAccessibleName("New group")

        def chosen(text: str) -> None:
            if text.strip():
                self.move_contact(account, jid, from_group, text.strip())

        dialog.textValueSelected.connect(chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def remove_contact(self, account: str, jid: str) -> QMessageBox:
        """Ask for confirmation (non-modal); removes the contact on "Remove"."""
        name = self._ctx.core.roster.display_name(account, jid)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove contact",
            f"Remove {name} ({jid}) from your contacts?" if name != jid else f"Remove {jid}?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setInformativeText("They will no longer see when you are online.")
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)

        def clicked(button: object) -> None:
            if button is remove:
                self._run(
                    self._ctx.core.roster.remove_contact(account, jid),
                    f"Could not remove {jid}",
                )

        box.buttonClicked.connect(clicked)
        box.finished.connect(box.deleteLater)
        box.open()
        return box

    def subscription_banners(self) -> list[SubscriptionBanner]:
        return list(self._banners.values())

    # -- building ----------------------------------------------------------------------------

    def _build_banner_area(self) -> QWidget:
        area = QWidget(self)
        area.setAccessibleName("Contact requests")
        self._banner_layout = QVBoxLayout(area)
        self._banner_layout.setContentsMargins(0, 0, 0, 0)
        self._more_requests = QLabel(area)
        self._more_requests.setAccessibleName("More contact requests")
        self._banner_layout.addWidget(self._more_requests)
        area.hide()
        return area

    def _build_filter(self) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText("Find a contact")
        edit.setAccessibleName("Find a contact")
        edit.setToolTip("Type part of a name or address (Ctrl+F)")
        edit.setClearButtonEnabled(True)
        edit.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        edit.textChanged.connect(self._on_filter_changed)
        edit.installEventFilter(self)
        return edit

    def _build_view(self) -> ContactView:
        view = ContactView(self)
        view.setAccessibleName("Contacts")
        view.setAccessibleDescription(
            "Your contacts by group. Enter opens a conversation; the menu key shows actions."
        )
        view.setModel(self.filter_model)
        images = avatar_images(self._ctx)
        view.setItemDelegate(ContactDelegate(view, images))
        images.changed.connect(lambda *_: view.viewport().update())
        view.setHeaderHidden(True)
        view.setUniformRowHeights(True)  # thousands of rows lay out at once
        view.setAnimated(False)
        view.setIndentation(12)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setExpandsOnDoubleClick(True)
        view.activated.connect(self._on_activated)
        view.menu_requested.connect(self._show_menu)
        view.expanded.connect(partial(self._on_fold, expanded=True))
        view.collapsed.connect(partial(self._on_fold, expanded=False))
        # A group that (re)appears is a new row to QTreeView, folded: unfold it unless the
        # user folded it. Groups come back by rows inserted, or in a layout change.
        self.filter_model.rowsInserted.connect(self._on_rows_inserted)
        self.filter_model.layoutChanged.connect(self._apply_expansion)
        self.filter_model.modelReset.connect(self._apply_expansion)
        return view

    def _build_layout(self) -> None:
        add_button = QToolButton(self)
        add_button.setDefaultAction(self.add_contact_action)
        add_button.setAccessibleName("Add contact")
        add_button.setAutoRaise(True)
        filter_row = QHBoxLayout()
        filter_row.setContentsMargins(0, 0, 0, 0)
        filter_row.addWidget(self.filter_edit, 1)
        filter_row.addWidget(add_button)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.status_header)
        layout.addWidget(self._banner_area)
        layout.addWidget(self.invitation_banners)
        layout.addWidget(self.storage_warning)
        layout.addLayout(filter_row)
        layout.addWidget(self.contact_view, 1)
        layout.addWidget(self.rooms_section)
        self.setCentralWidget(central)
        self._build_notice_bar()

        # Keyboard: header, then the filter, then the list; the add button last.
        self.setTabOrder(self.status_header.status_combo, self.status_header.message_edit)
        self.setTabOrder(self.status_header.message_edit, self.filter_edit)
        self.setTabOrder(self.filter_edit, self.contact_view)
        self.setTabOrder(self.contact_view, self.rooms_section.view)
        self.setTabOrder(self.rooms_section.view, add_button)

    def _build_notice_bar(self) -> None:
        """The status bar holds notices only: it shows while one is there, not as an
        empty strip under the list."""
        bar = self.statusBar()
        bar.setAccessibleName("Notices")
        bar.setSizeGripEnabled(False)
        bar.messageChanged.connect(lambda text: bar.setVisible(bool(text)))
        bar.hide()

    def _restore_view_settings(self) -> None:
        settings = self._ctx.settings
        if settings is None:
            return
        self.filter_model.set_show_offline(
            bool(settings.get("show_offline", self.filter_model.show_offline))
        )
        sort = settings.get("sort", SortMode.NAME.name)
        if sort in SortMode.__members__:
            self.filter_model.set_sort_mode(SortMode[sort])
        self._collapsed.update(str(g) for g in settings.get("collapsed_groups", []))

    def _save_view_setting(self, key: str, value: object) -> None:
        if self._ctx.settings is not None:
            self._ctx.settings.set(key, value)

    def _build_actions(self) -> None:
        self.add_contact_action = QAction(icon("add-contact"), "&Add contact…", self)
        self.add_contact_action.setToolTip("Add a contact")
        self.add_contact_action.triggered.connect(self.add_contact_requested)
        self.accounts_action = QAction(icon("accounts"), "A&ccounts…", self)
        self.accounts_action.triggered.connect(self.accounts_requested)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.quit_requested)

        self.find_action = QAction(icon("search"), "&Find a contact", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self.focus_filter)
        self.show_offline_action = QAction("Show &offline contacts", self)
        self.show_offline_action.setCheckable(True)
        self.show_offline_action.setChecked(self.filter_model.show_offline)
        self.show_offline_action.toggled.connect(self.filter_model.set_show_offline)
        self.show_offline_action.toggled.connect(partial(self._save_view_setting, "show_offline"))
        self.sort_by_name_action = QAction("Sort by &name", self)
        self.sort_by_status_action = QAction("Sort by &status", self)
        sort_group = QActionGroup(self)
        for action, mode in (
            (self.sort_by_name_action, SortMode.NAME),
            (self.sort_by_status_action, SortMode.STATUS),
        ):
            action.setCheckable(True)
            action.setChecked(self.filter_model.sort_mode is mode)
            action.triggered.connect(partial(self.filter_model.set_sort_mode, mode))
            action.triggered.connect(partial(self._save_view_setting, "sort", mode.name))
            sort_group.addAction(action)

        # Keyboard equivalents of the context menu, on the list only.
        rename = QAction("Rename…", self.contact_view)
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self._rename_current)
        remove = QAction("Remove contact…", self.contact_view)
        remove.setShortcut(QKeySequence.StandardKey.Delete)
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self._remove_current)
        self.contact_view.addActions([rename, remove])

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.add_contact_action)
        file_menu.addAction(self.accounts_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.find_action)
        view_menu.addSeparator()
        view_menu.addAction(self.show_offline_action)
        view_menu.addSeparator()
        view_menu.addAction(self.sort_by_name_action)
        view_menu.addAction(self.sort_by_status_action)

    def _build_room_menu(self) -> None:
        """The Group chat menu, between File and View."""
        self.join_room_action = QAction("&Join Group Chat…", self)
        self.join_room_action.setShortcut(QKeySequence("Ctrl+J"))
        self.join_room_action.triggered.connect(self.join_room_requested)
        self.create_room_action = QAction("&Create Group Chat…", self)
        self.create_room_action.triggered.connect(self.create_room_requested)
        self.browse_rooms_action = QAction("&Browse Group Chats…", self)
        self.browse_rooms_action.triggered.connect(self.browse_rooms_requested)
        menu = QMenu("&Group chat", self)
        menu.addActions([self.join_room_action, self.create_room_action, self.browse_rooms_action])
        menus = self.menuBar().actions()
        if len(menus) > 1:
            self.menuBar().insertMenu(menus[1], menu)
        else:
            self.menuBar().addMenu(menu)

    # -- preferences and help (issue 15) -------------------------------------------------

    def _build_preferences_and_help(self) -> None:
        """Edit > Preferences… (Ctrl+,), Help > Keyboard shortcuts (F1) and About, and
        File > New chat… (Ctrl+N)."""
        self._dialogs: dict[object, QWidget] = {}
        self._build_new_chat()
        self.preferences_action = QAction("&Preferences…", self)
        self.preferences_action.setShortcut(
            QKeySequence(QKeyCombination(Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Comma))
        )
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.preferences_action.triggered.connect(self.show_preferences)
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self.shortcuts_action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.about_action = QAction("&About Chinwag", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

        edit_menu = QMenu("&Edit", self)
        edit_menu.addAction(self.preferences_action)
        view = next((a for a in self.menuBar().actions() if a.text() == "&View"), None)
        if view is not None:
            self.menuBar().insertMenu(view, edit_menu)
        else:
            self.menuBar().addMenu(edit_menu)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)

    @property
    def app_actions(self) -> list[QAction]:
        """The actions whose shortcuts work in every window (new chat, preferences,
        shortcuts, quit, search all conversations)."""
        return [
            self.new_chat_action,
            self.add_contact_action,
            self.preferences_action,
            self.shortcuts_action,
            self.quit_action,
            self._search_all_action(),
        ]

    # -- search of all conversations (issue 16) -----------------------------------------

    def _search_all_action(self) -> QAction:
        """View > Search all conversations… (Ctrl+Shift+F), made once."""
        action: QAction | None = getattr(self, "search_all_action", None)
        if action is None:
            action = self.search_all_action = QAction(
                icon("search"), "Search &all conversations…", self
            )
            action.setShortcut(QKeySequence("Ctrl+Shift+F"))
            action.triggered.connect(self.show_global_search)
            view = next((a for a in self.menuBar().actions() if a.text() == "&View"), None)
            menu = view.menu() if view is not None else None
            if isinstance(menu, QMenu):
                menu.insertAction(self.find_action, action)
            self.addAction(action)
        return action

    def show_global_search(self) -> QWidget:
        from chinwag.ui.global_search import GlobalSearchWindow

        window = self.show_dialog(GlobalSearchWindow, self._ctx)
        present = getattr(window, "present", None)
        if callable(present):
            present()
        return window

    # (The dialogs are imported when first wanted: the first window does not need them.)

    def _build_new_chat(self) -> None:
        """File > New chat… (Ctrl+N), first in the menu; Add contact… keeps its own
        action and button, on Ctrl+Shift+N."""
        self.new_chat_action = QAction(icon("send"), "&New chat…", self)
        self.new_chat_action.setShortcut(QKeySequence("Ctrl+N"))
        self.new_chat_action.setToolTip("Chat with a contact, or with any address (Ctrl+N)")
        self.new_chat_action.triggered.connect(self.show_new_chat)
        self.add_contact_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.add_contact_action.setToolTip("Add a contact (Ctrl+Shift+N)")
        file_menu = next((a.menu() for a in self.menuBar().actions() if a.text() == "&File"), None)
        if isinstance(file_menu, QMenu):
            file_menu.insertAction(self.add_contact_action, self.new_chat_action)

    def show_new_chat(self) -> QWidget:
        from chinwag.ui.new_chat_dialog import NewChatDialog

        return self.show_dialog(NewChatDialog, self._ctx)

    def show_preferences(self) -> QWidget:
        from chinwag.ui.preferences_dialog import PreferencesDialog

        return self.show_dialog(
            PreferencesDialog,
            self._ctx.preferences,
            gateways=self._ctx.gateways,
            accounts=lambda: [a.jid for a in self._ctx.core.accounts.accounts],
            login_entry=self._ctx.login_entry,
            ctx=self._ctx,
        )

    def show_avatar_preferences(self) -> QWidget:
        """Preferences at its Avatar page (a click on your own avatar)."""
        dialog = self.show_preferences()
        page = getattr(dialog, "avatar_page", None)
        tabs = getattr(dialog, "tabs", None)
        if page is not None and tabs is not None:
            tabs.setCurrentWidget(page)
        return dialog

    def show_shortcuts(self) -> QWidget:
        from chinwag.ui.help_dialogs import ShortcutsDialog

        return self.show_dialog(ShortcutsDialog)

    def show_about(self) -> QWidget:
        from chinwag.ui.help_dialogs import AboutDialog

        return self.show_dialog(AboutDialog)

    def show_dialog(self, kind: Callable[..., QWidget], *args: Any, **kwargs: Any) -> QWidget:
        """One dialog of ``kind`` (Preferences, About, Keyboard shortcuts): shown and
        raised if open, else made with ``args`` and ``kwargs`` and shown (not modal)."""
        dialog = self._dialogs.get(kind)
        if dialog is None:
            dialog = kind(*args, self, **kwargs)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda *_: self._dialogs.pop(kind, None))
            self._dialogs[kind] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _move_menu(self, parent: QMenu, account: str, jid: str, row_group: str) -> QMenu:
        menu = QMenu("Move to group", parent)
        contact = self._ctx.core.roster.contact(account, jid)
        current = set(contact.groups) if contact and contact.groups else {DEFAULT_GROUP}
        names = sorted({*self._ctx.core.roster.groups(account), DEFAULT_GROUP}, key=str.casefold)
        for name in names:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in current)
            action.setEnabled(name not in current)
            action.triggered.connect(partial(self.move_contact, account, jid, row_group, name))
        menu.addSeparator()
        menu.addAction("New group…").triggered.connect(
            lambda: self.ask_new_group(account, jid, row_group)
        )
        return menu

    def _block_action(self, parent: QMenu, account: str, jid: str) -> QAction:
        # The core's blocking service (XEP-0191) may not be there yet: offer it only then.
        blocking = getattr(self._ctx.core, "blocking", None)
        if blocking is None:
            action = QAction(icon("block"), "Block", parent)
            action.setEnabled(False)
            action.setToolTip("Blocking is not available yet")
            return action
        blocked = bool(blocking.is_blocked(account, jid))
        action = QAction(icon("block"), "Unblock" if blocked else "Block", parent)
        if blocked:
            action.triggered.connect(
                lambda: self._run(blocking.unblock(account, jid), f"Could not unblock {jid}")
            )
        else:
            action.triggered.connect(
                lambda: self._run(blocking.block(account, jid), f"Could not block {jid}")
            )
        return action

    # -- behaviour -------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, Any], failure: str) -> None:
        """Run a core coroutine in the background (it changes the roster or the block
        list: it finishes even if the window goes); a failure becomes a notice."""
        self._tasks.start(
            coro,
            what=failure,
            on_error=lambda error: self._notify(f"{failure}: {error}"),
            outlive=True,
        )

    def _notify(self, text: str) -> None:
        self.statusBar().showMessage(text, NOTICE_MS)

    def _current_contact(self) -> QModelIndex | None:
        index = self.contact_view.currentIndex()
        if not index.isValid() or index.data(RosterRole.IS_GROUP):
            return None
        return index

    def _rename_current(self) -> None:
        index = self._current_contact()
        if index is not None:
            self.rename_contact(index.data(RosterRole.ACCOUNT), index.data(RosterRole.JID))

    def _remove_current(self) -> None:
        index = self._current_contact()
        if index is not None:
            self.remove_contact(index.data(RosterRole.ACCOUNT), index.data(RosterRole.JID))

    def _show_menu(self, index: QModelIndex, global_pos: QPoint) -> None:
        menu = self.menu_for(index)
        if menu is not None:
            menu.aboutToHide.connect(menu.deleteLater)
            menu.popup(global_pos)  # not exec(): the loop keeps running

    def _on_activated(self, index: QModelIndex) -> None:
        self.open_conversation(index)

    def _first_contact(self) -> QModelIndex:
        model = self.filter_model
        for row in range(model.rowCount()):
            group = model.index(row, 0)
            if model.rowCount(group):
                return model.index(0, 0, group)
        return QModelIndex()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Escape and self.filter_edit.text():
                self.filter_edit.clear()
                return True
            if key == Qt.Key.Key_Down:
                # Down walks from the filter into the (filtered) list; into the group
                # chats when no contact matches.
                if not self._first_contact().isValid() and self.rooms_section.focus_list():
                    return True
                self.contact_view.setFocus(Qt.FocusReason.TabFocusReason)
                if not self._current_contact():
                    self.contact_view.setCurrentIndex(self._first_contact())
                return True
            if key in ENTER_KEYS:
                # Type a name, press Enter: talk to the best match (a group chat when no
                # contact matches).
                index = self._current_contact() or self._first_contact()
                if not self.open_conversation(index):
                    self.rooms_section.open_room(self.rooms_section.first_index())
                return True
        return super().eventFilter(watched, event)

    # -- expansion ---------------------------------------------------------------------------

    def _on_filter_changed(self, text: str) -> None:
        was_filtering = bool(self.filter_model.filter_text)
        self.filter_model.set_filter_text(text)
        self.rooms_section.set_filter_text(text)
        if bool(self.filter_model.filter_text) != was_filtering:
            # While filtering every group is open (a match in a folded group would be
            # invisible); afterwards the user's folding comes back.
            self._apply_expansion()

    def _group_expanded(self, name: str) -> bool:
        return bool(self.filter_model.filter_text) or name not in self._collapsed

    def _apply_expansion(self) -> None:
        self._expand_rows(0, self.filter_model.rowCount() - 1)

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():  # a group (re)appears: QTreeView forgot its folding
            self._expand_rows(first, last)

    def _expand_rows(self, first: int, last: int) -> None:
        self._expanding = True
        try:
            view, model = self.contact_view, self.filter_model
            for row in range(first, last + 1):
                index = model.index(row, 0)
                view.setExpanded(index, self._group_expanded(str(index.data())))
        finally:
            self._expanding = False

    def _on_fold(self, index: QModelIndex, expanded: bool) -> None:
        if self._expanding or self.filter_model.filter_text:
            return  # ours, or a temporary unfold while filtering
        name = str(index.data())
        if expanded:
            self._collapsed.discard(name)
        else:
            self._collapsed.add(name)
        self._save_view_setting("collapsed_groups", sorted(self._collapsed))

    # -- subscription requests -------------------------------------------------------------

    def _load_requests(self) -> None:
        core = self._ctx.core
        for account in core.accounts.accounts:
            if account.enabled:
                for jid, nick in core.roster.pending_requests(account.jid).items():
                    self._add_request(account.jid, jid, nick)

    def _add_request(self, account: str, jid: str, nick: str) -> None:
        key = (account, jid)
        if key in self._banners or key in self._waiting:
            return
        if len(self._banners) >= MAX_BANNERS:
            self._waiting[key] = nick
        else:
            banner = SubscriptionBanner(account, jid, nick, self._banner_area)
            banner.accepted.connect(partial(self._answer, key, True))
            banner.declined.connect(partial(self._answer, key, False))
            self._banner_layout.insertWidget(len(self._banners), banner)
            banner.show()  # a layout shows new children only later, from a queued call
            self._banners[key] = banner
        self._update_banner_area()

    def _drop_request(self, key: tuple[str, str]) -> None:
        self._waiting.pop(key, None)
        banner = self._banners.pop(key, None)
        if banner is not None:
            banner.hide()
            banner.deleteLater()
        while self._waiting and len(self._banners) < MAX_BANNERS:
            next_key = next(iter(self._waiting))
            self._add_request(*next_key, self._waiting.pop(next_key))
        self._update_banner_area()

    def _update_banner_area(self) -> None:
        more = len(self._waiting)
        self._more_requests.setText(f"{more} more contact request(s) waiting" if more else "")
        self._more_requests.setVisible(bool(more))
        self._banner_area.setVisible(bool(self._banners))

    def _answer(self, key: tuple[str, str], accept: bool) -> None:
        roster = self._ctx.core.roster
        answer: Callable[[str, str], None] = roster.approve if accept else roster.deny
        try:
            answer(*key)
        except ChinwagError as exc:  # e.g. signed out: keep the request for later
            self._notify(f"Could not answer {key[1]}: {exc}")
            return
        self._drop_request(key)

    def _on_storage_event(self, event: StorageEvent) -> None:
        if isinstance(event, StorageFailed):
            self.storage_warning.setText(
                f"<b>Messages cannot be saved</b>: {escape(event.reason)}. What "
                "arrives is kept, unconfirmed, and saved as soon as there is room."
            )
            self.storage_warning.show()
        else:  # StorageRecovered
            self.storage_warning.hide()

    def _on_subscription_event(self, event: SubscriptionEvent) -> None:
        if isinstance(event, SubscriptionRequested):
            if any(a.jid == event.account and a.enabled for a in self._ctx.core.accounts.accounts):
                self._add_request(event.account, event.jid, event.nick)
        elif isinstance(event, SubscriptionRequestCleared):
            key = (event.account, event.jid)
            if key in self._banners or key in self._waiting:
                self._drop_request(key)

    def _on_roster_event(self, event: RosterEvent) -> None:
        if isinstance(event, ContactUpdated):
            contact = event.contact
            # Answered somewhere else (another device, a script): the banner is stale.
            if contact.subscription in (Subscription.FROM, Subscription.BOTH):
                key = (contact.account, contact.jid)
                if key in self._banners or key in self._waiting:
                    self._drop_request(key)

    # -- closing -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.really_quit:
            event.accept()
            return
        event.ignore()
        if not self._ctx.preferences.get(prefs.CLOSE_TO_TRAY):
            self.quit_requested.emit()  # the user chose that closing quits
            return
        # Closing the contact list is not quitting: stay signed in, in the tray.
        self.hide_to_tray()
