"""Visible overlays on output frames: Watermark (text, image), RemoveWatermark, burnt-in subtitles.

A `Layer` is an RGBA picture placed at (x, y) of the output frame, shown from `start` to `end`
seconds of output time. A `Decorator` holds one job's delogo boxes and layer sources and paints
them onto each frame in place, blending straight into the Y/U/V planes of planar YUV frames (8 or
16 bit; other formats go through RGB), so the rest of the picture never takes a colour round trip.
Any processor that has frames and their output times can use it (Transcode, Snapshot, Animation).

Conventions (CI documents none of them):
* Transparency is an opacity: 100 draws the mark solid, 1 barely visible.
* StartTime/EndTime count from the start of the output (after TimeInterval.Start).
* RemoveWatermark's box is in source pixels (upright), scaled with the picture to the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from PIL import Image

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.watermark import ImageMark, Marks, RemoveWatermark, TextMark, Watermark
from .common import check_declared, check_pixels
from .fonts import Picture, draw_text

Size = tuple[int, int]
Plane = np.ndarray[Any, np.dtype[Any]]
_ROWS = {"top": 0, "": 1, "bottom": 2}
_COLS = {"left": 0, "": 1, "right": 2}
_POS = {name.lower(): (_ROWS[r], _COLS[c]) for name, r, c in (
    ("TopLeft", "top", "left"), ("Top", "top", ""), ("TopRight", "top", "right"),
    ("Left", "", "left"), ("Center", "", ""), ("Right", "", "right"),
    ("BottomLeft", "bottom", "left"), ("Bottom", "bottom", ""), ("BottomRight", "bottom", "right"))}
# planar YUV formats: (horizontal, vertical) chroma subsampling shifts, bits per sample
_YUV = {"yuv420p": (1, 1, 8), "yuvj420p": (1, 1, 8), "yuv422p": (1, 0, 8), "yuvj422p": (1, 0, 8),
        "yuv444p": (0, 0, 8), "yuvj444p": (0, 0, 8), "yuv420p10le": (1, 1, 10), "yuv422p10le": (1, 0, 10),
        "yuv444p10le": (0, 0, 10)}


@dataclass(frozen=True, eq=False)
class Layer:
    """An RGBA picture at (x, y) of the output frame, shown during [start, end) seconds."""

    picture: Picture
    x: int
    y: int
    start: float = 0.0
    end: float = math.inf


@dataclass(frozen=True)
class Box:
    """A RemoveWatermark rectangle in output pixels, erased during [start, end) seconds."""

    x: int
    y: int
    width: int
    height: int
    start: float = 0.0
    end: float = math.inf


LayerSource = Callable[[float], Sequence[Layer]]  # the layers to show at an output time


class Decorator:
    """One job's overlays, painted in place onto output frames of one size."""

    def __init__(self, boxes: Sequence[Box] = (), sources: Sequence[LayerSource] = ()) -> None:
        self.boxes, self.sources = list(boxes), list(sources)
        self._yuv: dict[tuple[int, str, bool, bool], list[tuple[Plane, Plane]]] = {}

    def __bool__(self) -> bool:
        return bool(self.boxes or self.sources)

    def paint(self, frame: av.VideoFrame, at: float) -> av.VideoFrame:
        """Erase the boxes and draw the layers due at output time `at`; returns the frame to use."""
        boxes = [b for b in self.boxes if b.start <= at < b.end]
        layers = [la for source in self.sources for la in source(at) if la.start <= at < la.end]
        if not boxes and not layers:
            return frame
        if frame.format.name not in _YUV:
            return _through_rgb(frame, boxes, layers)
        frame.make_writable()  # the fps filter may hand out one buffer twice
        planes = _planes(frame)
        for box in boxes:
            erase(planes, frame.format.name, box)
        for layer in layers:
            self._blend(frame, planes, layer)
        return frame

    def _blend(self, frame: av.VideoFrame, planes: list[Plane], layer: Layer) -> None:
        sx, sy, bits = _YUV[frame.format.name]
        x, y = layer.x >> sx << sx, layer.y >> sy << sy  # chroma samples must line up
        full = frame.format.name.startswith("yuvj") or frame.color_range == 2
        hd = frame.colorspace == 1 or (frame.colorspace not in (5, 6) and frame.height >= 720)
        key = (id(layer), frame.format.name, full, hd)
        if key not in self._yuv:
            self._yuv[key] = _to_yuv(layer.picture, sx, sy, bits, full, hd)
        for index, (values, alpha) in enumerate(self._yuv[key]):
            shift = (sx, sy) if index else (0, 0)
            _over(planes[index], values, alpha, x >> shift[0], y >> shift[1])


def _planes(frame: av.VideoFrame) -> list[Plane]:
    """Writable (height, width) views of the frame's three planes."""
    dtype = np.uint16 if _YUV[frame.format.name][2] > 8 else np.uint8
    views = []
    for plane in frame.planes[:3]:
        size = np.dtype(dtype).itemsize
        rows = np.frombuffer(memoryview(plane), dtype).reshape(plane.height, plane.line_size // size)
        views.append(rows[:, : plane.width])
    return views


def _to_yuv(picture: Picture, sx: int, sy: int, bits: int, full: bool,
            hd: bool) -> list[tuple[Plane, Plane]]:
    """An RGBA picture as (values, alpha) per Y/U/V plane, chroma averaged over its subsampling."""
    rgb = picture[..., :3].astype(np.float32) / 255.0
    alpha = picture[..., 3].astype(np.float32) / 255.0
    kr, kb = (0.2126, 0.0722) if hd else (0.299, 0.114)
    luma = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - luma) / (2 * (1 - kb))
    cr = (rgb[..., 0] - luma) / (2 * (1 - kr))
    scale = float(1 << (bits - 8))
    y_val = (luma * 255 if full else 16 + luma * 219) * scale
    c_mul = 255 if full else 224
    out = [(y_val, alpha)]
    for chroma in (cb, cr):
        weighted = _pool((128 + chroma * c_mul) * scale * alpha, sx, sy)
        weight = _pool(alpha, sx, sy)
        out.append((weighted / np.maximum(weight, 1e-6), weight))
    return out


def _pool(values: Plane, sx: int, sy: int) -> Plane:
    """Mean over (2**sy, 2**sx) blocks, padding odd edges."""
    fy, fx = 1 << sy, 1 << sx
    h, w = values.shape
    padded = np.pad(values, ((0, -h % fy), (0, -w % fx)), mode="edge")
    pooled: Plane = padded.reshape(padded.shape[0] // fy, fy, padded.shape[1] // fx, fx).mean(axis=(1, 3))
    return pooled


def _over(plane: Plane, values: Plane, alpha: Plane, x: int, y: int) -> None:
    """Blend `values` with `alpha` onto `plane` at (x, y), clipped to the plane."""
    h, w = plane.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + values.shape[1], w), min(y + values.shape[0], h)
    if x0 >= x1 or y0 >= y1:
        return
    src = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    a = alpha[src]
    region = plane[y0:y1, x0:x1]
    mixed = region.astype(np.float32) * (1 - a) + values[src] * a
    region[...] = np.clip(np.rint(mixed), 0, np.iinfo(plane.dtype).max).astype(plane.dtype)


def erase(planes: list[Plane], fmt: str, box: Box) -> None:
    """Fill `box` on every plane from its surrounding pixels, as FFmpeg's delogo does."""
    sx, sy, _ = _YUV.get(fmt, (0, 0, 8))
    for index, plane in enumerate(planes):
        fx, fy = (sx, sy) if index else (0, 0)
        x0, y0 = box.x >> fx, box.y >> fy
        x1, y1 = (box.x + box.width + (1 << fx) - 1) >> fx, (box.y + box.height + (1 << fy) - 1) >> fy
        _interpolate(plane, x0, y0, x1, y1)


def _interpolate(plane: Plane, x0: int, y0: int, x1: int, y1: int) -> None:
    """Replace plane[y0:y1, x0:x1] by a blend of linear ramps between its four borders."""
    h, w = plane.shape
    x0, y0, x1, y1 = max(x0, 1), max(y0, 1), min(x1, w - 1), min(y1, h - 1)
    if x0 >= x1 or y0 >= y1:
        return
    p = plane.astype(np.float32)
    left, right = p[y0:y1, x0 - 1:x0], p[y0:y1, x1:x1 + 1]
    top, bottom = p[y0 - 1:y0, x0:x1], p[y1:y1 + 1, x0:x1]
    bw, bh = x1 - x0, y1 - y0
    tx = (np.arange(bw, dtype=np.float32) + 1) / (bw + 1)
    ty = ((np.arange(bh, dtype=np.float32) + 1) / (bh + 1))[:, None]
    across = left * (1 - tx) + right * tx
    down = top * (1 - ty) + bottom * ty
    # the shorter span interpolates more faithfully: weight each direction by 1/its length
    mixed = (across / bw + down / bh) / (1 / bw + 1 / bh)
    plane[y0:y1, x0:x1] = np.clip(np.rint(mixed), 0, np.iinfo(plane.dtype).max).astype(plane.dtype)


def _through_rgb(frame: av.VideoFrame, boxes: list[Box], layers: list[Layer]) -> av.VideoFrame:
    """Paint a non-YUV frame by way of an RGB copy (rare: GIF palettes, RGB inputs)."""
    rgb = frame.to_ndarray(format="rgb24")
    channels = [rgb[..., i].copy() for i in range(3)]
    for box in boxes:
        erase(channels, "rgb24", box)
    for layer in layers:
        alpha = layer.picture[..., 3].astype(np.float32) / 255.0
        for i, channel in enumerate(channels):
            _over(channel, layer.picture[..., i].astype(np.float32), alpha, layer.x, layer.y)
    painted = np.stack(channels, axis=-1).astype(np.uint8)
    out = av.VideoFrame.from_ndarray(painted, format="rgb24").reformat(format=frame.format.name)
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


# --- the job's marks -------------------------------------------------------------------------

def decorator(marks: Marks, objects: Mapping[str, str], size: Size, source: Size,
              extra: Sequence[LayerSource] = ()) -> Decorator:
    """The Watermark and RemoveWatermark overlays of a job, for output frames of `size`.

    `source` is the upright source picture size (RemoveWatermark boxes are given in it) and
    `extra` more layer sources (burnt-in subtitles).
    """
    layers = [mark(w, objects, size) for w in marks.watermarks]
    sources: list[LayerSource] = [_static(layers)] if layers else []
    return Decorator(removal(marks.remove, size, source), [*sources, *extra])


def _static(layers: list[Layer]) -> LayerSource:
    return lambda at: layers


def removal(remove: RemoveWatermark | None, size: Size, source: Size) -> list[Box]:
    """RemoveWatermark as an output-pixel box."""
    if remove is None:
        return []
    fx, fy = size[0] / max(source[0], 1), size[1] / max(source[1], 1)
    return [Box(int(remove.x * fx), int(remove.y * fy), max(1, math.ceil(remove.width * fx)),
                max(1, math.ceil(remove.height * fy)), remove.start, remove.end)]


def mark(params: Watermark, objects: Mapping[str, str], size: Size) -> Layer:
    """One Watermark element as a Layer on frames of `size`."""
    picture = _image(params.picture, objects, size, params.where) if isinstance(params.picture, ImageMark) \
        else _text(params.picture)
    x, y = place(params, size, (picture.shape[1], picture.shape[0]))
    return Layer(picture, x, y, params.start, params.end)


def place(params: Watermark, size: Size, mark_size: Size) -> tuple[int, int]:
    """Top-left corner of a mark by Pos, LocMode and Dx/Dy (Dx unused on a centred column, Dy on a centred row)."""
    (width, height), (w, h) = size, mark_size
    row, col = _POS.get(params.pos, (0, 2))
    dx, dy = params.dx, params.dy
    if params.relative:
        dx, dy = dx * width / 100, dy * height / 100
    x = (dx, (width - w) / 2, width - w - dx)[col]
    y = (dy, (height - h) / 2, height - h - dy)[row]
    return int(round(x)), int(round(y))


def _text(params: TextMark) -> Picture:
    return draw_text(params.text, params.font_size, params.color, font_type=params.font_type,
                     opacity=params.opacity)


def _image(params: ImageMark, objects: Mapping[str, str], size: Size, where: str) -> Picture:
    url = params.url
    path = objects.get(params.key)
    if path is None:
        raise JobFailed(Failure.INPUT_NOT_FOUND, f"{where}.Image.Url {url} was not fetched")
    check_declared(path, f"{where}.Image.Url {url}")
    try:
        with Image.open(path) as opened:  # reads the header only: formats headers.py does not know
            check_pixels(*opened.size, f"{where}.Image.Url {url}")
            image = opened.convert("RGBA")
    except Image.DecompressionBombError as exc:  # Pillow's own, far larger limit, checked on open
        raise JobFailed(Failure.INVALID_INPUT, f"{where}.Image.Url {url} is too large: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise JobFailed(Failure.INVALID_INPUT, f"{where}.Image.Url {url} is not an image: {exc}") from exc
    target = _image_size(params, size, image.size)
    if target != image.size:
        image = image.resize(target, Image.Resampling.LANCZOS)
    picture: Picture = np.array(image, dtype=np.uint8)
    if params.opacity < 1.0:
        picture[..., 3] = (picture[..., 3].astype(np.float32) * params.opacity).astype(np.uint8)
    return picture


def _image_size(params: ImageMark, size: Size, natural: Size) -> Size:
    """Mode Original keeps the image size; Proportion: % of the video; Fixed: px; one side keeps the aspect."""
    width, height = params.width, params.height
    if params.mode == "original" or not (width or height):
        return natural
    if params.mode == "proportion":
        width = width * size[0] / 100 if width else None
        height = height * size[1] / 100 if height else None
    if width and not height:
        height = width * natural[1] / natural[0]
    elif height and not width:
        width = height * natural[0] / natural[1]
    return max(1, int(round(width or 1))), max(1, int(round(height or 1)))
