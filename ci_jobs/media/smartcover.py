"""The SmartCover Tag: pick the Count frames a person would choose as covers, and write them as images.

Frames are sampled every 0.25 s (at most 240 samples, spread evenly over longer videos) and scored on a
copy whose short side is at most 240 px. A cut is where the mean absolute difference of two samples'
64x36 grey thumbnails passes 12 (of 255) and 3 times the clip's median difference (so steady motion is
no cut); the samples between cuts are a shot.

Score, 0-100 (higher is better), the product of what makes a cover bad when it is missing:
    100 x sharpness x exposure x (0.6 + 0.4 colour) x (0.6 + 0.4 contrast) x (0.5 + 0.5 quality)
- sharpness: Laplacian variance of the luma v, log10(1 + v) / log10(1 + 300), clipped to [0, 1];
- exposure: 1 - |mean luma - 118| / 118, times the share of pixels that are not clipped (luma 16-239);
- colour: Hasler & Suesstrunk's colourfulness / 80, clipped; contrast: luma deviation / 64, clipped;
- quality: QualityEstimate's score / 100 (100 - BRISQUE) on the 3 x Count best candidates, when the
  `quality` extra is installed; without it the factor is 1 and covers are ranked on the rest.
A black frame (98 % of pixels under luma 32) or a flat one (luma deviation under 6) scores 0; a frozen
one (unchanged, mean difference under 0.5, from the sample before or after it) scores a quarter: a
still shot counts as frozen too.

Choice, best first: one cover per shot among the candidates scoring at least 40 % of the best; then
more from the same shots; then the rest, so Count is met while frames exist. DeleteDuplicates skips a
candidate whose 64-bit perceptual hash (imagehash's pHash) is within 10 bits of a chosen cover, so
fewer than Count covers come back when the video has fewer distinct pictures. Cover `${Number}` 0 is
the best. The chosen frames are decoded again at full size (a second pass) and scaled to Width x Height.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import av
import numpy as np
from av.container import InputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..mediarules import IMAGE_EXTS
from ..tags.smartcover import SmartCoverOp
from . import OutputFile, Progress, Result, Task
from .common import duration, fit, open_input, picture_stream, upright
from .quality import score
from .snapshot import encode_image

_STEP, _MAX_SAMPLES, _SHORT = 0.25, 240, 240
_CUT, _CUT_RATIO, _FROZEN = 12.0, 3.0, 0.5  # mean absolute differences of 64x36 grey thumbnails
_SHARP = 300.0  # Laplacian variance that counts as fully sharp
_GOOD = 0.4  # candidates under this share of the best score are only used to reach Count
_NEAR = 10  # pHash bits within which two covers are duplicates


@dataclass(frozen=True)
class Sample:
    """One sampled frame: when, its shot, its score and what scoring and de-duplication need."""

    pts: int
    at: float
    change: float  # from the previous sample (1e9 for the first)
    score: float
    rgb: np.ndarray
    black: bool = False
    shot: int = 0


def run(task: Task, progress: Progress) -> Result:
    """Choose and write the covers of `task.inputs[0]` that the typed SmartCover op (`task.op`) asks for."""
    op: SmartCoverOp = task.op
    with open_input(task.inputs[0]) as inp:
        vin = picture_stream(inp, "choose covers from")
        degrees = upright(inp, vin)
        size = fit(vin, op.width, op.height, degrees)
        samples = shots(list(_samples(inp, vin, duration(inp) or 0.0, degrees)))
    if not samples:
        raise JobFailed(Failure.INVALID_INPUT, "No frame could be decoded to choose covers from")
    progress(50.0)
    chosen = choose(with_quality(samples, op.count), op.count, op.delete_duplicates)
    progress(70.0)
    files = _write(task, chosen, size, degrees, op.format)
    progress(100.0)
    covers = [{"Number": str(i), "Time": f"{s.at:.3f}", "Score": f"{s.score:.2f}"} for i, s in enumerate(chosen)]
    return Result(files, op.format, data={"Covers": covers})


def _samples(inp: InputContainer, vin: av.VideoStream, total: float, degrees: int) -> Iterator[Sample]:
    step = max(_STEP, total / _MAX_SAMPLES)
    next_at, previous = -1.0, None
    for frame in inp.decode(vin):
        at = float(frame.time or 0.0)
        if at + 1e-6 < next_at or frame.pts is None:
            continue
        next_at = at + step
        thumb = frame.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.float32)
        change = float(np.abs(thumb - previous).mean()) if previous is not None else 1e9
        previous = thumb
        rgb = _small(frame, degrees)
        value, black = picture_score(rgb)
        yield Sample(frame.pts, at, change, value, rgb, black)


def shots(samples: list[Sample]) -> list[Sample]:
    """The samples with their shot numbers, and frozen ones (unchanged from a neighbour) scored a quarter."""
    changes = [s.change for s in samples[1:]]
    cut = max(_CUT, _CUT_RATIO * float(np.median(changes))) if changes else _CUT
    out, shot = [], 0
    for i, s in enumerate(samples):
        shot += i > 0 and s.change > cut
        after = samples[i + 1].change if i + 1 < len(samples) else 1e9
        frozen = min(s.change, after) < _FROZEN
        out.append(replace(s, shot=shot, score=s.score / 4 if frozen else s.score))
    return out


def _small(frame: av.VideoFrame, degrees: int) -> np.ndarray:
    k = min(1.0, _SHORT / min(frame.width, frame.height))
    w, h = max(2, int(frame.width * k) // 2 * 2), max(2, int(frame.height * k) // 2 * 2)
    rgb: np.ndarray = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    return np.ascontiguousarray(np.rot90(rgb, k=-degrees // 90)) if degrees else rgb


def picture_score(rgb: np.ndarray) -> tuple[float, bool]:
    """The score of one RGB picture before quality (0-100), and whether it is black."""
    pixels = rgb.astype(np.float32)
    y = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    black = bool((y < 32).mean() >= 0.98)
    if black or y.std() < 6:
        return 0.0, black
    lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
    sharp = min(1.0, float(np.log10(1 + lap.var()) / np.log10(1 + _SHARP)))
    clipped = float(((y < 16) | (y > 239)).mean())
    exposure = max(0.0, 1 - abs(float(y.mean()) - 118) / 118) * (1 - clipped)
    rg, yb = pixels[..., 0] - pixels[..., 1], (pixels[..., 0] + pixels[..., 1]) / 2 - pixels[..., 2]
    colourful = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    colour, contrast = min(1.0, colourful / 80), min(1.0, float(y.std()) / 64)
    return 100 * sharp * exposure * (0.6 + 0.4 * colour) * (0.6 + 0.4 * contrast), False


def with_quality(samples: list[Sample], count: int) -> list[Sample]:
    """The samples with the quality factor applied to the 3 x Count best (all unchanged without BRISQUE)."""
    if importlib.util.find_spec("brisque") is None:  # the optional `quality` extra
        return samples
    best = sorted((s for s in samples if s.score > 0), key=lambda s: -s.score)[:3 * count]
    factors = {id(s): 0.5 + 0.5 * score(s.rgb) / 100 for s in best}
    rest = min(factors.values(), default=1.0)  # the unscored rank below the scored, in their order
    return [replace(s, score=s.score * factors.get(id(s), rest)) for s in samples]


def choose(samples: list[Sample], count: int, distinct: bool) -> list[Sample]:
    """Up to `count` covers, best first: one per shot among the good, then more good, then the rest."""
    ranked = sorted(samples, key=lambda s: (-s.score, s.black, s.at))
    floor = _GOOD * ranked[0].score
    good = [s for s in ranked if s.score > 0 and s.score >= floor]
    chosen: list[Sample] = []
    hashes: list[Any] = []
    for rounds, pool in ((1, good), (2, good), (3, ranked)):
        for s in pool:
            if len(chosen) == count:
                return chosen
            if any(c is s for c in chosen) or (rounds == 1 and any(c.shot == s.shot for c in chosen)):
                continue
            digest = _hash(s.rgb) if distinct else None
            if digest is not None and any(digest - h <= _NEAR for h in hashes):
                continue
            chosen.append(s)
            hashes.append(digest)
    return chosen


def _hash(rgb: np.ndarray) -> Any:
    import imagehash  # noqa: PLC0415 - loaded only when DeleteDuplicates is asked for
    from PIL import Image  # noqa: PLC0415

    return imagehash.phash(Image.fromarray(rgb))


def _write(task: Task, chosen: list[Sample], size: tuple[int, int], degrees: int, ext: str) -> tuple[OutputFile, ...]:
    wanted = {s.pts: i for i, s in enumerate(chosen)}
    names = [f"cover-{i}.{ext}" for i in range(len(chosen))]
    with open_input(task.inputs[0]) as inp:
        vin = picture_stream(inp, "choose covers from")
        for frame in inp.decode(vin):
            index = wanted.pop(frame.pts, None) if frame.pts is not None else None
            if index is not None:
                _encode(frame, degrees, size, ext, os.path.join(task.outdir, names[index]))
            if not wanted:
                break
    return tuple(OutputFile(name) for name in names)


def _encode(frame: av.VideoFrame, degrees: int, size: tuple[int, int], ext: str, path: str) -> None:
    if degrees:
        turned: np.ndarray[Any, np.dtype[np.uint8]] = np.rot90(frame.to_ndarray(format="rgb24"), k=-degrees // 90)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(turned), format="rgb24")
    encode_image(frame.reformat(width=size[0], height=size[1], format="rgb24"), IMAGE_EXTS[ext], path)
