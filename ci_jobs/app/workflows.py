"""Workflow use cases: create, replace, activate/pause, query, delete; the checks of a Topology and of its
Start node (queue, prefix, ExtFilter, NotifyConfig) and of each node's operation as a job would be checked.

A workflow runs only the Tags this server runs (tags.REGISTRY); CI's other node types are refused by
name with the reason. `Start.Input` fields that would change nothing here are refused, not ignored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids, tags
from ..config import Bucket, Settings
from ..domain import workflows as flow
from ..errors import CiJobsError, InvalidArgument, NoSuchResource
from ..outbound import check_url
from ..store import Store
from ..store.flows import WorkflowRecord
from ..tags import workflow_nodes
from .flow_requests import WorkflowRequest
from .jobs import Jobs
from .paging import int_param
from .queues import NOTIFY_EVENTS, NOTIFY_FIELDS, check_mq_broker
from .requests import JobRequest, Operation
from .variables import expand_known

WHERE = "Request.MediaWorkflow"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
STATES = ("Active", "Paused")
MAX_IDS = 100
# CI node types this server does not run, and why, as CI's text (generic code names no Tag: a convention test
# holds that); a type that becomes a Tag is runnable and drops out. Other unknown types get the runnable list.
REFUSED = {kind.strip(): why.strip() for kind, why in (line.split(":", 1) for line in """
ImageInspect: QR-code / advertising-image detection needs an image-recognition model this server does not ship
SCF: serverless function calls need Tencent Cloud SCF
PicProcess: picture processing is not part of this server
SmartCover: smart cover needs a learned model this server does not ship
AIRecognition: AI recognition is not part of this server
""".strip().splitlines()) if kind.strip() not in tags.REGISTRY}
START_FIELDS = frozenset({"QueueId", "ObjectPrefix", "NotifyConfig", "ExtFilter"})
START_REFUSED = {
    "PicProcessQueueId": "this server runs no PicProcess nodes",
    "SpeechRecognitionQueueId": "every node's job goes to the Start node's QueueId",
    "AIProcessQueueId": "this server runs no AI nodes",
    "SamplingConfig": "sampling of uploads is not implemented",
}
EXT_FLAGS = ("Video", "Audio", "Image", "ContentType", "Custom", "AllFile")


@dataclass(frozen=True)
class WorkflowPage:
    """GET /workflow: one page of workflows, the total, and the asked ids that do not exist."""

    workflows: list[WorkflowRecord]
    total: int
    page: int
    size: int
    missing: list[str]


@dataclass(frozen=True)
class StartNode:
    """A checked Start node: the queue the jobs go to, what triggers, and where notifications go."""

    queue_id: str
    trigger: flow.Trigger
    notify: dict[str, Any] | None  # the NotifyConfig, None when absent (the queue's is used)


def runnable() -> frozenset[str]:
    """The node types this server runs: its job Tags."""
    return frozenset(tags.REGISTRY)


def topology(value: Any) -> flow.Topology:
    """A stored or requested Topology as a checked DAG (InvalidArgument naming the node)."""
    try:
        return flow.parse_topology(value, runnable(), workflow_nodes.EDGES, REFUSED)
    except flow.TopologyError as exc:
        raise InvalidArgument(f"{WHERE}.{exc}") from exc


def start_node(topo: flow.Topology) -> StartNode:
    """The Start node's Input, checked (QueueId existence is checked by `Workflows`)."""
    where = f"{WHERE}.Topology.Nodes.Start.Input"
    given = topo.start.get("Input")
    if not isinstance(given, Mapping):
        raise InvalidArgument(f"{where} is required (QueueId, ObjectPrefix)")
    for key in given:
        if key in START_REFUSED:
            raise InvalidArgument(f"{where}.{key} is not supported: {START_REFUSED[key]}")
        if key not in START_FIELDS:
            raise InvalidArgument(f"{where}.{key} is not a Start node field; use {', '.join(sorted(START_FIELDS))}")
    queue_id = str(given.get("QueueId") or "").strip()
    if not queue_id:
        raise InvalidArgument(f"{where}.QueueId is required")
    if "ObjectPrefix" not in given:
        raise InvalidArgument(f"{where}.ObjectPrefix is required")
    prefix = str(given.get("ObjectPrefix") or "").removeprefix("/")
    return StartNode(queue_id, _ext_filter(prefix, given.get("ExtFilter"), f"{where}.ExtFilter"),
                     _notify(given.get("NotifyConfig"), f"{where}.NotifyConfig"))


def _flag(value: Any, where: str) -> bool:
    text = str(value or "false").strip().lower()
    if text not in ("true", "false"):
        raise InvalidArgument(f"{where} must be true or false")
    return text == "true"


def _ext_filter(prefix: str, value: Any, where: str) -> flow.Trigger:
    if value in (None, ""):
        return flow.Trigger(prefix)
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{where} must contain State and the file types")
    unknown = set(value) - {"State", "CustomExts", *EXT_FLAGS}
    if unknown:
        raise InvalidArgument(f"{where}.{sorted(unknown)[0]} is not an ExtFilter field")
    state = str(value.get("State") or "Off")
    if state not in ("On", "Off"):
        raise InvalidArgument(f"{where}.State must be On or Off")
    flags = {f: _flag(value.get(f), f"{where}.{f}") for f in EXT_FLAGS}
    exts = [e.strip().lower().lstrip(".") for e in str(value.get("CustomExts") or "").split("/") if e.strip()]
    if len(exts) > 10:
        raise InvalidArgument(f"{where}.CustomExts holds at most 10 extensions")
    if flags["Custom"] and not exts:
        raise InvalidArgument(f"{where}.CustomExts is required when Custom is true")
    if exts and not flags["Custom"]:
        raise InvalidArgument(f"{where}.CustomExts is given but Custom is not true")
    if state == "On" and not any(flags[f] for f in ("Video", "Audio", "Image", "Custom", "AllFile")):
        raise InvalidArgument(f"{where}: State On needs at least one of Video, Audio, Image, Custom, AllFile")
    return flow.Trigger(prefix, state == "On", flags["Video"], flags["Audio"], flags["Image"], flags["ContentType"],
                        flags["AllFile"], frozenset(exts))


def _notify(value: Any, where: str) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{where} must contain Url, Type and Event")
    for key in value:
        if key == "KafkaConfig":
            raise InvalidArgument(f"{where}.KafkaConfig is not supported: this server sends Url and TDMQ callbacks")
        if key not in NOTIFY_FIELDS:
            raise InvalidArgument(f"{where}.{key} is not a NotifyConfig field")
    kind = str(value.get("Type") or "Url")
    if kind not in ("Url", "TDMQ"):
        raise InvalidArgument(f"{where}.Type {kind} is not supported; use Url or TDMQ")
    events = [e.strip() for e in str(value.get("Event") or "").split(",") if e.strip()]
    bad = [e for e in events if e not in NOTIFY_EVENTS]
    if bad or not events:
        raise InvalidArgument(f"{where}.Event must list {', '.join(sorted(NOTIFY_EVENTS))} (got {value.get('Event')})")
    if str(value.get("ResultFormat") or "XML").upper() not in ("XML", "JSON"):
        raise InvalidArgument(f"{where}.ResultFormat must be XML or JSON")
    if str(value.get("State") or "On") not in ("On", "Off"):
        raise InvalidArgument(f"{where}.State must be On or Off")
    if kind == "Url" and not str(value.get("Url") or "").strip():
        raise InvalidArgument(f"{where}.Url is required when Type is Url")
    if kind == "TDMQ" and not str(value.get("MqName") or "").strip():
        raise InvalidArgument(f"{where}.MqName is required when Type is TDMQ")
    return dict(value)


class Workflows:
    """Create, replace, activate/pause, query and delete a bucket's workflows."""

    def __init__(self, settings: Settings, store: Store, jobs: Jobs) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs

    async def create(self, bucket: Bucket, request: WorkflowRequest) -> WorkflowRecord:
        """A new workflow (Paused unless State says Active)."""
        await self._check(bucket, request)
        now = time.time()
        record = WorkflowRecord(ids.new_id("w"), bucket.name, request.name, request.state or "Paused",
                                request.topology, now, now)
        await self.store.put_workflow(record)
        return record

    async def update(self, bucket: Bucket, workflow_id: str, request: WorkflowRequest) -> WorkflowRecord:
        """Replace a workflow's name, topology (and state, when given); running executions keep theirs."""
        old = await self.get(bucket, workflow_id)
        await self._check(bucket, request)
        record = WorkflowRecord(old.workflow_id, bucket.name, request.name, request.state or old.state,
                                request.topology, old.created, time.time())
        await self.store.put_workflow(record)
        return record

    async def set_state(self, bucket: Bucket, workflow_id: str, state: str) -> WorkflowRecord:
        """Activate or pause a workflow."""
        old = await self.get(bucket, workflow_id)
        record = WorkflowRecord(old.workflow_id, old.bucket, old.name, state, old.topology, old.created, time.time())
        await self.store.put_workflow(record)
        return record

    async def get(self, bucket: Bucket, workflow_id: str) -> WorkflowRecord:
        """One workflow; NoSuchResource naming it otherwise."""
        found = await self.store.get_workflow(bucket.name, workflow_id.strip())
        if found is None:
            raise NoSuchResource(f"The workflow {workflow_id} does not exist in bucket {bucket.name}.")
        return found

    async def describe(self, bucket: Bucket, params: Mapping[str, str]) -> WorkflowPage:
        """GET /workflow?ids=&name=&pageNumber=&pageSize=."""
        wanted = [i.strip() for i in (params.get("ids") or "").split(",") if i.strip()]
        if len(wanted) > MAX_IDS:
            raise InvalidArgument(f"ids may name at most {MAX_IDS} workflows")
        number = int_param(dict(params), "pageNumber", 1, 1, 10**6)
        size = int_param(dict(params), "pageSize", 10, 1, 100)
        found, total = await self.store.list_workflows(bucket.name, wanted, params.get("name") or "",
                                                        (number - 1) * size, size)
        have = {w.workflow_id for w in (await self.store.list_workflows(bucket.name, wanted, "", 0, MAX_IDS))[0]} \
            if wanted else set()
        return WorkflowPage(found, total, number, size, [i for i in wanted if i not in have])

    async def delete(self, bucket: Bucket, workflow_id: str) -> None:
        """Delete a workflow (its executions stay readable)."""
        if not await self.store.delete_workflow(bucket.name, workflow_id.strip()):
            raise NoSuchResource(f"The workflow {workflow_id} does not exist in bucket {bucket.name}.")

    async def _check(self, bucket: Bucket, request: WorkflowRequest) -> None:
        if not NAME.match(request.name):
            raise InvalidArgument(f"{WHERE}.Name is required: at most 128 letters, digits, '-' or '_'")
        if request.state and request.state not in STATES:
            raise InvalidArgument(f"{WHERE}.State must be Active or Paused")
        topo = topology(request.topology)
        start = start_node(topo)
        await self.jobs.queues.resolve(bucket, start.queue_id)
        if start.notify is not None and start.notify.get("Url"):
            check_url(str(start.notify["Url"]), self.settings.callbacks.policy)
        if start.notify is not None and str(start.notify.get("Type") or "Url") == "TDMQ":
            check_mq_broker(self.settings, str(start.notify.get("MqRegion") or ""),
                            f"{WHERE}.Topology.Nodes.Start.Input.NotifyConfig")
        for node in topo.nodes:
            await self._check_node(bucket, start, node)

    async def _check_node(self, bucket: Bucket, start: StartNode, node: flow.Node) -> None:
        """A node's operation is checked as the job it will make (templates, rules, Output)."""
        where = f"{WHERE}.Topology.Nodes.{node.name}"
        unknown = set(node.body) - {"Type", "Operation"}
        if unknown:
            raise InvalidArgument(f"{where}.{sorted(unknown)[0]} is not a node field (Type, Operation)")
        op = node.body.get("Operation") or {}
        if not isinstance(op, Mapping):
            raise InvalidArgument(f"{where}.Operation must contain TemplateId or parameters, and Output")
        params = expand_known(dict(op), input_key="workflow/check.mp4", run_id="i" + "0" * 32)
        try:
            await self.jobs.prepare(JobRequest(bucket=bucket, input_key="workflow/check.mp4",
                                               operations=(Operation(node.type, params),), queue_id=start.queue_id))
        except CiJobsError as exc:
            raise InvalidArgument(f"{where}: {exc.message.replace('Request.Operation', 'Operation')}") from exc
