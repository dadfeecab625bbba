"""Bucket storage in local files: what `ci-jobs serve` uses by default.

Layout under `root`:

    <bucket>/<key>                       the object's bytes, at the key's own path (browsable)
    .meta/<bucket>/<key>                 JSON sidecar: size, etag, crc64, type, headers, inode
    <bucket>/<folder>/.cos-folder        a folder object (a key ending in `/`), sidecar alike
    .tmp/                                bytes in flight, renamed into place when whole
    .uploads/<upload id>/                multipart uploads (see local_multipart)

The sidecar is the commit point: an object exists when its sidecar does, and a put renames the
data and then the sidecar into place under one lock, so readers in this process never see one
without the other. The sidecar records the data file's inode; after a crash between the two
renames the mismatch is noticed and the sidecar is rebuilt from the bytes.

Because keys are paths, this adapter cannot hold both `a` and a key below `a/`, nor keys with
empty or `.` segments or a segment over 255 bytes; such puts get a clear InvalidArgument
(KeyTooLong for the long segment). It is meant for one process (the embedded server);
distributed mode uses the S3 adapter.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import BadDigest, InvalidArgument, KeyTooLong, NoSuchKey
from . import DEFAULT_CONTENT_TYPE, FileHashes, ListResult, ObjectMeta, PartInfo, UploadInfo, safe_key
from .local_multipart import Uploads
from .localfs import (
    CHUNK,
    FOLDER_MARK,
    TempArea,
    copy_hashed,
    hash_file,
    link_hashed,
    md5_hex,
    read_json,
    scandir,
    walk_keys,
)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]*$")
K = TypeVar("K")
V = TypeVar("V")
SIDECARS_KEPT = 4096  # parsed sidecars kept for HEADs (a few hundred bytes each)
STALE_SECONDS = 24 * 3600  # temp files and claimed uploads older than this are crash leftovers


class LocalStorage:
    """The `Storage` port over a local folder (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()  # renames, unlinks and sidecar reads happen under it
        self._temp = TempArea(self.root / ".tmp")
        self._uploads = Uploads(self.root / ".uploads", self._lock, self._temp, self._commit)
        self._buckets: set[str] = set()
        # Parsed sidecars by path, each with the (inode, mtime, size) it was read at: a HEAD of an unchanged
        # object costs a stat instead of a read and a parse. Sidecars are replaced by rename (a new inode).
        self._sidecars: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        self._known_paths: dict[tuple[str, str], tuple[Path, Path]] = {}

    def _paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        """(data path, sidecar path) of a key; refuse what files cannot hold (checked once per key)."""
        found = self._known_paths.get((bucket, key))
        if found is None:
            found = self._check_paths(bucket, key)
            _remember(self._known_paths, (bucket, key), found)
        return found

    def _check_paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        if not _BUCKET.match(bucket):
            raise InvalidArgument(f"invalid bucket name {bucket!r}")
        safe_key(key)
        folder = key.endswith("/")
        segments = (key[:-1] if folder else key).split("/")
        for seg in segments:
            if seg in ("", ".", FOLDER_MARK):
                raise InvalidArgument(f"local storage cannot hold the key {key!r}: empty, '.' and "
                                      f"{FOLDER_MARK!r} path segments are not supported")
            if len(seg.encode()) > 255:
                raise KeyTooLong(f"local storage cannot hold the key {key!r}: a path segment is "
                                 "longer than 255 bytes")
        if folder:
            segments.append(FOLDER_MARK)
        return self.root.joinpath(bucket, *segments), self.root.joinpath(".meta", bucket, *segments)

    # --- objects --------------------------------------------------------------------------

    async def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket's folders."""
        if not _BUCKET.match(bucket):
            raise InvalidArgument(f"invalid bucket name {bucket!r}")
        self._buckets.add(bucket)
        await asyncio.to_thread(self._mkdirs, bucket)

    def _mkdirs(self, bucket: str) -> None:
        (self.root / bucket).mkdir(parents=True, exist_ok=True)
        (self.root / ".meta" / bucket).mkdir(parents=True, exist_ok=True)
        self._temp.sweep(STALE_SECONDS)
        self._uploads.sweep(STALE_SECONDS)

    async def head(self, bucket: str, key: str) -> ObjectMeta:
        """Return an object's metadata; raise NoSuchKey.

        The usual case reads a small sidecar and stats one file (about 30 us), which a thread hop
        would cost ten times over, so it runs in place when the lock is free at once; a busy lock or
        a sidecar that needs repairing (hashing the data) goes to a thread."""
        if self._lock.acquire(blocking=False):
            try:
                found = self._head_in_place(bucket, key)
            finally:
                self._lock.release()
            if found is not None:
                return found
        return await asyncio.to_thread(self._head, bucket, key)

    def _head_in_place(self, bucket: str, key: str) -> ObjectMeta | None:
        """_head's common case under the caller's lock; None where _head must run instead."""
        data, meta_path = self._paths(bucket, key)
        meta = self._sidecar(str(meta_path))
        try:
            st = data.stat() if meta is not None else None
        except OSError:
            meta = None
        if meta is None or st is None:
            raise NoSuchKey(resource=key)
        if st.st_ino != meta.get("inode") or st.st_size != meta["size"]:
            return None
        return _meta(key, meta)

    def _sidecar(self, path: str) -> dict[str, Any] | None:
        """The sidecar at `path` (None when missing or unreadable), parsed again only when it changed."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._sidecars.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        meta = read_json(Path(path))
        if meta is not None:
            _remember(self._sidecars, path, (stamp, meta))
        return meta

    def _head(self, bucket: str, key: str) -> ObjectMeta:
        with self._lock:
            found = self._head_in_place(bucket, key)
        if found is not None:
            return found
        data, meta_path = self._paths(bucket, key)
        with self._lock:
            meta = read_json(meta_path)
        try:
            if meta is None:
                raise FileNotFoundError(meta_path)
            return _meta(key, self._repair(data, meta_path, meta))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):  # deleted meanwhile
            raise NoSuchKey(resource=key) from None

    def _repair(self, data: Path, meta_path: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Rebuild a sidecar whose data file was replaced behind its back (a crash mid-put)."""
        with data.open("rb") as fh:
            st = os.fstat(fh.fileno())
            digest = hash_file(fh)
        fixed = {**meta, **_record(digest.hashes(), meta["content_type"], meta["headers"]),
                 "inode": st.st_ino, "last_modified": st.st_mtime}
        tmp = self._temp.write_json(fixed)
        try:
            with self._lock:
                current = read_json(meta_path)
                if current != meta:  # a put or delete got there first: trust it
                    return current or fixed
                os.replace(tmp, meta_path)
        finally:
            tmp.unlink(missing_ok=True)
        return fixed

    async def put(self, bucket: str, key: str, chunks: AsyncIterator[bytes], *,
                  content_type: str = DEFAULT_CONTENT_TYPE, headers: Mapping[str, str] | None = None,
                  content_md5: str | None = None) -> ObjectMeta:
        """Stream `chunks` to a temp file, verify Content-MD5, then rename it into place."""
        self._paths(bucket, key)
        expected = md5_hex(content_md5) if content_md5 is not None else None
        tmp = self._temp.new()
        try:
            digest = await self._temp.spool(chunks, tmp)
            if expected is not None and digest.md5.hexdigest() != expected:
                raise BadDigest(resource=key)
            record = _record(digest.hashes(), content_type, headers)
            return await asyncio.to_thread(self._commit, bucket, key, tmp, record)
        finally:
            tmp.unlink(missing_ok=True)

    async def put_file(self, bucket: str, key: str, path: Path, *,
                       content_type: str = DEFAULT_CONTENT_TYPE,
                       headers: Mapping[str, str] | None = None, owned: bool = False,
                       hashes: FileHashes | None = None) -> ObjectMeta:
        """Copy a finished local file in (hashing it on the way) and publish it atomically; an `owned` one
        is hard-linked in and hashed (no bytes written; not even read when its `hashes` are given), or
        copied where a link cannot be made."""
        self._paths(bucket, key)
        tmp = self._temp.new()
        try:
            if owned:
                digest = await asyncio.to_thread(link_hashed, Path(path), tmp, hashes)
            else:
                digest = (await asyncio.to_thread(copy_hashed, Path(path), tmp)).hashes()
            return await asyncio.to_thread(self._commit, bucket, key, tmp,
                                           _record(digest, content_type, headers))
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, bucket: str, key: str, tmp: Path, record: dict[str, Any]) -> ObjectMeta:
        """Rename data and sidecar into place; the sidecar rename is the commit point."""
        data, meta_path = self._paths(bucket, key)
        record = {**record, "last_modified": time.time(), "inode": tmp.stat().st_ino}  # renames keep it
        meta_tmp = self._temp.write_json(record)
        try:
            with self._lock:
                try:
                    meta_path.parent.mkdir(parents=True, exist_ok=True)
                    data.parent.mkdir(parents=True, exist_ok=True)
                    if meta_path.is_dir() or data.is_dir():
                        raise IsADirectoryError(str(meta_path))
                    os.replace(tmp, data)
                    os.replace(meta_tmp, meta_path)
                except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                    self._prune(bucket, meta_path.parent, data.parent)
                    raise InvalidArgument(
                        f"The key {key!r} conflicts with an existing key: local storage keeps keys "
                        "as files, so it cannot hold both 'a' and keys below 'a/'.") from exc
        finally:
            meta_tmp.unlink(missing_ok=True)
        return _meta(key, record)

    def _prune(self, bucket: str, *dirs: Path) -> None:
        """Remove now-empty folders up to (not including) the bucket's roots."""
        stops = {self.root / bucket, self.root / ".meta" / bucket}
        for d in dirs:
            while d not in stops and self.root in d.parents:
                try:
                    d.rmdir()
                except OSError:
                    break
                d = d.parent

    async def read(self, bucket: str, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Yield bytes `start..end` (inclusive) in CHUNK-sized pieces; NoSuchKey."""
        data, _ = self._paths(bucket, key)
        try:
            fh = await asyncio.to_thread(data.open, "rb")
        except OSError as exc:
            raise NoSuchKey(resource=key) from exc
        try:
            await asyncio.to_thread(fh.seek, start)
            remaining = end - start + 1
            while remaining > 0:
                block = await asyncio.to_thread(fh.read, min(CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
        finally:
            fh.close()

    async def delete(self, bucket: str, key: str) -> None:
        """Delete an object (sidecar first, so it vanishes at once); missing keys are fine."""
        await asyncio.to_thread(self._delete, bucket, key)

    def _delete(self, bucket: str, key: str) -> None:
        data, meta_path = self._paths(bucket, key)
        with self._lock:
            try:
                meta_path.unlink()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return
            data.unlink(missing_ok=True)
            self._prune(bucket, meta_path.parent, data.parent)

    @asynccontextmanager
    async def local_input(self, bucket: str, key: str) -> AsyncIterator[Path]:
        """Yield the object's own file; NoSuchKey."""
        await self.head(bucket, key)
        yield self._paths(bucket, key)[0]

    async def list(self, bucket: str, prefix: str = "", marker: str = "", max_keys: int = 1000,
                   delimiter: str = "") -> ListResult:
        """List keys in UTF-8 binary order, rolling up common prefixes (see `Storage.list`)."""
        if not _BUCKET.match(bucket):
            raise InvalidArgument(f"invalid bucket name {bucket!r}")
        return await asyncio.to_thread(self._list, bucket, prefix, marker, max_keys, delimiter)

    def _list(self, bucket: str, prefix: str, marker: str, max_keys: int, delimiter: str) -> ListResult:
        objects: builtins.list[ObjectMeta] = []
        prefixes: builtins.list[str] = []
        skip = [""]  # a common prefix already returned: the walk skips keys below it
        last = ""
        for key in walk_keys(self.root / ".meta" / bucket, prefix, marker, skip):
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            entry = key if cut < 0 else key[:cut + len(delimiter)]
            if cut >= 0 and (entry <= marker or entry == last):
                continue  # its common prefix was returned already (on this page or an earlier one)
            if len(objects) + len(prefixes) >= max_keys:
                return ListResult(tuple(objects), tuple(prefixes), True, last)
            if cut >= 0:
                prefixes.append(entry)
                skip[0] = entry
            else:
                try:
                    objects.append(self._head(bucket, key))
                except NoSuchKey:  # deleted while listing
                    continue
            last = entry
        return ListResult(tuple(objects), tuple(prefixes), False, "")

    # --- multipart (see local_multipart) ----------------------------------------------------

    async def create_upload(self, bucket: str, key: str, *, content_type: str = DEFAULT_CONTENT_TYPE,
                            headers: Mapping[str, str] | None = None) -> str:
        """Initiate a multipart upload and return its id."""
        self._paths(bucket, key)
        return await self._uploads.create(bucket, key, content_type, headers)

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          chunks: AsyncIterator[bytes]) -> PartInfo:
        """Store one part of an upload."""
        return await self._uploads.upload_part(bucket, key, upload_id, part_number, chunks)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> builtins.list[PartInfo]:
        """The uploaded parts in part-number order."""
        return await self._uploads.list_parts(bucket, key, upload_id)

    async def complete_upload(self, bucket: str, key: str, upload_id: str,
                              parts: builtins.list[tuple[int, str]]) -> ObjectMeta:
        """Assemble the listed parts into the object, atomically."""
        return await self._uploads.complete(bucket, key, upload_id, parts)

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts."""
        await self._uploads.abort(bucket, key, upload_id)

    async def list_uploads(self, bucket: str, prefix: str = "") -> builtins.list[UploadInfo]:
        """Open uploads whose key starts with `prefix`, oldest first."""
        return await self._uploads.list(bucket, prefix)

    async def reset(self) -> None:
        """Delete every object, sidecar, upload and temp file; keep the known buckets' folders."""

        def wipe() -> None:
            with self._lock:
                for entry in scandir(self.root):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                for bucket in self._buckets:
                    self._mkdirs(bucket)

        await asyncio.to_thread(wipe)


def _remember(cache: dict[K, V], key: K, value: V) -> None:
    """Keep `value` in `cache`, dropping the oldest entry past SIDECARS_KEPT.

    Paths are looked up from worker threads as well as the loop, without the storage lock: another
    thread may drop or add an entry meanwhile, and losing a cached entry only costs a re-read."""
    if len(cache) >= SIDECARS_KEPT:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del cache[next(iter(cache))]
    cache[key] = value


def _meta(key: str, m: Mapping[str, Any]) -> ObjectMeta:
    return ObjectMeta(key=key, size=m["size"], etag=m["etag"], last_modified=m["last_modified"],
                      content_type=m["content_type"], crc64=m["crc64"], headers=dict(m["headers"]))


def _record(digest: FileHashes, content_type: str, headers: Mapping[str, str] | None) -> dict[str, Any]:
    return {"size": digest.size, "etag": digest.md5, "crc64": digest.crc64,
            "content_type": content_type or DEFAULT_CONTENT_TYPE, "headers": dict(headers or {})}
