"""Synchronous CI processing on the object URL: `GET /<key>?ci-process=snapshot|videoinfo|pm3u8`.

Also the CI-host variant of pm3u8, `GET /pm3u8?object=<key>&expires=<s>`, whose rewritten URIs
are absolute URLs on the bucket's COS host (a relative URI would resolve against the CI host).
Parameters are checked here; the work is done by the `SyncProcessor` in the app state.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from ...app.sync import SnapshotSpec, SyncProcessor
from ...errors import InvalidArgument, MethodNotAllowed, NoSuchBucket
from ...storage import safe_key
from ..hosts import Target
from ..keys import SYNC
from ..xmlerrors import xml_response

MAX_SIZE = 8192  # px: the largest snapshot width/height accepted (CI's own limit is not documented)
MAX_TIME = 1e9  # s (~31 years): any later time is past the end of every media, so it gives the last frame
MIN_EXPIRES, MAX_EXPIRES = 3600, 43200  # pm3u8 `expires`, seconds (CI docs)
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
PLAYLIST_TYPE = "application/x-mpegURL"
CI_SERVER = {"Server": "tencent-ci"}

Op = Callable[[web.Request, Target, str], Awaitable[web.StreamResponse]]


def _sync(request: web.Request) -> SyncProcessor:
    sync = request.app.get(SYNC)
    if sync is None:
        raise InvalidArgument("ci-process is not enabled on this server.")
    return sync


async def handle(request: web.Request, target: Target, key: str) -> web.StreamResponse:
    """Dispatch `?ci-process=<name>` on object `key` of the target bucket."""
    name = request.query["ci-process"]
    op = OPS.get(name)
    if op is None:
        raise InvalidArgument(f"ci-process={name} is not supported; use one of {', '.join(OPS)}.")
    if request.method != "GET":
        raise MethodNotAllowed(f"ci-process={name} needs GET, not {request.method}.")
    if target.bucket is None:
        raise NoSuchBucket(resource=target.host)
    if not key:
        raise InvalidArgument(f"ci-process={name} needs an object key in the path.")
    return await op(request, target, safe_key(key))


async def snapshot(request: web.Request, target: Target, key: str) -> web.StreamResponse:
    """One frame as jpg/png: time, width, height, format, rotate, mode."""
    spec = snapshot_spec(request.query)
    assert target.bucket is not None
    image = await _sync(request).snapshot(target.bucket.name, key, spec)
    return web.Response(body=image, content_type=IMAGE_TYPES[spec.format], headers=CI_SERVER)


async def videoinfo(request: web.Request, target: Target, key: str) -> web.StreamResponse:
    """`<Response><MediaInfo>` of the object, Content-Type exactly application/xml."""
    assert target.bucket is not None
    info = await _sync(request).media_info(target.bucket.name, key)
    response = xml_response(request, "Response", {"MediaInfo": info})
    response.headers.update(CI_SERVER)
    return response


async def pm3u8(request: web.Request, target: Target, key: str) -> web.StreamResponse:
    """The playlist with every URI pre-signed for `expires` seconds, relative URIs kept relative."""
    assert target.bucket is not None
    expires = expires_param(request.query)
    text = await _sync(request).pm3u8(target.bucket, key, request.host, expires)
    return web.Response(body=text.encode("utf-8"), content_type=PLAYLIST_TYPE, headers=CI_SERVER)


async def pm3u8_ci(request: web.Request, target: Target, rest: str) -> web.StreamResponse:
    """CI host: `GET /pm3u8?object=<key>&expires=<s>`; URIs become absolute COS-host URLs."""
    if rest or request.method != "GET":
        raise MethodNotAllowed("pm3u8 on the CI host is GET /pm3u8?object=<key>&expires=<seconds>.")
    if target.bucket is None:
        raise NoSuchBucket(resource=target.host)
    key = request.query.get("object", "").lstrip("/")
    if not key:
        raise InvalidArgument("The parameter object (the playlist's key) is required.")
    expires = expires_param(request.query)
    bucket = target.bucket
    host = request.host.replace(f"{bucket.name}.ci.", f"{bucket.name}.cos.", 1)
    text = await _sync(request).pm3u8(bucket, safe_key(key), host, expires,
                                      base=f"{request.scheme}://{host}")
    return web.Response(body=text.encode("utf-8"), content_type=PLAYLIST_TYPE)


OPS: dict[str, Op] = {"snapshot": snapshot, "videoinfo": videoinfo, "pm3u8": pm3u8}


# --- parameters ---------------------------------------------------------------------------


def snapshot_spec(query: Mapping[str, str]) -> SnapshotSpec:
    """Validate the snapshot parameters; InvalidArgument names the parameter and the allowed values."""
    raw = query.get("time")
    if raw is None or not raw.strip():
        raise InvalidArgument("The parameter time (seconds, e.g. 1.5) is required for ci-process=snapshot.")
    try:
        time = float(raw)
    except ValueError:
        time = math.nan
    if not math.isfinite(time) or time < 0:
        raise InvalidArgument(f"The parameter time must be a non-negative number of seconds, not {raw!r}.")
    return SnapshotSpec(
        time=min(time, MAX_TIME),  # a huge time would overflow the 64-bit seek timestamp
        width=_size(query, "width"),
        height=_size(query, "height"),
        format=_choice(query, "format", "jpg", tuple(IMAGE_TYPES)),
        rotate=_choice(query, "rotate", "auto", ("auto", "off")),
        mode=_choice(query, "mode", "exactframe", ("exactframe", "keyframe")),
    )


def _size(query: Mapping[str, str], name: str) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_SIZE:
        raise InvalidArgument(f"The parameter {name} must be a whole number of pixels from 0 to "
                              f"{MAX_SIZE}, not {raw!r}.")
    return int(raw)


def _choice(query: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() not in allowed:
        raise InvalidArgument(f"The parameter {name} must be one of {', '.join(allowed)}, not {raw!r}.")
    return raw.lower()


def expires_param(query: Mapping[str, str]) -> int:
    """The pm3u8 `expires` (seconds), required, from 3600 to 43200."""
    raw = query.get("expires", "").strip()
    if not raw.isdigit() or not MIN_EXPIRES <= int(raw) <= MAX_EXPIRES:
        raise InvalidArgument(f"The parameter expires must be a whole number of seconds from "
                              f"{MIN_EXPIRES} to {MAX_EXPIRES}, not {raw!r}.")
    return int(raw)
