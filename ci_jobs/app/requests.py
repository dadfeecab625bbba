"""Typed requests into the use cases, built by a protocol's codec from its wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Bucket


@dataclass(frozen=True)
class Operation:
    """One job of a request: its Tag and the parameters of its Operation (container, Output, TemplateId...)."""

    tag: str
    params: dict[str, Any]


@dataclass(frozen=True)
class JobRequest:
    """A request for one job or several sharing input, queue and callback (a Task of the engine)."""

    bucket: Bucket
    input_key: str
    operations: tuple[Operation, ...]
    queue_id: str = ""
    callback: dict[str, Any] = field(default_factory=dict)  # CallBack, CallBackFormat, CallBackType, CallBackMqConfig
    echo: dict[str, Any] = field(default_factory=dict)      # protocol fields its presenter shows again (QueueType)
    origin: str = "ci"                                      # the protocol that presents the jobs
    kind: str = "Request"                                   # the Task's kind (domain.tasks.TaskKind)
    detail: dict[str, Any] = field(default_factory=dict)    # the Task's protocol fields (MPS: its subtasks)
    task_id: str = ""                                       # the Task's id; '' = a new one (MPS SessionId: derived)
    level: int | None = None                                # engine priority; None: from each JobLevel
    input_url: str = ""                                     # an input the runner downloads (MPS URL input)
    probe_input: bool = False                               # the first job also reports its input's MediaInfo


@dataclass(frozen=True)
class TemplateRequest:
    """A template to create or replace: its Tag (or template-only kind), name and parameter containers."""

    tag: str
    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class QueueUpdate:
    """PUT /queue/<id>: the new name, state and notification settings."""

    name: str
    state: str
    notify: dict[str, Any]
