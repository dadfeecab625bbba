"""The use cases: submit, describe, list and cancel jobs; describe and update queues.

Validates bodies against schemas/ and the media rules, resolves queues, and writes the store.
Knows nothing of HTTP; raises ci_jobs.errors exceptions that the API layer maps.
"""

from __future__ import annotations

import base64
import binascii
import copy
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from . import ids, tags, xmlio
from .config import Bucket, Settings
from .errors import InvalidArgument, NoSuchQueue
from .outbound import check_url
from .storage import Storage, safe_key
from .store import JobFilter, JobRecord, JobState, QueueRecord, Store
from .templates import Templates
from .templates import inline as template_inline
from .validation import Validator

DEFAULT_QUEUE = "queue-1"
MAX_OPERATIONS = 6
MAX_IDS = 10
STATES = frozenset(s.value for s in JobState)


@dataclass(frozen=True)
class QueuePage:
    """A page of queues plus the ids that were asked for but do not exist."""

    queues: list[QueueRecord]
    total: int
    page: int
    size: int
    missing: list[str]


class Service:
    """Job and queue use cases over a Store and a Storage."""

    def __init__(self, settings: Settings, store: Store, storage: Storage, validator: Validator) -> None:
        self.settings = settings
        self.store = store
        self.storage = storage
        self.validator = validator
        self.templates = Templates(store, validator)
        self._queue_ids: dict[str, dict[str, QueueRecord]] = {}

    # --- setup ------------------------------------------------------------------------------

    async def ensure_queues(self, queues_dir: Path | None) -> None:
        """Create every bucket's default queue and the queues declared in queues/<bucket>.toml."""
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)
            await self.store.ensure_queue(bucket.name, DEFAULT_QUEUE,
                                          self.settings.scheduler.default_max_concurrent)
            for name, max_concurrent in _declared(queues_dir, bucket.name):
                await self.store.ensure_queue(bucket.name, name, max_concurrent)

    async def reset(self) -> None:
        """Wipe jobs, callbacks, queue settings and objects."""
        await self.store.reset()
        await self.storage.reset()
        for bucket in self.settings.buckets:
            await self.storage.ensure_bucket(bucket.name)

    # --- jobs -------------------------------------------------------------------------------

    async def submit(self, bucket: Bucket, body: bytes) -> list[JobRecord]:
        """Validate a POST /jobs body (one Operation, or up to 6 tagged ones) and commit its jobs atomically."""
        requests = _split_operations(xmlio.parse(body))
        jobs = [await self._prepare(bucket, root) for root in requests]
        return await self.store.insert_jobs(jobs)

    async def _prepare(self, bucket: Bucket, root: etree._Element) -> JobRecord:
        tag = self.validator.validate(root)
        request = xmlio.to_dict(root)
        if not isinstance(request, dict):
            raise InvalidArgument("Request must contain elements")
        operation = request.get("Operation") or {}
        resolved = await self._resolve_templates(bucket, tag, operation)
        self._check_operation(bucket, tag, resolved)
        queue = await self._queue_for(bucket, str(request.get("QueueId") or ""))
        self._check_callback(request)
        raw_key = (request.get("Input") or {}).get("Object", "")
        key = _key("Request.Input.Object", raw_key) if raw_key or tags.spec(tag).needs_input else ""
        spec: dict[str, Any] = {"Tag": tag, "Input": {"Object": key, "BucketId": bucket.name,
                                                      "Region": bucket.region}}
        if not key:
            del spec["Input"]["Object"]  # Concat may come without an Input
        spec["Operation"] = operation
        if resolved is not operation:
            spec["Resolved"] = resolved
        for name in ("QueueType", "CallBack", "CallBackFormat", "CallBackType", "CallBackMqConfig"):
            if request.get(name):
                spec[name] = request[name]
        return JobRecord(job_id=ids.new_id("j"), bucket=bucket.name, queue_id=queue.queue_id, tag=tag,
                         state=JobState.SUBMITTED, level=int(operation.get("JobLevel") or 0), created=time.time(),
                         spec=spec)

    async def _resolve_templates(self, bucket: Bucket, tag: str, operation: dict[str, Any]) -> dict[str, Any]:
        """The operation the processor runs: TemplateId wins over inline parameters, and
        WatermarkTemplateId over Watermark. The echo gains TemplateName."""
        template_id = str(operation.get("TemplateId") or "").strip()
        wm_ids = [str(i).strip() for i in xmlio.as_list(operation.get("WatermarkTemplateId")) if str(i).strip()]
        if not template_id and not wm_ids:
            return operation
        resolved = copy.deepcopy(operation)
        if template_id:
            t = await self.templates.get(bucket, template_id)
            if t.tag != tag:
                raise InvalidArgument(f"Request.Operation.TemplateId {template_id} is a {t.tag} template, "
                                      f"not a {tag} one")
            resolved[tags.TEMPLATE_KINDS[t.tag].inline] = template_inline(t)
            operation["TemplateName"] = t.name
        if wm_ids:
            if len(wm_ids) > 3:
                raise InvalidArgument("Request.Operation.WatermarkTemplateId may occur at most 3 times")
            marks = []
            for wm in wm_ids:
                t = await self.templates.get(bucket, wm)
                if t.tag != tags.watermark.NAME:
                    raise InvalidArgument(f"Request.Operation.WatermarkTemplateId {wm} is a {t.tag} template")
                marks.append(template_inline(t))
            resolved["Watermark"] = marks if len(marks) > 1 else marks[0]
        return resolved

    def _check_operation(self, bucket: Bucket, tag: str, operation: dict[str, Any]) -> None:
        tags.check_operation(tag, operation)
        out = operation.get("Output")
        if isinstance(out, dict):
            target = self.settings.bucket(str(out.get("Bucket", "")))
            if target is None or target.appid != bucket.appid:
                raise InvalidArgument(f"Request.Operation.Output.Bucket {out.get('Bucket')} does not exist "
                                      "or belongs to another account")
            if out.get("Region") and out["Region"] != target.region:
                raise InvalidArgument(f"Request.Operation.Output.Region {out['Region']} does not match the "
                                      f"region {target.region} of bucket {target.name}")
            for field in ("Object", "SpriteObject"):
                if out.get(field):
                    _key(f"Request.Operation.Output.{field}", out[field])
        user_data = str(operation.get("UserData") or "")
        if len(user_data) > 1024:
            raise InvalidArgument("Request.Operation.UserData is longer than 1024 characters")

    def _check_callback(self, request: dict[str, Any]) -> None:
        url = str(request.get("CallBack") or "")
        kind = str(request.get("CallBackType") or "Url")
        if kind == "TDMQ" and not isinstance(request.get("CallBackMqConfig"), dict):
            raise InvalidArgument("Request.CallBackMqConfig is required when CallBackType is TDMQ")
        if url and url.lower() != "no" and kind != "TDMQ":
            check_url(url, self.settings.callbacks.policy)

    async def _queue_for(self, bucket: Bucket, queue_id: str) -> QueueRecord:
        # Queues are never deleted, so a known id stays valid; the queue's state is applied by the
        # store inside the insert itself, so a cached record can never make a job skip a pause.
        cached = self._queue_ids.get(bucket.name, {})
        hit = cached.get(queue_id or DEFAULT_QUEUE)
        if hit is not None:
            return hit
        queues = await self.store.queues(bucket.name)
        by_id = {q.queue_id: q for q in queues}
        for q in queues:
            if q.name == DEFAULT_QUEUE:
                by_id[DEFAULT_QUEUE] = q
        self._queue_ids[bucket.name] = by_id
        if not queue_id:
            for q in queues:
                if q.name == DEFAULT_QUEUE:
                    return q
            return queues[0]
        for q in queues:
            if q.queue_id == queue_id:
                return q
        raise InvalidArgument(f"Request.QueueId {queue_id} does not exist in bucket {bucket.name}")

    async def describe(self, bucket: Bucket, job_ids: str) -> tuple[list[JobRecord], list[str]]:
        """Jobs by comma-separated ids, and the ids that do not exist."""
        wanted = [i.strip() for i in job_ids.split(",") if i.strip()]
        if not wanted or len(wanted) > MAX_IDS:
            raise InvalidArgument(f"between 1 and {MAX_IDS} job ids are required")
        found = await self.store.get_jobs(bucket.name, wanted)
        have = {j.job_id for j in found}
        return found, [i for i in wanted if i not in have]

    async def list_jobs(self, bucket: Bucket, params: dict[str, str]) -> tuple[list[JobRecord], str]:
        """A page of jobs for GET /jobs, and the token of the next page ('' at the end)."""
        flt = _job_filter(params)
        jobs = await self.store.list_jobs(bucket.name, flt)
        token = _token(jobs[-1].seq) if len(jobs) == flt.size else ""
        return jobs, token

    async def cancel(self, bucket: Bucket, job_ids: str) -> None:
        """Cancel jobs: waiting ones at once, running ones within a heartbeat."""
        wanted = [i.strip() for i in job_ids.split(",") if i.strip()]
        if not wanted or len(wanted) > MAX_IDS:
            raise InvalidArgument(f"between 1 and {MAX_IDS} job ids are required")
        for job_id in wanted:
            job = await self.store.cancel_job(bucket.name, job_id, time.time())
            if job is None:
                raise InvalidArgument(f"job {job_id} does not exist")
            if job.state in (JobState.SUCCESS, JobState.FAILED):
                raise InvalidArgument(f"job {job_id} has already finished ({job.state}) and cannot be cancelled")

    # --- queues -----------------------------------------------------------------------------

    async def describe_queues(self, bucket: Bucket, params: dict[str, str]) -> QueuePage:
        """GET /queue: filter by ids and state, page by number."""
        queues = await self.store.queues(bucket.name)
        wanted = [i for i in (params.get("queueIds") or "").split(",") if i]
        if len(wanted) > MAX_IDS:
            raise InvalidArgument(f"at most {MAX_IDS} queueIds are allowed")
        missing = [i for i in wanted if i not in {q.queue_id for q in queues}]
        if wanted:
            queues = [q for q in queues if q.queue_id in wanted]
        state = params.get("state") or "All"
        if state not in ("All", "Active", "Paused"):
            raise InvalidArgument(f"state {state!r} must be All, Active or Paused")
        if state != "All":
            queues = [q for q in queues if q.state == state]
        page, size = _int(params, "pageNumber", 1, 1, 10**6), _int(params, "pageSize", 10, 1, 100)
        start = (page - 1) * size
        return QueuePage(queues[start:start + size], len(queues), page, size, missing)

    async def update_queue(self, bucket: Bucket, queue_id: str, body: bytes) -> QueueRecord:
        """PUT /queue/<id>: Name, State (Active/Paused) and NotifyConfig."""
        request = xmlio.to_dict(xmlio.parse(body))
        if not isinstance(request, dict):
            raise InvalidArgument("Request.Name is required")
        name = str(request.get("Name") or "").strip()
        state = str(request.get("State") or "").strip()
        if not name or len(name.encode()) > 128:
            raise InvalidArgument("Request.Name is required (at most 128 bytes)")
        if state not in ("Active", "Paused"):
            raise InvalidArgument(f"Request.State must be Active or Paused, not {state!r}")
        notify = self._notify_config(request.get("NotifyConfig"))
        queue = await self.store.update_queue(bucket.name, queue_id, name, state, notify, time.time())
        if queue is None:
            raise NoSuchQueue(f"queue {queue_id} does not exist")
        return queue

    def _notify_config(self, value: Any) -> dict[str, str]:
        cfg = {k: str(v) for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}
        if cfg.get("State", "Off") not in ("On", "Off"):
            raise InvalidArgument("Request.NotifyConfig.State must be On or Off")
        if cfg.get("ResultFormat") and cfg["ResultFormat"].upper() not in ("XML", "JSON"):
            raise InvalidArgument("Request.NotifyConfig.ResultFormat must be XML or JSON")
        if cfg.get("State") == "On":
            kind = cfg.get("Type") or "Url"
            if kind not in ("Url", "TDMQ"):
                raise InvalidArgument("Request.NotifyConfig.Type must be Url or TDMQ")
            if kind == "Url":
                if not cfg.get("Url"):
                    raise InvalidArgument("Request.NotifyConfig.Url is required when Type is Url")
                check_url(cfg["Url"], self.settings.callbacks.policy, "Request.NotifyConfig.Url")
            elif not cfg.get("MqName"):
                raise InvalidArgument("Request.NotifyConfig.MqName is required when Type is TDMQ")
            if not cfg.get("Event"):
                raise InvalidArgument("Request.NotifyConfig.Event is required when State is On")
        return cfg


def _split_operations(root: etree._Element) -> list[etree._Element]:
    """One Request per job: the body itself, or one per tagged Operation of the multi-job form."""
    ops = [c for c in root if c.tag == "Operation"]
    if root.find("Tag") is not None or not ops or all(op.find("Tag") is None for op in ops):
        return [root]
    if len(ops) > MAX_OPERATIONS:
        raise InvalidArgument(f"Request.Operation may occur at most {MAX_OPERATIONS} times")
    shared = [c for c in root if c.tag != "Operation"]
    out = []
    for op in ops:
        tag = op.find("Tag")
        if tag is None:
            raise InvalidArgument("Request.Operation.Tag is required when a request carries several Operations")
        req = etree.Element("Request")
        etree.SubElement(req, "Tag").text = tag.text
        for c in shared:
            req.append(copy.deepcopy(c))
        single = copy.deepcopy(op)
        single.remove(single.find("Tag"))
        req.append(single)
        out.append(req)
    return out


def _key(where: str, value: Any) -> str:
    try:
        return safe_key(str(value))
    except InvalidArgument as exc:
        raise InvalidArgument(f"{where} is invalid: {exc.message}") from exc


def _declared(queues_dir: Path | None, bucket: str) -> list[tuple[str, int]]:
    if queues_dir is None:
        return []
    path = queues_dir / f"{bucket}.toml"
    if not path.is_file():
        return []
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    out = []
    for q in data.get("queues", []):
        if not isinstance(q, dict) or not q.get("name"):
            raise InvalidArgument(f"{path}: every [[queues]] entry needs a name")
        out.append((str(q["name"]), int(q.get("max_concurrent", 10))))
    return out


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name} must be an integer, not {raw!r}") from exc
    if not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low} and {high}")
    return value


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _untoken(token: str) -> int | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        return int(text.removeprefix("seq:"))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument(f"nextToken {token!r} is invalid") from exc


def _job_filter(params: dict[str, str]) -> JobFilter:
    tag = (params.get("tag") or "").strip()
    if not tag:
        raise InvalidArgument("tag is required")
    states = frozenset(s.strip() for s in (params.get("states") or "All").split(",") if s.strip())
    unknown = states - STATES - {"All"}
    if unknown:
        raise InvalidArgument(f"states {','.join(sorted(unknown))} invalid; use All or {', '.join(sorted(STATES))}")
    order = params.get("orderByTime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise InvalidArgument("orderByTime must be Desc or Asc")
    times = {}
    for name in ("startCreationTime", "endCreationTime"):
        if params.get(name):
            try:
                times[name] = ids.parse_time(params[name])
            except ValueError as exc:
                raise InvalidArgument(f"{name}: {exc}") from exc
    return JobFilter(tag=tag, queue_id=params.get("queueId") or "",
                     states=frozenset() if "All" in states else states,
                     start=times.get("startCreationTime"), end=times.get("endCreationTime"),
                     ascending=order == "Asc", size=_int(params, "size", 10, 1, 100),
                     after_seq=_untoken(params.get("nextToken") or ""),
                     input_object=params.get("inputObject") or "")
