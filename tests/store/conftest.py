"""Store adapters under test: every adapter (memory, sqlite, postgres) passes the same contract suite.

PostgreSQL tests get a fresh database each (`ci_jobs_t_<hex>`, dropped afterwards) on the server
named by `CI_JOBS_TEST_PG`. Without a reachable server they skip loudly, except under CI (`CI` set),
where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from ci_jobs.store import Store
from ci_jobs.store.memory import MemoryStore
from ci_jobs.store.postgres import PostgresStore
from ci_jobs.store.sqlite import SqliteStore

PG_ADMIN = os.environ.get("CI_JOBS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_unreachable: list[str] = []  # the reason, once the server was found missing in this session


async def _memory(tmp: Path) -> Store:
    store = MemoryStore()
    await store.open()
    return store


async def _sqlite(tmp: Path) -> Store:
    store = SqliteStore(tmp / "ci-jobs.db")
    await store.open()
    return store


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


async def _admin() -> asyncpg.Connection:
    if not _unreachable:
        try:
            return await asyncpg.connect(PG_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _unreachable.append(f"{type(exc).__name__}: {exc}")
    reason = f"PostgreSQL not reachable at {PG_ADMIN} ({_unreachable[0]}); set CI_JOBS_TEST_PG"
    if _in_ci():
        raise RuntimeError(f"CI must run the PostgreSQL store tests: {reason}")
    pytest.skip(f"!!! PostgreSQL store tests NOT RUN: {reason}")


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create an empty database on the test server, yield its DSN, drop it afterwards."""
    name = f"ci_jobs_t_{uuid.uuid4().hex[:16]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlsplit(PG_ADMIN)._replace(path="/" + name).geturl()
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def _opened(make: Callable[[Path], Awaitable[Store]], tmp: Path) -> AsyncIterator[Store]:
    store = await make(tmp)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _postgres(tmp: Path) -> AsyncIterator[Store]:
    async with fresh_database() as dsn:
        store = PostgresStore(dsn)
        await store.open()
        try:
            yield store
        finally:
            await store.close()


ADAPTERS: dict[str, Callable[[Path], AbstractAsyncContextManager[Store]]] = {
    "memory": lambda tmp: _opened(_memory, tmp),
    "sqlite": lambda tmp: _opened(_sqlite, tmp),
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(ADAPTERS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each adapter."""
    async with ADAPTERS[request.param](tmp_path) as s:
        yield s


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    """The DSN of a fresh, empty (unmigrated) PostgreSQL database."""
    async with fresh_database() as dsn:
        yield dsn
