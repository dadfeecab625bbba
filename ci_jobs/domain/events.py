"""Domain events and the in-process bus that carries them from use cases and the runner to subscribers.

Side effects travel as events, not as hooks in HTTP handlers: an object written through the object
API or by a job raises `ObjectCreated` (workflows subscribe to it), a job that reached its final
state raises `JobFinished`. Callbacks are not a subscriber of `JobFinished`: they must be committed
with the outcome in one transaction, so the runner renders them before it writes the outcome.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class Source(StrEnum):
    """How an object came to be."""

    PUT = "Put"
    MULTIPART = "CompleteMultipartUpload"
    JOB = "Job"


@dataclass(frozen=True)
class ObjectCreated:
    """An object was written whole into a bucket."""

    bucket: str
    key: str
    size: int
    etag: str
    source: Source


@dataclass(frozen=True)
class JobFinished:
    """A job reached Success, Failed or Cancel (committed)."""

    job_id: str
    bucket: str
    tag: str
    state: str
    code: str


Event = ObjectCreated | JobFinished
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    """Delivers each published event to the handlers subscribed to its type, in subscription order.

    A failing handler is logged and does not stop the others, nor the use case that published.
    """

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, kind: type, handler: Handler) -> None:
        """Call `handler(event)` for every event of type `kind`."""
        self._handlers[kind].append(handler)

    async def publish(self, event: Event) -> None:
        """Hand `event` to its subscribers."""
        for handler in self._handlers.get(type(event), ()):
            try:
                await handler(event)
            except Exception:  # noqa: BLE001 - one subscriber's bug is not the publisher's failure
                log.exception("handler %r failed on %r", handler, event)
