"""Queue use cases: the default and declared queues of each bucket, describe, update (pause/resume, notify)."""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Bucket, Settings
from ..errors import InvalidArgument, NoSuchQueue
from ..outbound import check_url
from ..store import QueueRecord, Store
from .paging import int_param
from .requests import QueueUpdate

NOTIFY_FIELDS = frozenset({"Url", "Type", "Event", "ResultFormat", "MqRegion", "MqMode", "MqName", "State"})
NOTIFY_EVENTS = frozenset({"TaskFinish", "WorkflowFinish", "WorkflowStart"})


def check_mq_broker(settings: Settings, region: str, where: str) -> None:
    """Refuse a TDMQ callback when no RabbitMQ broker stands for its MqRegion ([mq] url or [mq.regions]):
    it could never be delivered."""
    if not settings.mq.broker(region):
        raise InvalidArgument(f"{where}: no message broker is configured for MqRegion {region!r} on this server "
                              "([mq] url or [mq.regions]), so a TDMQ callback could never be delivered")

DEFAULT_QUEUE = "queue-1"
MAX_IDS = 10


@dataclass(frozen=True)
class QueuePage:
    """A page of queues plus the ids that were asked for but do not exist."""

    queues: list[QueueRecord]
    total: int
    page: int
    size: int
    missing: list[str]


class Queues:
    """The queues of the configured buckets."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._queue_ids: dict[str, dict[str, QueueRecord]] = {}

    async def ensure(self, queues_dir: Path | None) -> None:
        """Create every bucket's default queue and the queues declared in queues/<bucket>.toml."""
        for bucket in self.settings.buckets:
            await self.store.ensure_queue(bucket.name, DEFAULT_QUEUE, self.settings.scheduler.default_max_concurrent)
            for name, max_concurrent in _declared(queues_dir, bucket.name):
                await self.store.ensure_queue(bucket.name, name, max_concurrent)

    async def resolve(self, bucket: Bucket, queue_id: str) -> QueueRecord:
        """The queue a job goes to: `queue_id`, or the bucket's default queue when empty."""
        # Queues are never deleted, so a known id stays valid; the queue's state is applied by the
        # store inside the insert itself, so a cached record can never make a job skip a pause.
        cached = self._queue_ids.get(bucket.name, {})
        hit = cached.get(queue_id or DEFAULT_QUEUE)
        if hit is not None:
            return hit
        queues = await self.store.queues(bucket.name)
        by_id = {q.queue_id: q for q in queues}
        for q in queues:
            if q.name == DEFAULT_QUEUE:
                by_id[DEFAULT_QUEUE] = q
        self._queue_ids[bucket.name] = by_id
        if not queue_id:
            return by_id.get(DEFAULT_QUEUE, queues[0])
        if queue_id in by_id:
            return by_id[queue_id]
        raise InvalidArgument(f"Request.QueueId {queue_id} does not exist in bucket {bucket.name}")

    async def describe(self, bucket: Bucket, params: dict[str, str]) -> QueuePage:
        """GET /queue: filter by ids and state, page by number."""
        queues = await self.store.queues(bucket.name)
        wanted = [i for i in (params.get("queueIds") or "").split(",") if i]
        if len(wanted) > MAX_IDS:
            raise InvalidArgument(f"at most {MAX_IDS} queueIds are allowed")
        missing = [i for i in wanted if i not in {q.queue_id for q in queues}]
        if wanted:
            queues = [q for q in queues if q.queue_id in wanted]
        state = params.get("state") or "All"
        if state not in ("All", "Active", "Paused"):
            raise InvalidArgument(f"state {state!r} must be All, Active or Paused")
        if state != "All":
            queues = [q for q in queues if q.state == state]
        page, size = int_param(params, "pageNumber", 1, 1, 10**6), int_param(params, "pageSize", 10, 1, 100)
        start = (page - 1) * size
        return QueuePage(queues[start:start + size], len(queues), page, size, missing)

    async def update(self, bucket: Bucket, queue_id: str, change: QueueUpdate) -> QueueRecord:
        """Rename, pause/resume and set NotifyConfig."""
        name, state = change.name.strip(), change.state.strip()
        if not name or len(name.encode()) > 128:
            raise InvalidArgument("Request.Name is required (at most 128 bytes)")
        if state not in ("Active", "Paused"):
            raise InvalidArgument(f"Request.State must be Active or Paused, not {state!r}")
        notify = self._notify_config(change.notify)
        queue = await self.store.update_queue(bucket.name, queue_id, name, state, notify, time.time())
        if queue is None:
            raise NoSuchQueue(f"queue {queue_id} does not exist")
        return queue

    def _notify_config(self, value: Any) -> dict[str, str]:
        cfg = {k: str(v) for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}
        for key in value if isinstance(value, dict) else ():
            if key not in NOTIFY_FIELDS:
                raise InvalidArgument(f"Request.NotifyConfig.{key} is not a NotifyConfig field (or not supported: "
                                      "this server sends Url and TDMQ callbacks)")
        if cfg.get("State", "Off") not in ("On", "Off"):
            raise InvalidArgument("Request.NotifyConfig.State must be On or Off")
        if cfg.get("ResultFormat") and cfg["ResultFormat"].upper() not in ("XML", "JSON"):
            raise InvalidArgument("Request.NotifyConfig.ResultFormat must be XML or JSON")
        if cfg.get("State") == "On":
            kind = cfg.get("Type") or "Url"
            if kind not in ("Url", "TDMQ"):
                raise InvalidArgument("Request.NotifyConfig.Type must be Url or TDMQ")
            if kind == "Url":
                if not cfg.get("Url"):
                    raise InvalidArgument("Request.NotifyConfig.Url is required when Type is Url")
                check_url(cfg["Url"], self.settings.callbacks.policy, "Request.NotifyConfig.Url")
            else:
                if not cfg.get("MqName"):
                    raise InvalidArgument("Request.NotifyConfig.MqName is required when Type is TDMQ")
                check_mq_broker(self.settings, cfg.get("MqRegion", ""), "Request.NotifyConfig")
            events = [e.strip() for e in cfg.get("Event", "").split(",") if e.strip()]
            if not events:
                raise InvalidArgument("Request.NotifyConfig.Event is required when State is On")
            bad = [e for e in events if e not in NOTIFY_EVENTS]
            if bad:
                raise InvalidArgument(f"Request.NotifyConfig.Event {bad[0]} is not an event; use "
                                      f"{', '.join(sorted(NOTIFY_EVENTS))} (a comma list)")
        return cfg


def _declared(queues_dir: Path | None, bucket: str) -> list[tuple[str, int]]:
    if queues_dir is None:
        return []
    path = queues_dir / f"{bucket}.toml"
    if not path.is_file():
        return []
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    out = []
    for q in data.get("queues", []):
        if not isinstance(q, dict) or not q.get("name"):
            raise InvalidArgument(f"{path}: every [[queues]] entry needs a name")
        out.append((str(q["name"]), int(q.get("max_concurrent", 10))))
    return out
