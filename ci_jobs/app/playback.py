"""Playback of HLS and DASH outputs in a browser without a JavaScript player: remuxed to one MP4.

HLS: the playlist and the segments it names (the first variant of a master playlist) are copied from
storage into a scratch folder and remuxed (packets copied) by PyAV in the synchronous pool's worker
processes. DASH: FFmpeg here has no DASH demuxer, so the manifest is read here (`dash_tracks`): the
first Representation of the first video and of the first audio AdaptationSet, its segments named by a
SegmentTemplate (SegmentTimeline or a fixed duration, $RepresentationID$/$Number%0Nd$/$Time$/$Bandwidth$),
a SegmentList or one BaseURL file; each track's init segment and media segments are written end to end
(a fragmented MP4) and both tracks remuxed into one MP4. The MP4 is kept in a small cache keyed by the
manifest's ETag, so seeking (HTTP Range) and replays cost nothing more.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import posixpath
import re
import shutil
import tempfile
from contextlib import aclosing
from pathlib import Path
from typing import Any

from .. import xmlio
from ..engine.procpool import ProcPool
from ..errors import CiJobsError, InvalidArgument
from ..storage import Storage, safe_key

MAX_PLAYLIST = 4 * 1024**2
MAX_MANIFEST = 1024**2  # what xmlio parses
MAX_SEGMENTS = 20_000
_URI_ATTR = re.compile(r'URI="([^"]+)"')


class Playback:
    """MP4 renditions of HLS playlists and DASH manifests, made once per version."""

    def __init__(self, storage: Storage, pool: ProcPool, cache_dir: Path, keep: int = 16) -> None:
        self.storage = storage
        self.pool = pool
        self.cache_dir = cache_dir
        self.keep = keep
        self._locks: dict[str, asyncio.Lock] = {}

    async def mp4_of(self, bucket: str, key: str) -> Path:
        """A local MP4 of HLS playlist or DASH manifest `key` (made now, or taken from the cache)."""
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
        scratch = Path(tempfile.mkdtemp(prefix="console-play-", dir=self.cache_dir))
        try:
            part = out.with_suffix(".part")
            try:
                if key.lower().endswith(".mpd"):
                    tracks = await self._fetch_dash(bucket, key, scratch)
                    await self.pool.call(_remux_tracks, [str(t) for t in tracks], str(part))
                else:
                    local = await self._fetch_playlist(bucket, key, scratch, depth=0)
                    await self.pool.call(_remux, str(local), str(part))
            except CiJobsError:
                raise
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

    async def package_keys(self, bucket: str, key: str) -> list[str]:
        """An HLS playlist or DASH manifest and every object it names (variants, segments, keys, every
        Representation), for downloading the package as one zip."""
        folder = posixpath.dirname(key)
        if key.lower().endswith(".mpd"):
            names = [n for names in dash_tracks(await self._read(bucket, key, MAX_MANIFEST), every=True)
                     for n in names if n]
            return list(dict.fromkeys([key] + [safe_key(posixpath.normpath(posixpath.join(folder, n)))
                                               for n in names]))
        return list(dict.fromkeys(await self._playlist_keys(bucket, key, 0)))

    async def _playlist_keys(self, bucket: str, key: str, depth: int) -> list[str]:
        text = (await self._read(bucket, key, MAX_PLAYLIST)).decode("utf-8-sig", "replace")
        if not text.lstrip().startswith("#EXTM3U"):
            raise InvalidArgument(f"{key} is not an HLS playlist")
        keys = [key]
        for uri in _uris(text):
            if "://" in uri or uri.startswith("/"):
                raise InvalidArgument(f"{key} names {uri}: only relative names are downloaded")
            child = safe_key(posixpath.normpath(posixpath.join(posixpath.dirname(key), uri.split("?", 1)[0])))
            if child.endswith(".m3u8") and depth < 2:
                keys += await self._playlist_keys(bucket, child, depth + 1)
            else:
                keys.append(child)
        return keys

    async def _fetch_dash(self, bucket: str, key: str, scratch: Path) -> list[Path]:
        """Each picked Representation of the manifest as one local file: its init and media segments in order."""
        manifest = await self._read(bucket, key, MAX_MANIFEST)
        folder = posixpath.dirname(key)
        paths = []
        for n, names in enumerate(dash_tracks(manifest)):
            path = scratch / f"track-{n}.mp4"
            path.write_bytes(b"")
            for name in names:
                await self._copy(bucket, safe_key(posixpath.normpath(posixpath.join(folder, name))), path, append=True)
            paths.append(path)
        return paths

    async def _copy(self, bucket: str, key: str, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab" if append else "wb") as fh:
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


def dash_tracks(manifest: bytes, every: bool = False) -> list[list[str]]:
    """The relative names of the segments (init first) of the first Representation of the first video and
    the first audio AdaptationSet of a static DASH manifest (`every`: of each Representation of each
    AdaptationSet); InvalidArgument for what cannot be played."""
    try:
        root = xmlio.parse(manifest)
    except CiJobsError as exc:
        raise InvalidArgument(f"the DASH manifest cannot be read: {exc.message}") from exc
    if root.tag != "MPD":
        raise InvalidArgument("the DASH manifest has no MPD root")
    if root.get("type", "static") != "static":
        raise InvalidArgument("only static (on-demand) DASH manifests are played")
    period = root.find("Period")
    if period is None:
        raise InvalidArgument("the DASH manifest has no Period")
    total = _iso_seconds(period.get("duration") or root.get("mediaPresentationDuration") or "")
    tracks = [["".join(_base(e) for e in (root, period, aset, rep)) + n for n in _segments(rep, aset, period, total)]
              for aset, rep in _representations(period, every)]
    if not tracks:
        raise InvalidArgument("the DASH manifest has no video or audio Representation")
    for names in tracks:
        for name in names:
            if "://" in name or name.startswith("/") or posixpath.normpath(name).startswith(".."):
                raise InvalidArgument(f"the DASH manifest names {name}: only relative segment names are played")
    return tracks


def _representations(period: Any, every: bool) -> list[tuple[Any, Any]]:
    """(AdaptationSet, Representation) pairs: all of them, or the first video one and the first audio one."""
    sets = period.findall("AdaptationSet")
    if every:
        return [(aset, rep) for aset in sets for rep in aset.findall("Representation")]
    picked = []
    for kind in ("video", "audio"):
        found = next(((a, a.find("Representation")) for a in sets if a.find("Representation") is not None
                      and _content(a, a.find("Representation")) == kind), None)
        if found is not None:
            picked.append(found)
    return picked


def _content(aset: Any, rep: Any) -> str:
    kind = aset.get("contentType") or (aset.get("mimeType") or rep.get("mimeType") or "").split("/")[0]
    return str(kind)


def _base(el: Any) -> str:
    found = el.find("BaseURL")
    return (found.text or "").strip() if found is not None else ""


def _segments(rep: Any, aset: Any, period: Any, total: float | None) -> list[str]:
    """The segment names of one Representation (init first)."""
    seg_list = rep.find("SegmentList")
    if seg_list is None:
        seg_list = aset.find("SegmentList")
    if seg_list is not None:
        init = seg_list.find("Initialization")
        names = [init.get("sourceURL", "")] if init is not None and init.get("sourceURL") else []
        for url in seg_list.findall("SegmentURL"):
            if url.get("mediaRange") or not url.get("media"):
                raise InvalidArgument("DASH SegmentURLs with byte ranges are not played")
            names.append(url.get("media"))
        return names
    attrs: dict[str, str] = {}
    timeline = None
    for level in (period, aset, rep):  # the nearer level overrides the farther one
        template = level.find("SegmentTemplate")
        if template is not None:
            attrs.update(template.attrib)
            timeline = template.find("SegmentTimeline") if template.find("SegmentTimeline") is not None else timeline
    if not attrs:
        if rep.find("BaseURL") is not None:
            return [""]  # one file: the Representation's BaseURL
        raise InvalidArgument("a DASH Representation has no SegmentTemplate, SegmentList or BaseURL")
    media = attrs.get("media", "")
    if not media:
        raise InvalidArgument("a DASH SegmentTemplate has no media attribute")
    start = int(attrs.get("startNumber", "1"))
    numbered = [(start + i, t) for i, t in enumerate(_times(timeline, attrs, total))]
    if len(numbered) > MAX_SEGMENTS:
        raise InvalidArgument(f"the DASH manifest names more than {MAX_SEGMENTS} segments")
    ident, bandwidth = rep.get("id", ""), rep.get("bandwidth", "")
    names = [_fill(attrs["initialization"], ident, bandwidth, 0, 0)] if attrs.get("initialization") else []
    return names + [_fill(media, ident, bandwidth, number, t) for number, t in numbered]


def _times(timeline: Any, attrs: dict[str, str], total: float | None) -> list[int]:
    """Each segment's start time (in the template's timescale)."""
    if timeline is not None:
        out: list[int] = []
        now = 0
        for s in timeline.findall("S"):
            now = int(s.get("t", now))
            d, r = int(s.get("d", "0")), int(s.get("r", "0"))
            if d <= 0 or r < 0:
                raise InvalidArgument("DASH SegmentTimeline entries need a positive d and r >= 0")
            for _ in range(r + 1):
                out.append(now)
                now += d
                if len(out) > MAX_SEGMENTS:
                    return out
        return out
    duration, timescale = int(attrs.get("duration", "0")), int(attrs.get("timescale", "1"))
    if duration <= 0 or not total:
        raise InvalidArgument("a DASH SegmentTemplate needs a SegmentTimeline, or a duration and the length")
    count = math.ceil(total * timescale / duration - 1e-9)
    return [i * duration for i in range(min(count, MAX_SEGMENTS + 1))]


_VAR = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth|)(%0(\d+)d)?\$")


def _fill(template: str, ident: str, bandwidth: str, number: int, time: int) -> str:
    def one(m: re.Match[str]) -> str:
        name, width = m.group(1), int(m.group(3) or 0)
        if name == "":
            return "$"
        value = {"RepresentationID": ident, "Bandwidth": bandwidth, "Number": str(number), "Time": str(time)}[name]
        return value.zfill(width) if name != "RepresentationID" else value
    return _VAR.sub(one, template)


def _iso_seconds(text: str) -> float | None:
    m = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", text.strip())
    if not text or m is None:
        return None
    d, h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + sec


def _remux_tracks(tracks: list[str], out: str) -> int:
    """In a worker: DASH tracks remuxed (media/remux.py)."""
    from ..media import remux  # noqa: PLC0415 - PyAV in the worker processes only

    return remux.tracks_to_mp4(tracks, out)


def _remux(playlist: str, out: str) -> int:
    """In a worker: the remux (media/remux.py)."""
    from ..media import remux  # noqa: PLC0415 - PyAV in the worker processes only

    return remux.to_mp4(playlist, out)
