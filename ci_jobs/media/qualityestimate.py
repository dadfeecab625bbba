"""The QualityEstimate Tag: BRISQUE over sampled frames (general), and in vqaPlus the defects found on
frames sampled every quarter second, grouped into time ranges with a confidence.

Findings (vqaPlus): NoAudio and NoVideo (no such stream); SolidColorScreen (luma deviation under 4: one
colour, black included); LowLighting / HighLighting (mean luma under 40 / over 220); Blur (Laplacian
variance under a quarter of the clip's median, and under 100); Freeze (a ci-jobs name: the picture
unchanged, mean absolute difference under 0.5, for at least half a second); Noise (the luma's noise
sigma, estimated as median |3x3 second-difference residual| / (0.6745 x 6), over 4 levels); Mosaic
(blockiness: on a grid of 6, 8, 12 or 16-pixel blocks of the full-size luma, at the worst size, offset
and direction, three quarters of the block-edge columns have a mean absolute step over 3 times the
median column's inside the blocks, and of at least 2 levels); Jitter (a shaky camera: the global motion
between consecutive frames, by phase correlation of 128-pixel-wide thumbnails, changes by a median of
over 2 % of the width from frame to frame from a quarter second before a sample to half a second after;
a steady pan, a pan starting or stopping, or a single cut does not). A flat picture (one colour) has no
BRISQUE score: it counts 0 when every sampled frame is flat.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from ..tags.qualityestimate import QualityOp
from . import Progress, Result, Task
from .common import duration, open_input
from .quality import max_short_side, score

_GENERAL_SAMPLES = 8
_STEP = 0.25  # seconds between vqaPlus samples
_FREEZE_SECONDS = 0.5
_FLAT = 4.0  # luma deviation under which a frame is one colour (SolidColorScreen) and scores 0
_NOISE = 4.0  # luma noise sigma over which a frame is noisy (a clean picture measures under 1)
_BLOCKS = 3.0  # block-edge step over in-block step from which a frame is a mosaic
_SHAKE = 0.02  # frame-to-frame change of the global motion, as a share of the width, that is jitter
_THUMB = 128  # thumbnail width for the global motion
_BLOCK_SIZES = (6, 8, 12, 16)  # pixels: codec blocks (8, 16) and pixelation mosaics


@dataclass
class Sample:
    """What one sampled frame measured."""

    at: float
    mean: float
    std: float
    sharpness: float
    change: float
    rgb: np.ndarray
    noise: float = 0.0
    blockiness: float = 1.0
    shake: float = 0.0


def run(task: Task, progress: Progress) -> Result:
    """Score `task.inputs[0]`; the result is data (Score, and VqaPlusResult in vqaPlus)."""
    op: QualityOp = task.op
    with open_input(task.inputs[0]) as inp:
        total = duration(inp) or 0.0
        has_audio, has_video = bool(inp.streams.audio), bool(inp.streams.video)
        samples = list(_samples(inp, total, op)) if has_video else []
    progress(50.0)
    picks = samples if not op.vqa_plus else samples[:: max(1, len(samples) // _GENERAL_SAMPLES)]
    picks = picks[:_GENERAL_SAMPLES] if not op.vqa_plus else picks
    scores = [score(s.rgb) for s in picks if s.std >= _FLAT]  # BRISQUE is undefined on a flat picture
    value = float(np.mean(scores)) if scores else 0.0
    data: dict[str, object] = {"Score": f"{value:.6f}"}
    if op.vqa_plus:
        data["VqaPlusResult"] = {"NoAudio": str(not has_audio).lower(), "NoVideo": str(not has_video).lower(),
                                 "DetailedResult": findings(samples)}
    progress(100.0)
    return Result(data=data)


def _samples(inp: av.container.InputContainer, total: float, op: QualityOp) -> Iterator[Sample]:
    stream = inp.streams.video[0]
    stream.thread_type = "AUTO"
    step = _STEP if op.vqa_plus else max(total / _GENERAL_SAMPLES, 1e-3)
    next_at, previous = 0.0, None
    motion = Motion() if op.vqa_plus else None
    samples: list[Sample] = []
    for frame in inp.decode(stream):
        at = frame.time or 0.0
        if motion is not None:
            motion.add(frame, at)
        if at + 1e-6 < next_at:
            continue
        next_at = at + step
        rgb: np.ndarray = _scaled(frame).to_ndarray(format="rgb24")
        if op.rotate:
            rgb = np.ascontiguousarray(np.rot90(rgb, -op.rotate // 90))
        y = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
        change = float(np.abs(y - previous).mean()) if previous is not None and previous.shape == y.shape else 1e9
        previous = y
        sample = Sample(at, float(y.mean()), float(y.std()), float(lap.var()), change, rgb)
        if motion is None:
            yield sample
            continue
        sample.noise = noise_sigma(y)
        sample.blockiness = blockiness(frame.to_ndarray(format="gray").astype(np.float32))
        samples.append(sample)
    for sample in samples:
        sample.shake = motion.shake(sample.at) if motion is not None else 0.0
        yield sample


def noise_sigma(y: np.ndarray) -> float:
    """The luma's noise sigma (Immerkaer's 3x3 residual, robust median: edges and texture are sparse)."""
    d2 = y[:, :-2] - 2 * y[:, 1:-1] + y[:, 2:]
    r = d2[:-2] - 2 * d2[1:-1] + d2[2:]
    return float(np.median(np.abs(r)) / (0.6745 * 6)) if r.size else 0.0


def blockiness(y: np.ndarray) -> float:
    """Mean absolute step across block edges over that inside blocks, at the worst of the block sizes
    and offsets, in both directions (1 for a natural picture; large for a mosaic or block artefacts)."""
    worst = 1.0
    steps = [np.abs(np.diff(plane, axis=1)).mean(axis=0) for plane in (y, y.T)]  # per column: a picture's
    for step, block in itertools.product(steps, _BLOCK_SIZES):  # own edges are sparse
        if step.size < 4 * block:
            continue
        cols = np.arange(step.size) % block
        for offset in range(block):
            edge = float(np.percentile(step[cols == offset], 25))  # nearly every edge column steps
            inside = float(np.median(step[cols != offset]))
            if edge >= 2.0:
                worst = max(worst, float(edge / max(inside, 0.25)))
    return worst


class Motion:
    """Global motion between consecutive frames (phase correlation of thumbnails), and how much it
    changes from one frame to the next."""

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None
        self.velocity: np.ndarray | None = None
        self.times: list[float] = []
        self.changes: list[float] = []
        self.window: np.ndarray | None = None

    def add(self, frame: av.VideoFrame, at: float) -> None:
        """Measure one decoded frame (at `at` seconds) against the one before."""
        height = max(2, int(round(frame.height * _THUMB / max(1, frame.width))) // 2 * 2)
        thumb = frame.reformat(width=_THUMB, height=height, format="gray").to_ndarray().astype(np.float32)
        if thumb.std() < _FLAT:  # a flat picture has no motion to measure
            self.previous = self.velocity = None
            return
        if self.window is None or self.window.shape != thumb.shape:
            self.window = np.outer(np.hanning(thumb.shape[0]), np.hanning(thumb.shape[1])).astype(np.float32)
        spectrum = np.fft.rfft2((thumb - thumb.mean()) * self.window)
        if self.previous is not None:
            cross = spectrum * np.conj(self.previous)
            velocity = _peak(np.fft.irfft2(cross / np.maximum(np.abs(cross), 1e-6), s=thumb.shape))
            if self.velocity is not None:
                self.times.append(at)
                self.changes.append(float(np.hypot(*(velocity - self.velocity))) / _THUMB)
            self.velocity = velocity
        self.previous = spectrum

    def shake(self, at: float) -> float:
        """The median frame-to-frame change of the motion over [at - 1/4 s, at + 1/2 s) (share of the
        width): a steady pan, a pan starting or stopping and a cut each measure near 0 there."""
        times = np.asarray(self.times)
        near = np.asarray(self.changes)[(times >= at - _STEP) & (times < at + 2 * _STEP)]
        return float(np.median(near)) if near.size >= 3 else 0.0


def _peak(surface: np.ndarray) -> np.ndarray:
    """The (dy, dx) shift at the correlation peak, with parabolic sub-pixel refinement."""
    iy, ix = (int(i) for i in np.unravel_index(int(np.argmax(surface)), surface.shape))
    out = []
    for index, line in ((iy, surface[:, ix]), (ix, surface[iy, :])):
        size = line.size
        a, b, c = float(line[(index - 1) % size]), float(line[index]), float(line[(index + 1) % size])
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if abs(denom) > 1e-9 else 0.0
        shift = index + frac
        out.append(shift - size if shift > size / 2 else shift)
    return np.array(out)


def _scaled(frame: av.VideoFrame) -> av.VideoFrame:
    short = min(frame.width, frame.height)
    if short <= max_short_side():
        return frame
    k = max_short_side() / short
    return frame.reformat(width=int(frame.width * k) // 2 * 2, height=int(frame.height * k) // 2 * 2)


def findings(samples: list[Sample]) -> list[dict[str, object]]:
    """DetailedResult entries: each defect type with its time ranges and confidences."""
    if not samples:
        return []
    median = float(np.median([s.sharpness for s in samples]))
    solid = [s.std < _FLAT for s in samples]
    checks = {
        "SolidColorScreen": solid,
        "LowLighting": [s.mean < 40 and not q for s, q in zip(samples, solid, strict=True)],
        "HighLighting": [s.mean > 220 and not q for s, q in zip(samples, solid, strict=True)],
        "Blur": [s.sharpness < min(0.25 * median, 100.0) and not q for s, q in zip(samples, solid, strict=True)],
        "Freeze": [s.change < 0.5 and not q for s, q in zip(samples, solid, strict=True)],
        "Noise": [s.noise > _NOISE and not q for s, q in zip(samples, solid, strict=True)],
        "Mosaic": [s.blockiness > _BLOCKS and not q for s, q in zip(samples, solid, strict=True)],
        "Jitter": [s.shake > _SHAKE and not q for s, q in zip(samples, solid, strict=True)],
    }
    out: list[dict[str, object]] = []
    for kind, flags in checks.items():
        items = _ranges(samples, flags, _FREEZE_SECONDS if kind == "Freeze" else 0.0)
        if items:
            out.append({"Type": kind, "Items": items})
    return out


def _ranges(samples: list[Sample], flags: list[bool], at_least: float) -> list[dict[str, str]]:
    items, start = [], None
    for i, flagged in enumerate([*flags, False]):
        if flagged and start is None:
            start = i
        elif not flagged and start is not None:
            # a Freeze run starts one sample earlier: the first frozen frame equals the one before it
            first = samples[max(0, start - 1) if at_least else start].at
            last = samples[i - 1].at + _STEP if i - 1 < len(samples) else samples[-1].at
            if last - first >= at_least:
                confidence = min(100, 50 + 10 * (i - start))
                items.append({"Confidence": str(confidence), "StartTimeOffset": f"{first:.2f}",
                              "EndTimeOffset": f"{last:.2f}"})
            start = None
    return items
