"""Workflow executions: started by uploads (and by hand, and by batch jobs), advanced node by node.

Durability: an upload's executions are committed before the upload is answered (`Objects` awaits
`on_object_created`; a failure fails the upload, so the client retries). Each step of an execution —
the jobs of the nodes that became ready, or the end with its WorkflowFinish callback — is one
compare-and-set write (`Store.advance_execution`), so a step is taken once however many advancers
race (JobFinished here, the resume sweep, another node). The sweep (`run`) re-advances every Running
execution, so an execution resumes after `kill -9` without any in-memory event.

Loops: only objects written through the object API trigger workflows; a job's outputs are written by
the runner straight to storage and never pass `Objects`, so a workflow's own outputs (even under its
own ObjectPrefix) cannot start it again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import ids, tags
from ..config import Bucket, Settings
from ..domain import workflows as flow
from ..domain.events import JobFinished, Source
from ..domain.results import JobResult
from ..domain.tasks import TASK_ID_PREFIX, TaskKind
from ..errors import CiJobsError, InvalidArgument, NoSuchResource
from ..storage import ObjectMeta
from ..store import Callback, JobRecord, Store, TaskRecord
from ..store.flows import ExecutionFilter, ExecutionRecord, Step, WorkflowRecord
from .jobs import Jobs
from .paging import int_param
from .requests import JobRequest, Operation
from .variables import expand_known
from .workflows import StartNode, start_node, topology

log = logging.getLogger(__name__)
STATES = frozenset({"Running", "Success", "Failed", "Cancel"})
SWEEP_PAGE = 200
CAS_TRIES = 8


@dataclass(frozen=True)
class ExecutionView:
    """An execution with its node jobs (in topology order, as (node, job)) for a presenter."""

    execution: ExecutionRecord
    nodes: list[tuple[flow.Node, JobRecord]]
    failed: dict[str, str]  # nodes that got no job, and why


@dataclass(frozen=True)
class ExecutionPage:
    """A page of executions and the next page's token ('' at the end)."""

    executions: list[ExecutionRecord]
    next_token: str


# A protocol's rendering of an execution event (WorkflowFinish / WorkflowStart) in a format: (body, type).
Renderer = Callable[[ExecutionView, str, str], tuple[bytes, str]]


class Executions:
    """Start, advance, resume, describe and list workflow executions."""

    def __init__(self, settings: Settings, store: Store, jobs: Jobs, render: Renderer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.render = render
        self._kicks: set[asyncio.Task[None]] = set()

    # --- starting ---------------------------------------------------------------------------

    async def on_object_created(self, bucket: str, meta: ObjectMeta, source: Source) -> None:
        """An upload through the object API: commit an execution of every Active workflow it matches."""
        found = self.settings.bucket(bucket)
        if found is None or source == Source.JOB:
            return
        matching = [w for w in await self.store.active_workflows(bucket)
                    if start_node(topology(w.topology)).trigger.matches(meta.key, meta.content_type)]
        if matching:
            await self.start(found, matching, meta.key, cos_headers(meta, source))

    async def trigger(self, bucket: Bucket, workflow: WorkflowRecord, key: str, meta: ObjectMeta) -> ExecutionRecord:
        """POST /triggerworkflow: one execution for an existing object, whatever the prefix and filter."""
        if workflow.state != "Active":
            raise InvalidArgument(f"workflow {workflow.workflow_id} is Paused: activate it to trigger it")
        return (await self.start(bucket, [workflow], key, cos_headers(meta, Source.PUT)))[0]

    def new_execution(self, bucket: Bucket, workflow: WorkflowRecord, key: str, headers: list[dict[str, str]],
                      batch_id: str = "") -> ExecutionRecord:
        """An execution to commit (alone, or with a batch job's step)."""
        return ExecutionRecord(ids.new_id("i"), bucket.name, workflow.workflow_id, key, "Running", time.time(),
                               {"WorkflowName": workflow.name, "Topology": workflow.topology, "CosHeaders": headers,
                                "Nodes": {}, "Failed": {}}, batch_id=batch_id)

    async def start(self, bucket: Bucket, workflows: list[WorkflowRecord], key: str,
                    headers: list[dict[str, str]]) -> list[ExecutionRecord]:
        """Commit one execution per workflow, then set them going."""
        made = [self.new_execution(bucket, w, key, headers) for w in workflows]
        await self.store.insert_executions(made)
        for e in made:
            self.kick(e.bucket, e.run_id)
        return made

    def kick(self, bucket: str, run_id: str) -> None:
        """Advance an execution soon, in the background (the sweep covers a kick that is lost)."""
        task = asyncio.create_task(self._advance_logged(bucket, run_id), name=f"advance-{run_id}")
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def on_job_finished(self, event: JobFinished) -> None:
        """A node's job ended: advance its execution."""
        found = await self.store.get_jobs(event.bucket, [event.job_id])
        run = found[0].spec.get("Workflow") if found else None
        if isinstance(run, dict) and run.get("RunId"):
            await self._advance_logged(event.bucket, str(run["RunId"]))

    # --- advancing --------------------------------------------------------------------------

    async def _advance_logged(self, bucket: str, run_id: str) -> None:
        try:
            await self.advance(bucket, run_id)
        except Exception:  # noqa: BLE001 - the sweep retries; one execution's trouble stops no other
            log.exception("could not advance execution %s", run_id)

    async def advance(self, bucket_name: str, run_id: str) -> None:
        """Take every step the execution can take now (submit ready nodes; end it when nothing is left)."""
        bucket = self.settings.bucket(bucket_name)
        if bucket is None:
            return
        for _ in range(CAS_TRIES):
            ex = await self.store.get_execution(bucket_name, run_id)
            if ex is None or ex.state != "Running":
                return
            moved = await self._step(bucket, ex)
            if moved is None:  # nothing to do until a job ends
                return
            # moved: a step was written (go on: failed submissions may end it) or lost a race (read again)

    async def _step(self, bucket: Bucket, ex: ExecutionRecord) -> bool | None:
        topo = topology(ex.detail["Topology"])
        start = start_node(topo)
        nodes: dict[str, str] = dict(ex.detail.get("Nodes") or {})
        failed: dict[str, str] = dict(ex.detail.get("Failed") or {})
        jobs = {j.job_id: j for j in await self.store.get_jobs(bucket.name, list(nodes.values()))}
        states = {name: jobs[jid].state for name, jid in nodes.items() if jid in jobs}
        plan = flow.plan(topo, states, failed)
        if not plan.ready and plan.final is None and ex.version > 0:
            return None
        task_id = ids.new_id(TASK_ID_PREFIX)
        made: list[JobRecord] = []
        for name in plan.ready:
            node = topo.node(name)
            try:
                job = await self._node_job(bucket, ex, start, node, nodes, jobs, task_id)
            except CiJobsError as exc:
                failed[name] = exc.message
                continue
            made.append(job)
            nodes[name] = job.job_id
        detail = {**ex.detail, "Nodes": nodes, "Failed": failed}
        state, ended, callbacks = "Running", None, []
        notify = start.notify if start.notify is not None else await self._queue_notify(bucket, start.queue_id)
        if ex.version == 0:
            callbacks += self._event(ex, notify, topo, jobs, "WorkflowStart")
        if not made and plan.final is not None and failed == dict(ex.detail.get("Failed") or {}):
            state, ended = plan.final, time.time()
            detail["Message"] = _failure(topo, jobs, nodes, failed)
            done = replace(ex, state=state, ended=ended, detail=detail)
            callbacks += self._event(done, notify, topo, jobs, "WorkflowFinish")
        task = TaskRecord(task_id, bucket.name, TaskKind.WORKFLOW_EXECUTION, "ci", time.time(),
                          tuple(j.job_id for j in made), {"RunId": ex.run_id, "WorkflowId": ex.workflow_id}) \
            if made else None
        await self.store.advance_execution(ex.run_id, ex.version, state, ended, detail,
                                           Step(jobs=made, task=task, callbacks=callbacks), time.time())
        return True

    async def _node_job(self, bucket: Bucket, ex: ExecutionRecord, start: StartNode, node: flow.Node,
                        nodes: Mapping[str, str], jobs: Mapping[str, JobRecord], task_id: str) -> JobRecord:
        op = expand_known(dict(node.body.get("Operation") or {}), input_key=ex.object, run_id=ex.run_id,
                          batch_id=ex.batch_id)
        parent = next((jobs[nodes[p]] for p in node.parents if p != flow.START and p in nodes), None)
        echo: dict[str, Any] = {"Workflow": {"RunId": ex.run_id, "WorkflowId": ex.workflow_id,
                                             "WorkflowName": ex.detail.get("WorkflowName", ""), "Name": node.name}}
        if ex.batch_id:  # a batch job of Type Workflow made this run: GET /jobs?inventoryTriggerJobId= finds it
            echo["InventoryTriggerJobId"] = ex.batch_id
        request = JobRequest(bucket=bucket, input_key=_output_of(parent) if parent else ex.object,
                             operations=(Operation(node.type, op),), queue_id=start.queue_id,
                             callback=_task_callback(start.notify), echo=echo,
                             kind=TaskKind.WORKFLOW_EXECUTION, task_id=task_id)
        return (await self.jobs.prepare(request))[0]

    async def _queue_notify(self, bucket: Bucket, queue_id: str) -> dict[str, Any] | None:
        """The NotifyConfig of the workflow's queue (used when its Start node has none)."""
        for q in await self.store.queues(bucket.name):
            if q.queue_id == queue_id:
                return dict(q.notify) or None
        return None

    def _event(self, ex: ExecutionRecord, notify: Mapping[str, Any] | None, topo: flow.Topology,
               jobs: Mapping[str, JobRecord], event: str) -> list[Callback]:
        """The WorkflowStart/WorkflowFinish callback of an execution, if its NotifyConfig (or its queue's,
        when the workflow has none) subscribes to it."""
        if self.render is None:
            return []
        target = _target(notify, event)
        if target is None:
            return []
        nodes = ex.detail.get("Nodes") or {}
        view = ExecutionView(ex, [(n, jobs[nodes[n.name]]) for n in topo.nodes if nodes.get(n.name) in jobs],
                             dict(ex.detail.get("Failed") or {}))
        body, ctype = self.render(view, event, str(target["format"]))
        return [Callback(target=target, body=body, content_type=ctype, job_id=ex.run_id)]

    # --- resuming ---------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Advance every Running execution once (after a restart, a lost event, a crash mid-step)."""
        after, seen = 0, 0
        while True:
            page = await self.store.running_executions(after, SWEEP_PAGE)
            for ex in page:
                await self._advance_logged(ex.bucket, ex.run_id)
            seen += len(page)
            if len(page) < SWEEP_PAGE:
                return seen
            after = page[-1].seq

    async def run(self, poll_seconds: float) -> None:
        """Sweep forever (the background task of every node that serves workflows)."""
        while True:
            await self.sweep()
            await asyncio.sleep(poll_seconds)

    async def close(self) -> None:
        """Stop the kicks in flight (their executions resume from the store)."""
        for task in list(self._kicks):
            task.cancel()
        await asyncio.gather(*self._kicks, return_exceptions=True)

    # --- reading ----------------------------------------------------------------------------

    async def get(self, bucket: Bucket, run_id: str) -> ExecutionView:
        """GET /workflowexecution/<RunId>."""
        ex = await self.store.get_execution(bucket.name, run_id.strip())
        if ex is None:
            raise NoSuchResource(f"The workflow execution {run_id} does not exist in bucket {bucket.name}.")
        topo = topology(ex.detail["Topology"])
        nodes = ex.detail.get("Nodes") or {}
        jobs = {j.job_id: j for j in await self.store.get_jobs(bucket.name, list(nodes.values()))}
        return ExecutionView(ex, [(n, jobs[nodes[n.name]]) for n in topo.nodes if nodes.get(n.name) in jobs],
                             dict(ex.detail.get("Failed") or {}))

    async def list(self, bucket: Bucket, params: Mapping[str, str]) -> ExecutionPage:
        """GET /workflowexecution?workflowId=&name=&orderByTime=&states=&size=&nextToken=&...&jobId=."""
        flt = execution_filter(params)
        found = await self.store.list_executions(bucket.name, flt)
        return ExecutionPage(found, token(found[-1].seq) if len(found) == flt.size else "")


def execution_filter(params: Mapping[str, str]) -> ExecutionFilter:
    """The list filters of GET /workflowexecution, each checked."""
    workflow_id, batch_id = (params.get("workflowId") or "").strip(), (params.get("jobId") or "").strip()
    if not workflow_id and not batch_id:
        raise InvalidArgument("workflowId is required")
    states = _states(params.get("states") or "All", STATES)
    times = {name: _time(params, name) for name in ("startCreationTime", "endCreationTime")}
    order = params.get("orderByTime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise InvalidArgument("orderByTime must be Desc or Asc")
    return ExecutionFilter(workflow_id=workflow_id, states=states, start=times["startCreationTime"],
                           end=times["endCreationTime"], ascending=order == "Asc",
                           size=int_param(dict(params), "size", 10, 1, 100),
                           after_seq=untoken(params.get("nextToken") or ""), batch_id=batch_id,
                           object_prefix=params.get("name") or "")


def _states(text: str, known: frozenset[str]) -> frozenset[str]:
    states = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = states - known - {"All"}
    if unknown:
        raise InvalidArgument(f"states {','.join(sorted(unknown))} invalid; use All or {', '.join(sorted(known))}")
    return frozenset() if "All" in states or not states else states


def _time(params: Mapping[str, str], name: str) -> float | None:
    if not params.get(name):
        return None
    try:
        return ids.parse_time(params[name])
    except ValueError as exc:
        raise InvalidArgument(f"{name}: {exc}") from exc


def token(seq: int) -> str:
    """The opaque nextToken after the item of this seq."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def untoken(text: str) -> int | None:
    """The seq of a nextToken (None for none); InvalidArgument for a token this server did not make."""
    if not text:
        return None
    try:
        return int(base64.urlsafe_b64decode(text.encode()).decode().removeprefix("seq:"))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument(f"nextToken {text!r} is invalid") from exc


def cos_headers(meta: ObjectMeta, source: Source) -> list[dict[str, str]]:
    """The CosHeaders an execution records of its object: Content-Type, EventName, Size, x-cos-meta-*."""
    out = [{"Key": "Content-Type", "Value": meta.content_type},
           {"Key": "EventName", "Value": f"cos:ObjectCreated:{source.value}"},
           {"Key": "Size", "Value": str(meta.size)}]
    out += [{"Key": k, "Value": v} for k, v in meta.headers.items() if k.lower().startswith("x-cos-meta-")]
    return out


def _output_of(parent: JobRecord) -> str:
    """The file a finished node produced first (the input of the nodes after it); its input if none."""
    if parent.result and JobResult.is_stored_form(parent.result):
        spec = tags.REGISTRY.get(parent.tag)
        outputs = JobResult.from_json(parent.result).outputs
        for role in (spec.roles if spec is not None else outputs):
            if outputs.get(role):
                return outputs[role][0].key
    return parent.input_object


def _task_callback(notify: Mapping[str, Any] | None) -> dict[str, Any]:
    """A node job's callback fields: the workflow's NotifyConfig (TaskFinish), else the queue's (none here)."""
    if notify is None:
        return {}
    target = _target(notify, "TaskFinish")
    if target is None:
        return {"CallBack": "no"}
    if target["type"] == "TDMQ":
        return {"CallBackType": "TDMQ", "CallBackFormat": target["format"], "CallBackMqConfig": target["mq"]}
    return {"CallBack": target["url"], "CallBackFormat": target["format"]}


def _target(notify: Mapping[str, Any] | None, event: str) -> dict[str, Any] | None:
    if notify is None or str(notify.get("State") or "On") != "On":
        return None
    if event not in [e.strip() for e in str(notify.get("Event") or "").split(",")]:
        return None
    fmt = str(notify.get("ResultFormat") or "XML").upper()
    if str(notify.get("Type") or "Url") == "TDMQ":
        return {"type": "TDMQ", "format": fmt, "mq": {"MqMode": notify.get("MqMode") or "Queue",
                                                      "MqName": notify.get("MqName", ""),
                                                      "MqRegion": notify.get("MqRegion", "")}}
    return {"type": "Url", "url": str(notify.get("Url")), "format": fmt}


def _failure(topo: flow.Topology, jobs: Mapping[str, JobRecord], nodes: Mapping[str, str],
             failed: Mapping[str, str]) -> str:
    """Which nodes failed and why ('' for a successful execution)."""
    parts = [f"node {name} ({topo.node(name).type}) could not be submitted: {why}" for name, why in failed.items()]
    for n in topo.nodes:
        job = jobs.get(nodes.get(n.name, ""))
        if job is not None and job.state != "Success":
            parts.append(f"node {n.name} ({n.type}) {job.state}: {job.code} {job.message}".rstrip())
    return "; ".join(parts)
