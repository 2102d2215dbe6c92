"""Fixtures of the core's tests (see :mod:`core_rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from core_rig import Core, make_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Core]:
    """A core signed in as ``me@localhost``, its events recorded."""
    async for made in make_rig(tmp_path):
        yield made
