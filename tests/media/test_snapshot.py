"""Snapshot processor: modes, sizes, formats and sprite sheets, checked by decoding the images."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import JobFailed
from ci_jobs.tags.snapshot import Black, ImageRule, SnapshotOp, Sprite

from .conftest import Outcome, ramp_value

Process = Callable[..., Outcome]
Clip = Callable[..., str]


def snapshot(obj: str = "shots/${Number}.jpg", sprite: str | None = None, **params: Any) -> dict[str, Any]:
    """A Request.Operation with an inline Snapshot."""
    output = {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": obj}
    if sprite:
        output["SpriteObject"] = sprite
    return {"Snapshot": {k: v for k, v in params.items()}, "Output": output}


def image(path: str) -> tuple[str, np.ndarray]:
    """Decode an image file: (codec name, RGB pixels)."""
    with av.open(path) as container:
        codec = container.streams.video[0].codec_context.codec.canonical_name
        return codec, next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)


def levels(out: Outcome, role: str = "main") -> list[float]:
    """Mean grey level of each produced image of `role`."""
    return [image(str(out.outdir / f.name))[1].mean() for f in out.result.files if f.role == role]


@pytest.fixture
def ramp(clip: Clip) -> str:
    """A 2 s 25 fps clip whose frame i is grey level ramp_value(i); a key frame every 10 frames."""
    return clip(pattern="ramp", seconds=2.0, gop=10, audio=False)


def frames_at(*indexes: int) -> list[int]:
    """Expected grey levels of the given frame indexes."""
    return [ramp_value(i) for i in indexes]


def test_interval_shoots_at_start_plus_steps(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(Mode="Interval", Start="0.2", TimeInterval="0.4", Count="3"), ramp)
    assert [f.name for f in out.result.files] == ["snapshot-0.jpg", "snapshot-1.jpg", "snapshot-2.jpg"]
    assert out.result.ext == "jpg" and out.result.media_info is None
    assert levels(out) == pytest.approx(frames_at(5, 15, 25), abs=4)
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress)


def test_interval_without_step_takes_consecutive_frames(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(Start="1", Count="4"), ramp)
    assert levels(out) == pytest.approx(frames_at(25, 26, 27, 28), abs=4)


def test_interval_stops_at_the_end(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(TimeInterval="0.5", Count="10"), ramp)
    assert levels(out) == pytest.approx(frames_at(0, 12, 25, 37), abs=6)


def test_is_check_count_falls_back_to_average(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(TimeInterval="1", Count="4", IsCheckCount="true"), ramp)
    assert levels(out) == pytest.approx(frames_at(0, 12, 25, 37), abs=6)


@pytest.mark.parametrize(("name", "container"), [("in.mp4", None), ("in.ts", "mpegts")])
def test_far_targets_are_reached_by_seeking(process: Process, clip: Clip, name: str, container: str | None) -> None:
    long = clip(name, pattern="ramp", w=160, h=128, seconds=12.0, fps=5, gop=10, audio=False, container=container)
    out = process("Snapshot", snapshot(TimeInterval="5", Count="3"), long)
    assert levels(out) == pytest.approx(frames_at(0, 25, 50), abs=4)


def test_average_spreads_count_over_the_rest(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(Mode="Average", Count="4"), ramp)
    assert levels(out) == pytest.approx(frames_at(0, 12, 25, 37), abs=6)


def test_keyframe_mode_takes_only_key_frames(process: Process, ramp: str) -> None:
    out = process("Snapshot", snapshot(Mode="KeyFrame", Start="0.5", Count="3"), ramp)
    assert levels(out) == pytest.approx(frames_at(20, 30, 40), abs=4)


@pytest.mark.parametrize(("size", "want"), [
    ({"Width": "160"}, (160, 120)), ({"Height": "180"}, (240, 180)), ({"Width": "200", "Height": "130"}, (200, 130)),
])
def test_size(process: Process, ramp: str, size: dict[str, str], want: tuple[int, int]) -> None:
    out = process("Snapshot", snapshot(Count="1", **size), ramp)
    pixels = image(out.path())[1]
    assert (pixels.shape[1], pixels.shape[0]) == want


@pytest.mark.parametrize(("ext", "codec"), [("png", "png"), ("webp", "webp"), ("jpeg", "mjpeg")])
def test_format_follows_the_object_extension(process: Process, ramp: str, ext: str, codec: str) -> None:
    out = process("Snapshot", snapshot(f"a/${{Number}}.{ext}", Count="2"), ramp)
    assert out.result.ext == ext and out.result.files[1].name == f"snapshot-1.{ext}"
    assert image(out.path())[0] == codec


def test_sprites_tile_with_margin_padding_and_colour(process: Process, ramp: str) -> None:
    config = {"Columns": "2", "Lines": "2", "Color": "0xFF0000", "Margin": "10", "Padding": "6",
              "CellWidth": "64", "CellHeight": "48"}
    op = snapshot(sprite="s/${Number}.jpg", TimeInterval="0.3", Count="5", SnapshotOutMode="SnapshotAndSprite",
                  SpriteSnapshotConfig=config)
    out = process("Snapshot", op, ramp)
    roles = [f.role for f in out.result.files]
    assert roles == ["main"] * 5 + ["sprite"] * 2
    codec, sheet = image(str(out.outdir / "sprite-1.jpg"))
    assert codec == "mjpeg" and sheet.shape[:2] == (10 * 2 + 48 * 2 + 6, 10 * 2 + 64 * 2 + 6)
    assert np.abs(sheet[3, 3] - [255, 0, 0]).max() < 40  # margin shows the background colour
    assert np.abs(sheet[10 + 24, 10 + 32] - ramp_value(4 * 7.5)).max() < 12  # shot 5 in cell 0
    assert np.abs(sheet[10 + 24, 10 + 64 + 6 + 32] - [255, 0, 0]).max() < 40  # unused cell
    first = image(str(out.outdir / "sprite-0.jpg"))[1]
    assert first[10 + 48 + 6 + 24, 10 + 64 + 6 + 32].mean() == pytest.approx(ramp_value(3 * 7.5), abs=6)


def test_only_sprite_pads_shots_into_square_cells(process: Process, ramp: str) -> None:
    config = {"Columns": "3", "Lines": "1", "Color": "Aquamarine", "ScaleMethod": "MaxWHScaleAndPad",
              "CellWidth": "100", "CellHeight": "100"}
    op = snapshot(sprite="s.jpg", Count="3", TimeInterval="0.5", SnapshotOutMode="OnlySprite",
                  SpriteSnapshotConfig=config)
    out = process("Snapshot", op, ramp)
    assert [f.role for f in out.result.files] == ["sprite"]
    sheet = image(out.path())[1]
    assert sheet.shape[:2] == (100, 300)
    assert np.abs(sheet[3, 50] - [127, 255, 212]).max() < 40  # 4:3 shot padded inside a square cell


def test_rotated_video_is_shot_upright(process: Process, clip: Clip) -> None:
    source = clip(pattern="pillar", seconds=0.4, audio=False, rotation=-90)
    out = process("Snapshot", snapshot("a.png", Count="1", Height="160"), source)
    pixels = image(out.path())[1]
    assert pixels.shape[:2] == (160, 120)
    assert pixels[:10].mean() < 30 and pixels[80, :10].mean() > 200


def test_errors(process: Process, ramp: str, clip: Clip, tmp_path: Any) -> None:
    with pytest.raises(JobFailed, match="Start 9 is beyond the media duration") as failed:
        process("Snapshot", snapshot(Start="9", Count="1"), ramp)
    assert failed.value.code == "InvalidArgument"
    with pytest.raises(JobFailed, match=r"must contain \$\{Number\}"):
        process("Snapshot", snapshot("one.jpg", Count="2"), ramp)
    with pytest.raises(JobFailed, match="no video stream") as failed:
        process("Snapshot", snapshot(Count="1"), clip(video=False, seconds=0.5))
    assert failed.value.code == "InvalidInput"
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 5000)
    with pytest.raises(JobFailed) as failed:
        process("Snapshot", snapshot(Count="1"), str(tmp_path / "junk.mp4"))
    assert failed.value.code == "InvalidInput"


def test_the_typed_operation_resolves_defaults_and_pickles() -> None:
    op = tags.parse("Snapshot", snapshot(sprite="s.jpg", Count="3", IsCheckBlack="true", SnapshotOutMode="OnlySprite",
                                         SpriteSnapshotConfig={"Columns": "3", "Lines": "1"}))
    assert isinstance(op, SnapshotOp) and pickle.loads(pickle.dumps(op)) == op
    assert (op.mode, op.start, op.interval, op.count, op.shots, op.ext) == ("interval", 0.0, None, 3, False, "jpg")
    assert op.black == Black(0.98, 32.0) and op.image == ImageRule()
    assert op.sprite == Sprite(3, 1, color=(255, 255, 255), method="directscale")
    assert op.output.sprite_object == "s.jpg" and not op.marks
    plain = tags.parse("Snapshot", snapshot(obj="a.png", Count="1", CIParam="imageMogr2/format/webp/quality/60"))
    assert (plain.ext, plain.image, plain.sprite, plain.black) == ("webp", ImageRule("webp", 60), None, None)
