"""Transcode into HLS (optionally AES-128) and DASH: a playlist/manifest plus its segments."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from Crypto.Cipher import AES

from ci_jobs.media import OutputFile

from .conftest import Outcome

Process = Callable[..., Outcome]


def op(fmt: str, **trans: Any) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": fmt, "ClipConfig": {"Duration": "1"}},
                          "Video": {"Codec": "H.264", "Width": "160"}, "Audio": {"Codec": "aac"},
                          "TransConfig": trans},
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "hls/show.${ext}"}}


def test_hls_playlist_and_segments(process: Process, clip: Callable[..., str]) -> None:
    out = process("Transcode", op("hls"), clip(seconds=3))
    files = out.result.files
    assert out.result.ext == "m3u8" and files[0] == OutputFile("show.m3u8")
    segments = [f.name for f in files if f.role == "segment"]
    assert len(segments) >= 3 and all(s.endswith(".ts") for s in segments)
    playlist = (out.outdir / "show.m3u8").read_text()
    assert [line for line in playlist.splitlines() if line and not line.startswith("#")] == segments
    with av.open(out.path()) as c:
        frames = [f for f in c.decode(video=0)]
        assert frames[0].width == 160 and 70 <= len(frames) <= 80
    assert float(out.result.media_info["Format"]["Duration"]) > 2.5


def test_hls_aes128(process: Process, clip: Callable[..., str], tmp_path: Path) -> None:
    out = process("Transcode", op("hls", HlsEncrypt={"IsHlsEncrypt": "true", "UriKey": "https://keys.example/k"}),
                  clip(seconds=2))
    playlist = (out.outdir / "show.m3u8").read_text()
    assert 'METHOD=AES-128,URI="https://keys.example/k"' in playlist
    key = (out.outdir / "show.key").read_bytes()
    first = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    iv_match = re.search(r"IV=0x([0-9a-fA-F]{32})", playlist)
    iv = bytes.fromhex(iv_match.group(1)) if iv_match else bytes(16)
    clear = AES.new(key, AES.MODE_CBC, iv).decrypt((out.outdir / first).read_bytes())
    clear = clear[:-clear[-1]]  # PKCS#7
    plain = tmp_path / "seg.ts"
    plain.write_bytes(clear)
    with av.open(str(plain)) as c:
        assert next(c.decode(video=0)).width == 160


def test_dash_manifest(process: Process, clip: Callable[..., str]) -> None:
    out = process("Transcode", op("dash"), clip(seconds=2))
    files = out.result.files
    assert files[0].name == "show.mpd" and out.result.ext == "mpd"
    assert any(f.name.endswith(".m4s") for f in files[1:])
    assert "<MPD" in (out.outdir / "show.mpd").read_text()
