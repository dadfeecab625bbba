"""Segment processor: packet copy, key-frame splits, time windows, HLS (plain and AES-128) and DASH."""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from Crypto.Cipher import AES  # pycryptodome, installed with the COS SDK: tests only

from ci_jobs import tags
from ci_jobs.errors import JobFailed
from ci_jobs.media import OutputFile
from ci_jobs.storage import hash_path
from ci_jobs.tags.segment import SegmentOp
from ci_jobs.tags.streams import HlsEncrypt

from .conftest import Outcome, make_clip

Process = Callable[..., Outcome]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """12 s, 160x120, 10 fps, a key frame every second, AAC: long enough for 5 s pieces."""
    return make_clip(tmp_path_factory.mktemp("seg") / "long.mp4", w=160, h=120, seconds=12.0, fps=10, gop=10)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """4 s, 320x240, 25 fps, a key frame every second, AAC."""
    return make_clip(tmp_path_factory.mktemp("seg") / "short.mp4", seconds=4.0, gop=25)


def segment(fmt: str, obj: str = "out/clip.${ext}", **params: Any) -> dict[str, Any]:
    """A Request.Operation with an inline Segment."""
    return {"Segment": {"Format": fmt, **params},
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": obj}}


def packets(path: str, kind: str) -> list[tuple[bytes, bool]]:
    """(payload, key frame) of every packet of the first `kind` stream."""
    with av.open(path) as c:
        stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        return [(bytes(p), p.is_keyframe) for p in c.demux(stream) if p.size]


def frames(path: str, **options: str) -> dict[str, Any]:
    """Decode everything: frame counts, first timestamps, the stream's codec parameters."""
    out: dict[str, Any] = {"video": 0, "audio": 0, "first": {}}
    with av.open(path, options=options) as c:
        out["duration"] = c.duration / 1e6 if c.duration else None
        v = c.streams.video[0] if c.streams.video else None
        cc = v.codec_context if v else None
        out["params"] = (cc.name, cc.width, cc.height, bytes(cc.extradata or b"")) if cc else None
        for frame in c.decode(*c.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            out[kind] += 1
            out["first"].setdefault(kind, frame.time)
    return out


def test_remux_copies_every_packet_unchanged(process: Process, short_clip: str) -> None:
    out = process("Segment", segment("mkv"), short_clip)
    assert out.result.files == (OutputFile("piece-00000.mkv"),) and out.result.ext == "mkv"
    # same payloads in the same order: copied, not re-encoded
    assert packets(out.path(), "video") == packets(short_clip, "video")
    assert packets(out.path(), "audio") == packets(short_clip, "audio")
    got, src = frames(out.path()), frames(short_clip)
    assert got["params"] == src["params"] and (got["video"], got["audio"]) == (src["video"], src["audio"]) == (100, 174)
    assert float(out.result.media_info["Format"]["Duration"]) == pytest.approx(4.0, abs=0.05)
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress)


@pytest.mark.parametrize("fmt", ["mp4", "ts", "flv", "avi"])
def test_every_video_container_decodes(process: Process, short_clip: str, fmt: str) -> None:
    out = process("Segment", segment(fmt), short_clip)
    got = frames(out.path())
    assert (got["video"], got["audio"]) == (100, 174)
    assert got["params"][:3] == ("h264", 320, 240)
    assert out.result.ext == fmt and out.path().endswith(f".{fmt}")


def test_audio_only_format_keeps_the_audio_packets(process: Process, short_clip: str) -> None:
    out = process("Segment", segment("aac"), short_clip)
    # ADTS frames are the raw AAC frames behind a 7-byte header
    assert [p[7:] for p, _ in packets(out.path(), "audio")] == [p for p, _ in packets(short_clip, "audio")]
    got = frames(out.path())
    assert got["video"] == 0 and got["audio"] == 174


@pytest.mark.parametrize(("fmt", "acodec", "container"), [("mp3", "libmp3lame", "mp3"), ("flac", "flac", "flac")])
def test_audio_only_formats_take_their_own_codec(process: Process, clip: Callable[..., str], fmt: str, acodec: str,
                                                 container: str) -> None:
    source = clip(f"in.{fmt}.src", video=False, acodec=acodec, container=container, seconds=1.0)
    out = process("Segment", segment(fmt), source)
    assert out.result.ext == fmt and out.path().endswith(f".{fmt}")
    assert frames(out.path())["audio"] == frames(source)["audio"] > 0


def test_audio_only_format_refuses_another_codec(process: Process, short_clip: str) -> None:
    with pytest.raises(JobFailed) as err:
        process("Segment", segment("mp3"), short_clip)
    assert err.value.code == "InvalidArgument" and "aac" in err.value.message


def test_duration_splits_at_key_frames(process: Process, long_clip: str) -> None:
    out = process("Segment", segment("mp4", "out/piece-${Number}.${ext}", Duration="5"), long_clip)
    names = [f.name for f in out.result.files]
    assert len(names) == 3 and all(f.role == "main" for f in out.result.files)
    pieces = [frames(out.path(i)) for i in range(3)]
    assert [p["video"] for p in pieces] == [50, 50, 20]  # cuts on the key frames at 5 s and 10 s
    assert sum(p["audio"] for p in pieces) == frames(long_clip)["audio"]
    assert all(p["first"]["video"] == 0 for p in pieces)  # each piece starts at zero
    assert sum(p["duration"] for p in pieces) == pytest.approx(12.0, abs=0.1)
    # the pieces' packets, end to end, are the source's packets, and each starts on a key frame
    parts = [packets(out.path(i), "video") for i in range(3)]
    assert [p for part in parts for p in part] == packets(long_clip, "video")
    assert all(part[0][1] for part in parts)
    assert out.result.media_info["Format"]["Duration"].startswith("5.0")
    # the audio goes with the video it plays under: 5, 5 and 2 s of it
    heard = [sum(f.samples for f in av.open(out.path(i)).decode(audio=0)) / 44100 for i in range(3)]
    assert heard == [pytest.approx(s, abs=0.05) for s in (5.0, 5.0, 2.0)]
    # each piece was hashed as it was finished, for storing without reading it again
    assert [f.hashes for f in out.result.files] == [hash_path(out.path(i)) for i in range(3)]


def test_window_starts_on_the_key_frame_before_start_time(process: Process, long_clip: str) -> None:
    out = process("Segment", segment("mkv", StartTime="2.5", EndTime="6"), long_clip)
    got = frames(out.path())
    assert got["video"] == 40  # key frame at 2 s up to 6 s
    assert got["first"]["video"] == 0 and got["duration"] == pytest.approx(4.0, abs=0.1)
    source = packets(long_clip, "video")
    assert packets(out.path(), "video") == source[20:60]


def test_start_time_past_the_end_is_refused(process: Process, short_clip: str) -> None:
    with pytest.raises(JobFailed) as err:
        process("Segment", segment("mp4", StartTime="30"), short_clip)
    assert err.value.code == "InvalidArgument" and "StartTime" in err.value.message


@pytest.mark.parametrize(("params", "obj", "fragment"), [
    ({"Duration": "5"}, "out/clip.mp4", "${Number}"),
    ({"Duration": "3"}, "out/clip-${Number}.mp4", "Duration"),
    ({"Duration": "5.5"}, "out/clip-${Number}.mp4", "whole number"),
    ({"HlsEncrypt": {"IsHlsEncrypt": "true"}}, "out/clip.mp4", "IsHlsEncrypt"),
    ({"StartTime": "5", "EndTime": "2"}, "out/clip.mp4", "EndTime"),
    ({"HlsEncrypt": {"IsHlsEncrypt": "true", "UriKey": "k.key\n/etc/passwd"}}, "out/clip.mp4", "UriKey"),
])
def test_invalid_parameters(process: Process, short_clip: str, params: dict[str, Any], obj: str,
                            fragment: str) -> None:
    with pytest.raises(JobFailed) as err:
        process("Segment", segment("mp4", obj, **params), short_clip)
    assert err.value.code == "InvalidArgument" and fragment in err.value.message


def playlist(path: str) -> list[tuple[str, dict[str, str]]]:
    """(segment URI, attributes of the EXT-X-KEY in force) for each media segment of an m3u8."""
    key: dict[str, str] = {}
    out = []
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh if line.strip()]
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    for line in lines:
        if line.startswith("#EXT-X-KEY:"):
            key = dict(re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line[len("#EXT-X-KEY:"):]))
            key = {k: v.strip('"') for k, v in key.items()}
        elif not line.startswith("#"):
            out.append((line, key))
    return out


def decrypt(data: bytes, key: bytes, attrs: dict[str, str], sequence: int) -> bytes:
    """AES-128-CBC with PKCS#7 padding; IV from the playlist, else the media sequence number."""
    iv = bytes.fromhex(attrs["IV"][2:]) if "IV" in attrs else sequence.to_bytes(16, "big")
    plain = AES.new(key, AES.MODE_CBC, iv).decrypt(data)
    return plain[: -plain[-1]]


def test_hls_playlist_names_its_segments_relative(process: Process, long_clip: str) -> None:
    out = process("Segment", segment("hls", "out/${jobid}/show.${ext}", Duration="5"), long_clip)
    files = out.result.files
    assert files[0] == OutputFile("show.m3u8") and out.result.ext == "m3u8"
    entries = playlist(out.path())
    assert [uri for uri, _ in entries] == [f.name for f in files[1:]] == [f"show-0000{i}.ts" for i in range(3)]
    assert all(f.role == "segment" and "/" not in f.name for f in files[1:])
    got = frames(out.path())
    assert (got["video"], got["audio"]) == (120, frames(long_clip)["audio"])
    assert float(out.result.media_info["Format"]["Duration"]) == pytest.approx(12.0, abs=0.1)
    assert not any(name.startswith(".") for name in os.listdir(out.outdir))


def test_hls_aes128_segments_decrypt_and_decode(process: Process, long_clip: str, tmp_path: Path) -> None:
    op = segment("m3u8", Duration="5", HlsEncrypt={"IsHlsEncrypt": "true"})
    out = process("Segment", op, long_clip)
    files = {f.name: f.role for f in out.result.files}
    assert files["clip.key"] == "segment" and os.path.getsize(out.outdir / "clip.key") == 16
    key = (out.outdir / "clip.key").read_bytes()
    entries = playlist(out.path())
    assert len(entries) == 3
    total = 0
    for sequence, (uri, attrs) in enumerate(entries):
        assert attrs["METHOD"] == "AES-128" and attrs["URI"] == "clip.key"
        data = (out.outdir / uri).read_bytes()
        assert data[0] != 0x47 or data[188] != 0x47  # not plain MPEG-TS
        plain = tmp_path / f"plain-{sequence}.ts"
        plain.write_bytes(decrypt(data, key, attrs, sequence))
        got = frames(str(plain))
        assert got["params"][:3] == ("h264", 160, 120)
        total += got["video"]
    assert total == 120
    assert float(out.result.media_info["Format"]["Duration"]) == pytest.approx(12.0, abs=0.1)


def test_hls_uri_key_goes_into_the_playlist(process: Process, short_clip: str) -> None:
    uri = "https://keys.example.com/k?id=1"
    out = process("Segment", segment("hls", HlsEncrypt={"IsHlsEncrypt": "true", "UriKey": uri}), short_clip)
    entries = playlist(out.path())
    assert entries and all(attrs["URI"] == uri for _, attrs in entries)
    assert out.result.media_info["Stream"]["Video"][0]["Width"] == "320"


def test_dash_manifest_and_segments(process: Process, long_clip: str) -> None:
    out = process("Segment", segment("dash", "out/show.${ext}", Duration="5"), long_clip)
    files = out.result.files
    assert files[0] == OutputFile("show.mpd") and out.result.ext == "mpd"
    names = {f.name for f in files[1:]}
    assert {"show-init-0.m4s", "show-init-1.m4s"} <= names and len(names) == 2 + 3 + 3
    manifest = Path(out.path()).read_text()
    assert 'initialization="show-init-$RepresentationID$.m4s"' in manifest
    assert 'media="show-$RepresentationID$-$Number%05d$.m4s"' in manifest
    # an init segment plus its media segments is a playable fragmented MP4
    video = b"".join((out.outdir / n).read_bytes() for n in ["show-init-0.m4s", *sorted(
        n for n in names if n.startswith("show-0-"))])
    (out.outdir / "joined.mp4").write_bytes(video)
    assert frames(str(out.outdir / "joined.mp4"))["video"] == 120
    assert float(out.result.media_info["Format"]["Duration"]) == pytest.approx(12.0, abs=0.1)


def test_the_typed_operation_resolves_its_values_and_pickles() -> None:
    op = tags.parse("Segment", segment("M3U8", Duration="6", TranscodeIndex="1", StartTime="2", EndTime="9",
                                       HlsEncrypt={"IsHlsEncrypt": "true", "UriKey": " https://k.example/key "}))
    assert isinstance(op, SegmentOp) and pickle.loads(pickle.dumps(op)) == op
    assert (op.format, op.duration, op.transcode_index, op.start, op.end) == ("m3u8", 6.0, 1, 2.0, 9.0)
    assert (op.packaged, op.ext, op.output.object) == (True, "m3u8", "out/clip.${ext}")
    assert op.hls_encrypt == HlsEncrypt("https://k.example/key")
    plain = tags.parse("Segment", segment("mkv", HlsEncrypt={"UriKey": "k"}))
    assert (plain.packaged, plain.muxer, plain.ext) == (False, "matroska", "mkv")
    assert (plain.duration, plain.transcode_index, plain.start, plain.end) == (None, None, 0.0, None)
    assert plain.hls_encrypt is None
