"""How tasks and subtasks look in the console: seed 002's columns and words, as JSON for the page."""

from __future__ import annotations

from typing import Any

from ...app.jobs import TaskView
from ...domain.jobs import JobState
from ...domain.results import JobResult
from ...domain.tasks import TaskState
from ...store import CallbackStatus, JobRecord
from ..ci import presenter

TASK_STATES = {TaskState.WAITING: "Waiting", TaskState.PROCESSING: "In progress", TaskState.FINISHED: "Completed"}
BY_LABEL = {v: k for k, v in TASK_STATES.items()}
JOB_STATES = {JobState.SUBMITTED: "Waiting", JobState.PAUSE: "Waiting", JobState.RUNNING: "In progress",
              JobState.SUCCESS: "Successful", JobState.FAILED: "Failed", JobState.CANCEL: "Cancelled"}
KINDS = {"Request": "CI request", "MpsTask": "MPS task", "WorkflowExecution": "Workflow execution",
         "Batch": "Batch job"}
VIDEO = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".flv", ".ts")
AUDIO = (".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus")
IMAGE = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".avif")


def task_row(view: TaskView) -> dict[str, Any]:
    """A row of the task list."""
    jobs = view.jobs
    ended = [j.ended for j in jobs if j.ended is not None]
    done = sum(1 for j in jobs if j.state in (JobState.SUCCESS, JobState.FAILED, JobState.CANCEL))
    progress = sum(100 if j.state == JobState.SUCCESS else j.progress for j in jobs) // max(1, len(jobs))
    return {"TaskId": view.task.task_id, "Status": TASK_STATES[view.state], "Kind": KINDS.get(view.task.kind,
            view.task.kind), "Origin": view.task.origin, "Created": view.task.created,
            "Ended": max(ended) if view.state == TaskState.FINISHED and ended else None,
            "Tags": sorted({j.tag for j in jobs}), "Input": _input_of(jobs), "Subtasks": len(jobs),
            "Done": done, "Failed": sum(1 for j in jobs if j.state == JobState.FAILED), "Progress": progress,
            "Seq": view.task.seq}


def task_detail(view: TaskView, callbacks: list[CallbackStatus] | None = None) -> dict[str, Any]:
    """The task with its subtask list (numbered from 1, in the task's order), each with its callbacks."""
    row = task_row(view)
    row["Detail"] = view.task.detail
    row["SubtaskList"] = [subtask(n, j) for n, j in enumerate(view.jobs, 1)]
    by_job: dict[str, list[dict[str, Any]]] = {}
    for c in callbacks or []:
        by_job.setdefault(c.callback.job_id, []).append(callback_row(c))
    for s in row["SubtaskList"]:
        s["Callbacks"] = by_job.get(s["JobId"], [])
    return row


CALLBACK_STATES = {"pending": "Retrying", "delivered": "Delivered", "dead": "Dead letter"}


def callback_row(c: CallbackStatus) -> dict[str, Any]:
    """One callback of a subtask: where it goes, how many attempts, the last error, delivered or dead."""
    target = c.callback.target
    kind = str(target.get("type", "Url"))
    if kind == "TDMQ":
        mq = target.get("mq") or {}
        where = f"TDMQ {mq.get('MqRegion', '')} {mq.get('MqMode', 'Queue')} {mq.get('MqName', '')}".strip()
    else:
        where = str(target.get("url", "")) or kind
    state = c.state
    if state == "pending" and not c.callback.attempts:
        label = "Waiting"
    else:
        label = CALLBACK_STATES.get(state, state)
    return {"Id": c.callback.callback_id, "Type": kind, "Target": where, "Format": target.get("format", ""),
            "Attempts": c.callback.attempts, "State": label, "LastError": c.last_error, "NextAt": c.next_at,
            "DeliveredAt": c.delivered_at, "DeadAt": c.dead_at}


def subtask(number: int, job: JobRecord) -> dict[str, Any]:
    """One subtask: seed 002's columns plus what its details, play/view and download need."""
    outputs = _outputs(job)
    return {"No": number, "JobId": job.job_id, "Status": JOB_STATES.get(JobState(job.state), job.state),
            "State": job.state, "Type": job.tag, "Queue": job.queue_id, "Created": job.created,
            "Started": job.started, "Ended": job.ended, "Progress": 100 if job.state == JobState.SUCCESS
            else job.progress, "Code": job.code, "Message": job.message, "Attempts": job.attempts,
            "Outputs": outputs, "Input": job.input_object, "Data": _data(job),
            "Score": _score(job), "Detail": presenter.job_detail(job)}


def _outputs(job: JobRecord) -> list[dict[str, str]]:
    if not job.result or not JobResult.is_stored_form(job.result):
        return []
    result = JobResult.from_json(job.result)
    return [{"Role": role, "Bucket": o.bucket, "Key": o.key, "Kind": media_kind(o.key)}
            for role, objs in result.outputs.items() for o in objs]


def _data(job: JobRecord) -> dict[str, Any] | None:
    if job.result and JobResult.is_stored_form(job.result):
        return JobResult.from_json(job.result).data
    return None


def _score(job: JobRecord) -> Any:
    """A quality score when the job's data holds one (picture-quality Tags)."""
    data = _data(job) or {}
    for key in ("Score", "QualityScore", "Vmaf", "VMAF", "Psnr", "PSNR"):
        if key in data:
            return data[key]
    return None


def _input_of(jobs: list[JobRecord]) -> str:
    for j in jobs:
        if j.input_object:
            return j.input_object
    return ""


def media_kind(key: str) -> str:
    """video, hls, dash, audio, image, vtt or file: how the page shows an object."""
    low = key.lower()
    if low.endswith(".m3u8"):
        return "hls"
    if low.endswith(".mpd"):
        return "dash"
    for kind, exts in (("video", VIDEO), ("audio", AUDIO), ("image", IMAGE)):
        if low.endswith(exts):
            return kind
    return "vtt" if low.endswith(".vtt") else "file"
