"""Helpers shared by the processors: opening inputs, decoding safely, sizes, time windows, progress."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.container import InputContainer
from av.filter.context import FilterContext
from av.stream import Stream

from ..errors import JobFailed
from ..mediarules import num, section
from . import Progress

Filters = list[tuple[str, str | None]]  # (filter name, its arguments) in graph order


def bad_input(exc: av.FFmpegError, doing: str = "decoded") -> JobFailed:
    """A JobFailed(InvalidInput) that keeps FFmpeg's error text but not our local path."""
    reason = exc.strerror or str(exc)
    return JobFailed("InvalidInput", f"The input cannot be {doing}: {reason}")


def open_input(path: str, options: dict[str, str] | None = None) -> InputContainer:
    """Open a local media file for reading, refusing missing, empty and undemuxable files."""
    if not os.path.isfile(path):
        raise JobFailed("InvalidInput", "The input file does not exist")
    if os.path.getsize(path) == 0:
        raise JobFailed("InvalidInput", "The input file is empty (0 bytes)")
    try:
        container = av.open(path, metadata_errors="ignore", options=options)
    except av.FFmpegError as exc:
        raise bad_input(exc, "opened") from exc
    if not (container.streams.video or container.streams.audio):
        container.close()
        raise JobFailed("InvalidInput", "The input has no video or audio stream")
    return container


def decoded(container: InputContainer, *streams: Stream) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Decode `streams` in file order; a demux error ends a truncated input, as ffmpeg does."""
    for stream in streams:
        if isinstance(stream, av.VideoStream) and not stream.codec_context.is_open:
            stream.thread_type = "AUTO"  # frame + slice threads, as the ffmpeg CLI uses
    got = 0
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            if got:
                return
            raise bad_input(exc, "demuxed") from exc
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue  # one damaged packet costs one frame, as in the ffmpeg CLI
        got += len(frames)
        yield from frames  # type: ignore[misc]


def origin(container: InputContainer) -> float:
    """Media time zero: the container's start time in seconds (MPEG-TS rarely starts at 0)."""
    start = container.start_time
    return start / 1_000_000 if start and start > 0 else 0.0


def duration(container: InputContainer) -> float | None:
    """The media duration in seconds, from the container or its longest stream."""
    if container.duration and container.duration > 0:
        return float(container.duration / 1_000_000)
    spans = [float(s.duration * s.time_base) for s in container.streams
             if s.duration and s.time_base]
    return max(spans) if spans else None


@dataclass(frozen=True)
class Window:
    """The part of the media to process, in seconds from media time zero."""

    start: float = 0.0
    end: float | None = None

    def length(self, total: float | None) -> float | None:
        """Seconds covered by the window inside media of `total` seconds."""
        stop = self.end if total is None else total if self.end is None else min(self.end, total)
        return None if stop is None else max(0.0, stop - self.start)


def window(params: Mapping[str, Any], total: float | None, where: str) -> Window:
    """Parse `TimeInterval{Start, Duration}`; a Start past the end is an InvalidArgument."""
    interval = section(params, "TimeInterval")
    start = num(interval, "Start", 0.0) or 0.0
    span = num(interval, "Duration")
    if total is not None and start >= total > 0:
        raise JobFailed("InvalidArgument",
                        f"{where}.TimeInterval.Start {start:g} is beyond the media duration "
                        f"{total:.3f}")
    return Window(start, start + span if span else None)


def upright(container: InputContainer, stream: av.VideoStream) -> int:
    """Clockwise degrees (0/90/180/270) that stand the pictures upright, as ffmpeg's autorotate.

    Phones store portrait video sideways plus a display matrix; PyAV shows it only on decoded
    frames, so the first frame is decoded and the demuxer rewound.
    """
    if not container.duration:
        return 0  # raw streams carry no display matrix and cannot rewind
    if not stream.codec_context.is_open:
        stream.thread_type = "AUTO"
    ccw = 0.0
    try:
        for packet in container.demux(stream):
            frames = packet.decode()
            if frames:
                ccw = frames[0].rotation
                break
        container.seek(0)
    except av.FFmpegError:
        return 0
    return int(round(-ccw / 90)) % 4 * 90


_TURNS: dict[int, Filters] = {90: [("transpose", "clock")], 180: [("hflip", None), ("vflip", None)],
                              270: [("transpose", "cclock")]}


def turn(degrees: int) -> Filters:
    """Filters rotating pictures clockwise by `degrees` (a multiple of 90)."""
    return list(_TURNS.get(degrees, []))


def seek(container: InputContainer, stream: Stream, seconds: float) -> None:
    """Seek to a key frame at or before `seconds` of media time; decode forward from there.

    Some demuxers (MPEG-TS) search by timestamp and may land on the key frame *after* the
    target despite AVSEEK_FLAG_BACKWARD, so the landing point is checked and, when late, the
    seek is retried from further back.
    """
    if seconds <= 0 or not stream.time_base or not container.duration:
        return  # raw elementary streams cannot seek (a failed try leaves them at EOF): decode on
    zero, back = origin(container), 0.0
    while True:
        target = int((max(0.0, seconds - back) + zero) / stream.time_base)
        try:
            container.seek(target, stream=stream, backward=True)
            landed = _first_key(container, stream)
            container.seek(target, stream=stream, backward=True)
        except av.FFmpegError:
            return  # decode on from where the demuxer is and drop frames before the target
        if (landed is not None and landed - zero <= seconds + 1e-3) or seconds - back <= 0:
            return
        back = max(1.0, 2 * back)


def _first_key(container: InputContainer, stream: Stream, limit: int = 1000) -> float | None:
    """Time of the first key frame packet the demuxer hands out (it is consumed)."""
    for count, packet in enumerate(container.demux(stream)):
        stamp = packet.pts if packet.pts is not None else packet.dts
        if packet.is_keyframe and stamp is not None and stream.time_base:
            return float(stamp * stream.time_base)
        if count >= limit:
            break
    return None


def even(value: float) -> int:
    """Round to the nearest even size of at least 2 (4:2:0 chroma needs even sizes)."""
    return max(2, int(round(value / 2)) * 2)


def fit(stream: av.VideoStream, width: float | None, height: float | None,
        degrees: int = 0) -> tuple[int, int]:
    """Target size: none given -> source; both -> as given; one -> the other keeps the aspect.

    `degrees` is the upright() turn: a quarter turn swaps the source's width and height.
    """
    src_w = float(stream.width * (stream.sample_aspect_ratio or 1))  # display aspect, not storage
    src_h = float(stream.height)
    if degrees in (90, 270):
        src_w, src_h = src_h, src_w
    if not width and not height:
        return int(src_w) - int(src_w) % 2, int(src_h) - int(src_h) % 2
    if width and height:
        return even(width), even(height)
    if width:
        return even(width), even(width * src_h / src_w)
    assert height
    return even(height * src_w / src_h), even(height)


class Ticker:
    """Progress reporting from media time, throttled to whole percent steps."""

    def __init__(self, progress: Progress, total: float | None, lo: float = 0.0,
                 hi: float = 99.0) -> None:
        self._progress = progress
        self._total = total if total and total > 0 else None
        self._lo, self._hi = lo, hi
        self._last = -1.0

    def at(self, seconds: float) -> None:
        """Report that media time `seconds` (from the window start) is done."""
        if self._total is None:
            return
        share = min(1.0, max(0.0, seconds / self._total))
        self.fraction(share)

    def fraction(self, share: float) -> None:
        """Report that `share` (0..1) of the work is done."""
        pct = self._lo + (self._hi - self._lo) * share
        if pct - self._last >= 1.0:
            self._last = pct
            self._progress(round(pct, 1))


class Chain:
    """A linear FFmpeg filter graph for video frames (fps, crop, scale, pad, format...)."""

    def __init__(self, first: av.VideoFrame, time_base: Fraction, sar: Fraction | None,
                 filters: Filters) -> None:
        self.graph = av.filter.Graph()
        aspect = sar or Fraction(1)
        source = self.graph.add(
            "buffer",
            f"video_size={first.width}x{first.height}:pix_fmt={first.format.name}:"
            f"time_base={time_base.numerator}/{time_base.denominator}:"
            f"pixel_aspect={aspect.numerator}/{aspect.denominator}",
        )
        self.wire(source, filters).link_to(self.graph.add("buffersink"))
        self.graph.configure()

    def wire(self, source: FilterContext, filters: Filters) -> FilterContext:
        """Link `filters` one after another behind `source`; return the last node."""
        node = source
        for name, args in filters:
            following = self.graph.add(name, args)
            node.link_to(following)
            node = following
        return node

    def push(self, frame: av.VideoFrame | None) -> list[av.VideoFrame]:
        """Feed one frame (None flushes) and collect every frame the graph lets out."""
        self.graph.push(frame)
        out: list[av.VideoFrame] = []
        while True:
            try:
                out.append(self.graph.vpull())
            except (av.BlockingIOError, av.EOFError):
                return out


def resize(src: tuple[int, int], dst: tuple[int, int], method: str = "scale") -> Filters:
    """Filters taking frames of size `src` to `dst`: stretch (scale), centre crop, or letterbox (pad)."""
    (sw, sh), (dw, dh) = src, dst
    if (sw, sh) == (dw, dh):
        return []
    scale = ("scale", f"{dw}:{dh}")
    if method == "crop" and sw * dh != sh * dw:
        cw, ch = (even(sh * dw / dh), sh) if sw * dh > sh * dw else (sw, even(sw * dh / dw))
        return [("crop", f"{min(cw, sw)}:{min(ch, sh)}"), scale, ("setsar", "1")]
    if method == "pad" and sw * dh != sh * dw:
        fitted = ("scale", f"{dw}:{dh}:force_original_aspect_ratio=decrease:force_divisible_by=2")
        return [fitted, ("pad", f"{dw}:{dh}:(ow-iw)/2:(oh-ih)/2:black"), ("setsar", "1")]
    return [scale, ("setsar", "1")]


class Writer:
    """Encode-and-mux work on one background thread, in submission order, a few frames ahead at most.

    FFmpeg's encoders and PyAV release the GIL, so decoding and scaling on the calling thread overlap
    with encoding here, as the stages of the ffmpeg CLI's threaded pipeline do. Everything that muxes
    into one container must go through the same Writer.
    """

    def __init__(self, depth: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        self._pending: deque[Future[None]] = deque()
        self._depth = depth

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue `fn(*args)`; block while more than `depth` items wait; re-raise their failures."""
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._depth:
            self._pending.popleft().result()

    def drain(self) -> None:
        """Wait for everything queued; re-raise the first failure."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Drop what is still queued (after a failure) and stop the thread."""
        for fut in self._pending:
            fut.cancel()
        self._pool.shutdown(wait=True)
