"""Typed aiohttp application state shared by the API handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..app.objects import Objects
    from ..app.service import Service
    from ..app.sync import SyncProcessor
    from ..config import Account, Settings
    from ..metrics import Metrics
    from ..storage import Storage
    from .ci.validation import Validator
    from .console.state import Console
    from .hosts import Target

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SERVICE: web.AppKey[Service] = web.AppKey("service")
STORAGE: web.AppKey[Storage] = web.AppKey("storage")
VALIDATOR: web.AppKey[Validator] = web.AppKey("validator")
OBJECTS: web.AppKey[Objects] = web.AppKey("objects")
SYNC: web.AppKey[SyncProcessor] = web.AppKey("sync")  # absent: ci-process answers "not enabled"
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")  # absent: /-/metrics answers 404
READY: web.AppKey[Readiness] = web.AppKey("ready")
CONSOLE: web.AppKey[Console] = web.AppKey("console")  # absent: no /console (a node without the job service)


class Readiness:
    """Whether the node takes traffic: set once it has started, cleared when its stop begins."""

    def __init__(self) -> None:
        self.ready = False

REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
TARGET: web.RequestKey[Target] = web.RequestKey("target", object)  # type: ignore[arg-type]
ACCOUNT: web.RequestKey[Account] = web.RequestKey("account", object)  # type: ignore[arg-type]
PROTOCOL: web.RequestKey[str] = web.RequestKey("protocol", str)  # which protocol served it (for logs, metrics)
