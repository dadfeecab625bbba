"""CI API handlers for workflows (/workflow, /triggerworkflow, /workflowexecution) and batch jobs
(/inventorytriggerjob); their routes join the CI route table in handlers.py."""

from __future__ import annotations

from aiohttp import web

from ...app.service import Service
from ...config import Bucket
from ...errors import InvalidArgument, NoSuchResource
from ...storage import safe_key
from ..hosts import Target
from ..keys import SERVICE, STORAGE, VALIDATOR
from ..routes import Route
from ..xmlerrors import xml_response
from . import flow_codec
from .body import read_body
from .flow_presenter import batch_detail, execution_detail, execution_item, workflow_detail


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _bucket(target: Target) -> Bucket:
    if target.bucket is None:
        raise NoSuchResource("This operation needs a bucket host.")
    return target.bucket


async def _body(request: web.Request) -> bytes:
    return await read_body(request)


# --- workflows ----------------------------------------------------------------------------


async def create_workflow(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /workflow."""
    req = flow_codec.workflow_request(await _body(request), request.app[VALIDATOR])
    created = await _service(request).workflows.create(_bucket(target), req)
    return xml_response(request, "Response", {"MediaWorkflow": workflow_detail(created)})


async def put_workflow(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """PUT /workflow/<id>?active= | ?paused= (state) or with a body (full replace)."""
    workflows, bucket = _service(request).workflows, _bucket(target)
    state = "Active" if "active" in request.query else "Paused" if "paused" in request.query else ""
    if state:
        await workflows.set_state(bucket, rest, state)
        return xml_response(request, "Response", {})
    req = flow_codec.workflow_request(await _body(request), request.app[VALIDATOR])
    updated = await workflows.update(bucket, rest, req)
    return xml_response(request, "Response", {"MediaWorkflow": workflow_detail(updated)})


async def describe_workflows(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /workflow?ids=&name=&pageNumber=&pageSize=."""
    page = await _service(request).workflows.describe(_bucket(target), request.query)
    body: dict[str, object] = {"TotalCount": page.total, "PageNumber": page.page, "PageSize": page.size,
                               "MediaWorkflowList": [workflow_detail(w) for w in page.workflows]}
    if page.missing:
        body["NonExistIDs"] = page.missing
    return xml_response(request, "Response", body)


async def describe_workflow(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /workflow/<id>."""
    found = await _service(request).workflows.get(_bucket(target), rest)
    return xml_response(request, "Response", {"TotalCount": 1, "PageNumber": 1, "PageSize": 10,
                                              "MediaWorkflowList": [workflow_detail(found)]})


async def delete_workflow(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """DELETE /workflow/<id>."""
    await _service(request).workflows.delete(_bucket(target), rest)
    return xml_response(request, "Response", {"WorkflowId": rest})


async def trigger_workflow(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /triggerworkflow?workflowId=&object=: an execution for an existing object."""
    bucket, service = _bucket(target), _service(request)
    workflow_id, key = request.query.get("workflowId", "").strip(), request.query.get("object", "")
    if not workflow_id or not key:
        raise InvalidArgument("workflowId and object are required")
    extra = sorted(set(request.query) - {"workflowId", "object", "name"})
    if extra:
        raise InvalidArgument(f"{extra[0]} is not a parameter of triggerworkflow")
    workflow = await service.workflows.get(bucket, workflow_id)
    meta = await request.app[STORAGE].head(bucket.name, safe_key(key))
    run = await service.executions.trigger(bucket, workflow, meta.key, meta)
    return xml_response(request, "Response", {"InstanceId": run.run_id})


# --- executions ---------------------------------------------------------------------------


async def list_executions(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /workflowexecution?workflowId=&name=&orderByTime=&states=&size=&nextToken=&...&jobId=."""
    page = await _service(request).executions.list(_bucket(target), request.query)
    return xml_response(request, "Response", {"WorkflowExecutionList": [execution_item(e) for e in page.executions],
                                              "NextToken": page.next_token})


async def describe_execution(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /workflowexecution/<RunId>."""
    view = await _service(request).executions.get(_bucket(target), rest)
    return xml_response(request, "Response", {"WorkflowExecution": execution_detail(view)})


# --- batch jobs ---------------------------------------------------------------------------


async def create_batch(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """POST /inventorytriggerjob."""
    req = flow_codec.batch_request(await _body(request), request.app[VALIDATOR])
    batches = _service(request).batches
    created = await batches.create(_bucket(target), req)
    view = await batches.describe(_bucket(target), created.batch_id)
    return xml_response(request, "Response", {"JobsDetail": batch_detail(view)})


async def list_batches(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /inventorytriggerjob?type=&orderByTime=&states=&size=&nextToken=&workflowId=&jobId=."""
    page = await _service(request).batches.list(_bucket(target), request.query)
    return xml_response(request, "Response", {"JobsDetail": [batch_detail(v) for v in page.batches],
                                              "NextToken": page.next_token})


async def describe_batch(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """GET /inventorytriggerjob/<id>."""
    view = await _service(request).batches.describe(_bucket(target), rest)
    return xml_response(request, "Response", {"JobsDetail": batch_detail(view)})


async def cancel_batch(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """PUT /inventorytriggerjob/<id>[?cancel]: cancel, whatever the query (the Go SDK sends none)."""
    await _service(request).batches.cancel(_bucket(target), rest)
    return web.Response(status=200)


ROUTES = [
    Route(("POST",), "workflow", create_workflow),
    Route(("GET",), "workflow", describe_workflows),
    Route(("GET",), "workflow", describe_workflow, rest=True),
    Route(("PUT",), "workflow", put_workflow, rest=True),
    Route(("DELETE",), "workflow", delete_workflow, rest=True),
    Route(("POST",), "triggerworkflow", trigger_workflow),
    Route(("GET",), "workflowexecution", list_executions),
    Route(("GET",), "workflowexecution", describe_execution, rest=True),
    Route(("POST",), "inventorytriggerjob", create_batch),
    Route(("GET",), "inventorytriggerjob", list_batches),
    Route(("GET",), "inventorytriggerjob", describe_batch, rest=True),
    Route(("PUT",), "inventorytriggerjob", cancel_batch, rest=True),
]
