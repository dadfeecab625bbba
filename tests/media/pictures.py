"""Clips with real texture and motion made at test time, and full-reference measures (PSNR, SSIM) for them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(w: int, h: int, seed: int = 1) -> np.ndarray:
    """A natural-looking RGB picture: blobs at several scales, edges and fine grain."""
    rng = np.random.default_rng(seed)
    image = np.zeros((h, w, 3), np.float32)
    for scale in (4, 8, 16, 32):
        coarse = rng.random((h // scale + 2, w // scale + 2, 3)).astype(np.float32)
        up = np.kron(coarse, np.ones((scale, scale, 1), np.float32))[:h, :w]
        box = np.ones(scale, np.float32) / scale
        for axis in (0, 1):
            up = np.apply_along_axis(np.convolve, axis, up, box, "same")
        image += up * (scale / 16)
    image = (image - image.min()) / (image.max() - image.min()) * 200 + 25
    yy, xx = np.mgrid[0:h, 0:w]
    image[(xx // 24 + yy // 24) % 5 == 0] *= 0.6  # hard edges
    return np.clip(image, 0, 255).astype(np.uint8)


def frames(w: int, h: int, count: int, step: float = 2.0, seed: int = 1) -> list[np.ndarray]:
    """`count` frames of a w x h window panning over a larger texture by `step` px a frame."""
    big = texture(w + int(step * count) + 8, h + 8, seed)
    return [big[4:4 + h, int(i * step):int(i * step) + w] for i in range(count)]


def write(path: Path, pictures: list[np.ndarray], fps: int = 25, crf: int = 12, audio: bool = False) -> str:
    """Encode RGB pictures as an H.264 mp4 (near lossless by default)."""
    h, w = pictures[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        a = out.add_stream("aac", rate=44100) if audio else None
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if a is not None:
            samples = int(44100 * len(pictures) / fps)
            tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 44100)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024]
                af = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                af.sample_rate = 44100
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    return str(path)


def decode(path: str, fmt: str = "rgb24") -> list[np.ndarray]:
    """Every video frame of a file as arrays."""
    with av.open(path) as c:
        return [f.to_ndarray(format=fmt) for f in c.decode(video=0)]


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB picture, float."""
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two pictures."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _gauss(x: np.ndarray) -> np.ndarray:
    k = np.exp(-0.5 * (np.arange(-5, 6) / 1.5) ** 2)
    k /= k.sum()
    x = np.apply_along_axis(lambda r: np.convolve(r, k, "valid"), 0, x)
    return np.apply_along_axis(lambda r: np.convolve(r, k, "valid"), 1, x)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al., 11x11 Gaussian window, sigma 1.5) of the lumas of two RGB pictures."""
    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _gauss(x), _gauss(y)
    sxx, syy, sxy = _gauss(x * x) - mx * mx, _gauss(y * y) - my * my, _gauss(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    return float(np.mean(num / ((mx * mx + my * my + c1) * (sxx + syy + c2))))


def resize(rgb: np.ndarray, w: int, h: int, how: str = "BICUBIC") -> np.ndarray:
    """An RGB picture scaled by swscale (`how`: BICUBIC, AREA, LANCZOS...)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(width=w, height=h, interpolation=how).to_ndarray(format="rgb24")
