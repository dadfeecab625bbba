"""The MPS JSON API's transport: which requests are MPS's, TC3 authentication, the action table, the envelope.

MPS requests are `POST /` with a JSON body, `X-TC-Action` and `X-TC-Version: 2019-06-12`. They are
recognised by MPS's host names, and on any other host (127.0.0.1:8080, where COS clients arrive too)
by their own shape: an `X-TC-Action` header with a `TC3-HMAC-SHA256` Authorization, which no COS or
CI request carries. Every answer is HTTP 200 `{"Response": {..., "RequestId"}}` with Content-Type
exactly `application/json` (the SDK skips its error check for any other, and reads a non-200 as a
network error).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web

from ... import errors
from ...config import Settings
from .. import hosts
from ..keys import ACCOUNT, SERVICE, SETTINGS
from . import actions, tc3
from .errors import (
    InvalidAction,
    InvalidParameter,
    MissingParameter,
    MpsError,
    NoSuchVersion,
    RequestSizeLimitExceeded,
    SecretIdNotFound,
    SignatureFailure,
    TokenFailure,
    UnsupportedProtocol,
    code_of,
)
from .replay import ReplayCache

log = logging.getLogger(__name__)
VERSION = "2019-06-12"
MAX_BODY = 10 * 1024 * 1024  # Tencent Cloud API 3.0: a TC3-signed POST body is at most 10 MB
NONCE_PREFIX = "tc3:"  # the store's nonce key of a TC3 signature


class MpsProtocol:
    """The MPS JSON API (API 3.0, version 2019-06-12)."""

    name = "mps"

    def __init__(self) -> None:
        self.replays = ReplayCache()

    async def _first_use(self, request: web.Request, signature: str, until: float, now: float) -> bool:
        """Whether this is the signature's first use while live: this node's cache first (a replay to the same
        node costs no store round trip), then the store every node shares, so a replay to another node fails too."""
        if not self.replays.first_use(signature, until, now):
            return False
        if SERVICE not in request.app:
            return True  # no job service, no state-changing action to run: _settings refuses it next
        return await request.app[SERVICE].store.first_use(NONCE_PREFIX + signature, until, now)

    def claims(self, request: web.Request) -> bool:
        """MPS's hosts, or an X-TC-Action request signed with TC3-HMAC-SHA256 on any host."""
        if hosts.is_mps_host(hosts.host_of(request)):
            return True
        return "X-TC-Action" in request.headers and tc3.is_tc3(request.headers.get("Authorization", ""))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one call; any error becomes MPS's error envelope."""
        rid = str(uuid.uuid4())
        try:
            body = await self._serve(request)
        except errors.CiJobsError as exc:
            body = {"Error": {"Code": code_of(exc), "Message": exc.message}}
        except Exception:
            log.exception("unhandled error in MPS %s", request.headers.get("X-TC-Action", ""))
            body = {"Error": {"Code": "InternalError", "Message": "An internal error occurred."}}
        return envelope(body, rid)

    async def _serve(self, request: web.Request) -> dict[str, Any]:
        settings = request.app[SETTINGS]
        name = _transport(request)
        timestamp = _timestamp(request)
        cred = tc3.parse(request.headers.get("Authorization", ""))
        account = settings.account(cred.secret_id)
        if account is None:
            raise SecretIdNotFound(f"The SecretId {cred.secret_id} does not exist.")
        now = time.time()
        tc3.check_time(int(timestamp), now, settings.server.max_skew_seconds)
        raw = await _read(request)
        tc3.verify(cred, account.secret_key, request.method, request.path, request.query_string,
                   request.headers, raw, timestamp)
        action = actions.ACTIONS.get(name)
        if action is None:
            raise InvalidAction(f"The action {name} does not exist or is not served by ci-jobs; served: "
                                f"{', '.join(sorted(actions.ACTIONS))}.")
        if action.changes and not await self._first_use(request, cred.signature,
                                                        int(timestamp) + settings.server.max_skew_seconds, now):
            raise SignatureFailure("This signature was used already: a replayed request is refused "
                                   f"(sign each {name} call anew).")
        request[ACCOUNT] = account
        return await action.run(actions.Call(_params(raw), account, _settings(request, settings), request))


def _settings(request: web.Request, settings: Settings) -> Settings:
    if SERVICE not in request.app:
        raise MpsError("This node serves no jobs (it runs without the job service).")
    return settings


def _transport(request: web.Request) -> str:
    """The action name, once method, path, content type, version and token are as MPS's API takes them."""
    if request.method != "POST" or request.path != "/":
        raise UnsupportedProtocol(f"ci-jobs serves the MPS API as POST / with a JSON body, not "
                                  f"{request.method} {request.path}.")
    ctype = request.headers.get("Content-Type", "")
    if ctype.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedProtocol(f"Content-Type {ctype or '(none)'}: ci-jobs takes application/json bodies "
                                  "signed with TC3-HMAC-SHA256.")
    name = request.headers.get("X-TC-Action", "").strip()
    if not name:
        raise MissingParameter("The X-TC-Action header is required.")
    version = request.headers.get("X-TC-Version", "").strip()
    if not version:
        raise MissingParameter("The X-TC-Version header is required.")
    if version != VERSION:
        raise NoSuchVersion(f"X-TC-Version {version} is not served; MPS's API version is {VERSION}.")
    if request.headers.get("X-TC-Token"):
        raise TokenFailure()
    return name


def _timestamp(request: web.Request) -> str:
    value = request.headers.get("X-TC-Timestamp", "").strip()
    if not value:
        raise MissingParameter("The X-TC-Timestamp header is required.")
    if not value.isdigit():
        raise InvalidParameter(f"X-TC-Timestamp {value!r} must be Unix seconds.")
    return value


async def _read(request: web.Request) -> bytes:
    """The body, refusing more than MAX_BODY bytes without buffering them."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_big()
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_big()
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_big() -> RequestSizeLimitExceeded:
    # Made only when raised: an exception built per request (and dropped) cost ~1.5 us of every call.
    return RequestSizeLimitExceeded(f"The request body exceeds {MAX_BODY} bytes (10 MB).")


def _params(raw: bytes) -> dict[str, Any]:
    try:
        # Read as UTF-8 text first (what every API 3.0 client sends): json.loads of bytes sniffs the
        # encoding in Python. What that fails on (a BOM, UTF-16 or UTF-32, or no JSON) goes the bytes way.
        try:
            value = json.loads(raw.decode() if raw else "{}")
        except ValueError:  # UnicodeDecodeError and JSONDecodeError both
            value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays or objects nested past json's depth
        raise InvalidParameter(f"The request body is not JSON: {str(exc)[:200]}.") from exc
    if not isinstance(value, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    return value


def envelope(body: dict[str, Any], request_id: str) -> web.Response:
    """`{"Response": {..., "RequestId"}}`, HTTP 200, Content-Type exactly application/json."""
    payload = json.dumps({"Response": {**body, "RequestId": request_id}}, ensure_ascii=False).encode()
    return web.Response(body=payload, headers={"Content-Type": "application/json"})

