"""QualityEstimate: the score ranks distortions, vqaPlus finds injected defects at the right time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageFilter

from ci_jobs.media.qualityestimate import _samples
from ci_jobs.tags.qualityestimate import parse

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


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_rotate_turns_the_scored_frames_clockwise(tmp_path: Path, rotate: int) -> None:
    picture = P.frames(160, 120, 1)[0]
    path = P.write(tmp_path / "s.mp4", [picture])
    op = parse({"QualityEstimateConfig": {"Rotate": str(rotate)}})
    with av.open(path) as inp:
        scored = next(iter(_samples(inp, 0.04, op))).rgb
    decoded = P.decode(path)[0]
    assert P.psnr(scored, np.rot90(decoded, -rotate // 90)) == 99.0  # clockwise, as CI's Rotate
    assert parse({"QualityEstimateConfig": {"Mode": "vqaPlus", "Rotate": "90"}}).rotate == 0  # ignored, as CI says


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


def panned(seconds: float, fps: int, shaky: tuple[float, float] = (0, 0), seed: int = 1,
           speed: float = 2.0, size: tuple[int, int] = (192, 144)) -> list[np.ndarray]:
    """A camera panning `speed` px a frame over a texture; shaking by up to 8 px in `shaky` (seconds)."""
    w, h = size
    count = int(seconds * fps)
    big = P.texture(w + int(speed * count) + 40, h + 40, seed)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        dx, dy = (rng.integers(-8, 9, 2) if shaky[0] <= i / fps < shaky[1] else (0, 0))
        x, y = 20 + int(speed * i) + int(dx), 20 + int(dy)
        out.append(big[y:y + h, x:x + w])
    return out


def mosaic(f: np.ndarray, block: int = 8) -> np.ndarray:
    h, w = f.shape[:2]
    return np.kron(P.resize(f, w // block, h // block, "AREA"), np.ones((block, block, 1), np.uint8))[:h, :w]


def test_vqa_plus_finds_noise_mosaic_and_jitter_at_their_time(process: Run, tmp_path: Path) -> None:
    fps = 25
    pictures = panned(5, fps, shaky=(3, 4))
    for i in range(fps, 2 * fps):
        pictures[i] = noise(pictures[i], 2)  # sigma 12
    for i in range(2 * fps, 3 * fps):
        pictures[i] = mosaic(pictures[i])
    path = P.write(tmp_path / "defects.mp4", pictures, fps=fps, audio=True)
    result = estimate(process, path, Mode="vqaPlus")["VqaPlusResult"]
    found = {d["Type"]: d["Items"] for d in result["DetailedResult"]}
    print(found)
    assert set(found) == {"Noise", "Mosaic", "Jitter"}, found
    for kind, start, end in (("Noise", 1, 2), ("Mosaic", 2, 3), ("Jitter", 3, 4)):
        items = found[kind]
        assert len(items) == 1, (kind, items)
        assert abs(float(items[0]["StartTimeOffset"]) - start) <= 0.5, (kind, items)
        assert abs(float(items[0]["EndTimeOffset"]) - end) <= 0.5, (kind, items)
        assert 0 < int(items[0]["Confidence"]) <= 100


def test_vqa_plus_mosaic_of_other_block_sizes_and_offsets(process: Run, tmp_path: Path) -> None:
    pictures = panned(2, 25)
    for i in range(25, 50):  # pixelated by 16 px blocks 3 px off the 8-grid, then by 6 px blocks
        pictures[i] = np.roll(mosaic(pictures[i], 16 if i < 38 else 6), 3, axis=1)
    found = {d["Type"]: d["Items"] for d in estimate(process, P.write(tmp_path / "m.mp4", pictures), Mode="vqaPlus")
             ["VqaPlusResult"]["DetailedResult"]}
    assert list(found) == ["Mosaic"] and abs(float(found["Mosaic"][0]["StartTimeOffset"]) - 1) <= 0.5, found


@pytest.mark.parametrize("clip", ["steady pan", "fast pan", "still", "grain", "cut", "small"])
def test_vqa_plus_finds_nothing_on_clean_clips(process: Run, tmp_path: Path, clip: str) -> None:
    if clip == "cut":  # a scene cut is one jump of the picture, not a shaky camera
        pictures = panned(1, 25, seed=2) + panned(1, 25, seed=3)
    elif clip == "grain":  # camera-like grain (sigma 2) is not Noise
        rng = np.random.default_rng(4)
        pictures = [np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8) for f in panned(2, 25, seed=4)]
    else:
        speed = {"steady pan": 2.0, "fast pan": 7.0, "still": 0.0, "small": 1.0}[clip]
        pictures = panned(2, 25, seed=5, speed=speed, size=(96, 72) if clip == "small" else (192, 144))
        if clip == "still":  # a still picture keeps moving a little: not frozen
            pictures = [np.clip(f.astype(int) + (i % 3) * 3, 0, 255).astype(np.uint8) for i, f in enumerate(pictures)]
    result = estimate(process, P.write(tmp_path / "clean.mp4", pictures, audio=True), Mode="vqaPlus")
    assert result["VqaPlusResult"]["DetailedResult"] == [], result


def test_vqa_plus_finds_nothing_on_a_clean_clip(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "clean.mp4", P.frames(160, 120, 30, step=3), fps=10, audio=True)
    result = estimate(process, path, Mode="vqaPlus")["VqaPlusResult"]
    assert result == {"NoAudio": "false", "NoVideo": "false", "DetailedResult": []}


def test_a_black_clip_scores_zero_not_nan(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "black.mp4", [np.zeros((120, 160, 3), np.uint8)] * 3)
    assert estimate(process, path)["Score"] == "0.000000"
