"""The console's queue controls: list with running counts, pause, resume and MaxConcurrent."""

from __future__ import annotations

from aiohttp import web

from ...app.requests import QueueUpdate
from ...errors import InvalidArgument, NoSuchQueue
from .body import json_object
from .state import Call


async def list_queues(call: Call) -> web.StreamResponse:
    """GET /console/api/queues/<bucket>."""
    bucket = call.bucket()
    queues = await call.console.service.store.queues(bucket.name)
    return web.json_response({"Queues": [{"Id": q.queue_id, "Name": q.name, "State": q.state,
                                          "MaxConcurrent": q.max_concurrent, "Running": q.running,
                                          "Category": q.category} for q in queues]})


async def change_queue(call: Call) -> web.StreamResponse:
    """POST /console/api/queues/<bucket>/<queue>: {"state": "Active"|"Paused"} and/or {"maxConcurrent": n}."""
    bucket = call.bucket()
    body = await json_object(call.request)
    service = call.console.service
    queues = {q.queue_id: q for q in await service.store.queues(bucket.name)}
    queue = queues.get(call.params["queue"])
    if queue is None:
        raise NoSuchQueue(f"queue {call.params['queue']} does not exist")
    if "maxConcurrent" in body:
        value = body["maxConcurrent"]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            raise InvalidArgument("maxConcurrent must be an integer between 1 and 1000")
        queue = await service.store.ensure_queue(bucket.name, queue.name, value, queue.category)
    if "state" in body:
        queue = await service.queues.update(bucket, queue.queue_id, QueueUpdate(queue.name, str(body["state"]),
                                                                                queue.notify))
    return web.json_response({"Id": queue.queue_id, "State": queue.state, "MaxConcurrent": queue.max_concurrent})
