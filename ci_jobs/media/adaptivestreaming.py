"""The AdaptiveStreaming Tag: each rung transcoded by the Transcode driver into HLS or DASH, then the master.

HLS: a master playlist (`#EXT-X-STREAM-INF` per rung: BANDWIDTH = the rung's peak segment bitrate,
AVERAGE-BANDWIDTH, RESOLUTION, CODECS) naming each rung's own playlist. DASH: one manifest, the first
rung's with every other rung's video Representation added to its video AdaptationSet (their segment
templates made literal, as `$RepresentationID$` changes with the new ids). Each rung runs in its own
folder (the Transcode driver names every file in its folder as its segments) and its files move up.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..tags.adaptivestreaming import AdaptiveStreamingOp
from . import OutputFile, Progress, Result, Task, transcode
from .mediainfo import probe

_NS = "urn:mpeg:dash:schema:mpd:2011"
_EXTINF = re.compile(r"^#EXTINF:([\d.]+)", re.M)


def run(task: Task, progress: Progress) -> Result:
    """Transcode every rung of `task.op`, then write the master playlist or manifest as the main file."""
    op: AdaptiveStreamingOp = task.op
    rungs: list[tuple[str, Result]] = []
    for i, rung in enumerate(op.rungs):
        folder = os.path.join(task.outdir, f"rung-{i}")
        os.mkdir(folder)
        result = transcode.run(dataclasses.replace(task, op=rung, outdir=folder), _share(progress, i, len(op.rungs)))
        for f in result.files:
            shutil.move(os.path.join(folder, f.name), os.path.join(task.outdir, f.name))
        os.rmdir(folder)
        rungs.append((result.files[0].name, result))
    name = f"master.{'m3u8' if op.format == 'hls' else 'mpd'}"
    path = os.path.join(task.outdir, name)
    info: dict[str, Any] | None
    if op.format == "hls":
        _hls_master(task.outdir, rungs, path)
        info = probe(path)
    else:
        _dash_manifest(task.outdir, [n for n, _ in rungs], path)
        info = rungs[-1][1].media_info
    files = [OutputFile(name)] + [OutputFile(f.name, "segment") for _, r in rungs for f in r.files
                                  if os.path.exists(os.path.join(task.outdir, f.name))]
    progress(100.0)
    return Result(tuple(files), "m3u8" if op.format == "hls" else "mpd", info)


def _share(progress: Progress, index: int, count: int) -> Progress:
    """Rung `index`'s progress as its share of the whole."""
    def report(pct: float) -> None:
        progress((index * 100 + pct) / count * 0.99)
    return report


def _hls_master(outdir: str, rungs: Sequence[tuple[str, Result]], path: str) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for playlist, result in rungs:
        average, peak = _bitrates(outdir, playlist, result)
        video = _first(result.media_info, "Video")
        attrs = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={average}"]
        if video:
            attrs.append(f"RESOLUTION={video.get('Width')}x{video.get('Height')}")
        codecs = _codecs(result.media_info)
        if codecs:
            attrs.append(f'CODECS="{codecs}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), playlist]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _bitrates(outdir: str, playlist: str, result: Result) -> tuple[int, int]:
    """(average, peak) bits per second of a rung, from its segments' sizes and EXTINF durations."""
    with open(os.path.join(outdir, playlist), encoding="utf-8") as fh:
        text = fh.read()
    durations = [float(d) for d in _EXTINF.findall(text)]
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    sizes = [os.path.getsize(os.path.join(outdir, n)) for n in names]
    if not durations or len(durations) != len(sizes):
        return 1, 1
    peak = max(s * 8 / max(d, 0.001) for s, d in zip(sizes, durations, strict=True))
    return max(1, int(sum(sizes) * 8 / max(sum(durations), 0.001))), max(1, int(peak))


def _first(info: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    streams = ((info or {}).get("Stream") or {}).get(kind) or []
    return streams[0] if streams and isinstance(streams[0], dict) else {}


def _codecs(info: dict[str, Any] | None) -> str:
    """RFC 6381 names for H.264 (its profile and level) and AAC-LC; '' when another codec is present."""
    video, audio = _first(info, "Video"), _first(info, "Audio")
    names = []
    if video:
        if video.get("CodecName") != "h264":
            return ""
        profile = {"Baseline": "42", "Constrained Baseline": "42", "Main": "4d", "High": "64"}.get(
            str(video.get("Profile")), "64")
        level = int(float(video.get("Level") or 30))
        names.append(f"avc1.{profile}00{level:02x}")
    if audio:
        if audio.get("CodecName") != "aac":
            return ""
        names.append("mp4a.40.2")
    return ",".join(names)


def _dash_manifest(outdir: str, manifests: Sequence[str], path: str) -> None:
    ET.register_namespace("", _NS)
    trees = [ET.parse(os.path.join(outdir, m)) for m in manifests]
    base = trees[0].getroot()
    target = _video_set(base)
    for n, tree in enumerate(trees):
        for rep in list(_video_set(tree.getroot())):
            if rep.tag != f"{{{_NS}}}Representation":
                continue
            _literal_template(rep, _video_set(tree.getroot()))
            rep.set("id", f"v{n}")
            if n:
                target.append(rep)
    for other in manifests:
        os.remove(os.path.join(outdir, other))  # the master holds every rung
    trees[0].write(path, xml_declaration=True, encoding="utf-8")


def _video_set(root: ET.Element) -> ET.Element:
    for aset in root.iter(f"{{{_NS}}}AdaptationSet"):
        if aset.get("contentType") == "video" or aset.get("mimeType", "").startswith("video"):
            return aset
    raise ValueError("a rung's manifest has no video AdaptationSet")


def _literal_template(rep: ET.Element, aset: ET.Element) -> None:
    """Give `rep` its own SegmentTemplate with `$RepresentationID$` replaced by its current id."""
    template = rep.find(f"{{{_NS}}}SegmentTemplate")
    if template is None:
        shared = aset.find(f"{{{_NS}}}SegmentTemplate")
        if shared is None:
            return
        template = ET.fromstring(ET.tostring(shared))
        rep.append(template)
    for key in ("initialization", "media"):
        if template.get(key):
            template.set(key, template.get(key, "").replace("$RepresentationID$", rep.get("id", "")))
