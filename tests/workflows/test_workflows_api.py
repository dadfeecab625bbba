"""Workflows through the official SDK: create/update/activate/pause/query/delete with their checks, uploads
(put_object and multipart upload_file) that start executions, a fan-out + join run in order with every
node's output decoded, a failing node that fails its execution, callbacks, executions listed and read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ..conftest import BUCKET
from ..listener import Listener
from .conftest import decode, executions, out, queue_id, wait_execution, wait_executions, workflow_body

TRANSCODE = {"Type": "Transcode", "Operation": {
    "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "128", "Preset": "veryfast"},
                  "Audio": {"Codec": "aac"}},
    "Output": out("wfout/${RunId}/${InputName}-small.${Ext}")}}
SNAPSHOT = {"Type": "Snapshot", "Operation": {
    "Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "0.5", "Count": "2", "Width": "128"},
    "Output": out("wfout/${RunId}/${InputNameAndExt}-snap-${Number}.jpg")}}
MEDIAINFO = {"Type": "MediaInfo", "Operation": {}}


def join_workflow(client: CosS3Client, name: str, prefix: str, **start: Any) -> str:
    body = workflow_body(name, queue_id(client), prefix,
                         {"Start": "Transcode_1,Snapshot_1", "Transcode_1": "MediaInfo_1", "Snapshot_1": "MediaInfo_1",
                          "MediaInfo_1": "End"},
                         {"Transcode_1": TRANSCODE, "Snapshot_1": SNAPSHOT, "MediaInfo_1": MEDIAINFO}, **start)
    return str(client.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"])


def refused(client: CosS3Client, body: dict[str, Any]) -> str:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_workflow(Bucket=BUCKET, Body=body)
    assert err.value.get_error_code() == "InvalidArgument"
    return str(err.value.get_error_msg())


def test_crud_and_state(wf: CosS3Client) -> None:
    q = queue_id(wf)
    body = workflow_body("crud-1", q, "crud/", {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                         {"MediaInfo_1": MEDIAINFO}, state="Paused")
    made = wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]
    wid = made["WorkflowId"]
    assert wid.startswith("w") and len(wid) == 33 and made["State"] == "Paused"
    assert made["Topology"]["Dependencies"] == {"Start": "MediaInfo_1", "MediaInfo_1": "End"}
    assert made["Topology"]["Nodes"]["Start"]["Input"]["ObjectPrefix"] == "crud/"
    got = wf.ci_get_workflow(Bucket=BUCKET, Ids=f"{wid},w{'0' * 32}")
    assert [w["WorkflowId"] for w in got["MediaWorkflowList"]] == [wid] and got["NonExistIDs"] == f"w{'0' * 32}"
    assert wf.ci_get_workflow(Bucket=BUCKET, Name="crud-")["TotalCount"] == "1"
    wf.ci_update_workflow_state(Bucket=BUCKET, WorkflowId=wid, UpdateState="active")
    assert wf.ci_get_workflow(Bucket=BUCKET, Ids=wid)["MediaWorkflowList"][0]["State"] == "Active"
    wf.ci_update_workflow_state(Bucket=BUCKET, WorkflowId=wid, UpdateState="paused")
    body["MediaWorkflow"]["Name"] = "crud-2"
    updated = wf.ci_update_workflow(Bucket=BUCKET, WorkflowId=wid, Body=body)["MediaWorkflow"]
    assert updated["Name"] == "crud-2" and updated["WorkflowId"] == wid
    # A paused workflow ignores uploads and refuses a manual trigger.
    wf.put_object(Bucket=BUCKET, Key="crud/a.mp4", Body=b"x")
    assert executions(wf, wid) == []
    with pytest.raises(CosServiceError) as err:
        wf.ci_trigger_workflow(Bucket=BUCKET, WorkflowId=wid, Key="crud/a.mp4")
    assert "Paused" in err.value.get_error_msg()
    assert wf.ci_delete_workflow(Bucket=BUCKET, WorkflowId=wid)["WorkflowId"] == wid
    with pytest.raises(CosServiceError) as err:
        wf.ci_delete_workflow(Bucket=BUCKET, WorkflowId=wid)
    assert err.value.get_status_code() == 404


def test_topology_and_parameters_are_checked(wf: CosS3Client) -> None:
    q = queue_id(wf)

    def body(deps: dict[str, str], nodes: dict[str, Any], **start: Any) -> dict[str, Any]:
        return workflow_body("bad", q, "bad/", deps, nodes, **start)

    assert "Nodes.ImageInspect_1: Type ImageInspect is not supported" in refused(wf, body(
        {"Start": "ImageInspect_1", "ImageInspect_1": "End"}, {"ImageInspect_1": {"Type": "ImageInspect"}}))
    assert "Segment_1 (Segment)" in refused(wf, body(
        {"Start": "Segment_1", "Segment_1": "Transcode_1", "Transcode_1": "End"},
        {"Segment_1": {"Type": "Segment", "Operation": {"Segment": {"Format": "ts", "Duration": "5"},
                                                        "Output": out("s/${Number}.ts")}},
         "Transcode_1": TRANSCODE}))
    assert "cycle" in refused(wf, body({"Start": "Transcode_1", "Transcode_1": "Transcode_2",
                                        "Transcode_2": "Transcode_1"},
                                       {"Transcode_1": TRANSCODE, "Transcode_2": TRANSCODE}))
    assert "Dependencies.MediaInfo_1 is missing" in refused(wf, body({"Start": "MediaInfo_1"},
                                                                    {"MediaInfo_1": MEDIAINFO}))
    assert "names Nope_1" in refused(wf, body({"Start": "Nope_1"}, {}))
    bad_param = {"Type": "Transcode", "Operation": {**TRANSCODE["Operation"], "Transcode": {
        "Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Widht": "96"}}}}
    msg = refused(wf, body({"Start": "Transcode_1", "Transcode_1": "End"}, {"Transcode_1": bad_param}))
    assert "Nodes.Transcode_1" in msg and "Widht" in msg
    no_template = {"Type": "Transcode", "Operation": {"TemplateId": "t1" + "0" * 32, "Output": out("x.mp4")}}
    assert "Nodes.Transcode_1" in refused(wf, body({"Start": "Transcode_1", "Transcode_1": "End"},
                                                   {"Transcode_1": no_template}))
    assert "PicProcessQueueId is not supported" in refused(wf, body(
        {"Start": "MediaInfo_1", "MediaInfo_1": "End"}, {"MediaInfo_1": MEDIAINFO}, PicProcessQueueId=q))
    assert "KafkaConfig" in refused(wf, body({"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                                             {"MediaInfo_1": MEDIAINFO},
                                             NotifyConfig={"Type": "Url", "Url": "http://127.0.0.1/",
                                                           "Event": "TaskFinish", "KafkaConfig": {"Topic": "t"}}))
    assert "ExtFilter.CustomExts" in refused(wf, body({"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                                                      {"MediaInfo_1": MEDIAINFO},
                                                      ExtFilter={"State": "On", "Custom": "true"}))
    assert "QueueId p" in refused(wf, workflow_body("bad", "p" + "0" * 32, "bad/",
                                                    {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
                                                    {"MediaInfo_1": MEDIAINFO}))


def test_put_object_runs_fan_out_and_join_in_order(wf: CosS3Client, small_clip: bytes, listener: Listener,
                                                   tmp_path: Path) -> None:
    notify = {"Type": "Url", "Url": listener.url, "Event": "TaskFinish,WorkflowFinish", "ResultFormat": "XML"}
    wid = join_workflow(wf, "join-1", "join/", NotifyConfig=notify,
                        ExtFilter={"State": "On", "Video": "true"})
    wf.put_object(Bucket=BUCKET, Key="join/skip.txt", Body=b"not a video")  # ExtFilter: no execution
    wf.put_object(Bucket=BUCKET, Key="join/clip.mp4", Body=small_clip)
    run = wait_executions(wf, wid, 1)[0]
    assert run["Object"] == "join/clip.mp4"
    ex = wait_execution(wf, run["RunId"])
    assert ex["State"] == "Success", ex
    tasks = {t["Name"]: t for t in ex["Tasks"]}
    assert set(tasks) == {"Transcode_1", "Snapshot_1", "MediaInfo_1"}
    assert all(t["State"] == "Success" and t["JobId"].startswith("j") for t in tasks.values())
    assert tasks["MediaInfo_1"]["StartTime"] >= max(tasks["Transcode_1"]["EndTime"], tasks["Snapshot_1"]["EndTime"])
    rid = run["RunId"]
    with decode(wf, f"wfout/{rid}/clip-small.mp4", tmp_path) as c:  # ${RunId}, ${InputName}, ${Ext}
        v = c.streams.video[0]
        assert (v.codec_context.name, v.width) == ("h264", 128) and c.streams.audio
    for n in (0, 1):
        with decode(wf, f"wfout/{rid}/clip.mp4-snap-{n}.jpg", tmp_path) as c:
            assert next(c.decode(video=0)).width == 128
    # The join's input is the output of its first parent (Transcode_1): MediaInfo probed the 128-wide file.
    job = wf.ci_get_media_jobs(Bucket=BUCKET, JobIDs=tasks["MediaInfo_1"]["JobId"])["JobsDetail"][0]
    assert job["Input"]["Object"] == f"wfout/{rid}/clip-small.mp4"
    assert job["Workflow"]["RunId"] == rid and job["Workflow"]["Name"] == "MediaInfo_1"
    assert job["Operation"]["MediaInfo"]["Stream"]["Video"]["Width"] == "128"
    # The outputs under the workflow's own prefix? No: they are under wfout/; and job outputs never trigger.
    bodies = [cb["body"].decode() for cb in listener.wait(4)]
    finish = [b for b in bodies if "<EventName>WorkflowFinish</EventName>" in b]
    assert len(finish) == 1 and f"<RunId>{rid}</RunId>" in finish[0] and "<State>Success</State>" in finish[0]
    assert sum("<EventName>TaskFinish</EventName>" in b for b in bodies) == 3
    assert [e["RunId"] for e in executions(wf, wid)] == [rid]  # skip.txt started nothing


def test_outputs_under_own_prefix_do_not_retrigger(wf: CosS3Client, small_clip: bytes) -> None:
    loop = {"Type": "Transcode", "Operation": {**TRANSCODE["Operation"], "Output": out("loop/${InputName}-x.mp4")}}
    body = workflow_body("loop-1", queue_id(wf), "loop/", {"Start": "Transcode_1", "Transcode_1": "End"},
                         {"Transcode_1": loop})
    wid = wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"]
    wf.put_object(Bucket=BUCKET, Key="loop/a.mp4", Body=small_clip)
    ex = wait_execution(wf, wait_executions(wf, wid, 1)[0]["RunId"])
    assert ex["State"] == "Success"
    assert int(wf.head_object(Bucket=BUCKET, Key="loop/a-x.mp4")["Content-Length"]) > 0
    wf.ci_update_workflow_state(Bucket=BUCKET, WorkflowId=wid, UpdateState="paused")
    assert len(executions(wf, wid)) == 1  # loop/a-x.mp4 (the job's own output) started nothing


def test_multipart_upload_and_manual_trigger(wf: CosS3Client, small_clip: bytes, tmp_path: Path) -> None:
    wid = join_workflow(wf, "multi-1", "multi/")
    big = tmp_path / "big.mp4"
    big.write_bytes(small_clip + b"\0" * (2 * 1024 * 1024))  # > PartSize 1 MB: the SDK goes multipart
    wf.upload_file(Bucket=BUCKET, Key="multi/big.mp4", LocalFilePath=str(big), PartSize=1)
    run = wait_executions(wf, wid, 1)[0]
    assert run["Object"] == "multi/big.mp4"
    detail = wf.ci_get_workflowexecution(Bucket=BUCKET, RunId=run["RunId"])["WorkflowExecution"][0]
    headers = {h["Key"]: h["Value"] for h in detail["CosHeaders"]}
    assert headers["EventName"] == "cos:ObjectCreated:CompleteMultipartUpload"
    assert wait_execution(wf, run["RunId"])["State"] == "Success"
    wf.put_object(Bucket=BUCKET, Key="elsewhere/c.mp4", Body=small_clip)
    manual = wf.ci_trigger_workflow(Bucket=BUCKET, WorkflowId=wid, Key="elsewhere/c.mp4")["InstanceId"]
    assert wait_execution(wf, manual)["Object"] == "elsewhere/c.mp4"
    with pytest.raises(CosServiceError) as err:
        wf.ci_trigger_workflow(Bucket=BUCKET, WorkflowId=wid, Key="elsewhere/missing.mp4")
    assert err.value.get_error_code() == "NoSuchKey"
    # List: states, order, paging, time window.
    both = executions(wf, wid)
    assert [e["RunId"] for e in both] == [manual, run["RunId"]]
    asc = executions(wf, wid, OrderByTime="Asc")
    assert [e["RunId"] for e in asc] == [run["RunId"], manual]
    page = wf.ci_list_workflowexecution(Bucket=BUCKET, WorkflowId=wid, Size=1)
    assert page["WorkflowExecutionList"]["RunId"] == manual and page["NextToken"]
    rest = wf.ci_list_workflowexecution(Bucket=BUCKET, WorkflowId=wid, Size=1, NextToken=page["NextToken"])
    assert rest["WorkflowExecutionList"]["RunId"] == run["RunId"]
    assert executions(wf, wid, States="Failed") == []
    assert executions(wf, wid, StartCreationTime="2099-01-01T00:00:00+0800") == []
    assert len(executions(wf, wid, Name="elsewhere/")) == 1


def test_failing_node_fails_its_execution_naming_it(wf: CosS3Client, listener: Listener) -> None:
    notify = {"Type": "Url", "Url": listener.url + "/fail", "Event": "WorkflowFinish", "ResultFormat": "JSON"}
    wid = join_workflow(wf, "fail-1", "fail/", NotifyConfig=notify)
    wf.put_object(Bucket=BUCKET, Key="fail/broken.mp4", Body=b"\0" * 2048)  # not media: every node fails
    ex = wait_execution(wf, wait_executions(wf, wid, 1)[0]["RunId"])
    assert ex["State"] == "Failed"
    assert "node Transcode_1 (Transcode) Failed" in ex["Message"] and "Snapshot_1" in ex["Message"]
    names = {t["Name"]: t["State"] for t in ex["Tasks"]}
    assert names == {"Transcode_1": "Failed", "Snapshot_1": "Failed"}  # MediaInfo_1 skipped: never submitted
    listener.wait(1, timeout=30)
    sent = [json.loads(cb["body"]) for cb in listener.received if cb["path"].endswith("/fail")]
    assert sent and sent[0]["EventName"] == "WorkflowFinish"
    assert sent[0]["WorkflowExecution"]["State"] == "Failed" and isinstance(sent[0]["WorkflowExecution"]["Tasks"], list)
