"""The use cases one node serves, over its store and storage."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..domain.events import EventBus
from ..storage import Storage
from ..store import Store
from .jobs import Jobs
from .objects import Objects
from .queues import Queues
from .templates import Templates


class Service:
    """Jobs, queues, templates and object writes of the configured buckets."""

    def __init__(self, settings: Settings, store: Store, storage: Storage, events: EventBus | None = None) -> None:
        self.settings = settings
        self.store = store
        self.storage = storage
        self.events = events or EventBus()
        self.objects = Objects(storage, self.events)
        self.queues = Queues(settings, store)
        self.templates = Templates(store)
        self.jobs = Jobs(settings, store, self.queues, self.templates)

    async def ensure_queues(self, queues_dir: Path | None) -> None:
        """Create every bucket (in storage) and its default and declared queues."""
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)
        await self.queues.ensure(queues_dir)

    async def reset(self) -> None:
        """Wipe jobs, callbacks, queue settings, templates and objects."""
        await self.store.reset()
        await self.storage.reset()
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)
