"""Snapshot IsCheckBlack (BlackLevel, PixelBlackThreshold) and CIParam (imageMogr2 format, quality), by decoding."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument

from .conftest import Outcome

Process = Callable[..., Outcome]
W, H = 160, 120
# Mean RGB level of each half second of the `staged` clip.
BLACK, HALF_BLACK, DARK, WHITE = 0.0, 0.4 * 255, 60.0, 255.0


def _stage(index: int) -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    if 13 <= index < 25:
        image[int(H * 0.6):] = 255  # 60 % of the pixels black, 40 % white
    elif 25 <= index < 38:
        image[:] = 60  # dark grey: luma ~67
    elif index >= 38:
        image[:] = 255
    return image


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> str:
    """2 s at 25 fps: black, then 60 % black, then dark grey, then white, about half a second each."""
    return _encode(tmp_path_factory.mktemp("black") / "staged.mp4", [_stage(i) for i in range(50)])


def _encode(path: Path, images: list[np.ndarray]) -> str:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "10", "g": "10"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def snapshot(obj: str = "shots/${Number}.jpg", **params: str) -> dict[str, Any]:
    """A Request.Operation with an inline Snapshot (Count 1 unless given)."""
    return {"Snapshot": {"Count": "1", **params}, "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": obj}}


def levels(out: Outcome) -> list[float]:
    """Mean RGB level of each shot, decoded."""
    means = []
    for f in out.result.files:
        with av.open(str(out.outdir / f.name)) as container:
            means.append(float(next(container.decode(video=0)).to_ndarray(format="rgb24").mean()))
    return means


@pytest.mark.parametrize(("params", "want"), [
    ({}, BLACK),                                                         # no check: the black first frame
    ({"IsCheckBlack": "true"}, HALF_BLACK),                              # 98 % black pixels make a black frame
    ({"IsCheckBlack": "true", "BlackLevel": "50"}, DARK),                # 60 % black is black now
    ({"IsCheckBlack": "true", "BlackLevel": "50", "PixelBlackThreshold": "100"}, WHITE),  # dark grey too
    ({"IsCheckBlack": "true", "PixelBlackThreshold": "0"}, BLACK),       # no pixel is under 0: nothing is black
    ({"IsCheckBlack": "false", "BlackLevel": "50"}, None),               # refused: BlackLevel needs the check
])
def test_black_frames_are_skipped_by_level_and_threshold(process: Process, staged: str, params: dict[str, str],
                                                         want: float | None) -> None:
    if want is None:
        with pytest.raises(InvalidArgument, match="Snapshot.BlackLevel needs IsCheckBlack true"):
            tags.check_operation("Snapshot", snapshot(**params))
        return
    assert levels(process("Snapshot", snapshot(**params), staged)) == pytest.approx([want], abs=8)


def test_later_shots_keep_their_spacing_from_the_first_bright_frame(process: Process, staged: str) -> None:
    out = process("Snapshot", snapshot(IsCheckBlack="true", TimeInterval="0.5", Count="3"), staged)
    assert levels(out) == pytest.approx([HALF_BLACK, DARK, WHITE], abs=8)  # 0.52 s, 1.02 s, 1.52 s


@pytest.mark.parametrize(("start", "want"), [("0.2", HALF_BLACK), ("1.2", DARK)])
def test_the_check_applies_from_any_start(process: Process, staged: str, start: str, want: float) -> None:
    out = process("Snapshot", snapshot(IsCheckBlack="true", Start=start), staged)
    assert levels(out) == pytest.approx([want], abs=8)


def test_a_video_black_throughout_is_shot_as_it_is(process: Process, tmp_path: Path) -> None:
    dark = _encode(tmp_path / "dark.mp4", [np.zeros((H, W, 3), np.uint8)] * 10)
    out = process("Snapshot", snapshot(IsCheckBlack="true", Count="2"), dark)
    assert levels(out) == pytest.approx([BLACK, BLACK], abs=8)


@pytest.mark.parametrize(("rule", "obj", "magic", "codec"), [
    ("imageMogr2/format/png", "a/${Number}.jpg", b"\x89PNG\r\n\x1a\n", "png"),
    ("imageMogr2/format/webp", "a/${Number}.${ext}", b"RIFF", "webp"),
    ("imageMogr2/format/jpg", "a/${Number}.png", b"\xff\xd8\xff", "mjpeg"),
])
def test_ciparam_format_decides_the_image_format(process: Process, staged: str, rule: str, obj: str,
                                                 magic: bytes, codec: str) -> None:
    op = snapshot(obj, CIParam=rule, Count="2", TimeInterval="1.8")
    out = process("Snapshot", op, staged)
    ext = rule.rsplit("/", 1)[1]
    assert out.result.ext == ext == tags.output_ext("Snapshot", op)
    assert [f.name for f in out.result.files] == [f"snapshot-0.{ext}", f"snapshot-1.{ext}"]
    data = Path(out.path(1)).read_bytes()
    assert data.startswith(magic) and (codec != "webp" or data[8:12] == b"WEBP")
    with av.open(out.path(1)) as container:
        assert container.streams.video[0].codec_context.codec.canonical_name == codec
        assert float(next(container.decode(video=0)).to_ndarray(format="rgb24").mean()) == pytest.approx(WHITE, abs=8)


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_ciparam_quality_trades_size_for_fidelity(process: Process, clip: Callable[..., str], fmt: str) -> None:
    source = clip(w=W, h=H, seconds=0.2, audio=False)
    sizes, errors = [], []
    for quality in ("10", "95"):
        out = process("Snapshot", snapshot(f"a.{fmt}", CIParam=f"imageMogr2/quality/{quality}"), source)
        sizes.append(Path(out.path()).stat().st_size)
        with av.open(out.path()) as shot, av.open(source) as original:
            got = next(shot.decode(video=0)).to_ndarray(format="rgb24").astype(float)
            ref = next(original.decode(video=0)).to_ndarray(format="rgb24").astype(float)
        errors.append(float(np.abs(got - ref).mean()))
    assert sizes[0] < sizes[1] * 0.6 and errors[0] > errors[1]


@pytest.mark.parametrize(("params", "words"), [
    ({"CIParam": "imageMogr2/thumbnail/!50p"}, "operation imageMogr2/thumbnail is not supported"),
    ({"CIParam": "imageMogr2/format/png/rotate/90"}, "imageMogr2/rotate is not supported"),
    ({"CIParam": "imageMogr2/format/gif"}, "imageMogr2/format/gif is not one of jpg, jpeg, png, webp"),
    ({"CIParam": "watermark/2/text/aGk"}, "applies imageMogr2 (format and quality) only"),
    ({"CIParam": "imageMogr2/format/png|watermark/2/text/aGk"}, "one rule"),
    ({"CIParam": "imageMogr2/quality/0"}, "quality/0 must be a whole number in [1, 100]"),
    ({"CIParam": "imageMogr2/format/png/quality/80"}, "applies to jpg and webp shots, not png"),
    ({"BlackLevel": "20", "IsCheckBlack": "true"}, "BlackLevel 20 is out of range [30, 100]"),
    ({"PixelBlackThreshold": "300", "IsCheckBlack": "true"}, "PixelBlackThreshold 300 is out of range [0, 255]"),
])
def test_unsupported_parameters_are_refused_at_submit(params: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        tags.check_operation("Snapshot", snapshot(**params))
    assert words in refused.value.message and "Request.Operation.Snapshot." in refused.value.message
