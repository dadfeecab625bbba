"""COS multipart uploads of the S3 adapter, kept as plain objects in the staging bucket.

COS accepts parts from 1 MiB, S3 (and MinIO, Ceph) only from 5 MiB, so a COS upload cannot be
one S3 multipart upload. Instead, in the staging bucket:

    uploads/<bucket>/<upload id>/<key>   the upload itself (JSON: content type, headers); the
                                         key in the name makes listing one request, and a GET of
                                         the exact name checks id, bucket and key at once
    parts/<bucket>/<upload id>/<00001>   one object per part, metadata ci-md5 and ci-crc64

Complete checks the part list with the local adapter's rules (`choose_parts`: same errors, same
messages), computes the ETag `md5(part md5s)-n` and the CRC-64 from the parts' CRCs (`combine`),
and assembles the object server-side (`Publisher.assemble`): it appears whole at the end. Then
the upload and its parts are deleted. Upload ids start with the creation time in hex nanoseconds,
so key order in the staging bucket is initiation order. Unlike the local adapter, two Completes
racing on one upload may both succeed (each publishes the same bytes), and a part that arrives
while its upload is being completed or aborted can be left behind in `parts/` (`reset` empties
the staging bucket; an expiry rule on `parts/` does it in production).
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from ..errors import InvalidArgument, NoSuchKey, NoSuchUpload
from . import DEFAULT_CONTENT_TYPE, MAX_PART_NUMBER, ObjectMeta, PartInfo, UploadInfo
from .crc64 import combine
from .local_multipart import choose_parts
from .s3_io import META_CRC, META_MD5, gather_limited, object_args, plain_etag, s3_errors
from .s3_publish import Publisher, Source

UPLOAD_ID = re.compile(r"^[0-9a-f]{48}$")
HEADS = 16  # HEAD requests in flight when reading part metadata


class S3Uploads:
    """Open multipart uploads; `s3_bucket(bucket)` names the S3 bucket objects are published to."""

    def __init__(self, publisher: Publisher, s3_bucket: Callable[[str], str]) -> None:
        self._pub = publisher
        self._staging = publisher.staging
        self._s3_bucket = s3_bucket

    async def _client(self) -> Any:
        return await self._pub.conn()

    async def _info(self, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        """The upload's record; NoSuchUpload for an unknown id or another bucket or key."""
        if not UPLOAD_ID.match(upload_id):
            raise NoSuchUpload(resource=upload_id)
        client = await self._client()
        try:
            with s3_errors(upload_id):
                resp = await client.get_object(Bucket=self._staging, Key=f"uploads/{bucket}/{upload_id}/{key}")
                body = resp["Body"]
                async with body:
                    info: dict[str, Any] = json.loads(await body.read())
        except NoSuchKey as exc:
            raise NoSuchUpload(resource=upload_id) from exc
        return info

    async def create(self, bucket: str, key: str, content_type: str, headers: Mapping[str, str] | None) -> str:
        """Record a new upload and return its id."""
        now = time.time_ns()
        upload_id = f"{now:016x}{uuid.uuid4().hex}"
        info = {"content_type": content_type or DEFAULT_CONTENT_TYPE, "headers": dict(headers or {}),
                "initiated": now / 1e9}
        client = await self._client()
        with s3_errors(key):
            await client.put_object(Bucket=self._staging, Key=f"uploads/{bucket}/{upload_id}/{key}",
                                    Body=json.dumps(info).encode(), ContentType="application/json")
        return upload_id

    async def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                          chunks: AsyncIterator[bytes]) -> PartInfo:
        """Store one part as an object (a later part with the same number replaces it)."""
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidArgument(f"partNumber must be between 1 and {MAX_PART_NUMBER}")
        await self._info(bucket, key, upload_id)
        digest = await self._pub.stream(
            self._staging, _part_key(bucket, upload_id, number), chunks,
            lambda d: {"Metadata": {META_MD5: d.md5.hexdigest(), META_CRC: str(d.crc.value)}}, None)
        return PartInfo(number, digest.md5.hexdigest(), digest.size, time.time())

    async def _listed(self, bucket: str, upload_id: str) -> dict[int, dict[str, Any]]:
        """The part objects by number: key, size, S3 ETag, time."""
        client = await self._client()
        prefix = f"parts/{bucket}/{upload_id}/"
        found: dict[int, dict[str, Any]] = {}
        with s3_errors(upload_id):
            async for page in client.get_paginator("list_objects_v2").paginate(Bucket=self._staging, Prefix=prefix):
                for o in page.get("Contents", []):
                    name = o["Key"][len(prefix):]
                    if name.isdigit():
                        found[int(name)] = {"key": o["Key"], "size": int(o["Size"]), "etag": o["ETag"].strip('"'),
                                            "last_modified": o["LastModified"].timestamp()}
        return found

    async def _head_part(self, part: dict[str, Any]) -> dict[str, Any]:
        """A listed part with its ci-md5 and ci-crc64."""
        client = await self._client()
        with s3_errors(part["key"]):
            resp = await client.head_object(Bucket=self._staging, Key=part["key"])
        meta = resp.get("Metadata") or {}
        return {**part, "etag": meta.get(META_MD5, part["etag"]), "crc64": int(meta.get(META_CRC, "0"))}

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        """The uploaded parts in part-number order."""
        await self._info(bucket, key, upload_id)
        listed = await self._listed(bucket, upload_id)
        odd = [n for n, p in listed.items() if not plain_etag(p["etag"])]  # S3's ETag is not the MD5
        for n, part in zip(odd, await gather_limited((self._head_part(listed[n]) for n in odd), HEADS),
                           strict=True):
            listed[n] = part
        return [PartInfo(n, p["etag"], p["size"], p["last_modified"]) for n, p in sorted(listed.items())]

    async def complete(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]) -> ObjectMeta:
        """Check the part list, publish the object server-side, then forget the upload."""
        info = await self._info(bucket, key, upload_id)
        listed = await self._listed(bucket, upload_id)
        wanted = sorted({n for n, _ in parts if n in listed})
        heads = await gather_limited((self._head_part(listed[n]) for n in wanted), HEADS)
        chosen = choose_parts(dict(zip(wanted, heads, strict=True)), parts, upload_id)
        crc = 0
        for p in chosen:
            crc = combine(crc, p["crc64"], p["size"])
        md5s = b"".join(binascii.unhexlify(p["etag"]) for p in chosen)
        etag = f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"
        args = object_args(etag, str(crc), info["content_type"], info["headers"])
        await self._pub.assemble(self._s3_bucket(bucket), key,
                                 [Source(self._staging, p["key"], p["size"]) for p in chosen], args)
        await self._forget(bucket, key, upload_id)
        return ObjectMeta(key=key, size=sum(p["size"] for p in chosen), etag=etag, last_modified=time.time(),
                          content_type=info["content_type"], crc64=str(crc), headers=dict(info["headers"]))

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts."""
        await self._info(bucket, key, upload_id)
        await self._forget(bucket, key, upload_id)

    async def _forget(self, bucket: str, key: str, upload_id: str) -> None:
        """Delete the upload record (from then on it is gone), then its parts."""
        client = await self._client()
        with s3_errors(upload_id):
            await client.delete_object(Bucket=self._staging, Key=f"uploads/{bucket}/{upload_id}/{key}")
        keys = [p["key"] for p in (await self._listed(bucket, upload_id)).values()]
        for i in range(0, len(keys), 1000):
            with s3_errors(upload_id):
                await client.delete_objects(Bucket=self._staging, Delete={
                    "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})

    async def list(self, bucket: str, prefix: str) -> list[UploadInfo]:
        """Open uploads of `bucket` whose key starts with `prefix`, oldest first."""
        client = await self._client()
        root = f"uploads/{bucket}/"
        found: list[tuple[str, str]] = []
        with s3_errors(bucket):
            async for page in client.get_paginator("list_objects_v2").paginate(Bucket=self._staging, Prefix=root):
                for o in page.get("Contents", []):
                    upload_id, _, key = o["Key"][len(root):].partition("/")
                    if UPLOAD_ID.match(upload_id) and key.startswith(prefix):
                        found.append((upload_id, key))
        infos = await gather_limited((self._maybe_info(bucket, k, u) for u, k in found), HEADS)
        return [UploadInfo(u, k, i["initiated"], i["content_type"], i["headers"])
                for (u, k), i in zip(found, infos, strict=True) if i is not None]

    async def _maybe_info(self, bucket: str, key: str, upload_id: str) -> dict[str, Any] | None:
        try:
            return await self._info(bucket, key, upload_id)
        except NoSuchUpload:  # completed or aborted meanwhile
            return None


def _part_key(bucket: str, upload_id: str, number: int) -> str:
    return f"parts/{bucket}/{upload_id}/{number:05d}"
