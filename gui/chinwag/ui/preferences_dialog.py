"""Edit > Preferences… (Ctrl+,): every preference in one dialog, each applied as soon as
it is changed (there is no OK to press; Close closes). The widgets show what is stored,
and follow it when it changes elsewhere (a script, another dialog)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chinwag.system import preferences as p
from chinwag.system.preferences import Density, Pref, Preferences, SendKey, Theme

if TYPE_CHECKING:
    from chinwag.gateways.control import GatewayControl
    from chinwag.system.autostart import LoginEntry
    from chinwag.ui.avatar_page import AvatarPage
    from chinwag.ui.context import UiContext
    from chinwag.ui.gateway_keys_page import GatewayKeysPage

_CHECKS: tuple[tuple[str, Pref[bool], str], ...] = (
    ("Notifications", p.NOTIFY_MESSAGES, "New &messages"),
    ("Notifications", p.NOTIFY_MENTIONS, "Me&ntions of my nickname in group chats"),
    ("Notifications", p.NOTIFY_CONTACTS_ONLINE, "Contacts coming &online"),
    ("Notifications", p.SOUNDS, "Play &sounds"),
    ("Start-up and closing", p.START_ON_LOGIN, "Start Chinwag when I &log in"),
    ("Start-up and closing", p.START_IN_TRAY, "Start in the &tray (no window)"),
    (
        "Start-up and closing",
        p.CLOSE_TO_TRAY,
        "&Closing the contact list keeps it in the tray",
    ),
    ("Privacy", p.SEND_TYPING, "Let contacts see when I am t&yping"),
    ("Privacy", p.SEND_READ_MARKERS, "Let contacts see when I have &read their messages"),
)

_CHOICES: tuple[tuple[Pref[str], str, tuple[tuple[str, str], ...]], ...] = (
    (
        p.THEME,
        "T&heme:",
        ((Theme.SYSTEM, "Follow the system"), (Theme.LIGHT, "Light"), (Theme.DARK, "Dark")),
    ),
    (
        p.DENSITY,
        "Message &density:",
        ((Density.COMFORTABLE, "Comfortable"), (Density.COMPACT, "Compact")),
    ),
    (
        p.SEND_KEY,
        "S&end messages with:",
        (
            (SendKey.ENTER, "Enter (Shift+Enter: new line)"),
            (SendKey.CTRL_ENTER, "Ctrl+Enter (Enter: new line)"),
        ),
    ),
)


class PreferencesDialog(QDialog):
    """The preferences, applied at once. :attr:`checks`, :attr:`combos` and
    :attr:`font_size` are the widgets, by preference key (for tests and scripts)."""

    def __init__(
        self,
        preferences: Preferences,
        parent: QWidget | None = None,
        *,
        gateways: GatewayControl | None = None,
        accounts: Callable[[], Sequence[str]] = tuple,
        login_entry: LoginEntry | None = None,
        ctx: UiContext | None = None,
    ) -> None:
        super().__init__(parent)
        self._prefs = preferences
        self._login_entry = login_entry
        self._updating = False
        self.setWindowTitle("Preferences")
        self.setAccessibleName("Preferences")
        self.checks: dict[str, QCheckBox] = {}
        self.combos: dict[str, QComboBox] = {}

        outer = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Pages")
        outer.addWidget(self.tabs)
        general = QWidget(self)
        layout = QVBoxLayout(general)
        self.tabs.addTab(general, "&General")
        groups: dict[str, QVBoxLayout] = {}
        for title, pref, text in _CHECKS:
            if title not in groups:
                box = QGroupBox(title, self)
                groups[title] = QVBoxLayout(box)
                layout.addWidget(box)
            check = QCheckBox(text, self)
            check.toggled.connect(partial(self._set, pref))
            groups[title].addWidget(check)
            self.checks[pref.key] = check
            if pref is p.START_ON_LOGIN:
                groups[title].addWidget(self._make_login_problem())

        look = QGroupBox("Appearance and typing", self)
        form = QFormLayout(look)
        for choice, label, items in _CHOICES:
            combo = QComboBox(self)
            for value, words in items:
                combo.addItem(words, str(value))
            combo.currentIndexChanged.connect(partial(self._choose, choice, combo))
            buddy = QLabel(label, self)
            buddy.setBuddy(combo)
            form.addRow(buddy, combo)
            self.combos[choice.key] = combo
        self.font_size = QSpinBox(self)
        self.font_size.setRange(p.FONT_SIZE.default, p.FONT_SIZE.high or 36)
        self.font_size.setSpecialValueText("System default")
        self.font_size.setSuffix(" pt")
        self.font_size.setKeyboardTracking(False)
        self.font_size.setAccessibleName("Font size")
        self.font_size.valueChanged.connect(self._font_size_changed)
        size_label = QLabel("&Font size:", self)
        size_label.setBuddy(self.font_size)
        form.insertRow(1, size_label, self.font_size)
        layout.addWidget(look)
        self._add_spelling_section(layout)
        self._add_network_section(layout, ctx)
        layout.addStretch(1)
        self._add_avatar_page(ctx)
        self._add_gateway_page(gateways, accounts)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

        self._follow_login_entry()
        self.refresh()
        self._unsubscribe = preferences.subscribe(lambda _key: self.refresh())
        self.finished.connect(lambda _result: self._unsubscribe())

    def _add_spelling_section(self, layout: QVBoxLayout) -> None:
        """Spelling: the compose box's dictionary (spelling_prefs.py)."""
        from chinwag.ui.spelling_prefs import spelling_box

        box, combo = spelling_box(self, self._prefs)
        combo.currentIndexChanged.connect(partial(self._choose, p.SPELL_LANGUAGE, combo))
        self.combos[p.SPELL_LANGUAGE.key] = combo
        layout.addWidget(box)

    def _add_network_section(self, layout: QVBoxLayout, ctx: UiContext | None) -> None:
        """Serverless chat on this network (XEP-0174): a switch that turns the profile's
        link-local account on and off (not a stored preference: the account's own
        enabled flag, followed as it changes elsewhere)."""
        self.local_chat: QCheckBox | None = None
        if ctx is None:
            return
        from chinwag.core.link_local import link_local_on

        box = QGroupBox("This network", self)
        check = self.local_chat = QCheckBox("Chat on this network with &no server", self)
        check.setAccessibleName("Chat on this network with no server")
        check.setToolTip(
            "Everyone on this network who runs Chinwag, Pidgin (Bonjour) or another "
            "serverless XMPP client sees you and can chat with you (XEP-0174)"
        )
        QVBoxLayout(box).addWidget(check)
        layout.addWidget(box)
        from chinwag.ui.tasks import UiTasks

        tasks = UiTasks(self, "the preferences")

        def follow(*_: object) -> None:
            check.blockSignals(True)
            check.setChecked(link_local_on(ctx.core))
            check.blockSignals(False)

        def switched(on: bool) -> None:
            from chinwag.core.link_local import disable_link_local, enable_link_local

            coro = enable_link_local(ctx.core) if on else disable_link_local(ctx.core)
            tasks.start(coro, what="chat on this network", on_error=follow, outlive=True)

        follow()
        check.toggled.connect(switched)
        ctx.bridge.accounts_changed.connect(follow)

    def _add_avatar_page(self, ctx: UiContext | None) -> None:
        """The "Avatar" page (avatar_page.py): each account's own picture."""
        self.avatar_page: AvatarPage | None = None
        if ctx is None:
            return
        from chinwag.ui.avatar_page import AvatarPage

        self.avatar_page = AvatarPage(ctx, self)
        self.tabs.addTab(self.avatar_page, "&Avatar")

    def _add_gateway_page(
        self, gateways: GatewayControl | None, accounts: Callable[[], Sequence[str]]
    ) -> None:
        """The "Script gateways" page (gateway_keys_page.py), when this run has them."""
        self.gateway_page: GatewayKeysPage | None = None
        if gateways is None:
            return
        from chinwag.ui.gateway_keys_page import GatewayKeysPage

        self.gateway_page = GatewayKeysPage(gateways, accounts, self)
        self.tabs.addTab(self.gateway_page, "&Script gateways")

    def refresh(self) -> None:
        """Show what is stored."""
        self._updating = True
        try:
            for key, check in self.checks.items():
                check.setChecked(self._prefs.get(p.pref(key)))
            for key, combo in self.combos.items():
                index = combo.findData(self._prefs.get(p.pref(key)))
                combo.setCurrentIndex(max(0, index))
            self.font_size.setValue(self._prefs.get(p.FONT_SIZE))
        finally:
            self._updating = False
        self._show_login_problem()

    # -- start on login: the entry on disk -------------------------------------------------

    def _make_login_problem(self) -> QLabel:
        """Where a login entry that cannot be written or removed is said (under its tick)."""
        self.login_problem = QLabel(self)
        self.login_problem.setWordWrap(True)
        self.login_problem.setAccessibleName("Start on login problem")
        self.login_problem.setStyleSheet("color: #c01c28")
        self.login_problem.hide()
        return self.login_problem

    def showEvent(self, event: QShowEvent) -> None:
        self._follow_login_entry()  # (also when shown again: Ctrl+, with it open)
        self.refresh()
        super().showEvent(event)

    def _follow_login_entry(self) -> None:
        """The tick says whether the login entry is there now (it may have been removed
        or added outside Chinwag, or never written): the stored preference follows it."""
        if self._login_entry is None:
            return
        there = self._login_entry.enabled()
        if self._prefs.get(p.START_ON_LOGIN) != there:
            self._prefs.set(p.START_ON_LOGIN, there)

    def _show_login_problem(self) -> None:
        problem = self._login_entry.problem if self._login_entry is not None else None
        self.login_problem.setText(problem or "")
        self.login_problem.setVisible(bool(problem))

    def _set(self, pref: Pref[Any], value: Any) -> None:
        if not self._updating:
            self._prefs.set(pref, value)
            if pref is p.START_ON_LOGIN:
                self._show_login_problem()

    def _choose(self, pref: Pref[str], combo: QComboBox, _index: int) -> None:
        self._set(pref, str(combo.currentData()))

    def _font_size_changed(self, value: int) -> None:
        # Values under the smallest size are skipped (0 is "System default").
        low = p.FONT_SIZE.low or 0
        if 0 < value < low:
            value = low if self._prefs.get(p.FONT_SIZE) == 0 else 0
            self.font_size.setValue(value)
            return
        self._set(p.FONT_SIZE, value)
