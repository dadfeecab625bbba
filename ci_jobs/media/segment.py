"""The Segment Tag: remux without re-encoding, whole or cut at key frames into pieces, HLS or DASH.

Packets are copied as they are; only their timestamps move, so that every output starts at
zero. A cut can only fall on a key frame of the lead stream (video, else audio): StartTime
starts at the key frame at or before it, as `ffmpeg -ss -c copy` does, and each piece of a
Duration split starts at the first key frame at least Duration after the previous cut.
"""

from __future__ import annotations

import bisect
import collections
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import av
from av.bitstream import BitStreamFilterContext
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from ..domain.failures import Failure
from ..errors import JobFailed
from ..mediarules import SEGMENT_AUDIO_ONLY
from ..tags.segment import SegmentOp
from . import OutputFile, Progress, Result, Task
from .common import Monotonic, Ticker, bad_input, check_start, copyable, demuxed, duration, open_input, origin, seek
from .mediainfo import Info, probe
from .streaming import SEGMENT_SECONDS, Package, finish, open_dash, open_hls, stem

WHERE = "Request.Operation.Segment"
_EPS = 1e-3  # seconds: timestamps are rounded to the stream time base
_ANNEXB = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}


@dataclass(frozen=True)
class Span:
    """The part of the input to copy, in seconds of media time (from the container's zero)."""

    start: float
    end: float | None
    total: float | None


def run(task: Task, progress: Progress) -> Result:
    """Remux `task.inputs[0]` as the typed Segment operation (`task.op`) asks; return the files and MediaInfo."""
    op: SegmentOp = task.op
    progress(0.0)
    with open_input(task.inputs[0]) as inp:
        streams = _streams(inp, op.format, op.transcode_index)
        span = _span(inp, op)
        ticker = Ticker(progress, None if span.total is None else (span.end or span.total) - span.start)
        if op.packaged:
            package = _open_package(task, op)
            _package(package, inp, streams, span, ticker)
            files, info = finish(package)
        else:
            with _Closed(task.outdir, task.closed) as closed:
                names = _pieces(task.outdir, op.muxer, op.ext, inp, streams, span, op.duration, ticker, closed)
                files, info = closed.results(names)
    progress(100.0)
    return Result(files, op.ext, info)


class _Closed:
    """Each finished piece goes to the engine's hook (to be hashed while the copy goes on) and the first one
    is probed, in a thread, for the MediaInfo the job reports: probing runs mostly without the GIL, so on a
    short job it overlaps the copy instead of following it."""

    def __init__(self, outdir: str, hook: Callable[[str], None] | None) -> None:
        self.outdir, self.hook = outdir, hook
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segment-probe")
        self.info: Future[Info] | None = None

    def __enter__(self) -> _Closed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __call__(self, piece: int, name: str) -> None:
        if piece == 0:
            self.info = self.pool.submit(probe, os.path.join(self.outdir, name))
        if self.hook is not None:
            self.hook(name)

    def results(self, names: list[str]) -> tuple[tuple[OutputFile, ...], Info]:
        """The pieces in order, and the first one's MediaInfo (raising what probing it raised)."""
        info = self.info.result() if self.info is not None else probe(os.path.join(self.outdir, names[0]))
        return tuple(OutputFile(name) for name in names), info


def _open_package(task: Task, op: SegmentOp) -> Package:
    """The HLS or DASH muxer; segments last Duration seconds (CI's 5 when it is not given)."""
    seconds = op.duration or SEGMENT_SECONDS
    name = stem(task, op.output.object, op.ext)
    if op.format == "dash":
        return open_dash(task.outdir, name, seconds)
    return open_hls(task.outdir, name, seconds, None if op.hls_encrypt is None else op.hls_encrypt.uri_key)


def _streams(inp: InputContainer, fmt: str, index: int | None) -> list[Stream]:
    """The streams to copy, lead stream first: video and audio, or the audio alone."""
    video = _pick(inp.streams.video, index)
    audio = _pick(inp.streams.audio, index)
    if fmt in SEGMENT_AUDIO_ONLY:
        if audio is None:
            raise JobFailed(Failure.INVALID_INPUT, f"The input has no audio stream for Format {fmt}")
        codec = copyable(audio).codec_context.codec.canonical_name  # the decoder's name may be e.g. mp3float
        if codec != fmt:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Format {fmt} cannot carry the input's {codec} audio: "
                            "Segment copies streams without re-encoding")
        return [audio]
    chosen = [s for s in (video, audio) if s is not None]
    if not chosen:
        raise JobFailed(Failure.INVALID_INPUT, "The input has no video or audio stream to copy")
    return [copyable(s) for s in chosen]


def _pick(streams: Any, index: int | None) -> Stream | None:
    """TranscodeIndex if it names one of `streams`, else the first (cover pictures never count)."""
    usable = [s for s in streams if not s.disposition & av.stream.Disposition.attached_pic]
    chosen = [s for s in usable if index is not None and s.index == index]
    found: Stream | None = (chosen or usable or [None])[0]
    return found


def _span(inp: InputContainer, op: SegmentOp) -> Span:
    total = duration(inp)
    check_start(op.start, total, f"{WHERE}.StartTime")
    return Span(op.start, op.end, total)


def _packets(inp: InputContainer, streams: list[Stream], span: Span) -> Iterator[tuple[av.Packet[Any], float]]:
    """Packets of `streams` (with their media time) from the lead key frame at or before the start.

    Packets of the other streams that come before that key frame in the file are held back until
    it is seen, then kept when they play at or after it.
    """
    lead = streams[0]
    zero = origin(inp)
    seek(inp, lead, span.start)
    begin: float | None = None
    held: list[tuple[av.Packet[Any], float]] = []
    ended: set[int] = set()
    scale = _seconds_per_tick(streams)  # packet.time_base makes a new Fraction on every read
    for packet in demuxed(inp, *streams):
        stamp = packet.pts if packet.pts is not None else packet.dts
        tick = scale.get(packet.stream_index)
        if stamp is None or tick is None:
            continue  # the demuxer's end-of-stream marker
        at = stamp * tick - zero
        if _past_end(packet, zero, span):
            ended.add(packet.stream_index)
            if len(ended) == len(streams):
                break
            continue
        if begin is None:
            if packet.stream_index != lead.index:
                held.append((packet, at))
                continue
            if not packet.is_keyframe:
                continue
            begin = at
            yield packet, at
            yield from ((p, t) for p, t in held if t >= begin - _EPS)
            held.clear()
            continue
        if packet.stream_index != lead.index and at < begin - _EPS:
            continue
        yield packet, at


def _past_end(packet: av.Packet[Any], zero: float, span: Span) -> bool:
    """Whether a packet lies past EndTime; video goes by decode time so what is kept decodes."""
    if span.end is None:
        return False
    stamp = packet.dts if packet.stream.type == "video" and packet.dts is not None else packet.pts
    if stamp is None or packet.time_base is None:
        return False
    return float(stamp * packet.time_base) - zero >= span.end - _EPS


def _seconds_per_tick(streams: list[Stream]) -> dict[int, float]:
    """Each stream's time base as a float (its packets carry the same), by stream index."""
    return {s.index: float(s.time_base) for s in streams if s.time_base}


def _shift(packet: av.Packet[Any], seconds: float, tick: float) -> None:
    """Move a packet `seconds` earlier (`tick`: its time base, as a float)."""
    delta = int(round(seconds / tick))
    if packet.pts is not None:
        packet.pts -= delta
    if packet.dts is not None:
        packet.dts -= delta


def _package(package: Package, inp: InputContainer, streams: list[Stream], span: Span, ticker: Ticker) -> None:
    """Copy the span into one HLS/DASH muxer, which cuts its segments at key frames itself."""
    out = package.container
    targets = {s.index: _Target(out, s) for s in streams}
    scale = _seconds_per_tick(streams)
    begin: float | None = None
    for packet, at in _packets(inp, streams, span):
        begin = at if begin is None else begin
        _shift(packet, begin, scale[packet.stream_index])
        targets[packet.stream_index].mux(packet)
        ticker.at(at - begin)
    for target in targets.values():
        target.flush()
    if begin is None:
        raise JobFailed(Failure.INVALID_INPUT, "The input has no packet to copy in the requested range")


def _pieces(outdir: str, muxer: str, ext: str, inp: InputContainer, streams: list[Stream], span: Span,
            split: float | None, ticker: Ticker, closed: Callable[[int, str], None]) -> list[str]:
    """Copy the span into one file, or into a piece per `split` seconds; `closed(piece, name)` hears of each
    file as it is finished. Returns the file names in order.

    A piece starts at the first key frame of the lead stream at least `split` after the previous piece's
    start (the first at the span's first key frame). The cuts are found in the same pass as the copy: the
    lead stream's packets go to the piece that is current when they arrive; another stream's packet waits
    while a cut still to come could fall at or before it (from `split` after the last cut until the lead's
    next key frame shows where the next cut is), so it goes to the piece whose time span holds it.
    """
    writer = _Pieces(outdir, muxer, ext, streams, closed)
    lead = streams[0].index
    cuts: list[float] = []
    waiting: collections.deque[tuple[av.Packet[Any], float]] = collections.deque()

    def settled(at: float) -> bool:  # no cut still to come can fall at or before `at`
        return split is None or at + _EPS < cuts[-1] + split - _EPS

    def place(packet: av.Packet[Any], at: float) -> None:
        index = max(0, bisect.bisect_right(cuts, at + _EPS) - 1)
        writer.write(index, packet, cuts[index])

    try:
        for packet, at in _packets(inp, streams, span):  # the first packet is a lead key frame
            if packet.stream_index == lead:
                # Decode order: the piece changes at the cut's key frame and never goes back.
                if not cuts or (split is not None and packet.is_keyframe and at >= cuts[-1] + split - _EPS):
                    cuts.append(at)
                    while waiting and settled(waiting[0][1]):
                        place(*waiting.popleft())
                writer.write(len(cuts) - 1, packet, cuts[-1])
                ticker.at(at - cuts[0])
            elif waiting or not settled(at):
                waiting.append((packet, at))
            else:
                place(packet, at)
        while waiting:  # the input ended: no cut is still to come
            place(*waiting.popleft())
    finally:
        writer.close()
    if not writer.names:
        raise JobFailed(Failure.INVALID_INPUT, "The input has no packet to copy in the requested range")
    return sorted(writer.names)


class _Pieces:
    """The output files of a split, opened as packets reach them and closed once left behind."""

    def __init__(self, outdir: str, muxer: str, ext: str, streams: list[Stream],
                 closed: Callable[[int, str], None]) -> None:
        self.outdir, self.muxer, self.ext, self.streams, self.closed_hook = outdir, muxer, ext, streams, closed
        self.open: dict[int, tuple[OutputContainer, dict[int, _Target]]] = {}
        self.closed: set[int] = set()
        self.names: list[str] = []
        self.at: dict[int, int] = {}  # stream index -> the piece it last wrote to
        self.scale = _seconds_per_tick(streams)

    def write(self, piece: int, packet: av.Packet[Any], cut: float) -> None:
        """Mux `packet` into piece `piece`, timed from that piece's cut."""
        if piece in self.closed:
            return  # a straggler far behind its stream's next piece
        out, targets = self.open.get(piece) or self._start(piece)
        _shift(packet, cut, self.scale[packet.stream_index])
        targets[packet.stream_index].mux(packet)
        self.at[packet.stream_index] = piece
        done = min(self.at.values()) if len(self.at) == len(self.streams) else 0
        for old in [p for p in self.open if p < done or p < max(self.at.values()) - 2]:
            self._finish(old)

    def close(self) -> None:
        """Close every piece still open."""
        for piece in list(self.open):
            self._finish(piece)

    def _start(self, piece: int) -> tuple[OutputContainer, dict[int, _Target]]:
        name = f"piece-{piece:05d}.{self.ext}"  # as _finish names it to its hook
        options = {"movflags": "+faststart"} if self.muxer == "mp4" else {}
        out = av.open(os.path.join(self.outdir, name), "w", format=self.muxer, container_options=options)
        targets = {s.index: _Target(out, s) for s in self.streams}
        self.open[piece] = (out, targets)
        self.names.append(name)
        return out, targets

    def _finish(self, piece: int) -> None:
        out, targets = self.open.pop(piece)
        self.closed.add(piece)
        try:
            for target in targets.values():
                target.flush()
            out.close()
        except av.InvalidDataError as exc:  # the container's bitstream filter meets damaged data as it drains
            raise bad_input(exc, "copied") from exc
        except av.FFmpegError as exc:
            raise JobFailed(Failure.INVALID_ARGUMENT,
                            f"The output could not be finished: {exc.strerror or exc}") from exc
        self.closed_hook(piece, f"piece-{piece:05d}.{self.ext}")


class _Target:
    """One copied stream in one output, behind the bitstream filter its container may need."""

    def __init__(self, out: OutputContainer, src: Stream) -> None:
        self.out, self.codec = out, src.codec_context.codec.canonical_name
        try:
            self.stream = out.add_stream_from_template(src)
        except ValueError as exc:  # PyAV checks the muxer's codec list up front
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Format cannot carry the input's {self.codec} stream "
                            f"without re-encoding: {exc}") from exc
        self.timing = Monotonic(self.stream)
        # AVI stores H.264/HEVC as Annex B; MP4/MKV/FLV inputs carry length-prefixed NAL units.
        # (MPEG-TS and HLS add this filter by themselves; AVI does not.)
        name = _ANNEXB.get(self.codec) if out.format.name == "avi" else None
        self.bsf = BitStreamFilterContext(name, src, self.stream) if name else None

    def mux(self, packet: av.Packet[Any] | None) -> None:
        """Mux one copied packet (None drains the bitstream filter)."""
        packets = self.bsf.filter(packet) if self.bsf is not None else [packet] if packet is not None else []
        for item in packets:
            self.timing.fix(item)
            item.stream = self.stream
            try:
                self.out.mux(item)
            except av.InvalidDataError as exc:  # a damaged packet (e.g. an ADTS header the muxer's filter refuses)
                raise bad_input(exc, "copied") from exc
            except av.FFmpegError as exc:
                # The usual cause: a codec the container cannot carry, which copying cannot fix.
                raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Format cannot carry the input's {self.codec} "
                                f"stream without re-encoding: {exc.strerror or exc}") from exc

    def flush(self) -> None:
        """Drain the bitstream filter into the muxer."""
        if self.bsf is not None:
            self.mux(None)
