"""Concat DirectConcat on files shaped like the ffmpeg CLI's: B-frames, AAC priming, time bases, A/V offsets.

The AAC priming frame of a piece (before its zero, behind an edit list) lands on the previous
piece's last audio packet. The join used to compare those decode times in float seconds, so the
"one tick later" fix-up was skipped whenever rounding put them a hair apart, and the mp4 muxer
refused the equal decode times (EINVAL, "returned 22"); a later DTS clamp hid the error but each
stream was still shifted on its own, so audio drifted by a frame per junction.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.engine.dispatch import run

from ..tasks import make_task
from .conftest import Outcome

Concat = Callable[..., Outcome]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def cli_like(path: Path, colour: str, *, time_base: Fraction, audio_late: float = 0.0,
             video_late: float = 0.0, seconds: float = 1.0) -> str:
    """A 160x120 25 fps mp4 as `ffmpeg -c:v libx264 -c:a aac` writes it: x264's default B-frames
    (decode times before zero), AAC timed from sample 0 (its priming frame before zero, behind an
    edit list), the given video time base, and audio or video starting late."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "veryfast"})  # B-frames on
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.time_base = time_base
        audio = out.add_stream("aac", rate=44100, layout="stereo")
        audio.time_base = Fraction(1, 44100)
        picture = np.full((120, 160, 3), COLOURS[colour], np.uint8)
        picture[:30, :40] = 255  # some detail, so B-frames are used
        first = int(round(video_late * 25))
        for i in range(int(round(seconds * 25))):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = first + i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = int(round(audio_late * 44100))
        with av.open(f"sine=frequency=440:duration={seconds}:sample_rate=44100", format="lavfi") as sine:
            for block in sine.decode(audio=0):
                block.pts, block.time_base = samples, Fraction(1, 44100)
                samples += block.samples
                out.mux(audio.encode(block))
        out.mux(audio.encode(None))
    return str(path)


def packets(path: str, kind: str) -> list[bytes]:
    """The payloads of a file's `kind` packets, in file order."""
    with av.open(path) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def first_stamp(path: str, kind: str) -> int:
    """The decode time of a file's first `kind` packet, in its time base."""
    with av.open(path) as container:
        stamp = next(p.dts for p in container.demux(**{kind: 0}))
        assert stamp is not None
        return stamp


def decoded(path: str) -> dict[str, Any]:
    """Duration, video frame times and colours, audio frame times (and sample counts) of a file."""
    with av.open(path) as container:
        info: dict[str, Any] = {"duration": container.duration / 1_000_000}
        frames = [(f.time, f.to_ndarray(format="rgb24")[60:, 80:].mean(axis=(0, 1))) for f in container.decode(video=0)]
        container.seek(0)
        sound = [(f.time, f.samples) for f in container.decode(audio=0)]
    info["times"] = [t for t, _ in frames]
    info["colours"] = [min(COLOURS, key=lambda c: float(np.abs(rgb - COLOURS[c]).sum())) for _, rgb in frames]
    info["sound"] = sound
    info["audio"] = [t for t, _ in sound]
    return info


@pytest.fixture
def join(tmp_path: Path) -> Concat:
    """`join(path, ...)` DirectConcats local files into mp4."""
    def runner(*paths: str, fmt: str = "mp4") -> Outcome:
        outdir = tmp_path / "out"
        outdir.mkdir(exist_ok=True)
        objects = {f"in/{n}.mp4": p for n, p in enumerate(paths)}
        op = {"ConcatTemplate": {"ConcatFragment": [{"Url": key} for key in objects],
                                 "Container": {"Format": fmt}, "DirectConcat": "true"},
              "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "out/joined.${ext}"}}
        outcome = Outcome({}, outdir)
        outcome.result = run(make_task("Concat", op, (), str(outdir), objects=objects, job_id="j1"),
                             outcome.progress.append)
        return outcome
    return runner


def test_cli_shaped_fragments_join_in_sync_without_re_encoding(tmp_path: Path, join: Concat) -> None:
    red = cli_like(tmp_path / "red.mp4", "red", time_base=Fraction(1, 12800))
    green = cli_like(tmp_path / "green.mp4", "green", time_base=Fraction(1, 15360), audio_late=0.2)
    blue = cli_like(tmp_path / "blue.mp4", "blue", time_base=Fraction(1, 12800), video_late=0.2)
    assert first_stamp(red, "video") < 0 and first_stamp(red, "audio") < 0  # the shapes that broke the join
    out = join(red, green, blue)
    got = decoded(out.path())
    # Pieces last 1.0, 1.2 and 1.2 s; each starts where the previous ends, its streams together.
    assert got["duration"] == pytest.approx(3.4, abs=0.03)
    want = [i / 25 for i in range(25)] + [1.0 + i / 25 for i in range(25)] + [2.4 + i / 25 for i in range(25)]
    assert got["times"] == pytest.approx(want, abs=1e-3)
    assert got["colours"] == ["red"] * 25 + ["green"] * 25 + ["blue"] * 25
    # Audio keeps its place against the video of its piece: green's starts late (its priming frame
    # plays, as in the source: the mp4 muxer does not hide it behind a late start), blue's early.
    gaps = [t for t, before in zip(got["audio"][1:], got["audio"], strict=False) if t - before > 0.05]
    assert gaps == pytest.approx([1.0 + decoded(green)["audio"][0]], abs=1e-3)
    assert decoded(green)["audio"][0] == pytest.approx(0.2, abs=0.03)
    assert min(abs(t - 2.2) for t in got["audio"]) < 1e-3
    ends = [t + n / 44100 for t, n in got["sound"]]
    assert all(later >= end - 512 / 44100 for (later, _), end in zip(got["sound"][1:], ends, strict=False))
    # Copied, not re-encoded: every video packet as it was; audio packets in order, a few left out.
    assert packets(out.path(), "video") == packets(red, "video") + packets(green, "video") + packets(blue, "video")
    sources = iter(packets(red, "audio") + packets(green, "audio") + packets(blue, "audio"))
    copied = packets(out.path(), "audio")
    assert all(any(p == q for q in sources) for p in copied)  # a subsequence of the sources' packets
    assert len(copied) >= sum(len(packets(p, "audio")) for p in (red, green, blue)) - 6


def test_many_joins_keep_audio_and_video_together(tmp_path: Path, join: Concat) -> None:
    pieces = [cli_like(tmp_path / f"p{n}.mp4", colour, time_base=Fraction(1, 12800 if n % 2 else 15360))
              for n, colour in enumerate(["red", "green", "blue", "red", "green"])]
    got = decoded(join(*pieces).path())
    assert len(got["times"]) == 125 and got["times"][-1] == pytest.approx(4.96, abs=1e-3)
    assert got["duration"] == pytest.approx(5.0, abs=0.03)
    audio_end = got["audio"][-1] + 1024 / 44100
    assert audio_end == pytest.approx(5.0, abs=0.03)  # no drift: the junctions add no audio


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg CLI is not on PATH (apt-get install ffmpeg)")
def test_fragments_made_by_the_ffmpeg_cli(tmp_path: Path, join: Concat) -> None:
    def make(name: str, *args: str) -> str:
        path = str(tmp_path / name)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, "-c:v", "libx264",
                        "-c:a", "aac", "-ac", "2", path], check=True, timeout=60)
        return path
    video = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1"]
    sound = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    plain = make("plain.mp4", *video, *sound)
    other = make("other.mp4", *video, *sound, "-video_track_timescale", "15360")
    late = make("late.mp4", *video, "-itsoffset", "0.3", *sound)
    out = join(plain, other, late, plain)
    got = decoded(out.path())
    assert len(got["times"]) == 100
    assert got["duration"] == pytest.approx(1.0 + 1.0 + 1.3 + 1.0, abs=0.03)
    assert got["times"][75] == pytest.approx(3.3, abs=1e-3)
    want = packets(plain, "video") + packets(other, "video") + packets(late, "video") + packets(plain, "video")
    assert packets(out.path(), "video") == want
