"""CI API handlers on the bucket host, and their route table: /jobs, /queue, /template, /mediabucket, /pm3u8,
and (flows.py) /workflow, /triggerworkflow, /workflowexecution, /inventorytriggerjob."""

from __future__ import annotations

from aiohttp import web

from ...app.service import Service
from ...config import Bucket
from ...errors import NoSuchResource
from ..cos.ci_process import pm3u8_ci
from ..cosfamily import CosFamily
from ..hosts import Target
from ..keys import ACCOUNT, SERVICE, SETTINGS, VALIDATOR
from ..routes import Route, RouteTable
from ..xmlerrors import xml_response
from . import codec, flows
from .body import read_body
from .presenter import job_detail, queue_detail, template_detail

ASR_TAG = "SpeechRecognition"


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _bucket(target: Target) -> Bucket:
    if target.bucket is None:
        raise NoSuchResource("This operation needs a bucket host.")
    return target.bucket


# --- jobs ---------------------------------------------------------------------------------


async def submit_jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /jobs: one job, or one per tagged Operation."""
    job_request = codec.job_request(_bucket(target), await read_body(request), request.app[VALIDATOR])
    created = await _service(request).jobs.submit(job_request)
    return xml_response(request, "Response", {"JobsDetail": [job_detail(j) for j in created]})


async def list_jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /jobs?tag=&states=&...: a page of jobs and the next page's token."""
    page = await _service(request).jobs.list(_bucket(target), dict(request.query))
    return xml_response(request, "Response", {"JobsDetail": [job_detail(j) for j in page.jobs],
                                              "NextToken": page.next_token})


async def describe_jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /jobs/<id>[,<id>...]: the jobs, and NonExistJobIds."""
    found, missing = await _service(request).jobs.describe(_bucket(target), rest)
    body: dict[str, object] = {"JobsDetail": [job_detail(j) for j in found]}
    if missing:
        body["NonExistJobIds"] = ",".join(missing)
    return xml_response(request, "Response", body)


async def cancel_jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """PUT /jobs/<id>[,<id>...]?cancel."""
    await _service(request).jobs.cancel(_bucket(target), rest)
    return web.Response(status=200)


async def list_asr_jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /asr_jobs?...: the legacy ASR list, GET /jobs with tag=SpeechRecognition."""
    page = await _service(request).jobs.list(_bucket(target), {**request.query, "tag": ASR_TAG})
    return xml_response(request, "Response", {"JobsDetail": [job_detail(j) for j in page.jobs],
                                              "NextToken": page.next_token})


# --- queues -------------------------------------------------------------------------------


async def describe_queues(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /queue?queueIds=&state=&pageNumber=&pageSize=."""
    page = await _service(request).queues.describe(_bucket(target), dict(request.query))
    body: dict[str, object] = {"TotalCount": page.total, "PageNumber": page.page, "PageSize": page.size,
                               "QueueList": [queue_detail(q) for q in page.queues]}
    if page.missing:
        body["NonExistPIDs"] = page.missing
    return xml_response(request, "Response", body)


async def update_queue(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """PUT /queue/<id>: Name, State, NotifyConfig."""
    change = codec.queue_update(await read_body(request))
    q = await _service(request).queues.update(_bucket(target), rest, change)
    return xml_response(request, "Response", {"Queue": queue_detail(q)})


# --- media buckets ------------------------------------------------------------------------


async def media_buckets(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /mediabucket: every configured bucket counts as media-enabled."""
    settings = request.app[SETTINGS]
    account = request[ACCOUNT]
    names = {n for n in (request.query.get("bucketNames") or "").split(",") if n}
    prefix = request.query.get("bucketName") or ""
    regions = {r for r in (request.query.get("regions") or "").split(",") if r}
    rows = [b for b in settings.buckets if b.appid == account.appid and (not names or b.name in names)
            and b.name.startswith(prefix) and (not regions or b.region in regions)]
    items = [{"BucketId": b.name, "Name": b.name, "Region": b.region, "CreateTime": "-"} for b in rows]
    return xml_response(request, "Response", {"TotalCount": len(items), "PageNumber": 1,
                                              "PageSize": max(len(items), 10), "MediaBucketList": items})


# --- templates ----------------------------------------------------------------------------


async def create_template(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /template."""
    req = codec.template_request(await read_body(request), request.app[VALIDATOR])
    created = await _service(request).templates.create(_bucket(target), req)
    return xml_response(request, "Response", {"Template": template_detail(created)})


async def describe_templates(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /template?category=&ids=&name=&tag=&pageNumber=&pageSize=."""
    page, total, number, size = await _service(request).templates.describe(_bucket(target), dict(request.query))
    return xml_response(request, "Response", {"TotalCount": total, "PageNumber": number, "PageSize": size,
                                              "TemplateList": [template_detail(t) for t in page]})


async def describe_template(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /template/<id>."""
    found = await _service(request).templates.get(_bucket(target), rest)
    return xml_response(request, "Response", {"TotalCount": 1, "PageNumber": 1, "PageSize": 10,
                                              "TemplateList": [template_detail(found)]})


async def update_template(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """PUT /template/<id>: a full replace."""
    req = codec.template_request(await read_body(request), request.app[VALIDATOR])
    updated = await _service(request).templates.update(_bucket(target), rest, req)
    return xml_response(request, "Response", {"Template": template_detail(updated)})


async def delete_template(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """DELETE /template/<id>."""
    await _service(request).templates.delete(_bucket(target), rest)
    return xml_response(request, "Response", {"TemplateId": rest})


ALL_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
ROUTES = RouteTable([
    Route(("POST",), "jobs", submit_jobs),
    Route(("GET",), "jobs", list_jobs),
    Route(("GET",), "jobs", describe_jobs, rest=True),
    Route(("PUT",), "jobs", cancel_jobs, rest=True),
    Route(("POST",), "asr_jobs", submit_jobs),  # the legacy ASR paths of ci_create/get/list_asr_job(s)
    Route(("GET",), "asr_jobs", list_asr_jobs),
    Route(("GET",), "asr_jobs", describe_jobs, rest=True),
    Route(("GET",), "queue", describe_queues),
    Route(("PUT", "POST"), "queue", update_queue, rest=True),
    Route(("GET",), "mediabucket", media_buckets),
    Route(("POST",), "template", create_template),
    Route(("GET",), "template", describe_templates),
    Route(("GET",), "template", describe_template, rest=True),
    Route(("PUT",), "template", update_template, rest=True),
    Route(("DELETE",), "template", delete_template, rest=True),
    Route(ALL_METHODS, "pm3u8", pm3u8_ci),  # it answers other methods and paths itself, with the usage
    Route(ALL_METHODS, "pm3u8", pm3u8_ci, rest=True),
    *flows.ROUTES,
])


class CiProtocol(CosFamily):
    """CI's XML job API."""

    name = "ci"

    async def route(self, request: web.Request, target: Target) -> web.StreamResponse:
        """Dispatch by the declared route table."""
        handler, rest = ROUTES.find(request.method, request.path)
        return await handler(request, target, rest)
