"""The Animation Tag: a palette-optimised GIF or an animated WebP made from part of a video."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any, cast

import av
from av.container import OutputContainer
from av.filter.context import FilterContext

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.animation import AnimationOp, Video
from . import OutputFile, Progress, Result, Task, watermark
from .common import (
    Chain,
    Filters,
    Ticker,
    Window,
    decoded,
    duration,
    fit,
    open_input,
    origin,
    picture_stream,
    seek,
    turn,
    upright,
    window_of,
)
from .mediainfo import probe

WHERE = "Request.Operation.Animation"
# gif: ordered dither (small, stable files); hgif: a palette from every pixel and error diffusion.
_PALETTES = {
    "gif": ("stats_mode=diff", "dither=bayer:bayer_scale=3:diff_mode=rectangle"),
    "hgif": ("stats_mode=full", "dither=sierra2_4a"),
}


def run(task: Task, progress: Progress) -> Result:
    """Render the animation the typed Animation operation (`task.op`) describes from `task.inputs[0]`."""
    op: AnimationOp = task.op
    name = f"animation.{op.ext}"
    path = os.path.join(task.outdir, name)
    progress(0.0)
    with open_input(task.inputs[0]) as inp:
        vin = picture_stream(inp, "animate")
        total = duration(inp)
        start, span = op.interval.start, op.interval.duration
        win = window_of(start, start + span if span else None, total, f"{WHERE}.TimeInterval.Start")
        degrees = upright(inp, vin)
        picker = Picker(op.video, vin)
        with av.open(path, "w", format=op.ext, container_options={"loop": "0"}) as out:
            writer = Writer(out, op.format, op.video, vin, picker.rate, degrees)
            if op.marks:
                writer.decorator = watermark.decorator(op.marks, task.objects, writer.size,
                                                       fit(vin, None, None, degrees))
            seek(inp, vin, win.start)
            _pump(inp, vin, win, picker, writer, Ticker(progress, win.length(total)))
    progress(100.0)
    return Result((OutputFile(name),), op.ext, probe(path))


def _pump(inp: Any, vin: av.VideoStream, win: Window, picker: Picker, writer: Writer,
          ticker: Ticker) -> None:
    zero = origin(inp) + win.start
    for frame in decoded(inp, vin):
        at = frame.time - zero if frame.time is not None else picker.guess()
        if at < -picker.tolerance:
            continue
        if win.end is not None and at + win.start >= win.end - 1e-6:
            break
        slot = picker.slot(max(at, 0.0))
        if slot is not None:
            writer.add(frame, slot, max(at, 0.0))  # type: ignore[arg-type]
        ticker.at(at)
    if not writer.count:
        raise JobFailed(Failure.INVALID_INPUT, "No frame could be decoded in the requested range")
    writer.close()


class Picker:
    """Chooses frames (AnimateFramesPerSecond > AnimateOnlyKeepKeyFrame >
    AnimateTimeIntervalOfFrame) and gives each kept frame its playback slot at `rate`."""

    def __init__(self, video: Video, vin: av.VideoStream) -> None:
        # A damaged header's rate may be so low (1/5000 fps) that limiting it leaves 0.
        source = Fraction(vin.average_rate or vin.guessed_rate or 25).limit_denominator(1001) or Fraction(25)
        fps = video.fps
        self.rate = Fraction(min(fps, 60.0)).limit_denominator(1001) if fps else min(source, Fraction(50))
        self.tolerance = float(1 / source) / 2
        per_second = video.frames_per_second
        self.keyframes = video.keyframes
        if self.keyframes:
            vin.codec_context.skip_frame = "NONKEY"  # the decoder hands out key frames only
        every = video.frame_interval
        # Selecting modes play the chosen frames back to back; otherwise keep real time at `rate`.
        self.sequential = bool(per_second or self.keyframes or every)
        step = 1 / per_second if per_second else None if self.keyframes else every
        self.grid = step if self.sequential else 1 / float(self.rate)
        self.next = 0.0
        self.kept = 0
        self._last = -self.tolerance

    def guess(self) -> float:
        """A time for a frame without one: one source frame after the last."""
        self._last += 2 * self.tolerance
        return self._last

    def slot(self, at: float) -> int | None:
        """The playback index of a frame `at` seconds into the window, None to drop it."""
        self._last = at
        if self.grid is not None:
            if self.kept and at < self.next - self.tolerance:
                return None
            # The grid starts at the first kept frame, so Start need not fall on a frame.
            self.next = at + self.grid if not self.kept else self.next + self.grid
            while self.next <= at + self.tolerance:
                self.next += self.grid
        self.kept += 1
        return self.kept - 1 if self.sequential else int(round(at * float(self.rate)))


class Writer:
    """Scales kept frames and encodes them as GIF (through a palette) or animated WebP."""

    def __init__(self, out: OutputContainer, fmt: str, video: Video, vin: av.VideoStream,
                 rate: Fraction, degrees: int) -> None:
        self.out, self.fmt, self.vin, self.degrees = out, fmt, vin, degrees
        self.size = fit(vin, video.width, video.height, degrees)
        codec = "libwebp_anim" if fmt == "webp" else "gif"
        options = {"quality": f"{video.quality:g}"} if fmt == "webp" else {}
        self.stream = cast(av.VideoStream, out.add_stream(codec, rate=rate, options=options))
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p" if fmt == "webp" else "pal8"
        self.time_base = 1 / rate
        self.stream.codec_context.time_base = self.time_base
        self.chain: Chain | None = None
        self.decorator: watermark.Decorator | None = None
        self.count = 0
        self._slot = -1
        self._scaler: Chain | None = None  # with watermarks: scale, draw, then the palette chain

    def add(self, frame: av.VideoFrame, slot: int, at: float) -> None:
        """Queue one frame for playback position `slot` (in 1/rate units); it plays `at` s into the clip."""
        if slot <= self._slot:
            return  # two source frames landed on one playback slot
        self._slot = slot
        frame.pts, frame.time_base = slot, self.time_base
        self.count += 1
        scale = [*turn(self.degrees), ("scale", f"{self.size[0]}:{self.size[1]}:flags=lanczos"), ("setsar", "1")]
        if self.decorator is None:
            self._palette(frame, scale)
            return
        # Watermarks are drawn on the scaled frame, before the GIF palette is computed from it.
        if self._scaler is None:
            self._scaler = Chain(frame, self.time_base, self.vin.sample_aspect_ratio, scale)
        for scaled in self._scaler.push(frame):
            self._palette(self.decorator.paint(scaled, at), [])

    def _palette(self, frame: av.VideoFrame | None, filters: Filters) -> None:
        if self.chain is None:
            assert frame is not None
            sar = self.vin.sample_aspect_ratio if filters else Fraction(1, 1)  # drawn frames are square-pixel
            palette = _PALETTES.get(self.fmt)
            self.chain = (PaletteChain(frame, self.time_base, sar, filters, palette) if palette
                          else Chain(frame, self.time_base, sar, filters))
        self._encode(self.chain.push(frame))

    def close(self) -> None:
        """Flush the filters (a GIF palette is only known now) and the encoder."""
        if self._scaler is not None and self.decorator is not None:
            for scaled in self._scaler.push(None):
                self._palette(self.decorator.paint(scaled, scaled.time or 0.0), [])
        if self.chain is not None:
            self._encode(self.chain.push(None))
        self.out.mux(self.stream.encode(None))

    def _encode(self, frames: list[av.VideoFrame]) -> None:
        for frame in frames:
            self.out.mux(self.stream.encode(frame))


class PaletteChain(Chain):
    """Scale, then palettegen over the whole clip and paletteuse on every frame (one pass)."""

    def __init__(self, first: av.VideoFrame, time_base: Fraction, sar: Fraction | None,
                 filters: Filters, palette: tuple[str, str]) -> None:
        self.palette = palette
        super().__init__(first, time_base, sar, filters)

    def wire(self, source: FilterContext, filters: Filters) -> FilterContext:
        """Append split -> palettegen -> paletteuse behind the scaling filters."""
        scaled = super().wire(source, filters)
        split = self.graph.add("split", "2")
        generate = self.graph.add("palettegen", self.palette[0])
        use = self.graph.add("paletteuse", self.palette[1])
        scaled.link_to(split)
        split.link_to(use, 0, 0)
        split.link_to(generate, 1, 0)
        generate.link_to(use, 0, 1)
        return use
