"""The console's object API: list and upload objects, stream one (HTTP Range), play HLS and DASH as MP4,
MediaInfo, and several outputs as one zip streamed as it is written."""

from __future__ import annotations

import posixpath
import time
import zipfile
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import quote

from aiohttp import web

from ...errors import InvalidArgument, InvalidRange, NoSuchResource, ServiceUnavailable
from ...storage import safe_key
from .state import Call
from .views import media_kind

CHUNK = 256 * 1024
MAX_ZIP_ENTRIES = 1000


async def list_objects(call: Call) -> web.StreamResponse:
    """GET /console/api/objects/<bucket>?prefix=&marker=: one page of keys (for choosing an input)."""
    bucket = call.bucket()
    q = call.request.query
    page = await call.console.service.storage.list(bucket.name, q.get("prefix", ""), q.get("marker", ""), 200)
    return web.json_response({"Objects": [{"Key": o.key, "Size": o.size, "Modified": o.last_modified,
                                           "Kind": media_kind(o.key)} for o in page.objects],
                              "Next": page.next_marker if page.is_truncated else ""})


async def upload(call: Call) -> web.StreamResponse:
    """PUT /console/api/objects/<bucket>?key=: the body becomes the object (through the object use case,
    so workflows on upload start as for a COS PUT)."""
    bucket = call.bucket()
    key = safe_key(call.request.query.get("key", ""))

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in call.request.content.iter_chunked(CHUNK):
            yield chunk

    ctype = call.request.headers.get("Content-Type", "application/octet-stream")
    meta = await call.console.objects.put(bucket.name, key, chunks(), content_type=ctype)
    return web.json_response({"Key": meta.key, "Size": meta.size, "ETag": meta.etag})


async def get_object(call: Call) -> web.StreamResponse:
    """GET /console/api/object/<bucket>?key=[&download=1]: the object, with HTTP Range for seeking."""
    bucket = call.bucket()
    key = safe_key(call.request.query.get("key", ""))
    storage = call.console.service.storage
    meta = await storage.head(bucket.name, key)
    name = posixpath.basename(key)
    disposition = "attachment" if call.request.query.get("download") else "inline"
    headers = {"Accept-Ranges": "bytes", "Content-Type": meta.content_type, "ETag": f'"{meta.etag}"',
               "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
               "Cache-Control": "private, max-age=60"}
    start, end = _range(call.request, meta.size)
    status = 206 if call.request.headers.get("Range") else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = end - start + 1 if meta.size else 0
    await response.prepare(call.request)
    if meta.size and call.request.method != "HEAD":
        async with aclosing(storage.read(bucket.name, key, start, end)) as chunks:
            async for chunk in chunks:
                await response.write(chunk)
    await response.write_eof()
    return response


def _range(request: web.Request, size: int) -> tuple[int, int]:
    """The byte range asked for (the whole object without a Range header)."""
    if not request.headers.get("Range"):
        return 0, max(0, size - 1)
    try:
        rng = request.http_range
    except ValueError as exc:
        raise InvalidRange(f"Range {request.headers['Range']} cannot be read") from exc
    start = rng.start if rng.start is not None else 0
    if start < 0:
        start = max(0, size + start)
    end = (rng.stop if rng.stop is not None else size) - 1
    end = min(end, size - 1)
    if start >= size or start > end:
        raise InvalidRange(f"Range {request.headers['Range']} is outside the object's {size} bytes")
    return start, end


async def play(call: Call) -> web.StreamResponse:
    """GET /console/api/play/<bucket>?key=: an HLS playlist or DASH manifest as one MP4 (remuxed once, then cached)."""
    bucket = call.bucket()
    key = safe_key(call.request.query.get("key", ""))
    playback = call.console.playback
    if playback is None:
        raise ServiceUnavailable("This node runs without the synchronous media pool: HLS and DASH cannot be "
                                 "remuxed here.")
    if media_kind(key) not in ("hls", "dash"):
        raise InvalidArgument(f"{key} is neither an HLS playlist nor a DASH manifest; play it directly")
    path = await playback.mp4_of(bucket.name, key)
    return _file_response(call.request, path)


def _file_response(request: web.Request, path: Path) -> web.StreamResponse:
    """A local file with HTTP Range (aiohttp's FileResponse)."""
    return web.FileResponse(path, headers={"Content-Type": "video/mp4", "Cache-Control": "private, max-age=60"})


async def media_info(call: Call) -> web.StreamResponse:
    """GET /console/api/mediainfo/<bucket>?key=: CI's MediaInfo of an object (the synchronous pool)."""
    bucket = call.bucket()
    key = safe_key(call.request.query.get("key", ""))
    if call.console.sync is None:
        raise ServiceUnavailable("This node runs without the synchronous media pool.")
    return web.json_response(await call.console.sync.media_info(bucket.name, key))


async def zip_download(call: Call) -> web.StreamResponse:
    """GET /console/api/zip/<bucket>?job=<id>[&role=], ?key=a&key=b or ?package=<m3u8|mpd>: outputs as one zip,
    streamed."""
    bucket = call.bucket()
    keys = await _zip_keys(call, bucket.name)
    if not keys:
        raise NoSuchResource("nothing to put in the zip")
    name = call.request.query.get("name") or f"{call.request.query.get('job') or 'objects'}.zip"
    response = web.StreamResponse(headers={"Content-Type": "application/zip",
                                           "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
    await response.prepare(call.request)
    sink = _Sink()
    storage = call.console.service.storage
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_STORED) as archive:
        for key in keys:
            meta = await storage.head(bucket.name, key)
            info = zipfile.ZipInfo(_entry_name(key), time.localtime(meta.last_modified)[:6])
            with archive.open(info, "w", force_zip64=meta.size > 2**31) as entry:
                if meta.size:
                    async with aclosing(storage.read(bucket.name, key, 0, meta.size - 1)) as chunks:
                        async for chunk in chunks:
                            entry.write(chunk)
                            await response.write(sink.take())
            await response.write(sink.take())
    await response.write(sink.take())
    await response.write_eof()
    return response


async def _zip_keys(call: Call, bucket: str) -> list[str]:
    q = call.request.query
    keys = [safe_key(k) for k in q.getall("key", [])]
    job_id = q.get("job", "")
    if job_id:
        found = await call.console.service.store.get_jobs(bucket, [job_id])
        if not found:
            raise NoSuchResource(f"job {job_id} does not exist")
        outputs: dict[str, Any] = (found[0].result or {}).get("outputs") or {}
        role = q.get("role", "")
        keys += [o["key"] for r, objs in outputs.items() if not role or r == role for o in objs]
    package = q.get("package", "")
    if package:  # an HLS/DASH output with everything it names
        if media_kind(package) not in ("hls", "dash"):
            raise InvalidArgument(f"package {package} is neither an HLS playlist nor a DASH manifest")
        if call.console.playback is None:
            raise ServiceUnavailable("This node runs without the synchronous media pool.")
        keys += await call.console.playback.package_keys(bucket, safe_key(package))
    if len(keys) > MAX_ZIP_ENTRIES:
        raise InvalidArgument(f"at most {MAX_ZIP_ENTRIES} objects go into one zip")
    return list(dict.fromkeys(keys))


def _entry_name(key: str) -> str:
    return key.lstrip("/") or "object"


class _Sink:
    """A write-only, non-seekable file for zipfile: what it wrote since the last `take`."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def write(self, data: bytes) -> int:
        """Keep `data` until it is taken."""
        self._buf += data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        """Bytes written so far (zipfile asks for offsets)."""
        return self._pos

    def flush(self) -> None:
        """Nothing to flush: the response writes what is taken."""

    def take(self) -> bytes:
        """The bytes written since the last call."""
        out = bytes(self._buf)
        self._buf.clear()
        return out
