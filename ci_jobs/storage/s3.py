"""Bucket storage in any S3-compatible service (MinIO, Ceph, AWS S3, Tencent COS, moto) via aioboto3.

Built from a URL (`S3Storage.from_url`, parameters in `S3Settings.from_url`):

    s3://ACCESS:SECRET@HOST:PORT/?region=us-east-1&bucket_prefix=ci-&secure=false

Layout: CI bucket `B` is S3 bucket `bucket_prefix + B`, holding each object at its own key, with
the S3 metadata of `s3_io.object_args` (ci-md5: the ETag ci-jobs reports, ci-crc64, ci-headers).
Objects written by other S3 clients are served too, with S3's ETag and no CRC-64 (unless the
service is COS and sends one). One more bucket, `staging_bucket` (default
`<bucket_prefix>ci-jobs-staging`), holds what is not an object yet: bodies being streamed in
(`put/`, see s3_publish) and COS multipart uploads (`uploads/`, `parts/`, see s3_multipart).
A lifecycle rule on it that aborts incomplete multipart uploads after a day is a good idea.

Puts appear whole or not at all: one PutObject up to `part_size`, else a multipart upload that
is aborted on any failure. Listing uses ListObjectsV2; its ETags are S3's, so entries whose ETag
is not a plain MD5 (multipart objects) are completed with a HEAD each.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import re
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig

from ..errors import InvalidArgument, NoSuchBucket, NoSuchKey, StorageError
from . import DEFAULT_CONTENT_TYPE, FileHashes, ListResult, ObjectMeta, PartInfo, UploadInfo, hash_path, safe_key
from .localfs import md5_hex
from .s3_io import (
    READ_CHUNK,
    Conn,
    S3Settings,
    add_content_md5,
    gather_limited,
    head_meta,
    listed_meta,
    object_args,
    plain_etag,
    s3_errors,
)
from .s3_multipart import S3Uploads
from .s3_publish import Publisher

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,16}$")
_AFTER_ALL = "\U0010ffff"  # sorts after every other character: `p + _AFTER_ALL` ends p's keys
HEADS = 16


class S3Storage:
    """The `Storage` port over an S3-compatible service (see the module docstring)."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._conn = Conn(self._new_client)
        self._pub = Publisher(self._conn, settings.staging_bucket, settings.part_size, settings.concurrency)
        self._uploads = S3Uploads(self._pub, self._s3_bucket)
        self._known: set[str] = set()  # S3 buckets this process made sure of
        self._staging_ready = False

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        """Build from an `s3://` URL (see `S3Settings.from_url`)."""
        return cls(S3Settings.from_url(url))

    def _new_client(self) -> AbstractAsyncContextManager[Any]:
        s = self.settings
        config = AioConfig(s3={"addressing_style": s.addressing_style}, max_pool_connections=32,
                           retries={"max_attempts": 3, "mode": "standard"},
                           request_checksum_calculation="when_required",
                           response_checksum_validation="when_required")
        client: AbstractAsyncContextManager[Any] = aioboto3.Session().client(
            "s3", endpoint_url=s.endpoint_url, region_name=s.region, aws_access_key_id=s.access_key,
            aws_secret_access_key=s.secret_key, config=config)
        return client

    async def _client(self) -> Any:
        client = await self._conn()
        if not self._staging_ready:
            client.meta.events.register("before-sign.s3.DeleteObjects", add_content_md5)
            await self._create(self.settings.staging_bucket)
            self._staging_ready = True
        return client

    async def open(self) -> None:
        """Open the client (the connection pool) and make sure the staging bucket exists."""
        await self._client()

    async def close(self) -> None:
        """Close the client."""
        await self._conn.close()
        self._staging_ready = False

    def _s3_bucket(self, bucket: str) -> str:
        if not _BUCKET.match(bucket) or len(self.settings.bucket_prefix + bucket) > 63:
            raise InvalidArgument(f"invalid bucket name {bucket!r}")
        return self.settings.bucket_prefix + bucket

    async def _create(self, name: str) -> None:
        client = await self._conn()
        try:
            with s3_errors(name):
                await client.head_bucket(Bucket=name)
            return
        except (NoSuchKey, NoSuchBucket):  # HEAD answers a bare 404
            pass
        kw: dict[str, Any] = {}
        if self.settings.region != "us-east-1" and self.settings.endpoint_url is None:
            kw["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            with s3_errors(name):
                await client.create_bucket(Bucket=name, **kw)
        except StorageError as exc:
            if "BucketAlreadyOwnedByYou" not in exc.message:  # another node was quicker
                raise

    # --- objects --------------------------------------------------------------------------

    async def ensure_bucket(self, bucket: str) -> None:
        """Create S3 bucket `bucket_prefix + bucket` if it does not exist."""
        name = self._s3_bucket(bucket)
        await self._client()
        if name not in self._known:
            await self._create(name)
            self._known.add(name)

    async def head(self, bucket: str, key: str) -> ObjectMeta:
        """Return an object's metadata; raise NoSuchKey."""
        return head_meta(key, await self._head(bucket, key))

    async def _head(self, bucket: str, key: str) -> dict[str, Any]:
        return await self._head_raw(self._s3_bucket(bucket), safe_key(key))

    async def _head_raw(self, name: str, key: str) -> dict[str, Any]:
        """HeadObject of any key (listings may show keys other clients wrote that safe_key refuses)."""
        client = await self._client()
        with s3_errors(key):
            resp: dict[str, Any] = await client.head_object(Bucket=name, Key=key)
        return resp

    async def put(self, bucket: str, key: str, chunks: AsyncIterator[bytes], *,
                  content_type: str = DEFAULT_CONTENT_TYPE, headers: Mapping[str, str] | None = None,
                  content_md5: str | None = None) -> ObjectMeta:
        """Stream `chunks` into `key`: one PutObject, or staged parts published by a copy."""
        name = self._s3_bucket(bucket)
        safe_key(key)
        expected = md5_hex(content_md5) if content_md5 is not None else None
        await self._client()
        digest = await self._pub.stream(name, key, chunks, lambda d: _args(d.hashes(), content_type, headers), expected)
        return _meta(key, digest.hashes(), content_type, headers)

    async def put_file(self, bucket: str, key: str, path: Path, *,
                       content_type: str = DEFAULT_CONTENT_TYPE,
                       headers: Mapping[str, str] | None = None, owned: bool = False,
                       hashes: FileHashes | None = None) -> ObjectMeta:
        """Hash a local file (unless its `hashes` are given and its size matches), then upload it with its
        metadata (multipart above `part_size`); `owned` changes nothing here (the bytes are uploaded either
        way)."""
        name = self._s3_bucket(bucket)
        safe_key(key)
        await self._client()
        if hashes is not None and os.path.getsize(path) == hashes.size:
            digest = hashes
        else:
            digest = await asyncio.to_thread(hash_path, Path(path))
        await self._pub.upload_file(name, key, Path(path), _args(digest, content_type, headers))
        return _meta(key, digest, content_type, headers)

    async def read(self, bucket: str, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Yield bytes `start..end` (inclusive) of a ranged GET as they arrive; NoSuchKey."""
        if end < start:
            await self._head(bucket, key)
            return
        name, client = self._s3_bucket(bucket), await self._client()
        with s3_errors(safe_key(key)):
            resp = await client.get_object(Bucket=name, Key=key, Range=f"bytes={start}-{end}")
        body = resp["Body"]
        async with body:
            while True:
                with s3_errors(key):
                    chunk = await body.read(READ_CHUNK)
                if not chunk:
                    break
                yield chunk

    async def delete(self, bucket: str, key: str) -> None:
        """Delete an object; a missing key is fine."""
        name, client = self._s3_bucket(bucket), await self._client()
        with s3_errors(safe_key(key)):
            await client.delete_object(Bucket=name, Key=key)

    @asynccontextmanager
    async def local_input(self, bucket: str, key: str) -> AsyncIterator[Path]:
        """Download the object to a temp file in parallel ranges; yield its path, then delete it."""
        info = await self._head(bucket, key)
        suffix = PurePosixPath(key).suffix
        fd, tmp = tempfile.mkstemp(prefix="ci-jobs-", suffix=suffix if _SUFFIX.match(suffix) else "",
                                   dir=self.settings.tmp_dir)
        try:
            try:
                await self._download(self._s3_bucket(bucket), key, int(info["ContentLength"]), info["ETag"], fd)
            finally:
                os.close(fd)
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    async def _download(self, name: str, key: str, size: int, etag: str, fd: int) -> None:
        step = self.settings.part_size
        await gather_limited((self._fetch(name, key, start, min(start + step, size) - 1, etag, fd)
                              for start in range(0, size, step)), self.settings.concurrency)

    async def _fetch(self, name: str, key: str, start: int, end: int, etag: str, fd: int) -> None:
        """One range, written at its offset chunk by chunk; IfMatch keeps all ranges one version."""
        client = await self._client()
        with s3_errors(key):
            resp = await client.get_object(Bucket=name, Key=key, Range=f"bytes={start}-{end}", IfMatch=etag)
            body = resp["Body"]
            async with body:
                pos = start
                while chunk := await body.read(READ_CHUNK):
                    await asyncio.to_thread(os.pwrite, fd, chunk, pos)
                    pos += len(chunk)
        if pos != end + 1:
            raise StorageError(f"S3 GetObject returned {pos - start} bytes for a range of {end - start + 1}",
                               resource=key)

    async def list(self, bucket: str, prefix: str = "", marker: str = "", max_keys: int = 1000,
                   delimiter: str = "") -> ListResult:
        """ListObjectsV2 with the local adapter's marker and roll-up rules (see `Storage.list`)."""
        name, client = self._s3_bucket(bucket), await self._client()
        kw: dict[str, Any] = {"Bucket": name, "Prefix": prefix, "MaxKeys": max(max_keys, 1)}
        if delimiter:
            kw["Delimiter"] = delimiter
        if start_after := _start_after(prefix, marker, delimiter):
            kw["StartAfter"] = start_after
        while True:
            with s3_errors(bucket):
                resp = await client.list_objects_v2(**kw)
            objects = [o for o in resp.get("Contents", []) if o["Key"] > marker]
            prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", []) if p["Prefix"] > marker]
            truncated = bool(resp.get("IsTruncated"))
            if objects or prefixes or not truncated:
                break
            kw["ContinuationToken"] = resp["NextContinuationToken"]
        if max_keys == 0:
            return ListResult(is_truncated=bool(objects or prefixes))
        metas = await self._complete_listing(name, objects)
        last = max([o["Key"] for o in objects] + prefixes, key=lambda k: k.encode(), default="")
        return ListResult(tuple(metas), tuple(prefixes), truncated, last if truncated else "")

    async def _complete_listing(self, name: str,
                                objects: builtins.list[dict[str, Any]]) -> builtins.list[ObjectMeta]:
        """Listed entries; HEAD those whose S3 ETag is not the MD5 (skipping ones deleted meanwhile)."""

        async def one(o: dict[str, Any]) -> ObjectMeta | None:
            if plain_etag(o["ETag"]):
                return listed_meta(o["Key"], o)
            try:
                return head_meta(o["Key"], await self._head_raw(name, o["Key"]))
            except NoSuchKey:
                return None

        return [m for m in await gather_limited((one(o) for o in objects), HEADS) if m is not None]

    # --- multipart (see s3_multipart) -------------------------------------------------------

    async def create_upload(self, bucket: str, key: str, *, content_type: str = DEFAULT_CONTENT_TYPE,
                            headers: Mapping[str, str] | None = None) -> str:
        """Initiate a multipart upload and return its id."""
        self._s3_bucket(bucket)
        safe_key(key)
        await self._client()
        return await self._uploads.create(bucket, key, content_type, headers)

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          chunks: AsyncIterator[bytes]) -> PartInfo:
        """Store one part of an upload."""
        await self._client()
        return await self._uploads.upload_part(bucket, key, upload_id, part_number, chunks)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> builtins.list[PartInfo]:
        """The uploaded parts in part-number order."""
        await self._client()
        return await self._uploads.list_parts(bucket, key, upload_id)

    async def complete_upload(self, bucket: str, key: str, upload_id: str,
                              parts: builtins.list[tuple[int, str]]) -> ObjectMeta:
        """Assemble the listed parts into the object, atomically."""
        self._s3_bucket(bucket)
        await self._client()
        return await self._uploads.complete(bucket, key, upload_id, parts)

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts."""
        await self._client()
        await self._uploads.abort(bucket, key, upload_id)

    async def list_uploads(self, bucket: str, prefix: str = "") -> builtins.list[UploadInfo]:
        """Open uploads whose key starts with `prefix`, oldest first."""
        await self._client()
        return await self._uploads.list(bucket, prefix)

    async def reset(self) -> None:
        """Empty the staging bucket, the buckets this process created and, with a bucket_prefix,
        every bucket that has it (objects and S3 multipart uploads; the buckets stay)."""
        client = await self._client()
        names = {self.settings.staging_bucket, *self._known}
        if self.settings.bucket_prefix:
            with s3_errors():
                resp = await client.list_buckets()
            names |= {b["Name"] for b in resp.get("Buckets", []) if b["Name"].startswith(self.settings.bucket_prefix)}
        for name in sorted(names):
            await self._empty(client, name)

    async def _empty(self, client: Any, name: str) -> None:
        try:
            with s3_errors(name):
                async for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
                    for u in page.get("Uploads", []):
                        await client.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
                async for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                    if page.get("Contents"):
                        await client.delete_objects(Bucket=name, Delete={
                            "Objects": [{"Key": o["Key"]} for o in page["Contents"]], "Quiet": True})
        except NoSuchBucket:
            pass


def _start_after(prefix: str, marker: str, delimiter: str) -> str:
    """Where S3 should start: after `marker` and, when the marker lies inside a rolled-up common
    prefix (a NextMarker we returned), after every key below that prefix."""
    if delimiter and marker.startswith(prefix):
        cut = marker.find(delimiter, len(prefix))
        if cut >= 0:
            return marker[:cut + len(delimiter)] + _AFTER_ALL
    return marker


def _args(digest: FileHashes, content_type: str, headers: Mapping[str, str] | None) -> dict[str, Any]:
    return object_args(digest.md5, digest.crc64, content_type, headers)


def _meta(key: str, digest: FileHashes, content_type: str, headers: Mapping[str, str] | None) -> ObjectMeta:
    return ObjectMeta(key=key, size=digest.size, etag=digest.md5, last_modified=time.time(),
                      content_type=content_type or DEFAULT_CONTENT_TYPE, crc64=digest.crc64,
                      headers=dict(headers or {}))


