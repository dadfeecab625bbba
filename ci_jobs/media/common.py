"""Helpers shared by the media drivers: opening inputs, decoding safely, sizes, time windows, progress."""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import av
from av.container import InputContainer
from av.filter.context import FilterContext
from av.stream import Stream

from ..domain.failures import Failure
from ..errors import JobFailed
from . import Progress
from .headers import declared_size

Filters = list[tuple[str, str | None]]  # (filter name, its arguments) in graph order
S = TypeVar("S", bound=Stream)

MAX_PIXELS = 40_000_000  # pixels in one decoded frame, at most (8K UHD, 7680x4320, is 33.2 M)
MAX_SIDE = 16_384  # pixels along either side of a frame, at most
# FFmpeg's decoders refuse (before allocating) any picture above this; see check_pixels.
_BUDGET = {"max_pixels": str(MAX_PIXELS)}


def check_pixels(width: int, height: int, what: str = "The input") -> None:
    """Refuse a frame size over the pixel budget, from a header, before anything is decoded.

    The pixel budget, as image servers keep one (Pillow's MAX_IMAGE_PIXELS, libvips/imgproxy's
    maximum source resolution): a frame may have at most MAX_PIXELS (40,000,000) pixels and at
    most MAX_SIDE (16,384) pixels a side. A header costs a few bytes, the frame it announces
    width x height x 3-4 bytes (a 177-byte PNG claiming 16000x16000 decodes into ~800 MB), so the
    size is checked where it is declared: the image header (headers.declared_size) before FFmpeg
    opens the file, and every video stream's header right after. Decoders also get the budget as
    FFmpeg's `max_pixels`, so a stream that grows mid-way (a new H.264 SPS) is refused too.
    """
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise JobFailed(Failure.INVALID_INPUT, f"{what} has a frame size of {width}x{height}, which exceeds the pixel "
                        f"limit of {MAX_PIXELS:,} pixels and {MAX_SIDE:,} pixels a side")


def bad_input(exc: av.FFmpegError, doing: str = "decoded") -> JobFailed:
    """A JobFailed(InvalidInput) that keeps FFmpeg's error text but not our local path."""
    reason = exc.strerror or str(exc)
    return JobFailed(Failure.INVALID_INPUT, f"The input cannot be {doing}: {reason}")


def check_declared(path: str, what: str = "The input") -> None:
    """Refuse an image file whose header declares a frame size over the pixel budget."""
    declared = declared_size(path)
    if declared is not None:
        check_pixels(*declared, what)


def open_input(path: str, options: dict[str, str] | None = None) -> InputContainer:
    """Open a local media file for reading, refusing missing, empty and undemuxable files."""
    if not os.path.isfile(path):
        raise JobFailed(Failure.INVALID_INPUT, "The input file does not exist")
    if os.path.getsize(path) == 0:
        raise JobFailed(Failure.INVALID_INPUT, "The input file is empty (0 bytes)")
    check_declared(path)  # FFmpeg would decode an image to learn its size
    try:
        # `max_pixels` also reaches the decoders FFmpeg runs while probing the streams.
        container = av.open(path, metadata_errors="ignore", options={**_BUDGET, **(options or {})})
    except av.FFmpegError as exc:
        raise bad_input(exc, "opened") from exc
    try:
        _admit(container)
    except JobFailed:
        container.close()
        raise
    return container


def _admit(container: InputContainer) -> None:
    """Refuse an input without media or with a video stream over the pixel budget; bound its decoders."""
    if not (container.streams.video or container.streams.audio):
        raise JobFailed(Failure.INVALID_INPUT, "The input has no video or audio stream")
    for stream in container.streams.video:
        cc = stream.codec_context
        if cc is None:
            continue  # no decoder: refused by decodable() where it would be decoded
        cc.options = {**cc.options, **_BUDGET}
        if not stream.disposition & av.stream.Disposition.attached_pic:  # cover art is never decoded
            check_pixels(cc.width, cc.height, f"The input's video stream {stream.index}")


def picture_stream(container: InputContainer, purpose: str) -> av.VideoStream:
    """The first decodable video stream that is not cover art; InvalidInput saying what it was for."""
    vin = next((s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)
    if vin is None:
        raise JobFailed(Failure.INVALID_INPUT, f"The input has no video stream to {purpose}")
    return decodable(vin)


def decodable(stream: S) -> S:
    """`stream`, once it is known to be decodable: FFmpeg has a decoder for its codec and, for a
    video stream, its header gives the picture size that sizes, filters and encoders are set up with.

    Damaged headers leave either out (a flipped codec tag in an MP4, an MPEG-TS cut before its
    first SPS); refusing here keeps them from surfacing as None or a division by zero later.
    """
    if stream.codec_context is None:
        raise no_decoder(stream)
    if isinstance(stream, av.VideoStream) and not (stream.codec_context.width and stream.codec_context.height):
        raise JobFailed(Failure.INVALID_INPUT, f"The input's video stream {stream.index} has no picture size: "
                        "its headers are missing or damaged")
    return stream


def no_decoder(stream: Stream) -> JobFailed:
    """The InvalidInput for a stream whose codec FFmpeg has no decoder for (PyAV gives it no codec context)."""
    return JobFailed(Failure.INVALID_INPUT, f"The input's {stream.type} stream {stream.index} cannot be decoded: "
                     "FFmpeg has no decoder for its codec (its header may be damaged)")


def copyable(stream: S) -> S:
    """`stream`, once it is known to be decodable and, for audio, to have the sample rate and
    channel count that a muxer needs in its header when packets are copied."""
    decodable(stream)
    if isinstance(stream, av.AudioStream) and not (stream.codec_context.sample_rate and stream.codec_context.channels):
        raise JobFailed(Failure.INVALID_INPUT, f"The input's audio stream {stream.index} has no sample rate or "
                        "channel count: its headers are missing or damaged")
    return stream


def demuxed(container: InputContainer, *streams: Stream) -> Iterator[av.Packet[Any]]:
    """Packets of `streams` in file order; a demux error ends a truncated input, as ffmpeg does.

    An error before the first packet means there is nothing to read: InvalidInput, FFmpeg's words.
    """
    packets = container.demux(*streams)
    got = False
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            if got:
                return
            raise bad_input(exc, "demuxed") from exc
        got = True
        yield packet


def decoded(container: InputContainer, *streams: Stream) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Decode `streams` in file order; a demux error ends a truncated input, as ffmpeg does."""
    for stream in streams:
        if isinstance(stream, av.VideoStream) and not stream.codec_context.is_open:
            stream.thread_type = "AUTO"  # frame + slice threads, as the ffmpeg CLI uses
    for packet in demuxed(container, *streams):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue  # one damaged packet costs one frame, as in the ffmpeg CLI
        yield from frames


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


def window_of(start: float, end: float | None, total: float | None, where: str) -> Window:
    """The window [start, end) of media `total` seconds long, once `check_start` admits its start."""
    check_start(start, total, where)
    return Window(start, end)


def check_start(start: float, total: float | None, where: str) -> None:
    """Refuse a start at or past the end of media `total` seconds long: an InvalidArgument naming the
    start element `where` (a dotted path such as `Request.Operation.<Tag>.StartTime`)."""
    if total is not None and start >= total > 0:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{where} {start:g} is beyond the media duration {total:.3f}")


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
    return fit_size(src_w, src_h, width, height)


def fit_size(src_w: float, src_h: float, width: float | None, height: float | None) -> tuple[int, int]:
    """`fit` for a picture of `src_w` x `src_h` display pixels rather than a stream's."""
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


class Resampler:
    """An av.AudioResampler that follows the input when its sample format, layout or rate changes.

    PyAV's resampler is set up by the first frame and refuses any other ("Frame does not match
    AudioResampler setup"), but a decoder's output may change mid-stream: a damaged ADTS header
    turns stereo into mono, a spliced stream changes rate. As FFmpeg's filter graphs reconfigure
    on such a change, the old resampler is drained and a new one set up for the new input.
    """

    def __init__(self, format: str | av.AudioFormat, layout: str | av.AudioLayout, rate: int) -> None:
        self.format, self.layout, self.rate = format, layout, rate
        self._inner: av.AudioResampler | None = None
        self._input: tuple[str, str, int] | None = None

    def resample(self, frame: av.AudioFrame | None) -> list[av.AudioFrame]:
        """Frames in the target format, layout and rate for `frame` (None drains)."""
        if frame is None:
            return self._inner.resample(None) if self._inner is not None else []
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        out: list[av.AudioFrame] = []
        if shape != self._input:
            if self._inner is not None:
                out.extend(self._inner.resample(None))
            self._inner = av.AudioResampler(format=self.format, layout=self.layout, rate=self.rate)
            self._input = shape
        assert self._inner is not None
        out.extend(self._inner.resample(frame))
        return out


class Monotonic:
    """Copied packets' timestamps made acceptable to a muxer, as the ffmpeg CLI fixes them.

    Damaged inputs carry decode times that go backwards or lie after the presentation time;
    muxers refuse both (EINVAL). Like the CLI: a DTS after its PTS first becomes the median of PTS,
    DTS and just past the last DTS; then a DTS at or before the last one moves just past it. The
    work is done in the output stream's time base, where the muxer compares.
    """

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        # Per packet of a copy, so integer ticks rather than Fractions (they were a third of a Segment job).
        self._last: int | None = None  # the last DTS written, in ticks of `_last_tb`
        self._last_tb: Fraction | None = None
        self._ratio: tuple[Fraction, Fraction, int, int] | None = None  # src, dst and src/dst as num/den

    def fix(self, packet: av.Packet[Any]) -> None:
        """Rebase `packet` to the output stream's time base and make its timestamps valid."""
        tb, src = self.stream.time_base, packet.time_base
        if tb is None or src is None or packet.dts is None:
            return
        if src != tb:
            ratio = self._ratio
            if ratio is None or ratio[0] != src or ratio[1] != tb:
                ratio = self._ratio = (src, tb, src.numerator * tb.denominator, src.denominator * tb.numerator)
            num, den = ratio[2], ratio[3]
            packet.pts, packet.dts = _rescale_ticks(packet.pts, num, den), _rescale_ticks(packet.dts, num, den)
            packet.duration = _rescale_ticks(packet.duration, num, den) or 0
            packet.time_base = tb
        dts, pts = packet.dts, packet.pts
        assert dts is not None
        floor = None
        if self._last is not None:
            if self._last_tb != tb:  # the muxer chose another time base: the last DTS in its ticks
                assert self._last_tb is not None
                self._last, self._last_tb = math.floor(self._last * self._last_tb / tb), tb
            floor = self._last + 1
        if pts is not None and dts > pts:
            low = floor if floor is not None else min(pts, dts)
            packet.pts = packet.dts = pts = dts = sorted((pts, dts, low))[1]
        if floor is not None and dts < floor:
            if pts is not None and pts >= dts:
                packet.pts = max(pts, floor)
            packet.dts = dts = floor
        self._last, self._last_tb = dts, tb


def _rescale_ticks(value: int | None, num: int, den: int) -> int | None:
    """`value` * num / den rounded to the nearest (halves away from zero), as av_rescale_q; den > 0."""
    if value is None:
        return None
    scaled = value * num
    return (2 * scaled + den) // (2 * den) if scaled >= 0 else -((den - 2 * scaled) // (2 * den))
