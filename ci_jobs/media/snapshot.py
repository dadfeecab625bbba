"""The Snapshot Tag: still images at chosen times, optionally tiled into jpg sprite sheets.

IsCheckBlack skips black frames: the shots begin at the first frame at or after Start that is not
black, and the later ones keep their spacing from there (Interval: that time + n x TimeInterval;
Average: spread over the rest; KeyFrame: the key frames from there). A frame is black when at
least BlackLevel % (default 98) of its pixels have a luma (the decoded Y plane, 0-255; video-range
black is 16) under PixelBlackThreshold (default 32): FFmpeg's blackframe defaults. CI documents the
check for Start=0 only; ci-jobs applies it from any Start. A video black throughout is shot as if
the flag were off. Later shots that fall on black frames are kept: only the start moves.

CIParam's imageMogr2/format decides each shot's format (the Object key is used as written; ${ext}
follows the format), imageMogr2/quality (1-100) sets the jpg quantiser (linearly, 100 -> FFmpeg's
mjpeg qscale 2, 1 -> 31) or the webp quality; the Tag refuses any other operation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from av.container import InputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..mediarules import IMAGE_EXTS
from ..tags.snapshot import Black, SnapshotOp, Sprite
from . import OutputFile, Progress, Result, Task, watermark, webvtt
from .common import Ticker, check_start, decoded, duration, fit, open_input, origin, picture_stream, seek, upright
from .mediainfo import probe

WHERE = "Request.Operation.Snapshot"
_PIX_FMTS = {"mjpeg": "yuvj420p", "png": "rgb24", "libwebp": "yuv420p"}
_MAX_SHEET = 4096  # default cells shrink so a sheet stays within this many pixels a side
_YUV8 = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray")  # Y plane first


def run(task: Task, progress: Progress) -> Result:
    """Take the shots the typed Snapshot operation (`task.op`) describes from `task.inputs[0]`."""
    op: SnapshotOp = task.op
    progress(0.0)
    with open_input(task.inputs[0]) as inp:
        vin = picture_stream(inp, "take snapshots from")
        degrees = upright(inp, vin)
        size = fit(vin, op.width, op.height, degrees)
        sprites = Sprites(op.sprite, size, task.outdir) if op.sprite is not None else None
        shots = Shots(op.ext, size, task.outdir, op.image.quality) if op.shots else None
        if shots is not None:  # Watermark and RemoveWatermark apply to the shots, not the sprites
            shots.decorator = watermark.decorator(op.marks, task.objects, size, fit(vin, None, None, degrees))
        count = op.count
        ticker = Ticker(progress, 1.0)
        taken = 0
        zero = origin(inp)
        for taken, frame in enumerate(_frames(inp, vin, op, task.inputs[0]), 1):
            picture = _turned(frame, degrees)
            for sink in (shots, sprites):
                if sink is not None:
                    sink.add(picture, (frame.time or zero) - zero)
            ticker.fraction(taken / count)
        if not taken:
            raise JobFailed(Failure.INVALID_INPUT, "No frame could be decoded at the requested times")
        total = duration(inp)
    files = tuple(shots.files if shots else []) + tuple(sprites.finish() if sprites else [])
    data = None
    if sprites is not None and op.output.webvtt_object:
        files += (webvtt.write(task, sprites.cues, total, op.output),)
        data = {"SpriteTiles": len(sprites.cues)}
    progress(100.0)
    return Result(files, op.ext, data=data)


def _frames(inp: InputContainer, vin: av.VideoStream, op: SnapshotOp, path: str) -> Iterator[av.VideoFrame]:
    """The frames to shoot, by Mode, at most Count."""
    mode, start, count = op.mode, op.start, op.count
    total = duration(inp) or float(probe(path)["Format"]["Duration"]) or None
    check_start(start, total, f"{WHERE}.Start")
    if op.black is not None:
        start = _after_black(inp, vin, op.black, start)
    if mode == "keyframe":
        vin.codec_context.skip_frame = "NONKEY"  # the decoder hands out key frames only
        return _consecutive(inp, vin, start, count)
    step = op.interval
    if mode == "average":
        step = ((total or start) - start) / count
    if not step:
        return _consecutive(inp, vin, start, count)
    if total is not None and start + (count - 1) * step >= total and op.check_count:
        step = (total - start) / count  # IsCheckCount: Interval falls back to Average to reach Count
    targets = [start + i * step for i in range(count)]
    return _at_times(inp, vin, [t for t in targets if total is None or t < total])


def _consecutive(inp: InputContainer, vin: av.VideoStream, start: float,
                 count: int) -> Iterator[av.VideoFrame]:
    seek(inp, vin, start)
    zero, taken = origin(inp), 0
    tolerance = _half_frame(vin)
    for frame in decoded(inp, vin):
        if frame.time is None or frame.time - zero >= start - tolerance:
            yield frame  # type: ignore[misc]
            taken += 1
            if taken >= count:
                return


def _at_times(inp: InputContainer, vin: av.VideoStream,
              targets: list[float]) -> Iterator[av.VideoFrame]:
    """The first frame at (or within half a frame before) each target time.

    Far targets are reached by seeking to the key frame before them; near ones by decoding on,
    which is cheaper than seeking back to a key frame already decoded past.
    """
    zero, tolerance = origin(inp), _half_frame(vin)
    frames: Iterator[Any] | None = None
    current: av.VideoFrame | None = None
    gop, last_key = 2.0, None
    for target in targets:
        now = current.time - zero if current is not None and current.time is not None else 0.0
        if frames is None or target - now > max(3.0, gop):
            seek(inp, vin, target)
            frames, current, last_key = decoded(inp, vin), None, None
        while current is None or (current.time is not None and current.time - zero < target - tolerance):
            current = next(frames, None)
            if current is None:
                return
            if current.key_frame and current.time is not None:
                gop = max(gop, current.time - last_key) if last_key is not None else gop
                last_key = current.time
        yield current


def _after_black(inp: InputContainer, vin: av.VideoStream, black: Black, start: float) -> float:
    """The time of the first frame at or after `start` that is not black; `start` when all are."""
    level, threshold = black.level, black.threshold
    zero, found = origin(inp), start
    for frame in _consecutive(inp, vin, start, sys.maxsize):
        if frame.time is None:
            break  # a raw stream: no time to start from
        if float(np.mean(_luma(frame) < threshold)) < level:
            found = max(start, frame.time - zero)
            break
    try:
        inp.seek(0)  # the shots are taken by seeking again; start over from a known place
    except av.FFmpegError:
        pass
    return found


def _luma(frame: av.VideoFrame) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The frame's 8-bit luma plane, as decoded (converted to yuv420p first when it has none)."""
    if frame.format.name not in _YUV8:
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, :plane.width]


def _turned(frame: av.VideoFrame, degrees: int) -> av.VideoFrame:
    """The frame stood upright (clockwise `degrees`), as RGB when it had to turn."""
    if not degrees:
        return frame
    pixels: np.ndarray[Any, np.dtype[np.uint8]] = np.rot90(frame.to_ndarray(format="rgb24"), k=-degrees // 90)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")


def _half_frame(vin: av.VideoStream) -> float:
    rate = vin.average_rate or vin.guessed_rate or Fraction(25)
    return float(1 / rate) / 2


def encode_image(frame: av.VideoFrame, codec: str, path: str, quality: int | None = None) -> None:
    """Encode one frame as a still image file (jpg via mjpeg, png, webp), at `quality` (1-100) if given."""
    cc = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    cc.width, cc.height, cc.pix_fmt = frame.width, frame.height, _PIX_FMTS[codec]
    cc.time_base = Fraction(1, 25)
    if codec == "mjpeg":
        cc.qscale = True  # a fixed quantiser (~ JPEG quality 90 by default), not the default bitrate target
        cc.qmin = cc.qmax = 3 if quality is None else round(2 + (100 - quality) * 29 / 99)
    elif codec == "libwebp" and quality is not None:
        cc.options = {"quality": str(quality)}
    image = frame.reformat(format=_PIX_FMTS[codec])
    with open(path, "wb") as fh:
        for packet in (*cc.encode(image), *cc.encode(None)):
            fh.write(bytes(packet))


class Shots:
    """Writes each shot as its own image file, `snapshot-<n>.<ext>`."""

    def __init__(self, ext: str, size: tuple[int, int], outdir: str, quality: int | None = None) -> None:
        self.ext, self.size, self.outdir, self.quality = ext, size, outdir, quality
        self.codec = IMAGE_EXTS[ext]
        self.files: list[OutputFile] = []
        self.decorator: watermark.Decorator | None = None

    def add(self, frame: av.VideoFrame, _at: float = 0.0) -> None:
        """Scale, mark and write one shot."""
        name = f"snapshot-{len(self.files)}.{self.ext}"
        image = frame.reformat(width=self.size[0], height=self.size[1], format="rgb24")
        if self.decorator:
            image = self.decorator.paint(image, frame.time or 0.0)
        encode_image(image, self.codec, os.path.join(self.outdir, name), self.quality)
        self.files.append(OutputFile(name))


class Sprites:
    """Tiles shots into Columns x Lines jpg sheets with Margin, Padding and a background Color."""

    def __init__(self, cfg: Sprite, shot: tuple[int, int], outdir: str) -> None:
        self.columns, self.lines = cfg.columns, cfg.lines
        self.padding, self.margin = cfg.padding, cfg.margin
        self.color = np.array(cfg.color, dtype=np.uint8)
        self.method = cfg.method
        self.cell = self._cell_size(cfg, shot)
        self.outdir = outdir
        self.files: list[OutputFile] = []
        self.sheet: np.ndarray | None = None
        self.used = 0
        self.cues: list[webvtt.Cue] = []  # each tile's time and place, for a WebVTT

    def _cell_size(self, cfg: Sprite, shot: tuple[int, int]) -> tuple[int, int]:
        width, height = cfg.cell_width, cfg.cell_height
        if width or height:
            return (int(width or shot[0] * height / shot[1]),
                    int(height or shot[1] * width / shot[0]))
        shrink = min(1.0, _MAX_SHEET / (shot[0] * self.columns), _MAX_SHEET / (shot[1] * self.lines))
        return max(8, int(shot[0] * shrink)), max(8, int(shot[1] * shrink))

    def add(self, frame: av.VideoFrame, at: float = 0.0) -> None:
        """Place one shot (taken `at` seconds in) in the next free cell, starting a new sheet when this one is full."""
        if self.sheet is None:
            self.sheet = self._blank()
        cw, ch = self.cell
        tile = self._tile(frame)
        row, col = divmod(self.used, self.columns)
        x = self.margin + col * (cw + self.padding) + (cw - tile.shape[1]) // 2
        y = self.margin + row * (ch + self.padding) + (ch - tile.shape[0]) // 2
        self.sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        self.cues.append(webvtt.Cue(at, len(self.files), x, y, tile.shape[1], tile.shape[0]))
        self.used += 1
        if self.used == self.columns * self.lines:
            self._write()

    def _tile(self, frame: av.VideoFrame) -> np.ndarray:
        cw, ch = self.cell
        if self.method == "directscale":
            width, height = cw, ch
        else:  # MaxWHScale / MaxWHScaleAndPad: fit inside the cell, keep the aspect ratio
            scale = min(cw / frame.width, ch / frame.height)
            width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
        return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()

    def _blank(self) -> np.ndarray:
        cw, ch = self.cell
        width = 2 * self.margin + self.columns * cw + (self.columns - 1) * self.padding
        height = 2 * self.margin + self.lines * ch + (self.lines - 1) * self.padding
        return np.broadcast_to(self.color, (height, width, 3)).copy()

    def _write(self) -> None:
        assert self.sheet is not None
        name = f"sprite-{len(self.files)}.jpg"
        frame = av.VideoFrame.from_ndarray(self.sheet, format="rgb24")
        encode_image(frame, "mjpeg", os.path.join(self.outdir, name))
        self.files.append(OutputFile(name, "sprite"))
        self.sheet, self.used = None, 0

    def finish(self) -> list[OutputFile]:
        """Write the last, partly filled sheet; return every sheet written."""
        if self.used:
            self._write()
        return self.files
