"""Keys between windows: Ctrl+Tab and Ctrl+Shift+Tab step through the conversation
windows, Alt+1 … Alt+9 go to the first nine (in the order they were opened); in the
contact list too. The application's own shortcuts (Ctrl+N, Ctrl+,, F1, Ctrl+Q: actions of
the main window) work in every conversation window as well."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget

from chinwag.ui.conversations import ConversationWindows

WINDOW_KEYS = 9


class WindowSwitcher(QObject):
    """Puts the switching shortcuts on the main window and on each conversation window
    the registry makes (and ``shared`` actions on the latter)."""

    def __init__(
        self,
        windows: ConversationWindows,
        main_window: QWidget,
        shared: Sequence[QAction] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or main_window)
        self._windows = windows
        self._shared = list(shared)
        self._attach(main_window, with_shared=False)
        for window in windows.all():
            self.attach(window)
        windows.created.connect(self.attach)
        windows.replaced.connect(lambda _old, new: self.attach(new))

    def attach(self, window: object) -> None:
        if isinstance(window, QWidget):
            self._attach(window, with_shared=True)

    def _attach(self, window: QWidget, *, with_shared: bool) -> None:
        if window.property("chinwagSwitcher"):
            return
        window.setProperty("chinwagSwitcher", True)

        def add(keys: list[QKeySequence], slot: Callable[[], object]) -> None:
            shortcut = QShortcut(window)
            shortcut.setKeys(keys)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        add(QKeySequence.keyBindings(QKeySequence.StandardKey.NextChild), partial(self.step, 1))
        add(
            [
                *QKeySequence.keyBindings(QKeySequence.StandardKey.PreviousChild),
                QKeySequence("Ctrl+Shift+Tab"),
            ],
            partial(self.step, -1),
        )
        for number in range(1, WINDOW_KEYS + 1):
            add([QKeySequence(f"Alt+{number}")], partial(self.go, number))
        if with_shared:
            window.addActions(self._shared)

    def step(self, delta: int) -> QWidget | None:
        """Raise the next (``delta`` 1) or previous (-1) conversation window after the
        active one (from the contact list: the first, or the last)."""
        windows = self._conversation_windows()
        if not windows:
            return None
        active = QApplication.activeWindow()
        if active in windows:
            target = windows[(windows.index(active) + delta) % len(windows)]
        else:
            target = windows[0] if delta > 0 else windows[-1]
        return self._raise(target)

    def go(self, number: int) -> QWidget | None:
        """Raise conversation window ``number`` (from 1); nothing when there is none."""
        windows = self._conversation_windows()
        if not 0 < number <= len(windows):
            return None
        return self._raise(windows[number - 1])

    def _conversation_windows(self) -> list[QWidget]:
        return [w for w in self._windows.all() if isinstance(w, QWidget)]

    @staticmethod
    def _raise(window: QWidget) -> QWidget:
        present = getattr(window, "present", None)
        if callable(present):
            present()
        else:
            window.show()
            window.raise_()
            window.activateWindow()
        return window
