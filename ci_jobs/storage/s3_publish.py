"""Writing S3 objects whole or not at all: multipart uploads that abort on failure, and assembly.

S3 wants an object's metadata when the upload starts, but a streamed put knows its MD5 and CRC-64
only at the end. So a streamed body above one part goes to a staging object first (a multipart
upload in the staging bucket, aborted on any failure, Content-MD5 checked before it completes)
and is then published by a server-side copy carrying the metadata: the object appears at that
copy, whole. A local file is hashed before it is sent, so it goes straight to its key.

`assemble` builds an object from byte ranges of other objects (staged bodies, COS parts): S3
parts other than the last must be at least 5 MiB, so ranges big enough are copied server-side
(UploadPartCopy) and smaller ones are read and regrouped into parts of `part_size`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from ..errors import BadDigest
from .s3_io import READ_CHUNK, S3_MAX_COPY, S3_MIN_PART, Conn, Hashes, blocks, s3_errors

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()  # clean-ups that must outlive a cancelled request


@dataclass(frozen=True)
class Source:
    """Bytes `start..start+size-1` of an S3 object, as a piece of an object being assembled."""

    bucket: str
    key: str
    size: int
    start: int = 0


async def read_range(client: Any, bucket: str, key: str, start: int, end: int) -> bytes:
    """Bytes `start..end` (inclusive) of an object, in memory (callers keep ranges small)."""
    with s3_errors(key):
        resp = await client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")
        body = resp["Body"]
        async with body:
            data: bytes = await body.read()
    return data


def detach(coro: Awaitable[None]) -> Awaitable[None]:
    """Run a clean-up to its end even if the awaiting task is cancelled."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return asyncio.shield(task)


class PartWriter:
    """One S3 multipart upload, up to `concurrency` parts in flight; aborted unless completed."""

    def __init__(self, client: Any, bucket: str, key: str, args: dict[str, Any], concurrency: int) -> None:
        self._c, self.bucket, self.key, self._args = client, bucket, key, args
        self._limit = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._etags: dict[int, str] = {}
        self._next = 1
        self.upload_id = ""
        self._done = False

    async def __aenter__(self) -> PartWriter:
        with s3_errors(self.key):
            resp = await self._c.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self._args)
        self.upload_id = resp["UploadId"]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if not self._done:
            for task in self._tasks:
                task.cancel()
            await detach(self._abort())

    async def _abort(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._c.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # the failure being reported matters more; a lifecycle rule can sweep it
            log.warning("could not abort multipart upload %s of %s/%s", self.upload_id, self.bucket, self.key,
                        exc_info=True)

    async def add(self, body: bytes) -> None:
        """Upload the next part from memory."""
        await self._start(lambda n: self._c.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n, Body=body), lambda r: r["ETag"])

    async def copy(self, src: Source) -> None:
        """Make the next part a server-side copy of `src` (5 MiB to 5 GiB unless it is the last)."""
        await self._start(lambda n: self._c.upload_part_copy(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n,
            CopySource={"Bucket": src.bucket, "Key": src.key},
            CopySourceRange=f"bytes={src.start}-{src.start + src.size - 1}"), lambda r: r["CopyPartResult"]["ETag"])

    async def _start(self, call: Callable[[int], Awaitable[dict[str, Any]]],
                     etag_of: Callable[[dict[str, Any]], str]) -> None:
        """Send part `number` in a task once fewer than `concurrency` are in flight."""
        while len(self._tasks) >= self._limit:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._tasks.discard(task)
                task.result()
        number, self._next = self._next, self._next + 1

        async def run() -> None:
            with s3_errors(self.key):
                resp = await call(number)
            self._etags[number] = etag_of(resp)

        self._tasks.add(asyncio.create_task(run()))

    async def complete(self) -> None:
        """Wait for the parts and complete: the object appears now."""
        for task in list(self._tasks):
            await task
            self._tasks.discard(task)
        parts = [{"PartNumber": n, "ETag": e} for n, e in sorted(self._etags.items())]
        with s3_errors(self.key):
            await self._c.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                    MultipartUpload={"Parts": parts})
        self._done = True


class Publisher:
    """Puts, file uploads and assembly over one connection, with the staging bucket for bodies."""

    def __init__(self, conn: Conn, staging: str, part_size: int, concurrency: int) -> None:
        self.conn, self.staging, self.part_size, self.concurrency = conn, staging, part_size, concurrency

    async def stream(self, bucket: str, key: str, chunks: AsyncIterator[bytes],
                     args: Callable[[Hashes], dict[str, Any]], expected_md5: str | None) -> Hashes:
        """Stream `chunks` into `key`; `args(hashes)` gives the metadata once the body is known."""
        client = await self.conn()
        it = aiter(blocks(chunks, self.part_size))
        digest = Hashes()
        first = await anext(it, b"")
        await asyncio.to_thread(digest.update, first)
        second = await anext(it, None) if len(first) == self.part_size else None
        if second is None:
            _check(digest, expected_md5, key)
            with s3_errors(key):
                await client.put_object(Bucket=bucket, Key=key, Body=first,
                                        ContentMD5=base64.b64encode(digest.md5.digest()).decode(), **args(digest))
            return digest
        staged = f"put/{uuid.uuid4().hex}"
        async with PartWriter(client, self.staging, staged, {}, self.concurrency) as writer:
            await writer.add(first)
            block: bytes | None = second
            while block is not None:
                await asyncio.to_thread(digest.update, block)
                await writer.add(block)
                block = await anext(it, None)
            _check(digest, expected_md5, key)
            await writer.complete()
        try:
            await self.assemble(bucket, key, [Source(self.staging, staged, digest.size)], args(digest))
        finally:
            await detach(self._forget(staged))
        return digest

    async def _forget(self, staged: str) -> None:
        try:
            await (await self.conn()).delete_object(Bucket=self.staging, Key=staged)
        except Exception:
            log.warning("could not delete the staged object %s/%s", self.staging, staged, exc_info=True)

    async def upload_file(self, bucket: str, key: str, path: Path, args: dict[str, Any]) -> None:
        """Upload a local file whose metadata is known: one PutObject, or parts read from disk."""
        client = await self.conn()
        size = os.path.getsize(path)
        with path.open("rb") as fh:
            if size <= self.part_size:
                body = await asyncio.to_thread(fh.read)
                with s3_errors(key):
                    await client.put_object(Bucket=bucket, Key=key, Body=body, **args)
                return
            async with PartWriter(client, bucket, key, args, self.concurrency) as writer:
                while block := await asyncio.to_thread(_read, fh, self.part_size):
                    await writer.add(block)
                await writer.complete()

    async def assemble(self, bucket: str, key: str, sources: list[Source], args: dict[str, Any]) -> None:
        """Publish the concatenation of `sources` as `key` with metadata `args`, atomically."""
        client = await self.conn()
        total = sum(s.size for s in sources)
        if total <= self.part_size:
            pieces = [await read_range(client, s.bucket, s.key, s.start, s.start + s.size - 1)
                      for s in sources if s.size]
            with s3_errors(key):
                await client.put_object(Bucket=bucket, Key=key, Body=b"".join(pieces), **args)
        elif len(sources) == 1 and sources[0].start == 0 and total <= S3_MAX_COPY:
            with s3_errors(key):
                await client.copy_object(Bucket=bucket, Key=key, MetadataDirective="REPLACE", **args,
                                         CopySource={"Bucket": sources[0].bucket, "Key": sources[0].key})
        else:
            async with PartWriter(client, bucket, key, args, self.concurrency) as writer:
                await self._parts(client, writer, sources)
                await writer.complete()

    async def _parts(self, client: Any, writer: PartWriter, sources: list[Source]) -> None:
        """Copy ranges of at least 5 MiB; read smaller pieces into parts of `part_size`."""
        buf = bytearray()
        for src in sources:
            pos, end = src.start, src.start + src.size
            while pos < end:
                if not buf and end - pos >= S3_MIN_PART:
                    n = min(end - pos, S3_MAX_COPY)
                    await writer.copy(Source(src.bucket, src.key, n, pos))
                else:
                    n = min(self.part_size - len(buf), end - pos)
                    buf += await read_range(client, src.bucket, src.key, pos, pos + n - 1)
                    if len(buf) >= self.part_size:
                        await writer.add(bytes(buf))
                        buf.clear()
                pos += n
        if buf:
            await writer.add(bytes(buf))


def _check(digest: Hashes, expected_md5: str | None, key: str) -> None:
    if expected_md5 is not None and digest.md5.hexdigest() != expected_md5:
        raise BadDigest(resource=key)


def _read(fh: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes (fewer only at the end of the file)."""
    out = bytearray()
    while len(out) < size and (block := fh.read(min(READ_CHUNK * 8, size - len(out)))):
        out += block
    return bytes(out)
