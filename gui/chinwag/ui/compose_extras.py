"""What the compose box of a conversation or room window gets beyond typing: the emoji
button and picker (Ctrl+; opens it), ``:shortcode:`` completion, spell checking in the
language of the preferences with its context menu, and colour emoji. One call,
:func:`attach_compose_extras`, from the window that builds the compose box."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QPlainTextEdit

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


__all__ = ["ComposeExtras", "attach_compose_extras"]
