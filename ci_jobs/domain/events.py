"""Domain events and the in-process bus that carries them from use cases and the runner to subscribers.

Side effects travel as events, not as hooks in HTTP handlers: an object written through the object
API or by a job raises `ObjectCreated` (workflows subscribe to it), a job that reached its final
state raises `JobFinished`. Callbacks are not a subscriber of `JobFinished`: they must be committed
with the outcome in one transaction, so the runner renders them before it writes the outcome.

Across nodes: the bus hands every local event to its `relay` (the PostgreSQL store sends it as a
typed JSON payload over NOTIFY, `to_payload`), and events from other nodes come back in through
`deliver_remote` (`from_payload`). A subscriber sees remote events only when it asks to
(`remote=True`): a live view wants every node's JobFinished, while a reaction that must happen
once (a workflow started by ObjectCreated) runs on the node that raised the event.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class Source(StrEnum):
    """How an object came to be."""

    PUT = "Put"
    POST = "Post"
    COPY = "Copy"
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
    seconds: float = 0.0  # its run time (started to ended)


Event = ObjectCreated | JobFinished
Handler = Callable[[Any], Awaitable[None]]
Relay = Callable[[Event], Awaitable[None]]

PAYLOAD_VERSION = 1
_KINDS: dict[str, type[ObjectCreated] | type[JobFinished]] = {k.__name__: k for k in (ObjectCreated, JobFinished)}


def to_payload(event: Event, node: str) -> str:
    """The event as the JSON text one node sends the others: {"v", "type", "node", ...its fields}."""
    return json.dumps({"v": PAYLOAD_VERSION, "type": type(event).__name__, "node": node, **asdict(event)},
                      separators=(",", ":"))


def from_payload(payload: str) -> tuple[str, Event] | None:
    """(sending node, event) back from `to_payload`; None for a payload this version cannot read
    (another version, an unknown type, missing or extra fields), which a receiver skips."""
    try:
        value = json.loads(payload)
        kind = _KINDS[value.pop("type")]
        if value.pop("v") != PAYLOAD_VERSION:
            return None
        node = str(value.pop("node"))
        if set(value) != {f.name for f in fields(kind)}:
            return None
        if kind is ObjectCreated:
            value["source"] = Source(value["source"])
        return node, kind(**value)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class EventBus:
    """Delivers each published event to the handlers subscribed to its type, in subscription order.

    A failing handler is logged and does not stop the others, nor the use case that published.
    """

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._remote: dict[type, list[Handler]] = defaultdict(list)
        self.relay: Relay | None = None  # where local events go to reach other nodes (cluster mode)

    def subscribe(self, kind: type, handler: Handler, *, remote: bool = False) -> None:
        """Call `handler(event)` for every event of type `kind` raised here, and with `remote` also
        for those raised on other nodes."""
        self._handlers[kind].append(handler)
        if remote:
            self._remote[kind].append(handler)

    async def publish(self, event: Event) -> None:
        """Hand `event` to its subscribers here, then to the relay for the other nodes."""
        await self._deliver(event, self._handlers.get(type(event), ()))
        if self.relay is not None:
            try:
                await self.relay(event)
            except Exception:  # noqa: BLE001 - other nodes' live views may miss it; the publisher goes on
                log.warning("could not relay %r to the other nodes", event, exc_info=True)

    async def deliver_remote(self, event: Event) -> None:
        """An event raised on another node: to the subscribers that asked for remote events."""
        await self._deliver(event, self._remote.get(type(event), ()))

    @staticmethod
    async def _deliver(event: Event, handlers: Any) -> None:
        for handler in list(handlers):
            try:
                await handler(event)
            except Exception:  # noqa: BLE001 - one subscriber's bug is not the publisher's failure
                log.exception("handler %r failed on %r", handler, event)
