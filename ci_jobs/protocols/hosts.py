"""Which bucket and which service (cos / ci / mps) a request is for, from its Host or absolute URI."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aiohttp import web

from ..config import Bucket, Settings
from ..errors import NoSuchBucket
from ..mediarules import BUCKET_HOST

_HOST = BUCKET_HOST
_ACCOUNT = re.compile(r"^(?P<svc>ci|cos)\.(?P<region>[^.]+)\.")
_MPS = re.compile(r"^mps(\.[a-z0-9-]+)?\.tencentcloudapi\.com$")

CI_ROOTS = frozenset({"jobs", "queue", "template", "workflow", "workflowexecution", "triggerworkflow",
                      "inventorytriggerjob", "mediabucket", "pm3u8", "pic_jobs", "asr_jobs"})


@dataclass(frozen=True)
class Target:
    """Where a request goes: a bucket (or None at account level) and `cos` or `ci`."""

    bucket: Bucket | None
    service: str
    host: str


_HOST_KEY = "ci_jobs.host"  # where host_of keeps its answer on the request (each protocol asks for it)


def host_of(request: web.Request) -> str:
    """The request's host name without port, lower-cased (absolute request URIs win)."""
    found: str | None = request.get(_HOST_KEY)
    if found is not None:
        return found
    if request.raw_path.startswith(("http://", "https://")):  # proxy-style absolute request URI
        host = request.url.host or request.host
    else:
        host = request.host
    host = host.lower()
    host = host.split("]")[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    request[_HOST_KEY] = host
    return host


@functools.lru_cache(maxsize=512)
def _bucket_host(host: str) -> re.Match[str] | None:
    # A server sees a few host names; the match of each is kept (a Match is immutable).
    return _HOST.match(host)


def is_mps_host(host: str) -> bool:
    """MPS's API hosts: mps.tencentcloudapi.com, mps.<region>.tencentcloudapi.com, mps.intl.tencentcloudapi.com."""
    return host.startswith("mps") and bool(_MPS.match(host))


def bucket_host(host: str) -> str | None:
    """The bucket a virtual-hosted COS/CI host name names (`<bucket>.cos.<region>.<domain>`), else None."""
    m = _bucket_host(host.lower())
    return m["bucket"] if m else None


def is_ci_path(path: str) -> bool:
    """True for the reserved CI API paths: `/<root>` or `/<root>/<id(s)>` (/jobs, /queue/p..., ...).

    Object keys below those roots (`jobs/out.mp4`, `template/`, `queue/a/b`) stay COS keys: CI ids
    never hold a dot or a slash.
    """
    root, sep, rest = path.lstrip("/").partition("/")
    if root not in CI_ROOTS:
        return False
    return not sep or (bool(rest) and "/" not in rest and "." not in rest)


def service_of(request: web.Request, settings: Settings) -> str:
    """`ci` or `cos`: which protocol of the family a request speaks, by host and path (never raises)."""
    m = _bucket_host(host_of(request))
    if m and m["svc"] == "ci":
        return "ci"
    if m and not settings.server.ci_paths_on_cos_host:
        return "cos"
    return "ci" if is_ci_path(request.path) else "cos"


def resolve(request: web.Request, settings: Settings) -> Target:
    """Map Host to a configured bucket and service; unknown buckets raise NoSuchBucket."""
    host = host_of(request)
    m = _bucket_host(host)
    if m:
        bucket = settings.bucket(m["bucket"])
        if bucket is None:
            raise NoSuchBucket(resource=host)
        svc = m["svc"]
        if svc == "cos" and settings.server.ci_paths_on_cos_host and is_ci_path(request.path):
            svc = "ci"
        return Target(bucket, svc, host)
    account = _ACCOUNT.match(host)
    svc = "ci" if is_ci_path(request.path) else "cos"
    if account and request.path.startswith("/mediabucket"):
        return Target(None, "ci", host)
    return Target(_default_bucket(settings), svc, host)


def _default_bucket(settings: Settings) -> Bucket | None:
    name = settings.server.default_bucket
    if name:
        return settings.bucket(name)
    return settings.buckets[0] if settings.buckets else None
