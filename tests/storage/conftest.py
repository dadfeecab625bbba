"""Storage adapters under test: every adapter passes the same contract suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ci_jobs.storage import Storage
from ci_jobs.storage.local import LocalStorage

BUCKET = "examplebucket-1250000000"


async def _local(tmp: Path) -> Storage:
    return LocalStorage(tmp / "buckets")


# An S3 adapter joins here: "s3": a factory that points it at the moto server of the test run.
ADAPTERS: dict[str, Callable[[Path], Awaitable[Storage]]] = {"local": _local}


@pytest.fixture(params=sorted(ADAPTERS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty storage of each adapter with the demo bucket created."""
    s = await ADAPTERS[request.param](tmp_path)
    await s.ensure_bucket(BUCKET)
    yield s
    await s.reset()
