"""How MPS tasks look on the wire: TaskIds, DescribeTaskDetail's WorkflowTask and DescribeTasks' TaskSimpleInfo,
from a TaskView (the Task, its jobs and its derived state) and the subtasks the codec kept in its detail.

A subtask is PROCESSING until all its jobs are final, then SUCCESS when they all succeeded, else FAIL
with ErrCodeExt = the engine's failure code (InputNotFound, InvalidInput, InvalidArgument,
ProcessCrashed, WorkerLost, Cancel, InternalError) and ErrCode 70000 (MPS's legacy "internal error").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ...app.jobs import TaskView
from ...domain.results import JobResult, StoredObject
from ...domain.tasks import TASK_ID_PREFIX, TaskState
from ...store import JobRecord, JobState

UNSET_TIME = "0000-00-00T00:00:00Z"
FAILED_ERRCODE = 70000
STATUS = {TaskState.WAITING: "WAITING", TaskState.PROCESSING: "PROCESSING", TaskState.FINISHED: "FINISH"}
_TASK_ID = re.compile(r"^(?P<appid>\d+)-WorkflowTask-(?P<hex>[0-9a-f]{32})t0$")
_FINAL = (JobState.SUCCESS, JobState.FAILED, JobState.CANCEL)


def task_id(appid: str, engine_id: str) -> str:
    """MPS's TaskId of an engine Task: `<appid>-WorkflowTask-<32 hex>t0` (the Task's own hex)."""
    return f"{appid}-WorkflowTask-{engine_id.removeprefix(TASK_ID_PREFIX)}t0"


def engine_id(mps_id: str) -> tuple[str, str] | None:
    """(appid, engine Task id) of an MPS TaskId; None when it is not one of ours."""
    m = _TASK_ID.match(mps_id.strip())
    return (m["appid"], TASK_ID_PREFIX + m["hex"]) if m else None


def mps_time(ts: float | None) -> str:
    """ISO 8601 UTC as MPS writes it (`2019-07-01T12:00:00Z`); MPS's zero time when unset."""
    if ts is None:
        return UNSET_TIME
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _begun(jobs: list[JobRecord]) -> float | None:
    times = [j.started for j in jobs if j.started is not None]
    return min(times) if times else None


def _ended(jobs: list[JobRecord]) -> float | None:
    if not jobs or any(j.state not in _FINAL for j in jobs):
        return None
    times = [j.ended for j in jobs if j.ended is not None]
    return max(times) if times else None


def task_detail(view: TaskView, appid: str) -> dict[str, Any]:
    """The DescribeTaskDetail response of an MPS task."""
    detail = view.task.detail
    status = STATUS[view.state]
    out = {
        "TaskType": detail.get("TaskType", "WorkflowTask"), "Status": status,
        "CreateTime": mps_time(view.task.created), "BeginProcessTime": mps_time(_begun(view.jobs)),
        "FinishTime": mps_time(_ended(view.jobs)) if view.state == TaskState.FINISHED else UNSET_TIME,
        "WorkflowTask": workflow_task(view, appid),
        "TasksPriority": detail.get("TasksPriority", 0), "SessionId": detail.get("SessionId", ""),
        "SessionContext": detail.get("SessionContext", ""),
    }
    if detail.get("TaskNotifyConfig"):
        out["TaskNotifyConfig"] = detail["TaskNotifyConfig"]
    return out


def workflow_task(view: TaskView, appid: str) -> dict[str, Any]:
    """The WorkflowTask of a task (DescribeTaskDetail's, and a notification's WorkflowTaskEvent)."""
    detail = view.task.detail
    out = {"TaskId": task_id(appid, view.task.task_id),
           "Status": "FINISH" if view.state == TaskState.FINISHED else "PROCESSING",
           "ErrCode": 0, "Message": "", "InputInfo": detail.get("InputInfo", {}),
           "MediaProcessResultSet": [_result(s, jobs) for s, jobs in subtasks(view) if s["Type"] != QUALITY_CONTROL],
           "AiContentReviewResultSet": [], "AiAnalysisResultSet": [], "AiRecognitionResultSet": []}
    quality = [(s, jobs) for s, jobs in subtasks(view) if s["Type"] == QUALITY_CONTROL]
    if quality:
        out["AiQualityControlTaskResult"] = _quality_control(*quality[0])
    meta = input_meta_data(view)
    if meta:
        out["MetaData"] = meta
    return out


def input_meta_data(view: TaskView) -> dict[str, Any]:
    """The MetaData of the task's input, as the job that processed it described it ({} before it ran, with
    SkipMateData 1, or when the input is not media); tasks submitted by earlier servers keep it in their detail."""
    if view.task.detail.get("MetaData"):
        return dict(view.task.detail["MetaData"])
    for job in view.jobs:
        info = _job_result(job).input_info
        if info:
            return meta_data(info)
    return {}


def notification(view: TaskView, appid: str, timestamp: int, sign: str) -> dict[str, Any]:
    """MPS's event notification of a task (a URL callback's body, an MQ message, ParseNotification's input)."""
    detail = view.task.detail
    return {"EventType": "WorkflowTask", "WorkflowTaskEvent": workflow_task(view, appid),
            "SessionId": detail.get("SessionId", ""), "SessionContext": detail.get("SessionContext", ""),
            "Timestamp": timestamp, "Sign": sign}


def task_simple(view: TaskView, appid: str) -> dict[str, Any]:
    """One TaskSimpleInfo of DescribeTasks."""
    return {"TaskId": task_id(appid, view.task.task_id), "TaskType": view.task.detail.get("TaskType", "WorkflowTask"),
            "CreateTime": mps_time(view.task.created), "BeginProcessTime": mps_time(_begun(view.jobs)),
            "FinishTime": mps_time(_ended(view.jobs)) if view.state == TaskState.FINISHED else UNSET_TIME,
            "SubTaskTypes": sorted({s["Type"] for s, _ in subtasks(view)})}


def subtasks(view: TaskView) -> list[tuple[dict[str, Any], list[JobRecord]]]:
    """Each subtask the codec recorded with its jobs (the task's jobs in order, `Jobs` at a time)."""
    by_id = {j.job_id: j for j in view.jobs}
    out, at = [], 0
    for sub in view.task.detail.get("Subtasks", []):
        ids = view.task.job_ids[at:at + int(sub["Jobs"])]
        at += int(sub["Jobs"])
        out.append((sub, [by_id[i] for i in ids if i in by_id]))
    return out


def subtask_failed(view: TaskView) -> bool:
    """Whether any subtask of the task failed."""
    return any(_status(jobs) == "FAIL" for _, jobs in subtasks(view))


def _status(jobs: list[JobRecord]) -> str:
    if not jobs or any(j.state not in _FINAL for j in jobs):
        return "PROCESSING"
    return "SUCCESS" if all(j.state == JobState.SUCCESS for j in jobs) else "FAIL"


QUALITY_CONTROL = "AiQualityControl"  # the subtask of AiQualityControlTask (codec.py)
# QualityEstimate's finding types that are MPS QualityControlResult Types (its Freeze, a ci-jobs name, is not)
QUALITY_TYPES = ("Jitter", "Blur", "LowLighting", "HighLighting", "SolidColorScreen", "Noise", "Mosaic")


def _quality_control(sub: dict[str, Any], jobs: list[JobRecord]) -> dict[str, Any]:
    """WorkflowTask.AiQualityControlTaskResult (ScheduleQualityControlTaskResult) of the QualityEstimate job."""
    status = _status(jobs)
    failed = next((j for j in jobs if j.state in (JobState.FAILED, JobState.CANCEL)), None)
    body: dict[str, Any] = {"Status": status, "ErrCodeExt": failed.code if failed else "",
                            "ErrCode": FAILED_ERRCODE if failed else 0, "Message": failed.message if failed else "",
                            "Input": sub["Input"], "Progress": 100 if status != "PROCESSING" else
                            (jobs[0].progress if jobs else 0)}
    if status == "SUCCESS":
        data = _job_result(jobs[0]).data or {}
        vqa = data.get("VqaPlusResult") or {}
        found = {d.get("Type"): d.get("Items") or [] for d in vqa.get("DetailedResult") or []}
        body["Output"] = {
            "NoAudio": vqa.get("NoAudio") == "true", "NoVideo": vqa.get("NoVideo") == "true",
            "QualityEvaluationScore": int(round(_number(data, "Score"))),
            "QualityControlResultSet": [
                {"Type": kind, "QualityControlItems": [
                    {"Confidence": int(_number(i, "Confidence")), "StartTimeOffset": _number(i, "StartTimeOffset"),
                     "EndTimeOffset": _number(i, "EndTimeOffset"), "AreaCoordSet": []} for i in found[kind]]}
                for kind in QUALITY_TYPES if found.get(kind)],
            "ContainerDiagnoseResultSet": []}
    return body


_KEYS = {"Transcode": "TranscodeTask", "AnimatedGraphics": "AnimatedGraphicTask",
         "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask", "SampleSnapshot": "SampleSnapshotTask",
         "ImageSprites": "ImageSpriteTask", "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask"}


def _result(sub: dict[str, Any], jobs: list[JobRecord]) -> dict[str, Any]:
    """One MediaProcessTaskResult."""
    status = _status(jobs)
    failed = next((j for j in jobs if j.state in (JobState.FAILED, JobState.CANCEL)), None)
    body: dict[str, Any] = {"Status": status, "ErrCodeExt": failed.code if failed else "",
                            "ErrCode": FAILED_ERRCODE if failed else 0, "Message": failed.message if failed else "",
                            "Input": sub["Input"]}
    if status == "SUCCESS":
        body["Output"] = _OUTPUTS[sub["Type"]](sub, [_job_result(j) for j in jobs])
    if sub["Type"] == "Transcode":
        body["Progress"] = 100 if status == "SUCCESS" else (jobs[0].progress if jobs else 0)
    else:
        body["BeginProcessTime"], body["FinishTime"] = mps_time(_begun(jobs)), mps_time(_ended(jobs))
    return {"Type": sub["Type"], _KEYS[sub["Type"]]: body}


def _job_result(job: JobRecord) -> JobResult:
    if not job.result or not JobResult.is_stored_form(job.result):
        return JobResult()
    return JobResult.from_json(job.result)


def _cos(sub: dict[str, Any]) -> dict[str, Any]:
    storage = sub.get("Storage", {})
    return {"Type": "COS", "CosOutputStorage": {"Bucket": storage.get("Bucket", ""),
                                                "Region": storage.get("Region", "")}}


def _main(results: list[JobResult]) -> list[StoredObject]:
    return [o for r in results for o in r.outputs.get("main", ())]


def _path(obj: StoredObject) -> str:
    return "/" + obj.key


def _number(info: dict[str, Any], key: str) -> float:
    try:
        return float(info.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0


def _media(result: JobResult) -> dict[str, Any]:
    """Size, Duration, Bitrate (bps), Width, Height, Container and the stream sets of an output's MediaInfo."""
    info = result.media_info or {}
    fmt = info.get("Format") or {}
    streams = info.get("Stream") or {}
    video = [v for v in streams.get("Video") or [] if isinstance(v, dict)]
    audio = [a for a in streams.get("Audio") or [] if isinstance(a, dict)]
    first = video[0] if video else {}
    return {
        "Size": int(_number(fmt, "Size")), "Duration": _number(fmt, "Duration"),
        "Bitrate": int(_number(fmt, "Bitrate") * 1000), "Width": int(_number(first, "Width")),
        "Height": int(_number(first, "Height")), "Container": str(fmt.get("FormatName") or ""),
        "VideoStreamSet": [{"Bitrate": int(_number(v, "Bitrate") * 1000), "Width": int(_number(v, "Width")),
                            "Height": int(_number(v, "Height")), "Codec": str(v.get("CodecName") or ""),
                            "Fps": int(round(_number(v, "Fps")))} for v in video],
        "AudioStreamSet": [{"Bitrate": int(_number(a, "Bitrate") * 1000),
                            "SamplingRate": int(_number(a, "SampleRate")), "Codec": str(a.get("CodecName") or ""),
                            "Channel": int(_number(a, "Channel"))} for a in audio],
    }


def meta_data(info: dict[str, Any]) -> dict[str, Any]:
    """MPS's MediaMetaData of CI's MediaInfo (DescribeMediaMetaData, a task's input MetaData)."""
    out = _media(JobResult(media_info=info))
    streams = info.get("Stream") or {}
    video = [v for v in streams.get("Video") or [] if isinstance(v, dict)]
    audio = [a for a in streams.get("Audio") or [] if isinstance(a, dict)]
    out["Rotate"] = int(_number(video[0], "Rotation")) if video else 0
    out["VideoDuration"] = _number(video[0], "Duration") if video else 0.0
    out["AudioDuration"] = _number(audio[0], "Duration") if audio else 0.0
    return out


def _transcode(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    objects = _main(results)
    out: dict[str, Any] = {"OutputStorage": _cos(sub), "Definition": sub.get("Definition", 0)}
    if objects:
        out.update({"Path": _path(objects[0]), "Md5": objects[0].etag.strip('"')})
    if results:
        out.update(_media(results[0]))
    return out


def _animated(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    out = _transcode(sub, results)
    storage = out.pop("OutputStorage")
    for key in ("Duration", "VideoStreamSet", "AudioStreamSet"):
        out.pop(key, None)
    out["Storage"] = storage
    out["StartTimeOffset"] = float(sub["Input"].get("StartTimeOffset", 0))
    out["EndTimeOffset"] = float(sub["Input"].get("EndTimeOffset", 0))
    return out


def _by_time_offset(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    pics = [{"TimeOffset": float(offset), "Path": _path(obj), "WaterMarkDefinition": []}
            for offset, obj in zip(sub.get("Offsets", []), _main(results), strict=False)]
    return {"Definition": sub.get("Definition", 0), "PicInfoSet": pics, "Storage": _cos(sub)}


def _sample(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    return {"Definition": sub.get("Definition", 0), "SampleType": sub.get("SampleType", "Percent"),
            "Interval": sub.get("Interval", 0), "Storage": _cos(sub),
            "ImagePathSet": [_path(o) for o in _main(results)], "WaterMarkDefinition": []}


def _sprites(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    sheets = [o for r in results for o in r.outputs.get("sprite", ())]
    tracks = [o for r in results for o in r.outputs.get("vtt", ())]
    return {"Definition": sub.get("Definition", 0), "Width": sub.get("Width", 0), "Height": sub.get("Height", 0),
            "TotalCount": sum(int((r.data or {}).get("SpriteTiles", 0)) for r in results),
            "ImagePathSet": [_path(o) for o in sheets], "WebVttPath": _path(tracks[0]) if tracks else "",
            "Storage": _cos(sub)}


def _adaptive(sub: dict[str, Any], results: list[JobResult]) -> dict[str, Any]:
    manifests = _main(results)
    return {"Definition": sub.get("Definition", 0), "Package": sub.get("Package", ""),
            "Path": _path(manifests[0]) if manifests else "", "Storage": _cos(sub)}


_OUTPUTS = {"Transcode": _transcode, "AnimatedGraphics": _animated, "SnapshotByTimeOffset": _by_time_offset,
            "SampleSnapshot": _sample, "ImageSprites": _sprites,
            "AdaptiveDynamicStreaming": _adaptive}
