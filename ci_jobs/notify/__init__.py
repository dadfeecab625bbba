"""Callbacks: which destination a finished job notifies, the body it sends, and the delivery loop.

A protocol with notifications of its own (MPS's TaskNotifyConfig) puts its whole target into the job's
`NotifyTarget`; it wins over everything else, and its type names the sender the outbox uses.

Precedence (CI's): the job's own CallBack / CallBackType=TDMQ settings, else its queue's NotifyConfig
when it is On and subscribes TaskFinish; `CallBack=no` silences both. Bodies are rendered once, when
the job finishes, and stored in the outbox with the outcome, so delivery is at-least-once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..store import Callback, JobRecord, QueueRecord

# A protocol's rendering of a finished job's TaskFinish body in a format (XML/JSON): (body, content type).
Presenter = Callable[[JobRecord, str], tuple[bytes, str]]


def target_for(job: JobRecord, queue: QueueRecord | None) -> dict[str, Any] | None:
    """Where this job's TaskFinish callback goes, with its format; None for no callback."""
    spec = job.spec
    if isinstance(spec.get("NotifyTarget"), dict):
        return dict(spec["NotifyTarget"])
    url = str(spec.get("CallBack") or "").strip()
    kind = str(spec.get("CallBackType") or "Url").strip() or "Url"
    fmt = str(spec.get("CallBackFormat") or "XML").strip().upper() or "XML"
    if url.lower() == "no":
        return None
    if kind.upper() == "TDMQ":
        mq = spec.get("CallBackMqConfig") or {}
        return {"type": "TDMQ", "format": fmt, "mq": mq}
    if url:
        return {"type": "Url", "url": url, "format": fmt}
    if queue is None:
        return None
    n = queue.notify
    events = [e.strip() for e in str(n.get("Event", "")).split(",")]
    if n.get("State") != "On" or "TaskFinish" not in events:
        return None
    fmt = str(n.get("ResultFormat") or "XML").upper()
    if str(n.get("Type", "Url")).upper() == "TDMQ":
        return {"type": "TDMQ", "format": fmt,
                "mq": {"MqMode": n.get("MqMode", "Queue"), "MqName": n.get("MqName", ""),
                       "MqRegion": n.get("MqRegion", "")}}
    if not n.get("Url"):
        return None
    return {"type": "Url", "url": n["Url"], "format": fmt}


def origin(job: JobRecord) -> str:
    """The protocol a job came from (its presenter renders the job's callbacks)."""
    return str(job.spec.get("Origin") or "ci")


class Notifier:
    """Builds the TaskFinish callbacks of finished jobs with the presenter of each job's protocol."""

    def __init__(self, presenters: Mapping[str, Presenter]) -> None:
        self.presenters = dict(presenters)

    def task_finish(self, job: JobRecord, queue: QueueRecord | None) -> list[Callback]:
        """The TaskFinish callback(s) for a job that just reached a final state."""
        target = target_for(job, queue)
        if target is None:
            return []
        present = self.presenters[origin(job)]
        body, ctype = present(job, str(target["format"]))
        return [Callback(target=target, body=body, content_type=ctype, job_id=job.job_id)]
