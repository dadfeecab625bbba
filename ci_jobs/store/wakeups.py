"""The in-process half of `wait_for_work`/`notify_work`, shared by the adapters."""

from __future__ import annotations

import asyncio


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
