"""MqSender against a real RabbitMQ: Queue and Topic modes, broker selection, failures, broker restart.

The broker is CI_JOBS_TEST_AMQP (default the local guest broker). When it is not reachable these
tests are skipped with a warning, or fail when the environment variable CI is set. The "restart" goes
through a proxy (tests/services.py BrokerOutage): the tests never stop a broker they did not start.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pytest

from ci_jobs.config import MqSettings
from ci_jobs.errors import CiJobsError, InvalidArgument
from ci_jobs.notify.mq import MqSender, redact, route
from ci_jobs.store import Callback

from ..services import AMQP_URL, BrokerOutage


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The test broker's URL; skip (fail under CI) when it is down."""
    if not _reachable(AMQP_URL):
        message = f"RabbitMQ at {redact(AMQP_URL)} is not reachable: MQ callback tests are NOT run"
        if os.environ.get("CI"):
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    return AMQP_URL


@pytest.fixture
async def amqp(broker_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain channel for the test's own declarations and reads."""
    conn = await aio_pika.connect(broker_url)
    yield await conn.channel()
    await conn.close()


@pytest.fixture
def names(broker_url: str) -> Iterator[list[str]]:
    """A generator of unique names; every queue and exchange of that name is deleted afterwards."""
    made: list[str] = []
    yield made
    asyncio.run(_delete(broker_url, made))


async def _delete(url: str, made: list[str]) -> None:
    conn = await aio_pika.connect(url)  # a fresh one: the broker may have been restarted meanwhile
    for name in made:
        channel = await conn.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
        await channel.close()
    await conn.close()


def unique(made: list[str]) -> str:
    """A fresh queue/exchange name, registered for deletion."""
    made.append(f"ci-jobs-test-{uuid.uuid4().hex[:12]}")
    return made[-1]


def callback(mq: dict[str, Any], body: bytes = b"<Response><EventName>TaskFinish</EventName></Response>",
             ctype: str = "application/xml", cid: int = 7) -> Callback:
    """A TDMQ TaskFinish callback as `notify.task_finish` builds it."""
    return Callback(target={"type": "TDMQ", "format": "XML", "mq": mq}, body=body, content_type=ctype,
                    callback_id=cid, job_id="j0123456789abcdef0123456789abcdef")


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- no broker needed ------------------------------------------------------------------------


async def test_no_broker_configured_raises() -> None:
    sender = MqSender(MqSettings(regions=(("bj", "amqp://127.0.0.1/"),)))
    with pytest.raises(InvalidArgument, match="no RabbitMQ broker configured for MqRegion 'sh'"):
        await sender.send(callback({"MqMode": "Queue", "MqName": "q", "MqRegion": "sh"}))
    await sender.close()


def test_route_defaults_to_queue_and_rejects_bad_configs() -> None:
    assert route({"mq": {"MqName": "q", "MqRegion": "sh"}}) == ("Queue", "q", "sh")
    assert route({"mq": {"MqMode": "topic", "MqName": "t"}}) == ("Topic", "t", "")
    with pytest.raises(InvalidArgument, match="MqName is required"):
        route({"mq": {"MqMode": "Queue"}})
    with pytest.raises(InvalidArgument, match="must be Queue or Topic"):
        route({"mq": {"MqMode": "Fanout", "MqName": "x"}})


def test_redact_drops_credentials() -> None:
    assert redact("amqp://user:secret@mq.example:5673/vh") == "amqp://mq.example:5673/vh"


async def test_unreachable_broker_raises_within_seconds() -> None:
    sender = MqSender(MqSettings(url=f"amqp://guest:guest@127.0.0.1:{closed_port()}/"), timeout=2)
    started = time.monotonic()
    with pytest.raises(CiJobsError, match="TDMQ callback to Queue 'q' on amqp://127.0.0.1"):
        await sender.send(callback({"MqMode": "Queue", "MqName": "q", "MqRegion": "sh"}))
    assert time.monotonic() - started < 3
    await sender.close()


# --- against the broker ----------------------------------------------------------------------


async def test_queue_mode_publishes_a_persistent_message_to_the_named_queue(
        broker_url: str, amqp: aio_pika.abc.AbstractChannel, names: list[str]) -> None:
    name = unique(names)
    sender = MqSender(MqSettings(url=broker_url))
    body = b'{"EventName":"TaskFinish","JobsDetail":{"Code":"Success"}}'
    await sender.send(callback({"MqName": name, "MqRegion": "sh"}, body, "application/json", cid=42))
    await sender.close()

    queue = await amqp.declare_queue(name, durable=True)  # refused unless the sender made it durable
    msg = await queue.get(no_ack=True)
    assert msg.body == body
    assert msg.content_type == "application/json"
    assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert msg.message_id == "42"
    assert msg.routing_key == name and msg.exchange == ""
    assert msg.headers == {"x-ci-event": "TaskFinish", "x-ci-job-id": "j0123456789abcdef0123456789abcdef"}


async def test_topic_mode_reaches_queues_bound_to_the_topic_exchange(
        broker_url: str, amqp: aio_pika.abc.AbstractChannel, names: list[str]) -> None:
    topic, sub_event, sub_all = unique(names), unique(names), unique(names)
    exchange = await amqp.declare_exchange(topic, aio_pika.ExchangeType.TOPIC, durable=True)
    q_event = await amqp.declare_queue(sub_event)
    q_all = await amqp.declare_queue(sub_all)
    await q_event.bind(exchange, "TaskFinish")
    await q_all.bind(exchange, "#")
    sender = MqSender(MqSettings(url=broker_url))
    await sender.send(callback({"MqMode": "Topic", "MqName": topic, "MqRegion": "sh"}))
    await sender.close()

    for queue in (q_event, q_all):
        msg = await queue.get(no_ack=True)
        assert msg.body.startswith(b"<Response><EventName>TaskFinish")
        assert msg.content_type == "application/xml"
        assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert msg.exchange == topic and msg.routing_key == "TaskFinish"


async def test_topic_without_subscribers_is_accepted_and_declared_durable(
        broker_url: str, amqp: aio_pika.abc.AbstractChannel, names: list[str]) -> None:
    topic = unique(names)
    sender = MqSender(MqSettings(url=broker_url))
    await sender.send(callback({"MqMode": "Topic", "MqName": topic}))
    await sender.close()
    await amqp.declare_exchange(topic, aio_pika.ExchangeType.TOPIC, durable=True)  # equivalent: no error


async def test_mq_region_picks_the_broker(broker_url: str, amqp: aio_pika.abc.AbstractChannel,
                                          names: list[str]) -> None:
    name = unique(names)
    dead = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    sender = MqSender(MqSettings(url=dead, regions=(("gz", broker_url),)), timeout=2)
    await sender.send(callback({"MqMode": "Queue", "MqName": name, "MqRegion": "gz"}))
    with pytest.raises(CiJobsError):
        await sender.send(callback({"MqMode": "Queue", "MqName": name, "MqRegion": "bj"}))
    await sender.close()
    queue = await amqp.declare_queue(name, durable=True)
    assert queue.declaration_result.message_count == 1


async def test_concurrent_sends_are_all_confirmed(broker_url: str, amqp: aio_pika.abc.AbstractChannel,
                                                 names: list[str]) -> None:
    name = unique(names)
    sender = MqSender(MqSettings(url=broker_url))
    await asyncio.gather(*(sender.send(callback({"MqName": name}, cid=i)) for i in range(25)))
    await sender.close()
    queue = await amqp.declare_queue(name, durable=True)
    assert queue.declaration_result.message_count == 25


async def test_a_conflicting_queue_fails_only_its_own_callbacks(
        broker_url: str, amqp: aio_pika.abc.AbstractChannel, names: list[str]) -> None:
    bad, good = unique(names), unique(names)
    await amqp.declare_queue(bad, durable=False)  # someone made it transient: our durable declare is refused
    sender = MqSender(MqSettings(url=broker_url))
    results = await asyncio.gather(sender.send(callback({"MqName": bad})), sender.send(callback({"MqName": good})),
                                   return_exceptions=True)
    assert isinstance(results[0], CiJobsError) and "PRECONDITION_FAILED" in str(results[0])
    assert results[1] is None
    await sender.send(callback({"MqName": good}))  # the shared publishing channel is still fine
    await sender.close()
    queue = await amqp.declare_queue(good, durable=True)
    assert queue.declaration_result.message_count == 2


# --- broker restart --------------------------------------------------------------------------


async def test_sender_recovers_after_the_broker_restarts(broker_url: str, names: list[str]) -> None:
    name = unique(names)
    outage = BrokerOutage(broker_url)
    sender = MqSender(MqSettings(url=outage.url), timeout=3, reconnect_interval=0.5)
    try:
        await sender.send(callback({"MqName": name}, body=b"<before/>", cid=1))
        await asyncio.to_thread(outage.down)  # every connection dropped, new ones refused: the broker is gone
        started = time.monotonic()
        with pytest.raises(CiJobsError):
            await sender.send(callback({"MqName": name}, body=b"<while-down/>", cid=2))
        assert time.monotonic() - started < 4
    finally:
        await asyncio.to_thread(outage.up)
    # Retry as the outbox does until the robust connection is back; it must not need a new sender.
    deadline = time.monotonic() + 30
    while True:
        try:
            await sender.send(callback({"MqName": name}, body=b"<after/>", cid=3))
            break
        except CiJobsError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    await sender.close()
    await asyncio.to_thread(outage.close)

    conn = await aio_pika.connect(broker_url)
    queue = await (await conn.channel()).declare_queue(name, durable=True)
    bodies = []
    while (msg := await queue.get(no_ack=True, fail=False)) is not None:
        bodies.append(msg.body)
    await conn.close()
    assert bodies == [b"<before/>", b"<after/>"]  # the one sent while it was down was refused, not lost silently
