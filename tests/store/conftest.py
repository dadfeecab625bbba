"""Store adapters under test: every adapter passes the same contract suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ci_jobs.store import Store
from ci_jobs.store.sqlite import SqliteStore


async def _sqlite(tmp: Path) -> Store:
    store = SqliteStore(tmp / "ci-jobs.db")
    await store.open()
    return store


ADAPTERS: dict[str, Callable[[Path], Awaitable[Store]]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(ADAPTERS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each adapter."""
    s = await ADAPTERS[request.param](tmp_path)
    yield s
    await s.close()
