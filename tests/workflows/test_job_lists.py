"""GET /jobs filtered by the workflow or the batch job that made the jobs (`workflowId`,
`inventoryTriggerJobId`, reference: platform §jobs list), and a batch's JobLevel checked as POST /jobs
checks it. The Python SDK sends neither filter (the Go SDK does): they are signed raw GETs here."""

from __future__ import annotations

import re
import time

import pytest
import requests
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ..conftest import BUCKET, REGION
from ..harness import ServerThread
from ..signing import signed
from .conftest import queue_id, wait_execution, wait_executions, workflow_body

HOST = f"{BUCKET}.ci.{REGION}.myqcloud.com"


def listed(server: ServerThread, **params: str) -> list[str]:
    """The JobIds of GET /jobs?tag=MediaInfo&size=100 with `params`."""
    resp = requests.get(f"http://127.0.0.1:{server.port}/jobs", headers=signed("GET", "/jobs", HOST), timeout=30,
                        params={"tag": "MediaInfo", "size": "100", **params})
    assert resp.status_code == 200, resp.text
    return re.findall(r"<JobId>(j[0-9a-f]+)</JobId>", resp.text)


def wait_batch(client: CosS3Client, batch_id: str, submitted: int) -> None:
    deadline = time.monotonic() + 30
    while int(client.ci_get_inventory_trigger_jobs(Bucket=BUCKET, JobID=batch_id)["JobsDetail"][0]["Counts"]
              ["Submitted"]) < submitted:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_jobs_listed_by_workflow_and_by_batch(wf: CosS3Client, wf_server: ServerThread, small_clip: bytes) -> None:
    wf.put_object(Bucket=BUCKET, Key="lists/alone.mp4", Body=small_clip)
    alone = wf.ci_create_media_jobs(Bucket=BUCKET, Jobs={"Tag": "MediaInfo", "Input": {"Object": "lists/alone.mp4"},
                                                          "Operation": {}})["JobsDetail"][0]["JobId"]
    body = workflow_body("lists-1", queue_id(wf), "lists/wf/", {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                         {"MediaInfo_1": {"Type": "MediaInfo", "Operation": {}}})
    workflow_id = wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"]
    wf.put_object(Bucket=BUCKET, Key="lists/wf/a.mp4", Body=small_clip)
    run = wait_executions(wf, workflow_id, 1)[0]
    tasks = wait_execution(wf, run["RunId"])["Tasks"]
    flow_job = (tasks if isinstance(tasks, dict) else tasks[0])["JobId"]  # one task: the SDK gives a dict
    for i in range(2):
        wf.put_object(Bucket=BUCKET, Key=f"lists/batch/{i}.mp4", Body=small_clip)
    batch_id = wf.ci_create_inventory_trigger_jobs(Bucket=BUCKET, JobBody={
        "Name": "lists", "Type": "Job", "Input": {"Prefix": "lists/batch/"},
        "Operation": {"Tag": "MediaInfo", "JobParam": {}, "QueueId": queue_id(wf)}})["JobsDetail"][0]["JobId"]
    wait_batch(wf, batch_id, 2)

    everything = listed(wf_server)
    assert alone in everything and flow_job in everything
    assert listed(wf_server, workflowId=workflow_id) == [flow_job]
    by_batch = listed(wf_server, inventoryTriggerJobId=batch_id)
    assert len(by_batch) == 2 and alone not in by_batch and flow_job not in by_batch
    assert set(by_batch) < set(everything)
    assert listed(wf_server, workflowId="w" + "0" * 32) == []
    assert listed(wf_server, inventoryTriggerJobId="b" + "0" * 32) == []
    assert listed(wf_server, workflowId=workflow_id, inventoryTriggerJobId=batch_id) == []


@pytest.mark.parametrize("level", ["abc", "7", "-1", "1.5"])
def test_a_batch_jobs_joblevel_is_checked(wf: CosS3Client, level: str) -> None:
    body = {"Name": "level", "Type": "Job", "Input": {"Object": "lists/alone.mp4"},
            "Operation": {"Tag": "MediaInfo", "JobParam": {}, "QueueId": queue_id(wf), "JobLevel": level}}
    with pytest.raises(CosServiceError) as err:
        wf.ci_create_inventory_trigger_jobs(Bucket=BUCKET, JobBody=body)
    assert err.value.get_status_code() == 400 and err.value.get_error_code() == "InvalidArgument"
    assert "JobLevel" in err.value.get_error_msg()


def test_a_template_a_workflow_uses_cannot_be_deleted(wf: CosS3Client) -> None:
    """Deleting it would fail every later execution ('template does not exist'): refused while a workflow
    (Active or Paused) names it, allowed once the workflow is gone."""
    template_id = wf.ci_create_template(Bucket=BUCKET, Template={
        "Tag": "Snapshot", "Name": "in-use", "Snapshot": {"Mode": "Interval", "Count": "1"}})["Template"]["TemplateId"]
    body = workflow_body("uses-template", queue_id(wf), "inuse/", {"Start": "Snapshot_1", "Snapshot_1": "End"},
                         {"Snapshot_1": {"Type": "Snapshot", "Operation": {
                             "TemplateId": template_id,
                             "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "inuse/out/${Number}.jpg"}}}},
                         state="Paused")
    workflow_id = wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"]
    with pytest.raises(CosServiceError) as err:
        wf.ci_delete_template(Bucket=BUCKET, TemplateId=template_id)
    assert err.value.get_error_code() == "InvalidArgument" and workflow_id in err.value.get_error_msg()
    assert wf.ci_get_template(Bucket=BUCKET, Ids=template_id)["TemplateList"][0]["TemplateId"] == template_id
    wf.ci_delete_workflow(Bucket=BUCKET, WorkflowId=workflow_id)
    wf.ci_delete_template(Bucket=BUCKET, TemplateId=template_id)
