"""The outbox loop: deliver due callbacks, retry with exponential backoff, survive restarts."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from ..config import CallbackSettings
from ..errors import CallbackPostponed, InvalidArgument
from ..store import Callback, Store

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers one callback or raises."""

    async def send(self, cb: Callback) -> None:
        """Deliver `cb` once."""

    async def close(self) -> None:
        """Release connections."""


class Outbox:
    """Polls the store's outbox and hands each due callback to the sender for its type."""

    def __init__(self, store: Store, senders: dict[str, Sender], settings: CallbackSettings) -> None:
        self.store = store
        self.senders = senders
        self.settings = settings
        self._wake = asyncio.Event()

    @property
    def postpone_seconds(self) -> float:
        """How long a postponed callback waits (CallbackPostponed): a few polls, at most 10 s."""
        return min(max(self.settings.poll_seconds * 4, self.settings.retry_base), 10.0)

    def poke(self) -> None:
        """Look at the outbox now (a job just finished)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever."""
        while True:
            delivered = await self.deliver_due()
            if not delivered:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def deliver_due(self) -> int:
        """Deliver every due callback once; return how many were attempted."""
        due = await self.store.due_callbacks(time.time(), 50)
        await asyncio.gather(*(self._deliver(cb) for cb in due))
        return len(due)

    async def _deliver(self, cb: Callback) -> None:
        sender = self.senders.get(str(cb.target.get("type", "Url")))
        try:
            if sender is None:
                raise InvalidArgument(f"no sender configured for callback type {cb.target.get('type')}")
            await sender.send(cb)
        except CallbackPostponed as exc:  # a sender that waits for something else (an MPS task's last job)
            await self.store.callback_retry(cb.callback_id, cb.attempts, time.time() + self.postpone_seconds,
                                            exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - every failure is retried the same way
            attempts = cb.attempts + 1
            if attempts >= self.settings.max_attempts:
                log.warning("dropping callback %s of job %s after %d attempts: %s",
                            cb.callback_id, cb.job_id, attempts, exc)
                await self.store.callback_done(cb.callback_id)
                return
            delay = min(self.settings.retry_base * 2 ** (attempts - 1), 300.0)
            await self.store.callback_retry(cb.callback_id, attempts, time.time() + delay, str(exc))
            return
        await self.store.callback_done(cb.callback_id)

    async def close(self) -> None:
        """Close every sender."""
        for sender in self.senders.values():
            await sender.close()
