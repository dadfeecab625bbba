"""Callbacks on a simulated clock: retried for 24 hours, then kept as dead letters that a resend delivers."""

from __future__ import annotations

from dataclasses import replace

from ci_jobs import config
from ci_jobs.notify.outbox import Outbox
from ci_jobs.store import Callback
from ci_jobs.store.memory import MemoryStore

HOUR = 3600.0


class Listener:
    """A callback endpoint that is down until `up_at` (simulated time), then takes every callback."""

    def __init__(self, clock: list[float], up_at: float) -> None:
        self.clock, self.up_at = clock, up_at
        self.received: list[bytes] = []
        self.refused = 0

    async def send(self, cb: Callback) -> None:
        if self.clock[0] < self.up_at:
            self.refused += 1
            raise ConnectionRefusedError("listener down")
        self.received.append(cb.body)

    async def close(self) -> None:
        pass


async def run_for(outbox: Outbox, store: MemoryStore, clock: list[float], until: float) -> None:
    """Deliver whatever is due, jumping the clock to the next due time, until `until`."""
    while clock[0] < until:
        await outbox.deliver_due()
        due = [o.next_at for o in store._outbox.values()]  # noqa: SLF001 - the simulated clock's next stop
        clock[0] = min([*due, until]) if due else until


async def outbox_with(up_after: float) -> tuple[Outbox, MemoryStore, Listener, list[float]]:
    settings = config.load(environ={}).callbacks
    store, clock = MemoryStore(), [0.0]
    await store.open()
    listener = Listener(clock, up_after)
    outbox = Outbox(store, {"Url": listener}, settings, clock=lambda: clock[0])
    await store.add_callbacks([Callback({"type": "Url", "url": "http://listener/"}, b"TaskFinish", "text/xml",
                                        job_id="j1")], 0.0)
    return outbox, store, listener, clock


async def test_a_listener_down_for_six_hours_still_gets_its_callback() -> None:
    outbox, store, listener, clock = await outbox_with(up_after=6 * HOUR)
    await run_for(outbox, store, clock, 7 * HOUR)
    assert listener.received == [b"TaskFinish"] and listener.refused > 60
    assert await store.dead_callbacks(10) == [] and (await store.counts()).outbox_pending == 0


async def test_one_down_for_25_hours_becomes_a_dead_letter_and_a_resend_delivers_it_once() -> None:
    outbox, store, listener, clock = await outbox_with(up_after=25 * HOUR)
    await run_for(outbox, store, clock, 25 * HOUR)
    assert listener.received == []
    (dead,) = await store.dead_callbacks(10)
    assert (dead.callback.job_id, dead.callback.attempts) == ("j1", outbox.budget)
    assert "listener down" in dead.last_error
    assert 23.5 * HOUR < dead.dead_at <= 24 * HOUR + 300  # it was retried for about a day
    await run_for(outbox, store, clock, 26 * HOUR)
    assert listener.received == []  # a dead letter is never due by itself
    assert await store.resend_callback(dead.callback.callback_id, clock[0])
    await run_for(outbox, store, clock, 27 * HOUR)
    assert listener.received == [b"TaskFinish"]
    assert await store.dead_callbacks(10) == [] and (await store.counts()).outbox_pending == 0


def test_max_attempts_caps_the_budget_when_set() -> None:
    settings = config.load(environ={}).callbacks
    assert settings.attempt_budget > 250  # 24 h at most 300 s apart
    assert replace(settings, max_attempts=5).attempt_budget == 5
