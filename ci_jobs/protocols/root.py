"""The aiohttp application: the ops endpoints, then each request to the first protocol that claims it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from .. import errors, ids
from ..app.objects import Objects
from ..config import Settings
from ..domain.events import EventBus
from ..metrics import CONTENT_TYPE, Metrics
from .ci.handlers import CiProtocol
from .ci.validation import Validator
from .console.protocol import ConsoleProtocol
from .console.state import Console
from .cos.objects import CosProtocol
from .cosfamily import Handler, refuse_cross_origin, respond, verify_signature
from .keys import (
    ACCOUNT,
    CONSOLE,
    METRICS,
    OBJECTS,
    PROTOCOL,
    READY,
    REQUEST_ID,
    SERVICE,
    SETTINGS,
    STORAGE,
    SYNC,
    VALIDATOR,
    Readiness,
)
from .mps.protocol import MpsProtocol

if TYPE_CHECKING:
    from ..app.service import Service
    from ..app.sync import SyncProcessor
    from ..storage import Storage

access = logging.getLogger("ci_jobs.access")
SCHEMAS = Path(__file__).parent.parent / "schemas"  # the CI XSDs ship inside the package
MAX_REQUEST_BODY = 5 * 1024**3  # a single PUT Object may be up to 5 GB (COS limit); CI bodies are capped in xmlio


class WireProtocol(Protocol):
    """A wire dialect: it says which requests are its own, and serves them with its own auth and errors."""

    name: str

    def claims(self, request: web.Request) -> bool:
        """Whether `request` belongs to this protocol (must not raise)."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve the request; errors are answered in the protocol's own shape."""


# In order: the first that claims a request serves it; COS takes whatever the others leave. MPS comes
# first and claims only its own hosts and X-TC-Action + TC3-signed requests, which no CI/COS client sends.
# The console claims /console... and a browser's unsigned GET / for HTML (never a signed ListBuckets).
PROTOCOLS: tuple[WireProtocol, ...] = (MpsProtocol(), ConsoleProtocol(), CiProtocol(), CosProtocol())


async def health(request: web.Request) -> web.Response:
    """Liveness for load balancers and test harnesses."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 once the node has started (store open, queues made), 503 once its stop began."""
    if request.app[READY].ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not ready"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: this node's counters and the store's job and outbox gauges."""
    found = request.app.get(METRICS)
    if found is None or SERVICE not in request.app:
        raise web.HTTPNotFound()
    body = await found.render(request.app[SERVICE].store)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def reset(request: web.Request) -> web.StreamResponse:
    """Wipe every job, queue change, callback and object: only with `admin = true`, signed by a
    configured account, and never from another origin (a web page's forged form POST)."""
    async def run(request: web.Request) -> web.StreamResponse:
        if not request.app[SETTINGS].server.admin:
            raise errors.NoSuchResource()
        if request.method != "POST":
            raise errors.MethodNotAllowed("POST /-/reset wipes all state; nothing else is served here.")
        refuse_cross_origin(request)
        request[ACCOUNT] = verify_signature(request, request.app[SETTINGS])
        await request.app[SERVICE].reset()
        return web.json_response({"status": "reset"})

    return await respond(request, "cos", run)


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Hand the request to the first protocol that claims it."""
    for protocol in PROTOCOLS:
        if protocol.claims(request):
            request[PROTOCOL] = protocol.name
            return await protocol.handle(request)
    return await respond(request, "cos", _no_protocol)


async def _no_protocol(request: web.Request) -> web.StreamResponse:
    raise errors.NoSuchResource()


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request its id before anything else runs; log it and count it once answered.

    The access line names the path without its query string: presigned URLs carry their signature
    there, and secrets are never logged.
    """
    request[REQUEST_ID] = ids.request_id()
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        seconds = time.perf_counter() - started
        protocol = request.get(PROTOCOL, "ops")
        found = request.app.get(METRICS)
        if found is not None:
            found.request(protocol, request.method, status, seconds)
        if access.isEnabledFor(logging.INFO):
            access.info("%s %s %s %d %.1fms %s %s", request.remote, request.method, request.path, status,
                        seconds * 1000, protocol, request[REQUEST_ID],
                        extra={"remote": request.remote, "method": request.method, "path": request.path,
                               "status": status, "ms": round(seconds * 1000, 2), "protocol": protocol,
                               "request_id": request[REQUEST_ID]})


def build_app(settings: Settings, service: Service | None, storage: Storage,
              sync: SyncProcessor | None = None, metrics_of: Metrics | None = None) -> web.Application:
    """Build the web application around already-constructed service, storage and ci-process runner."""
    app = web.Application(middlewares=[request_id], client_max_size=MAX_REQUEST_BODY)
    app[SETTINGS] = settings
    app[READY] = Readiness()
    if metrics_of is not None:
        app[METRICS] = metrics_of
    if service is not None:
        app[SERVICE] = service
    app[STORAGE] = storage
    app[VALIDATOR] = Validator(SCHEMAS)
    app[OBJECTS] = service.objects if service is not None else Objects(storage, EventBus())
    if sync is not None:
        app[SYNC] = sync
    if service is not None:
        app[CONSOLE] = Console(settings, service, app[OBJECTS], sync)
    app.router.add_get("/-/health", health)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/-/metrics", metrics)
    app.router.add_route("*", "/-/reset", reset)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
