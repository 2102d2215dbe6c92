"""Colour emoji in the history and the compose box: Qt is told which installed font draws
emoji (Debian's fonts-noto-color-emoji: "Noto Color Emoji"), so an emoji is drawn in
colour whatever the text's font is, and whatever fontconfig would pick first (a
monochrome Symbola or DejaVu glyph, say). Without such a font nothing changes.

Qt (6.9 on) cuts text into emoji and other runs and draws the emoji runs with the
application's emoji font families first, so one call does it for every widget. Font
substitutions (``QFont.insertSubstitution``) are not used: Qt takes a substitute when a
family is not found, and the default "Sans Serif" is an alias Qt does not find, so all
text would be asked of the emoji font."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFontDatabase

log = logging.getLogger(__name__)

#: Colour emoji fonts, best first.
COLOUR_EMOJI_FAMILIES = ("Noto Color Emoji", "Twemoji", "JoyPixels", "Apple Color Emoji")

_installed: list[str] = []  # (the family installed, once)


def colour_emoji_family() -> str | None:
    """The installed colour emoji font's family, or None."""
    families = set(QFontDatabase.families())
    return next((f for f in COLOUR_EMOJI_FAMILIES if f in families), None)


def install_emoji_font() -> str | None:
    """Make the installed colour emoji font the application's first emoji font. Once
    per process; returns the family, or None when there is none."""
    if _installed:
        return _installed[0]
    family = colour_emoji_family()
    if family is None:
        log.info("no colour emoji font installed (Debian: fonts-noto-color-emoji)")
        return None
    emoji_families = QFontDatabase.applicationEmojiFontFamilies()
    if family not in emoji_families:
        QFontDatabase.setApplicationEmojiFontFamilies([family, *emoji_families])
    _installed.append(family)
    return family


__all__ = ["COLOUR_EMOJI_FAMILIES", "colour_emoji_family", "install_emoji_font"]
