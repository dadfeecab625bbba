"""Storage adapters under test: every adapter passes the same contract suite.

The S3 adapter runs against moto's standalone S3 server, started once per test session on a free
loopback port; each test gets its own bucket prefix. moto is a test dependency: if its server
cannot start, the S3 tests fail (they never skip).
"""

from __future__ import annotations

import atexit
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ci_jobs.storage import Storage
from ci_jobs.storage.local import LocalStorage
from ci_jobs.storage.s3 import S3Storage

from ..services import MotoServer

BUCKET = "examplebucket-1250000000"
_moto: MotoServer | None = None


def moto() -> MotoServer:
    """The session's moto server (started on first use, stopped when the test process exits)."""
    global _moto
    if _moto is None:
        if not Path(sys.executable).with_name("moto_server").exists():
            pytest.fail("moto_server is missing: install the test dependencies (pip install 'moto[server]')")
        try:
            server = MotoServer().start()
        except RuntimeError as exc:
            pytest.fail(f"moto's S3 server did not start: {exc}")
        atexit.register(server.stop)
        _moto = server
    return _moto


def s3_url(tag: str = "t") -> str:
    """A storage URL on the moto server with a bucket prefix no other test uses."""
    return moto().url(f"{tag}{uuid.uuid4().hex[:10]}-")


async def _local(tmp: Path) -> Storage:
    return LocalStorage(tmp / "buckets")


async def _s3(tmp: Path) -> Storage:
    storage = S3Storage.from_url(s3_url() + f"&tmp_dir={tmp}")
    await storage.open()
    return storage


ADAPTERS: dict[str, Callable[[Path], Awaitable[Storage]]] = {"local": _local, "s3": _s3}


@pytest.fixture(params=sorted(ADAPTERS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty storage of each adapter with the demo bucket created."""
    s = await ADAPTERS[request.param](tmp_path)
    await s.ensure_bucket(BUCKET)
    yield s
    await s.reset()
    close = getattr(s, "close", None)
    if close is not None:
        await close()
