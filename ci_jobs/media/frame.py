"""One still image from a local media file, fast: the work behind `?ci-process=snapshot`.

Unlike the Snapshot Tag this answers an HTTP request while the client waits, so it decodes as
little as it can: it seeks to the key frame at or before the time and decodes forward only to
the wanted frame (`exactframe`), or decodes that key frame alone (`keyframe`). A time past the
end gives the last frame. Runs in a thread: FFmpeg releases the GIL while it decodes and scales.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from av.container import InputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from .common import bad_input, decoded, fit, open_input, origin, picture_stream, seek

FORMATS = {"jpg": "mjpeg", "png": "png"}
MODES = ("exactframe", "keyframe")
ROTATES = ("auto", "off")
_PIX_FMTS = {"mjpeg": "yuvj420p", "png": "rgb24"}
_SKIP_UNTIL = 1.0  # seconds (and at least _SKIP_FRAMES frames) before the target: decode every frame
_SKIP_FRAMES = 16  # more than frame threads + B-frame reordering can hold in flight
_EPSILON = 1e-3


def grab(path: str, time: float, width: int, height: int, fmt: str, rotate: str, mode: str) -> bytes:
    """The frame of `path` at `time` seconds as jpg or png bytes.

    `width`/`height` 0 keep the source size, one of them 0 keeps the aspect ratio; `rotate`
    `auto` stands the picture upright by the video's display matrix, `off` leaves it raw;
    `mode` `exactframe` is the frame shown at `time`, `keyframe` the key frame at or before it.
    """
    try:
        with open_input(path) as inp:
            vin = picture_stream(inp, "take a snapshot from")
            frame = _key_frame(inp, vin, time) if mode == "keyframe" else _exact_frame(inp, vin, time)
            degrees = upright_degrees(frame) if rotate == "auto" else 0
            size = fit(vin, width or None, height or None, degrees)
        return encode(picture(frame, size, degrees), FORMATS[fmt])
    except av.FFmpegError as exc:
        raise bad_input(exc) from exc


def _exact_frame(inp: InputContainer, vin: av.VideoStream, time: float) -> av.VideoFrame:
    """The first frame at (or within half a frame before) `time`; the last one when past the end.

    Non-reference frames (most B frames) far before the target are not decoded at all: nothing
    refers to them, so skipping them cannot change the wanted picture.
    """
    seek(inp, vin, time)
    zero, tolerance = origin(inp), _half_frame(vin)
    margin = max(_SKIP_UNTIL, _SKIP_FRAMES * 2 * tolerance)
    vin.thread_type = "AUTO"
    vin.codec_context.skip_frame = "NONREF" if time > margin else "DEFAULT"
    last: av.VideoFrame | None = None
    for frame in decoded(inp, vin):
        if not isinstance(frame, av.VideoFrame):
            continue
        if frame.time is None or frame.time - zero >= time - tolerance:
            return frame
        last = frame
        if frame.time - zero >= time - margin:
            vin.codec_context.skip_frame = "DEFAULT"
    if last is None:
        raise JobFailed(Failure.INVALID_INPUT, "No video frame could be decoded")
    return last


def _key_frame(inp: InputContainer, vin: av.VideoStream, time: float) -> av.VideoFrame:
    """The last key frame at or before `time`, found by demuxing and decoded on its own."""
    seek(inp, vin, time)
    zero = origin(inp)
    chosen: av.Packet[Any] | None = None
    try:
        for packet in inp.demux(vin):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if not packet.is_keyframe or packet.size == 0:
                continue
            if chosen is not None and stamp is not None and vin.time_base is not None \
                    and float(stamp * vin.time_base) - zero > time + _EPSILON:
                break
            chosen = packet
    except av.FFmpegError:
        pass  # a truncated file: take the last key frame seen before the damage
    if chosen is None:
        raise JobFailed(Failure.INVALID_INPUT, "No key frame could be found in the video stream")
    codec = vin.codec_context
    try:
        frames = [*codec.decode(chosen), *codec.decode(None)]
    except av.FFmpegError as exc:
        raise JobFailed(Failure.INVALID_INPUT, f"The key frame cannot be decoded: {exc.strerror or exc}") from exc
    if not frames:
        raise JobFailed(Failure.INVALID_INPUT, "The key frame cannot be decoded")
    return frames[0]


def _half_frame(vin: av.VideoStream) -> float:
    rate = vin.average_rate or vin.guessed_rate or Fraction(25)
    return float(1 / rate) / 2


def upright_degrees(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) that stand `frame` upright, from its display matrix."""
    return int(round(-frame.rotation / 90)) % 4 * 90


def picture(frame: av.VideoFrame, size: tuple[int, int], degrees: int) -> av.VideoFrame:
    """`frame` scaled to `size` (the upright size) and turned clockwise by `degrees`."""
    width, height = size if degrees in (0, 180) else (size[1], size[0])
    if not degrees:
        return frame.reformat(width=width, height=height)
    pixels: np.ndarray[Any, Any] = frame.reformat(
        width=width, height=height, format="rgb24").to_ndarray()
    turned = np.ascontiguousarray(np.rot90(pixels, k=-degrees // 90))
    return av.VideoFrame.from_ndarray(turned, format="rgb24")


def encode(image: av.VideoFrame, codec: str) -> bytes:
    """Encode one picture as a jpg (mjpeg, JPEG quality ~90) or png file's bytes."""
    cc = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    cc.width, cc.height, cc.pix_fmt = image.width, image.height, _PIX_FMTS[codec]
    cc.time_base = Fraction(1, 25)
    if codec == "mjpeg":
        cc.qscale = True  # a fixed quantiser, not the default bitrate target
        cc.qmin = cc.qmax = 3
    else:
        cc.options = {"compression_level": "3"}  # zlib level: a quarter of the default's time, ~5% larger
    ready = image.reformat(format=_PIX_FMTS[codec])
    return b"".join(bytes(p) for p in (*cc.encode(ready), *cc.encode(None)))
