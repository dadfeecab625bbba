"""The QualityEstimate Tag: BRISQUE over sampled frames (general), and in vqaPlus the defects found on
frames sampled every quarter second, grouped into time ranges with a confidence.

Findings (vqaPlus): NoAudio and NoVideo (no such stream); SolidColorScreen (luma deviation under 4:
one colour, black included); LowLighting / HighLighting (mean luma under 40 / over 220); Blur
(Laplacian variance under a quarter of the clip's median, and under 100); Freeze (a ci-jobs name:
the picture unchanged, mean absolute difference under 0.5, for at least half a second). A flat
picture (one colour) has no BRISQUE score: it counts 0 when every sampled frame is flat.
"""

from __future__ import annotations

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


@dataclass
class Sample:
    """What one sampled frame measured."""

    at: float
    mean: float
    std: float
    sharpness: float
    change: float
    rgb: np.ndarray


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
    for frame in inp.decode(stream):
        at = frame.time or 0.0
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
        yield Sample(at, float(y.mean()), float(y.std()), float(lap.var()), change, rgb)


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
