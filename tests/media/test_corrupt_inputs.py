"""Hostile and corrupt media: every processor succeeds with a decodable output or fails as InvalidInput.

The corpus is built at test time from tiny PyAV clips with seeded damage (truncations, byte flips
in the MP4 moov and mdat and all over an MPEG-TS, two TS files spliced), hand-written image
headers that claim huge pictures, and things that are no media at all. Every file goes through
every Tag's processor, the sync snapshot (frame.grab) and the probe (mediainfo.probe).
"""

from __future__ import annotations

import json
import random
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from ci_jobs.engine.dispatch import run
from ci_jobs.errors import JobFailed
from ci_jobs.media import Task, frame, mediainfo
from ci_jobs.media.common import MAX_PIXELS, MAX_SIDE, Monotonic, Resampler, check_pixels
from ci_jobs.media.headers import declared_size

from ..tasks import make_task
from .conftest import make_clip

Corpus = dict[str, str]
Runner = Callable[[str, Path, Corpus], list[str]]  # -> files whose content must decode
GOOD = "good.mp4"
OUT = {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "out/x.${ext}"}
# A message is for users: FFmpeg's words and ours, never a Python exception's.
PYTHONIC = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|NoneType|object has no attribute")
TS = 188  # MPEG-TS packet size


# --- the corpus ---------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims `width`x`height` (valid CRCs) but whose IDAT holds four rows: ~100 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = zlib.compress(b"\0" * (1 + 3 * 64) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def gif(width: int, height: int) -> bytes:
    """A GIF whose logical screen is `width`x`height`, holding one 1x1 image."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b";"


def jpeg(width: int, height: int) -> bytes:
    """The start of a JPEG: SOI, an APP0 segment and a baseline frame header claiming `width`x`height`."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """Top-level MP4 boxes: type -> (offset, size)."""
    found, at = {}, 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        found[kind.decode("latin-1")] = (at, size)
        if size < 8:
            break
        at += size
    return found


def flip(data: bytes, span: tuple[int, int], seed: int, count: int) -> bytes:
    """`data` with `count` single bits flipped at seeded places in [start, end)."""
    rng = random.Random(seed)
    damaged = bytearray(data)
    for _ in range(count):
        damaged[rng.randrange(*span)] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def build(d: Path) -> Corpus:
    """Write the corpus into `d`: name -> path (plus the intact GOOD clip that Concat joins it to)."""
    clip = {"w": 160, "h": 120, "seconds": 1.0, "fps": 10, "gop": 5}
    mp4 = Path(make_clip(d / "base.mp4", **clip)).read_bytes()
    ts = Path(make_clip(d / "base.ts", container="mpegts", **clip)).read_bytes()
    mono = Path(make_clip(d / "mono.ts", container="mpegts", layout="mono", sample_rate=22050, **clip)).read_bytes()
    files: dict[str, bytes] = {
        # cut inside the tables, inside the first video PES, and in the middle and tail of the media
        **{f"ts-cut-{label}": ts[:cut] for label, cut in (("376", 2 * TS), ("1347", 7 * TS + 31),
                                                            ("third", len(ts) // 3), ("half", len(ts) // 2 + 5),
                                                            ("tail", len(ts) - 400))},
        "ts-spliced.ts": ts + mono,  # timestamps start over, the audio turns mono at 22.05 kHz
        **{f"ts-flip-{seed}.ts": flip(ts, (0, len(ts)), seed, 60) for seed in (1, 2, 3, 52)},
        "ts-flip-heavy.ts": flip(ts, (0, len(ts)), 38, 200),
        "svg.mp4": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>',
        "random.mp4": random.Random(7).randbytes(4096),
        "empty.mp4": b"",
        **{f"png-{side}.png": png(side, side) for side in (16000, 60000, 65535)},
        "gif-65535.gif": gif(65535, 65535),
        "jpeg-20000x3000.jpg": jpeg(20000, 3000),
    }
    moov, mdat = boxes(mp4)["moov"], boxes(mp4)["mdat"]
    for seed in (2, 4, 6, 21, 65):
        files[f"mp4-moov-{seed}.mp4"] = flip(mp4, (moov[0] + 8, sum(moov)), seed, 1 + seed % 8)
    for seed in (1, 2):
        files[f"mp4-mdat-{seed}.mp4"] = flip(mp4, (mdat[0] + 8, sum(mdat)), seed, 40)
    # The video sample entry's codec tag renamed: no decoder for it (moov-6 loses the audio's).
    files["mp4-no-video-codec.mp4"] = mp4[:moov[0]] + mp4[moov[0]:].replace(b"avc1", b"xvc1", 1)
    paths = {name: str(d / name) for name in files}
    for name, data in files.items():
        Path(paths[name]).write_bytes(data)
    paths["mkv-16400x16.mkv"] = make_clip(d / "wide.mkv", w=16400, h=16, seconds=0.2, fps=10, audio=False,
                                          vcodec="ffv1", pattern="ramp")
    paths[GOOD] = make_clip(d / GOOD, **clip)
    return paths


NAMES = [*(f"ts-cut-{n}" for n in ("376", "1347", "third", "half", "tail")), "ts-spliced.ts",
         *(f"ts-flip-{s}.ts" for s in (1, 2, 3, 52)), "ts-flip-heavy.ts",
         *(f"mp4-moov-{s}.mp4" for s in (2, 4, 6, 21, 65)), "mp4-mdat-1.mp4", "mp4-mdat-2.mp4",
         "mp4-no-video-codec.mp4", "png-16000.png", "png-60000.png", "png-65535.png",
         "gif-65535.gif", "jpeg-20000x3000.jpg", "mkv-16400x16.mkv", "svg.mp4", "random.mp4", "empty.mp4"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The corpus, keyed by NAMES."""
    paths = build(tmp_path_factory.mktemp("corpus"))
    assert set(paths) == {*NAMES, GOOD}
    return paths


# --- the media drivers -------------------------------------------------------------------------


def produced(task: Task, outdir: Path) -> list[str]:
    """Run a job; the files it produced (HLS/DASH segments aside)."""
    result = run(task, lambda _: None)
    if task.tag == "MediaInfo":
        assert result.media_info["Format"]["Size"] == str(Path(task.inputs[0]).stat().st_size)
    return [str(outdir / f.name) for f in result.files if f.role != "segment"]


def job(tag: str, operation: dict[str, Any]) -> Runner:
    """A runner for a job of `tag` whose Input is the corpus file."""
    def runner(path: str, outdir: Path, corpus: Corpus) -> list[str]:
        return produced(make_task(tag, operation, (path,), str(outdir), job_id="j1"), outdir)
    return runner


def concat(path: str, outdir: Path, corpus: Corpus) -> list[str]:
    """Concat of an intact clip and the corpus file, as ConcatFragments."""
    op = {"ConcatTemplate": {"ConcatFragment": [{"Url": "in/good.mp4"}, {"Url": "in/bad.mp4"}],
                             "Container": {"Format": "mp4"}}, "Output": OUT}
    objects = {"in/good.mp4": corpus[GOOD], "in/bad.mp4": path}
    return produced(make_task("Concat", op, (), str(outdir), objects, job_id="j1"), outdir)


def grab(path: str, outdir: Path, corpus: Corpus) -> list[str]:
    """The sync snapshot, saved as a file."""
    image = outdir / "grab.jpg"
    image.write_bytes(frame.grab(path, 0.5, 0, 0, "jpg", "auto", "exactframe"))
    return [str(image)]


def probe(path: str, outdir: Path, corpus: Corpus) -> list[str]:
    """The videoinfo probe: no file, but a description."""
    info = mediainfo.probe(path)
    assert info["Stream"]["Video"] or info["Stream"]["Audio"]
    return []


RUNNERS: dict[str, Runner] = {
    "Transcode": job("Transcode", {"Transcode": {"Container": {"Format": "mp4"}}, "Output": OUT}),
    "Snapshot": job("Snapshot", {"Snapshot": {"Start": "0", "Count": "2", "TimeInterval": "0.5"},
                                 "Output": {**OUT, "Object": "out/${Number}.jpg"}}),
    "Animation": job("Animation", {"Animation": {"Container": {"Format": "gif"}, "Video": {"Codec": "gif"}},
                                   "Output": OUT}),
    "MediaInfo": job("MediaInfo", {}),
    "VideoTag": job("VideoTag", {"VideoTag": {"Scenario": "Stream"}}),
    "Segment": job("Segment", {"Segment": {"Format": "mp4"}, "Output": OUT}),
    "Concat": concat,
    "frame.grab": grab,
    "mediainfo.probe": probe,
}


def decodable(path: str, encoded: bool) -> int:
    """Frames decoded from a file (damaged packets skipped, as a player would)."""
    count = 0
    with av.open(path) as container:
        # Damaged timestamps must not stretch a second of input into hours of encoding either
        # (Segment copies the timestamps as they are: that costs nothing).
        assert not encoded or (container.duration or 0) < 30_000_000, f"{path} lasts {container.duration} us"
        for packet in container.demux():
            try:
                count += len(packet.decode())
            except av.FFmpegError:
                continue
            if count >= 3:
                break
    return count


@pytest.mark.parametrize("processor", RUNNERS)
@pytest.mark.parametrize("name", NAMES)
def test_corrupt_input_is_refused_in_ffmpegs_words_or_processed(corpus: Corpus, name: str, processor: str,
                                                                 tmp_path: Path) -> None:
    try:
        outputs = RUNNERS[processor](corpus[name], tmp_path, corpus)
    except JobFailed as exc:
        where = f"{name} through {processor}: {exc.code}: {exc.message}"
        assert exc.code == "InvalidInput", where
        assert not PYTHONIC.search(exc.message), where
        assert str(tmp_path) not in exc.message and str(Path(corpus[name]).parent) not in exc.message, where
        return
    for output in outputs:
        assert decodable(output, processor != "Segment") > 0, f"{name} through {processor}: {output} does not decode"


# --- the pixel budget ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), [
    ("png-16000.png", "16000x16000"), ("png-65535.png", "65535x65535"), ("gif-65535.gif", "65535x65535"),
    ("jpeg-20000x3000.jpg", "20000x3000"), ("mkv-16400x16.mkv", "16400x16"),
])
@pytest.mark.parametrize("processor", ["Transcode", "Snapshot", "MediaInfo", "Segment", "frame.grab"])
def test_a_frame_over_the_budget_is_refused_naming_size_and_limit(corpus: Corpus, name: str, size: str,
                                                                 processor: str, tmp_path: Path) -> None:
    with pytest.raises(JobFailed) as failed:
        RUNNERS[processor](corpus[name], tmp_path, corpus)
    assert failed.value.code == "InvalidInput"
    assert f"frame size of {size}" in failed.value.message and "pixel limit" in failed.value.message
    assert f"{MAX_PIXELS:,} pixels" in failed.value.message


_MEASURE = """
import importlib, json, resource, sys
from ci_jobs.errors import JobFailed
from ci_jobs.engine.dispatch import MODULES, run
from ci_jobs import tags
from ci_jobs.media import Task, frame
for name in MODULES.values():  # PyAV and every processor: imported before the baseline
    importlib.import_module(f"ci_jobs.media.{name}")
path, outdir, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
before, messages = peak(), []
jobs = [lambda: frame.grab(path, 0, 0, 0, "png", "auto", "exactframe")]
jobs += [lambda tag=tag, op=op: run(Task(tag, tags.parse(tag, op), (path,), outdir), lambda _: None)
         for tag, op in ops.items()]
for job in jobs:
    try:
        job()
        messages.append("processed")
    except JobFailed as exc:
        messages.append(exc.message)
print(json.dumps({"grew_mb": peak() - before, "messages": messages}))
"""
OPS = {"Snapshot": {"Snapshot": {"Count": "1"}, "Output": {**OUT, "Object": "out/${Number}.jpg"}},
       "Transcode": {"Transcode": {"Container": {"Format": "mp4"}}, "Output": OUT}, "MediaInfo": {}}


def test_the_16000x16000_png_is_refused_without_allocating_its_frame(corpus: Corpus, tmp_path: Path) -> None:
    """Its decoded frame would take ~730 MB (it did before the budget); refusing it must cost next to nothing."""
    import ci_jobs  # noqa: PLC0415 - where the subprocess finds the package

    root = Path(ci_jobs.__file__).parent.parent
    command = [sys.executable, "-c", _MEASURE, corpus["png-16000.png"], str(tmp_path), json.dumps(OPS)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["messages"]) == 4
    assert all("16000x16000" in m and "pixel limit" in m for m in report["messages"]), report
    assert report["grew_mb"] < 50, report


def test_decoders_carry_the_budget(corpus: Corpus) -> None:
    """Pictures that grow mid-stream have no header to check: FFmpeg's decoders refuse them."""
    from ci_jobs.media.common import open_input  # noqa: PLC0415

    with open_input(corpus[GOOD]) as container:
        assert container.streams.video[0].codec_context.options["max_pixels"] == str(MAX_PIXELS)


@pytest.mark.parametrize(("width", "height", "refused"), [
    (7680, 4320, False), (MAX_SIDE, MAX_PIXELS // MAX_SIDE, False), (MAX_SIDE + 1, 2, True),
    (6400, 6400, True), (2, MAX_SIDE + 1, True),
])
def test_budget_bounds_pixels_and_sides(width: int, height: int, refused: bool) -> None:
    if not refused:
        check_pixels(width, height)
        return
    with pytest.raises(JobFailed, match=f"{width}x{height}.*pixel limit"):
        check_pixels(width, height)


def _image(path: Path, codec: str, fmt: str, pix_fmt: str) -> None:
    """A 37x21 still image written by FFmpeg's own encoder and muxer."""
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 37, 21, pix_fmt
        picture = av.VideoFrame(37, 21, "rgb24").reformat(format=pix_fmt)
        container.mux(stream.encode(picture))
        container.mux(stream.encode(None))


@pytest.mark.parametrize(("codec", "fmt", "pix_fmt"), [
    ("png", "image2pipe", "rgb24"), ("mjpeg", "image2pipe", "yuvj420p"), ("gif", "gif", "rgb8"),
    ("bmp", "image2pipe", "bgr24"), ("libwebp", "webp", "yuv420p"),
])
def test_image_headers_give_the_size_ffmpeg_writes(tmp_path: Path, codec: str, fmt: str, pix_fmt: str) -> None:
    path = tmp_path / "image"
    _image(path, codec, fmt, pix_fmt)
    assert declared_size(str(path)) == (37, 21)


def test_media_files_declare_no_image_size(corpus: Corpus) -> None:
    assert declared_size(corpus[GOOD]) is None and declared_size(corpus["random.mp4"]) is None


def test_a_watermark_image_over_the_budget_is_refused(corpus: Corpus, tmp_path: Path) -> None:
    url = "https://b-1.cos.ap-guangzhou.myqcloud.com/marks/huge.png"
    op = {"Transcode": {"Container": {"Format": "mp4"}}, "Output": OUT,
          "Watermark": [{"Type": "Image", "Pos": "TopLeft", "Image": {"Url": url}}]}
    task = make_task("Transcode", op, (corpus[GOOD],), str(tmp_path), {"marks/huge.png": corpus["png-16000.png"]})
    with pytest.raises(JobFailed, match="Image.Url .*16000x16000.*pixel limit") as failed:
        run(task, lambda _: None)
    assert failed.value.code == "InvalidInput"


# --- the repairs --------------------------------------------------------------------------


class _Stream:
    """What Monotonic reads of an output stream."""

    time_base = Fraction(1, 1000)


def test_copied_timestamps_are_made_monotonic_as_the_ffmpeg_cli_does() -> None:
    timing = Monotonic(_Stream())  # type: ignore[arg-type]
    fixed = []
    for pts, dts in ((0, 0), (40, 40), (20, 20), (9000, 90), (80, 120), (160, 160)):  # back, DTS > PTS, on
        packet = av.Packet(b"x")
        packet.time_base, packet.pts, packet.dts = Fraction(1, 90000), pts * 90, dts * 90
        timing.fix(packet)
        assert packet.time_base == _Stream.time_base and packet.dts is not None and packet.pts is not None
        assert packet.pts >= packet.dts
        fixed.append(packet.dts)
    assert fixed == sorted(set(fixed)) and fixed[:2] == [0, 40] and fixed[-1] == 160


def test_the_resampler_follows_a_change_of_layout_and_rate() -> None:
    resampler = Resampler("s16", "stereo", 48000)
    out = []
    for layout, rate, fmt in (("stereo", 44100, "fltp"), ("mono", 22050, "s16"), ("5.1", 48000, "s32p")):
        block = av.AudioFrame(format=fmt, layout=layout, samples=1024)
        for plane in block.planes:
            plane.update(bytes(plane.buffer_size))
        block.sample_rate = rate
        out += resampler.resample(block)
    out += resampler.resample(None)
    assert {(f.format.name, f.layout.name, f.sample_rate) for f in out} == {("s16", "stereo", 48000)}
    assert sum(f.samples for f in out) == pytest.approx(1024 * (48000 / 44100 + 48000 / 22050 + 1), abs=64)
