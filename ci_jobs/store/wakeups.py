"""The in-process half of `wait_for_work`/`notify_work` and of the event channel, shared by the adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Wakeups:
    """An asyncio event behind `WorkSignal`.

    An adapter sets the event from its own signal too (PostgreSQL: LISTEN/NOTIFY from other nodes).
    """

    _work: asyncio.Event

    async def wait_for_work(self, timeout: float) -> None:
        """Sleep until work may be claimable (a local or remote signal) or `timeout`."""
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            pass
        self._work.clear()

    def notify_work(self) -> None:
        """Wake the local scheduler."""
        self._work.set()


class LocalEvents:
    """The event channel of a store no other node shares: nothing to send, nothing ever arrives
    (local subscribers already got each event from the bus)."""

    async def send_event(self, payload: str) -> None:
        """Nobody else listens."""

    def on_event(self, receive: Callable[[str], None]) -> None:
        """No other node will send."""
