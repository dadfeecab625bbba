"""Typed requests into the workflow and batch use cases, built by a protocol's codec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WorkflowRequest:
    """A workflow to create or replace: its name, requested state ('' = keep / Paused) and Topology."""

    name: str
    state: str
    topology: dict[str, Any]


@dataclass(frozen=True)
class BatchRequest:
    """A batch job over existing objects: Type Job (one Tag's operation) or Workflow (WorkflowIds).

    `input` has exactly one of Prefix / Object (Manifest and UrlFile are refused by the use case);
    `operation` is the Operation element (TimeInterval, QueueId, Tag, JobParam, callback fields...).
    """

    name: str
    kind: str
    input: dict[str, Any]
    operation: dict[str, Any] = field(default_factory=dict)
