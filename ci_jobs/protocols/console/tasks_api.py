"""The console's task API: the filtered list, one task, create, restart, end, bulk actions, the chart."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ... import ids, tags
from ...app.console_queries import TaskFilter
from ...app.requests import JobRequest, Operation
from ...errors import InvalidArgument, NoSuchResource
from ...presets import OFFICIAL
from . import chart, views
from .body import json_object
from .state import Call

PAGE = 20
CREATABLE = ("Transcode", "Snapshot", "Animation", "Segment", "MediaInfo")


def task_filter(query: Any) -> TaskFilter:
    """The list's filters from the query string (status labels as the page shows them)."""
    labels = [s for s in str(query.get("status", "")).split(",") if s]
    unknown = [s for s in labels if s not in views.BY_LABEL]
    if unknown:
        raise InvalidArgument(f"status {unknown[0]!r} must be one of {', '.join(views.BY_LABEL)}")
    return TaskFilter(search=str(query.get("search", "")).strip(), states=frozenset(views.BY_LABEL[s] for s in labels),
                      tag=str(query.get("tag", "")), queue_id=str(query.get("queue", "")),
                      start=_time(query, "from"), end=_time(query, "to"))


def _time(query: Any, name: str) -> float | None:
    raw = str(query.get(name, "")).strip()
    if not raw:
        return None
    try:
        return float(raw) if raw.replace(".", "", 1).isdigit() else ids.parse_time(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: {exc}") from exc


async def list_tasks(call: Call) -> web.StreamResponse:
    """GET /console/api/tasks: one page of a bucket's tasks, newest first, and the cursor of the next."""
    bucket = call.bucket()
    before = call.request.query.get("before")
    size = int(call.request.query.get("size") or PAGE)
    started = time.perf_counter()
    page = await call.console.queries.page(bucket, task_filter(call.request.query), size,
                                           int(before) if before else None)
    return web.json_response({"Bucket": bucket.name, "Tasks": [views.task_row(v) for v in page.tasks],
                              "Next": page.next_before, "Scanned": page.scanned,
                              "Ms": round((time.perf_counter() - started) * 1000, 1)})


async def get_task(call: Call) -> web.StreamResponse:
    """GET /console/api/tasks/<bucket>/<task>: the task and its subtask list."""
    view = await call.console.service.jobs.task(call.bucket(), call.params["task"])
    if view is None:
        raise NoSuchResource(f"task {call.params['task']} does not exist")
    callbacks = await call.console.service.store.job_callbacks([j.job_id for j in view.jobs])
    return web.json_response(views.task_detail(view, callbacks))


async def resend_callback(call: Call) -> web.StreamResponse:
    """POST /console/api/callbacks/<bucket>/<job>/<id>/resend: a dead letter of this job is sent again now."""
    store = call.console.service.store
    job_id, raw = call.params["job"], call.params["callback"]
    if not await store.get_jobs(call.bucket().name, [job_id]):
        raise NoSuchResource(f"job {job_id} does not exist")
    mine = {str(c.callback.callback_id): c for c in await store.job_callbacks([job_id])}
    found = mine.get(raw)
    if found is None:
        raise NoSuchResource(f"job {job_id} has no callback {raw}")
    if found.state != "dead" or not await store.resend_callback(found.callback.callback_id, time.time()):
        raise InvalidArgument(f"callback {raw} is no dead letter: only those are re-sent")
    return web.json_response({"Id": found.callback.callback_id, "State": "Waiting"})


async def create_task(call: Call) -> web.StreamResponse:
    """POST /console/api/tasks/<bucket>: one job on an object (a preset, a custom template or parameters)."""
    bucket = call.bucket()
    body = await json_object(call.request)
    tag = str(body.get("tag", ""))
    if tag not in CREATABLE:
        raise InvalidArgument(f"tag must be one of {', '.join(CREATABLE)}")
    params: dict[str, Any] = {}
    template = str(body.get("template", "")).strip()
    custom = body.get("parameters")
    if template:
        params["TemplateId"] = template
    elif isinstance(custom, dict) and custom:
        params[tags.spec(tag).container or tag] = custom
    elif tag != "MediaInfo":
        raise InvalidArgument("choose a template or give the parameters")
    output = str(body.get("output", "")).strip()
    if tag != "MediaInfo":
        if not output:
            raise InvalidArgument("the output path is required")
        params["Output"] = {"Region": bucket.region, "Bucket": bucket.name, "Object": output}
        sprite = str(body.get("sprite", "")).strip()
        if sprite:
            params["Output"]["SpriteObject"] = sprite
    request = JobRequest(bucket=bucket, input_key=str(body.get("input", "")), operations=(Operation(tag, params),),
                         queue_id=str(body.get("queue", "")), detail={"Console": call.account.secret_id})
    jobs = await call.console.service.jobs.submit(request)
    return web.json_response({"TaskId": jobs[0].task_id, "Bucket": bucket.name})


async def restart(call: Call) -> web.StreamResponse:
    """POST .../restart: the completed task's subtasks run again as a new task (RestartOf the old one)."""
    view = await call.console.queries.restart(call.bucket(), call.params["task"])
    return web.json_response(views.task_row(view))


async def end(call: Call) -> web.StreamResponse:
    """POST .../end: cancel a waiting task."""
    view = await call.console.queries.end(call.bucket(), call.params["task"])
    return web.json_response(views.task_row(view))


async def bulk(call: Call) -> web.StreamResponse:
    """POST /console/api/bulk/<bucket>: restart or end the selected tasks, or every filtered one."""
    bucket = call.bucket()
    body = await json_object(call.request)
    if body.get("all"):
        chosen = body.get("filter") or {}
        if not isinstance(chosen, dict):
            raise InvalidArgument("filter must be an object of the list's filters (status, search, tag, ...)")
        task_ids = await call.console.queries.filtered_ids(bucket, task_filter(chosen))
    else:
        ids = body.get("ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgument("ids must be a list of task ids")
        task_ids = ids
    outcome = await call.console.queries.bulk(bucket, str(body.get("action", "")), task_ids)
    return web.json_response({"Results": outcome})


async def options(call: Call) -> web.StreamResponse:
    """GET /console/api/options/<bucket>: what the create form offers (Tags, presets, custom templates, queues)."""
    bucket = call.bucket()
    service = call.console.service
    templates: dict[str, list[dict[str, str]]] = {}
    for tag in CREATABLE:
        presets = [{"Id": t.template_id, "Name": t.name} for t in OFFICIAL.values() if t.tag == tag]
        mine, _ = await service.store.list_templates(bucket.name, tag, "", [], 0, 100)
        templates[tag] = presets + [{"Id": t.template_id, "Name": t.name} for t in mine]
    queues = await service.store.queues(bucket.name)
    return web.json_response({"Tags": list(CREATABLE), "AllTags": sorted(tags.REGISTRY), "Templates": templates,
                              "Queues": [{"Id": q.queue_id, "Name": q.name} for q in queues]})


async def throughput(call: Call) -> web.StreamResponse:
    """GET /console/api/chart/<bucket>: the last hour as an SVG."""
    data = await call.console.queries.throughput(call.bucket())
    return web.Response(text=chart.svg(data), content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})
