"""The COS family of protocols (CI and COS): host routing, the COS signature and `<Error>` XML.

CI and COS share one signature (q-sign-algorithm=sha1 over the request), one error shape and one
host scheme, so they share this base; each subclass declares what it routes (`route`). A protocol
with its own auth and errors (MPS, the console) implements `Protocol` from scratch.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .. import auth, errors
from ..config import Account, Settings
from . import hosts
from .keys import ACCOUNT, REQUEST_ID, SETTINGS, TARGET
from .xmlerrors import error_response, headers

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CosFamily(abc.ABC):
    """A protocol on the bucket hosts: resolve the bucket, verify the signature, route, map errors."""

    name = ""  # "ci" or "cos": the service its hosts, headers and errors speak for

    def claims(self, request: web.Request) -> bool:
        """Whether this request is for this protocol (by host and path, never raising)."""
        return hosts.service_of(request, request.app[SETTINGS]) == self.name

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve the request with this protocol's auth and error table."""
        async def run(request: web.Request) -> web.StreamResponse:
            settings = request.app[SETTINGS]
            target = hosts.resolve(request, settings)
            request[TARGET] = target
            authenticate(request, settings, target)
            return await self.route(request, target)

        return await respond(request, self.name, run)

    @abc.abstractmethod
    async def route(self, request: web.Request, target: hosts.Target) -> web.StreamResponse:
        """Serve an authenticated request for `target`."""


async def respond(request: web.Request, service: str, handler: Handler) -> web.StreamResponse:
    """Run `handler`; any error becomes the `<Error>` XML of `service`; the standard headers are added."""
    rid = request[REQUEST_ID]
    try:
        response = await handler(request)
    except errors.CiJobsError as exc:
        response = error_response(exc, service=service, request_id=rid, resource=request.host + request.path,
                                  method=request.method)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = error_response(errors.CiJobsError("We encountered an internal error."), service=service,
                                  request_id=rid, resource=request.host + request.path, method=request.method)
    if not response.prepared:
        hdrs = response.headers
        for k, v in headers(service, rid).items():
            if k not in hdrs:
                hdrs[k] = v
    return response


def authenticate(request: web.Request, settings: Settings, target: hosts.Target) -> None:
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
