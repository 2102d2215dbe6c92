"""Fixtures for core-against-Prosody tests: ``cores`` builds signed-in cores on fresh
profiles and shuts them all down after the test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST, Recorder, account_for, make_core

from chinwag.core.service import ChinwagCore


class Client:
    """A core with one account and a recorder of its events."""

    def __init__(self, core: ChinwagCore, jid: str) -> None:
        self.core = core
        self.jid = jid
        self.events = Recorder(core)

    async def send(self, to: str, body: str) -> Any:
        return await self.core.messaging.send(self.jid, to, body)


CoreMaker = Callable[..., Awaitable[Client]]


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[CoreMaker]:
    made: list[ChinwagCore] = []
    counter = itertools.count()

    async def make(
        server: Any,
        jid: str,
        password: str,
        *,
        sign_in: bool = True,
        root: Path | None = None,
        **config: Any,
    ) -> Client:
        core = make_core(root or tmp_path / f"profile{next(counter)}", FAST)
        made.append(core)
        core.add_account(account_for(server, jid, **config), password)
        client = Client(core, jid)
        if sign_in:
            await core.sign_in(jid)
            await core.messaging.wait_archive_synced(jid)
        return client

    yield make
    for core in made:
        await core.shutdown()
