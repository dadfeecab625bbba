"""StreamExtract processor: each listed stream packet-copied into its own file, its container by codec or Object."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from ci_jobs import tags
from ci_jobs.errors import JobFailed
from ci_jobs.media import OutputFile
from ci_jobs.media import streamextract as driver
from ci_jobs.tags.streamextract import BOXES, DEFAULTS, FALLBACK, Entry, StreamExtractOp

from .conftest import Outcome, make_clip

Process = Callable[..., Outcome]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """2 s, 320x240 H.264 at 25 fps with B-frames (x264's default preset) + 44.1 kHz AAC, in mp4."""
    return make_clip(tmp_path_factory.mktemp("se") / "in.mp4", vcodec="h264", gop=12)


def extract(*pairs: tuple[int, str]) -> dict[str, Any]:
    """A Request.Operation listing (Index, Object) pairs."""
    return {"Output": {"Region": "ap-guangzhou", "Bucket": "b-1",
                       "StreamExtract": [{"Index": str(i), "Object": obj} for i, obj in pairs]}}


def describe(path: str, index: int = 0) -> dict[str, Any]:
    """One stream of a file: the file's stream count, the codec, its packets (payload, key, pts, dts in
    seconds) and what decoding it gives (frames, samples, the stream's duration in seconds)."""
    with av.open(path) as c:
        stream = c.streams[index]
        count, codec = len(c.streams), stream.codec_context.codec.canonical_name
        packets = [(bytes(p), p.is_keyframe, _at(p.pts, p.time_base), _at(p.dts, p.time_base))
                   for p in c.demux(stream) if p.size]
    frames = samples = 0
    with av.open(path) as c:
        stream = c.streams[index]
        tb = stream.time_base
        span = float(stream.duration * tb) if stream.duration and tb else float(c.duration or 0) / 1e6
        for frame in c.decode(stream):
            frames += 1
            samples += getattr(frame, "samples", 0)
    return {"streams": count, "codec": codec, "packets": packets, "frames": frames, "samples": samples,
            "duration": span}


def _at(stamp: int | None, tb: Fraction | None) -> float | None:
    return None if stamp is None or tb is None else round(float(stamp * tb), 4)


def test_video_and_audio_each_get_their_own_file_with_the_very_same_packets(process: Process, source: str) -> None:
    out = process("StreamExtract", extract((0, "out/video.${ext}"), (1, "out/audio-${Number}.${ext}")), source)
    assert out.result.files == (
        OutputFile("stream-000.mp4", "stream", "mp4", "out/video.${ext}"),
        OutputFile("stream-001.m4a", "stream", "m4a", "out/audio-${Number}.${ext}"))
    video, audio = describe(out.path(0)), describe(out.path(1))
    src_video, src_audio = describe(source, 0), describe(source, 1)
    assert (video["streams"], video["codec"], audio["streams"], audio["codec"]) == (1, "h264", 1, "aac")
    assert video["frames"] == src_video["frames"] == 50
    assert audio["samples"] == src_audio["samples"] and audio["frames"] == src_audio["frames"]
    assert video["duration"] == pytest.approx(src_video["duration"], abs=1e-3)
    assert audio["duration"] == pytest.approx(src_audio["duration"], abs=1e-3)
    # payload, key flag, presentation and decode times: copied, not re-encoded (B-frames: pts != dts)
    assert video["packets"] == src_video["packets"] and audio["packets"] == src_audio["packets"]
    assert any(pts != dts for _, _, pts, dts in video["packets"])
    assert len(out.result.media_info["Stream"]["Video"]) == len(out.result.media_info["Stream"]["Audio"]) == 1
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress)


def test_files_come_in_the_order_listed(process: Process, source: str) -> None:
    out = process("StreamExtract", extract((1, "a"), (0, "v")), source)
    assert [(f.name, f.key) for f in out.result.files] == [("stream-000.m4a", "a"), ("stream-001.mp4", "v")]
    assert describe(out.path(0))["codec"] == "aac" and describe(out.path(1))["codec"] == "h264"


@pytest.mark.parametrize(("index", "obj", "codec"), [
    (0, "v.mkv", "h264"), (0, "v.MOV", "h264"), (0, "v.ts", "h264"), (0, "v.flv", "h264"), (0, "v.h264", "h264"),
    (1, "a.aac", "aac"), (1, "a.mka", "aac"), (1, "a.mp4", "aac"), (1, "a.ts", "aac"),
])
def test_an_extension_the_codec_fits_is_honoured(process: Process, source: str, index: int, obj: str,
                                                 codec: str) -> None:
    out = process("StreamExtract", extract((index, obj)), source)
    ext = obj.rsplit(".", 1)[1].lower()
    assert out.result.files[0].name == f"stream-000.{ext}" and out.result.files[0].ext == ext
    got, src = describe(out.path()), describe(source, index)
    assert (got["streams"], got["codec"]) == (1, codec)
    assert (got["frames"], got["samples"]) == (src["frames"], src["samples"])


@pytest.mark.parametrize(("index", "obj", "codec"), [(1, "a.mp3", "aac"), (0, "v.m4a", "h264"), (0, "v.srt", "h264")])
def test_an_extension_the_codec_does_not_fit_fails_naming_the_object(process: Process, source: str, index: int,
                                                                     obj: str, codec: str) -> None:
    with pytest.raises(JobFailed) as failed:
        process("StreamExtract", extract((1 - index, "other"), (index, obj)), source)
    assert failed.value.code == "InvalidArgument"
    assert failed.value.message.startswith(f"Request.Operation.Output.StreamExtract[1].Object {obj} ")
    assert f"({'audio' if index else 'video'} {codec})" in failed.value.message


def test_an_index_the_input_lacks_fails_naming_it_and_the_streams_there_are(process: Process, source: str) -> None:
    with pytest.raises(JobFailed) as failed:
        process("StreamExtract", extract((0, "v"), (2, "x")), source)
    assert failed.value.code == "InvalidArgument"
    assert failed.value.message == ("Request.Operation.Output.StreamExtract[1].Index 2: the input has no stream 2; "
                                    "its streams are 0 (video h264), 1 (audio aac)")


def test_the_input_start_time_moves_to_zero_and_keeps_the_streams_in_step(process: Process, source: str,
                                                                           tmp_path: Path) -> None:
    late = _remux(source, tmp_path / "late.ts", "mpegts", offset=10.0)
    out = process("StreamExtract", extract((0, "v.${ext}"), (1, "a.${ext}")), late)
    video, audio = describe(out.path(0)), describe(out.path(1))
    src_video, src_audio = describe(late, 0), describe(late, 1)
    assert src_video["packets"][0][2] == pytest.approx(10.0, abs=0.1)
    assert video["packets"][0][2] == pytest.approx(src_video["packets"][0][2] - 10.0, abs=0.01)
    assert audio["packets"][0][2] == pytest.approx(src_audio["packets"][0][2] - 10.0, abs=0.01)
    assert (video["frames"], audio["samples"]) == (src_video["frames"], src_audio["samples"])


def test_a_subtitle_stream_becomes_an_srt_file(process: Process, source: str, tmp_path: Path) -> None:
    cues = "1\n00:00:00,500 --> 00:00:01,000\nHello\n\n2\n00:00:01,200 --> 00:00:01,800\nWorld\n\n"
    (tmp_path / "cues.srt").write_text(cues)
    movie = tmp_path / "subbed.mkv"
    with av.open(source) as media, av.open(str(tmp_path / "cues.srt")) as text, av.open(str(movie), "w") as mkv:
        pairs = [(media, media.streams.video[0]), (text, text.streams[0])]
        copies = [mkv.add_stream_from_template(src) for _, src in pairs]  # all streams before the first packet
        for (container, src), copy in zip(pairs, copies, strict=True):
            for packet in container.demux(src):
                if packet.size:
                    packet.stream = copy
                    mkv.mux(packet)
    out = process("StreamExtract", extract((1, "subs/${InputName}.${ext}")), str(movie))
    assert out.result.files[0].ext == "srt"
    assert Path(out.path()).read_text().replace("\r\n", "\n") == cues


def test_a_stream_that_is_neither_media_nor_text_is_refused(process: Process, source: str, tmp_path: Path) -> None:
    tagged = tmp_path / "timecode.mov"
    with av.open(source) as media, av.open(str(tagged), "w") as mov:
        copy = mov.add_stream_from_template(media.streams.video[0])
        mov.metadata["timecode"] = "01:00:00:00"  # the mov muxer adds a tmcd track: a data stream
        for packet in media.demux(media.streams.video[0]):
            if packet.size:
                packet.stream = copy
                mov.mux(packet)
    with av.open(str(tagged)) as check:
        assert [s.type for s in check.streams] == ["video", "data"]
    with pytest.raises(JobFailed) as failed:
        process("StreamExtract", extract((1, "tc")), str(tagged))
    assert failed.value.code == "InvalidArgument"
    assert failed.value.message == ("Request.Operation.Output.StreamExtract[0].Index 1: stream 1 is a data stream; "
                                    "only video, audio and subtitle streams can be extracted")


def test_the_container_table_holds_together() -> None:
    for codec, ext in DEFAULTS.items():
        assert codec in BOXES[ext].codecs, (codec, ext)
    for kind, ext in FALLBACK.items():
        assert kind in BOXES[ext].kinds, (kind, ext)
    doc = driver.__doc__ or ""
    for codec, ext in DEFAULTS.items():  # the driver's docstring documents every default
        assert any(codec in row and f"| {ext} " in row for row in doc.splitlines()), codec


def _remux(src: str, dst: Path, fmt: str, offset: float) -> str:
    """`src` copied into `dst`, every timestamp `offset` seconds later."""
    with av.open(src) as inp, av.open(str(dst), "w", format=fmt) as out:
        copies = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if not packet.size:
                continue
            assert packet.time_base is not None
            shift = int(offset / packet.time_base)
            packet.pts = None if packet.pts is None else packet.pts + shift
            packet.dts = None if packet.dts is None else packet.dts + shift
            packet.stream = copies[packet.stream_index]
            out.mux(packet)
    return str(dst)


def test_the_typed_operation_lists_the_entries_and_pickles() -> None:
    op = tags.parse("StreamExtract", extract((1, "a/${Number}.${ext}"), (0, "v.mkv")))
    assert isinstance(op, StreamExtractOp) and pickle.loads(pickle.dumps(op)) == op
    where = "Request.Operation.Output.StreamExtract"
    assert op.entries == (Entry("1", "a/${Number}.${ext}", f"{where}[0]"), Entry("0", "v.mkv", f"{where}[1]"))
