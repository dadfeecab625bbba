"""Playback of HLS outputs in a browser without a JavaScript player: the playlist remuxed to one MP4.

The playlist and the segments it names (the first variant of a master playlist) are copied from
storage into a scratch folder, remuxed (packets copied) by PyAV in the synchronous pool's worker
processes, and the MP4 kept in a small cache keyed by the playlist's ETag, so seeking (HTTP Range)
and replays cost nothing more. DASH manifests are not remuxed: FFmpeg here has no DASH demuxer.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import re
import shutil
import tempfile
from contextlib import aclosing
from pathlib import Path

from ..engine.procpool import ProcPool
from ..errors import InvalidArgument
from ..storage import Storage, safe_key

MAX_PLAYLIST = 4 * 1024**2
_URI_ATTR = re.compile(r'URI="([^"]+)"')


class Playback:
    """MP4 renditions of HLS playlists, made once per playlist version."""

    def __init__(self, storage: Storage, pool: ProcPool, cache_dir: Path, keep: int = 16) -> None:
        self.storage = storage
        self.pool = pool
        self.cache_dir = cache_dir
        self.keep = keep
        self._locks: dict[str, asyncio.Lock] = {}

    async def mp4_of(self, bucket: str, key: str) -> Path:
        """A local MP4 of HLS playlist `key` (made now, or taken from the cache)."""
        meta = await self.storage.head(bucket, key)
        name = hashlib.sha256(f"{bucket}/{key}/{meta.etag}".encode()).hexdigest()[:32] + ".mp4"
        out = self.cache_dir / name
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if not out.exists():
                await self._make(bucket, key, out)
                self._trim()
        return out

    async def _make(self, bucket: str, key: str, out: Path) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="console-hls-", dir=self.cache_dir))
        try:
            local = await self._fetch_playlist(bucket, key, scratch, depth=0)
            part = out.with_suffix(".part")
            try:
                await self.pool.call(_remux, str(local), str(part))
            except Exception as exc:
                raise InvalidArgument(f"{key} cannot be remuxed for playback: {exc}") from exc
            part.replace(out)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _fetch_playlist(self, bucket: str, key: str, scratch: Path, depth: int) -> Path:
        text = (await self._read(bucket, key, MAX_PLAYLIST)).decode("utf-8-sig", "replace")
        if not text.lstrip().startswith("#EXTM3U"):
            raise InvalidArgument(f"{key} is not an HLS playlist")
        folder = posixpath.dirname(key)
        master = "#EXT-X-STREAM-INF" in text
        for uri in _uris(text):
            if "://" in uri or uri.startswith("/"):
                raise InvalidArgument(f"{key} names {uri}: only relative segment names are played")
            child = safe_key(posixpath.normpath(posixpath.join(folder, uri)))
            if master:
                if depth == 0 and uri.split("?")[0].endswith(".m3u8"):
                    variant = await self._fetch_playlist(bucket, child, scratch, depth + 1)
                    return variant
                continue
            await self._copy(bucket, child, scratch / _local(uri))
        local = scratch / _local(posixpath.basename(key))
        local.write_text(text, encoding="utf-8")
        return local

    async def _copy(self, bucket: str, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            meta = await self.storage.head(bucket, key)
            if meta.size:
                async with aclosing(self.storage.read(bucket, key, 0, meta.size - 1)) as chunks:
                    async for chunk in chunks:
                        fh.write(chunk)

    async def _read(self, bucket: str, key: str, limit: int) -> bytes:
        meta = await self.storage.head(bucket, key)
        if meta.size > limit:
            raise InvalidArgument(f"{key} is larger than {limit} bytes: not a playlist")
        data = bytearray()
        if meta.size:
            async with aclosing(self.storage.read(bucket, key, 0, meta.size - 1)) as chunks:
                async for chunk in chunks:
                    data += chunk
        return bytes(data)

    def _trim(self) -> None:
        made = sorted(self.cache_dir.glob("*.mp4"), key=lambda p: p.stat().st_mtime)
        for old in made[:-self.keep]:
            old.unlink(missing_ok=True)


def _uris(text: str) -> list[str]:
    """The URIs a playlist names: segment and variant lines, keys and init sections."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            out += _URI_ATTR.findall(line) if line.startswith(("#EXT-X-KEY", "#EXT-X-MAP")) else []
        else:
            out.append(line)
    return out


def _local(uri: str) -> str:
    """A segment's local file name: the URI's path, which stays inside the scratch folder."""
    clean = posixpath.normpath(uri.split("?", 1)[0])
    if clean.startswith("..") or clean.startswith("/"):
        raise InvalidArgument(f"segment {uri} lies outside the playlist's folder")
    return clean


def _remux(playlist: str, out: str) -> int:
    """In a worker: the remux (media/remux.py)."""
    from ..media import remux  # noqa: PLC0415 - PyAV in the worker processes only

    return remux.to_mp4(playlist, out)
