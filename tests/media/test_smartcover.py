"""SmartCover: on a clip of known good and bad sections the covers come from the good ones; Count,
DeleteDuplicates, Format and sizes are honoured."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFilter

from ci_jobs.errors import InvalidArgument
from ci_jobs.tags import check_operation

from . import pictures as P
from .conftest import Outcome

Run = Callable[..., Outcome]
W, H, FPS = 192, 144, 10
# one second each; A comes back at the end (the same pictures), B is pale, C is grey
SECTIONS = ("black", "A", "blur", "flat", "B", "frozen", "bright", "C", "A")
GOOD = {"A", "B", "C"}


def section(kind: str) -> list[np.ndarray]:
    moving = {"A": 1, "blur": 2, "B": 3, "bright": 5, "C": 6}
    frames = P.frames(W, H, FPS, step=1, seed=moving.get(kind, 4))
    if kind == "black":
        return [np.zeros((H, W, 3), np.uint8)] * FPS
    if kind == "flat":
        return [np.full((H, W, 3), 128, np.uint8)] * FPS
    if kind == "frozen":
        return [frames[0]] * FPS
    if kind == "blur":
        return [np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(4))) for f in frames]
    if kind == "bright":
        return [np.clip(f.astype(int) + 140, 0, 255).astype(np.uint8) for f in frames]
    if kind in ("B", "C"):
        grey = np.repeat(np.asarray([f.mean(axis=2, keepdims=True) for f in frames]), 3, axis=3)
        mixed = grey if kind == "C" else (np.asarray(frames, np.float32) + grey) / 2
        return list(mixed.astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def sections_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    pictures = [p for kind in SECTIONS for p in section(kind)]
    return P.write(tmp_path_factory.mktemp("cover") / "sections.mp4", pictures, fps=FPS)


def covers(process: Run, path: str, key: str = "c/${Number}.jpg", **params: str) -> tuple[Outcome, list[str]]:
    done = process("SmartCover", {"SmartCover": params, "Output": {"Object": key}}, path)
    assert done.result.data is not None
    kinds = [SECTIONS[int(float(c["Time"]))] for c in done.result.data["Covers"]]
    return done, kinds


def near(a: str, b: str) -> int:
    import imagehash

    return int(imagehash.phash(Image.open(a)) - imagehash.phash(Image.open(b)))


def test_covers_come_from_the_good_sections_and_duplicates_go(process: Run, sections_clip: str) -> None:
    done, kinds = covers(process, sections_clip, Count="3", DeleteDuplicates="true")
    assert sorted(kinds) == ["A", "B", "C"], kinds  # best first: the colourful A
    paths = [done.path(i) for i in range(3)]
    assert all(near(a, b) > 10 for i, a in enumerate(paths) for b in paths[i + 1:])
    scores = [float(c["Score"]) for c in done.result.data["Covers"]]  # type: ignore[index]
    assert scores == sorted(scores, reverse=True) and kinds[0] == "A"


def test_duplicates_are_kept_when_not_asked_to_go(process: Run, sections_clip: str) -> None:
    done, kinds = covers(process, sections_clip, Count="3")
    assert kinds.count("A") == 2 and set(kinds) <= GOOD, kinds  # A's two shots are the two best covers
    first, second = (done.path(kinds.index("A")), done.path(len(kinds) - 1 - kinds[::-1].index("A")))
    assert near(first, second) <= 10


@pytest.mark.parametrize("count", [1, 5])
def test_count_is_honoured_from_good_pictures(process: Run, sections_clip: str, count: int) -> None:
    done, kinds = covers(process, sections_clip, Count=str(count))
    assert len(done.result.files) == count and set(kinds) <= GOOD, kinds
    for i in range(count):  # decoded: not black, not flat
        with av.open(done.path(i)) as c:
            assert next(c.decode(video=0)).to_ndarray(format="gray").std() > 20


@pytest.mark.parametrize(("fmt", "codec"), [("jpg", "mjpeg"), ("png", "png"), ("webp", "webp")])
def test_format_and_size(process: Run, sections_clip: str, fmt: str, codec: str) -> None:
    done, _ = covers(process, sections_clip, "c/${Number}." + fmt, Count="2", Format=fmt, Width="320", Height="240")
    assert done.result.ext == fmt and len(done.result.files) == 2
    with av.open(done.path(1)) as c:
        frame = next(c.decode(video=0))
        assert c.streams.video[0].codec_context.codec.name == codec and (frame.width, frame.height) == (320, 240)


def test_one_size_keeps_the_aspect(process: Run, sections_clip: str) -> None:
    done, _ = covers(process, sections_clip, "c.jpg", Count="1", Width="384")
    with av.open(done.path(0)) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height) == (384, 288)


def test_a_short_plain_clip_still_gets_its_covers(process: Run, tmp_path: Path) -> None:
    path = P.write(tmp_path / "short.mp4", P.frames(160, 120, 5))
    done, _ = covers(process, path, Count="10", DeleteDuplicates="true")
    assert 1 <= len(done.result.files) <= 2  # half a second: its samples are near-identical


@pytest.mark.parametrize(("params", "key", "words"), [
    ({"Count": "11"}, "c/${Number}.jpg", "Count"), ({"Count": "0"}, "c/${Number}.jpg", "Count"),
    ({"Format": "gif"}, "c/${Number}.gif", "Format"), ({"Width": "64"}, "c/${Number}.jpg", "Width"),
    ({"Count": "2"}, "c/cover.jpg", "${Number}"), ({"DeleteDuplicates": "yes"}, "c/${Number}.jpg", "DeleteDuplicates"),
])
def test_refused_parameters_name_the_element(params: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words.replace("$", r"\$").replace("{", r"\{")):
        check_operation("SmartCover", {"SmartCover": params, "Output": {"Object": key}})


def test_without_the_quality_extra_covers_are_still_good(process: Run, sections_clip: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "brisque" else real(name, *a))
    _, kinds = covers(process, sections_clip, Count="3", DeleteDuplicates="true")
    assert sorted(kinds) == ["A", "B", "C"], kinds
