"""Synthetic clips for TSC tests and `make bench`: flat, textured, noisy, fast-motion and screen content.

Each clip is a list of yuv420p frames made with numpy and PyAV at test time (deterministic seeds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ci_jobs.media import tsc

Pixels = np.ndarray[Any, np.dtype[np.float32]]


def _grid(w: int, h: int) -> tuple[Pixels, Pixels]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x, y


def flat(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """Slowly drifting smooth colour gradients (sky, studio walls)."""
    x, y = _grid(w, h)
    out = []
    for t in range(n):
        p = t / 25
        out.append(np.stack([128 + 90 * np.sin(x / (w / 2.5) + p), 128 + 80 * np.sin(y / (h / 2) - 0.7 * p),
                             128 + 70 * np.sin((x + y) / (w / 1.5) + 1.3 * p)], axis=-1))
    return out


def textured(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """A fine static texture (foliage, fabric) panning slowly."""
    base = rng.uniform(0, 255, (h // 2 + 8, w // 2 + 64, 3)).astype(np.float32)
    base = (base + np.roll(base, 1, 0) + np.roll(base, 1, 1)) / 3
    big = base.repeat(2, 0).repeat(2, 1)
    return [big[4:4 + h, t:t + w] for t in range(n)]


def noisy(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """A simple moving scene under heavy sensor grain (low light)."""
    x, y = _grid(w, h)
    out = []
    for t in range(n):
        cx, cy = w * (0.3 + 0.4 * t / n), h / 2
        disc = ((x - cx) ** 2 + (y - cy) ** 2 < (h / 4) ** 2).astype(np.float32)
        scene = 70 + 40 * x / w + 110 * disc
        grain = rng.normal(0, 9, (h, w)).astype(np.float32)
        out.append(np.stack([scene * 1.0, scene * 0.9, scene * 0.8], axis=-1) + grain[..., None])
    return out


def motion(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """Fast, erratic motion of textured blocks over a moving background (sport)."""
    x, y = _grid(w, h)
    blocks = rng.uniform(40, 220, (6, 3)).astype(np.float32)
    out = []
    for t in range(n):
        frame = np.stack([100 + 60 * np.sin((x + 9 * t) / 13) * np.cos(y / 17)] * 3, axis=-1)
        for i, colour in enumerate(blocks):
            bx = int((w * 0.1 + (17 + 5 * i) * t * (1 if i % 2 else -1)) % w)
            by = int((h * 0.15 * i + 11 * t) % h)
            rows, cols = slice(by, by + h // 5), slice(bx, bx + w // 6)
            frame[rows, cols] = colour + 25 * np.sin(x[rows, cols] / 3)[..., None]
        out.append(frame)
    return out


def screen(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """Screen content: flat panels and lines of sharp 'text' glyphs, scrolling in steps."""
    rows = []
    for _ in range(h // 8 * 3):
        line = np.full((8, w), 245, np.float32)
        glyphs = rng.random((5, w // 3)) < 0.35
        line[1:6, : (w // 3) * 3] = np.where(glyphs.repeat(3, 1), 20, 245)
        line[:, int(w * rng.uniform(0.4, 1.0)):] = 245
        rows.append(line)
    page = np.concatenate(rows)
    out = []
    for t in range(n):
        top = (t // 5) * 8
        grey = page[top:top + h].copy()
        grey[:, : w // 5] = 60  # a side bar
        frame = np.stack([grey, grey, grey * 0.95 + 10], axis=-1)
        frame[h - 12:, :] = (40, 90, 160)  # a task bar
        out.append(frame)
    return out


def mixed(w: int, h: int, n: int, rng: np.random.Generator) -> list[Pixels]:
    """A cut between two scenes: FFmpeg's test card, then the flat gradients under light grain."""
    half = n // 2
    with av.open(f"testsrc2=size={w}x{h}:rate=25", format="lavfi") as source:
        card = []
        for frame in source.decode(video=0):
            card.append(frame.to_ndarray(format="rgb24").astype(np.float32))
            if len(card) == half:
                break
    soft = [f + rng.normal(0, 2, f.shape[:2]).astype(np.float32)[..., None] for f in flat(w, h, n - half, rng)]
    return card + soft


CLIPS: dict[str, Callable[[int, int, int, np.random.Generator], list[Pixels]]] = {
    "flat": flat, "textured": textured, "noisy": noisy, "motion": motion, "screen": screen, "mixed": mixed}


def frames(kind: str, w: int, h: int, n: int) -> list[av.VideoFrame]:
    """The clip's frames as yuv420p VideoFrames at 25 fps."""
    rng = np.random.default_rng(sorted(CLIPS).index(kind) + 7)
    out = []
    for i, pixels in enumerate(CLIPS[kind](w, h, n, rng)):
        picture = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24")
        frame = picture.reformat(format="yuv420p")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        out.append(frame)
    return out


def write(kind: str, path: Path, w: int, h: int, n: int) -> str:
    """The clip as a near-lossless H.264 MP4 (the source of a job)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "4", "preset": "ultrafast", "threads": "1"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in frames(kind, w, h, n):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def encode(frames_in: list[av.VideoFrame], path: Path, options: dict[str, str], top_speed: bool) -> float:
    """Encode frames into an MP4 the way a Transcode job's VideoLane does, plain or TSC; seconds taken."""
    started = time.perf_counter()
    with av.open(str(path), "w", container_options={"max_interleave_delta": "0"}) as out:
        stream = out.add_stream("libx264", rate=25, options=tsc.tuned(options) if top_speed else options)
        stream.width, stream.height, stream.pix_fmt = frames_in[0].width, frames_in[0].height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 25)
        stream.codec_context.thread_count = int(options.get("threads", "0"))
        encoder = tsc.Encoder(out, stream, options, float(options["crf"]), Fraction(25), 250) if top_speed else None
        for frame in frames_in:
            copy = frame.reformat()
            copy.pts, copy.time_base = frame.pts, frame.time_base
            if encoder is not None:
                encoder.add(copy)
            else:
                out.mux(stream.encode(copy))
        if encoder is not None:
            encoder.flush()
        else:
            out.mux(stream.encode(None))
    return time.perf_counter() - started


def video_bits(path: Path | str) -> int:
    """The size of the first video stream's packets, in bits."""
    with av.open(str(path)) as container:
        return sum(p.size for p in container.demux(container.streams.video[0])) * 8


def ssim_y(frames_in: list[av.VideoFrame], distorted: Path | str) -> float:
    """Mean luma SSIM of a file against the frames, from FFmpeg's own ssim filter (tsc.ssim_y)."""
    with av.open(str(distorted)) as b:
        decoded = list(b.decode(video=0))
    assert len(decoded) == len(frames_in), (len(decoded), len(frames_in))
    value = tsc.ssim_y(frames_in, decoded)
    assert value >= 0
    return value
