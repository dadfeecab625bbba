"""The StreamExtract Tag: each listed stream of the input packet-copied, never re-encoded, into its own file.

Which container a stream goes into (`tags.streamextract.BOXES` and `DEFAULTS`): the Object's own
extension when it names a container the codec fits, else (`.${ext}`, or no extension) the default
of the codec. An extension the codec does not fit fails the job with InvalidArgument naming
`Output.StreamExtract[i].Object` (i counts from 0, as `${Number}`).

| Stream codec       | `${ext}` (default)   | Also honoured when the Object ends with      |
|--------------------|----------------------|----------------------------------------------|
| h264               | mp4                  | mov, ts, flv, mkv, h264 / 264 (raw Annex B)  |
| hevc               | mp4                  | mov, ts, mkv, h265 / 265 / hevc (raw)        |
| av1                | mp4                  | mov, webm, mkv                               |
| mpeg4              | mp4                  | mov, mkv                                     |
| vp8                | webm                 | mkv                                          |
| vp9                | webm                 | mp4, mkv                                     |
| other video        | mkv                  | (prores, mjpeg: mov; mpeg2video: ts)         |
| aac                | m4a                  | aac (ADTS), mp4, mov, ts, flv, mkv, mka      |
| mp3                | mp3                  | mp4, mov, ts, flv, mkv, mka                  |
| flac               | flac                 | ogg, mp4, mkv, mka                           |
| opus               | opus (Ogg)           | ogg, webm, mp4, mkv, mka                     |
| vorbis             | ogg                  | webm, mkv, mka                               |
| pcm_s16le          | wav                  | mov, mkv, mka                                |
| other audio        | mka                  | (other PCM: wav; alac: m4a, mp4, mov; ac3: mp4, mov, ts; eac3: mp4) |
| subrip             | srt                  | mkv, mks                                     |
| ass, ssa           | ass                  | ssa, mkv, mks                                |
| webvtt             | vtt                  | webm, mkv, mks                               |
| mov_text           | mp4                  | mov                                          |
| other subtitle     | mkv                  | mks                                          |

Packets keep their payload and their timing, moved only by the input's start time (MPEG-TS rarely
starts at 0), so each output starts where the input does, as `ffmpeg -map 0:<i> -c copy` writes
it; the muxer may add what its container needs around the payload (Annex B start codes in .ts and
raw files, ADTS headers in .aac). One demux pass feeds every output.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import av
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.streamextract import BOXES, DEFAULTS, FALLBACK, Box, Entry, StreamExtractOp, extension
from . import OutputFile, Progress, Result, Task
from .common import Ticker, bad_input, demuxed, duration, open_input, origin
from .mediainfo import probe

_FASTSTART = ("mp4", "mov", "ipod")  # moov first: the file plays while it downloads


def run(task: Task, progress: Progress) -> Result:
    """Copy each Output.StreamExtract stream of `task.inputs[0]` into its own file; return them and MediaInfo."""
    op: StreamExtractOp = task.op
    wanted = op.entries
    progress(0.0)
    with open_input(task.inputs[0]) as inp, contextlib.ExitStack() as stack:
        zero = origin(inp)
        outputs = []
        for n, entry in enumerate(wanted):
            target = _Output(task.outdir, n, entry, _stream(inp, entry), zero)
            stack.callback(_discard, target.container)
            outputs.append(target)
        _copy(inp, outputs, Ticker(progress, duration(inp)), zero)
        stack.pop_all()
        for target in outputs:
            target.close()
    info = probe(task.inputs[0])
    progress(100.0)
    return Result(tuple(t.file for t in outputs), "", info)


def _discard(container: OutputContainer) -> None:
    """Close an output left behind by a failure; its own error would hide the one that matters."""
    with contextlib.suppress(av.FFmpegError):
        container.close()


def _stream(inp: InputContainer, entry: Entry) -> Stream:
    """The input stream an entry names: video, audio or subtitle, with a codec FFmpeg knows."""
    if entry.index >= len(inp.streams):
        listed = ", ".join(f"{s.index} ({s.type} {_codec(s)})" for s in inp.streams)
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{entry.where}.Index {entry.index}: the input has no stream "
                        f"{entry.index}; its streams are {listed}")
    stream = inp.streams[entry.index]
    if stream.type not in FALLBACK:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{entry.where}.Index {entry.index}: stream {entry.index} is a "
                        f"{stream.type} stream; only video, audio and subtitle streams can be extracted")
    if stream.codec_context is None:
        raise JobFailed(Failure.INVALID_INPUT, f"The input's {stream.type} stream {stream.index} has a codec FFmpeg "
                        "does not know (its header may be damaged)")
    return stream


def _codec(stream: Stream) -> str:
    cc = stream.codec_context
    return cc.codec.canonical_name if cc is not None else "unknown codec"


def _box(entry: Entry, stream: Stream) -> tuple[str, Box]:
    """The extension and container of an entry's file: the Object's own if the codec fits, else the default."""
    codec = _codec(stream)
    default = DEFAULTS.get(codec) or FALLBACK[stream.type]
    ext = extension(entry.pattern) or default
    box = BOXES[ext]
    if codec not in box.codecs and stream.type not in box.kinds:
        raise JobFailed(Failure.INVALID_ARGUMENT,
                        f"{entry.where}.Object {entry.pattern} ends with .{ext}, which cannot "
                        f"carry stream {stream.index} ({stream.type} {codec}) without re-encoding; end it with "
                        f".${{ext}} (.{default} for {codec}) or an extension that fits")
    return ext, box


class _Output:
    """One entry's file: a container holding a copy of one input stream."""

    def __init__(self, outdir: str, n: int, entry: Entry, source: Stream, zero: float) -> None:
        ext, box = _box(entry, source)
        name = f"stream-{n:03d}.{ext}"
        self.entry, self.source, self.packets = entry, source, 0
        self.file = OutputFile(name, "stream", ext, entry.pattern)
        options = {"movflags": "+faststart"} if box.muxer in _FASTSTART else {}
        self.container: OutputContainer = av.open(os.path.join(outdir, name), "w", format=box.muxer,
                                                  container_options=options)
        try:
            # opaque: copy the stream's own codec parameters, with no encoder looked up (av1 has none here)
            self.stream = self.container.add_stream_from_template(source, opaque=True)
        except ValueError as exc:  # the muxer's codec list says no
            self.container.close()
            raise JobFailed(Failure.INVALID_ARGUMENT,
                            f"{entry.where}.Object {entry.pattern}: .{ext} cannot carry stream "
                            f"{source.index} ({_codec(source)}) without re-encoding: {exc}") from exc
        tb = source.time_base
        self.shift = int(round(zero / tb)) if tb else 0  # the input's start time, in this stream's ticks

    def mux(self, packet: av.Packet[Any]) -> None:
        """Write one copied packet, its timestamps moved by the input's start time."""
        if packet.pts is not None:
            packet.pts -= self.shift
        if packet.dts is not None:
            packet.dts -= self.shift
        packet.stream = self.stream
        try:
            self.container.mux(packet)
        except av.FFmpegError as exc:  # timestamps a muxer refuses: a damaged input
            raise bad_input(exc, "copied") from exc
        self.packets += 1

    def close(self) -> None:
        """Finish the file (trailer, index); a stream without a packet is an InvalidInput."""
        try:
            self.container.close()
        except av.FFmpegError as exc:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{self.entry.where}.Object {self.entry.pattern}: the file could "
                            f"not be finished: {exc.strerror or exc}") from exc
        if not self.packets:
            raise JobFailed(Failure.INVALID_INPUT, f"The input's stream {self.source.index} has no packet to copy")


def _copy(inp: InputContainer, outputs: list[_Output], ticker: Ticker, zero: float) -> None:
    """One demux pass over the wanted streams; a demux error ends a truncated input, as ffmpeg does."""
    by_index = {o.source.index: o for o in outputs}
    for packet in demuxed(inp, *(o.source for o in outputs)):
        if not packet.size:
            continue  # the demuxer's end-of-stream marker
        stamp = packet.dts if packet.dts is not None else packet.pts
        by_index[packet.stream_index].mux(packet)
        if stamp is not None and packet.time_base:
            ticker.at(float(stamp * packet.time_base) - zero)
