"""Domain events as payloads between nodes, and which subscribers see events from other nodes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ci_jobs.domain.events import EventBus, JobFinished, ObjectCreated, Source, from_payload, to_payload

FINISHED = JobFinished("j1", "examplebucket-1250000000", "Transcode", "Success", "Success")
CREATED = ObjectCreated("examplebucket-1250000000", "out/ä b.mp4", 1234, '"abc"', Source.JOB)


def test_each_event_type_survives_the_payload_with_its_types() -> None:
    for event in (FINISHED, CREATED):
        node, back = from_payload(to_payload(event, "node-a")) or ("", None)
        assert node == "node-a" and back == event and type(back) is type(event)
    _, created = from_payload(to_payload(CREATED, "n")) or ("", None)
    assert isinstance(created, ObjectCreated) and created.source is Source.JOB


def test_a_payload_this_version_cannot_read_is_skipped_not_raised() -> None:
    good = json.loads(to_payload(FINISHED, "n"))
    for bad in ("", "not json", "[]", json.dumps({**good, "v": 2}), json.dumps({**good, "type": "Nope"}),
                json.dumps({k: v for k, v in good.items() if k != "code"}), json.dumps({**good, "extra": 1}),
                json.dumps({**json.loads(to_payload(CREATED, "n")), "source": "Teleport"})):
        assert from_payload(bad) is None, bad


async def test_remote_events_reach_only_the_subscribers_that_asked_for_them() -> None:
    bus = EventBus()
    local, everywhere = [], []

    async def keep(into: list[Any], event: Any) -> None:
        into.append(event)

    bus.subscribe(JobFinished, lambda e: keep(local, e))
    bus.subscribe(JobFinished, lambda e: keep(everywhere, e), remote=True)
    await bus.deliver_remote(FINISHED)
    assert local == [] and everywhere == [FINISHED]
    await bus.publish(FINISHED)
    assert local == [FINISHED] and everywhere == [FINISHED, FINISHED]


async def test_the_relay_gets_every_local_event_and_its_failure_does_not_reach_the_publisher() -> None:
    bus, sent = EventBus(), []

    async def relay(event: Any) -> None:
        sent.append(event)
        raise ConnectionError("store down")

    bus.relay = relay
    await bus.publish(CREATED)
    await asyncio.sleep(0)
    assert sent == [CREATED]
