"""Errors raised by the storage layer (opening, migrating, writing after close)."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the errors this package raises itself (SQLite errors pass through)."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer Chinwag than this one."""

    def __init__(self, name: str, found: int, supported: int) -> None:
        super().__init__(
            f"{name} has schema version {found}, but this Chinwag only knows versions up to "
            f"{supported}: it was written by a newer Chinwag. Upgrade Chinwag, or move the "
            "file aside to start with an empty history."
        )
        self.found = found
        self.supported = supported


class MigrationError(StorageError):
    """A migration step failed; the database stays at the version before it."""

    def __init__(self, name: str, version: int, cause: Exception) -> None:
        super().__init__(f"migrating {name} to schema version {version} failed: {cause}")
        self.version = version


class StorageClosedError(StorageError):
    """A write was submitted after :meth:`Database.close` began."""
