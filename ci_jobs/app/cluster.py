"""Domain events between the nodes of a cluster: the bus's relay out, the store's channel in.

Every event published on this node goes to the store's event channel as a typed payload
(`domain.events.to_payload`, naming this node); payloads from the channel are decoded and handed
to the subscribers that asked for remote events. A node skips its own payloads (PostgreSQL also
delivers a NOTIFY to the connection's own listeners) and any it cannot read (a newer version).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from ..domain.events import Event, EventBus, from_payload, to_payload
from ..store import Store

log = logging.getLogger(__name__)


class EventRelay:
    """Joins one node's EventBus to the other nodes through the shared store."""

    def __init__(self, bus: EventBus, store: Store, node: str | None = None) -> None:
        self.bus = bus
        self.store = store
        self.node = node or f"node-{uuid.uuid4().hex[:12]}"
        self._deliveries: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        """Start relaying: local events out, remote events in (call from the running event loop)."""
        self.bus.relay = self._send
        self.store.on_event(self._received)

    async def _send(self, event: Event) -> None:
        await self.store.send_event(to_payload(event, self.node))

    def _received(self, payload: str) -> None:
        decoded = from_payload(payload)
        if decoded is None:
            log.debug("skipping an event payload this version cannot read: %r", payload[:200])
            return
        node, event = decoded
        if node == self.node:
            return
        task = asyncio.get_running_loop().create_task(self.bus.deliver_remote(event))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
