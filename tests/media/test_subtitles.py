"""Subtitles: srt/vtt/ass embedded as streams (mp4 mov_text, mkv srt/ass) or burnt in during their cues."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.errors import InvalidArgument
from ci_jobs.tags import check_operation as check

from .conftest import Outcome

Process = Callable[..., Outcome]
Clip = Callable[..., str]

SRT = "1\n00:00:00,400 --> 00:00:00,800\n你好，字幕\n\n2\n00:00:01,200 --> 00:00:01,600\n<i>second</i> line\n"
VTT = "WEBVTT\n\nintro\n00:00.400 --> 00:00.800 align:center\n你好，字幕\n\n00:01.200 --> 00:01.600\nsecond line\n"
ASS = ("[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
       "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
       "Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
       "Style: Big,Arial,28,&H00FFFF,&H00FFFF,&H0,&H0,1,0,0,0,100,100,0,0,1,2,0,2,10,10,10,0\n\n[Events]\n"
       "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
       "Dialogue: 0,0:00:00.40,0:00:00.80,Big,,0,0,0,,{\\b1}你好，字幕\n"
       "Dialogue: 0,0:00:01.20,0:00:01.60,Big,,0,0,0,,second\\Nline\n")


def operation(fmt: str, *subs: dict[str, str], **params: Any) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": fmt}, **params}, "Subtitles": {"Subtitle": list(subs)},
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.${ext}"}}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Task.objects with one subtitle file of each kind (the srt also as GBK)."""
    paths = {}
    for name, body, encoding in (("s.srt", SRT, "utf-8"), ("s.vtt", VTT, "utf-8"), ("s.ass", ASS, "utf-8"),
                                 ("gbk.srt", SRT, "gb18030")):
        path = tmp_path / name
        path.write_bytes(body.encode(encoding))
        paths[f"subs/{name}"] = str(path)
    return paths


@pytest.fixture
def grey(clip: Clip) -> str:
    return clip(pattern="color=c=0x303030", seconds=2.0, w=320, h=240)


def cues(path: str) -> tuple[str, list[tuple[float, float, str]]]:
    """The codec of the first subtitle stream and its (start, end, text) cues."""
    with av.open(path) as container:
        stream = container.streams.subtitles[0]
        found = []
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            for rect in stream.codec_context.decode2(packet) or ():
                start = float(packet.pts * packet.time_base)
                found.append((start, start + float(packet.duration * packet.time_base),
                              bytes(rect.ass).decode().split(",", 8)[-1]))
        return stream.codec_context.codec.canonical_name, found


@pytest.mark.parametrize(("fmt", "name", "codec"), [
    ("mp4", "s.srt", "mov_text"), ("mkv", "s.srt", "subrip"), ("mkv", "s.ass", "ass"), ("mp4", "s.vtt", "mov_text"),
    ("mp4", "gbk.srt", "mov_text"),
])
def test_embedded_stream(process: Process, grey: str, files: dict[str, str], fmt: str, name: str,
                         codec: str) -> None:
    out = process("Transcode", operation(fmt, {"Url": f"subs/{name}", "Embed": "true"}), grey, objects=files)
    got_codec, got = cues(out.path())
    assert got_codec == codec
    assert [(round(a, 2), round(b, 2)) for a, b, _ in got] == [(0.4, 0.8), (1.2, 1.6)]
    assert "你好，字幕" in got[0][2] and "second" in got[1][2]
    assert out.result.media_info["Stream"].get("Subtitle")


def test_time_interval_shifts_cues(process: Process, grey: str, files: dict[str, str]) -> None:
    op = operation("mkv", {"Url": "subs/s.srt", "Embed": "true"}, TimeInterval={"Start": "1"})
    _, got = cues(process("Transcode", op, grey, objects=files).path())
    assert [(round(a, 2), round(b, 2)) for a, b, _ in got] == [(0.2, 0.6)]


def luma(path: str) -> list[np.ndarray[Any, Any]]:
    with av.open(path) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


@pytest.mark.parametrize("name", ["s.srt", "s.vtt", "s.ass"])
def test_burnt_in_text_shows_during_its_cues_only(process: Process, grey: str, files: dict[str, str],
                                                   name: str) -> None:
    op = operation("mp4", {"Url": f"subs/{name}", "FontSize": "28", "FontColor": "0xFFFF00", "VMargin": "12"})
    burnt = luma(process("Transcode", op, grey, objects=files).path())
    plain = luma(process("Transcode", operation("mp4"), grey).path())
    changed = [i for i, (a, b) in enumerate(zip(burnt, plain, strict=True)) if np.abs(a - b).max() > 60]
    assert changed == [*range(10, 20), *range(30, 40)]  # 0.4-0.8 s and 1.2-1.6 s at 25 fps
    diff = np.abs(burnt[12] - plain[12]) > 60
    ys = np.nonzero(diff)[0]
    assert ys.min() > 240 * 0.6 and ys.max() <= 240 - 12  # bottom band, above VMargin
    assert diff.sum() > 200


def test_embed_needs_mp4_or_mkv() -> None:
    with pytest.raises(InvalidArgument, match="Embed true needs Container.Format mp4 or mkv"):
        check("Transcode", operation("flv", {"Url": "s.srt", "Embed": "true"}))
    check("Transcode", operation("flv", {"Url": "s.srt"}))  # burning in works everywhere


def test_subtitles_need_video() -> None:
    with pytest.raises(InvalidArgument, match="need a video stream"):
        check("Transcode", operation("mp3", {"Url": "s.srt"}))
