"""What the compose box of a conversation or room window gets beyond typing: the emoji
button and picker (Ctrl+; opens it), ``:shortcode:`` completion, spell checking in the
language of the preferences with its context menu, and colour emoji. One call,
:func:`attach_compose_extras`, from the window that builds the compose box; and
:class:`ButtonSizer`, which keeps the buttons beside the box as tall as its send button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QPlainTextEdit, QStyle, QToolButton

from chinwag.ui.context import UiContext
from chinwag.ui.emoji_completion import ShortcodeCompleter
from chinwag.ui.emoji_font import install_emoji_font
from chinwag.ui.emoji_picker import EmojiButton
from chinwag.ui.spell_check import SpellHighlighter, SpellMenu, follow_preference, service

#: The user's own words ("Add to dictionary"), beside the view settings.
WORDS_FILE_NAME = "words.txt"


@dataclass(eq=False)
class ComposeExtras:
    emoji_button: EmojiButton
    completer: ShortcodeCompleter
    highlighter: SpellHighlighter
    spell_menu: SpellMenu


def _nicknames(compose: QPlainTextEdit) -> frozenset[str]:
    """A room's nicknames (what its Tab completes), casefolded, as words; none in a chat."""
    nicks = getattr(compose, "_nicks", None)  # ComposeBox.set_nick_completion's source
    if nicks is None:
        return frozenset()
    return frozenset(word.casefold() for nick in nicks() for word in nick.split())


def attach_compose_extras(compose: QPlainTextEdit, ctx: UiContext) -> ComposeExtras:
    """Give ``compose`` its emoji button (to be laid out by the caller), completion and
    spell checking."""
    install_emoji_font()
    words = ctx.settings.path.parent / WORDS_FILE_NAME if ctx.settings is not None else None
    button = EmojiButton(compose, ctx.settings)
    shortcut = QShortcut(QKeySequence("Ctrl+;"), compose)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(button.open_picker)
    highlighter = SpellHighlighter(compose.document(), service(words))
    highlighter.known_words = lambda: _nicknames(compose)
    stop = follow_preference(highlighter, ctx.preferences)
    compose.destroyed.connect(lambda *_: stop())
    return ComposeExtras(
        button, ShortcodeCompleter(compose), highlighter, SpellMenu(compose, highlighter)
    )


#: A compose button's icon, in lines of its font: at a 10 pt font (16 px lines), 24 px,
#: the toolbar icon size of the usual styles.
ICON_LINES = 1.5


class ButtonSizer(QObject):
    """Keeps ``buttons`` (tool buttons with an icon, beside the compose box) square, with
    icons of :data:`ICON_LINES` lines of their font (never below the small icon size),
    and as tall as ``reference`` (the send button), which is made as tall as they are
    when it is shorter. Refitted when the reference's font or style changes (the font
    size preference), so they grow and shrink with the text."""

    def __init__(self, reference: QAbstractButton, buttons: Sequence[QToolButton]) -> None:
        super().__init__(reference)
        self._reference = reference
        self._buttons = list(buttons)
        for button in self._buttons:
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(True)
        # The reference's size hint is renewed after its filters see the change: fit then.
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.fit)
        reference.installEventFilter(self)
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._later.start()
        return False

    def fit(self) -> None:
        side = self._reference.sizeHint().height()
        icons = []
        for button in self._buttons:
            smallest = button.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, button)
            extent = max(smallest, round(ICON_LINES * button.fontMetrics().height()))
            # what the style adds around a tool button's icon
            frame = button.sizeHint().height() - button.iconSize().height()
            side = max(side, extent + frame)
            icons.append(extent)
        for button, extent in zip(self._buttons, icons, strict=True):
            button.setIconSize(QSize(extent, extent))
            button.setFixedSize(side, side)
        self._reference.setMinimumHeight(side)


__all__ = ["ButtonSizer", "ComposeExtras", "attach_compose_extras"]
