"""Plumbing of the S3 storage adapter: its URL, driver-error mapping and the metadata it stores.

No aioboto3 here (only `s3.py` builds the client); the helpers take the client as a value.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import (
    BadDigest,
    CiJobsError,
    InvalidArgument,
    InvalidRange,
    KeyTooLong,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ServiceUnavailable,
    StorageError,
)
from . import DEFAULT_CONTENT_TYPE, FileHashes, ObjectMeta
from .crc64 import Crc64

MiB = 1 << 20
S3_MIN_PART = 5 * MiB  # S3's (and MinIO's, Ceph's) smallest part other than the last
S3_MAX_COPY = 5 * 1024**3  # the most one CopyObject / UploadPartCopy may move
READ_CHUNK = MiB
META_MD5, META_CRC, META_HEADERS, META_TYPE = "ci-md5", "ci-crc64", "ci-headers", "ci-content-type"
# Object headers S3 keeps natively too (so S3 tools and CDNs in front of the bucket see them).
NATIVE = {"cache-control": "CacheControl", "content-disposition": "ContentDisposition",
          "content-encoding": "ContentEncoding"}
_FOREIGN = {"CacheControl": "Cache-Control", "ContentDisposition": "Content-Disposition",
            "ContentEncoding": "Content-Encoding"}
_PLAIN_ETAG = re.compile(r"^[0-9a-f]{32}$")
_BUCKET_PREFIX = re.compile(r"^[a-z0-9.-]*$")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
T = TypeVar("T")


@dataclass(frozen=True)
class S3Settings:
    """Where and how the adapter talks to S3 (see `S3Settings.from_url`)."""

    endpoint_url: str | None = None  # None: AWS's default endpoint for the region
    region: str = "us-east-1"
    access_key: str | None = None  # None: botocore's default credential chain
    secret_key: str | None = None
    bucket_prefix: str = ""
    staging_bucket: str = "ci-jobs-staging"  # the whole S3 bucket name
    addressing_style: str = "path"
    part_size: int = 8 * MiB  # also the multipart threshold: up to this, one PutObject
    concurrency: int = 4  # parts in flight per upload / ranges per download
    tmp_dir: str | None = None  # local_input's folder (None: the system temp dir)

    @classmethod
    def from_url(cls, url: str) -> S3Settings:
        """Parse `s3://[KEY:SECRET@][HOST[:PORT]]/?region=&bucket_prefix=&secure=&...`.

        Key and secret are percent-decoded. Without a host, AWS's endpoint is used (virtual-host
        addressing); with one, `secure=false` means plain http and addressing is path-style.
        Other parameters: `addressing=path|virtual|auto`, `staging_bucket` (default
        `<bucket_prefix>ci-jobs-staging`), `part_size` (bytes, >= 5 MiB), `concurrency`, `tmp_dir`.
        """
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise InvalidArgument(f"storage URL {url!r} must start with s3://")
        userinfo, _, hostport = parts.netloc.rpartition("@")
        key, _, secret = userinfo.partition(":")
        q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(q) - {"region", "bucket_prefix", "secure", "addressing", "staging_bucket", "part_size",
                            "concurrency", "tmp_dir"}
        if unknown:
            raise InvalidArgument(f"storage URL: unknown parameter(s) {', '.join(sorted(unknown))}")
        prefix = q.get("bucket_prefix", "")
        if not _BUCKET_PREFIX.match(prefix):
            raise InvalidArgument(f"storage URL: bucket_prefix {prefix!r} may hold only a-z, 0-9, '.' and '-'")
        scheme = "https" if _flag(q.get("secure", "true")) else "http"
        addressing = q.get("addressing", "path" if hostport else "auto")
        if addressing not in ("path", "virtual", "auto"):
            raise InvalidArgument("storage URL: addressing must be path, virtual or auto")
        part_size = _int(q, "part_size", 8 * MiB)
        if not S3_MIN_PART <= part_size <= S3_MAX_COPY:
            raise InvalidArgument("storage URL: part_size must be between 5 MiB and 5 GiB")
        return cls(endpoint_url=f"{scheme}://{hostport}" if hostport else None,
                   region=q.get("region") or "us-east-1",
                   access_key=unquote(key) if userinfo else None, secret_key=unquote(secret) if userinfo else None,
                   bucket_prefix=prefix, staging_bucket=q.get("staging_bucket") or f"{prefix}ci-jobs-staging",
                   addressing_style=addressing, part_size=part_size,
                   concurrency=max(1, _int(q, "concurrency", 4)), tmp_dir=q.get("tmp_dir") or None)


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidArgument(f"storage URL: {value!r} is not a boolean")


def _int(q: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(q[name]) if q.get(name) else default
    except ValueError as exc:
        raise InvalidArgument(f"storage URL: {name} must be an integer") from exc


# --- the client ----------------------------------------------------------------------------


class Conn:
    """The adapter's one S3 client: opened on first use (or by `open`), closed by `close`."""

    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._factory = factory
        self._cm: AbstractAsyncContextManager[Any] | None = None
        self._client: Any = None
        self._lock: asyncio.Lock | None = None

    async def __call__(self) -> Any:
        """The open client."""
        if self._client is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._client is None:
                    cm = self._factory()
                    with s3_errors():
                        self._client = await cm.__aenter__()
                    self._cm = cm
        return self._client

    async def close(self) -> None:
        """Close the client (its connection pool); a later call opens a new one."""
        cm, self._cm, self._client = self._cm, None, None
        if cm is not None:
            await cm.__aexit__(None, None, None)


def add_content_md5(request: Any, **_: Any) -> None:
    """Give DeleteObjects a Content-MD5: botocore now sends only a CRC32, which Ceph, COS and
    older MinIO refuse for the operations whose checksum is required."""
    body = request.body if isinstance(request.body, bytes) else b""
    if "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()


# --- errors ------------------------------------------------------------------------------------

_CODES: dict[str, type[CiJobsError]] = {
    "NoSuchKey": NoSuchKey, "404": NoSuchKey, "NotFound": NoSuchKey, "NoSuchUpload": NoSuchUpload,
    "NoSuchBucket": NoSuchBucket, "InvalidRange": InvalidRange, "KeyTooLongError": KeyTooLong,
    "BadDigest": BadDigest, "SlowDown": ServiceUnavailable, "ServiceUnavailable": ServiceUnavailable,
    "503": ServiceUnavailable,
}


def storage_error(exc: BaseException, resource: str = "") -> CiJobsError:
    """The ci-jobs error for a botocore / transport failure."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        if code in _CODES:
            return _CODES[code](resource=resource)
        if code == "MetadataTooLarge":
            return InvalidArgument("The object's x-cos-meta-* and stored headers are too large.", resource=resource)
        return StorageError(f"S3 {exc.operation_name} failed: {code} {err.get('Message', '')}".strip(),
                            resource=resource)
    return StorageError(f"S3 request failed: {exc}", resource=resource)


@contextmanager
def s3_errors(resource: str = "") -> Iterator[None]:
    """Re-raise driver errors as ci-jobs errors (`raise ... from exc`)."""
    try:
        yield
    except (TimeoutError, ClientError, BotoCoreError, aiohttp.ClientError) as exc:
        raise storage_error(exc, resource) from exc


async def gather_limited(coros: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await `coros` with at most `limit` running at once; results in order.

    On the first failure the others are cancelled and waited for before it is raised, so none
    outlives the call (downloads write into a file descriptor the caller closes next).
    """
    sem = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        async with sem:
            return await coro

    tasks = [asyncio.ensure_future(one(c)) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# --- hashing and metadata ----------------------------------------------------------------------


class Hashes:
    """Size, MD5 and CRC-64 of bytes seen so far."""

    def __init__(self) -> None:
        self.size = 0
        self.md5 = hashlib.md5()
        self.crc = Crc64()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Account for more bytes."""
        self.size += len(data)
        self.md5.update(data)
        self.crc.update(data)

    def hashes(self) -> FileHashes:
        """The values, as `Storage` passes them around."""
        return FileHashes(self.size, self.md5.hexdigest(), self.crc.decimal())


async def blocks(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Regroup a chunk stream into blocks of exactly `size` bytes (the last may be shorter)."""
    buf = bytearray()
    async for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


def object_args(md5: str, crc: str, content_type: str, headers: Mapping[str, str] | None) -> dict[str, Any]:
    """PutObject / CreateMultipartUpload / CopyObject arguments recording an object's metadata.

    `ci-md5` is the ETag ci-jobs reports (S3's own differs for multipart objects), `ci-crc64` the
    CRC-64/XZ, `ci-headers` the stored headers as percent-encoded JSON: S3 metadata must be ASCII
    and loses key case, and the JSON keeps both. The headers S3 knows natively are set too.
    """
    headers = dict(headers or {})
    content_type = content_type or DEFAULT_CONTENT_TYPE
    meta = {META_MD5: md5, META_CRC: crc}
    if headers:
        meta[META_HEADERS] = _pack(headers)
    args: dict[str, Any] = {"ContentType": content_type}
    if not content_type.isascii():
        args["ContentType"] = DEFAULT_CONTENT_TYPE
        meta[META_TYPE] = _pack(content_type)
    for name, value in headers.items():
        param = NATIVE.get(name.lower())
        if param and value.isascii():
            args[param] = value
    args["Metadata"] = meta
    return args


def _pack(value: object) -> str:
    return quote(json.dumps(value, separators=(",", ":")), safe="")


def _unpack(value: str) -> Any:
    return json.loads(unquote(value))


def head_meta(key: str, resp: Mapping[str, Any]) -> ObjectMeta:
    """ObjectMeta from a HeadObject / GetObject response: ours, or S3's own for foreign objects."""
    meta = {k.lower(): v for k, v in (resp.get("Metadata") or {}).items()}
    http = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    content_type = resp.get("ContentType") or DEFAULT_CONTENT_TYPE
    if META_TYPE in meta:
        content_type = _unpack(meta[META_TYPE])
    if META_MD5 in meta:
        etag, crc = meta[META_MD5], meta.get(META_CRC, "")
        headers = _unpack(meta[META_HEADERS]) if META_HEADERS in meta else {}
    else:  # written by another S3 client: S3's ETag; the CRC when the service is COS itself
        etag, crc = str(resp.get("ETag", "")).strip('"'), http.get("x-cos-hash-crc64ecma", "")
        headers = {h: resp[p] for p, h in _FOREIGN.items() if resp.get(p)}
        if http.get("expires"):
            headers["Expires"] = http["expires"]
        headers.update({f"x-cos-meta-{k}": v for k, v in meta.items()})
    return ObjectMeta(key=key, size=int(resp.get("ContentLength", 0)), etag=etag,
                      last_modified=resp["LastModified"].timestamp(), content_type=content_type,
                      crc64=crc, headers=headers)


def listed_meta(key: str, entry: Mapping[str, Any]) -> ObjectMeta:
    """ObjectMeta from a ListObjectsV2 entry (key, size, ETag and time only)."""
    return ObjectMeta(key=key, size=int(entry["Size"]), etag=str(entry["ETag"]).strip('"'),
                      last_modified=entry["LastModified"].timestamp())


def plain_etag(etag: str) -> bool:
    """True when an S3 ETag is the MD5 of the bytes (a single PutObject or CopyObject)."""
    return bool(_PLAIN_ETAG.match(etag.strip('"')))
