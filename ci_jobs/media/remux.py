"""HLS to MP4 for playback in a browser: the packets copied, not re-encoded (Chromium plays MP4 natively).

The input is a local playlist (a media playlist or a master one: its first video variant is taken)
whose segments lie beside it. The output is a progressive MP4 with its moov first (`faststart`), so a
<video> element can seek in it with HTTP Range requests.
"""

from __future__ import annotations

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
