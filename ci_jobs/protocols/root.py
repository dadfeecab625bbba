"""The aiohttp application: one catch-all route dispatched by target service and path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ..app.objects import Objects
from ..config import Settings
from ..domain.events import EventBus
from ..errors import MethodNotAllowed
from .ci import handlers as ci
from .ci.validation import Validator
from .cos import objects as cos
from .cosfamily import ci_middleware
from .keys import OBJECTS, SERVICE, SETTINGS, STORAGE, SYNC, TARGET, VALIDATOR

if TYPE_CHECKING:
    from ..app.service import Service
    from ..app.sync import SyncProcessor
    from ..storage import Storage

SCHEMAS = Path(__file__).parent.parent / "schemas"  # the CI XSDs ship inside the package
MAX_REQUEST_BODY = 5 * 1024**3  # a single PUT Object may be up to 5 GB (COS limit); CI bodies are capped in xmlio


async def health(request: web.Request) -> web.Response:
    """Liveness for load balancers and test harnesses."""
    return web.json_response({"status": "ok"})


async def reset(request: web.Request) -> web.Response:
    """Wipe every job, queue change, callback and object (only with `admin = true`; the middleware
    requires a configured account's signature and refuses cross-origin requests)."""
    await request.app[SERVICE].reset()
    return web.json_response({"status": "reset"})


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Send a resolved request to the CI or the COS handlers."""
    target = request.get(TARGET)
    if target is None:  # an ops path (/-/reset) asked with another method
        raise MethodNotAllowed()
    if target.service == "ci":
        return await ci.handle(request, target)
    return await cos.handle(request, target)


def build_app(settings: Settings, service: Service | None, storage: Storage,
              sync: SyncProcessor | None = None) -> web.Application:
    """Build the web application around already-constructed service, storage and ci-process runner."""
    app = web.Application(middlewares=[ci_middleware], client_max_size=MAX_REQUEST_BODY)
    app[SETTINGS] = settings
    if service is not None:
        app[SERVICE] = service
    app[STORAGE] = storage
    app[VALIDATOR] = Validator(SCHEMAS)
    app[OBJECTS] = service.objects if service is not None else Objects(storage, EventBus())
    if sync is not None:
        app[SYNC] = sync
    app.router.add_get("/-/health", health)
    app.router.add_post("/-/reset", reset)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
