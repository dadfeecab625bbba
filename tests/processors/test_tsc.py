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
from ci_jobs.mediarules import check

from .conftest import Outcome

Process = Callable[..., Outcome]
W, H, FPS = 320, 240, 25
SCENES = ("testsrc2", "mandelbrot", "gradients=speed=0.05:seed=7")


def camera_clip(path: Path) -> str:
    """Three 1 s scenes (test card, fractal zoom, moving gradients) with light sensor noise, near-lossless."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "6", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        index = 0
        for scene in SCENES:
            name, _, args = scene.partition("=")
            spec = f"{name}=size={W}x{H}:rate={FPS}" + (f":{args}" if args else "")
            with av.open(spec, format="lavfi") as source:
                for count, frame in enumerate(source.decode(video=0)):
                    if count == FPS:
                        break
                    pixels = frame.to_ndarray(format="rgb24").astype(np.float32)
                    pixels += rng.normal(0, 1.5, pixels.shape[:2])[..., None]
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
    assert saving >= 0.05  # measured 7-14% on this clip (the 20% aim is not reached yet)


def test_tsc_is_for_h264_only() -> None:
    op = operation("TSC")
    op["Transcode"]["Video"]["Codec"] = "H.265"
    with pytest.raises(InvalidArgument, match="TSC supports Video.Codec H.264 only"):
        check("Transcode", op)
    with pytest.raises(InvalidArgument, match="TranscodeMode"):
        check("Transcode", operation("Turbo"))
