"""How jobs and queues look on the wire: JobsDetail and QueueList dicts, shared by API and callbacks."""

from __future__ import annotations

import copy
import json
from typing import Any

from ... import tags, xmlio
from ...app.templates import parameters
from ...domain.results import JobResult, StoredObject
from ...ids import fmt_time
from ...presets import OFFICIAL
from ...store import JobRecord, JobState, QueueRecord, TemplateRecord

QUEUE_TYPES = {"Transcoding": "Transcoding", "SpeedTranscoding": "SpeedTranscoding"}


def job_detail(job: JobRecord) -> dict[str, Any]:
    """The JobsDetail element of a job: the request echo plus state, times and results."""
    spec = job.spec
    operation = spec.get("Operation", {})
    if job.result:
        operation = copy.deepcopy(operation)
        for key, value in result_containers(job).items():
            echoed = operation.get(key)
            # a data result beside the request's own container of that name (DigitalWatermark) adds to it
            operation[key] = {**echoed, **value} if isinstance(echoed, dict) and isinstance(value, dict) else value
    detail: dict[str, Any] = {
        "Code": job.code if job.state in (JobState.FAILED, JobState.CANCEL) else "Success",
        "Message": job.message if job.state in (JobState.FAILED, JobState.CANCEL) else "",
        "JobId": job.job_id,
        "Tag": job.tag,
        "State": job.state,
        "Progress": str(100 if job.state == JobState.SUCCESS else job.progress),
        "CreationTime": fmt_time(job.created),
        "StartTime": fmt_time(job.started),
        "EndTime": fmt_time(job.ended),
        "QueueId": job.queue_id,
        "QueueType": spec.get("QueueType") or "Transcoding",
    }
    if "Input" in spec:
        detail["Input"] = spec["Input"]
    detail["Operation"] = operation
    if spec.get("Workflow"):
        detail["Workflow"] = spec["Workflow"]
    return detail


def result_containers(job: JobRecord) -> dict[str, Any]:
    """CI's containers for what a successful job produced: MediaInfo, MediaResult.OutputFile, data."""
    if not job.result or not JobResult.is_stored_form(job.result):
        return dict(job.result or {})  # stored in CI's shape by an earlier version
    result = JobResult.from_json(job.result)
    spec = tags.REGISTRY.get(job.tag)
    out: dict[str, Any] = {}
    if result.media_info:
        out["MediaInfo"] = result.media_info
    if spec is not None and spec.data_container and result.data:
        out[spec.data_container] = result.data
    if not result.outputs:
        if spec is None or spec.empty_result:
            out["MediaResult"] = {"OutputFile": {}}
        return out
    output_file: dict[str, Any] = {}
    for name, role in (spec.roles if spec is not None else {}).items():
        objects = result.outputs.get(name)
        if not objects or role.beside:
            continue
        if role.result_field:
            output_file[role.result_field] = _output_file(objects)
        else:
            output_file = {**_output_file(objects), **output_file}
    out["MediaResult"] = {"OutputFile": output_file}
    return out


def _output_file(objects: tuple[StoredObject, ...]) -> dict[str, Any]:
    many = len(objects) > 1
    names = [o.key for o in objects]
    md5s = [{"ObjectName": o.key, "Md5": o.etag} for o in objects]
    return {"Bucket": objects[0].bucket, "Region": objects[0].region, "ObjectName": names if many else names[0],
            "ObjectPrefix": "", "Md5Info": md5s if many else md5s[0]}


def template_detail(t: TemplateRecord) -> dict[str, Any]:
    """The Template / TemplateList element of a template."""
    kind = tags.TEMPLATE_KINDS[t.tag]
    body = t.params.get(kind.response, t.params.get(kind.params[0])) if kind.wrapped else parameters(t.params)
    return {"TemplateId": t.template_id, "Name": t.name, "Tag": t.tag, "BucketId": t.bucket,
            "Category": "Official" if t.template_id in OFFICIAL else "Custom",
            "CreateTime": fmt_time(t.created), "UpdateTime": fmt_time(t.updated),
            kind.response: body}


def queue_detail(q: QueueRecord) -> dict[str, Any]:
    """One QueueList / Queue element."""
    notify = {"Url": "", "Event": "", "Type": "", "State": "Off", "ResultFormat": "", "MqMode": "",
              "MqName": "", "MqRegion": ""}
    notify.update({k: v for k, v in q.notify.items() if isinstance(v, str)})
    return {
        "QueueId": q.queue_id,
        "Name": q.name,
        "State": q.state,
        "NotifyConfig": notify,
        "MaxSize": str(q.max_size),
        "MaxConcurrent": str(q.max_concurrent),
        "UpdateTime": fmt_time(q.updated),
        "CreateTime": fmt_time(q.created),
        "Category": q.category,
        "BucketId": q.bucket,
    }


ALWAYS_LISTS = frozenset({"ObjectName", "Md5Info", "CosHeaders", "Workflow", "Tasks"})


def to_json_shape(value: Any, key: str = "") -> Any:
    """CI's JSON callback shape: every leaf a string; repeatable fields always arrays."""
    if key in ALWAYS_LISTS and not isinstance(value, list):
        return [] if value in (None, "") else [to_json_shape(value)]
    if isinstance(value, dict):
        return {k: to_json_shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_shape(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def task_finish(job: JobRecord, fmt: str) -> tuple[bytes, str]:
    """CI's TaskFinish callback body for a finished job: XML under <Response>, or the JSON shape."""
    event = {"EventName": "TaskFinish", "JobsDetail": job_detail(job)}
    if fmt == "JSON":
        return json.dumps(to_json_shape(event), ensure_ascii=False).encode(), "application/json"
    return xmlio.dumps("Response", event), "application/xml"
