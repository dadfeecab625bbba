"""Multipart uploads of the local storage adapter, kept under `root/.uploads/<upload id>/`.

An upload folder holds `upload.json` (bucket, key, type, headers, initiation time) and, per part,
`<n>.json` (etag, size, crc64) next to `<n>-<random>.part`; a part is swapped in by two renames
under the adapter's lock. Complete and Abort first rename the folder away, which makes them
exclusive: a second Complete, or a part arriving meanwhile, gets NoSuchUpload.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import EntityTooSmall, InvalidArgument, InvalidPart, InvalidPartOrder, NoSuchUpload
from . import DEFAULT_CONTENT_TYPE, MAX_PART_NUMBER, MIN_PART_SIZE, ObjectMeta, PartInfo, UploadInfo
from .crc64 import combine
from .localfs import TempArea, append_file, read_json, scandir

UPLOAD_ID = re.compile(r"^[0-9a-f]{16,128}$")
Publish = Callable[[str, str, Path, dict[str, Any]], ObjectMeta]


class Uploads:
    """Open multipart uploads; `publish` commits an assembled temp file as an object."""

    def __init__(self, folder: Path, lock: threading.Lock, temp: TempArea, publish: Publish) -> None:
        self.folder = folder
        self._lock = lock
        self._temp = temp
        self._publish = publish

    def _dir(self, upload_id: str) -> Path:
        if not UPLOAD_ID.match(upload_id):
            raise NoSuchUpload(resource=upload_id)
        return self.folder / upload_id

    @staticmethod
    def _info(folder: Path, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        info = read_json(folder / "upload.json")
        if info is None or info["bucket"] != bucket or info["key"] != key:
            raise NoSuchUpload(resource=upload_id)
        return info

    async def create(self, bucket: str, key: str, content_type: str,
                     headers: Mapping[str, str] | None) -> str:
        """Initiate an upload; its id is hex (time + randomness), like COS's."""
        upload_id = f"{int(time.time()):x}{uuid.uuid4().hex}{uuid.uuid4().hex}"
        now = time.time_ns()
        info = {"bucket": bucket, "key": key, "content_type": content_type or DEFAULT_CONTENT_TYPE,
                "headers": dict(headers or {}), "initiated": now / 1e9, "initiated_ns": now}

        def create() -> None:
            folder = self._dir(upload_id)
            folder.mkdir(parents=True)
            os.replace(self._temp.write_json(info), folder / "upload.json")

        await asyncio.to_thread(create)
        return upload_id

    async def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                          chunks: AsyncIterator[bytes]) -> PartInfo:
        """Spool one part, then swap it in (replacing an earlier part with the same number)."""
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidArgument(f"partNumber must be between 1 and {MAX_PART_NUMBER}")
        folder = self._dir(upload_id)
        await asyncio.to_thread(self._info, folder, bucket, key, upload_id)
        tmp = self._temp.new()
        try:
            digest = await self._temp.spool(chunks, tmp)
            part: dict[str, Any] = {"etag": digest.md5.hexdigest(), "size": digest.size, "crc64": digest.crc.value,
                    "last_modified": time.time(), "file": f"{number}-{uuid.uuid4().hex}.part"}
            await asyncio.to_thread(self._swap_in, folder, upload_id, number, tmp, part)
        finally:
            tmp.unlink(missing_ok=True)
        return PartInfo(number, part["etag"], part["size"], part["last_modified"])

    def _swap_in(self, folder: Path, upload_id: str, number: int, tmp: Path, part: dict[str, Any]) -> None:
        meta_tmp = self._temp.write_json(part)
        try:
            with self._lock:
                old = read_json(folder / f"{number}.json")
                try:
                    os.replace(tmp, folder / part["file"])
                    os.replace(meta_tmp, folder / f"{number}.json")
                except FileNotFoundError as exc:  # completed or aborted meanwhile
                    raise NoSuchUpload(resource=upload_id) from exc
                if old:
                    (folder / old["file"]).unlink(missing_ok=True)
        finally:
            meta_tmp.unlink(missing_ok=True)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        """The uploaded parts in part-number order."""
        folder = self._dir(upload_id)

        def parts() -> list[PartInfo]:
            self._info(folder, bucket, key, upload_id)
            return [PartInfo(n, p["etag"], p["size"], p["last_modified"])
                    for n, p in sorted(_stored_parts(folder).items())]

        return await asyncio.to_thread(parts)

    async def complete(self, bucket: str, key: str, upload_id: str,
                       parts: list[tuple[int, str]]) -> ObjectMeta:
        """Claim the upload, check the part list, concatenate and publish atomically."""
        folder = self._dir(upload_id)
        return await asyncio.to_thread(self._complete, folder, bucket, key, upload_id, parts)

    def _complete(self, folder: Path, bucket: str, key: str, upload_id: str,
                  parts: list[tuple[int, str]]) -> ObjectMeta:
        claimed = self._claim(folder, upload_id, ".completing")
        tmp = self._temp.new()
        try:
            info = self._info(claimed, bucket, key, upload_id)
            chosen = choose_parts(_stored_parts(claimed), parts, upload_id)
            crc = 0
            with tmp.open("wb", buffering=0) as out:
                for p in chosen:
                    append_file(out, claimed / p["file"])
                    crc = combine(crc, p["crc64"], p["size"])
            md5s = b"".join(binascii.unhexlify(p["etag"]) for p in chosen)
            record = {"size": sum(p["size"] for p in chosen), "crc64": str(crc),
                      "etag": f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}",
                      "content_type": info["content_type"], "headers": info["headers"]}
            meta = self._publish(bucket, key, tmp, record)
        except BaseException:
            with self._lock:
                claimed.rename(folder)
            raise
        finally:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(claimed, ignore_errors=True)
        return meta

    def _claim(self, folder: Path, upload_id: str, suffix: str) -> Path:
        claimed = folder.with_name(folder.name + suffix)
        with self._lock:
            try:
                folder.rename(claimed)
            except OSError as exc:
                raise NoSuchUpload(resource=upload_id) from exc
        return claimed

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts."""
        folder = self._dir(upload_id)

        def abort() -> None:
            self._info(folder, bucket, key, upload_id)
            shutil.rmtree(self._claim(folder, upload_id, ".aborting"), ignore_errors=True)

        await asyncio.to_thread(abort)

    def sweep(self, max_age: float) -> None:
        """Delete uploads a crash left half-completed or half-aborted (older than `max_age` s)."""
        cutoff = time.time() - max_age
        for entry in scandir(self.folder):
            if entry.name.endswith((".completing", ".aborting")) and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)

    async def list(self, bucket: str, prefix: str) -> list[UploadInfo]:
        """Open uploads of `bucket` whose key starts with `prefix`, oldest first."""

        def scan() -> list[UploadInfo]:
            found = []
            for entry in scandir(self.folder):
                info = read_json(Path(entry.path) / "upload.json") if UPLOAD_ID.match(entry.name) else None
                if info and info["bucket"] == bucket and info["key"].startswith(prefix):
                    found.append((info["initiated_ns"], entry.name, info))
            found.sort(key=lambda item: (item[0], item[1]))
            return [UploadInfo(uid, i["key"], i["initiated"], i["content_type"], i["headers"])
                    for _, uid, i in found]

        return await asyncio.to_thread(scan)


def _stored_parts(folder: Path) -> dict[int, dict[str, Any]]:
    out = {}
    for entry in scandir(folder):
        stem, _, ext = entry.name.partition(".")
        if ext == "json" and stem.isdigit():
            part = read_json(Path(entry.path))
            if part:
                out[int(stem)] = part
    return out


def choose_parts(stored: Mapping[int, dict[str, Any]], requested: list[tuple[int, str]],
                 upload_id: str) -> list[dict[str, Any]]:
    """Check a Complete request's (number, etag) list against the stored parts, in COS's order."""
    if not requested:
        raise InvalidPart("CompleteMultipartUpload must list at least one part.", resource=upload_id)
    numbers = [n for n, _ in requested]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise InvalidPartOrder(resource=upload_id)
    chosen = []
    for number, etag in requested:
        part = stored.get(number)
        if part is None or part["etag"] != etag.strip().strip('"').lower():
            raise InvalidPart(f"Part {number} was not uploaded or its ETag does not match.",
                              resource=upload_id)
        chosen.append(part)
    for number, part in zip(numbers[:-1], chosen[:-1], strict=True):
        if part["size"] < MIN_PART_SIZE:
            raise EntityTooSmall(f"Part {number} is smaller than 1 MiB and is not the last part.",
                                 resource=upload_id)
    return chosen
