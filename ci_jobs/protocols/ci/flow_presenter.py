"""How workflows, executions and batch jobs look on CI's wire (MediaWorkflow, WorkflowExecution, JobsDetail
of /inventorytriggerjob) and the WorkflowStart/WorkflowFinish callback bodies."""

from __future__ import annotations

import json
from typing import Any

from ... import tags, xmlio
from ...app.batches import BatchView
from ...app.executions import ExecutionView
from ...domain.jobs import FINAL_STATES
from ...domain.results import JobResult
from ...ids import fmt_time
from ...store import JobRecord
from ...store.flows import ExecutionRecord, WorkflowRecord
from .presenter import to_json_shape


def workflow_detail(w: WorkflowRecord) -> dict[str, Any]:
    """One MediaWorkflow / MediaWorkflowList element (the Topology echoed as stored)."""
    return {"Name": w.name, "State": w.state, "WorkflowId": w.workflow_id, "BucketId": w.bucket,
            "CreateTime": fmt_time(w.created), "UpdateTime": fmt_time(w.updated), "Topology": w.topology}


def execution_item(e: ExecutionRecord) -> dict[str, Any]:
    """One WorkflowExecutionList entry (CreateTime, and CreationTime for the Go SDK)."""
    return {"RunId": e.run_id, "WorkflowId": e.workflow_id, "State": e.state, "CreateTime": fmt_time(e.created),
            "CreationTime": fmt_time(e.created), "Object": e.object}


def execution_detail(view: ExecutionView) -> dict[str, Any]:
    """The WorkflowExecution element of GET /workflowexecution/<RunId>."""
    e = view.execution
    out = {"RunId": e.run_id, "WorkflowId": e.workflow_id, "WorkflowName": e.detail.get("WorkflowName", ""),
           "Name": e.detail.get("WorkflowName", ""), "State": e.state, "CreateTime": fmt_time(e.created),
           "EndTime": fmt_time(e.ended), "Object": e.object, "BucketId": e.bucket,
           "CosHeaders": e.detail.get("CosHeaders") or [], "Topology": e.detail.get("Topology", {}),
           "Tasks": _tasks(view)}
    if e.batch_id:
        out["InventoryTriggerJobId"] = e.batch_id
    if e.detail.get("Message"):
        out["Message"] = e.detail["Message"]
    return out


def _tasks(view: ExecutionView) -> list[dict[str, Any]]:
    out = [_task(node.name, node.type, job) for node, job in view.nodes]
    out += [{"Type": "", "JobId": "", "Name": name, "State": "Failed", "CreateTime": "-", "StartTime": "-",
             "EndTime": "-", "Code": "InvalidArgument", "Message": why} for name, why in view.failed.items()]
    return out


def _task(name: str, node_type: str, job: JobRecord) -> dict[str, Any]:
    op = job.spec.get("Operation") or {}
    failed = job.state in FINAL_STATES and job.state != "Success"
    task = {"Type": node_type, "JobId": job.job_id, "Name": name, "State": job.state,
            "CreateTime": fmt_time(job.created), "StartTime": fmt_time(job.started), "EndTime": fmt_time(job.ended),
            "Code": job.code if failed else "Success", "Message": job.message if failed else "",
            "TemplateId": op.get("TemplateId", ""), "TemplateName": op.get("TemplateName", "")}
    info = _result_info(job)
    if info:
        task["ResultInfo"] = info
    return task


def _result_info(job: JobRecord) -> dict[str, Any] | None:
    if not job.result or not JobResult.is_stored_form(job.result):
        return None
    result = JobResult.from_json(job.result)
    spec = tags.REGISTRY.get(job.tag)
    main = [o for role, objs in result.outputs.items() if spec is None or not spec.roles[role].beside for o in objs]
    if not main:
        return None
    return {"ObjectCount": len(main), "ObjectInfo": [
        {"ObjectName": o.key, "InputObjectName": job.input_object, "Code": "Success", "Message": ""} for o in main]}


def workflow_event(view: ExecutionView, event: str, fmt: str) -> tuple[bytes, str]:
    """The WorkflowStart / WorkflowFinish callback body: XML under <Response>, or CI's JSON shape."""
    detail = execution_detail(view)
    del detail["Topology"]
    body = {"EventName": event, "WorkflowExecution": detail}
    if fmt == "JSON":
        return json.dumps(to_json_shape(body), ensure_ascii=False).encode(), "application/json"
    return xmlio.dumps("Response", body), "application/xml"


def batch_detail(view: BatchView) -> dict[str, Any]:
    """One JobsDetail of /inventorytriggerjob: the request echo, state, times and counts."""
    b, counts = view.batch, view.counts
    finished = {s: n for s, n in counts.items() if s in FINAL_STATES}
    return {"Code": "Success", "Message": "", "JobId": b.batch_id, "Name": b.name, "Type": b.kind, "State": b.state,
            "CreationTime": fmt_time(b.created), "StartTime": fmt_time(b.started), "EndTime": fmt_time(b.ended),
            "Input": b.detail.get("Input") or {}, "Operation": b.detail.get("Operation") or {},
            "Counts": {"Found": b.detail.get("Found", 0), "Submitted": b.detail.get("Submitted", 0),
                       "Succeeded": finished.get("Success", 0), "Failed": finished.get("Failed", 0),
                       "Cancelled": finished.get("Cancel", 0),
                       "Waiting": b.detail.get("Submitted", 0) - sum(finished.values())}}
