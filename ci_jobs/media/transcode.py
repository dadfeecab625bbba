"""The Transcode Tag: decode the input once and re-encode it into CI's container and codecs.

Video.Crop, Rotate and Pad (`Geometry`) apply in this order to the upright source picture: Crop
takes `w:h[:x:y]` of it (centred without x:y), Rotate turns it clockwise (90/180/270 exactly,
the width and height swapping for 90/270; any other angle turns it inside its own frame, corners
black), Width/Height then scale it (when only one is given, the other follows the turned
picture's aspect), and Pad `w:h[:x:y[:color]]` places it on a w x h canvas (centred without x:y,
black by default), which is the output size. A Crop outside the picture or a picture too large
for its Pad fails the job with InvalidArgument.

Extras hang off the lanes: watermarks, RemoveWatermark and burnt-in subtitles paint the video
frames (`watermark.Decorator`), AudioMix mixes into the audio (`audiomix.Mixer`), embedded
subtitles are muxed as the video advances (`subtitles.Embedded`), and TransConfig.TranscodeMode
TSC hands the video frames to the per-scene encoder of `tsc`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from av.container import InputContainer, OutputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..mediarules import AUDIO_ENCODERS, VIDEO_ENCODERS, ContainerSpec
from ..tags.streams import Audio, Crop, Pad, SourceCap, TimeInterval, TransConfig, Video
from ..tags.transcode import TranscodeOp
from . import OutputFile, Progress, Result, Task, audiomix, digitalmark, subtitles, tsc, watermark
from .common import (
    Chain,
    Filters,
    Resampler,
    Ticker,
    Window,
    Writer,
    decodable,
    decoded,
    duration,
    fit,
    fit_size,
    open_input,
    origin,
    resize,
    seek,
    turn,
    upright,
)
from .enhance import Enhancer
from .mediainfo import probe
from .streaming import Package, finish, open_dash, open_hls, stem

WHERE = "Request.Operation.Transcode"
# Container tags that describe the source file and must not be copied onto the output.
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}
_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_STEREO_MAX = ("mp3", "opus", "vorbis", "pcm_s16le")
# Video may run this many seconds past the media's stated duration (a sloppy header) and no further:
# a damaged timestamp hours ahead would have the constant-rate filter repeat one frame until then.
_OVERRUN = 10.0
_MUXER_OPTIONS = {"mp4": {"movflags": "+faststart"}, "mov": {"movflags": "+faststart"},
                  "ipod": {"movflags": "+faststart"}}


def run(task: Task, progress: Progress) -> Result:
    """Transcode `task.inputs[0]` into `task.outdir`; return the file and its MediaInfo."""
    return transcode(task, task.op, progress)


def transcode(task: Task, op: TranscodeOp, progress: Progress, enhancer: Enhancer | None = None) -> Result:
    """Transcode as `op` says, the video lane enhanced by `enhancer` (VideoEnhance and its legacy Tags)."""
    spec = op.container
    name = f"transcode.{spec.ext}"
    path = os.path.join(task.outdir, name)
    progress(0.0)
    package: Package | None = None
    with ExitStack() as stack:
        inp = stack.enter_context(open_input(task.inputs[0]))
        total = duration(inp)
        win = _window(op.interval, total)
        seconds = None
        if spec.muxer in ("hls", "dash"):
            seconds = op.segment_seconds
            package = _open_package(task, op, seconds)
            out = stack.enter_context(package.container)
        else:
            out = stack.enter_context(_open_output(path, spec, op.trans))
        lanes = _lanes(inp, out, op, seconds, enhancer)
        embedded = _extras(task, op, out, lanes, win, win.length(total))
        data = _digital(op, lanes)
        _copy_metadata(inp, out, lanes, op.trans)
        writer = Writer()
        stack.callback(writer.close)
        for lane in lanes:
            lane.writer = writer
            lane.span = win.length(total)
        _pump(inp, lanes, win, Ticker(progress, win.length(total)), embedded, writer)
        writer.drain()
    progress(100.0)
    if package is not None:
        files, info = finish(package)
        return Result(files, spec.ext, info, data)
    return Result((OutputFile(name),), spec.ext, probe(path), data)


def _digital(op: TranscodeOp, lanes: list[VideoLane | AudioLane]) -> dict[str, Any] | None:
    """Give the video lane the DigitalWatermark's marker; the DigitalWatermark container of the result."""
    mark = op.digital
    if mark is None:
        return None
    video = next((lane for lane in lanes if isinstance(lane, VideoLane)), None)
    if video is None:
        raise JobFailed(Failure.INVALID_ARGUMENT, "Request.Operation.DigitalWatermark needs a video stream: the "
                        "input has none")
    state = "Success"
    try:
        video.marker = digitalmark.Marker(mark.message, video.size)
    except digitalmark.TooSmall as exc:
        if not mark.ignore_error:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"Request.Operation.DigitalWatermark cannot be embedded: {exc} "
                            "(IgnoreError true lets the job go on unmarked)") from exc
        state = "Failed"
    return {"Type": "Text", "Message": mark.message, "Version": "V1",
            "IgnoreError": str(mark.ignore_error).lower(), "State": state}


def _window(interval: TimeInterval, total: float | None) -> Window:
    """The TimeInterval inside media of `total` seconds; a Start past the end is an InvalidArgument."""
    if total is not None and interval.start >= total > 0:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.TimeInterval.Start {interval.start:g} is beyond the "
                        f"media duration {total:.3f}")
    end = interval.start + interval.duration if interval.duration else None
    return Window(interval.start, end)


def _open_package(task: Task, op: TranscodeOp, seconds: float) -> Package:
    """An HLS playlist (optionally AES-128 encrypted) or a DASH manifest with its segments."""
    spec = op.container
    name = stem(task, op.output.object, spec.ext)
    if spec.muxer == "dash":
        return open_dash(task.outdir, name, seconds)
    encrypt = op.trans.hls_encrypt
    return open_hls(task.outdir, name, seconds, None if encrypt is None else encrypt.uri_key)


def _open_output(path: str, spec: ContainerSpec, trans: TransConfig) -> OutputContainer:
    options = dict(_MUXER_OPTIONS.get(spec.muxer, {}))
    if trans.delete_metadata:
        options["fflags"] = "+bitexact"  # also drops the muxer's own `encoder` tag
    if trans.tsc:
        options["max_interleave_delta"] = "0"  # TSC hands video over a scene late: wait for it
    return av.open(path, "w", format=spec.muxer, container_options=options)


def _pick(streams: Any, index: int | None) -> Any:
    """The stream to transcode: TransConfig.TranscodeIndex if it names one, else the first."""
    usable = [s for s in streams if not s.disposition & av.stream.Disposition.attached_pic]
    chosen = [s for s in usable if index is not None and s.index == index]
    return (chosen or usable or [None])[0]


def _lanes(inp: InputContainer, out: OutputContainer, op: TranscodeOp, segment_seconds: float | None = None,
           enhancer: Enhancer | None = None) -> list[VideoLane | AudioLane]:
    spec, index = op.container, op.trans.transcode_index
    lanes: list[VideoLane | AudioLane] = []
    vin = _pick(inp.streams.video, index)
    if vin is not None and op.video is not None:
        lanes.append(VideoLane(out, decodable(vin), spec, op.video, op.trans, segment_seconds, enhancer))
    ain = _pick(inp.streams.audio, index)
    if ain is not None and op.audio is not None:
        lanes.append(AudioLane(out, decodable(ain), op.audio, op.trans))
    if not lanes:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"The output would have no stream: the input has no "
                        f"{'audio' if not spec.video else 'video or audio'} stream to keep")
    return lanes


def _extras(task: Task, op: TranscodeOp, out: OutputContainer, lanes: list[VideoLane | AudioLane],
            win: Window, length: float | None) -> list[subtitles.Embedded]:
    """Attach the job's overlays and audio mix to the lanes; add its embedded subtitle streams."""
    video = next((lane for lane in lanes if isinstance(lane, VideoLane)), None)
    audio = next((lane for lane in lanes if isinstance(lane, AudioLane)), None)
    embedded, burners = subtitles.prepare(out if video else None, op.subtitles, task.objects, task.outdir,
                                          op.container.ext, (win.start, win.end), video.size if video else None)
    if video is not None:
        source = fit(video.src, None, None, video.turn)
        decorator = watermark.decorator(op.marks, task.objects, video.size, source, burners)
        video.decorator = decorator or None
    elif op.marks:
        raise JobFailed(Failure.INVALID_ARGUMENT, "Request.Operation.Watermark needs a video stream in the output")
    mixer = audiomix.mixer(op.audio_mix, task.objects, audio.rate, audio.layout, length) if audio else None
    if audio is not None:
        audio.mixer = mixer
    elif op.audio_mix:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.AudioMix needs an audio stream: the input has none "
                        "or Audio.Remove drops it")
    return embedded


def _copy_metadata(inp: InputContainer, out: OutputContainer, lanes: list[Any], trans: TransConfig) -> None:
    if trans.delete_metadata:
        return
    out.metadata.update({k: v for k, v in inp.metadata.items() if k not in _TECHNICAL_TAGS})
    for lane in lanes:
        if lane.src.language:
            lane.stream.metadata["language"] = lane.src.language


def _pump(inp: InputContainer, lanes: list[VideoLane | AudioLane], win: Window,
          ticker: Ticker, embedded: list[subtitles.Embedded], writer: Writer) -> None:
    """Decode from the window start, feed each lane, stop at the window end; flush all."""
    zero = origin(inp) + win.start
    seek(inp, lanes[0].src, win.start)
    by_kind: dict[str, Any] = {lane.kind: lane for lane in lanes}  # frames name no stream: go by type
    live = len(lanes)
    for frame in decoded(inp, *(lane.src for lane in lanes)):
        lane = by_kind["video" if isinstance(frame, av.VideoFrame) else "audio"]
        if lane.done:
            continue
        at = lane.clock(frame) - zero
        if at < -lane.slack(frame):
            continue  # decoded from the key frame before Start
        if _ended(lane, at, win):
            lane.done = True
            live -= 1
            if not live:
                break
            continue
        lane.push(frame, max(at, 0.0))
        ticker.at(at)
        for stream in embedded:
            writer.submit(stream.until, at)
    for lane in lanes:
        lane.flush()
    for stream in embedded:
        writer.submit(stream.until, math.inf)
    if not any(lane.pushed for lane in lanes):
        raise JobFailed(Failure.INVALID_INPUT, "The input has no decodable frame in the requested range")


def _ended(lane: VideoLane | AudioLane, at: float, win: Window) -> bool:
    """Whether a frame `at` seconds into the window lies past its end (video: or far past the media's)."""
    if win.end is not None and at + win.start >= win.end - 1e-6:
        return True
    return lane.kind == "video" and lane.span is not None and at > lane.span + _OVERRUN


_DTS_GAP = 1 << 32  # a DTS this far below its PTS is an encoder's garbage, not a reorder delay


class VideoLane:
    """One output video stream: constant frame rate, size/aspect filters and the encoder."""

    kind = "video"

    def __init__(self, out: OutputContainer, src: av.VideoStream, spec: ContainerSpec, video: Video,
                 trans: TransConfig = TransConfig(), segment_seconds: float | None = None,
                 enhancer: Enhancer | None = None) -> None:
        self.out, self.src = out, src
        key = video.codec
        self.enhancer = enhancer
        self.turn = upright(cast(InputContainer, src.container), src)
        self.base_rate = _frame_rate(video, trans.fps, src)
        self.rate = enhancer.rate(self.base_rate) if enhancer else self.base_rate
        self.geometry = Geometry.of(video)
        width, height = (src.height, src.width) if self.turn in (90, 270) else (src.width, src.height)
        sar = Fraction(src.sample_aspect_ratio or 1)
        shown = self.geometry.shown((width, height), sar if self.turn in (0, 180) else 1 / sar)
        self.inner = _frame_size(video, trans.reso, enhancer.shown(shown) if enhancer else shown)
        self.size = self.geometry.canvas(self.inner)  # the picture scaled, on its Pad canvas
        self.method = trans.adj_dar_method
        self.pix_fmt = (enhancer.pix_fmt if enhancer else "") or video.pix_fmt
        options = _video_options(video, trans.video_bitrate, src, self)
        if enhancer is not None:
            options = enhancer.options(options)
        if segment_seconds and video.gop is None:
            # HLS/DASH cut segments at key frames: put one at every segment boundary.
            options["g"] = str(max(1, round(float(self.rate) * segment_seconds)))
        top_speed = trans.tsc
        self.stream = cast(av.VideoStream, out.add_stream(
            VIDEO_ENCODERS[key], rate=self.rate, options=tsc.tuned(options) if top_speed else options))
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = self.pix_fmt
        if enhancer is not None:
            enhancer.signal(self.stream.codec_context)
        # PyAV opens encoders with slice threads; the ffmpeg CLI leaves FFmpeg's default, under which
        # libx264 uses frame threads: faster and better compression. Do as the CLI does.
        self.stream.codec_context.thread_type = "AUTO"
        self.stream.codec_context.time_base = 1 / self.rate
        if key == "h265" and spec.muxer in ("mp4", "mov"):
            self.stream.codec_tag = "hvc1"  # Apple players refuse the default hev1
        self.chain: Chain | None = None
        self.decorator: watermark.Decorator | None = None
        self.marker: digitalmark.Marker | None = None
        self.tsc = tsc.Encoder(out, self.stream, options, float(options.get("crf", 25)), self.rate,
                               int(video.gop or 250)) if top_speed else None
        self.done = False
        self.pushed = 0
        self._held: list[av.VideoFrame] = []  # the latest filtered frame, while it may be the padding's
        self._last_dts: int | None = None
        self.writer: Writer | None = None
        self.span: float | None = None  # seconds the output may last: the window, or the media
        self._last: float | None = None

    def clock(self, frame: av.VideoFrame) -> float:
        """The frame's time in seconds (counted on when the container gives none)."""
        if frame.time is not None:
            self._last = frame.time
        else:  # raw elementary streams carry no timestamps
            self._last = 0.0 if self._last is None else self._last + float(1 / self.rate)
        return self._last

    def slack(self, frame: av.VideoFrame) -> float:
        """How far before Start a frame may be and still count as at Start."""
        return 1e-3

    def push(self, frame: av.VideoFrame, at: float) -> None:
        """Filter and encode one decoded frame that plays `at` seconds into the output."""
        tb = self.src.time_base or Fraction(1, 90000)
        frame.pts, frame.time_base = int(round(at / tb)), tb
        if self.span is not None and frame.duration:
            # No frame outlasts the media: the fps filter repeats the last one for all of its duration.
            frame.duration = max(1, min(frame.duration, int(round((self.span - at) / tb))))
        if self.chain is None:
            upright_size = (frame.height, frame.width) if self.turn in (90, 270) else (frame.width, frame.height)
            filters = [*turn(self.turn), *self.geometry.before(), ("fps", f"fps={self.base_rate}:start_time=0")]
            picture, enhancer = self.geometry.picture(upright_size), self.enhancer
            scaled = enhancer.scale(picture, self.inner) if enhancer else None
            filters += enhancer.interpolate(self.rate) if enhancer else []
            filters += resize(picture, self.inner, self.method) if scaled is None else scaled
            painted = enhancer is not None and enhancer.paints
            filters += [*self.geometry.after(), ("format", "yuv420p" if painted else self.pix_fmt)]
            self.chain = Chain(frame, tb, self.src.sample_aspect_ratio, filters)
        self.pushed += 1
        frames = self.chain.push(frame)
        if self.enhancer is not None and self.enhancer.pads_tail:
            frames, self._held = [*self._held, *frames][:-1], [*self._held, *frames][-1:]
        self._encode(frames)

    def flush(self) -> None:
        """Drain the filters and the encoder."""
        if self.chain is not None:
            frames = [*self._held, *self.chain.push(None)]
            if self.enhancer is not None and self.enhancer.pads_tail:
                frames = frames[:-1]  # the interpolation's padding gives one frame past the end
            self._encode(frames)
        _later(self.writer, self._flush_encoder)

    def _flush_encoder(self) -> None:
        if self.tsc is not None:
            self.tsc.flush()
        else:
            self.out.mux(self._sane(self.stream.encode(None)))

    def _sane(self, packets: list[av.Packet[Any]]) -> list[av.Packet[Any]]:
        """Packets with a usable DTS. libx265 gives the packets of a very short (2-frame) encode DTS values
        about 2**38 below their PTS, which the mp4 muxer refuses ("pts/dts pair unsupported"): such a
        DTS becomes the next one after the previous packet's, at most its own PTS."""
        for packet in packets:
            if packet.dts is not None and packet.pts is not None and packet.pts - packet.dts > _DTS_GAP:
                packet.dts = min(packet.pts, self._last_dts + 1) if self._last_dts is not None else packet.pts
            if packet.dts is not None:
                self._last_dts = packet.dts
        return packets

    def _encode(self, frames: list[av.VideoFrame]) -> None:
        if frames:
            _later(self.writer, self._encode_now, frames)

    def _encode_now(self, frames: list[av.VideoFrame]) -> None:
        for frame in frames:
            # As the ffmpeg CLI does: the source's I-frames must not force the encoder's GOP.
            frame.pict_type = av.video.frame.PictureType.NONE
            if self.enhancer is not None and self.enhancer.paints:
                frame = self.enhancer.paint(frame, self.size, self.pix_fmt)
            if self.decorator is not None:
                frame = self.decorator.paint(frame, frame.time or 0.0)
            if self.marker is not None:
                frame = self.marker.mark(frame)
            if self.tsc is not None:
                self.tsc.add(frame)
            else:
                self.out.mux(self._sane(self.stream.encode(frame)))


@dataclass(frozen=True)
class Geometry:
    """Video.Crop, Rotate and Pad of one output (see the module docstring for their order)."""

    crop: Crop | None = None
    degrees: float = 0.0  # clockwise
    pad: Pad | None = None

    @classmethod
    def of(cls, video: Video) -> Geometry:
        """The geometry a Video container asks for."""
        return cls(video.crop, video.rotate, video.pad)

    @property
    def quarter(self) -> bool:
        """Whether Rotate swaps the picture's width and height."""
        return self.degrees in (90.0, 270.0)

    def picture(self, upright: tuple[int, int]) -> tuple[int, int]:
        """The size in pixels of an upright source picture once cropped and turned."""
        width, height = upright
        if self.crop is not None:
            c = self.crop
            if c.width + (c.x or 0) > width or c.height + (c.y or 0) > height:
                raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Video.Crop {c.width}:{c.height}"
                                f"{'' if c.x is None else f':{c.x}:{c.y}'} lies outside the {width}x{height} "
                                "picture (w:h:x:y, in pixels of the upright source)")
            width, height = c.width, c.height
        return (height, width) if self.quarter else (width, height)

    def shown(self, upright: tuple[int, int], sar: Fraction) -> tuple[float, float]:
        """The picture's display size: `picture` with the sample aspect ratio `sar` of the upright source."""
        width, height = self.picture(upright)
        return (float(width), float(height * sar)) if self.quarter else (float(width * sar), float(height))

    def canvas(self, inner: tuple[int, int]) -> tuple[int, int]:
        """The output size for a picture scaled to `inner`: the Pad canvas, which must hold it."""
        if self.pad is None:
            return inner
        p = self.pad
        if inner[0] + (p.x or 0) > p.width or inner[1] + (p.y or 0) > p.height:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Video.Pad {p.width}:{p.height}"
                            f"{'' if p.x is None else f':{p.x}:{p.y}'} cannot hold the {inner[0]}x{inner[1]} "
                            "picture (set Width/Height, or a larger canvas)")
        return p.width, p.height

    def before(self) -> Filters:
        """Filters cropping and turning the upright picture (before it is scaled)."""
        filters: Filters = []
        if self.crop is not None:
            c = self.crop
            filters.append(("crop", f"{c.width}:{c.height}" + ("" if c.x is None else f":{c.x}:{c.y}")))
        if self.degrees in (90.0, 180.0, 270.0):
            filters += turn(int(self.degrees))
        elif self.degrees:
            filters.append(("rotate", f"angle={self.degrees:g}*PI/180:fillcolor=black"))
        return filters

    def after(self) -> Filters:
        """Filters placing the scaled picture on the Pad canvas."""
        if self.pad is None:
            return []
        p = self.pad
        x, y = ("(ow-iw)/2", "(oh-ih)/2") if p.x is None else (str(p.x), str(p.y))
        return [("pad", f"{p.width}:{p.height}:{x}:{y}:0x{p.color[0]:02x}{p.color[1]:02x}{p.color[2]:02x}")]


class AudioLane:
    """One output audio stream: resampled to the encoder's format, timed by its sample clock."""

    kind = "audio"

    def __init__(self, out: OutputContainer, src: av.AudioStream, audio: Audio,
                 trans: TransConfig = TransConfig()) -> None:
        self.out, self.src = out, src
        key = audio.codec
        self.rate = audio.samplerate
        options = {"strict": "experimental"} if key == "vorbis" else {}
        self.stream = cast(av.AudioStream, out.add_stream(AUDIO_ENCODERS[key], rate=self.rate, options=options))
        cc = self.stream.codec_context
        cc.layout = _LAYOUTS[_channels(key, audio, src)]
        formats = [f.name for f in cc.codec.audio_formats or []]
        wanted = audio.sample_format
        cc.format = wanted if wanted in formats else formats[0] if formats else "s16"
        bitrate = _bitrate(audio.bitrate, trans.audio_bitrate, src.codec_context.bit_rate, "Audio")
        if bitrate and key not in ("flac", "pcm_s16le"):
            cc.bit_rate = int(bitrate * 1000)
        self.resampler = Resampler(cc.format, cc.layout, self.rate)
        self.layout = cc.layout.name
        self.mixer: audiomix.Mixer | None = None
        self._floats = Resampler("fltp", cc.layout, self.rate)
        self._mixed = 0
        self.time_base = Fraction(1, self.rate)
        self.samples: int | None = None
        self.done = False
        self.pushed = 0
        self.writer: Writer | None = None
        self.span: float | None = None
        self._last = 0.0

    def clock(self, frame: av.AudioFrame) -> float:
        """The frame's time in seconds (counted on when the container gives none)."""
        if frame.time is not None:
            self._last = frame.time
        else:
            self._last += frame.samples / (frame.sample_rate or self.rate)
        return self._last

    def slack(self, frame: av.AudioFrame) -> float:
        """A frame straddling Start is kept when most of it lies after Start."""
        return frame.samples / (frame.sample_rate or self.rate) / 2

    def push(self, frame: av.AudioFrame, at: float) -> None:
        """Resample and encode one decoded frame that plays `at` seconds into the output."""
        if self.samples is None:
            self.samples = self._mixed = int(round(at * self.rate))  # keep a late audio start in sync
        frame.pts = None
        self.pushed += 1
        self._encode(self._mix(frame) if self.mixer else self.resampler.resample(frame))

    def flush(self) -> None:
        """Drain the resampler and the encoder."""
        if self.mixer is not None:
            self._encode(self._mix(None))
        self._encode(self.resampler.resample(None))
        _later(self.writer, self._flush_encoder)

    def _flush_encoder(self) -> None:
        self.out.mux(self.stream.encode(None))

    def _mix(self, frame: av.AudioFrame | None) -> list[av.AudioFrame]:
        """Resample to float, add the background tracks, resample to the encoder's format."""
        assert self.mixer is not None
        out: list[av.AudioFrame] = []
        for block in self._floats.resample(frame):
            mixed = self.mixer.mix(block.to_ndarray().astype(np.float32), self._mixed)
            self._mixed += block.samples
            merged = av.AudioFrame.from_ndarray(mixed, format="fltp", layout=self.layout)
            merged.sample_rate = self.rate
            out.extend(self.resampler.resample(merged))
        return out

    def _encode(self, frames: list[av.AudioFrame]) -> None:
        if frames:
            _later(self.writer, self._encode_now, frames)

    def _encode_now(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            frame.pts, frame.time_base = self.samples or 0, self.time_base
            self.samples = (self.samples or 0) + frame.samples
            self.out.mux(self.stream.encode(frame))


def _later(writer: Writer | None, fn: Callable[..., None], *args: Any) -> None:
    """Hand encode-and-mux work to the writer thread (or do it now, for lanes used without one)."""
    if writer is None:
        fn(*args)
    else:
        writer.submit(fn, *args)


def _frame_rate(video: Video, cap: SourceCap, src: av.VideoStream) -> Fraction:
    source = Fraction(src.average_rate or src.guessed_rate or src.base_rate or 25).limit_denominator(1001)
    if not 0 < source <= 240:  # limited first: a damaged header's 1/5000 fps would become 0
        source = Fraction(25)  # a broken header; CFR at a usual rate beats millions of dupes
    wanted = video.fps
    if not wanted:
        return source
    rate = Fraction(min(wanted, 60.0)).limit_denominator(1001)  # CI clamps above 60
    if cap.on and rate > source:
        if cap.refuse:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Video.Fps {wanted:g} is above the "
                            f"source frame rate {float(source):.3f}")
        return source
    return rate


def _frame_size(video: Video, cap: SourceCap, shown: tuple[float, float]) -> tuple[int, int]:
    """The size the picture (`shown` display pixels: upright, cropped and turned) is scaled to."""
    size = fit_size(*shown, video.width, video.height)
    source = fit_size(*shown, None, None)
    if cap.on and (size[0] > source[0] or size[1] > source[1]):
        if cap.refuse:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Video size {size[0]}x{size[1]} is above "
                            f"the source resolution {source[0]}x{source[1]}")
        return source
    return size


def _bitrate(wanted: float | None, cap: SourceCap, source_bps: int | None, kind: str) -> float | None:
    """Requested kbps; with IsCheck<kind>Bitrate, a request above the source is capped or fails."""
    if not wanted or not cap.on or not source_bps:
        return wanted
    if wanted * 1000 <= source_bps:
        return wanted
    if cap.refuse:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.{kind}.Bitrate {wanted:g} is above the "
                        f"source bitrate {source_bps / 1000:.0f} kbps")
    return source_bps / 1000


def _channels(key: str, audio: Audio, src: av.AudioStream) -> int:
    wanted = int(audio.channels or src.codec_context.channels or 2)
    if key == "vorbis":
        return 2  # FFmpeg's native Vorbis encoder is stereo only
    return min(wanted, 2) if key in _STEREO_MAX else min(wanted, 8)


def _video_options(video: Video, cap: SourceCap, src: av.VideoStream, lane: VideoLane) -> dict[str, str]:
    key = video.codec
    bitrate = _bitrate(video.bitrate, cap, src.codec_context.bit_rate, "Video")
    crf = video.crf
    opts: dict[str, str] = {}
    if crf or not bitrate:
        opts["crf"] = f"{crf or 25:g}"  # CI: Crf wins over Bitrate; 25 when neither is set
    else:
        opts["b"] = f"{bitrate:g}k"
    if video.gop:
        opts["g"] = str(int(video.gop))
    if key in ("h264", "h265", "av1"):  # VBV does not apply to VP8/VP9 in CI
        for name, value in (("maxrate", video.maxrate), ("bufsize", video.bufsize)):
            if value:
                opts[name] = f"{value:g}k"
    opts.update(_codec_options(key, video.preset, video.profile, lane))
    if key in ("vp8", "vp9") and "crf" in opts:
        # libvpx reads crf as a quality floor under a bitrate: none (VP9) or a generous cap (VP8)
        opts["b"] = "0" if key == "vp9" else str(int(lane.size[0] * lane.size[1] * lane.rate))
    return opts


def _codec_options(key: str, preset: str, profile: str, lane: VideoLane) -> dict[str, str]:
    if key == "h264":
        opts = {"preset": preset or "medium"}
        if profile != "auto" and lane.pix_fmt in ("yuv420p", "yuvj420p"):
            opts["profile"] = profile  # x264's high profile cannot carry 4:2:2 or 4:4:4
        return opts
    if key == "h265":
        return {"preset": preset or "medium", "x265-params": "log-level=error"}
    if key == "vp8":
        return {"deadline": preset or "good", "cpu-used": "4"}
    if key == "vp9":
        return {"deadline": "good", "cpu-used": "4", "row-mt": "1"}
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner to stderr otherwise
    # CI's AV1 default is 5; on SVT-AV1 that is ~10x slower than 8 on a small server
    return {"preset": preset or "8"}
