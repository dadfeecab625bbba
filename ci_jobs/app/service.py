"""The use cases one node serves, over its store and storage."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..domain.events import EventBus
from ..storage import Storage
from ..store import Store
from .batches import Batches
from .executions import Executions, Renderer
from .jobs import Jobs
from .objects import Objects
from .queues import Queues
from .templates import Templates
from .workflows import Workflows


class Service:
    """Jobs, queues, templates, workflows, executions, batch jobs and object writes of the configured buckets.

    `render` presents an execution's WorkflowStart/WorkflowFinish callbacks (the CI presenter's).
    """

    def __init__(self, settings: Settings, store: Store, storage: Storage, events: EventBus | None = None,
                 render: Renderer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.storage = storage
        self.events = events or EventBus()
        self.queues = Queues(settings, store)
        self.templates = Templates(store)
        self.jobs = Jobs(settings, store, self.queues, self.templates)
        self.workflows = Workflows(settings, store, self.jobs)
        self.executions = Executions(settings, store, self.jobs, render)
        self.batches = Batches(settings, store, storage, self.jobs, self.workflows, self.executions)
        self.objects = Objects(storage, self.events, self.executions.on_object_created)

    async def ensure_queues(self, queues_dir: Path | None) -> None:
        """Create every bucket (in storage) and its default and declared queues."""
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)
        await self.queues.ensure(queues_dir)

    async def reset(self) -> None:
        """Wipe jobs, callbacks, queue settings, templates and objects."""
        await self.store.reset()
        await self.store.reset_flows()
        await self.storage.reset()
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)
