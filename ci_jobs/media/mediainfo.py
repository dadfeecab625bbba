"""The MediaInfo Tag: an ffprobe-like description of a media file in CI's MediaInfo shape."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.container import InputContainer
from av.stream import Stream

from . import Progress, Result, Task
from .common import no_decoder, open_input

Info = dict[str, Any]

# FFmpeg's enum values (stable ABI) to the names ffprobe prints.
_RANGES = {1: "tv", 2: "pc"}
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
              9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
_TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
              8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e",
              13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
              17: "smpte428", 18: "arib-std-b67"}
_FIELD_ORDERS = {1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}
# Codecs whose legacy ffprobe codec_time_base counts fields (ticks_per_frame = 2).
_FIELD_TICKS = ("h264", "mpeg2video", "mpeg1video")


def run(task: Task, progress: Progress) -> Result:
    """Describe the job's input; no files are produced."""
    progress(0.0)
    info = probe(task.inputs[0])
    progress(100.0)
    return Result(media_info=info)


@dataclass
class _Stat:
    """What one demux pass learns about a stream when its header does not say."""

    packets: int = 0
    size: int = 0
    first: float | None = None
    last: float | None = None
    rotation: int | None = None


def probe(path: str, options: dict[str, str] | None = None) -> Info:
    """Describe `path` as CI's MediaInfo (strings; floats with 6 decimals; bitrates in kbps).

    `options` go to the demuxer (an HLS playlist whose key file FFmpeg would not open by default).
    """
    with open_input(path, options) as container:
        lost = [s for s in (*container.streams.video, *container.streams.audio) if s.codec_context is None]
        if lost:  # a damaged codec tag: nothing to describe the stream by
            raise no_decoder(lost[0])
        full = _needs_scan(container)
        stats = _scan(container, full)
        video = [_video(s, stats[s.index]) for s in container.streams.video]
        audio = [_audio(s, stats[s.index]) for s in container.streams.audio]
        subtitle = [{"Index": str(s.index), "Language": _language(s)}
                    for s in container.streams.subtitles]
        fmt = _format(container, os.path.getsize(path), stats, len(video + audio + subtitle))
    return {"Stream": {"Video": video, "Audio": audio, "Subtitle": subtitle}, "Format": fmt}


def _needs_scan(container: InputContainer) -> bool:
    if not container.duration:
        return True
    return any(not s.duration or (s.type == "video" and not s.frames)
               for s in (*container.streams.video, *container.streams.audio))


def _scan(container: InputContainer, full: bool) -> dict[int, _Stat]:
    """Demux once (no decoding but the first video frame, for its rotation)."""
    stats = {s.index: _Stat() for s in container.streams}
    pending = {s.index for s in container.streams.video}
    try:
        for packet in container.demux():
            stat = stats[packet.stream.index]
            if packet.stream.index in pending and packet.size:
                stat.rotation = _rotation(packet)
                if stat.rotation is not None:
                    pending.discard(packet.stream.index)
            if not full:
                if not pending:
                    break
                continue
            _count(stat, packet)
    except av.FFmpegError:
        pass  # a truncated file: describe what could be read
    return stats


def _rotation(packet: av.Packet[Any]) -> int | None:
    try:
        frames = packet.decode()
    except av.FFmpegError:
        return 0
    # PyAV reports counter-clockwise degrees; CI (like the old ffmpeg `rotate` tag) clockwise.
    return int(-frames[0].rotation) % 360 if frames else None


def _count(stat: _Stat, packet: av.Packet[Any]) -> None:
    if not packet.size:
        return
    stat.packets += 1
    stat.size += packet.size
    pts = packet.pts if packet.pts is not None else packet.dts
    if pts is None or not packet.time_base:
        return
    start = float(pts * packet.time_base)
    end = start + float((packet.duration or 0) * packet.time_base)
    stat.first = start if stat.first is None else min(stat.first, start)
    stat.last = end if stat.last is None else max(stat.last, end)


def _fmt(value: float | None) -> str:
    return f"{value or 0.0:.6f}"


def _ratio(value: Fraction | None) -> str:
    return f"{value.numerator}/{value.denominator}" if value else "0/0"


def _tag(stream: Stream) -> tuple[str, str]:
    try:
        tag = stream.codec_context.codec_tag or ""
    except UnicodeDecodeError:
        tag = ""  # PyAV cannot show a tag with bytes >= 0x80 (e.g. AAC in AVI, 0x00ff)
    raw = tag.encode("latin-1").ljust(4, b"\0")[:4]
    text = "".join(chr(b) if 32 <= b < 127 else f"[{b}]" for b in raw)
    return text, f"0x{int.from_bytes(raw, 'little'):04x}"


def _codec(stream: Stream) -> Info:
    codec = stream.codec_context.codec
    name = codec.canonical_name
    try:
        long_name = av.Codec(name, "r").long_name  # the native decoder names the format
    except (av.FFmpegError, ValueError):
        long_name = codec.long_name
    tag_string, tag = _tag(stream)
    return {"Index": str(stream.index), "CodecName": name, "CodecLongName": long_name,
            "CodecTagString": tag_string, "CodecTag": tag}


def _timing(stream: Stream, stat: _Stat, bit_rate: int | None) -> Info:
    tb = stream.time_base
    start = float(stream.start_time * tb) if stream.start_time is not None and tb else stat.first
    span = float(stream.duration * tb) if stream.duration and tb else None
    if span is None and stat.first is not None and stat.last is not None:
        span = stat.last - stat.first
    if not bit_rate and span:
        bit_rate = int(stat.size * 8 / span)
    return {"Timebase": _ratio(tb), "StartTime": _fmt(start), "Duration": _fmt(span),
            "Bitrate": _fmt((bit_rate or 0) / 1000), "Language": _language(stream)}


def _language(stream: Stream) -> str:
    return stream.language or stream.metadata.get("language") or "und"


def _video(stream: av.VideoStream, stat: _Stat) -> Info:
    cc = stream.codec_context
    fps = stream.base_rate or stream.guessed_rate or stream.average_rate
    avg = stream.average_rate or fps
    sar = stream.sample_aspect_ratio or Fraction(1)
    dar = stream.display_aspect_ratio or (Fraction(cc.width, cc.height) * sar if cc.height else sar)
    ticks = 2 if cc.codec.canonical_name in _FIELD_TICKS else 1
    info = _codec(stream)
    info.update({
        "CodecTimeBase": _ratio(1 / (fps * ticks)) if fps else "0/1",
        "ColorPrimaries": _PRIMARIES.get(int(cc.color_primaries), "unknown"),
        "ColorRange": _RANGES.get(int(cc.color_range), "unknown"),
        "ColorTransfer": _TRANSFERS.get(int(cc.color_trc), "unknown"),
        "Profile": cc.profile or "", "Width": str(cc.width), "Height": str(cc.height),
        "HasBFrame": str(int(cc.has_b_frames)), "RefFrames": "1",
        "Sar": f"{sar.numerator}:{sar.denominator}", "Dar": f"{dar.numerator}:{dar.denominator}",
        "PixFormat": cc.format.name if cc.format else "",
        "FieldOrder": _FIELD_ORDERS.get(int(cc.field_order or 0), "unknown"),
        "Level": str(cc.level), "Fps": _fmt(float(fps or 0)), "AvgFps": _fmt(float(avg or 0)),
    })
    info.update(_timing(stream, stat, cc.bit_rate))
    info["NumFrames"] = str(stream.frames or stat.packets)
    info["Rotation"] = str(stat.rotation or int(stream.metadata.get("rotate", "0") or 0))
    return info


def _audio(stream: av.AudioStream, stat: _Stat) -> Info:
    cc = stream.codec_context
    info = _codec(stream)
    info.update({
        "CodecTimeBase": f"1/{cc.sample_rate}" if cc.sample_rate else "0/1",
        "SampleFmt": cc.format.name if cc.format else "", "SampleRate": str(cc.sample_rate),
        "Channel": str(cc.channels), "ChannelLayout": cc.layout.name if cc.layout else "",
    })
    info.update(_timing(stream, stat, cc.bit_rate))
    return info


def _format(container: InputContainer, size: int, stats: dict[int, _Stat], streams: int) -> Info:
    start = container.start_time / 1_000_000 if container.start_time else 0.0
    span = container.duration / 1_000_000 if container.duration else None
    if span is None:
        ends = [s.last for s in stats.values() if s.last is not None]
        span = max(ends) - start if ends else None
    bit_rate = container.bit_rate or (size * 8 / span if span else 0)
    return {"NumStream": str(streams), "NumProgram": "0", "FormatName": container.format.name,
            "FormatLongName": container.format.long_name, "StartTime": _fmt(start),
            "Duration": _fmt(span), "Bitrate": _fmt(bit_rate / 1000), "Size": str(size)}
