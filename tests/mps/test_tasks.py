"""DescribeTasks through the SDK: only MPS tasks, newest first, Status and failure filters, ScrollToken paging."""

from __future__ import annotations

from typing import Any

import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import models, mps_client

from ..conftest import BUCKET, job_body, output
from .conftest import cos_input, detail, process, request, wait_finish


def describe(client: mps_client.MpsClient, **params: Any) -> models.DescribeTasksResponse:
    return client.DescribeTasks(request(models.DescribeTasksRequest, params))


@pytest.fixture(scope="module")
def finished(client: mps_client.MpsClient, cos: CosS3Client, clip: str) -> list[str]:
    """Three finished MPS tasks (the last one failed) and one CI request between them; their ids, oldest first."""
    ok = {"InputInfo": cos_input(clip), "MediaProcessTask": {"SampleSnapshotTaskSet": [{"Definition": 10}]}}
    # Identical calls within one second would carry one signature, and the second would be refused as a replay.
    first = process(client, {**ok, "SessionContext": "first"})
    cos.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Snapshot", clip, {
        "Snapshot": {"Mode": "Interval", "Count": "1"}, "Output": output("mps/ci/s-${Number}.jpg")}))
    second = process(client, {**ok, "SessionContext": "second"})
    failed = process(client, {"InputInfo": cos_input("mps/in/gone.mp4"),
                              "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 1010}]}})
    for task_id in (first, second, failed):
        wait_finish(client, task_id)
    return [first, second, failed]


def test_pages_newest_first_with_scroll_token(client: mps_client.MpsClient, finished: list[str]) -> None:
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        resp = describe(client, Limit=1, ScrollToken=token) if token else describe(client, Limit=1)
        assert len(resp.TaskSet) <= 1
        seen.extend(t.TaskId for t in resp.TaskSet)
        pages += 1
        token = resp.ScrollToken
        if not token:
            break
    assert seen[:3] == finished[::-1]  # newest first; the CI request in between is not an MPS task
    assert len(seen) == len(set(seen)) == resp.TotalCount and pages == len(seen)
    info = describe(client, Limit=3).TaskSet[0]
    assert info.TaskType == "WorkflowTask" and info.SubTaskTypes == ["Transcode"]
    assert info.FinishTime.endswith("Z") and info.FinishTime != "0000-00-00T00:00:00Z"


def test_status_and_failure_filters(client: mps_client.MpsClient, finished: list[str]) -> None:
    done = {t.TaskId for t in describe(client, Status="FINISH", Limit=100).TaskSet}
    assert set(finished) <= done
    assert describe(client, Status="WAITING", Limit=100).TaskSet == [] or all(
        detail(client, t.TaskId).Status == "WAITING" for t in describe(client, Status="WAITING").TaskSet)
    failed = {t.TaskId for t in describe(client, SubTaskHasFailed=True, Limit=100).TaskSet}
    assert finished[2] in failed and not failed & set(finished[:2])
    clean = {t.TaskId for t in describe(client, SubTaskHasFailed=False, Limit=100).TaskSet}
    assert set(finished[:2]) <= clean and finished[2] not in clean


def test_bad_filters(client: mps_client.MpsClient) -> None:
    for params, code in (({"Status": "DONE"}, "InvalidParameterValue.Status"),
                         ({"Limit": 101}, "InvalidParameterValue.Limit"),
                         ({"ScrollToken": "!!"}, "InvalidParameterValue")):
        with pytest.raises(TencentCloudSDKException) as info:
            describe(client, **params)
        assert info.value.get_code() == code
