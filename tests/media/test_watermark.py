"""Watermark and RemoveWatermark: marks drawn where Pos/LocMode say, when Start/EndTime say, boxes erased."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from ci_jobs.media.fonts import draw_text, font_file

from .conftest import Outcome

Process = Callable[..., Outcome]
Clip = Callable[..., str]
W, H = 320, 240
LOGO = "marks/logo.png"


def operation(*marks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264"}},
            "Watermark": list(marks), **extra,
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.${ext}"}}


def image_mark(pos: str, loc: str = "Absolute", dx: str = "0", dy: str = "0", **image: str) -> dict[str, Any]:
    url = f"https://b-1.cos.ap-guangzhou.myqcloud.com/{LOGO}"
    return {"Type": "Image", "Pos": pos, "LocMode": loc, "Dx": dx, "Dy": dy, "Image": {"Url": url, **image}}


def frames(path: str) -> list[np.ndarray[Any, Any]]:
    with av.open(path) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def red(picture: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Mask of the logo's pure red on a grey picture."""
    return (picture[..., 0] > 170) & (picture[..., 1] < 90) & (picture[..., 2] < 90)


def bbox(mask: np.ndarray[Any, Any]) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.fixture
def grey(clip: Clip) -> str:
    """A 1 s flat grey clip: every mark shows against it."""
    return clip(pattern="color=c=0x606060", seconds=1.0, audio=False)


@pytest.fixture
def logo(tmp_path: Path) -> dict[str, str]:
    """A 40x20 solid red PNG, as Task.objects maps it."""
    path = tmp_path / "logo.png"
    Image.new("RGBA", (40, 20), (255, 0, 0, 255)).save(path)
    return {LOGO: str(path)}


def run_marks(process: Process, source: str, objects: dict[str, str], op: dict[str, Any]) -> str:
    out = process("Transcode", op, source, objects=objects)
    return out.path()


@pytest.mark.parametrize(("pos", "loc", "dx", "dy", "corner"), [
    ("TopLeft", "Absolute", "10", "20", (10, 20)),
    ("TopRight", "Absolute", "10", "20", (W - 40 - 10, 20)),
    ("BottomLeft", "Relativity", "10", "10", (32, H - 20 - 24)),
    ("BottomRight", "Relativity", "5", "5", (W - 40 - 16, H - 20 - 12)),
    ("Center", "Absolute", "99", "99", ((W - 40) // 2, (H - 20) // 2)),   # Dx and Dy both ignored
    ("Top", "Absolute", "99", "8", ((W - 40) // 2, 8)),                   # Dx ignored
    ("Right", "Absolute", "6", "99", (W - 40 - 6, (H - 20) // 2)),        # Dy ignored
])
def test_image_mark_lands_where_pos_says(process: Process, grey: str, logo: dict[str, str], pos: str, loc: str,
                                         dx: str, dy: str, corner: tuple[int, int]) -> None:
    picture = frames(run_marks(process, grey, logo, operation(image_mark(pos, loc, dx, dy))))[5]
    x0, y0, x1, y1 = bbox(red(picture))
    assert abs(x0 - corner[0]) <= 2 and abs(y0 - corner[1]) <= 2, (x0, y0)
    assert abs((x1 - x0) - 40) <= 2 and abs((y1 - y0) - 20) <= 2
    assert red(picture).sum() > 0.8 * 40 * 20
    outside = np.ones(red(picture).shape, bool)
    outside[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2] = False
    assert not red(picture)[outside].any()


@pytest.mark.parametrize(("image", "size"), [
    ({"Mode": "Proportion", "Width": "50"}, (160, 80)),              # 50% of the video width, aspect kept
    ({"Mode": "Proportion", "Height": "25"}, (120, 60)),             # 25% of the video height
    ({"Mode": "Fixed", "Width": "64", "Height": "16"}, (64, 16)),
    ({"Mode": "Fixed", "Height": "40"}, (80, 40)),
    ({"Mode": "Original", "Width": "200"}, (40, 20)),                # Original ignores sizes
])
def test_image_mark_is_scaled_as_asked(process: Process, grey: str, logo: dict[str, str],
                                       image: dict[str, str], size: tuple[int, int]) -> None:
    picture = frames(run_marks(process, grey, logo, operation(image_mark("TopLeft", **image))))[3]
    x0, y0, x1, y1 = bbox(red(picture))
    assert (x0, y0) == (0, 0)
    assert abs((x1 - x0) - size[0]) <= 2 and abs((y1 - y0) - size[1]) <= 2, (x1 - x0, y1 - y0)


def test_transparency_blends_with_the_picture(process: Process, grey: str, logo: dict[str, str]) -> None:
    picture = frames(run_marks(process, grey, logo, operation(image_mark("TopLeft", Transparency="50"))))[3]
    r, g = picture[5:15, 5:35, 0].mean(), picture[5:15, 5:35, 1].mean()
    assert 150 < r < 210 and 25 < g < 70  # half way between grey 0x60 and red


def test_text_mark_shows_only_between_start_and_end(process: Process, grey: str) -> None:
    mark = {"Type": "Text", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "10", "Dy": "10",
            "StartTime": "0.4", "EndTime": "0.8",
            "Text": {"Text": "水印 CI", "FontSize": "40", "FontColor": "0xFFFFFF"}}
    pictures = frames(run_marks(process, grey, {}, operation(mark)))
    assert len(pictures) == 25

    def bright(picture: np.ndarray[Any, Any]) -> float:
        return float((picture[10:60, 10:150].mean(axis=2) > 200).mean())

    shown = [i for i, p in enumerate(pictures) if bright(p) > 0.05]
    assert shown == list(range(10, 20))  # frames at 0.40 .. 0.76 s
    assert all((p[120:, :].mean(axis=2) < 120).all() for p in pictures)  # nowhere else


def test_text_colour_and_hash_notation(process: Process, grey: str) -> None:
    mark = {"Type": "Text", "Pos": "Center", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
            "Text": {"Text": "MMMM", "FontSize": "60", "FontColor": "#00FF00", "FontType": "arial.ttf"}}
    picture = frames(run_marks(process, grey, {}, operation(mark)))[0]
    green = (picture[..., 1] > 200) & (picture[..., 0] < 80)
    assert green.sum() > 500
    x0, y0, x1, y1 = bbox(green)
    assert abs((x0 + x1) / 2 - W / 2) < 6 and abs((y0 + y1) / 2 - H / 2) < 10


def test_cjk_text_draws_real_glyphs() -> None:
    masks = [draw_text(ch, 32, (255, 255, 255))[..., 3] for ch in "水印测试"]
    assert all((m > 0).sum() > 40 for m in masks)
    assert len({m.tobytes() for m in masks}) == 4  # four different glyphs, not four tofu boxes
    assert font_file("arial.ttf", "abc").name == "LiberationSans-Regular.ttf"
    assert font_file("arial.ttf", "水印").name == "wqy-microhei.ttc"  # Latin fonts fall back for CJK
    assert font_file("simsun.ttc", "abc").name == "wqy-microhei.ttc"


def logo_clip(path: Path, seconds: float = 1.0) -> str:
    """A smooth horizontal grey ramp with a white 40x30 'logo' at (100, 100)."""
    ramp = np.tile(np.linspace(40, 200, W).astype(np.uint8)[None, :, None], (H, 1, 3))
    ramp[100:130, 100:140] = 255
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(ramp, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def test_remove_watermark_fills_the_box_from_its_border(process: Process, tmp_path: Path) -> None:
    source = logo_clip(tmp_path / "logo.mp4")
    box = {"Dx": "96", "Dy": "96", "Width": "48", "Height": "38", "Startime": "0.2", "Endtime": "0.6"}
    op = operation(RemoveWatermark=box)
    pictures = frames(process("Transcode", op, source).path())
    expected = np.linspace(40, 200, W)[100:140]
    during, after = pictures[8], pictures[20]
    assert np.abs(during[100:130, 100:140, 0].mean(axis=0) - expected).max() < 12  # the ramp goes on
    assert after[100:130, 100:140].mean() > 240 and pictures[2][100:130, 100:140].mean() > 240
    assert np.abs(during[20:60] - after[20:60]).max() < 6  # nothing else changed


def test_missing_image_object_fails_clearly(process: Process, grey: str) -> None:
    from ci_jobs.errors import JobFailed
    with pytest.raises(JobFailed, match="Image.Url .*logo.png"):
        process("Transcode", operation(image_mark("TopLeft")), grey)


def test_snapshot_shots_carry_the_mark(process: Process, grey: str, logo: dict[str, str]) -> None:
    op = {"Snapshot": {"Mode": "Interval", "Start": "0", "Count": "1", "Width": "320"},
          "Watermark": image_mark("BottomLeft", "Absolute", "4", "6"),
          "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "s.png"}}
    out = process("Snapshot", op, grey, objects=logo)
    picture = np.asarray(Image.open(out.path()).convert("RGB")).astype(np.int16)
    x0, y0, x1, y1 = bbox(red(picture))
    assert (x0, y0, x1, y1) == (4, H - 6 - 20, 44, H - 6)


def test_animation_frames_carry_the_mark(process: Process, grey: str, logo: dict[str, str]) -> None:
    op = {"Animation": {"Container": {"Format": "gif"}, "Video": {"Codec": "gif", "Width": "320", "Fps": "5"}},
          "Watermark": image_mark("TopRight", "Absolute", "8", "4"),
          "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "a.gif"}}
    out = process("Animation", op, grey, objects=logo)
    shots = frames(out.path())
    assert len(shots) >= 3
    for picture in shots:
        x0, y0, x1, y1 = bbox(red(picture))
        assert (x0, y0, x1, y1) == (320 - 8 - 40, 4, 320 - 8, 24)
