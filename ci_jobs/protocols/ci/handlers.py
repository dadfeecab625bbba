"""CI API handlers on the bucket host: /jobs, /queue, /mediabucket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ...app.service import Service
from ...errors import EntityTooLarge, MethodNotAllowed, NoSuchResource
from ...xmlio import MAX_BODY
from ..cos.ci_process import pm3u8_ci
from ..hosts import Target
from ..keys import ACCOUNT, SERVICE, SETTINGS, VALIDATOR
from ..xmlerrors import xml_response
from . import codec
from .presenter import job_detail, queue_detail, template_detail

Handler = Callable[[web.Request, Target, str], Awaitable[web.StreamResponse]]


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """Read a CI request body, refusing more than `limit` bytes without buffering them."""
    if request.content_length is not None and request.content_length > limit:
        raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _bucket(target: Target):  # type: ignore[no-untyped-def]
    if target.bucket is None:
        raise NoSuchResource("This operation needs a bucket host.")
    return target.bucket


async def jobs(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /jobs, GET /jobs, GET /jobs/<ids>, PUT /jobs/<ids>?cancel."""
    bucket = _bucket(target)
    svc = _service(request)
    if request.method == "POST" and not rest:
        job_request = codec.job_request(bucket, await read_body(request), request.app[VALIDATOR])
        created = await svc.jobs.submit(job_request)
        return xml_response(request, "Response", {"JobsDetail": [job_detail(j) for j in created]})
    if request.method == "GET" and not rest:
        page = await svc.jobs.list(bucket, dict(request.query))
        return xml_response(request, "Response", {"JobsDetail": [job_detail(j) for j in page.jobs],
                                                  "NextToken": page.next_token})
    if request.method == "GET":
        found, missing = await svc.jobs.describe(bucket, rest)
        body: dict[str, object] = {"JobsDetail": [job_detail(j) for j in found]}
        if missing:
            body["NonExistJobIds"] = ",".join(missing)
        return xml_response(request, "Response", body)
    if request.method == "PUT" and rest:
        await svc.jobs.cancel(bucket, rest)
        return web.Response(status=200)
    raise MethodNotAllowed()


async def queue(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /queue and PUT /queue/<id>."""
    bucket = _bucket(target)
    svc = _service(request)
    if request.method == "GET" and not rest:
        page = await svc.queues.describe(bucket, dict(request.query))
        body: dict[str, object] = {"TotalCount": page.total, "PageNumber": page.page, "PageSize": page.size,
                                   "QueueList": [queue_detail(q) for q in page.queues]}
        if page.missing:
            body["NonExistPIDs"] = page.missing
        return xml_response(request, "Response", body)
    if request.method in ("PUT", "POST") and rest:
        q = await svc.queues.update(bucket, rest, codec.queue_update(await read_body(request)))
        return xml_response(request, "Response", {"Queue": queue_detail(q)})
    raise MethodNotAllowed()


async def mediabucket(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
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


async def template(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /template, GET /template, PUT /template/<id>, DELETE /template/<id>."""
    bucket = _bucket(target)
    templates = _service(request).templates
    if request.method == "POST" and not rest:
        created = await templates.create(bucket, codec.template_request(await read_body(request),
                                                                         request.app[VALIDATOR]))
        return xml_response(request, "Response", {"Template": template_detail(created)})
    if request.method == "GET" and not rest:
        page, total, number, size = await templates.describe(bucket, dict(request.query))
        return xml_response(request, "Response", {"TotalCount": total, "PageNumber": number, "PageSize": size,
                                                  "TemplateList": [template_detail(t) for t in page]})
    if request.method == "GET":
        found = await templates.get(bucket, rest)
        return xml_response(request, "Response", {"TotalCount": 1, "PageNumber": 1, "PageSize": 10,
                                                  "TemplateList": [template_detail(found)]})
    if request.method == "PUT" and rest:
        updated = await templates.update(bucket, rest, codec.template_request(await read_body(request),
                                                                               request.app[VALIDATOR]))
        return xml_response(request, "Response", {"Template": template_detail(updated)})
    if request.method == "DELETE" and rest:
        await templates.delete(bucket, rest)
        return xml_response(request, "Response", {"TemplateId": rest})
    raise MethodNotAllowed()


ROUTES: dict[str, Handler] = {"jobs": jobs, "queue": queue, "mediabucket": mediabucket, "template": template,
                              "pm3u8": pm3u8_ci}


async def handle(request: web.Request, target: Target) -> web.StreamResponse:
    """Dispatch a CI request by its first path segment."""
    root, _, rest = request.path.lstrip("/").partition("/")
    handler = ROUTES.get(root)
    if handler is None:
        raise NoSuchResource(f"/{root} is not supported by this server.")
    return await handler(request, target, rest.strip("/"))
