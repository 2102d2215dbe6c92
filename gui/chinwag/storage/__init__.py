"""The only package that runs SQL: schema, numbered migrations and repositories.

:class:`SqliteMessageStore` implements the core's ``MessageStore`` port on a
:class:`Database` (WAL, one group-committing writer thread, reads on the caller's thread)."""

from chinwag.storage.database import Database, WriterStats
from chinwag.storage.errors import (
    MigrationError,
    SchemaTooNewError,
    StorageClosedError,
    StorageError,
)
from chinwag.storage.message_store import SqliteMessageStore

__all__ = [
    "Database",
    "MigrationError",
    "SchemaTooNewError",
    "SqliteMessageStore",
    "StorageClosedError",
    "StorageError",
    "WriterStats",
]
