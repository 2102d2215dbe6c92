"""Consistent colours for nicks (XEP-0392 version 0.8): the same name gets the same
colour in every window, every run and every client that follows the XEP, so people are
told apart at a glance.

The hue comes from SHA-1 of the name (its first two bytes, little-endian, as a fraction
of a turn); the colour is that hue in HSLuv at saturation 100 and lightness 50. Painted
on a bubble it is then made readable (:func:`chinwag.ui.message_delegate.readable`)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import hsluv  # type: ignore[import-untyped]
from PySide6.QtGui import QColor


def hue_angle(text: str) -> float:
    """The XEP-0392 hue of ``text``, in degrees (0 up to 360)."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:2], "little") / 65536 * 360


@lru_cache(maxsize=4096)
def _rgb(text: str) -> tuple[float, float, float]:
    r, g, b = hsluv.hsluv_to_rgb([hue_angle(text), 100.0, 50.0])
    return (min(max(r, 0.0), 1.0), min(max(g, 0.0), 1.0), min(max(b, 0.0), 1.0))


def nick_color(nick: str) -> QColor:
    """The colour of ``nick`` (XEP-0392)."""
    return QColor.fromRgbF(*_rgb(nick))
