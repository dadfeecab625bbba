"""The composition root: the only place that builds concrete adapters and wires them together.

Embedded mode: SQLite + local buckets. Distributed mode: `store = "postgresql://..."`,
`storage = "s3://..."`, `[mq]` brokers; any number of API nodes (`serve --no-workers`) and worker
nodes (`worker`) share them. Adapters are imported only when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .app.cluster import EventRelay
from .app.service import Service
from .app.sync import SyncProcessor
from .config import Settings, with_server
from .domain.events import EventBus, JobFinished
from .engine.pool import Pool
from .engine.scheduler import Scheduler
from .errors import InvalidArgument
from .metrics import Metrics
from .notify import Notifier
from .notify.outbox import Outbox, Sender
from .notify.url import UrlSender
from .protocols.ci import flow_presenter
from .protocols.ci import presenter as ci_presenter
from .protocols.keys import READY
from .protocols.mps import notify as mps_notify
from .protocols.root import build_app
from .storage import Storage
from .store import Store

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 10_000  # CPython's 700 ran a young collection every few requests, each ~0.3 ms here


def make_store(settings: Settings, data_dir: Path) -> Store:
    """SQLite in the data dir, or PostgreSQL for a postgresql:// URL."""
    url = settings.server.store
    if url in ("", "sqlite"):
        from .store.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(data_dir / "ci-jobs.db")
    if url.startswith(("postgresql://", "postgres://")):
        _need("asyncpg", "a PostgreSQL store")
        from .store.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(url, migrate=settings.server.migrate_on_start)
    raise InvalidArgument(f"store {url!r} must be 'sqlite' or a postgresql:// URL")


def _need(module: str, what: str) -> None:
    """Refuse, in one line, a setting whose driver is in the `cluster` extra when it is not installed."""
    if importlib.util.find_spec(module) is None:
        raise InvalidArgument(f"{what} needs the cluster extra ({module} is not installed): "
                              "pip install 'ci-jobs[cluster]'")


def make_storage(settings: Settings, data_dir: Path) -> Storage:
    """Local folders in the data dir, or an S3-compatible service for an s3:// URL."""
    url = settings.server.storage
    if url in ("", "local"):
        from .storage.local import LocalStorage  # noqa: PLC0415

        return LocalStorage(data_dir / "buckets")
    if url.startswith("s3://"):
        _need("aioboto3", "S3 storage")
        from .storage.s3 import S3Storage  # noqa: PLC0415

        return S3Storage.from_url(url)
    raise InvalidArgument(f"storage {url!r} must be 'local' or an s3:// URL")


def make_senders(settings: Settings) -> dict[str, Sender]:
    """Callback senders by CallBackType."""
    senders: dict[str, Sender] = {"Url": UrlSender(settings.callbacks.timeout, settings.callbacks.policy)}
    from .notify.mq import MqSender  # noqa: PLC0415 - aio-pika only when this node can send MQ callbacks

    senders["TDMQ"] = MqSender(settings.mq)
    return senders


class Node:
    """Everything one ci-jobs process runs: store, storage, service, and optionally scheduler + pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = Path(settings.server.data_dir).resolve()
        self.store = make_store(settings, self.data_dir)
        self.storage = make_storage(settings, self.data_dir)
        self.events = EventBus()
        self.metrics = Metrics()
        self.events.subscribe(JobFinished, self.metrics.job_finished)  # this node's runs only
        self.relay = EventRelay(self.events, self.store)
        self.service = Service(settings, self.store, self.storage, self.events, render=flow_presenter.workflow_event)
        self.events.subscribe(JobFinished, self.service.executions.on_job_finished)  # the node that ran it
        self.notifier = Notifier({"ci": ci_presenter.task_finish, "mps": mps_notify.task_finish})
        senders = make_senders(settings)
        senders[mps_notify.TARGET] = mps_notify.TaskNotifications(self.service.jobs, settings, dict(senders))
        self.outbox = Outbox(self.store, senders, settings.callbacks, on_attempt=self.metrics.callback)
        sched = settings.scheduler
        self.pool = Pool(settings.worker_count, sched.fast_lane) if settings.server.workers_enabled else None
        self.scheduler = (Scheduler(self.store, self.storage, self.pool, settings, self.data_dir / "work",
                                    self.notifier, self.events, on_finish=self.outbox.poke) if self.pool else None)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def single_node(self) -> bool:
        """True for the embedded SQLite store, which no other process shares."""
        return self.settings.server.store in ("", "sqlite")

    async def start(self) -> None:
        """Open the store and storage, create queues, start workers, the scheduler and the outbox."""
        await self.store.open()
        try:
            if not self.single_node:
                self.relay.attach()  # other nodes' JobFinished and ObjectCreated reach remote subscribers here
            await _maybe(self.storage, "open")
            queues_dir = Path(self.settings.server.queues_dir)
            await self.service.ensure_queues(queues_dir if queues_dir.is_dir() else None)
            if self.pool is not None and self.scheduler is not None:
                await self.pool.start()
                await self.scheduler.start(single_node=self.single_node)
        except BaseException:
            # A storage that cannot be reached (S3 down, wrong key) must not leave the store's threads
            # running: the process would print the error and then never exit.
            await self._close_opened()
            raise
        task = asyncio.create_task(self.outbox.run(), name="callback-outbox")
        task.add_done_callback(_fatal)
        poll = self.settings.scheduler.poll_seconds
        for name, loop in (("workflow-executions", self.service.executions.run(poll)),
                           ("batch-jobs", self.service.batches.run(poll))):
            self._tasks.append(asyncio.create_task(loop, name=name))
            self._tasks[-1].add_done_callback(_fatal)
        self._tasks.append(task)

    async def _close_opened(self) -> None:
        """Close what a start that failed may have opened (each close tolerates what was never opened)."""
        for close in (self.pool.close if self.pool is not None else None, lambda: _maybe(self.storage, "close"),
                      self.store.close):
            if close is None:
                continue
            with contextlib.suppress(Exception):
                await close()

    async def stop(self) -> None:
        """Stop in reverse order: running jobs get the grace period to finish, the rest are given back
        to the store unspent (another node, or this one after a restart, runs them again at once)."""
        if self.scheduler is not None:
            await self.scheduler.stop(self.settings.scheduler.stop_grace_seconds)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.service.executions.close()
        if self.pool is not None:
            await self.pool.close()
        await self.outbox.close()
        await _maybe(self.storage, "close")
        await self.store.close()


async def _maybe(obj: Any, method: str) -> None:
    fn = getattr(obj, method, None)
    if fn is not None:
        await fn()


def _fatal(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("background task %s died: %r", task.get_name(), task.exception())


def settle_heap() -> None:
    """Once a long-running process has started: move what it has built so far (modules, schemas, the
    app) out of the cyclic collector's reach, and let it collect young objects less often.

    A full collection walked ~100,000 start-up objects (60 ms with the loop stopped), and young ones ran
    every few requests; a request leaves no cycles behind, so neither found anything. POST /jobs spent
    ~25 us a job in the collector before this. Objects made later are still collected as usual.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def prepare(settings: Settings) -> Settings:
    """Resolve the ephemeral data dir."""
    if settings.server.ephemeral:
        return with_server(settings, data_dir=tempfile.mkdtemp(prefix="ci-jobs-"))
    return settings


def create_app(settings: Settings) -> web.Application:
    """Build the application; its cleanup context starts and stops the Node."""
    settings = prepare(settings)
    node = Node(settings)
    sync = SyncProcessor(settings, node.storage)
    app = build_app(settings, node.service, node.storage, sync, node.metrics)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await node.start()
        app[READY].ready = True
        yield
        app[READY].ready = False
        sync.close()
        await node.stop()
        if settings.server.ephemeral:
            with contextlib.suppress(OSError):
                shutil.rmtree(node.data_dir)

    app.cleanup_ctx.append(lifecycle)
    app[NODE] = node
    return app


async def run_worker(settings: Settings, stop: asyncio.Event, ready: Callable[[str], None]) -> None:
    """A processing node without HTTP: claims and runs jobs until `stop` is set."""
    node = Node(with_server(settings, workers_enabled=True))
    await node.start()
    assert node.scheduler is not None
    ready(node.scheduler.node)
    try:
        await stop.wait()
    finally:
        await node.stop()


async def migrate(settings: Settings) -> None:
    """Apply the store's migrations and exit."""
    store = make_store(with_server(settings, migrate_on_start=True), Path(settings.server.data_dir).resolve())
    await store.open()
    await store.close()


NODE: web.AppKey[Node] = web.AppKey("node")
