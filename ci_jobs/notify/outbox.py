"""The outbox loop: deliver due callbacks, retry with exponential backoff, survive restarts.

A failing callback is retried for `retry_for_seconds` (24 h by default: a listener down for a day
still gets it), then kept as a dead letter that `ci-jobs callbacks dead` lists and `ci-jobs callbacks
resend` (or the console) sends again. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
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

    def __init__(self, store: Store, senders: dict[str, Sender], settings: CallbackSettings,
                 clock: Callable[[], float] = time.time,
                 on_attempt: Callable[[str], None] = lambda result: None) -> None:
        self.store = store
        self.senders = senders
        self.settings = settings
        self.clock = clock
        self.on_attempt = on_attempt  # "delivered", "retried" or "dead" after each attempt (metrics)
        self.budget = settings.attempt_budget
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
        due = await self.store.due_callbacks(self.clock(), 50)
        await asyncio.gather(*(self._deliver(cb) for cb in due))
        return len(due)

    async def _deliver(self, cb: Callback) -> None:
        sender = self.senders.get(str(cb.target.get("type", "Url")))
        try:
            if sender is None:
                raise InvalidArgument(f"no sender configured for callback type {cb.target.get('type')}")
            await sender.send(cb)
        except CallbackPostponed as exc:  # a sender that waits for something else (an MPS task's last job)
            await self.store.callback_retry(cb.callback_id, cb.attempts, self.clock() + self.postpone_seconds,
                                            exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - every failure is retried the same way
            attempts = cb.attempts + 1
            if attempts >= self.budget:
                log.warning("callback %s of job %s failed %d times: kept as dead letter (ci-jobs callbacks resend "
                            "%s): %s", cb.callback_id, cb.job_id, attempts, cb.callback_id, exc)
                await self.store.callback_dead(cb.callback_id, attempts, str(exc), self.clock())
                self.on_attempt("dead")
                return
            delay = self.settings.delay(attempts)
            log.info("callback %s of job %s failed (attempt %d), next in %.0f s: %s", cb.callback_id, cb.job_id,
                     attempts, delay, exc)
            await self.store.callback_retry(cb.callback_id, attempts, self.clock() + delay, str(exc))
            self.on_attempt("retried")
            return
        self.on_attempt("delivered")
        log.info("callback %s of job %s delivered (%s)", cb.callback_id, cb.job_id, cb.target.get("type", "Url"))
        await self.store.callback_done(cb.callback_id, self.clock())

    async def close(self) -> None:
        """Close every sender."""
        for sender in self.senders.values():
            await sender.close()
