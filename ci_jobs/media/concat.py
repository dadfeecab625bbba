"""The Concat Tag: fragments (and the Input) joined end to end, re-encoded once or copied as they are.

The pieces are the ConcatFragments in document order (by FragmentIndex when every fragment has
one) with the Input, when given, at `Index` or else after the `Mode=Start` fragments. Each piece
is the whole object or its StartTime..EndTime window; its duration is the container's.

Re-encoding (the default) runs every piece through the same encoders (Transcode's lanes), after
bringing it to the output's size (letterboxed, aspect kept; default: the first video's size),
frame rate and audio format, and trimming or padding it (last frame or black; silence) to
exactly its own duration, so the output lasts the sum of the pieces.
SceneChangeInfo FADE fades each junction through black (Time/2 out, then Time/2 in: durations
unchanged); GRADIENT crossfades the two pieces over Time, overlapping them, so each junction
shortens the output by Time. Time defaults to 3 s and is capped at half the shortest piece.
DirectConcat copies packets instead (windows ignored, as CI documents) and refuses pieces whose
codecs or codec parameters differ. Each piece starts where the previous one ends by its stated
(container) duration, its streams moved together (`Joiner`), so files made by the ffmpeg CLI join
as ci-jobs' own do: x264's B-frames decode before zero, AAC's priming frame lies before zero
behind an edit list, time bases differ between pieces, audio may start before or after video.
Audio packets mostly outside a piece's duration (priming, end padding) are left out, so junctions
neither overlap nor drift; video packets are all kept, so a piece cut by an edit list
(`ffmpeg -ss … -c copy`) plays from the key frame before its cut, and the next piece waits for it.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import av
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from .. import mediarules
from ..domain.failures import Failure
from ..errors import JobFailed
from ..mediarules import ContainerSpec
from ..tags.concat import WHERE, ConcatOp, Fragment
from . import Progress, Result, Task
from .blend import AudioFeed, Held, VideoFeed, edges
from .common import Monotonic, Ticker, decodable, decoded, demuxed, duration, open_input, origin, seek
from .streaming import SEGMENT_SECONDS, Package, finish, open_hls, stem
from .transcode import AudioLane, VideoLane


@dataclass(frozen=True)
class Piece:
    """One part of the output: a local file and the window of it to use."""

    path: str
    where: str  # how messages name it
    start: float = 0.0
    end: float | None = None


@dataclass(frozen=True)
class Source:
    """A piece opened: its container, its first video and audio stream, its length in seconds."""

    piece: Piece
    container: InputContainer
    video: av.VideoStream | None
    audio: av.AudioStream | None
    length: float


def run(task: Task, progress: Progress) -> Result:
    """Join the pieces named by Request.Operation.ConcatTemplate into one output."""
    op: ConcatOp = task.op
    spec = op.container
    progress(0.0)
    with ExitStack() as stack:
        sources = [_open(stack, piece) for piece in order(task, op)]
        ticker = Ticker(progress, sum(s.length for s in sources))
        package = _output(task, op)
        stack.callback(package.container.close)  # also on failure; closing twice is harmless
        if op.direct:
            _copy(package.container, sources, spec, ticker)
        else:
            _encode(package.container, sources, op, ticker)
        files, info = finish(package)
    progress(100.0)
    return Result(files, spec.ext, info)


def order(task: Task, op: ConcatOp) -> list[Piece]:
    """The pieces in output order: fragments, with the Input (when given) placed among them."""
    frags = op.fragments
    pieces = [_fragment(task, f, n) for n, f in enumerate(frags, 1)]
    if not task.inputs:
        return pieces
    source = Piece(task.inputs[0], "Request.Input.Object")
    if op.index is not None:
        at = min(op.index, len(pieces))
        return [*pieces[:at], source, *pieces[at:]]
    first = [p for p, f in zip(pieces, frags, strict=True) if f.before_input]
    rest = [p for p, f in zip(pieces, frags, strict=True) if not f.before_input]
    return [*first, source, *rest]


def _fragment(task: Task, fragment: Fragment, n: int) -> Piece:
    where = f"{WHERE}.ConcatFragment[{n}]"
    path = task.objects.get(fragment.key)
    if path is None:
        raise JobFailed(Failure.INPUT_NOT_FOUND, f"The object {fragment.key} named by {where}.Url was not fetched")
    return Piece(path, where, fragment.start, fragment.end)


def _open(stack: ExitStack, piece: Piece) -> Source:
    try:
        inp = stack.enter_context(open_input(piece.path))
        video = next((s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)
        audio = next(iter(inp.streams.audio), None)
        for stream in (video, audio):
            if stream is not None:
                decodable(stream)
    except JobFailed as exc:  # say which piece
        raise JobFailed(exc.code, f"{piece.where}: {exc.message}") from exc
    total = duration(inp)
    if not total:
        raise JobFailed(Failure.INVALID_INPUT, f"The duration of {piece.where} is unknown")
    if piece.start >= total:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{piece.where}.StartTime {piece.start:g} is beyond its "
                        f"duration {total:.3f}")
    end = total if piece.end is None else min(piece.end, total)
    return Source(piece, inp, video, audio, end - piece.start)


def _output(task: Task, op: ConcatOp) -> Package:
    spec = op.container
    if spec.muxer == "hls":
        return open_hls(task.outdir, stem(task, op.output.object, spec.ext), SEGMENT_SECONDS)
    name = f"concat.{spec.ext}"
    options = {"movflags": "+faststart"} if spec.muxer == "mp4" else {}
    out = av.open(os.path.join(task.outdir, name), "w", format=spec.muxer, container_options=options)
    return Package(out, task.outdir, name)


# --- re-encoding ----------------------------------------------------------------------------


def _encode(out: OutputContainer, sources: list[Source], op: ConcatOp, ticker: Ticker) -> None:
    spec, video, audio = op.container, op.video, op.audio
    vref = next((s.video for s in sources if s.video is not None), None)
    aref = next((s.audio for s in sources if s.audio is not None), None)
    vlane = alane = None
    if vref is not None and video is not None:
        vlane = VideoLane(out, vref, spec, video)
        vlane.turn = 0  # every piece is stood upright before it reaches the lane
    if aref is not None and audio is not None:
        alane = AudioLane(out, aref, audio)
    if vlane is None and alane is None:
        raise JobFailed(Failure.INVALID_ARGUMENT, "The output would have no stream: the pieces have no "
                        f"{'audio' if not spec.video else 'video or audio'} stream to keep")
    held = Held()
    offset = 0.0
    for source, edge in zip(sources, edges(op.scene, [s.length for s in sources]),
                            strict=True):
        feeds: list[VideoFeed | AudioFeed] = []
        if vlane is not None:
            feeds.append(VideoFeed(vlane, source.container, source.video, source.length, offset, edge, held))
        if alane is not None:
            feeds.append(AudioFeed(alane, source.audio, source.length, offset, edge, held))
        _decode(source, feeds, offset, ticker)
        offset += source.length - edge.overlap_out
    for lane in (vlane, alane):
        if lane is not None:
            lane.flush()


def _decode(source: Source, feeds: list[VideoFeed | AudioFeed], offset: float, ticker: Ticker) -> None:
    """Decode the piece's window into its feeds, then let each pad itself to the piece's length."""
    live = {f.kind: f for f in feeds if f.stream is not None}
    streams = [f.stream for f in live.values() if f.stream is not None]
    if streams:
        inp = source.container
        seek(inp, streams[0], source.piece.start)
        zero = origin(inp) + source.piece.start
        for frame in decoded(inp, *streams):
            if frame.time is None:
                continue
            at = frame.time - zero
            if isinstance(frame, av.VideoFrame):
                cast(VideoFeed, live["video"]).push(frame, at)
            else:
                cast(AudioFeed, live["audio"]).push(frame, at)
            ticker.at(offset + at)
            if all(f.done for f in live.values()):
                break
    for feed in feeds:
        feed.finish()


# --- packet copy ----------------------------------------------------------------------------


def _copy(out: OutputContainer, sources: list[Source], spec: ContainerSpec, ticker: Ticker) -> None:
    """Copy every piece's packets one after the other (see the module docstring for the timeline)."""
    kinds = _kinds(sources, spec)
    joiner = Joiner(out, {kind: _stream(sources[0], kind) for kind in kinds})
    for n, source in enumerate(sources):
        joiner.add(source.container, {kind: _stream(source, kind) for kind in kinds}, first=n == 0)
        ticker.at(float(joiner.at))


Timed = tuple[str, "av.Packet[Any]", Fraction]  # (kind, packet, its decode time in piece seconds)


class Joiner:
    """Lays packet-copied pieces end to end on the output's timeline.

    A piece starts where the previous one ends by its stated duration, all its streams moved by
    the same amount, so the sync inside it stays as in the source; it starts later only when one
    of its streams would otherwise decode before the previous piece's last packet of that stream.
    Times are exact fractions: in float seconds, equal decode times landed either side of each other,
    and a piece's AAC priming frame could meet the previous piece's last audio packet (EINVAL).
    """

    def __init__(self, out: OutputContainer, templates: dict[str, Stream]) -> None:
        self.out = out
        self.targets = {kind: out.add_stream_from_template(stream) for kind, stream in templates.items()}
        self.timing = {kind: Monotonic(stream) for kind, stream in self.targets.items()}
        self.last: dict[str, Fraction] = {}  # per kind: the latest decode time written, in output seconds
        self.at = Fraction(0)  # where the next piece starts, in output seconds

    def add(self, inp: InputContainer, streams: dict[str, Stream], first: bool) -> None:
        """Copy the packets of `streams` of one piece; move `at` past the piece."""
        length, zero = _seconds(duration(inp) or 0.0), _seconds(origin(inp))
        packets = _timed(inp, streams, zero, length, first)
        head, firsts = _lookahead(packets, len(streams))
        start = max([self.at] + [self.last[kind] - t + (self.targets[kind].time_base or 0)
                                 for kind, t in firsts.items() if kind in self.last])
        for kind, packet, _ in itertools.chain(head, packets):
            self._write(kind, packet, start - zero)
        self.at = start + length

    def _write(self, kind: str, packet: av.Packet[Any], shift: Fraction) -> None:
        assert packet.time_base is not None
        _move(packet, math.ceil(shift / packet.time_base))
        self.timing[kind].fix(packet)
        self.last[kind] = (packet.dts if packet.dts is not None else packet.pts or 0) * packet.time_base
        packet.stream = self.targets[kind]
        self.out.mux(packet)


def _timed(inp: InputContainer, streams: dict[str, Stream], zero: Fraction, length: Fraction,
           first: bool) -> Iterator[Timed]:
    """The piece's packets to copy, with their decode times from the piece's time zero.

    Every audio packet decodes on its own, so those the source hides are left out: the ones its
    edit list flags discarded (the AAC encoder's priming frame; kept in the first piece, where the
    output's edit list hides it again) and those lying mostly past its duration (end padding).
    Video packets are all kept: B-frames and an edit list's pre-roll are needed to decode the rest.
    """
    kinds = {stream.index: kind for kind, stream in streams.items()}
    half = _half_frame(streams.get("audio"))
    for packet in demuxed(inp, *streams.values()):
        stamp = packet.dts if packet.dts is not None else packet.pts
        tb = packet.time_base
        if stamp is None or tb is None:
            continue
        kind, at = kinds[packet.stream_index], stamp * tb - zero
        if kind == "audio" and not first and packet.is_discard:
            continue  # what the source's edit list hides: the AAC priming frame, a cut's pre-roll
        if kind == "audio" and at + (half or (packet.duration or 0) * tb / 2) >= length:
            continue  # the encoder's padding after the end
        yield kind, packet, at


def _half_frame(stream: Stream | None) -> Fraction:
    """Half an audio frame in seconds (0 when unknown): the demuxer trims the last packet's
    duration to the edit list, but the decoder still makes a whole frame of it."""
    cc = stream.codec_context if isinstance(stream, av.AudioStream) else None
    return Fraction(cc.frame_size, 2 * cc.sample_rate) if cc and cc.frame_size and cc.sample_rate else Fraction(0)


def _lookahead(packets: Iterator[Timed], kinds: int, limit: int = 256) -> tuple[list[Timed], dict[str, Fraction]]:
    """Read packets until each kind has shown its first decode time (or `limit` packets)."""
    head: list[Timed] = []
    firsts: dict[str, Fraction] = {}
    for item in packets:
        head.append(item)
        firsts.setdefault(item[0], item[2])
        if len(firsts) == kinds or len(head) >= limit:
            break
    return head, firsts


def _seconds(value: float) -> Fraction:
    """Seconds from a float of whole microseconds (container times), exactly."""
    return Fraction(value).limit_denominator(1_000_000)


def _move(packet: av.Packet[Any], ticks: int) -> None:
    if packet.pts is not None:
        packet.pts += ticks
    if packet.dts is not None:
        packet.dts += ticks


def _stream(source: Source, kind: str) -> Any:
    return source.video if kind == "video" else source.audio


def _kinds(sources: list[Source], spec: ContainerSpec) -> list[str]:
    """The stream kinds to copy, after checking every piece carries them with the same parameters."""
    first = sources[0]
    kinds = [k for k in ("video", "audio") if _stream(first, k) is not None and (k == "audio" or spec.video)]
    if not kinds:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{first.piece.where} has no stream that {spec.ext} can carry")
    for kind in kinds:
        codec = _stream(first, kind).codec_context.codec.canonical_name  # not the decoder's (mp3float)
        allowed = spec.video if kind == "video" else spec.audio
        if mediarules.video_codec(codec) not in allowed:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"DirectConcat copies streams without re-encoding and "
                            f"{spec.ext} cannot carry {codec} {kind}")
        want = _signature(_stream(first, kind))
        for other in sources[1:]:
            stream = _stream(other, kind)
            got = _signature(stream) if stream is not None else None
            if got != want:
                what = "no stream" if got is None else _describe(got, want)
                raise JobFailed(Failure.INVALID_ARGUMENT, f"DirectConcat needs pieces with the same codec parameters: "
                                f"the {kind} of {other.piece.where} has {what}, the {kind} of "
                                f"{first.piece.where} has {want[0]}")
    return kinds


def _signature(stream: Any) -> tuple[str, bytes]:
    cc = stream.codec_context
    name = cc.codec.canonical_name
    if stream.type == "video":
        shown = f"{name} {cc.width}x{cc.height} {cc.format.name if cc.format else '?'} {cc.profile or ''}"
    else:
        shown = f"{name} {cc.sample_rate} Hz {cc.channels} ch {cc.profile or ''}"
    return shown.strip(), bytes(cc.extradata or b"")


def _describe(got: tuple[str, bytes], want: tuple[str, bytes]) -> str:
    return got[0] if got[0] != want[0] else f"{got[0]} with a different codec configuration"

