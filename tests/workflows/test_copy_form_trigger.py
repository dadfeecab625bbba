"""Objects made by PUT Object - Copy and by POST Object (form upload) start the workflows whose prefix matches."""

from __future__ import annotations

import requests
from qcloud_cos import CosS3Client

from ..conftest import BUCKET, REGION
from ..harness import ServerThread
from ..signing import form_fields
from .conftest import executions, queue_id, wait_execution, wait_executions, workflow_body

HOST = f"{BUCKET}.cos.{REGION}.myqcloud.com"


def event_of(client: CosS3Client, run_id: str) -> str:
    detail = client.ci_get_workflowexecution(Bucket=BUCKET, RunId=run_id)["WorkflowExecution"][0]
    return {h["Key"]: h["Value"] for h in detail["CosHeaders"]}["EventName"]  # type: ignore[no-any-return]


def test_copy_and_form_upload_trigger(wf: CosS3Client, wf_server: ServerThread, small_clip: bytes) -> None:
    body = workflow_body("copyform-1", queue_id(wf), "cf/", {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                         {"MediaInfo_1": {"Type": "MediaInfo", "Operation": {}}})
    wid = str(wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"])
    wf.put_object(Bucket=BUCKET, Key="staging/clip.mp4", Body=small_clip)  # outside the prefix: nothing
    wf.copy_object(Bucket=BUCKET, Key="cf/copied.mp4",
                   CopySource={"Bucket": BUCKET, "Key": "staging/clip.mp4", "Region": REGION})
    run = wait_executions(wf, wid, 1)[0]
    assert run["Object"] == "cf/copied.mp4" and event_of(wf, run["RunId"]) == "cos:ObjectCreated:Copy"
    assert wait_execution(wf, run["RunId"])["State"] == "Success"

    fields = form_fields([{"bucket": BUCKET}, ["starts-with", "$key", "cf/"]])
    resp = requests.post(f"http://127.0.0.1:{wf_server.port}/", data={**fields, "key": "cf/${filename}"},
                         files={"file": ("posted.mp4", small_clip, "video/mp4")}, headers={"Host": HOST}, timeout=30)
    assert resp.status_code == 204, resp.text
    posted = [r for r in wait_executions(wf, wid, 2) if r["Object"] == "cf/posted.mp4"]
    assert len(posted) == 1 and event_of(wf, posted[0]["RunId"]) == "cos:ObjectCreated:Post"
    assert wait_execution(wf, posted[0]["RunId"])["State"] == "Success"
    wf.copy_object(Bucket=BUCKET, Key="elsewhere/copied.mp4",
                   CopySource={"Bucket": BUCKET, "Key": "cf/copied.mp4", "Region": REGION})
    assert len(executions(wf, wid)) == 2  # a copy outside the prefix started nothing
