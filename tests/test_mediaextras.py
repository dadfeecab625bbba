"""Submit-time rules of Transcode's extras (tags.transcode, tags.watermark), and the objects the runner fetches."""

from __future__ import annotations

from typing import Any

import pytest

from ci_jobs.errors import InvalidArgument
from ci_jobs.tags import check_operation as check
from ci_jobs.tags import referenced_objects


def job(**extra: Any) -> dict[str, Any]:
    video = extra.pop("video", {"Codec": "H.264"})
    return {"Transcode": {"Container": {"Format": extra.pop("fmt", "mp4")}, "Video": video}, **extra,
            "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.mp4"}}


def text_mark(**fields: str) -> dict[str, Any]:
    base = {"Type": "Text", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
            "Text": {"Text": "hello", "FontSize": fields.pop("FontSize", "20")}}
    return {**base, **fields}


@pytest.mark.parametrize(("op", "message"), [
    (job(Watermark=[text_mark()] * 4), "at most 3 times"),
    (job(Watermark=text_mark(LocMode="Relativity", Dx="120")), r"Dx 120 is out of range \[0, 100\]"),
    (job(Watermark=text_mark(Dx="5000")), r"Dx 5000 is out of range \[0, 4096\]"),
    (job(Watermark=text_mark(FontSize="200")), "FontSize 200"),
    (job(Watermark=text_mark(StartTime="5", EndTime="2")), "EndTime 2 must be after StartTime 5"),
    (job(Watermark={"Type": "Image", "Pos": "Top", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
                    "Image": {"Url": "a.png", "Mode": "Proportion", "Width": "150"}}), "Width 150"),
    (job(Watermark={"Type": "Image", "Pos": "Top", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
                    "Image": {"Url": "a.png", "Background": "true"}}), "Background true is not supported"),
    (job(RemoveWatermark={"Dx": "1", "Dy": "1", "Width": "10", "Height": "10"}, video={"Codec": "H.265"}),
     "RemoveWatermark is not supported for H.265"),
    (job(RemoveWatermark={"Dx": "1", "Dy": "1", "Width": "10"}), "RemoveWatermark.Height is required"),
    (job(Watermark=text_mark(), video={"Remove": "true"}), "need a video stream"),
    (job(DigitalWatermark={"Type": "Text", "Message": "x", "Version": "V2"}), "DigitalWatermark.Version V2 must be"),
])
def test_refused(op: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check("Transcode", op)


def test_accepted_and_fetched() -> None:
    url = "https://b-1.cos.ap-guangzhou.myqcloud.com/marks/a%20logo.png"
    op = job(Watermark=[text_mark(), {"Type": "Image", "Pos": "Center", "LocMode": "Relativity", "Dx": "0",
                                      "Dy": "0", "Image": {"Url": url, "Mode": "Fixed", "Height": "40"}}],
             RemoveWatermark={"Dx": "1", "Dy": "1", "Width": "10", "Height": "10", "Startime": "1", "Endtime": "2"},
             Subtitles={"Subtitle": [{"Url": "subs/a.srt", "Embed": "true"}]})
    op["Transcode"]["AudioMix"] = {"AudioSource": "bgm/a.mp3"}
    check("Transcode", op)
    assert referenced_objects("Transcode", op) == ["marks/a logo.png", "subs/a.srt", "bgm/a.mp3"]


@pytest.mark.parametrize("tag, params", [
    ("Snapshot", {"Snapshot": {"Mode": "Interval", "Count": "1"},
                  "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "s.jpg"}}),
    ("Animation", {"Animation": {"Container": {"Format": "gif"}, "Video": {"Codec": "gif"}},
                   "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "a.gif"}}),
])
def test_digital_watermark_refused_on_every_drawing_tag(tag: str, params: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument, match="DigitalWatermark is not supported"):
        check(tag, {**params, "DigitalWatermark": {"Type": "Text", "Message": "x", "Version": "V1"}})
    check(tag, params)


@pytest.mark.parametrize("key, value", [("ScanMode", "1"), ("Interlaced", "true"), ("Quality", "80"), ("Roi", "x"),
                                        ("StdExtInfo", "x"), ("ColorParam", {"ColorRange": "tv"}),
                                        ("DashSegment", "4"), ("LongShortMode", "true")])
def test_video_fields_without_an_effect_are_refused_not_ignored(key: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=rf"Transcode.Video.{key}.* is not supported yet"):
        check("Transcode", job(video={"Codec": "H.264", key: value}))
    check("Transcode", job(video={"Codec": "H.264", "LongShortMode": "false"}))


def test_snapshot_fps_is_refused_not_ignored() -> None:
    op = {"Snapshot": {"Mode": "Interval", "Count": "1", "Fps": "5"},
          "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "s.jpg"}}
    with pytest.raises(InvalidArgument, match="Snapshot.Fps is not supported yet"):
        check("Snapshot", op)
