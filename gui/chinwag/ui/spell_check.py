"""Spell checking in the compose box, with pyenchant over the system's hunspell
dictionaries (Debian: libenchant-2-2 and hunspell-en-us, hunspell-de-de, ...).

* :class:`SpellService` (one per run, :func:`service`): which dictionaries are installed,
  the language in the preferences (``spell_language``: ``auto`` follows the system's
  language, ``off``, or a tag like ``en_US``), dictionaries loaded on a worker thread
  (a hunspell dictionary takes 30-50 ms to load), the user's own words (``Add to
  dictionary``: ``words.txt`` beside the view settings, for every language) and the
  words ignored for this run.
* :class:`SpellHighlighter` marks misspelt words with a red wavy underline. Not checked:
  links (``https://...``, ``www.``, ``xmpp:``), addresses (``someone@example.org``),
  code (between backticks, and fenced with three), words with digits, underscores or
  capitals inside (``iPhone``, ``HTTP``), one-letter words. The work is bounded: only the
  first :data:`MAX_CHECKED_CHARS` characters of a message are checked, each word once
  (the answers are cached), so a 100 kB paste costs what 10 kB do.
* :class:`SpellMenu` puts the suggestions, "Add to dictionary" and "Ignore" at the top of
  the compose box's context menu. Suggestions are slow (a long word: 100-400 ms in
  hunspell), so the menu opens at once with "Looking up suggestions…" and a worker thread
  (:meth:`SpellService.suggest_later`, with dictionaries of its own: hunspell's are not
  thread-safe) fills them in; an answer for a menu already closed is dropped.

Without enchant, or without a dictionary, nothing is marked and the Preferences say why;
it is never an error."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import QEvent, QLocale, QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit

from chinwag.system import preferences as p
from chinwag.system.config import write_atomic
from chinwag.system.preferences import Preferences

log = logging.getLogger(__name__)

OFF, AUTO = "off", "auto"
#: Characters of a message that are checked (the rest of a long paste is not).
MAX_CHECKED_CHARS = 10_000
#: Answers kept per dictionary.
CACHE_SIZE = 20_000
#: Suggestions shown in the menu.
MAX_SUGGESTIONS = 6
#: The longest word checked (longer runs of letters are not words).
MAX_WORD = 48
#: The largest user's word list read.
MAX_WORDS_FILE = 1_000_000
#: Words whose suggestions are remembered (the menu reopened on a word: at once).
SUGGESTIONS_KEPT = 64
LOOKING_UP = "Looking up suggestions\u2026"

_SKIP = re.compile(
    r"""(?xi)
      (?:\b[a-z][a-z0-9+.\-]{1,20}://|\bwww\.|\b(?:xmpp|mailto|tel|magnet):)\S+   # links
    | \S+@\S+                                                                   # addresses
    | `[^`\n]*`                                                                 # `code`
    | (?:^|(?<=\s))[/~][^\s]*                                                   # /paths, /me
    """
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_FENCE = "```"
IN_CODE = 1  # the block state of lines inside a ``` fence


def words_to_check(text: str, limit: int = MAX_CHECKED_CHARS) -> list[tuple[int, int, str]]:
    """(start, length, word) of each word of ``text[:limit]`` worth checking."""
    text = text[:limit]
    if not text:
        return []
    masked = _SKIP.sub(lambda m: " " * len(m.group()), text)
    found = []
    for match in _WORD.finditer(masked):
        start, end = match.span()
        word = match.group()
        if start > 0 and (masked[start - 1].isdigit() or masked[start - 1] in "_-'\u2019"):
            continue
        if end < len(masked) and (masked[end].isdigit() or masked[end] == "_"):
            continue
        if len(word) < 2 or len(word) > MAX_WORD or any(c.isupper() for c in word[1:]):
            continue
        found.append((start, end - start, word))
    return found


class Speller:
    """One loaded dictionary, with the service's own and ignored words."""

    def __init__(self, language: str, backend: Any, service: SpellService) -> None:
        self.language = language
        self._dict = backend
        self._service = service
        self._cache: dict[str, bool] = {}
        #: Calls into enchant's check (to show the work is bounded).
        self.lookups = 0

    def check(self, word: str) -> bool:
        word = word.replace("\u2019", "'")
        if word in self._service.own_words or word.casefold() in self._service.own_words_folded:
            return True
        known = self._cache.get(word)
        if known is None:
            self.lookups += 1
            try:
                known = bool(self._dict.check(word))
            except Exception:  # enchant refuses some input: never mark it
                known = True
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[word] = known
        return known


def _suggest(backend: Any, word: str) -> list[str]:
    try:
        return [str(s) for s in backend.suggest(word.replace("\u2019", "'"))][:MAX_SUGGESTIONS]
    except Exception:
        log.debug("no suggestions for %r", word, exc_info=True)
        return []


def _enchant() -> Any:
    """The enchant module, or None when pyenchant or its C library is missing."""
    try:
        import enchant  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        log.info("spell checking is off: %s", exc)
        return None
    return enchant


def _emit_from_worker(signal: Any, *args: Any) -> None:
    """Hand a worker's result to the Qt thread; nothing when the service is already gone
    (the app quit while the worker ran)."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted"
        log.debug("a spelling worker finished after its service was deleted")


class SpellService(QObject):
    """The dictionaries, the language chosen and the user's words (see the module)."""

    #: enchant is imported and the dictionaries are listed (see :attr:`is_ready`).
    ready = Signal()
    #: A dictionary finished loading (its language).
    loaded = Signal(str)
    #: The user's or ignored words changed: marks must be redone.
    words_changed = Signal()
    #: The worker's suggestions: (request, language, word, suggestions).
    suggested = Signal(int, str, str, object)
    _load_done = Signal(str, object)
    _probe_done = Signal()

    def __init__(self, words_file: Path | None = None) -> None:
        super().__init__()
        self.words_file = words_file
        self.own_words: set[str] = set()
        self.own_words_folded: set[str] = set()
        self._spellers: dict[str, Speller] = {}
        self._loading: set[str] = set()
        # Suggestions: one worker thread, with its own dictionaries (made and used only
        # there); its pool is joined by Python before it tears down.
        self._suggester: ThreadPoolExecutor | None = None
        self._worker_dicts: dict[str, Any] = {}
        self._worker_broker: Any = None
        self._requests = 0
        self._suggestions: dict[tuple[str, str], list[str]] = {}
        self.suggested.connect(self._keep_suggestions)
        self._load_done.connect(self._finish_load)
        self._read_words()
        # Importing enchant takes ~65 ms (its C library and providers): not on the loop.
        self._enchant: Any = None
        self._languages: list[str] = []
        self.is_ready = False
        self._found: tuple[Any, list[str]] | None = None
        self._probe_done.connect(self._finish_probe)
        # (Not daemons: Python waits for them before it tears down, where a thread still
        # loading a C library or signalling a Qt object being destroyed crashed the exit.)
        self._probe = threading.Thread(target=self._probe_enchant, name="spell-probe")
        self._probe.start()

    def _probe_enchant(self) -> None:
        module = _enchant()
        languages: list[str] = []
        if module is not None:
            try:
                languages = sorted(set(module.list_languages()))
            except Exception:
                log.warning("cannot list the spelling dictionaries", exc_info=True)
        self._found = (module, languages)
        _emit_from_worker(self._probe_done)

    def _finish_probe(self) -> None:
        if self.is_ready or self._found is None:
            return
        self._enchant, self._languages = self._found
        self.is_ready = True
        self.ready.emit()

    def wait_ready(self) -> None:
        """Wait for enchant to be imported (the Preferences dialog, tests)."""
        if not self.is_ready:
            self._probe.join()
            self._finish_probe()

    # -- what there is ----------------------------------------------------------------

    @property
    def problem(self) -> str | None:
        """Why there is no spell checking at all, in words; None when there is."""
        self.wait_ready()
        if self._enchant is None:
            return (
                "Spell checking needs the enchant library (Debian: apt-get install "
                "libenchant-2-2) and pyenchant."
            )
        if not self.languages():
            return (
                "No spelling dictionary is installed (Debian: apt-get install "
                "hunspell-en-us, or hunspell-de-de, hunspell-fr, ...)."
            )
        return None

    def languages(self) -> list[str]:
        """The installed dictionaries' tags (``en_US``...), sorted."""
        self.wait_ready()
        return list(self._languages)

    def resolve(self, choice: str) -> str | None:
        """The dictionary for the preference's value (``auto``: the system's language,
        else one of its language, else English); None for off or none installed."""
        installed = self.languages()
        if choice == OFF or not installed:
            return None
        if choice != AUTO:
            return choice if choice in installed else None
        system = QLocale.system().name()  # en_GB
        if system in installed:
            return system
        language = system.split("_")[0]
        for tag in installed:
            if tag == language or tag.startswith(language + "_"):
                return tag
        return next((t for t in installed if t.startswith("en")), None)

    # -- dictionaries -------------------------------------------------------------------

    def speller(self, language: str) -> Speller | None:
        """The loaded dictionary, or None (then it is loaded on a worker thread and
        :attr:`loaded` is emitted when it is there)."""
        found = self._spellers.get(language)
        if found is not None or not self.is_ready or self._enchant is None:
            return found
        if language not in self._loading:
            self._loading.add(language)
            threading.Thread(target=self._load, args=(language,), name="spell-dict").start()
        return None

    def load_now(self, language: str) -> Speller | None:
        """Load on this thread (tests; a preference applied where waiting is fine)."""
        self.wait_ready()
        if language not in self._spellers and self._enchant is not None:
            self._finish_load(language, self._make(language))
        return self._spellers.get(language)

    def _make(self, language: str) -> Any:
        try:
            return self._enchant.Dict(language)
        except Exception as exc:
            log.warning("cannot load the %s dictionary: %s", language, exc)
            return None

    def _load(self, language: str) -> None:
        _emit_from_worker(self._load_done, language, self._make(language))

    def _finish_load(self, language: str, backend: Any) -> None:
        self._loading.discard(language)
        if backend is not None and language not in self._spellers:
            self._spellers[language] = Speller(language, backend, self)
            self.loaded.emit(language)

    # -- suggestions ----------------------------------------------------------------------

    def known_suggestions(self, language: str, word: str) -> list[str] | None:
        """The suggestions already looked up for ``word`` (None: not yet)."""
        return self._suggestions.get((language, word))

    def suggest_later(self, language: str, word: str) -> int:
        """Look up suggestions for ``word`` on the worker thread; :attr:`suggested` brings
        them with the request number returned. A request overtaken by a newer one before
        the worker got to it is skipped (its answer is an empty list)."""
        self._requests += 1
        request = self._requests
        if self._suggester is None:
            self._suggester = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spell-suggest")
        self._suggester.submit(self._suggest_on_worker, request, language, word)
        return request

    def _suggest_on_worker(self, request: int, language: str, word: str) -> None:
        suggestions: list[str] | None = None
        if request == self._requests:  # else a newer menu asked already: no one waits
            backend = self._worker_dicts.get(language)
            if backend is None and language not in self._worker_dicts:
                backend = self._worker_dicts[language] = self._make_on_worker(language)
            suggestions = _suggest(backend, word) if backend is not None else []
        _emit_from_worker(self.suggested, request, language, word, suggestions)

    def _make_on_worker(self, language: str) -> Any:
        """A dictionary of the worker's own broker: enchant's default broker hands the same
        hunspell dictionary (counted) to every ``Dict`` of a language, so a ``Dict`` made
        here would share the highlighter's, and two threads would use (and free) it."""
        try:
            if self._worker_broker is None:
                self._worker_broker = self._enchant.Broker()
            return self._worker_broker.request_dict(language)
        except Exception as exc:
            log.warning("cannot load the %s dictionary for suggestions: %s", language, exc)
            return None

    def _keep_suggestions(
        self, _request: int, language: str, word: str, suggestions: list[str] | None
    ) -> None:
        if suggestions is None:
            return
        if len(self._suggestions) >= SUGGESTIONS_KEPT:
            self._suggestions.pop(next(iter(self._suggestions)))
        self._suggestions[(language, word)] = suggestions

    # -- the user's words -----------------------------------------------------------------

    def _read_words(self) -> None:
        if self.words_file is None:
            return
        try:
            with self.words_file.open(encoding="utf-8", errors="replace") as f:
                text = f.read(MAX_WORDS_FILE)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read your words %s: %s", self.words_file, exc)
            return
        for line in text.splitlines():
            if line.strip() and len(line.strip()) <= MAX_WORD:
                self._remember(line.strip())

    def _remember(self, word: str) -> None:
        word = word.replace("\u2019", "'")
        self.own_words.add(word)
        if word.islower():
            self.own_words_folded.add(word.casefold())

    def add_word(self, word: str) -> None:
        """Never mark ``word`` again, in any language (kept in :attr:`words_file`)."""
        self._remember(word)
        if self.words_file is not None:
            words = sorted(w for w in self.own_words)
            try:
                write_atomic(self.words_file, "\n".join(words) + "\n")
            except OSError as exc:
                log.warning("cannot save your words to %s: %s", self.words_file, exc)
        self.words_changed.emit()

    def ignore_word(self, word: str) -> None:
        """Do not mark ``word`` for the rest of this run."""
        self._remember(word)
        self.words_changed.emit()


_services: list[SpellService] = []  # (this run's one service)


def service(words_file: Path | None = None) -> SpellService:
    """This run's spell service (made at the first call, with ``words_file``)."""
    if not _services:
        _services.append(SpellService(words_file))
    return _services[0]


class SpellHighlighter(QSyntaxHighlighter):
    """Marks misspelt words of ``document`` in the language :meth:`set_language` chose."""

    def __init__(self, document: QTextDocument, spell: SpellService) -> None:
        super().__init__(document)
        self._spell = spell
        self._language: str | None = None
        self.speller: Speller | None = None
        self.misspelt = QTextCharFormat()
        self.misspelt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self.misspelt.setUnderlineColor(QColor("#e01b24"))
        #: Words looked at by highlightBlock (to show the work is bounded).
        self.words_seen = 0
        #: Words never marked here besides the user's: a room's nicknames (casefolded).
        self.known_words: Callable[[], Collection[str]] = frozenset
        spell.loaded.connect(self._on_loaded)
        spell.words_changed.connect(self.rehighlight)

    @property
    def language(self) -> str | None:
        return self._language

    def set_language(self, language: str | None) -> None:
        """Check in ``language`` (None: nothing marked); applied at once when the
        dictionary is loaded, else as soon as it is."""
        speller = self._spell.speller(language) if language else None
        if language == self._language and speller is self.speller:
            return
        self._language = language
        self.speller = speller
        self.rehighlight()

    def _on_loaded(self, language: str) -> None:
        if language == self._language and self.speller is None:
            self.speller = self._spell.speller(language)
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        # Fenced code: a line of ``` opens or closes it; its lines are not checked.
        previous = self.previousBlockState()
        inside = previous == IN_CODE
        if text.lstrip().startswith(_FENCE):
            inside = not inside
            self.setCurrentBlockState(IN_CODE if inside else 0)
            return
        self.setCurrentBlockState(IN_CODE if inside else 0)
        speller = self.speller
        if speller is None or inside:
            return
        block = self.currentBlock()
        room = MAX_CHECKED_CHARS - block.position()
        if room <= 0:
            return
        found = words_to_check(text, room)
        known = self.known_words() if found else ()
        for start, length, word in found:
            self.words_seen += 1
            if not speller.check(word) and word.casefold() not in known:
                self.setFormat(start, length, self.misspelt)

    def misspelt_at(self, position: int) -> tuple[int, int, str] | None:
        """(start, end, word) of the marked word at ``position`` in the document."""
        speller = self.speller
        document = self.document()
        if speller is None or document is None:
            return None
        block = document.findBlock(position)
        if not block.isValid() or block.userState() == IN_CODE:
            return None
        room = MAX_CHECKED_CHARS - block.position()
        column = position - block.position()
        for start, length, word in words_to_check(block.text(), room):
            if start <= column <= start + length:
                if speller.check(word) or word.casefold() in self.known_words():
                    return None
                return block.position() + start, block.position() + start + length, word
        return None


class _Pending(NamedTuple):
    """The menu waiting for the worker's suggestions."""

    request: int
    menu: QMenu
    placeholder: QAction
    start: int
    end: int
    word: str


class SpellMenu(QObject):
    """The compose box's context menu with the suggestions for the word clicked (or at
    the cursor, from the keyboard) first, then "Add to dictionary" and "Ignore"."""

    def __init__(self, compose: QPlainTextEdit, highlighter: SpellHighlighter) -> None:
        super().__init__(compose)
        self._compose = compose
        self._highlighter = highlighter
        self._spell = highlighter._spell
        #: The last menu shown (tests).
        self.menu: QMenu | None = None
        self._pending: _Pending | None = None
        #: Answers dropped: for a menu closed, or overtaken by a newer one (tests).
        self.dropped = 0
        self._spell.suggested.connect(self._on_suggested)
        compose.viewport().installEventFilter(self)
        compose.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ContextMenu and isinstance(event, QContextMenuEvent):
            self.show_menu(event)
            return True
        return False

    def build_menu(self, event: QContextMenuEvent) -> QMenu:
        """The menu, at once: the suggestions are those known already, else a
        "Looking up suggestions…" entry the worker's answer replaces (see
        :meth:`_on_suggested`)."""
        compose = self._compose
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            cursor = compose.cursorForPosition(event.pos())
        else:
            cursor = compose.textCursor()
        menu = compose.createStandardContextMenu(compose.viewport().mapToGlobal(event.pos()))
        menu.setParent(compose, menu.windowFlags())
        self._pending = None
        found = self._highlighter.misspelt_at(cursor.position())
        speller = self._highlighter.speller
        if found is None or speller is None or compose.isReadOnly():
            return menu
        start, end, word = found
        first = menu.actions()[0] if menu.actions() else None
        placeholder = menu.addAction(LOOKING_UP)
        placeholder.setEnabled(False)
        add = menu.addAction(f"Add \u201c{word}\u201d to dictionary")
        add.triggered.connect(lambda: self._spell.add_word(word))
        ignore = menu.addAction("Ignore")
        ignore.triggered.connect(lambda: self._spell.ignore_word(word))
        actions = [placeholder, add, ignore]
        for action in actions:
            menu.removeAction(action)
        menu.insertActions(first, actions)  # type: ignore[arg-type]
        if first is not None:
            menu.insertSeparator(first)
        known = self._spell.known_suggestions(speller.language, word)
        if known is not None:
            self._fill(menu, placeholder, known, (start, end, word))
            return menu
        request = self._spell.suggest_later(speller.language, word)
        self._pending = _Pending(request, menu, placeholder, start, end, word)
        # Closed (or gone) before the answer: the answer is dropped.
        menu.aboutToHide.connect(lambda: self._forget(request))
        menu.destroyed.connect(lambda: self._forget(request))
        return menu

    def _forget(self, request: int) -> None:
        if self._pending is not None and self._pending.request == request:
            self._pending = None

    def _on_suggested(
        self, request: int, _language: str, _word: str, suggestions: list[str] | None
    ) -> None:
        pending = self._pending
        if pending is None or pending.request != request or suggestions is None:
            self.dropped += 1
            return
        self._pending = None
        self._fill(
            pending.menu,
            pending.placeholder,
            suggestions,
            (pending.start, pending.end, pending.word),
        )

    def _fill(
        self, menu: QMenu, placeholder: QAction, suggestions: list[str], at: tuple[int, int, str]
    ) -> None:
        """Put ``suggestions`` where ``placeholder`` is (or say there are none)."""
        if not suggestions:
            placeholder.setText("No suggestions")
            return
        start, end, word = at
        for suggestion in suggestions:
            action = QAction(suggestion, menu)
            font = action.font()
            font.setBold(True)
            action.setFont(font)
            action.triggered.connect(
                lambda _c=False, s=suggestion: self._replace(start, end, word, s)
            )
            menu.insertAction(placeholder, action)
        menu.removeAction(placeholder)

    def show_menu(self, event: QContextMenuEvent) -> None:
        self.menu = self.build_menu(event)
        self.menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.menu.popup(event.globalPos())

    def _replace(self, start: int, end: int, word: str, suggestion: str) -> None:
        cursor = QTextCursor(self._compose.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        if cursor.selectedText() != word:
            return  # the text changed under the menu
        cursor.insertText(suggestion)
        self._compose.setTextCursor(cursor)


class _Follower(QObject):
    """Sets a highlighter's language from the preferences (once enchant is ready)."""

    def __init__(self, highlighter: SpellHighlighter, preferences: Preferences) -> None:
        super().__init__(highlighter)
        self._highlighter = highlighter
        self._prefs = preferences
        highlighter._spell.ready.connect(self.apply)
        self.stop = preferences.subscribe(self._changed)
        self.apply()

    def _changed(self, key: str) -> None:
        if key == p.SPELL_LANGUAGE.key:
            self.apply()

    def apply(self) -> None:
        spell = self._highlighter._spell
        if spell.is_ready:
            choice = self._prefs.get(p.SPELL_LANGUAGE)
            self._highlighter.set_language(spell.resolve(choice))


def follow_preference(
    highlighter: SpellHighlighter, preferences: Preferences
) -> Callable[[], None]:
    """Set the highlighter's language from the preferences now (or once enchant is
    imported) and at each change; returns what stops following."""
    return _Follower(highlighter, preferences).stop


def language_name(tag: str) -> str:
    """``en_US`` in words: "English (United States)"; the tag when Qt does not know it."""
    locale = QLocale(tag)
    if locale.language() == QLocale.Language.C:
        return tag
    name = QLocale.languageToString(locale.language())
    if "_" in tag and locale.territory() != QLocale.Country.AnyCountry:
        name += f" ({QLocale.territoryToString(locale.territory())})"
    return name


__all__ = [
    "AUTO",
    "MAX_CHECKED_CHARS",
    "OFF",
    "SpellHighlighter",
    "SpellMenu",
    "SpellService",
    "Speller",
    "follow_preference",
    "language_name",
    "service",
    "words_to_check",
]
