"""Fixtures for processor tests: real clips made with PyAV at test time, and a task runner."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.engine.dispatch import run
from ci_jobs.media import Result

from ..tasks import make_task

_PLAIN = av.video.frame.PictureType.NONE


def ramp_value(index: int) -> int:
    """Grey level of frame `index` in a `ramp` clip (rises 4 per frame, so time can be read back)."""
    return 10 + 4 * index


def _video_frames(pattern: str, w: int, h: int, seconds: float, fps: int) -> Any:
    count = int(round(seconds * fps))
    if pattern == "ramp":
        for i in range(count):
            yield av.VideoFrame.from_ndarray(np.full((h, w, 3), ramp_value(i), np.uint8), format="rgb24")
        return
    if pattern == "noise":  # incompressible: bitrate limits show
        rng = np.random.default_rng(7)
        for _ in range(count):
            yield av.VideoFrame.from_ndarray(rng.integers(0, 256, (h, w, 3), np.uint8), format="rgb24")
        return
    if pattern == "pillar":  # white with black 1/8-width bars left and right
        image = np.full((h, w, 3), 255, np.uint8)
        image[:, : w // 8] = image[:, w - w // 8:] = 0
        for _ in range(count):
            yield av.VideoFrame.from_ndarray(image, format="rgb24")
        return
    sep = ":" if "=" in pattern else "="  # "testsrc2" or "color=c=white"
    source = av.open(f"{pattern}{sep}size={w}x{h}:rate={fps}:duration={seconds}", format="lavfi")
    with source:
        yield from source.decode(video=0)


def make_clip(path: Path, w: int = 320, h: int = 240, seconds: float = 2.0, fps: int = 25, *,
              audio: bool = True, video: bool = True, vcodec: str = "libx264", acodec: str = "aac",
              container: str | None = None, pattern: str = "testsrc2", gop: int = 25,
              sample_rate: int = 44100, layout: str = "stereo", rotation: int = 0,
              metadata: dict[str, str] | None = None) -> str:
    """Encode a test clip (lavfi source, grey `ramp`, `noise` or `pillar` bars; 440 Hz sine); return its path."""
    with av.open(str(path), "w", format=container) as out:
        out.metadata.update(metadata or {})
        vs = out.add_stream(vcodec, rate=fps, options={"g": str(gop), "preset": "ultrafast"}
                            if vcodec == "libx264" else {"g": str(gop)}) if video else None
        a = out.add_stream(acodec, rate=sample_rate, layout=layout) if audio else None
        if vs is not None:  # every stream must exist before the first packet is muxed
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            if rotation:
                vs.set_display_rotation(rotation)  # counter-clockwise, as phones store portrait video
            for i, frame in enumerate(_video_frames(pattern, w, h, seconds, fps)):
                frame.pts, frame.pict_type = i, _PLAIN  # lavfi marks every frame I: keep a real GOP
                frame.time_base = Fraction(1, fps)
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        if a is not None:
            with av.open(f"sine=frequency=440:duration={seconds}:sample_rate={sample_rate}",
                         format="lavfi") as sine:
                for frame in sine.decode(audio=0):
                    frame.pts = None
                    out.mux(a.encode(frame))
            out.mux(a.encode(None))
    return str(path)


@dataclass
class Outcome:
    """What a processor run produced."""

    result: Result
    outdir: Path
    progress: list[float] = field(default_factory=list)

    def path(self, index: int = 0) -> str:
        """Local path of the `index`-th produced file."""
        return str(self.outdir / self.result.files[index].name)


def streams(path: str) -> dict[str, Any]:
    """Decode a whole file: codec, size, frame count and duration per stream type."""
    info: dict[str, Any] = {}
    with av.open(path) as container:
        info["duration"] = container.duration / 1_000_000 if container.duration else None
        info["metadata"] = dict(container.metadata)
        for stream in container.streams:
            if stream.type not in ("video", "audio"):
                continue
            cc = stream.codec_context
            entry = {"codec": cc.codec.canonical_name, "frames": 0, "samples": 0, "first": None,
                     "width": getattr(cc, "width", 0), "height": getattr(cc, "height", 0),
                     "rate": getattr(cc, "sample_rate", 0), "channels": getattr(cc, "channels", 0),
                     "means": []}
            for frame in container.decode(stream):
                entry["frames"] += 1
                entry["first"] = frame.time if entry["first"] is None else entry["first"]
                if stream.type == "audio":
                    entry["samples"] += frame.samples
                else:
                    entry["means"].append(float(frame.to_ndarray(format="rgb24").mean()))
            container.seek(0)
            info[stream.type] = entry
    return info


@pytest.fixture
def clip(tmp_path: Path) -> Callable[..., str]:
    """`clip(name='in.mp4', **make_clip_kwargs)` -> path of a fresh clip in tmp_path."""
    counter = itertools.count()

    def factory(name: str | None = None, **kwargs: Any) -> str:
        return make_clip(tmp_path / (name or f"in-{next(counter)}.mp4"), **kwargs)

    return factory


@pytest.fixture
def process(tmp_path: Path) -> Callable[..., Outcome]:
    """`process(tag, operation, input_path, objects=...)` runs the processor into a fresh staging dir."""
    counter = itertools.count()

    def runner(tag: str, operation: dict[str, Any], *inputs: str, objects: dict[str, str] | None = None) -> Outcome:
        outdir = tmp_path / f"out-{next(counter)}"
        outdir.mkdir()
        outcome = Outcome(Result(), outdir)
        task = make_task(tag, operation, inputs, outdir, objects)
        outcome.result = run(task, outcome.progress.append)
        return outcome

    return runner
