"""TSC (TransConfig.TranscodeMode=TSC): at least the plain CRF output's SSIM, in fewer bits.

SSIM is measured here with FFmpeg's own `ssim` filter (luma), not with the processor's numpy
SSIM, so the claim does not rest on the code it checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.errors import InvalidArgument
from ci_jobs.tags import check_operation as check

from .conftest import Outcome

Process = Callable[..., Outcome]
W, H, FPS = 320, 240, 25
SCENES = ("testsrc2", "mandelbrot", "gradient")


def gradient_frames() -> list[np.ndarray[Any, Any]]:
    """One second of smoothly moving colour gradients (deterministic, unlike lavfi's `gradients`)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    frames = []
    for t in range(FPS):
        phase = t / FPS * 2 * np.pi
        r = 128 + 100 * np.sin(x / 40 + phase)
        g = 128 + 100 * np.sin(y / 30 - phase * 0.7)
        b = 128 + 100 * np.sin((x + y) / 55 + phase * 1.3)
        frames.append(np.stack([r, g, b], axis=-1))
    return frames


def scene_frames(scene: str) -> list[np.ndarray[Any, Any]]:
    """The RGB frames of one 1 s scene."""
    if scene == "gradient":
        return gradient_frames()
    with av.open(f"{scene}=size={W}x{H}:rate={FPS}", format="lavfi") as source:
        out = []
        for frame in source.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24").astype(np.float32))
            if len(out) == FPS:
                return out
    return out


def camera_clip(path: Path) -> str:
    """Three 1 s scenes (test card, fractal zoom, moving gradients) with light sensor noise, near-lossless."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "6", "preset": "veryfast", "threads": "1"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        index = 0
        for scene in SCENES:
            for pixels in scene_frames(scene):
                pixels = pixels + rng.normal(0, 1.5, pixels.shape[:2])[..., None]
                picture = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24")
                picture.pts, picture.time_base = index, Fraction(1, FPS)
                index += 1
                out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return str(path)


def ssim_y(reference: str, distorted: str) -> float:
    """Mean luma SSIM from FFmpeg's ssim filter."""
    with av.open(reference) as a, av.open(distorted) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    graph = av.filter.Graph()
    args = f"video_size={W}x{H}:pix_fmt=yuv420p:time_base=1/{FPS}:pixel_aspect=1/1"
    left, right, ssim, sink = graph.add("buffer", args), graph.add("buffer", args), graph.add("ssim"), \
        graph.add("buffersink")
    left.link_to(ssim, 0, 0)
    right.link_to(ssim, 0, 1)
    ssim.link_to(sink)
    graph.configure()
    values: list[float] = []
    for i, (x, y) in enumerate([*pairs, (None, None)]):
        if x is not None and y is not None:
            x.pts = y.pts = i
            x.time_base = y.time_base = Fraction(1, FPS)
        left.push(x)
        right.push(y)
        while True:
            try:
                values.append(float(sink.pull().metadata["lavfi.ssim.Y"]))
            except (av.BlockingIOError, av.EOFError):
                break
    assert len(values) == len(pairs)
    return float(np.mean(values))


def video_bits(path: str) -> int:
    with av.open(path) as container:
        return sum(p.size for p in container.demux(container.streams.video[0])) * 8


def operation(mode: str, crf: str = "23") -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": crf},
                          "Audio": {"Remove": "true"}, "TransConfig": {"TranscodeMode": mode}},
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.mp4"}}


def test_tsc_reaches_plain_ssim_with_fewer_bits(process: Process, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source = camera_clip(tmp_path / "camera.mp4")
    started = time.perf_counter()
    plain = process("Transcode", operation("Normal"), source).path()
    middle = time.perf_counter()
    fast = process("Transcode", operation("TSC"), source).path()
    ended = time.perf_counter()
    plain_ssim, tsc_ssim = ssim_y(source, plain), ssim_y(source, fast)
    plain_bits, tsc_bits = video_bits(plain), video_bits(fast)
    saving = 1 - tsc_bits / plain_bits
    with capsys.disabled():
        print(f"\nTSC: plain CRF 23 {plain_bits} bits SSIM {plain_ssim:.5f} | TSC {tsc_bits} bits SSIM "
              f"{tsc_ssim:.5f} | {saving:.1%} fewer bits | time x{(ended - middle) / (middle - started):.1f}")
    with av.open(fast) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3 * FPS  # the scenes join into one stream
    assert tsc_ssim >= plain_ssim
    # Measured 20.4-21.3% fewer bits when run alone and 17-18% with a live server in the same process:
    # threaded x264 is not bit-exact from run to run, and the per-scene CRF search amplifies those
    # differences. The bound keeps the claim ("clearly lower bitrate") without run-to-run noise.
    assert saving >= 0.15


def test_tsc_is_for_h264_only() -> None:
    op = operation("TSC")
    op["Transcode"]["Video"]["Codec"] = "H.265"
    with pytest.raises(InvalidArgument, match="TSC supports Video.Codec H.264 only"):
        check("Transcode", op)
    with pytest.raises(InvalidArgument, match="TranscodeMode"):
        check("Transcode", operation("Turbo"))
