"""The filter text of a list's proxy model (the contacts, the group chats): kept trimmed
and case-folded in :attr:`TextFilterProxy._needle`, and the rows filtered again when it
changes; what a row must hold to match is the subclass's ``filterAcceptsRow``."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSortFilterProxyModel


class TextFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""

    @property
    def filter_text(self) -> str:
        """The filter text as matched: trimmed and case-folded."""
        return self._needle

    def set_filter_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
