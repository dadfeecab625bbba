"""The console's transport: which requests are its own, sessions and CSRF, the route table, JSON errors.

It claims `/console` and everything below it on any host when the request carries no COS signature
(no Authorization header, no q-sign-algorithm query): a signed or pre-signed request for an object
key `console/...` still reaches COS. It also claims `GET /` from a browser on a bare host: a request
without any signature or query that asks for HTML.
A signed `GET /` is still COS's ListBuckets, and an unsigned one from an SDK still gets COS's
AccessDenied XML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ... import errors
from .. import hosts
from ..keys import CONSOLE
from . import media_api, pages, queues_api, session, tasks_api
from .errors import NotSignedIn, error_response
from .state import Call, Console

log = logging.getLogger(__name__)
PREFIX = "/console"
ApiHandler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """`method` on a path pattern; `changes` routes need the session's CSRF token."""

    method: str
    pattern: re.Pattern[str]
    handler: ApiHandler
    changes: bool = False


def _r(method: str, path: str, handler: ApiHandler) -> Route:
    regex = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{PREFIX}/api{regex}$"), handler, method not in ("GET", "HEAD"))


ROUTES = (
    _r("GET", "/tasks", tasks_api.list_tasks),
    _r("GET", "/tasks/<bucket>/<task>", tasks_api.get_task),
    _r("POST", "/tasks/<bucket>", tasks_api.create_task),
    _r("POST", "/tasks/<bucket>/<task>/restart", tasks_api.restart),
    _r("POST", "/tasks/<bucket>/<task>/end", tasks_api.end),
    _r("POST", "/bulk/<bucket>", tasks_api.bulk),
    _r("POST", "/callbacks/<bucket>/<job>/<callback>/resend", tasks_api.resend_callback),
    _r("GET", "/options/<bucket>", tasks_api.options),
    _r("GET", "/chart/<bucket>", tasks_api.throughput),
    _r("GET", "/objects/<bucket>", media_api.list_objects),
    _r("PUT", "/objects/<bucket>", media_api.upload),
    _r("GET", "/object/<bucket>", media_api.get_object),
    _r("HEAD", "/object/<bucket>", media_api.get_object),
    _r("GET", "/play/<bucket>", media_api.play),
    _r("GET", "/mediainfo/<bucket>", media_api.media_info),
    _r("GET", "/zip/<bucket>", media_api.zip_download),
    _r("GET", "/queues/<bucket>", queues_api.list_queues),
    _r("POST", "/queues/<bucket>/<queue>", queues_api.change_queue),
)


class ConsoleProtocol:
    """The web console (session cookie auth, JSON API, static pages)."""

    name = "console"

    def claims(self, request: web.Request) -> bool:
        """`/console...` on any host, and a browser's unsigned `GET /` for HTML on a non-bucket host."""
        path = request.path
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return CONSOLE in request.app and not _signed(request)
        return path == "/" and request.method == "GET" and _browser_root(request) and CONSOLE in request.app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve a page, a static file or an API call; errors are JSON with an HTTP status."""
        if request.path == "/":
            raise web.HTTPFound(f"{PREFIX}/")
        console = request.app[CONSOLE]
        session.attach(request, console.sessions)
        try:
            response = await self._serve(request, console)
        except errors.CiJobsError as exc:
            response = error_response(exc)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("unhandled error in console %s %s", request.method, request.path)
            response = error_response(errors.CiJobsError("An internal error occurred."))
        await session.save(request, response)
        if not response.prepared:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    async def _serve(self, request: web.Request, console: Console) -> web.StreamResponse:
        path = request.path
        if not path.startswith(PREFIX + "/api/"):
            return await pages.serve(request)
        account_free = pages.ACCOUNT_FREE.get((request.method, path))
        if account_free is not None:
            return await account_free(request, console)
        account, token = await session.account_of(request, console.settings)
        if path == f"{PREFIX}/api/events" and request.method == "GET":
            buckets = frozenset(b.name for b in console.settings.buckets if b.appid == account.appid)
            return await console.hub.stream(request, buckets)
        for route in ROUTES:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method != request.method:
                continue
            if route.changes:
                session.check_csrf(request, token)
            return await route.handler(Call(request, console, account, token, m.groupdict()))
        if any(r.pattern.match(path) for r in ROUTES):
            raise errors.MethodNotAllowed()
        raise errors.NoSuchResource(f"{path} is not a console API")


def _signed(request: web.Request) -> bool:
    """Whether the request carries a COS/CI/MPS signature (then it is an API call, never the console's)."""
    return "Authorization" in request.headers or "q-sign-algorithm" in request.query


def _browser_root(request: web.Request) -> bool:
    """An unsigned request for HTML on a host that names no bucket and is no MPS host."""
    if _signed(request) or request.query:
        return False
    host = hosts.host_of(request)
    if hosts.bucket_host(host) is not None or hosts.is_mps_host(host):
        return False
    return "text/html" in request.headers.get("Accept", "")


__all__ = ["ConsoleProtocol", "NotSignedIn"]
