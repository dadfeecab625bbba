"""QualityEstimate: the score ranks distortions, vqaPlus finds injected defects at the right time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from . import pictures as P
from .conftest import Outcome

pytest.importorskip("brisque")
Run = Callable[..., Outcome]


def blur(f: np.ndarray, level: int) -> np.ndarray:
    return np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(level * 0.4))) if level else f


def noise(f: np.ndarray, level: int) -> np.ndarray:
    rng = np.random.default_rng(level)
    return np.clip(f + rng.normal(0, 6 * level, f.shape), 0, 255).astype(np.uint8)


def ranks(values: list[float]) -> np.ndarray:
    return np.argsort(np.argsort(values)).astype(float)


def spearman(a: list[float], b: list[float]) -> float:
    return round(float(np.corrcoef(ranks(a), ranks(b))[0, 1]), 9)


def estimate(process: Run, path: str, **config: str) -> dict[str, Any]:
    data = process("QualityEstimate", {"QualityEstimateConfig": config} if config else {}, path).result.data
    assert data is not None
    return data


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("distortion", ["blur", "noise", "bitrate"])
def test_score_falls_with_each_distortion_level(process: Run, tmp_path: Path, seed: int, distortion: str) -> None:
    grain = np.random.default_rng(seed).normal(0, 4, (144, 192, 3))  # camera-like grain: natural pictures have it
    source = [np.clip(f + grain, 0, 255).astype(np.uint8) for f in P.frames(192, 144, 2, seed=seed)]
    scores = []
    for level in range(5):
        if distortion == "bitrate":
            path = P.write(tmp_path / f"{level}.mp4", source, crf=14 + 9 * level)
        else:
            fn = blur if distortion == "blur" else noise
            path = P.write(tmp_path / f"{level}.mp4", [fn(f, level) for f in source], crf=10)
        scores.append(float(estimate(process, path)["Score"]))
    print(distortion, seed, [round(s, 1) for s in scores])
    assert all(0 <= s <= 100 for s in scores)
    assert spearman(scores, [-level for level in range(5)]) >= 0.9, scores


def test_rotate_is_accepted_and_scores(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "s.mp4", P.frames(160, 120, 2))
    upright, turned = (float(estimate(process, path, Rotate=r)["Score"]) for r in ("0", "90"))
    assert abs(upright - turned) < 15  # BRISQUE is near rotation-invariant; both are scored


def test_vqa_plus_finds_injected_defects_at_their_time(process: Run, tmp_path: Path) -> None:
    fps = 10
    moving = P.frames(160, 120, 4 * fps, step=3)
    pictures = (moving[:fps] + [np.zeros_like(moving[0])] * fps + [moving[2 * fps]] * fps
                + [blur(f, 6) for f in moving[3 * fps:]] + moving[:fps])
    path = P.write(tmp_path / "defects.mp4", pictures, fps=fps)
    data = estimate(process, path, Mode="vqaPlus")
    result = data["VqaPlusResult"]
    assert result["NoAudio"] == "true" and result["NoVideo"] == "false"
    found = {d["Type"]: d["Items"] for d in result["DetailedResult"]}
    print(found)
    for kind, start, end in (("SolidColorScreen", 1, 2), ("Freeze", 2, 3), ("Blur", 3, 4)):
        items = found[kind]
        assert len(items) == 1, (kind, items)
        assert abs(float(items[0]["StartTimeOffset"]) - start) <= 0.5, (kind, items)
        assert abs(float(items[0]["EndTimeOffset"]) - end) <= 0.5, (kind, items)
        assert 0 < int(items[0]["Confidence"]) <= 100


def test_vqa_plus_finds_nothing_on_a_clean_clip(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "clean.mp4", P.frames(160, 120, 30, step=3), fps=10, audio=True)
    result = estimate(process, path, Mode="vqaPlus")["VqaPlusResult"]
    assert result == {"NoAudio": "false", "NoVideo": "false", "DetailedResult": []}


def test_a_black_clip_scores_zero_not_nan(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "black.mp4", [np.zeros((120, 160, 3), np.uint8)] * 3)
    assert estimate(process, path)["Score"] == "0.000000"
