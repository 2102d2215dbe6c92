"""Fixtures of the API layer's tests (see :mod:`api_rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_rig import ApiLayerRig

from chinwag.api.ucwa import UcwaApi


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[ApiLayerRig]:
    """The API over a core signed in as ``me@localhost``."""
    started = await ApiLayerRig.start(tmp_path)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def offline_rig(tmp_path: Path) -> AsyncIterator[ApiLayerRig]:
    """The API over a core with the account ``me@localhost``, not signed in."""
    started = await ApiLayerRig.start(tmp_path, sign_in=False)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def ucwa(rig: ApiLayerRig) -> AsyncIterator[UcwaApi]:
    """The UCWA gateway's API (gateways.md section 2) over ``rig``."""
    api = UcwaApi(rig.api)
    try:
        yield api
    finally:
        api.close()
