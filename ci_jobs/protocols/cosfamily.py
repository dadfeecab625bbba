"""Request id, target resolution, authentication and error mapping, for every request."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .. import auth, errors, ids
from ..config import Account, Settings
from . import hosts as routing
from .keys import ACCOUNT, REQUEST_ID, SETTINGS, TARGET
from .xmlerrors import error_response, headers

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/-/health"})
ADMIN_PATHS = frozenset({"/-/reset"})  # with `admin = true` only; signed by a configured account


@web.middleware
async def ci_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the target, check the signature, run the handler, map errors to CI XML."""
    rid = ids.request_id()
    request[REQUEST_ID] = rid
    service = "ci" if routing.is_ci_path(request.path) else "cos"
    resource = request.host + request.path
    try:
        settings = request.app[SETTINGS]
        if request.path in ADMIN_PATHS:
            if not settings.server.admin:
                raise errors.NoSuchResource()
            refuse_cross_origin(request)
            request[ACCOUNT] = verify_signature(request, settings)
        elif request.path not in PUBLIC_PATHS:
            target = routing.resolve(request, settings)
            service = target.service
            request[TARGET] = target
            authenticate(request, settings, target)
        response = await handler(request)
    except errors.CiJobsError as exc:
        response = error_response(exc, service=service, request_id=rid, resource=resource,
                                  method=request.method)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            err: errors.CiJobsError = (errors.MethodNotAllowed() if exc.status == 405
                                       else errors.NoSuchResource())
            response = error_response(err, service=service, request_id=rid, resource=resource,
                                      method=request.method)
        else:
            raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = error_response(errors.CiJobsError("We encountered an internal error."),
                                  service=service, request_id=rid, resource=resource,
                                  method=request.method)
    if not response.prepared:
        for k, v in headers(service, rid).items():
            response.headers.setdefault(k, v)
    return response


def authenticate(request: web.Request, settings: Settings, target: routing.Target) -> None:
    """Verify the header or pre-signed-URL signature; the key's APPID must own the bucket."""
    account = verify_signature(request, settings)
    if target.bucket is not None and target.bucket.appid != account.appid:
        raise errors.AccessDenied("Access Denied.")
    request[ACCOUNT] = account


def verify_signature(request: web.Request, settings: Settings) -> Account:
    """The configured account whose key signs this request (header or pre-signed URL), else raise."""
    cred = auth.parse_authorization(request.headers.get("Authorization", ""))
    if cred is None:
        cred = auth.parse_query(request.query)
    if cred is None:
        raise errors.AccessDenied()
    account = settings.account(cred.secret_id)
    if account is None:
        raise errors.InvalidAccessKeyId()
    raw_path = request.raw_path.split("?", 1)[0]
    if raw_path.startswith(("http://", "https://")):
        raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
    auth.verify(cred, account.secret_key, request.method, raw_path, request.query_string,
                request.headers, max_skew=settings.server.max_skew_seconds)
    return account


def refuse_cross_origin(request: web.Request) -> None:
    """Refuse what a web page in a browser sent to this server from another origin (a forged form POST)."""
    site = request.headers.get("Sec-Fetch-Site", "")
    origin = request.headers.get("Origin", "")
    if site in ("cross-site", "same-site") or (origin and urlsplit(origin).netloc != request.host):
        raise errors.AccessDenied("Cross-origin requests to the admin endpoints are refused.")
