"""Job callbacks in XML and JSON, queue NotifyConfig, retries to a listener that is down at first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, job_body, wait_job
from .listener import Listener
from .test_jobs_api import queue_by_name, submit


@pytest.fixture(scope="module")
def media(client: CosS3Client, clip: bytes) -> str:
    client.put_object(Bucket=BUCKET, Key="cb/in.mp4", Body=clip)
    return "cb/in.mp4"


def test_xml_callback(client: CosS3Client, media: str) -> None:
    listener = Listener().start()
    try:
        job = submit(client, job_body("MediaInfo", media, {"UserData": "u1"}, CallBack=listener.url))
        wait_job(client, job["JobId"])
        got = listener.wait(1)[0]
        assert got["content_type"].startswith("application/xml")
        root = etree.fromstring(got["body"])
        assert root.tag == "Response" and root.findtext("EventName") == "TaskFinish"
        assert root.findtext("JobsDetail/JobId") == job["JobId"]
        assert root.findtext("JobsDetail/State") == "Success"
        assert root.findtext("JobsDetail/Operation/UserData") == "u1"
        assert root.find("JobsDetail/Operation/MediaInfo/Format") is not None
    finally:
        listener.stop()


def test_json_callback_to_listener_down_at_first(client: CosS3Client, media: str) -> None:
    listener = Listener()  # not started: the first deliveries are refused
    job = submit(client, job_body("MediaInfo", media, {}, CallBack=listener.url, CallBackFormat="JSON"))
    wait_job(client, job["JobId"])
    listener.start()
    try:
        got = listener.wait(1, timeout=30)[0]
        body: dict[str, Any] = json.loads(got["body"])
        assert got["content_type"].startswith("application/json")
        assert body["EventName"] == "TaskFinish"
        assert body["JobsDetail"]["JobId"] == job["JobId"] and body["JobsDetail"]["Progress"] == "100"
    finally:
        listener.stop()


def test_queue_notify_config_and_no(client: CosS3Client, media: str) -> None:
    listener = Listener().start()
    q = queue_by_name(client, "queue-1")
    notify = {"State": "On", "Type": "Url", "Url": listener.url, "Event": "TaskFinish", "ResultFormat": "JSON"}
    client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                 Request={"Name": "queue-1", "State": "Active", "NotifyConfig": notify})
    try:
        silent = submit(client, job_body("MediaInfo", media, {}, CallBack="no"))
        loud = submit(client, job_body("MediaInfo", media, {}))
        wait_job(client, silent["JobId"])
        wait_job(client, loud["JobId"])
        got = listener.wait(1)
        ids = [json.loads(g["body"])["JobsDetail"]["JobId"] for g in got]
        assert loud["JobId"] in ids and silent["JobId"] not in ids
        listed = queue_by_name(client, "queue-1")
        assert listed["NotifyConfig"]["Url"] == listener.url and listed["NotifyConfig"]["State"] == "On"
    finally:
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                     Request={"Name": "queue-1", "State": "Active",
                                              "NotifyConfig": {"State": "Off"}})
        listener.stop()


def test_link_local_callback_refused(client: CosS3Client, media: str) -> None:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
            "MediaInfo", media, {}, CallBack="http://169.254.169.254/latest/meta-data"))
    assert err.value.get_error_code() == "InvalidArgument" and "link-local" in err.value.get_error_msg()


@pytest.mark.parametrize(("notify", "named"), [
    ({"State": "On", "Type": "Url", "Url": "http://example.com/cb", "Event": "Nope"}, "Event Nope"),
    ({"State": "On", "Type": "Url", "Url": "http://example.com/cb", "Event": "TaskFinish,"}, None),
    ({"State": "On", "Type": "Url", "Url": "http://example.com/cb", "Event": "TaskFinish",
      "KafkaConfig": {"Topic": "t"}}, "KafkaConfig"),
    ({"State": "On", "Type": "TDMQ", "MqName": "q", "MqRegion": "gz", "Event": "TaskFinish"},
     "no message broker is configured"),
])
def test_queue_notify_config_that_could_never_call_back_is_refused(client: CosS3Client, notify: dict[str, Any],
                                                                   named: str | None) -> None:
    """An Event that is none of TaskFinish/WorkflowFinish/WorkflowStart, a field this server does not send,
    or a TDMQ target with no broker configured ([mq]): stored, the queue would never call back."""
    q = queue_by_name(client, "queue-1")
    request = {"Name": "queue-1", "State": "Active", "NotifyConfig": notify}
    if named is None:  # a trailing comma is only a comma list's end: accepted, then switched off again
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"], Request=request)
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                     Request={"Name": "queue-1", "State": "Active", "NotifyConfig": {"State": "Off"}})
        return
    with pytest.raises(CosServiceError) as err:
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"], Request=request)
    assert err.value.get_error_code() == "InvalidArgument" and named in err.value.get_error_msg()
    assert queue_by_name(client, "queue-1")["NotifyConfig"].get("State") != "On"


def test_tdmq_job_callback_without_a_broker_is_refused(client: CosS3Client, media: str) -> None:
    body = job_body("MediaInfo", media, {}, CallBackType="TDMQ",
                    CallBackMqConfig={"MqMode": "Queue", "MqRegion": "gz", "MqName": "q"})
    with pytest.raises(CosServiceError) as err:
        submit(client, body)
    assert err.value.get_error_code() == "InvalidArgument" and "no message broker" in err.value.get_error_msg()
