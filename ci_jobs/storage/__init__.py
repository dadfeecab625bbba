"""Bucket storage: the `Storage` port, its value types and the key rules every adapter shares.

Adapters: `local.LocalStorage` (files under the data dir) and, for distributed mode, an S3 adapter.
Keys are COS object keys (UTF-8, `/`-separated, a trailing `/` marks a zero-byte folder object);
`safe_key` refuses the ones that could escape a bucket's folder before any adapter sees them.
"""

from __future__ import annotations

import builtins  # `Storage.list` shadows the builtin inside class bodies
import mimetypes
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..domain.results import FileHashes
from ..errors import InvalidArgument, KeyTooLong
from .localfs import hash_path

MAX_KEY_BYTES = 850  # COS's documented key limit
MIN_PART_SIZE = 1 << 20  # every part but the last must be at least 1 MiB at Complete
MAX_PART_NUMBER = 10000
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Object headers a PUT may set and every GET/HEAD returns (besides x-cos-meta-*).
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Expires")

_SEGMENT_SPLIT = re.compile(r"[/\\]")
_MIME = mimetypes.MimeTypes()  # Python's built-in table only, so the guess does not vary by host
for _ext, _type in {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl",
                    ".mpd": "application/dash+xml", ".flv": "video/x-flv", ".mkv": "video/x-matroska",
                    ".webm": "video/webm", ".m4a": "audio/mp4", ".aac": "audio/aac", ".flac": "audio/flac",
                    ".opus": "audio/ogg", ".webp": "image/webp", ".avif": "image/avif",
                    ".heic": "image/heic", ".srt": "application/x-subrip", ".vtt": "text/vtt"}.items():
    _MIME.add_type(_type, _ext)


@dataclass(frozen=True)
class ObjectMeta:
    """What HEAD Object returns about one stored object."""

    key: str
    size: int
    etag: str  # md5 hex, unquoted; `<hex>-<parts>` for multipart objects
    last_modified: float  # unix time
    content_type: str = DEFAULT_CONTENT_TYPE
    crc64: str = ""  # CRC-64/XZ as unsigned decimal (x-cos-hash-crc64ecma)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListResult:
    """One page of GET Bucket: objects and rolled-up common prefixes, in key order."""

    objects: tuple[ObjectMeta, ...] = ()
    common_prefixes: tuple[str, ...] = ()
    is_truncated: bool = False
    next_marker: str = ""


@dataclass(frozen=True)
class UploadInfo:
    """An initiated, not yet completed or aborted multipart upload."""

    upload_id: str
    key: str
    initiated: float  # unix time
    content_type: str = DEFAULT_CONTENT_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartInfo:
    """One uploaded part of a multipart upload."""

    part_number: int
    etag: str  # md5 hex, unquoted
    size: int
    last_modified: float


class Storage(Protocol):
    """The bucket storage port. Keys reaching it have passed `safe_key`."""

    async def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket's storage if it does not exist yet."""

    async def head(self, bucket: str, key: str) -> ObjectMeta:
        """Return an object's metadata; raise NoSuchKey."""

    async def put(self, bucket: str, key: str, chunks: AsyncIterator[bytes], *,
                  content_type: str = DEFAULT_CONTENT_TYPE, headers: Mapping[str, str] | None = None,
                  content_md5: str | None = None) -> ObjectMeta:
        """Stream `chunks` into a new version of `key`; it appears whole or not at all.

        `content_md5` (base64) is checked against the received bytes: InvalidDigest, BadDigest.
        """

    async def put_file(self, bucket: str, key: str, path: Path, *,
                       content_type: str = DEFAULT_CONTENT_TYPE,
                       headers: Mapping[str, str] | None = None, owned: bool = False,
                       hashes: FileHashes | None = None) -> ObjectMeta:
        """Publish a finished local file as `key` (the file itself is left in place).

        `owned`: the caller will only delete the file from now on (a job's staged output), so a store on
        the same file system may publish the file itself (a hard link) instead of a copy of its bytes.
        `hashes`: the file's, from `hash_path` after it was closed; an adapter that has them need not read
        the file to hash it (a size that does not match the file's makes it hash the file after all).
        """

    def read(self, bucket: str, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Yield the bytes `start..end` (inclusive) of an object in chunks; NoSuchKey."""

    async def delete(self, bucket: str, key: str) -> None:
        """Delete an object; a missing key is not an error."""

    async def list(self, bucket: str, prefix: str = "", marker: str = "", max_keys: int = 1000,
                   delimiter: str = "") -> ListResult:
        """List keys after `marker` starting with `prefix`, in UTF-8 binary order.

        With a `delimiter`, keys holding it after the prefix roll up into one common prefix each,
        and each common prefix counts against `max_keys` like a key.
        """

    def local_input(self, bucket: str, key: str) -> AbstractAsyncContextManager[Path]:
        """A context whose value is a local file holding the object (for media drivers); NoSuchKey."""

    async def create_upload(self, bucket: str, key: str, *, content_type: str = DEFAULT_CONTENT_TYPE,
                            headers: Mapping[str, str] | None = None) -> str:
        """Initiate a multipart upload and return its upload id."""

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          chunks: AsyncIterator[bytes]) -> PartInfo:
        """Store one part (replacing an earlier part with the same number); NoSuchUpload."""

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> builtins.list[PartInfo]:
        """The uploaded parts in part-number order; NoSuchUpload."""

    async def complete_upload(self, bucket: str, key: str, upload_id: str,
                              parts: builtins.list[tuple[int, str]]) -> ObjectMeta:
        """Assemble the listed (part number, etag) parts into the object, atomically.

        Raises NoSuchUpload, InvalidPartOrder (numbers not ascending), InvalidPart (unknown part or
        etag mismatch) and EntityTooSmall (a part other than the last below 1 MiB).
        """

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts; NoSuchUpload."""

    async def list_uploads(self, bucket: str, prefix: str = "") -> builtins.list[UploadInfo]:
        """Open uploads whose key starts with `prefix`, oldest first."""

    async def reset(self) -> None:
        """Delete every object and upload of every bucket (the admin reset endpoint)."""


def safe_key(key: str) -> str:
    """Return `key` if it cannot escape its bucket, else raise InvalidArgument / KeyTooLong."""
    if not key:
        raise InvalidArgument("The object key must not be empty.")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLong(f"The object key is longer than {MAX_KEY_BYTES} bytes.")
    if "\x00" in key:
        raise InvalidArgument("The object key must not contain NUL characters.")
    if key.startswith(("/", "\\")):
        raise InvalidArgument(f"The object key {key!r} must not start with a slash.")
    if ".." in _SEGMENT_SPLIT.split(key):
        raise InvalidArgument(f"The object key {key!r} must not contain '..' path segments.")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument("The object key is not valid UTF-8.") from exc
    return key


def content_type_for(key: str) -> str:
    """The Content-Type of an object stored without one: guessed from the key's extension."""
    guessed, _ = _MIME.guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


__all__ = [
    "DEFAULT_CONTENT_TYPE", "MAX_KEY_BYTES", "MAX_PART_NUMBER", "MIN_PART_SIZE", "STORED_HEADERS",
    "FileHashes", "ListResult", "ObjectMeta", "PartInfo", "Storage", "UploadInfo", "content_type_for", "hash_path",
    "safe_key",
]
