"""TaskNotifyConfig: URL notifications from the outbox (Finish and Change, signed, to a listener down at first),
MQ notifications on RabbitMQ, ParseNotification of what was sent; SessionId dedup and SessionContext echo."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.mps.v20190612 import models, mps_client

from ci_jobs.config import MqSettings
from ci_jobs.server import create_app

from ..conftest import make_settings
from ..harness import ServerThread
from ..listener import Listener
from ..notify.test_mq import AMQP_URL, _reachable
from ..services import missing
from .conftest import cos_input, detail, mps, process, request, wait_finish

SHOT = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.2s"]}]}
TWO = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.2s", "0.7s", "0.8s"]}]}


def bodies(listener: Listener) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in listener.received]


def test_finish_notification_reaches_a_listener_down_at_first(client: mps_client.MpsClient, clip: str) -> None:
    listener = Listener()  # not listening yet: the first deliveries are refused and retried from the outbox
    task_id = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/notify/", "MediaProcessTask": TWO,
                               "SessionContext": "ctx-finish",
                               "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": listener.url,
                                                    "NotifyKey": "secret-key"}})
    wait_finish(client, task_id)
    listener.start()
    try:
        listener.wait(1)
        (event,) = bodies(listener)
        assert listener.received[0]["content_type"] == "application/json"
        assert event["EventType"] == "WorkflowTask" and event["SessionContext"] == "ctx-finish"
        wf = event["WorkflowTaskEvent"]
        assert wf["TaskId"] == task_id and wf["Status"] == "FINISH"
        assert [r["SnapshotByTimeOffsetTask"]["Status"] for r in wf["MediaProcessResultSet"]] == ["SUCCESS"]
        assert event["Timestamp"] > time.time()
        assert event["Sign"] == hashlib.md5(f"{event['Timestamp']}secret-key".encode()).hexdigest()
        # ParseNotification reads it back through the SDK's own model
        parsed = client.ParseNotification(request(models.ParseNotificationRequest,
                                                  {"Content": listener.received[0]["body"].decode()}))
        assert parsed.EventType == "WorkflowTask" and parsed.WorkflowTaskEvent.TaskId == task_id
        assert parsed.Sign == event["Sign"] and parsed.SessionContext == "ctx-finish"
        # one FINISH per task: a second task's notification comes after, and nothing more of the first
        second = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/notify2/", "MediaProcessTask": SHOT,
                                  "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": listener.url}})
        listener.wait(2)
        assert [b["WorkflowTaskEvent"]["TaskId"] for b in bodies(listener)] == [task_id, second]
    finally:
        listener.stop()


def test_change_mode_sends_processing_events_and_one_finish(client: mps_client.MpsClient, clip: str) -> None:
    listener = Listener().start()
    try:
        task_id = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/change/",
                                   "MediaProcessTask": {**TWO, "SampleSnapshotTaskSet": [{"Definition": 10}]},
                                   "TaskNotifyConfig": {"NotifyType": "URL", "NotifyMode": "Change",
                                                        "NotifyUrl": listener.url}})
        wait_finish(client, task_id)
        deadline = time.monotonic() + 30
        while not any(b["WorkflowTaskEvent"]["Status"] == "FINISH" for b in bodies(listener)):
            assert time.monotonic() < deadline, bodies(listener)
            time.sleep(0.05)
        statuses = [b["WorkflowTaskEvent"]["Status"] for b in bodies(listener)]
        assert statuses.count("FINISH") == 1 and set(statuses) <= {"PROCESSING", "FINISH"}
        resp = detail(client, task_id)
        assert resp.TaskNotifyConfig.NotifyMode == "Change" and resp.TaskNotifyConfig.NotifyType == "URL"
    finally:
        listener.stop()


def test_session_id_dedups_and_context_is_echoed(client: mps_client.MpsClient, clip: str) -> None:
    body = {"InputInfo": cos_input(clip), "OutputDir": "/mps/session/", "MediaProcessTask": SHOT,
            "SessionId": f"order-{time.time_ns()}"}
    first = process(client, {**body, "SessionContext": "one"})
    second = process(client, {**body, "SessionContext": "two"})  # another body: not a replayed signature
    assert second == first
    other = process(client, {**body, "SessionId": body["SessionId"] + "-b"})
    assert other != first
    resp = wait_finish(client, first)
    assert resp.SessionId == body["SessionId"] and resp.SessionContext == "one"


@pytest.fixture(scope="module")
def mq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    if not _reachable(AMQP_URL):
        missing(f"RabbitMQ at {AMQP_URL}")  # skips loudly; fails under CI
    data = tmp_path_factory.mktemp("mpsmq")
    (data / "queues").mkdir()
    settings = dataclasses.replace(make_settings(data), mq=MqSettings(url=AMQP_URL))
    srv = ServerThread(lambda: create_app(settings)).start()
    yield srv
    srv.stop()


def test_tdmq_cmq_queue_notification_is_a_rabbitmq_message(mq_server: ServerThread, tmp_path: Path) -> None:
    import aio_pika  # noqa: PLC0415 - only where a broker is up

    from ..conftest import BUCKET, clip_bytes, sdk  # noqa: PLC0415

    sdk(mq_server.port).put_object(Bucket=BUCKET, Key="mq/clip.mp4",
                                   Body=clip_bytes(tmp_path / "c.mp4", seconds=1.0, size="160x120"))
    queue = f"mps-test-{time.time_ns()}"
    client = mps(mq_server.port)
    task_id = process(client, {"InputInfo": cos_input("mq/clip.mp4"), "OutputDir": "/mq/out/", "MediaProcessTask": SHOT,
                               "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "CmqModel": "Queue",
                                                    "QueueName": queue, "NotifyKey": "k"}})
    wait_finish(client, task_id)

    async def consume() -> dict[str, Any]:
        conn = await aio_pika.connect(AMQP_URL)
        async with conn:
            channel = await conn.channel()
            q = await channel.declare_queue(queue, durable=True)
            deadline = time.monotonic() + 30
            while True:
                message = await q.get(fail=False)
                if message is not None:
                    await message.ack()
                    await q.delete(if_unused=False, if_empty=False)
                    return dict(json.loads(message.body))
                assert time.monotonic() < deadline, "no MQ notification"
                await asyncio.sleep(0.1)

    event = asyncio.run(consume())
    assert event["WorkflowTaskEvent"]["TaskId"] == task_id and event["WorkflowTaskEvent"]["Status"] == "FINISH"
    assert event["Sign"] == hashlib.md5(f"{event['Timestamp']}k".encode()).hexdigest()
