"""Transcode Video.Rotate, Crop and Pad, checked by where an asymmetric mark ends up in the decoded output."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument, JobFailed

from .conftest import Outcome

Process = Callable[..., Outcome]
W, H = 160, 120
MARK = (slice(0, 16), slice(0, 48))  # rows, columns of the white bar at the top left


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 0.4 s 160x120 clip: mid-grey, with a white 48x16 bar in the top-left corner (no audio)."""
    path = str(tmp_path_factory.mktemp("geometry") / "marked.mp4")
    image = np.full((H, W, 3), 128, np.uint8)
    image[MARK] = 255
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "12"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def transcode(**video: str) -> dict[str, Any]:
    """A Request.Operation: mp4 with the given Video elements."""
    return {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "12", **video}},
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.${ext}"}}


def picture(out: Outcome) -> np.ndarray:
    """The first decoded frame of the output, as RGB."""
    with av.open(out.path()) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)


def mark(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box (x0, y0, x1, y1) of the white pixels."""
    ys, xs = np.nonzero(pixels.mean(axis=2) > 200)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize(("degrees", "size", "box"), [
    ("0", (160, 120), (0, 0, 48, 16)),
    ("90", (120, 160), (104, 0, 120, 48)),  # clockwise: the top-left bar stands at the top right
    ("180", (160, 120), (112, 104, 160, 120)),
    ("270", (120, 160), (0, 112, 16, 160)),
])
def test_rotate_quarter_turns_are_exact_transposes(process: Process, marked: str, degrees: str,
                                                   size: tuple[int, int], box: tuple[int, ...]) -> None:
    pixels = picture(process("Transcode", transcode(Rotate=degrees), marked))
    assert (pixels.shape[1], pixels.shape[0]) == size
    assert mark(pixels) == pytest.approx(box, abs=2)


def test_rotate_by_other_angles_keeps_the_size_and_fills_black(process: Process, marked: str) -> None:
    pixels = picture(process("Transcode", transcode(Rotate="45"), marked))
    assert (pixels.shape[1], pixels.shape[0]) == (W, H)
    assert pixels[:6, :6].mean() < 20 and pixels[-6:, -6:].mean() < 20  # corners left by the turn: black
    assert pixels[55:65, 75:85].mean() == pytest.approx(128, abs=8)  # the centre stays where it was
    assert pixels.mean(axis=2).max() > 200  # the bar is still in the frame, turned


def test_rotate_then_width_keeps_the_turned_aspect(process: Process, marked: str) -> None:
    pixels = picture(process("Transcode", transcode(Rotate="90", Width="240"), marked))
    assert (pixels.shape[1], pixels.shape[0]) == (240, 320)
    assert mark(pixels) == pytest.approx((208, 0, 240, 96), abs=3)


@pytest.mark.parametrize(("crop", "size", "mean"), [
    ("48:16:0:0", (48, 16), 255.0),       # exactly the bar
    ("80:60:80:60", (80, 60), 128.0),     # the bottom-right quarter: grey only
    ("40:40", (40, 40), 128.0),           # centred
])
def test_crop_takes_the_area(process: Process, marked: str, crop: str, size: tuple[int, int], mean: float) -> None:
    pixels = picture(process("Transcode", transcode(Crop=crop), marked))
    assert (pixels.shape[1], pixels.shape[0]) == size
    assert pixels[2:-2, 2:-2].mean() == pytest.approx(mean, abs=6)


def test_crop_then_width_scales_the_area(process: Process, marked: str) -> None:
    pixels = picture(process("Transcode", transcode(Crop="80:60:0:0", Width="160"), marked))
    assert (pixels.shape[1], pixels.shape[0]) == (160, 120)
    assert mark(pixels) == pytest.approx((0, 0, 96, 32), abs=3)  # the bar, twice as large


@pytest.mark.parametrize(("pad", "offset", "colour"), [
    ("200:160:30:10:red", (30, 10), (255, 0, 0)),
    ("200:160", (20, 20), (0, 0, 0)),  # centred, black
    ("200:160:0:0:0x00FF00", (0, 0), (0, 255, 0)),
])
def test_pad_places_the_picture_on_a_canvas(process: Process, marked: str, pad: str, offset: tuple[int, int],
                                            colour: tuple[int, int, int]) -> None:
    pixels = picture(process("Transcode", transcode(Pad=pad), marked))
    assert (pixels.shape[1], pixels.shape[0]) == (200, 160)
    x, y = offset
    assert mark(pixels) == pytest.approx((x, y, x + 48, y + 16), abs=2)
    assert np.abs(pixels[-4:, -4:].mean(axis=(0, 1)) - colour).max() < 30  # the canvas colour
    assert pixels[y + 60, x + 80].mean() == pytest.approx(128, abs=8)  # the picture itself


def test_crop_rotate_scale_pad_apply_in_that_order(process: Process, marked: str) -> None:
    op = transcode(Crop="80:60:0:0", Rotate="90", Height="160", Pad="160:200:20:20:white")
    pixels = picture(process("Transcode", op, marked))
    assert (pixels.shape[1], pixels.shape[0]) == (160, 200)
    assert pixels[5, 5].mean() > 240 and pixels[-5, -5].mean() > 240  # white canvas
    # Cropped to 80x60 (the bar at its top left), turned to 60x80 (the bar at its top right), scaled
    # to 120x160, placed at 20,20: the grey picture spans x 20..140, the bar x 108..140, y 20..116.
    assert pixels[100, 30].mean() == pytest.approx(128, abs=8)
    assert pixels[60, 124].mean() > 240 and pixels[130, 124].mean() == pytest.approx(128, abs=8)


@pytest.mark.parametrize(("video", "words"), [
    ({"Crop": "100:100:100:100"}, "Video.Crop 100:100:100:100 lies outside the 160x120 picture"),
    ({"Crop": "200:50"}, "Video.Crop 200:50 lies outside"),
    ({"Pad": "100:100"}, "Video.Pad 100:100 cannot hold the 160x120 picture"),
    ({"Pad": "170:130:20:0"}, "cannot hold"),
])
def test_impossible_geometry_fails_the_job(process: Process, marked: str, video: dict[str, str], words: str) -> None:
    with pytest.raises(JobFailed, match=words) as failed:
        process("Transcode", transcode(**video), marked)
    assert failed.value.code == "InvalidArgument" and "Request.Operation.Transcode" in failed.value.message


@pytest.mark.parametrize(("video", "words"), [
    ({"Crop": "a:b"}, "Video.Crop a:b must be w:h or w:h:x:y"),
    ({"Crop": "10:10:5"}, "Video.Crop 10:10:5 must be"),
    ({"Crop": "0:10"}, "must be w:h"),
    ({"Crop": "iw/2:ih/2"}, "in whole pixels"),
    ({"Pad": "200"}, "Video.Pad 200 must be w:h, w:h:x:y or w:h:x:y:color"),
    ({"Pad": "200:160:0:0:notacolour"}, "FFmpeg colour"),
    ({"Pad": "201:160"}, "w and h must be even"),
    ({"Pad": "8000:160"}, "within [2, 4096]"),
    ({"Rotate": "360"}, "Video.Rotate 360 is out of range [0, 360)"),
])
def test_malformed_geometry_is_refused_at_submit(video: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        tags.check_operation("Transcode", transcode(**video))
    assert words in refused.value.message and "Request.Operation.Transcode.Video." in refused.value.message


def test_concat_refuses_geometry_unless_it_copies(tmp_path: Path) -> None:
    base = {"ConcatFragment": [{"Url": "a.mp4"}], "Container": {"Format": "mp4"}}
    with pytest.raises(InvalidArgument, match="Video.Rotate is not supported for Concat yet"):
        tags.check_operation("Concat", {"ConcatTemplate": {**base, "Video": {"Rotate": "90"}}})
    tags.check_operation("Concat", {"ConcatTemplate": {**base, "Video": {"Crop": "8:8"}, "DirectConcat": "true"}})
