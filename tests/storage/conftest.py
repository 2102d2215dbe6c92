"""Fixtures for the storage tests: a store on ``:memory:`` and on a file, and a factory of
messages with increasing timestamps (:mod:`storage_helpers`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import SqliteMessageStore


@pytest.fixture
def make() -> MessageFactory:
    return MessageFactory()


@pytest.fixture
def key() -> ConversationKey:
    return ConversationKey(ME, PEER)


@pytest.fixture(params=["memory", "file"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqliteMessageStore]:
    """A fresh store, once on ``:memory:`` and once on a file (WAL, two connections)."""
    path: str | Path = ":memory:" if request.param == "memory" else tmp_path / "history.sqlite3"
    opened = SqliteMessageStore.open(path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def file_store(tmp_path: Path) -> AsyncIterator[SqliteMessageStore]:
    opened = SqliteMessageStore.open(tmp_path / "history.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()
