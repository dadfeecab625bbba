"""File-system pieces of the local storage adapter: temp files, hashing copies, ordered walks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..domain.results import FileHashes
from ..errors import InvalidDigest
from .crc64 import Crc64

CHUNK = 1 << 20  # disk work happens in worker threads, about this much at a time
FOLDER_MARK = ".cos-folder"  # sidecar name of a folder object (a key ending in `/`)


class Digest:
    """Size, MD5 and CRC-64 of bytes as they are written."""

    def __init__(self) -> None:
        self.size = 0
        self.md5 = hashlib.md5()
        self.crc = Crc64()

    def write(self, fh: BinaryIO, data: bytes | bytearray) -> None:
        """Write `data` to `fh` and account for it."""
        fh.write(data)
        self.size += len(data)
        self.md5.update(data)
        self.crc.update(data)

    def hashes(self) -> FileHashes:
        """The values, as `Storage` passes them around."""
        return FileHashes(self.size, self.md5.hexdigest(), self.crc.decimal())


class TempArea:
    """`root/.tmp`: where bytes land before a rename publishes them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new(self) -> Path:
        """A fresh, unused temp path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / uuid.uuid4().hex

    def write_json(self, record: dict[str, Any]) -> Path:
        """Write `record` to a fresh temp file (to be renamed over its destination)."""
        tmp = self.new()
        tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return tmp

    def sweep(self, max_age: float) -> None:
        """Delete temp files a crash left behind (older than `max_age` seconds)."""
        cutoff = time.time() - max_age
        for entry in scandir(self.folder):
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                pass

    async def spool(self, chunks: AsyncIterator[bytes], tmp: Path) -> Digest:
        """Write chunks to `tmp` in about CHUNK-sized batches, hashing in a worker thread."""
        digest = Digest()
        fh = await asyncio.to_thread(tmp.open, "wb")
        try:
            buf = bytearray()
            async for chunk in chunks:
                buf += chunk
                if len(buf) >= CHUNK:
                    await asyncio.to_thread(digest.write, fh, buf)
                    buf = bytearray()
            if buf:
                await asyncio.to_thread(digest.write, fh, buf)
        finally:
            await asyncio.to_thread(fh.close)
        return digest


def md5_hex(content_md5: str) -> str:
    """Decode a Content-MD5 header (base64 of 16 bytes) to hex; InvalidDigest."""
    try:
        raw = base64.b64decode(content_md5.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDigest() from exc
    if len(raw) != 16:
        raise InvalidDigest()
    return raw.hex()


def copy_hashed(src: Path, dst: Path) -> Digest:
    """Copy a file while hashing it (one read, one write)."""
    digest = Digest()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while block := fin.read(CHUNK):
            digest.write(fout, block)
    return digest


def link_hashed(src: Path, dst: Path, known: FileHashes | None = None) -> FileHashes:
    """Hard-link `src` as `dst` and hash it (one read, no write), or take `known` for its hashes when its
    size matches; a copy where the link fails (another file system, or one without links)."""
    try:
        os.link(src, dst)
    except OSError:
        return copy_hashed(src, dst).hashes()
    if known is not None and dst.stat().st_size == known.size:
        return known
    with dst.open("rb") as fh:
        return hash_file(fh).hashes()


def hash_path(path: str | Path) -> FileHashes:
    """Hash a file on disk (the GIL is released while the hashes run, so threads overlap)."""
    with open(path, "rb") as fh:
        return hash_file(fh).hashes()


def hash_file(fh: BinaryIO) -> Digest:
    """Hash an open file from its current position, without copying it."""
    digest = Digest()
    with open(os.devnull, "wb") as sink:
        while block := fh.read(CHUNK):
            digest.write(sink, block)
    return digest


def append_file(out: BinaryIO, src: Path) -> None:
    """Append `src` to the unbuffered `out`, in the kernel where it can (copy_file_range)."""
    with src.open("rb") as fin:
        size = os.fstat(fin.fileno()).st_size
        copied = 0
        try:
            while copied < size and hasattr(os, "copy_file_range"):
                n = os.copy_file_range(fin.fileno(), out.fileno(), size - copied)
                if n == 0:
                    break
                copied += n
        except OSError:  # not supported between these files: copy in user space
            pass
        fin.seek(copied)
        shutil.copyfileobj(fin, out, CHUNK)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing or unreadable."""
    try:
        data: dict[str, Any] = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data


def scandir(path: Path) -> list[os.DirEntry[str]]:
    """The entries of a folder ([] when it does not exist)."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def walk_keys(meta_root: Path, prefix: str, marker: str, skip: list[str]) -> Iterator[str]:
    """Keys of a sidecar tree that start with `prefix` and sort after `marker`, in key order.

    `skip[0]`, when set by the caller, is a prefix whose keys are no longer wanted (a common
    prefix already returned); whole folders below it are not visited.
    """
    head = prefix[: prefix.rfind("/") + 1]
    segments = head.split("/")[:-1]
    if any(seg in ("", ".", "..", FOLDER_MARK) or "\x00" in seg for seg in segments):
        return  # no stored key has such a segment
    start = meta_root.joinpath(*segments)
    if start.is_dir():
        yield from _walk(start, head, prefix, marker, skip)


def _walk(folder: Path, rel: str, prefix: str, marker: str, skip: list[str]) -> Iterator[str]:
    # Code point order is UTF-8 byte order; a folder's entries sort as `name/`, files as `name`.
    entries = []
    for entry in scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            entries.append((entry.name + "/", entry))
        elif entry.name == FOLDER_MARK:
            if rel and rel.startswith(prefix) and rel > marker:
                yield rel  # the folder object sorts before everything below it
        else:
            entries.append((entry.name, entry))
    entries.sort(key=lambda item: item[0])
    for name, entry in entries:
        key = rel + name
        is_dir = name.endswith("/")
        if not (key.startswith(prefix) or (is_dir and prefix.startswith(key))):
            continue
        if skip[0] and key.startswith(skip[0]):
            continue
        if is_dir:
            if key < marker and not marker.startswith(key):
                continue  # every key below sorts before the marker
            yield from _walk(Path(entry.path), key, prefix, marker, skip)
        elif key > marker:
            yield key
