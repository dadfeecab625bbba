"""TDMQ callbacks over RabbitMQ: CI's CallBackMqConfig {MqMode, MqName, MqRegion} mapped onto AMQP.

- MqRegion picks the broker: `[mq.regions]`, else `[mq] url` (`MqSettings.broker`).
- MqMode `Queue` (the default): a durable queue named MqName, published through the default exchange
  with routing key MqName, so whoever consumes that queue gets every callback.
- MqMode `Topic`: a durable topic exchange named MqName, published with routing key = the event name
  (`TaskFinish`); subscribers bind their own queues (`TaskFinish` or `#`). As on a pub/sub topic, a
  message published while no queue is bound is dropped by the broker, not retried.

Messages are persistent and published with publisher confirms: `send` returns only once the broker
confirmed the message, and raises otherwise (broker down, unroutable, not confirmed in `timeout`) so
the outbox retries it. Delivery is at least once — a lost confirm means a resend — so consumers
should deduplicate on `message_id` (the callback id).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection

from ..config import MqSettings
from ..errors import CallbackError, CiJobsError, InvalidArgument
from ..store import Callback

log = logging.getLogger(__name__)

QUEUE = "Queue"
TOPIC = "Topic"


@dataclass
class _Broker:
    """One broker: its robust connection, the confirming channel we publish on, what we declared."""

    connection: AbstractRobustConnection
    channel: AbstractRobustChannel
    declared: dict[tuple[str, str], AbstractExchange] = field(default_factory=dict)  # by (MqMode, MqName)


def redact(url: str) -> str:
    """The broker URL without credentials, for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path or '/'}"


def route(target: dict[str, Any]) -> tuple[str, str, str]:
    """(MqMode, MqName, MqRegion) of a TDMQ target, normalised; InvalidArgument when unusable."""
    mq = target.get("mq") or {}
    mode = str(mq.get("MqMode") or QUEUE).strip()
    name = str(mq.get("MqName") or "").strip()
    region = str(mq.get("MqRegion") or "").strip()
    if mode.lower() not in (QUEUE.lower(), TOPIC.lower()):
        raise InvalidArgument(f"CallBackMqConfig.MqMode {mode!r} must be Queue or Topic")
    if not name:
        raise InvalidArgument("CallBackMqConfig.MqName is required")
    return (QUEUE if mode.lower() == QUEUE.lower() else TOPIC), name, region


class MqSender:
    """Publishes TDMQ callbacks to RabbitMQ, one robust connection and confirming channel per broker."""

    def __init__(self, settings: MqSettings, timeout: float = 5.0, reconnect_interval: float = 1.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.reconnect_interval = reconnect_interval
        self._brokers: dict[str, _Broker] = {}
        self._connecting: dict[str, asyncio.Task[_Broker]] = {}

    async def send(self, cb: Callback) -> None:
        """Publish `cb` once and wait for the broker's confirm; raise on any failure."""
        mode, name, region = route(cb.target)
        url = self.settings.broker(region)
        if not url:
            raise InvalidArgument(f"no RabbitMQ broker configured for MqRegion {region!r} "
                                  "(set [mq] url or [mq.regions])")
        event = str(cb.target.get("event") or "TaskFinish")  # targets carry no event yet: all are TaskFinish
        message = aio_pika.Message(
            cb.body, content_type=cb.content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(cb.callback_id), app_id="ci-jobs",
            headers={"x-ci-event": event, "x-ci-job-id": cb.job_id})
        where = f"{mode} {name!r} on {redact(url)}"
        try:
            broker = await self._broker(url)
            async with asyncio.timeout(self.timeout):
                exchange = await self._declare(broker, mode, name)
                # A queue must exist, so an unroutable message is an error; a topic may have no subscribers.
                await exchange.publish(message, routing_key=name if mode == QUEUE else event,
                                       mandatory=mode == QUEUE)
        except TimeoutError as exc:
            self._forget(url, mode, name)
            raise CallbackError(f"TDMQ callback to {where} timed out after {self.timeout:g}s") from exc
        except CiJobsError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver failure means "retry later"
            self._forget(url, mode, name)
            raise CallbackError(f"TDMQ callback to {where} failed: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        """Stop pending connects and close every broker connection."""
        for task in list(self._connecting.values()):
            task.cancel()
        await asyncio.gather(*self._connecting.values(), return_exceptions=True)
        brokers, self._brokers = list(self._brokers.values()), {}
        for broker in brokers:
            try:
                await broker.connection.close()
            except Exception as exc:  # noqa: BLE001 - closing is best effort
                log.debug("closing MQ connection failed: %s", exc)

    async def _broker(self, url: str) -> _Broker:
        broker = self._brokers.get(url)
        if broker is not None and broker.connection.is_closed:
            del self._brokers[url]
            broker = None
        if broker is not None:
            if not broker.connection.connected.is_set():
                # The robust connection is reconnecting in the background; fail now rather than
                # stall the outbox for `timeout` on every callback while the broker is away.
                raise CallbackError(f"RabbitMQ broker {redact(url)} is unreachable (reconnecting)")
            return broker
        # Concurrent sends to one broker share a single connect attempt.
        task = self._connecting.get(url)
        if task is None:
            task = asyncio.create_task(self._connect(url), name=f"mq-connect {redact(url)}")
            self._connecting[url] = task
            task.add_done_callback(lambda t: self._connected(url, t))
        return await asyncio.shield(task)

    async def _connect(self, url: str) -> _Broker:
        connection = await aio_pika.connect_robust(
            url, timeout=self.timeout, reconnect_interval=self.reconnect_interval,
            client_properties={"connection_name": "ci-jobs callbacks"})
        try:
            channel = await asyncio.wait_for(
                connection.channel(publisher_confirms=True, on_return_raises=True), self.timeout)
        except BaseException:
            await connection.close()
            raise
        broker = _Broker(connection, channel)
        # A broker that came back may have lost non-durable state (or been replaced): declare again.
        connection.reconnect_callbacks.add(lambda _conn: broker.declared.clear())
        return broker

    def _connected(self, url: str, task: asyncio.Task[_Broker]) -> None:
        self._connecting.pop(url, None)
        if not task.cancelled() and task.exception() is None:
            self._brokers[url] = task.result()

    async def _declare(self, broker: _Broker, mode: str, name: str) -> AbstractExchange:
        """The exchange to publish to, declaring the queue / topic exchange the first time."""
        exchange = broker.declared.get((mode, name))
        if exchange is not None:
            return exchange
        # Declare on a channel of its own: a refused declaration (a queue of that name that is not
        # durable, an exchange of another type) closes its channel, and must not break the shared one.
        async with broker.connection.channel(publisher_confirms=False) as channel:
            if mode == QUEUE:
                await channel.declare_queue(name, durable=True, robust=False)
            else:
                await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True, robust=False)
        exchange = (broker.channel.default_exchange if mode == QUEUE
                    else await broker.channel.get_exchange(name, ensure=False))
        broker.declared[(mode, name)] = exchange
        return exchange

    def _forget(self, url: str, mode: str, name: str) -> None:
        broker = self._brokers.get(url)
        if broker is not None:
            broker.declared.pop((mode, name), None)
