"""Spell checking in the compose box: marks, the suggestions menu, the user's words, the
language in Preferences applied at once, bounded work on a huge paste, and no spell
checking (never a crash) without enchant or dictionaries."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QMimeData, QPoint
from PySide6.QtGui import QContextMenuEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit

from chinwag.system import preferences as p
from chinwag.ui import spell_check
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.preferences_dialog import PreferencesDialog
from chinwag.ui.spell_check import (
    MAX_CHECKED_CHARS,
    SpellHighlighter,
    SpellMenu,
    SpellService,
    words_to_check,
)

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]


def _need(*languages: str) -> None:
    installed = SpellService().languages()
    for language in languages:
        if language not in installed:
            pytest.skip(f"no {language} dictionary (Debian: hunspell-{language.lower()[:2]}-*)")


@pytest.fixture(autouse=True)
def fresh_service() -> Iterator[None]:
    """Each test its own run's service (ignored words do not leak between tests)."""
    spell_check._services.clear()
    yield
    spell_check._services.clear()


def marked(edit: QPlainTextEdit) -> list[str]:
    """The words underlined as misspelt."""
    words = []
    block = edit.document().firstBlock()
    while block.isValid():
        for r in block.layout().formats():
            if r.format.underlineStyle() == QTextCharFormat.UnderlineStyle.SpellCheckUnderline:
                words.append(block.text()[r.start : r.start + r.length])
        block = block.next()
    return words


def _editor(qtbot: Any, service: SpellService, language: str = "en_US") -> Any:
    edit = QPlainTextEdit()
    qtbot.addWidget(edit)
    highlighter = SpellHighlighter(edit.document(), service)
    service.load_now(language)
    highlighter.set_language(language)
    return edit, highlighter


def test_links_addresses_code_and_odd_words_are_not_checked() -> None:
    text = (
        "see https://exampel.org/wrold www.exampel.org xmpp:bob@exampel.org "
        "bob@exampel.org `teh code` /usr/lib ~/wrold iPhone HTTPS abc1 x_y a wrold"
    )
    assert [w for _, _, w in words_to_check(text)] == ["see", "wrold"]
    assert [w for _, _, w in words_to_check("don\u2019t wrold", 5)] == ["don\u2019t"]


def test_misspelt_words_are_marked_and_the_menu_suggests_and_learns(
    qtbot: Any, tmp_path: Path
) -> None:
    _need("en_US")
    words = tmp_path / "words.txt"
    service = SpellService(words)
    edit, highlighter = _editor(qtbot, service)
    edit.setPlainText(
        "Hello wrold, see https://exampel.org/teh and `teh` or mail bob@exampel.org\n"
        "```\nteh code\n```\nChinwagg is teh best"
    )
    assert marked(edit) == ["wrold", "Chinwagg", "teh"]

    menu_for = SpellMenu(edit, highlighter)
    position = edit.toPlainText().index("wrold") + 2
    cursor = edit.textCursor()
    cursor.setPosition(position)
    edit.setTextCursor(cursor)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, edit.cursorRect().center(), QPoint()
    )
    menu = menu_for.build_menu(event)
    qtbot.waitUntil(lambda: menu.actions()[0].text() != "Looking up suggestions\u2026")
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "world"  # the suggestions first
    add = texts.index("Add \u201cwrold\u201d to dictionary")
    assert texts[add + 1] == "Ignore"
    assert menu.actions()[add + 2].isSeparator()  # then the usual Undo, Cut, Copy...
    menu.actions()[0].trigger()
    assert edit.toPlainText().startswith("Hello world, see")
    assert marked(edit) == ["Chinwagg", "teh"]

    cursor.setPosition(edit.toPlainText().index("Chinwagg"))
    edit.setTextCursor(cursor)
    menu = menu_for.build_menu(event)
    next(a for a in menu.actions() if a.text().startswith("Add")).trigger()
    assert marked(edit) == ["teh"]
    assert words.read_text() == "Chinwagg\n"
    assert "Chinwagg" in SpellService(words).own_words  # kept for the next run

    cursor.setPosition(edit.toPlainText().rindex("teh"))
    edit.setTextCursor(cursor)
    menu = menu_for.build_menu(event)
    next(a for a in menu.actions() if a.text() == "Ignore").trigger()
    assert marked(edit) == []
    assert words.read_text() == "Chinwagg\n"  # ignored for this run only

    # A word that is fine: the usual menu alone.
    cursor.setPosition(1)
    edit.setTextCursor(cursor)
    texts = [a.text() for a in menu_for.build_menu(event).actions()]
    assert "Ignore" not in texts
    assert not any(t.startswith("Add") for t in texts)


def test_a_huge_paste_checks_a_bounded_number_of_words(qtbot: Any) -> None:
    _need("en_US")
    service = SpellService()
    edit, highlighter = _editor(qtbot, service)
    # 100 kB of different made-up words (no answer comes from the cache), some on long
    # lines, some short.
    words = ["".join(chr(97 + (n // 26**k) % 26) for k in range(4)) + "q" for n in range(20_000)]
    lines = [" ".join(words[i : i + (400 if i < 8000 else 8)]) for i in range(0, 20_000, 8)]
    text = "\n".join(lines)[:100_000]
    assert len(text) == 100_000
    highlighter.words_seen = 0
    assert highlighter.speller is not None
    lookups = highlighter.speller.lookups
    data = QMimeData()
    data.setText(text)
    edit.insertFromMimeData(data)  # a paste
    assert edit.toPlainText() == text
    seen = highlighter.words_seen
    # Each word is 5 letters and a space: at most MAX_CHECKED_CHARS / 6 words are
    # looked at on the one pass a paste makes.
    assert 0 < seen <= MAX_CHECKED_CHARS // 6 + 1
    assert highlighter.speller.lookups - lookups <= seen
    assert len(marked(edit)) <= seen


async def test_the_language_chosen_in_preferences_applies_at_once(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    _need("en_US", "de_DE")
    prefs = ui.ctx.preferences
    prefs.set(p.SPELL_LANGUAGE, "en_US")
    window = await conversation_window()
    compose = window.compose
    highlighter = window.compose_extras.highlighter
    await ui.until(lambda: highlighter.speller is not None)  # loaded on a worker thread
    compose.set_text("the house is ein Haus")
    assert marked(compose) == ["ein", "Haus"]

    dialog = PreferencesDialog(prefs)
    qtbot.addWidget(dialog)
    combo = dialog.combos[p.SPELL_LANGUAGE.key]
    languages = [combo.itemData(i) for i in range(combo.count())]
    assert languages[:2] == ["off", "auto"]
    assert {"en_US", "de_DE"} <= set(languages)
    assert combo.currentData() == "en_US"
    assert "English" in combo.currentText()
    combo.setCurrentIndex(languages.index("de_DE"))
    assert prefs.get(p.SPELL_LANGUAGE) == "de_DE"
    await ui.until(lambda: highlighter.language == "de_DE" and highlighter.speller is not None)
    assert marked(compose) == ["the", "house", "is"]

    combo.setCurrentIndex(languages.index("off"))
    assert highlighter.speller is None
    assert marked(compose) == []
    prefs.set(p.SPELL_LANGUAGE, "en_US")  # (from elsewhere: the dialog follows)
    assert combo.currentData() == "en_US"
    assert marked(compose) == ["ein", "Haus"]  # en_US is loaded already: at once


async def test_without_enchant_nothing_is_marked_and_preferences_say_why(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spell_check, "_enchant", lambda: None)  # as without libenchant
    ui.ctx.preferences.set(p.SPELL_LANGUAGE, "en_US")
    window = await conversation_window()
    window.compose.set_text("wrold teh")
    assert marked(window.compose) == []
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(4, 4), QPoint(4, 4))
    menu = window.compose_extras.spell_menu.build_menu(event)
    assert "Ignore" not in [a.text() for a in menu.actions()]
    dialog = PreferencesDialog(ui.ctx.preferences)
    qtbot.addWidget(dialog)
    combo = dialog.combos[p.SPELL_LANGUAGE.key]
    assert not combo.isEnabled()
    note = dialog.findChild(QLabel, "spellProblem")
    assert note is not None
    assert "libenchant-2-2" in note.text()
    assert combo.currentText() == "en_US (not installed)"


def test_a_dictionary_that_is_not_installed_marks_nothing(qtbot: Any) -> None:
    service = SpellService()
    assert service.resolve("xx_YY") is None
    assert service.resolve("off") is None
    edit = QPlainTextEdit()
    qtbot.addWidget(edit)
    highlighter = SpellHighlighter(edit.document(), service)
    highlighter.set_language(service.resolve("xx_YY"))
    edit.setPlainText("wrold")
    assert marked(edit) == []


async def test_a_rooms_nicknames_are_not_marked(ui: UiRig, qtbot: Any) -> None:
    _need("en_US")
    from chinwag.core.models import ConversationKind

    room = "lounge@rooms.example.org"
    ui.ctx.preferences.set(p.SPELL_LANGUAGE, "en_US")
    await ui.sign_in()
    window = ui.windows.open("me@example.org", room, kind=ConversationKind.GROUPCHAT)
    await ui.until(lambda: ui.conn.joins)
    ui.conn.enter(room, "Me")
    ui.conn.room_presence(room, "zorbla")
    await ui.until(lambda: "zorbla" in ui.core.rooms.room("me@example.org", room).occupants)
    highlighter = window.compose_extras.highlighter
    await ui.until(lambda: highlighter.speller is not None)
    window.compose.set_text("zorbla: the wrold")
    assert marked(window.compose) == ["wrold"]
    window.close()


class _Recording:
    """An enchant dictionary whose suggest records the thread it ran on and, when
    ``gate`` is given, waits for it (the test decides when the worker's answer comes)."""

    def __init__(self, backend: Any, threads: list[int], gate: threading.Event | None) -> None:
        self._backend = backend
        self._threads = threads
        self._gate = gate

    def check(self, word: str) -> bool:
        return bool(self._backend.check(word))

    def suggest(self, word: str) -> list[str]:
        self._threads.append(threading.get_ident())
        if self._gate is not None:
            assert self._gate.wait(10)
        return list(self._backend.suggest(word))


def _menu_at(edit: QPlainTextEdit, menu_for: SpellMenu, word: str) -> Any:
    cursor = edit.textCursor()
    cursor.setPosition(edit.toPlainText().index(word) + 1)
    edit.setTextCursor(cursor)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, edit.cursorRect().center(), QPoint()
    )
    return menu_for.build_menu(event)


def test_suggestions_are_looked_up_on_a_worker_and_fill_the_open_menu(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long word took 383 ms (de_DE) in enchant's suggest: never on the loop. The menu
    # opens at once with a placeholder; the worker's own dictionary (not the one the
    # highlighter uses on the loop: hunspell is not thread-safe) answers later.
    _need("en_US")
    service = SpellService()
    edit, highlighter = _editor(qtbot, service)
    threads: list[int] = []
    assert highlighter.speller is not None
    loop_dict = highlighter.speller._dict
    highlighter.speller._dict = _Recording(loop_dict, threads, None)
    gate = threading.Event()
    real = service._enchant
    made_on: list[int] = []

    class Enchant:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def Dict(self, language: str) -> Any:  # (the default broker's: the loop's)
            made_on.append(-1)
            return real.Dict(language)

        def Broker(self) -> Any:
            made_on.append(threading.get_ident())
            broker = real.Broker()

            class Broker:
                def request_dict(self, language: str) -> Any:
                    return _Recording(broker.request_dict(language), threads, gate)

            return Broker()

    monkeypatch.setattr(service, "_enchant", Enchant())
    edit.setPlainText("Hello wrold and teh rest zorbla")
    menu_for = SpellMenu(edit, highlighter)

    menu = _menu_at(edit, menu_for, "wrold")
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "Looking up suggestions\u2026"  # at once, before the worker answers
    assert not menu.actions()[0].isEnabled()
    add = texts.index("Add \u201cwrold\u201d to dictionary")  # usable meanwhile
    assert texts[add + 1] == "Ignore"
    gate.set()
    qtbot.waitUntil(lambda: menu.actions()[0].text() == "world")
    texts = [a.text() for a in menu.actions()]
    assert "Looking up suggestions\u2026" not in texts  # replaced in place
    assert texts.index("Add \u201cwrold\u201d to dictionary") > texts.index("world")
    main = threading.get_ident()
    assert threads
    assert main not in threads  # suggest never ran on the loop
    assert made_on  # a broker of the worker's own (enchant's default one shares dicts)
    assert main not in made_on
    assert -1 not in made_on
    menu.actions()[0].trigger()
    assert edit.toPlainText().startswith("Hello world and")

    # A menu closed before the answer comes: the late answer is dropped.
    gate.clear()
    edit.show()
    asked = len(threads)
    menu_for.show_menu(
        QContextMenuEvent(
            QContextMenuEvent.Reason.Keyboard,
            edit.cursorRect(_cursor_at(edit, edit.toPlainText().index("teh") + 1)).center(),
            QPoint(),
        )
    )
    closed = menu_for.menu
    assert closed is not None
    assert closed.actions()[0].text() == "Looking up suggestions\u2026"
    closed.close()  # (deleted on close: the answer must not touch it)
    gate.set()
    qtbot.waitUntil(lambda: menu_for.dropped == 1)
    assert len(threads) == asked + 1  # the worker answered, and no one used it

    # Add to dictionary and Ignore work while the lookup is pending.
    gate.clear()
    menu = _menu_at(edit, menu_for, "zorbla")
    assert menu.actions()[0].text() == "Looking up suggestions\u2026"
    next(a for a in menu.actions() if a.text() == "Ignore").trigger()
    assert marked(edit) == ["teh"]
    gate.set()
    qtbot.waitUntil(lambda: menu.actions()[0].text() != "Looking up suggestions\u2026")


def _cursor_at(edit: QPlainTextEdit, position: int) -> QTextCursor:
    cursor = edit.textCursor()
    cursor.setPosition(position)
    edit.setTextCursor(cursor)
    return cursor


_QUIT_WHILE_LOOKING_UP = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from chinwag.ui import spell_check
app = QApplication([])
spell = spell_check.service()
spell.wait_ready()
spell.speller("en_US")  # loading on its thread while the worker makes its own
spell.suggest_later("en_US", "Donaudampfschifffahrtsgesellschaftskapitaenx")
QTimer.singleShot(0, app.quit)
app.exec()
del app
sys.exit(0)
"""


def test_quitting_while_the_dictionary_loads_and_suggestions_are_looked_up_exits_0() -> None:
    # The worker's Dict came from enchant's default broker, which hands out one shared,
    # counted dictionary per language: made on two threads at once, freed at exit: a
    # segmentation fault (exit 139).
    _need("en_US")
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = str(Path(spell_check.__file__).resolve().parents[2])
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", _QUIT_WHILE_LOOKING_UP],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
