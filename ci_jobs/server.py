"""The composition root: the only place that builds concrete adapters and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from .api.app import build_app
from .config import Settings, with_server
from .notify.outbox import Outbox
from .notify.url import UrlSender
from .pool import Pool
from .scheduler import Scheduler
from .service import Service
from .storage.local import LocalStorage
from .store.sqlite import SqliteStore
from .validation import Validator

log = logging.getLogger(__name__)
SCHEMAS = Path(__file__).with_name("schemas")


class Node:
    """Everything one ci-jobs process runs: store, storage, service, scheduler, pool, outbox."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = Path(settings.server.data_dir).resolve()
        self.store = SqliteStore(self.data_dir / "ci-jobs.db")
        self.storage = LocalStorage(self.data_dir / "buckets")
        self.service = Service(settings, self.store, self.storage, Validator(SCHEMAS))
        self.outbox = Outbox(self.store, {"Url": UrlSender(settings.callbacks.timeout,
                                                          settings.callbacks.allow_link_local)},
                             settings.callbacks)
        sched = settings.scheduler
        self.pool = Pool(settings.worker_count, sched.fast_lane) if settings.server.workers_enabled else None
        self.scheduler = (Scheduler(self.store, self.storage, self.pool, settings, self.data_dir / "work",
                                    on_finish=self.outbox.poke) if self.pool else None)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Open the store, create queues, start workers, the scheduler and the outbox."""
        await self.store.open()
        queues_dir = Path(self.settings.server.queues_dir)
        await self.service.ensure_queues(queues_dir if queues_dir.is_dir() else None)
        if self.pool is not None and self.scheduler is not None:
            await self.pool.start()
            await self.scheduler.start(single_node=True)
        task = asyncio.create_task(self.outbox.run(), name="callback-outbox")
        task.add_done_callback(_fatal)
        self._tasks.append(task)

    async def stop(self) -> None:
        """Stop in reverse order; running jobs re-run after the next start."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.pool is not None:
            await self.pool.close()
        await self.outbox.close()
        await self.store.close()


def _fatal(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("background task %s died: %r", task.get_name(), task.exception())


def prepare(settings: Settings) -> Settings:
    """Resolve the ephemeral data dir."""
    if settings.server.ephemeral:
        return with_server(settings, data_dir=tempfile.mkdtemp(prefix="ci-jobs-"))
    return settings


def create_app(settings: Settings) -> web.Application:
    """Build the application; its cleanup context starts and stops the Node."""
    settings = prepare(settings)
    node = Node(settings)
    app = build_app(settings, node.service, node.storage)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await node.start()
        yield
        await node.stop()
        if settings.server.ephemeral:
            with contextlib.suppress(OSError):
                shutil.rmtree(node.data_dir)

    app.cleanup_ctx.append(lifecycle)
    app[NODE] = node
    return app


NODE: web.AppKey[Node] = web.AppKey("node")
