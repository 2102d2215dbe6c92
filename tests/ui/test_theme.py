"""Readable colours on light and dark themes, and windows that fit the screen.

Every colour a message bubble's text is painted with (sender, time, state, body, links,
"Show all", a failure's reason) reaches a WCAG 2 contrast of 4.5:1 against the bubble as
it is painted: the rows are painted into an image by the real delegate, the bubble's
colour is read from the pixels, and the pens are recorded as the delegate sets them.
The palette's link colour (pure blue in many dark themes) is adjusted until it does.
The "New messages" line's words are painted above the bubble, on the view's background:
each text the delegate draws in that row is measured against the pixels around it in
the view as it paints itself.

Window sizes are checked in a subprocess on Qt's offscreen platform with a 1600 x 1000
screen at ``QT_SCALE_FACTOR=2`` (an 800 x 500 desktop): both windows fit, and the
compose box is on the screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication

from chinwag.core.models import Direction, MessageState
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.day_separators import PILL_ROLE, line_color
from chinwag.ui.message_delegate import NEW_MESSAGES_TEXT, separator_text_color

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]

MIN_CONTRAST = 4.5
LINK = "https://example.org/menu"


def luminance(color: QColor) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in (color.redF(), color.greenF(), color.blueF()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    first, second = sorted((luminance(a), luminance(b)), reverse=True)
    return (first + 0.05) / (second + 0.05)


def palette(**colors: str) -> QPalette:
    result = QApplication.style().standardPalette()
    for name, value in colors.items():
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            result.setColor(group, getattr(QPalette.ColorRole, name), QColor(value))
    return result


PALETTES = {
    # A dark theme whose link colour is the pure blue of the report.
    "dark, blue links": lambda: palette(
        Window="#202124",
        WindowText="#e8eaed",
        Base="#1b1b1d",
        AlternateBase="#26262a",
        Text="#e8eaed",
        Button="#303134",
        ButtonText="#e8eaed",
        Highlight="#3d5afe",
        HighlightedText="#ffffff",
        Link="#0000ff",
        LinkVisited="#800080",
        PlaceholderText="#6b6b6b",
    ),
    # Breeze Dark's colours.
    "breeze dark": lambda: palette(
        Window="#31363b",
        WindowText="#eff0f1",
        Base="#232629",
        Text="#eff0f1",
        Highlight="#3daee9",
        HighlightedText="#eff0f1",
        Link="#2980b9",
        PlaceholderText="#7f8c8d",
    ),
    "light (the style's own)": lambda: QApplication.style().standardPalette(),
    # A light theme with a pale link colour and a faint placeholder.
    "light, pale links": lambda: palette(
        Base="#ffffff",
        Text="#202020",
        Highlight="#9ec5ff",
        Link="#7fb2ff",
        PlaceholderText="#c0c0c0",
    ),
}


class RecordingPainter(QPainter):
    """A painter on an image that records every pen the delegate sets, and each text it
    draws at a point with the colour and the box it is drawn in."""

    def __init__(self, image: QImage) -> None:
        super().__init__(image)
        self.pens: list[QPen] = []
        self.texts: list[tuple[str, QColor, QRectF]] = []

    def setPen(self, pen: Any) -> None:  # type: ignore[override]
        self.pens.append(QPen(pen) if not isinstance(pen, QColor) else QPen(QColor(pen)))
        super().setPen(pen)

    def drawText(self, *args: Any) -> None:  # type: ignore[override]
        if len(args) == 2 and isinstance(args[0], QPointF | QPoint) and isinstance(args[1], str):
            at, text = QPointF(args[0]), args[1]
            metrics = QFontMetricsF(self.font())
            box = QRectF(
                at.x(), at.y() - metrics.ascent(), metrics.horizontalAdvance(text), metrics.height()
            )
            self.texts.append((text, QColor(self.pen().color()), self.transform().mapRect(box)))
        super().drawText(*args)


def paint_row(window: ConversationWindow, row: int) -> tuple[QImage, list[QPen]]:
    view, delegate = window.history_view, window.delegate
    index = window.model.index(row)
    option = view.item_option(index)
    option.rect.moveTo(QPoint(0, 0))
    image = QImage(option.rect.size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(option.palette.color(QPalette.ColorRole.Base))
    painter = RecordingPainter(image)
    delegate.paint(painter, option, index)
    painter.end()
    return image, painter.pens


@pytest.mark.parametrize("make_palette", PALETTES.values(), ids=PALETTES.keys())
async def test_every_text_colour_reads_on_its_bubble(
    ui: UiRig, conversation_window: OpenWindow, make_palette: Callable[[], QPalette]
) -> None:
    await ui.store.add_incoming(
        [
            ui.message(1000, body=f"lunch at {LINK}", direction=Direction.INCOMING),
            ui.message(1001, body=f"see {LINK}", direction=Direction.OUTGOING),
            ui.message(
                1002,
                body=f"and {LINK}",
                direction=Direction.OUTGOING,
                state=MessageState.FAILED,
                error="recipient unavailable",
            ),
            ui.message(1003, body="x" * 30_000, direction=Direction.INCOMING),  # "Show all"
        ]
    )
    await ui.read_to_end()  # read history: no "New messages" line among the bubbles
    window = await conversation_window()
    window.setPalette(make_palette())
    await ui.until(lambda: window.model.rowCount() == 4, what="the messages")
    view = window.history_view
    for row in range(4):
        index = window.model.index(row)
        image, pens = paint_row(window, row)
        outgoing = window.model.message(row).direction is Direction.OUTGOING
        # The bubble's colour, where the padding left of (or right of) the text is.
        x = image.width() - 14 if outgoing else 13
        fill = image.pixelColor(x, image.height() // 2)
        base = view.palette().color(QPalette.ColorRole.Base)
        assert fill.rgb() != base.rgb(), "that is not the bubble"
        if window.model.starts_day(row):  # the date separator, painted first, on its pill
            words = separator_text_color(view.palette())
            pill = view.palette().color(PILL_ROLE)
            assert contrast(words, pill) >= MIN_CONTRAST, (row, words.name(), pill.name())
            line, text = pens[:2]
            assert (line.color().rgba(), text.color().rgba()) == (
                line_color(words).rgba(),
                words.rgba(),
            )
            pens = pens[2:]
        text_pens = [p for p in pens if p.style() != Qt.PenStyle.NoPen and p.widthF() < 2]
        assert text_pens, row
        for pen in text_pens:
            ratio = contrast(pen.color(), fill)
            assert ratio >= MIN_CONTRAST, (row, pen.color().name(), fill.name(), ratio)
        layout = window.delegate.body_layout(view.item_option(index), index)
        for format_range in layout.formats():
            color = format_range.format.foreground().color()
            background = format_range.format.background()
            behind = background.color() if background.style() != Qt.BrushStyle.NoBrush else fill
            ratio = contrast(color, behind)
            assert ratio >= MIN_CONTRAST, (row, color.name(), behind.name(), ratio)


def background_of(image: QImage, box: QRectF, ink: QColor) -> tuple[QColor, int]:
    """The colour most of ``box`` in ``image`` has apart from ``ink`` (what the text is
    painted on), and how many pixels of ``ink`` itself the box holds."""
    counts: Counter[int] = Counter()
    rect = box.toAlignedRect().intersected(image.rect())
    for y in range(rect.top(), rect.bottom() + 1):
        for x in range(rect.left(), rect.right() + 1):
            counts[image.pixelColor(x, y).rgb()] += 1
    inked = counts.pop(ink.rgb(), 0)
    (behind, _count), *_ = counts.most_common(1)
    return QColor.fromRgb(behind), inked


@pytest.mark.parametrize("make_palette", PALETTES.values(), ids=PALETTES.keys())
async def test_the_new_messages_line_reads_on_what_it_is_painted_on(
    ui: UiRig, conversation_window: OpenWindow, make_palette: Callable[[], QPalette]
) -> None:
    theirs = {"sender": ui.peer, "direction": Direction.INCOMING}
    ours = {"sender": ui.me, "direction": Direction.OUTGOING, "state": MessageState.SENT}
    await ui.store.add_incoming([ui.message(1000, body="read", **theirs)])
    await ui.read_to_end()
    await ui.store.add_incoming(
        [
            ui.message(1001, body="new", state=MessageState.RECEIVED, **theirs),
            ui.message(1002, body="mine", **ours),
        ]
    )
    window = await conversation_window(activate=False)
    window.setPalette(make_palette())
    await ui.until(lambda: window.model.rowCount() == 3, what="the messages")
    assert window.read_marker is not None
    row = window.model.row_of(window.read_marker)
    assert row == 1
    view = window.history_view
    index = window.model.index(row)
    option = view.item_option(index)
    # The words and colours the delegate paints the row with ...
    image = QImage(option.rect.size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = RecordingPainter(image)
    option.rect.moveTo(QPoint(0, 0))
    window.delegate.paint(painter, option, index)
    painter.end()
    # ... and the pixels the view really shows there, whatever is under them.
    shown = view.viewport().grab(view.visualRect(index)).toImage()
    assert shown.size() == image.size()
    texts = {text: (color, box) for text, color, box in painter.texts}
    assert NEW_MESSAGES_TEXT in texts, texts
    for text, (color, box) in texts.items():
        behind, inked = background_of(shown, box, color)
        assert inked, (text, color.name())  # the text is there, in that colour
        ratio = contrast(color, behind)
        assert ratio >= MIN_CONTRAST, (text, color.name(), behind.name(), ratio)


async def test_a_readable_link_colour_keeps_its_hue(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.store.add_incoming(
        [ui.message(1000, body=f"lunch at {LINK}", direction=Direction.INCOMING)]
    )
    window = await conversation_window()
    dark = PALETTES["dark, blue links"]()
    window.setPalette(dark)
    index = window.model.index(0)
    layout = window.delegate.body_layout(window.history_view.item_option(index), index)
    (link,) = [f for f in layout.formats() if f.format.fontUnderline()]
    color = link.format.foreground().color()
    assert color != dark.color(QPalette.ColorRole.Link)  # lightened ...
    assert color.blue() > color.red()  # ... but still a blue
    assert color.blue() > color.green()


# --------------------------------------------------------------------------- window sizes

_PROBE = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
from chinwag.system.paths import Paths
from chinwag.system.secrets import FileSecretStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.main_window import MainWindow
from chinwag.wiring import build_core

paths = Paths.under(Path(sys.argv[1])).ensure()
core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
bridge = EventBridge(core.bus)
holder = []
windows = ConversationWindows(lambda a, p: ConversationWindow(holder[0], a, p))
holder.append(UiContext(core, bridge, windows))
main = MainWindow(holder[0])
main.show()
conversation = windows.open("me@example.org", "peer@example.net")


def rect(r):
    return [r.x(), r.y(), r.width(), r.height()]


def report():
    screen = conversation.screen()
    compose = conversation.compose
    corner = compose.mapToGlobal(compose.rect().topLeft())
    print(json.dumps({
        "available": rect(screen.availableGeometry()),
        "scale": screen.devicePixelRatio(),
        "conversation": rect(conversation.frameGeometry()),
        "compose": [corner.x(), corner.y(), compose.width(), compose.height()],
        "compose_visible": compose.isVisible(),
        "main": rect(main.frameGeometry()),
    }), flush=True)
    app.exit(0)  # not quit(): that closes the windows first, and the main one only hides


QTimer.singleShot(0, report)
app.exec()
"""


def inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def test_windows_fit_a_small_scaled_screen(tmp_path: Path) -> None:
    config = tmp_path / "screens.json"
    config.write_text(
        json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1600, "height": 1000}]})
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "QT_SCALE_FACTOR": "2",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "profile")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a timing assumption
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["scale"] == 2.0
    assert seen["available"] == [0, 0, 800, 500]  # 1600 x 1000 at scale 2
    assert inside(seen["conversation"], seen["available"]), seen
    assert inside(seen["main"], seen["available"]), seen
    assert seen["compose_visible"]
    assert inside(seen["compose"], seen["available"]), seen
    assert inside(seen["compose"], seen["conversation"]), seen
