"""The unit tier: app/ and engine/ on the in-memory store and a local folder. No sockets, no sleeps."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ci_jobs import config
from ci_jobs.app.service import Service
from ci_jobs.domain.events import EventBus
from ci_jobs.engine.scheduler import Scheduler
from ci_jobs.notify import Notifier
from ci_jobs.protocols.ci import presenter
from ci_jobs.storage.local import LocalStorage
from ci_jobs.store.memory import MemoryStore

BUCKET = "examplebucket-1250000000"


@dataclass
class Node:
    """The pieces one node wires together, built from fakes and a temp folder."""

    settings: config.Settings
    store: MemoryStore
    storage: LocalStorage
    events: EventBus
    service: Service
    scheduler: Scheduler

    @property
    def bucket(self) -> config.Bucket:
        """The demo bucket."""
        found = self.settings.bucket(BUCKET)
        assert found is not None
        return found


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tier opens no connection and listens on no port (the event loop's own self-pipe aside)."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the unit tier must not use the network")

    for name in ("connect", "connect_ex", "bind", "listen"):
        monkeypatch.setattr(socket.socket, name, refuse)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    """A node on the in-memory store, its default queue created."""
    settings = config.load(None, {"data_dir": str(tmp_path)}, environ={})
    settings = replace(settings, callbacks=replace(settings.callbacks, allow_loopback=True))
    store, storage, events = MemoryStore(), LocalStorage(tmp_path / "buckets"), EventBus()
    await store.open()
    service = Service(settings, store, storage, events)
    await service.ensure_queues(None)
    scheduler = Scheduler(store, storage, None, settings, tmp_path / "work", Notifier({"ci": presenter.task_finish}),
                          events)
    yield Node(settings, store, storage, events, service, scheduler)
    await store.close()
