"""VideoMontage test media: a clip with marked "interesting" segments (a fast pan and loud noise) among
quiet static ones, made at test time, and the checks a reel is held to (clean cuts, coverage)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from . import pictures as P

W, H, FPS, RATE = 160, 90, 15, 44100
SECONDS = 20.0
MARKED = ((3.0, 6.0), (9.0, 12.0), (15.0, 18.0))
Span = tuple[float, float]


def write(path: Path, marks: tuple[Span, ...] = MARKED, seconds: float = SECONDS) -> str:
    """An H.264/AAC mp4: a still picture and a quiet 440 Hz hum, except in `marks`, where the picture
    pans fast over a texture of its own (every frame distinct) and the sound is loud noise."""
    count = int(seconds * FPS)
    still = P.texture(W, H, seed=9)
    pans = [P.frames(W, H, int(round((b - a) * FPS)), step=3, seed=k + 1) for k, (a, b) in enumerate(marks)]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(count):
            picture = still
            for k, (a, b) in enumerate(marks):
                if a <= i / FPS < b:
                    picture = pans[k][min(len(pans[k]) - 1, i - int(round(a * FPS)))]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        for start in range(0, int(seconds * RATE), 1024):
            chunk = sound(start, min(1024, int(seconds * RATE) - start), marks)
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate = RATE
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return str(path)


def sound(start: int, count: int, marks: tuple[Span, ...]) -> np.ndarray:
    """Samples [start, start + count) of the clip's sound: loud noise in `marks`, a quiet hum elsewhere."""
    index = np.arange(start, start + count)
    hum = 0.01 * np.sin(2 * np.pi * 440 * index / RATE)
    noise = np.random.default_rng(start).uniform(-0.3, 0.3, count)
    inside = np.zeros(count, bool)
    for a, b in marks:
        inside |= (index >= a * RATE) & (index < b * RATE)
    return np.where(inside, noise, hum).astype(np.float32)


@dataclass(frozen=True)
class Decoded:
    """A reel decoded frame by frame."""

    video_times: list[float]
    audio_samples: int
    audio_rate: int
    fps: float
    keys: list[float]             # times of the key frames
    thumbs: list[np.ndarray]      # 40x24 grey thumbnails of every picture

    @property
    def length(self) -> float:
        """Seconds of video (frames x frame duration), or of sound when there is no video."""
        if self.video_times:
            return len(self.video_times) / self.fps
        return self.audio_samples / self.audio_rate


def decode_clean(path: str) -> Decoded:
    """Decode every frame; assert video times rise by exactly one frame each and sound runs on without
    a gap or an overlap (each frame starts where the previous one ended)."""
    times: list[float] = []
    keys: list[float] = []
    thumbs: list[np.ndarray] = []
    samples, rate, fps = 0, 0, 0.0
    with av.open(path) as container:
        if container.streams.video:
            vs = container.streams.video[0]
            fps = float(vs.average_rate or 0)
            for frame in container.decode(vs):
                assert frame.time is not None
                times.append(frame.time)
                if frame.key_frame:
                    keys.append(frame.time)
                thumbs.append(frame.reformat(width=40, height=24, format="gray").to_ndarray().astype(np.float32))
            step = np.diff(times)
            assert len(step) == 0 or (abs(step - 1 / fps).max() < 0.5 / fps), "video times jump or repeat"
        if container.streams.audio:
            container.seek(0)
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            expected: int | None = None
            for frame in container.decode(stream):
                assert frame.pts is not None and frame.time_base is not None
                start = int(round(frame.pts * frame.time_base * rate))
                slack = 2 + int(rate * frame.time_base)  # flv and mkv keep milliseconds
                if expected is not None:
                    assert abs(start - expected) <= slack, f"sound gap or overlap at {start / rate:.3f} s"
                expected = start + frame.samples
                samples += frame.samples
    return Decoded(times, samples, rate, fps, keys, thumbs)


def source_thumbs(path: str) -> tuple[list[float], list[np.ndarray]]:
    """Time and 40x24 grey thumbnail of every picture of the source."""
    times, thumbs = [], []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.time or 0.0))
            thumbs.append(frame.reformat(width=40, height=24, format="gray").to_ndarray().astype(np.float32))
    return times, thumbs


def matched_times(reel: Decoded, source: str) -> list[float]:
    """For every picture of the reel, the source time of the picture it shows (nearest by MSE)."""
    times, thumbs = source_thumbs(source)
    stack = np.stack(thumbs)
    return [times[int(np.argmin(((stack - t) ** 2).mean(axis=(1, 2))))] for t in reel.thumbs]


def coverage(reel: Decoded, source: str, marks: tuple[Span, ...] = MARKED) -> float:
    """The share of the marked seconds whose pictures the reel shows (each frame counts 1/FPS)."""
    shown = {round(t * FPS) for t in matched_times(reel, source)}
    marked = {i for a, b in marks for i in range(int(round(a * FPS)), int(round(b * FPS)))}
    return len(shown & marked) / len(marked)


def inside(reel: Decoded, source: str, marks: tuple[Span, ...] = MARKED) -> float:
    """The share of the reel's pictures that come from the marked segments."""
    found = matched_times(reel, source)
    return sum(any(a <= t < b for a, b in marks) for t in found) / max(1, len(found))
