"""MPS's event notifications (TaskNotifyConfig): read at ProcessMedia, rendered and sent from the outbox.

Every job of a task with a TaskNotifyConfig carries the NotifyTarget `{"type": "MpsTask"}`, so each
job's outcome commits an outbox entry with it (`task_finish` renders only which task it is). The
notification itself is rendered when the entry is delivered, from the task as it stands then, by
`TaskNotifications` (the outbox's sender for MpsTask), which signs it and hands it to the URL sender
(the SSRF rules of callbacks) or the RabbitMQ sender (TDMQ-CMQ / CMQ queues and topics).

Which entry sends: the *last ended* of the task's jobs that ran (greatest `ended`, then task order;
a task none of whose jobs ran: its first job). Its entry is postponed (no attempt counted) while the
task is unfinished and sends the FINISH event once it is; every other entry sends nothing in
NotifyMode Finish, and in NotifyMode Change the task's PROCESSING event of that moment. So FINISH
goes out once per task even when two jobs end together on two nodes (at least once, as every
callback: a lost acknowledgement means a resend).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from ...app.jobs import Jobs, TaskView
from ...config import Settings
from ...domain.tasks import TaskState
from ...errors import CallbackPostponed, InvalidArgument
from ...notify.outbox import Sender
from ...outbound import check_url
from ...store import Callback, JobRecord, JobState
from . import presenter
from .errors import InvalidParameterValue, MissingParameter

TARGET = "MpsTask"  # the outbox sender type of MPS notifications
SIGN_VALIDITY = 600  # seconds: Timestamp = send time + this (MPS's default 10 minutes)
_FINAL = (JobState.SUCCESS, JobState.FAILED, JobState.CANCEL)
_MQ_TYPES = ("TDMQ-CMQ", "CMQ")


def read_config(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """TaskNotifyConfig checked: URL (an allowed http(s) address) or TDMQ-CMQ/CMQ on a configured broker."""
    kind = config.get("NotifyType") or "TDMQ-CMQ"  # MPS's default when empty
    mode = config.get("NotifyMode") or "Finish"
    if mode not in ("Finish", "Change"):
        raise InvalidParameterValue(f"TaskNotifyConfig.NotifyMode {mode} must be Finish or Change.")
    if kind == "URL":
        if not config.get("NotifyUrl"):
            raise MissingParameter("TaskNotifyConfig.NotifyUrl is required when NotifyType is URL.")
        try:
            check_url(config["NotifyUrl"], settings.callbacks.policy, "TaskNotifyConfig.NotifyUrl")
        except InvalidArgument as exc:
            raise InvalidParameterValue(exc.message + ".") from exc
    elif kind in _MQ_TYPES:
        _mq(config, settings)
    else:
        raise InvalidParameterValue(f"TaskNotifyConfig.NotifyType {kind} is not supported: ci-jobs sends URL "
                                    "callbacks and TDMQ-CMQ/CMQ messages (on RabbitMQ).")
    return {**config, "NotifyType": kind, "NotifyMode": mode}


def _mq(config: dict[str, Any], settings: Settings) -> dict[str, str]:
    """The RabbitMQ route (CI's CallBackMqConfig shape) of an MQ TaskNotifyConfig."""
    model = config.get("CmqModel") or "Queue"
    if model not in ("Queue", "Topic"):
        raise InvalidParameterValue(f"TaskNotifyConfig.CmqModel {model} must be Queue or Topic.")
    name_field = "QueueName" if model == "Queue" else "TopicName"
    if not config.get(name_field):
        raise MissingParameter(f"TaskNotifyConfig.{name_field} is required when CmqModel is {model} "
                               "(or give NotifyType URL with a NotifyUrl).")
    region = config.get("CmqRegion", "")
    if not settings.mq.broker(region):
        raise InvalidParameterValue(f"TaskNotifyConfig.NotifyType {config.get('NotifyType') or 'TDMQ-CMQ'}: no "
                                    f"RabbitMQ broker is configured for CmqRegion {region!r} ([mq] url or "
                                    "[mq.regions]).")
    return {"MqMode": model, "MqName": config[name_field], "MqRegion": region}


def task_finish(job: JobRecord, fmt: str) -> tuple[bytes, str]:
    """The outbox entry of an MPS job's outcome: which task to notify about (rendered when delivered)."""
    del fmt  # MPS notifications are JSON
    return json.dumps({"Bucket": job.bucket, "TaskId": job.task_id}).encode(), "application/json"


def sign(timestamp: int, key: str) -> str:
    """`Sign = MD5(Timestamp + NotifyKey)`, lower-case hex."""
    return hashlib.md5(f"{timestamp}{key}".encode()).hexdigest()  # noqa: S324 - MPS's algorithm


def sender_of(view: TaskView, job_id: str) -> str:
    """The job whose outbox entry sends the FINISH event: the last ended of those that ran."""
    ran = [(j.ended or 0.0, i, j.job_id) for i, j in enumerate(view.jobs)
           if j.started is not None and j.state in _FINAL]
    if not ran:
        return view.jobs[0].job_id if view.jobs else job_id
    return max(ran)[2]


class TaskNotifications:
    """The outbox's sender for MpsTask entries: renders, signs and delivers the task's notification."""

    def __init__(self, jobs: Jobs, settings: Settings, senders: dict[str, Sender]) -> None:
        self.jobs = jobs
        self.settings = settings
        self.senders = senders  # "Url" and "TDMQ": where the rendered notification goes

    async def send(self, cb: Callback) -> None:
        """Send the notification this entry owes now, nothing, or postpone it (CallbackPostponed)."""
        ref = json.loads(cb.body)
        bucket = self.settings.bucket(str(ref.get("Bucket", "")))
        view = await self.jobs.task(bucket, str(ref.get("TaskId", ""))) if bucket is not None else None
        if bucket is None or view is None:
            return  # the task is gone (its bucket unconfigured, the store reset): nothing to say
        config = view.task.detail.get("TaskNotifyConfig") or {}
        finished = view.state == TaskState.FINISHED
        if sender_of(view, cb.job_id) == cb.job_id:
            if not finished:
                raise CallbackPostponed(f"task {view.task.task_id} has not finished yet")
        elif finished or config.get("NotifyMode") != "Change":
            return
        timestamp = int(time.time()) + SIGN_VALIDITY
        body = json.dumps(presenter.notification(view, bucket.appid, timestamp,
                                                 sign(timestamp, config.get("NotifyKey", ""))),
                          ensure_ascii=False).encode()
        await self._deliver(cb, config, body)

    async def _deliver(self, cb: Callback, config: dict[str, Any], body: bytes) -> None:
        if config.get("NotifyType") == "URL":
            target: dict[str, Any] = {"type": "Url", "url": config["NotifyUrl"]}
        else:
            target = {"type": "TDMQ", "mq": _mq(config, self.settings), "event": "WorkflowTask"}
        sender = self.senders.get(target["type"])
        if sender is None:
            raise InvalidArgument(f"no sender configured for MPS notifications of type {target['type']}")
        await sender.send(Callback(target=target, body=body, content_type="application/json",
                                   callback_id=cb.callback_id, attempts=cb.attempts, job_id=cb.job_id))

    async def close(self) -> None:
        """Nothing of its own to close (the senders it uses are the outbox's)."""
