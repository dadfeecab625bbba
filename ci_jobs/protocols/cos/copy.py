"""PUT Object - Copy: `x-cos-copy-source` names an object of a bucket this server holds.

The source must be in a bucket of the signer's APPID (the destination is checked by the signature
already); the copy goes through the object use cases, so it raises ObjectCreated and starts
workflows like a PUT. `x-cos-metadata-directive: Copy` keeps the source's Content-Type and
metadata, `Replaced` takes the request's.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from ...config import Bucket
from ...errors import AccessDenied, InvalidArgument, InvalidRequest, NoSuchBucket, PreconditionFailed
from ...storage import STORED_HEADERS, ObjectMeta, content_type_for, safe_key
from ..hosts import bucket_host
from ..keys import ACCOUNT, OBJECTS, SETTINGS, STORAGE
from ..xmlerrors import xml_response
from .xml import iso

_SOURCE = re.compile(r"^(?:https?://)?(?P<host>[^/]+)/(?P<key>.+)$")
_REGION = re.compile(r"^[^.]+\.cos\.(?P<region>[^.]+)\.")


@dataclass(frozen=True)
class CopySource:
    """The bucket and key an `x-cos-copy-source` header names."""

    bucket: Bucket
    key: str


def parse_source(request: web.Request) -> CopySource:
    """The source object: `<bucket>.cos.<region>.<domain>/<url-encoded key>` in a bucket the signer owns."""
    value = request.headers["x-cos-copy-source"].strip()
    m = _SOURCE.match(value)
    if m is None:
        raise InvalidArgument(f"x-cos-copy-source {value!r} is not <bucket>.cos.<region>.myqcloud.com/<key>.")
    raw_key = m["key"]
    if "?" in raw_key:
        raw_key, _, query = raw_key.partition("?")
        if query.startswith("versionId="):
            raise InvalidArgument("x-cos-copy-source: versionId is not supported (this server keeps no versions).")
        raise InvalidArgument(f"x-cos-copy-source {value!r} has an unknown query.")
    host = m["host"].lower().split(":", 1)[0]
    name, region = bucket_host(host), _REGION.match(host)
    if name is None or region is None:
        raise InvalidArgument(f"x-cos-copy-source host {host!r} is not <bucket>.cos.<region>.<domain>.")
    bucket = request.app[SETTINGS].bucket(name)
    if bucket is None or bucket.region != region["region"]:
        raise NoSuchBucket(f"The copy source bucket {name} does not exist in {region['region']}.", resource=host)
    if bucket.appid != request[ACCOUNT].appid:
        raise AccessDenied(f"The copy source bucket {name} belongs to another APPID.")
    try:
        key = unquote(raw_key, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("The copy source key is not valid UTF-8.") from exc
    return CopySource(bucket, safe_key(key))


async def copy_object(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """PUT Object - Copy: 200 with `<CopyObjectResult>` (ETag, LastModified, CRC64)."""
    source = parse_source(request)
    directive = request.headers.get("x-cos-metadata-directive", "Copy")
    if directive not in ("Copy", "Replaced"):
        raise InvalidArgument(f"x-cos-metadata-directive must be Copy or Replaced, got {directive!r}.")
    if directive == "Copy" and (source.bucket.name, source.key) == (bucket.name, key):
        raise InvalidRequest("Copying an object onto itself needs x-cos-metadata-directive: Replaced.")
    src = await request.app[STORAGE].head(source.bucket.name, source.key)
    check_conditions(request, src)
    if directive == "Copy":
        content_type, headers = src.content_type, dict(src.headers)
    else:
        content_type = request.headers.get("Content-Type") or content_type_for(key)
        headers = stored_headers(request)
    meta = await request.app[OBJECTS].copy(bucket.name, key, source.bucket.name, source.key,
                                           content_type=content_type, headers=headers)
    resp = xml_response(request, "CopyObjectResult", {
        "ETag": f'"{meta.etag}"', "LastModified": iso(meta.last_modified), "CRC64": meta.crc64})
    resp.headers["x-cos-hash-crc64ecma"] = meta.crc64
    return resp


def stored_headers(request: web.Request) -> dict[str, str]:
    """The metadata a `Replaced` copy takes from the request: x-cos-meta-* and the STORED_HEADERS."""
    wanted = {h.lower() for h in STORED_HEADERS}
    return {k: v for k, v in request.headers.items()
            if k.lower().startswith("x-cos-meta-") or k.lower() in wanted}


def check_conditions(request: web.Request, meta: ObjectMeta) -> None:
    """`x-cos-copy-source-If-*` on the source: any that does not hold is 412 PreconditionFailed."""
    h = request.headers
    modified = int(meta.last_modified)
    if (tags := h.get("x-cos-copy-source-If-Match")) is not None and not _etag_in(tags, meta.etag):
        raise PreconditionFailed("x-cos-copy-source-If-Match does not match the source's ETag.")
    if (tags := h.get("x-cos-copy-source-If-None-Match")) is not None and _etag_in(tags, meta.etag):
        raise PreconditionFailed("x-cos-copy-source-If-None-Match matches the source's ETag.")
    since = _date(h.get("x-cos-copy-source-If-Unmodified-Since"))
    if since is not None and modified > since:
        raise PreconditionFailed("The source was modified after x-cos-copy-source-If-Unmodified-Since.")
    since = _date(h.get("x-cos-copy-source-If-Modified-Since"))
    if since is not None and modified <= since:
        raise PreconditionFailed("The source was not modified after x-cos-copy-source-If-Modified-Since.")


def _etag_in(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags


def _date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{value!r} is not an HTTP date.") from exc
