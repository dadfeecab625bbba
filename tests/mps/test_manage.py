"""ManageTask Abort through the cancel use case, DescribeMediaMetaData via the synchronous pool, the input's MetaData
in DescribeTaskDetail."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import models, mps_client

from ci_jobs.app.requests import QueueUpdate
from ci_jobs.server import NODE

from ..harness import ServerThread
from ..listener import Listener
from .conftest import cos_input, process, request, wait_finish

SHOT = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.2s"]}],
        "SampleSnapshotTaskSet": [{"Definition": 10}]}


def set_default_queue(server: ServerThread, state: str) -> None:
    """Pause or resume the demo bucket's default queue (through the queue use case, on the server's loop)."""
    assert server.app is not None
    node = server.app[NODE]

    async def change() -> None:
        bucket = node.settings.buckets[0]
        queue = (await node.service.queues.describe(bucket, {})).queues[0]
        await node.service.queues.update(bucket, queue.queue_id, QueueUpdate(queue.name, state, {}))

    asyncio.run_coroutine_threadsafe(change(), server.loop).result(10)


def manage(client: mps_client.MpsClient, params: dict[str, Any]) -> Any:
    return client.ManageTask(request(models.ManageTaskRequest, params))


def test_abort_cancels_the_tasks_jobs_and_notifies(mps_server: ServerThread, client: mps_client.MpsClient,
                                                    clip: str) -> None:
    listener = Listener().start()
    set_default_queue(mps_server, "Paused")
    try:
        task_id = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/abort/", "MediaProcessTask": SHOT,
                                   "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": listener.url}})
        manage(client, {"OperationType": "Abort", "TaskId": task_id})
        resp = wait_finish(client, task_id)
        for r in resp.WorkflowTask.MediaProcessResultSet:
            sub = r.SnapshotByTimeOffsetTask or r.SampleSnapshotTask
            assert (sub.Status, sub.ErrCodeExt) == ("FAIL", "Cancel")
        assert resp.WorkflowTask.MetaData is None  # the input is described by the job that processes it: none ran
        listener.wait(1)
        event = json.loads(listener.received[0]["body"])
        assert event["WorkflowTaskEvent"]["TaskId"] == task_id and event["WorkflowTaskEvent"]["Status"] == "FINISH"
        # (a trailing space makes it another body: the same one signed in the same second is a replay)
        for params, code in (({"OperationType": "Abort", "TaskId": task_id + " "},
                               "InvalidParameterValue.NotProcessingTask"),
                             ({"OperationType": "Pause", "TaskId": task_id}, "InvalidParameterValue.OperationType")):
            with pytest.raises(TencentCloudSDKException) as info:
                manage(client, params)
            assert info.value.get_code() == code
    finally:
        set_default_queue(mps_server, "Active")
        listener.stop()


def test_describe_media_meta_data_and_the_tasks_meta_data(client: mps_client.MpsClient, clip: str) -> None:
    meta = client.DescribeMediaMetaData(request(models.DescribeMediaMetaDataRequest,
                                                {"InputInfo": cos_input(clip)})).MetaData
    assert (meta.Width, meta.Height) == (160, 120) and meta.Duration == pytest.approx(1.0, abs=0.15)
    assert meta.Size > 0 and meta.Bitrate > 0 and "mp4" in meta.Container
    assert meta.VideoStreamSet[0].Codec == "h264" and meta.AudioStreamSet[0].Codec == "aac"
    assert meta.AudioStreamSet[0].SamplingRate > 0 and meta.VideoDuration > 0
    task_id = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/meta/", "MediaProcessTask": SHOT})
    task = wait_finish(client, task_id).WorkflowTask
    assert (task.MetaData.Width, task.MetaData.Height) == (160, 120)
    skipped = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/meta2/", "MediaProcessTask": SHOT,
                               "SkipMateData": 1})
    assert wait_finish(client, skipped).WorkflowTask.MetaData is None
    with pytest.raises(TencentCloudSDKException) as info:
        client.DescribeMediaMetaData(request(models.DescribeMediaMetaDataRequest,
                                             {"InputInfo": cos_input("mps/in/missing.mp4")}))
    assert info.value.get_code().startswith("ResourceNotFound")


def test_parse_notification_refuses_what_is_not_one(client: mps_client.MpsClient) -> None:
    for content in ("not json", '{"a": 1}', '{"EventType": "WorkflowTask", "WorkflowTaskEvent": "str"}',
                    '{"EventType": "WorkflowTask", "WorkflowTaskEvent": [1, 2]}',
                    '{"EventType": "WorkflowTask", "WorkflowTaskEvent": {}, "Timestamp": "soon"}',
                    '{"EventType": "WorkflowTask", "SessionContext": {"a": 1}}', "[" * 100_000 + "]" * 100_000):
        with pytest.raises(TencentCloudSDKException) as info:
            client.ParseNotification(request(models.ParseNotificationRequest, {"Content": content}))
        assert info.value.get_code() == "InvalidParameterValue.InvalidContent"
