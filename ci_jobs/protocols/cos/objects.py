"""The COS object API on the bucket host: objects, GET Bucket and multipart uploads.

Keys are the request path minus its leading `/`, percent-decoded as UTF-8 (`+` stays a plus).
PUT with `x-cos-copy-source` is a copy (`copy`); a multipart/form-data POST on the bucket is a
browser form upload (`form`), signed by its policy. Requests with `ci-process` in the query are
synchronous CI processing, dispatched in one place (`_ci_process`). Bodies stream between the
socket and the storage; nothing is buffered whole.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from ... import xmlio
from ...config import Bucket
from ...errors import (
    BadDigest,
    CiJobsError,
    EntityTooLarge,
    InvalidArgument,
    InvalidDigest,
    InvalidRange,
    MalformedXML,
    MethodNotAllowed,
    NoSuchBucket,
    NotModified,
    PreconditionFailed,
)
from ...storage import STORED_HEADERS, ObjectMeta, Storage, content_type_for, safe_key
from ..cosfamily import CosFamily, respond
from ..hosts import Target
from ..keys import OBJECTS, REQUEST_ID, STORAGE
from ..xmlerrors import headers as standard_headers
from ..xmlerrors import xml_response
from . import ci_process, copy, form
from . import xml as cos_xml

MAX_PUT = 5 * 1024**3  # COS: a single PUT Object or part is at most 5 GB
READ_CHUNK = 1 << 20
OVERRIDES = {"response-content-type": "Content-Type", "response-content-language": "Content-Language",
             "response-expires": "Expires", "response-cache-control": "Cache-Control",
             "response-content-disposition": "Content-Disposition",
             "response-content-encoding": "Content-Encoding"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
log = logging.getLogger(__name__)

Op = Callable[[web.Request, Bucket, str], Awaitable[web.StreamResponse]]


class CosProtocol(CosFamily):
    """The COS object API (and `?ci-process=` on object URLs)."""

    name = "cos"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A browser form upload carries its signature in the form (the policy's), not in the request."""
        if form.is_form_upload(request):
            return await respond(request, self.name, form.handle)
        return await super().handle(request)

    async def route(self, request: web.Request, target: Target) -> web.StreamResponse:
        """Dispatch by the object and bucket operation tables."""
        return await handle(request, target)


async def handle(request: web.Request, target: Target) -> web.StreamResponse:
    """Serve one COS request for `target.bucket`."""
    if "ci-process" in request.query:
        return await _ci_process(request, target, object_key(request))
    if target.bucket is None:
        raise NoSuchBucket(resource=target.host)
    key = object_key(request)
    table = _OBJECT_OPS if key else _BUCKET_OPS
    op = table.get((request.method, _subresource(request)))
    if op is None:
        raise MethodNotAllowed(f"{request.method} is not supported on this resource.")
    return await op(request, target.bucket, safe_key(key) if key else "")


async def _ci_process(request: web.Request, target: Target, key: str) -> web.StreamResponse:
    """The single dispatch point for `?ci-process=` (snapshot, videoinfo, pm3u8)."""
    return await ci_process.handle(request, target, key)


def object_key(request: web.Request) -> str:
    """The object key of a request ('' for the bucket itself); absolute request URIs work too."""
    raw = request.raw_path
    if raw.startswith(("http://", "https://")):
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path = raw.split("?", 1)[0]
    try:
        return unquote(path[1:] if path.startswith("/") else path, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("The object key is not valid UTF-8.") from exc


def _subresource(request: web.Request) -> str:
    q = request.query
    if "uploadId" in q:
        return "part" if "partNumber" in q else "uploadId"
    if "delete" in q:
        return "delete"
    return "uploads" if "uploads" in q else ""


def _storage(request: web.Request) -> Storage:
    return request.app[STORAGE]


def _stored_headers(request: web.Request) -> dict[str, str]:
    """The object headers a PUT / Initiate keeps: x-cos-meta-* and the STORED_HEADERS."""
    wanted = {h.lower() for h in STORED_HEADERS}
    return {k: v for k, v in request.headers.items()
            if k.lower().startswith("x-cos-meta-") or k.lower() in wanted}


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in chunks, refusing more than MAX_PUT bytes."""
    if request.content_length is not None and request.content_length > MAX_PUT:
        raise EntityTooLarge()
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > MAX_PUT:
            raise EntityTooLarge()
        yield chunk


def _content_md5(request: web.Request) -> str | None:
    value = request.headers.get("Content-MD5")
    if value is None:
        return None
    try:
        if len(base64.b64decode(value.strip(), validate=True)) == 16:
            return value.strip()
    except (binascii.Error, ValueError):
        pass
    raise InvalidDigest()


# --- objects ------------------------------------------------------------------------------


async def put_object(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """PUT Object: stream the body into storage; 200 with ETag and CRC-64."""
    if "x-cos-copy-source" in request.headers:
        return await copy.copy_object(request, bucket, key)
    meta = await request.app[OBJECTS].put(
        bucket.name, key, _body(request), content_md5=_content_md5(request),
        content_type=request.headers.get("Content-Type") or content_type_for(key),
        headers=_stored_headers(request))
    return web.Response(headers={"ETag": f'"{meta.etag}"', "x-cos-hash-crc64ecma": meta.crc64})


async def get_object(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """GET / HEAD Object: conditions, Range (206 / 416), `response-*` overrides, streamed body."""
    storage = _storage(request)
    meta = await storage.head(bucket.name, key)
    _check_conditions(request, meta)
    span = _range(request.headers.get("Range"), meta.size)
    start, end = span or (0, meta.size - 1)
    resp = web.StreamResponse(status=206 if span else 200, headers=_object_headers(request, meta))
    if span:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
    resp.content_length = end - start + 1
    if request.method == "HEAD" or end < start:
        await resp.prepare(request)
        await resp.write_eof()
        return resp
    async with aclosing(storage.read(bucket.name, key, start, end)) as chunks:
        first = await anext(chunks, b"")  # a vanished object is still a clean NoSuchKey here
        await resp.prepare(request)
        try:
            await resp.write(first)
            async for chunk in chunks:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            pass  # the client went away
        except Exception:  # headers are out: all that is left is to cut the connection
            log.exception("GET %s/%s failed mid-body", bucket.name, key)
            resp.force_close()
    return resp


def _object_headers(request: web.Request, meta: ObjectMeta) -> dict[str, str]:
    out = standard_headers("cos", request[REQUEST_ID])
    out.update(meta.headers)
    out.update({"Content-Type": meta.content_type, "ETag": f'"{meta.etag}"', "Accept-Ranges": "bytes",
                "Last-Modified": email.utils.formatdate(meta.last_modified, usegmt=True)})
    if meta.crc64:
        out["x-cos-hash-crc64ecma"] = meta.crc64
    for param, header in OVERRIDES.items():
        if param in request.query:
            out[header] = request.query[param]
    return out


def _check_conditions(request: web.Request, meta: ObjectMeta) -> None:
    """If-Match / If-Unmodified-Since -> 412; If-None-Match / If-Modified-Since -> 304 (RFC 7232 order)."""
    h = request.headers
    modified = int(meta.last_modified)
    if "If-Match" in h:
        if not _etag_matches(h["If-Match"], meta.etag):
            raise PreconditionFailed()
    elif (since := _http_date(h.get("If-Unmodified-Since"))) is not None and modified > since:
        raise PreconditionFailed()
    if "If-None-Match" in h:
        if _etag_matches(h["If-None-Match"], meta.etag):
            raise NotModified()
    elif (since := _http_date(h.get("If-Modified-Since"))) is not None and modified <= since:
        raise NotModified()


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags


def _http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None


def _range(value: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) of a single `bytes=` range; None to serve it all; InvalidRange when unsatisfiable."""
    m = _RANGE.fullmatch(value.strip()) if value else None
    if m is None or m[1] == m[2] == "":
        return None  # absent, several ranges or bad syntax: RFC 7233 lets us send everything
    if m[1] == "":
        suffix = int(m[2])
        if suffix == 0 or size == 0:
            raise InvalidRange()
        return max(0, size - suffix), size - 1
    start = int(m[1])
    if m[2] and int(m[2]) < start:
        return None
    if start >= size:
        raise InvalidRange()
    return start, min(int(m[2]), size - 1) if m[2] else size - 1


async def delete_object(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """DELETE Object: 204, also for a key that does not exist."""
    await _storage(request).delete(bucket.name, key)
    return web.Response(status=204)


# --- bucket -------------------------------------------------------------------------------


async def head_bucket(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """HEAD / PUT Bucket on a configured bucket: it exists, 200."""
    await _storage(request).ensure_bucket(bucket.name)
    return web.Response()


async def list_objects(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """GET Bucket: prefix, marker, max-keys, delimiter, encoding-type."""
    q = request.query
    max_keys = cos_xml.int_param(q, "max-keys", 1000, 0, 1000)
    result = await _storage(request).list(bucket.name, q.get("prefix", ""), q.get("marker", ""),
                                          max_keys, q.get("delimiter", ""))
    return xml_response(request, "ListBucketResult",
                        cos_xml.list_bucket(bucket.name, bucket.appid, q, max_keys, result))


async def delete_objects(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """POST Bucket ?delete (Multi-Object Delete): up to 1000 keys; DeleteResult with Deleted (unless Quiet)
    and one Error per key that could not be deleted."""
    expected = _content_md5(request)
    body = await _small_body(request, 2 * 1024 * 1024)
    if expected is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != expected:
        raise BadDigest()
    doc: Any = xmlio.to_dict(xmlio.parse(body))
    if not isinstance(doc, dict):
        raise MalformedXML("The body must be <Delete> with Object entries.")
    objects = xmlio.as_list(doc.get("Object"))
    if not objects or len(objects) > 1000:
        raise MalformedXML("A Multi-Object Delete names between 1 and 1000 objects.")
    quiet = str(doc.get("Quiet") or "false").strip().lower() == "true"
    deleted, failed = [], []
    for entry in objects:
        name = str(entry.get("Key", "")) if isinstance(entry, dict) else ""
        try:
            await _storage(request).delete(bucket.name, safe_key(name))
        except CiJobsError as exc:
            failed.append({"Key": name, "Code": exc.code, "Message": exc.message})
            continue
        deleted.append({"Key": name})
    return xml_response(request, "DeleteResult", {"Deleted": [] if quiet else deleted, "Error": failed})


# --- multipart ----------------------------------------------------------------------------


async def list_uploads(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """GET Bucket ?uploads: open uploads, by key and then initiation time."""
    q = request.query
    prefix = q.get("prefix", "")
    max_uploads = cos_xml.int_param(q, "max-uploads", 1000, 0, 1000)
    uploads = await _storage(request).list_uploads(bucket.name, prefix)
    page = cos_xml.page_uploads(uploads, q, prefix, max_uploads)
    return xml_response(request, "ListMultipartUploadsResult",
                        cos_xml.list_uploads(bucket.name, bucket.appid, q, prefix, max_uploads, page))


async def initiate_upload(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """POST Object ?uploads: InitiateMultipartUploadResult."""
    upload_id = await _storage(request).create_upload(
        bucket.name, key, content_type=request.headers.get("Content-Type") or content_type_for(key),
        headers=_stored_headers(request))
    return xml_response(request, "InitiateMultipartUploadResult",
                        {"Bucket": bucket.name, "Key": key, "UploadId": upload_id})


async def upload_part(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """PUT Object ?partNumber&uploadId: 200 with the part's ETag."""
    if "x-cos-copy-source" in request.headers:
        raise InvalidArgument("Upload Part - Copy (x-cos-copy-source on a part) is not supported by this server.")
    number = cos_xml.int_param(request.query, "partNumber", 0, 1, 10**9)
    expected = _content_md5(request)
    part = await _storage(request).upload_part(bucket.name, key, request.query["uploadId"], number,
                                               _body(request))
    if expected is not None and base64.b64decode(expected).hex() != part.etag:
        raise BadDigest(resource=key)
    return web.Response(headers={"ETag": f'"{part.etag}"'})


async def list_parts(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """GET Object ?uploadId: ListPartsResult."""
    upload_id = request.query["uploadId"]
    parts = await _storage(request).list_parts(bucket.name, key, upload_id)
    return xml_response(request, "ListPartsResult",
                        cos_xml.list_parts(bucket.name, bucket.appid, key, upload_id, request.query, parts))


async def complete_upload(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """POST Object ?uploadId: assemble the listed parts; CompleteMultipartUploadResult."""
    parts = _parse_parts(await _small_body(request, xmlio.MAX_BODY))
    meta = await request.app[OBJECTS].complete_upload(bucket.name, key, request.query["uploadId"], parts)
    body = {"Location": f"{bucket.name}.cos.{bucket.region}.myqcloud.com/{quote(key)}",
            "Bucket": bucket.name, "Key": key, "ETag": f'"{meta.etag}"'}
    resp = xml_response(request, "CompleteMultipartUploadResult", body)
    resp.headers["x-cos-hash-crc64ecma"] = meta.crc64
    return resp


async def _small_body(request: web.Request, limit: int) -> bytes:
    """Read an XML request body of at most `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body += chunk
        if len(body) > limit:
            raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
    return bytes(body)


def _parse_parts(body: bytes) -> list[tuple[int, str]]:
    doc: Any = xmlio.to_dict(xmlio.parse(body))
    parts = []
    for part in xmlio.as_list(doc.get("Part") if isinstance(doc, dict) else None):
        try:
            parts.append((int(part["PartNumber"]), str(part["ETag"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedXML("Each Part needs a numeric PartNumber and an ETag.") from exc
    return parts


async def abort_upload(request: web.Request, bucket: Bucket, key: str) -> web.StreamResponse:
    """DELETE Object ?uploadId: 204."""
    await _storage(request).abort_upload(bucket.name, key, request.query["uploadId"])
    return web.Response(status=204)


_OBJECT_OPS: dict[tuple[str, str], Op] = {
    ("PUT", ""): put_object, ("GET", ""): get_object, ("HEAD", ""): get_object,
    ("DELETE", ""): delete_object, ("POST", "uploads"): initiate_upload, ("PUT", "part"): upload_part,
    ("GET", "uploadId"): list_parts, ("POST", "uploadId"): complete_upload,
    ("DELETE", "uploadId"): abort_upload,
}
_BUCKET_OPS: dict[tuple[str, str], Op] = {
    ("GET", ""): list_objects, ("GET", "uploads"): list_uploads, ("HEAD", ""): head_bucket,
    ("PUT", ""): head_bucket, ("POST", "delete"): delete_objects,
}
