"""HLS and DASH to MP4 for playback in a browser: the packets copied, not re-encoded (Chromium plays MP4 natively).

The input is a local playlist (a media playlist or a master one: its first video variant is taken)
whose segments lie beside it. The output is a progressive MP4 with its moov first (`faststart`), so a
<video> element can seek in it with HTTP Range requests.
"""

from __future__ import annotations

import heapq
from typing import Any

import av


def to_mp4(playlist: str, out: str) -> int:
    """Copy the first video and first audio stream of `playlist` into `out`; the packets written."""
    try:
        src = av.open(playlist, options={"protocol_whitelist": "file,crypto,data", "allowed_extensions": "ALL"})
    except av.FFmpegError as exc:
        raise ValueError(f"cannot open the playlist: {exc}") from exc
    with src:
        picked = [s for s in (_first(src.streams.video), _first(src.streams.audio)) if s is not None]
        if not picked:
            raise ValueError("the playlist has no video or audio stream")
        with av.open(out, "w", format="mp4", options={"movflags": "faststart"}) as dst:
            mapping = {s.index: dst.add_stream_from_template(s) for s in picked}
            return _copy(src, dst, mapping)


def _first(streams: Any) -> Any:
    return streams[0] if len(streams) else None


def _copy(src: Any, dst: Any, mapping: dict[int, Any]) -> int:
    written = 0
    start: dict[int, int] = {}
    for packet in src.demux(list(src.streams[i] for i in sorted(mapping))):
        if packet.dts is None or packet.stream.index not in mapping:
            continue
        # MPEG-TS timestamps start near 1.4 s (and anywhere after a rollover): start each stream at 0
        first = start.setdefault(packet.stream.index, packet.dts)
        packet.dts -= first
        if packet.pts is not None:
            packet.pts -= first
        packet.stream = mapping[packet.stream.index]
        dst.mux(packet)
        written += 1
    return written


def tracks_to_mp4(tracks: list[str], out: str) -> int:
    """Copy the first video and the first audio stream found in `tracks` (local files, e.g. the fragmented
    MP4 of each DASH representation: its init segment and media segments end to end) into one `out` MP4,
    interleaved by time; the packets written."""
    sources = []
    try:
        for path in tracks:
            try:
                sources.append(av.open(path))
            except av.FFmpegError as exc:
                raise ValueError(f"cannot open a track: {exc}") from exc
        picked: list[Any] = []
        for kind in ("video", "audio"):
            found = next((getattr(s.streams, kind)[0] for s in sources if len(getattr(s.streams, kind))), None)
            if found is not None:
                picked.append(found)
        if not picked:
            raise ValueError("the manifest has no video or audio track")
        with av.open(out, "w", format="mp4", options={"movflags": "faststart"}) as dst:
            mapping = {id(s): dst.add_stream_from_template(s) for s in picked}
            streams = [(s.container.demux(s), s) for s in picked]
            return _interleave(streams, dst, mapping)
    finally:
        for s in sources:
            s.close()


def _interleave(streams: list[tuple[Any, Any]], dst: Any, mapping: dict[int, Any]) -> int:
    """Mux the packets of several demuxers in the order of their decoding time (seconds)."""
    def timed(n: int, packets: Any, stream: Any) -> Any:
        first = None
        for packet in packets:
            if packet.dts is None:
                continue
            first = packet.dts if first is None else first
            packet.dts -= first
            if packet.pts is not None:
                packet.pts -= first
            yield float(packet.dts * stream.time_base), n, packet

    written = 0
    merged = heapq.merge(*(timed(n, p, s) for n, (p, s) in enumerate(streams)), key=lambda t: (t[0], t[1]))
    for _, n, packet in merged:
        packet.stream = mapping[id(streams[n][1])]
        dst.mux(packet)
        written += 1
    return written
