"""Concat processor: order, windows, letterboxing, silence, FADE/GRADIENT junctions, DirectConcat."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.engine.dispatch import run
from ci_jobs.errors import InvalidArgument, JobFailed
from ci_jobs.media import OutputFile

from ..tasks import make_task
from .conftest import Outcome, make_clip, ramp_value

Clips = dict[str, str]
Concat = Callable[..., Outcome]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    """Small clips keyed by bucket object key."""
    d = tmp_path_factory.mktemp("concat")
    return {
        "in/grey.mp4": make_clip(d / "grey.mp4", seconds=2.0, pattern="color=c=gray"),
        "in/white.mp4": make_clip(d / "white.mp4", w=240, h=240, seconds=1.0, pattern="color=c=white", audio=False),
        "in/red.mp4": make_clip(d / "red.mp4", seconds=1.0, pattern="color=c=red"),
        "in/blue.mp4": make_clip(d / "blue.mp4", seconds=1.0, pattern="color=c=blue"),
        "in/ramp.mp4": make_clip(d / "ramp.mp4", seconds=2.0, pattern="ramp"),
        "in/black.mp4": make_clip(d / "black.mp4", seconds=1.0, pattern="color=c=black"),
        "in/grey30.mp4": make_clip(d / "grey30.mp4", seconds=1.0, fps=30, pattern="color=c=gray"),
        "in/small.mp4": make_clip(d / "small.mp4", w=160, h=120, seconds=1.0),
        "in/mute.mp4": make_clip(d / "mute.mp4", seconds=1.0, pattern="color=c=red", audio=False),
    }


@pytest.fixture
def concat(tmp_path: Path, clips: Clips) -> Concat:
    """`concat(fragments, fmt="mp4", inputs=(), **template)` runs the Concat processor."""
    counter = itertools.count()

    def runner(frags: list[str | dict[str, str]], fmt: str = "mp4", inputs: tuple[str, ...] = (),
               **template: Any) -> Outcome:
        outdir = tmp_path / f"out-{next(counter)}"
        outdir.mkdir()
        fragment_list = [{"Url": f} if isinstance(f, str) else f for f in frags]
        op = {"ConcatTemplate": {"ConcatFragment": fragment_list, "Container": {"Format": fmt}, **template},
              "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "out/joined.${ext}"}}
        outcome = Outcome({}, outdir)
        outcome.result = run(make_task("Concat", op, inputs, str(outdir), objects=dict(clips), job_id="j1"),
                             outcome.progress.append)
        return outcome

    return runner


def length(path: str) -> float:
    with av.open(path) as c:
        return float(c.duration) / 1e6


def decode(path: str) -> dict[str, Any]:
    """Per video frame: (luma mean, RGB mean, left-edge luma); audio as one float array."""
    out: dict[str, Any] = {"luma": [], "rgb": [], "edge": [], "size": None, "audio": [], "rate": 0}
    with av.open(path) as c:
        out["codecs"] = sorted(s.codec_context.codec.canonical_name for s in c.streams)
        for frame in c.decode(*c.streams):
            if isinstance(frame, av.VideoFrame):
                grey = frame.to_ndarray(format="gray")
                out["size"] = (frame.width, frame.height)
                out["luma"].append(float(grey.mean()))
                out["edge"].append(float(grey[:, :20].mean()))
                out["rgb"].append(frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0))
            else:
                out["rate"] = frame.sample_rate
                out["audio"].append(frame.to_ndarray().reshape(-1))
    out["audio"] = np.concatenate(out["audio"]) if out["audio"] else np.zeros(0)
    return out


def test_reencoded_output_lasts_the_sum_of_its_fragments(concat: Concat, clips: Clips) -> None:
    out = concat(["in/grey.mp4", "in/white.mp4", "in/small.mp4"])
    assert out.result.files == (OutputFile("concat.mp4"),) and out.result.ext == "mp4"
    expected = sum(length(clips[k]) for k in ("in/grey.mp4", "in/white.mp4", "in/small.mp4"))
    assert length(out.path()) == pytest.approx(expected, abs=1 / 25)
    got = decode(out.path())
    assert got["codecs"] == ["aac", "h264"] and got["size"] == (320, 240)  # the first fragment's size
    assert len(got["luma"]) == pytest.approx(expected * 25, abs=1)
    # the square white fragment is letterboxed: black bars left and right, white in the middle
    white = got["luma"][55:75]
    assert min(white) > 150 and max(got["edge"][55:75]) < 20
    assert float(out.result.media_info["Format"]["Duration"]) == pytest.approx(expected, abs=1 / 25)
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress)


def test_a_fragment_without_audio_is_silence(concat: Concat) -> None:
    got = decode(concat(["in/grey.mp4", "in/white.mp4", "in/red.mp4"]).path())
    assert loudness(got, 0.5, 1.5) > 0.05  # grey: a sine (lavfi amplitude 1/8)
    assert loudness(got, 2.2, 2.8) < 0.01  # white: no audio stream
    assert loudness(got, 3.3, 3.7) > 0.05  # red: a sine
    assert len(got["audio"]) / (2 * got["rate"]) == pytest.approx(2.023 + 1.0 + 1.023, abs=0.05)


def loudness(got: dict[str, Any], start: float, end: float) -> float:
    """Peak level between two times of the decoded stereo audio."""
    per_second = 2 * got["rate"]  # stereo; each frame's samples flattened channel after channel
    return float(np.abs(got["audio"][int(start * per_second):int(end * per_second)]).max())


def test_input_goes_after_start_fragments_and_before_end_ones(concat: Concat, clips: Clips) -> None:
    frags = [{"Url": "in/red.mp4", "Mode": "End"}, {"Url": "in/blue.mp4", "Mode": "Start"}]
    got = decode(concat(frags, inputs=(clips["in/black.mp4"],)).path())
    assert _colours(got) == ["blue", "black", "red"]


def test_index_places_the_input(concat: Concat, clips: Clips) -> None:
    got = decode(concat(["in/red.mp4", "in/blue.mp4"], inputs=(clips["in/black.mp4"],), Index="1").path())
    assert _colours(got) == ["red", "black", "blue"]
    got = decode(concat(["in/red.mp4", "in/blue.mp4"], inputs=(clips["in/black.mp4"],), Index="0").path())
    assert _colours(got) == ["black", "red", "blue"]


def test_fragment_index_orders_the_fragments(concat: Concat) -> None:
    frags = [{"Url": "in/red.mp4", "FragmentIndex": "2"}, {"Url": "in/blue.mp4", "FragmentIndex": "1"}]
    assert _colours(decode(concat(frags).path())) == ["blue", "red"]


def _colours(got: dict[str, Any]) -> list[str]:
    names = {"red": (255, 0, 0), "blue": (0, 0, 255), "black": (0, 0, 0), "grey": (128, 128, 128)}
    seen: list[str] = []
    for rgb in got["rgb"]:
        name = min(names, key=lambda n: float(np.abs(rgb - names[n]).sum()))
        if not seen or seen[-1] != name:
            seen.append(name)
    return seen


def test_time_windows_of_fragments(concat: Concat, clips: Clips) -> None:
    frags = [{"Url": "in/ramp.mp4", "StartTime": "0.4", "EndTime": "1.0"}, {"Url": "in/ramp.mp4", "StartTime": "1.6"}]
    out = concat(frags)
    got = decode(out.path())
    tail = length(clips["in/ramp.mp4"]) - 1.6
    assert len(got["luma"]) == round(0.6 * 25) + round(tail * 25)
    assert length(out.path()) == pytest.approx(0.6 + tail, abs=1 / 25)
    assert got["luma"][0] == pytest.approx(ramp_value(10), abs=3)  # the frame at 0.4 s
    assert got["luma"][15] == pytest.approx(ramp_value(40), abs=3)  # the frame at 1.6 s


def test_frame_rate_and_size_follow_the_parameters(concat: Concat) -> None:
    out = concat(["in/grey.mp4", "in/grey30.mp4"], Video={"Codec": "H.264", "Width": "400", "Fps": "10"},
                 Audio={"Codec": "aac", "Samplerate": "22050", "Channels": "1"})
    info = out.result.media_info["Stream"]
    assert (info["Video"][0]["Width"], info["Video"][0]["Height"]) == ("400", "300")
    assert float(info["Video"][0]["Fps"]) == 10.0
    assert (info["Audio"][0]["SampleRate"], info["Audio"][0]["Channel"]) == ("22050", "1")
    assert len(decode(out.path())["luma"]) == pytest.approx(10 * (2.023 + 1.023), abs=1)


def test_fade_darkens_each_junction(concat: Concat) -> None:
    out = concat(["in/grey.mp4", "in/red.mp4", "in/grey.mp4"], SceneChangeInfo={"Mode": "FADE", "Time": "1"})
    got = decode(out.path())
    luma = got["luma"]
    steady = luma[20]
    assert len(luma) == pytest.approx(25 * (2.023 + 1.023 + 2.023), abs=1)  # fades cost no time
    for junction in (51, 77):  # frame index where the 2nd and the 3rd piece begin
        near = luma[junction - 2:junction + 2]
        assert min(near) < 0.2 * steady
        assert luma[junction - 12] > luma[junction - 6] > luma[junction - 1]  # fading out
        assert luma[junction] < luma[junction + 6] < luma[junction + 11]  # fading in
    assert loudness(got, 1.98, 2.06) < 0.2 * loudness(got, 0.5, 1.0)  # the sound dips there too


def test_gradient_crossfades_and_overlaps(concat: Concat) -> None:
    out = concat(["in/grey.mp4", "in/black.mp4"], SceneChangeInfo={"Mode": "GRADIENT", "Time": "0.4"})
    got = decode(out.path())
    luma = got["luma"]
    assert len(luma) == pytest.approx(25 * (2.023 + 1.023 - 0.4), abs=1)
    assert length(out.path()) == pytest.approx(2.023 + 1.023 - 0.4, abs=1 / 25)
    mix = luma[41:51]  # the 10 crossfaded frames
    assert all(a > b for a, b in itertools.pairwise(mix))
    assert luma[35] > mix[0] and mix[-1] > luma[55]
    assert luma[55] < 20 < 100 < luma[35]


def test_transition_time_is_capped_by_short_pieces(concat: Concat) -> None:
    out = concat(["in/red.mp4", "in/blue.mp4"], SceneChangeInfo={"Mode": "GRADIENT"})  # default 3 s
    assert length(out.path()) == pytest.approx(2 * 1.023 - 1.023 / 2, abs=1 / 25)


def test_audio_only_and_hls_outputs(concat: Concat) -> None:
    out = concat(["in/grey.mp4", "in/white.mp4"], fmt="mp3")
    assert out.result.ext == "mp3" and decode(out.path())["codecs"] == ["mp3"]
    assert length(out.path()) == pytest.approx(2.023 + 1.0, abs=0.1)
    out = concat(["in/grey.mp4", "in/red.mp4"], fmt="hls")
    files = out.result.files
    assert files[0] == OutputFile("joined.m3u8") and out.result.ext == "m3u8"
    assert {f.role for f in files[1:]} == {"segment"} and files[1].name.startswith("joined-")
    assert len(decode(out.path())["luma"]) == pytest.approx(25 * 3.046, abs=1)


def packet_sizes(path: str) -> list[int]:
    with av.open(path) as c:
        return [p.size for p in c.demux(c.streams.video[0]) if p.size]


def test_direct_concat_copies_packets(concat: Concat, clips: Clips) -> None:
    out = concat(["in/red.mp4", "in/blue.mp4", "in/red.mp4"], DirectConcat="true",
                 Video={"Width": "640"})  # ignored: nothing is encoded
    sizes = packet_sizes(out.path())
    red, blue = packet_sizes(clips["in/red.mp4"]), packet_sizes(clips["in/blue.mp4"])
    assert sizes == red + blue + red
    got = decode(out.path())
    assert got["size"] == (320, 240) and _colours(got) == ["red", "blue", "red"]
    assert len(got["luma"]) == 75
    assert length(out.path()) == pytest.approx(3 * 1.023, abs=0.05)
    with av.open(out.path()) as c, av.open(clips["in/red.mp4"]) as src:
        assert c.streams.video[0].codec_context.extradata == src.streams.video[0].codec_context.extradata


def test_direct_concat_refuses_different_codec_parameters(concat: Concat) -> None:
    with pytest.raises(JobFailed) as err:
        concat(["in/red.mp4", "in/small.mp4"], DirectConcat="true")
    assert err.value.code == "InvalidArgument" and "160x120" in err.value.message
    with pytest.raises(JobFailed) as err:
        concat(["in/red.mp4", "in/mute.mp4"], DirectConcat="true")
    assert err.value.code == "InvalidArgument" and "no stream" in err.value.message


def test_missing_fragment_object(tmp_path: Path) -> None:
    op = {"ConcatTemplate": {"ConcatFragment": {"Url": "in/none.mp4"}, "Container": {"Format": "mp4"}},
          "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.mp4"}}
    with pytest.raises(JobFailed) as err:
        run(make_task("Concat", op, (), str(tmp_path)), lambda p: None)
    assert err.value.code == "InputNotFound" and "in/none.mp4" in err.value.message


@pytest.mark.parametrize(("template", "fragment"), [
    ({"Container": {"Format": "mkv"}}, "Container.Format"),
    ({"Container": {"Format": "mp4"}, "Video": {"Codec": "H.265"}}, "H.264"),
    ({"Container": {"Format": "mp4"}, "Index": "5"}, "Index"),
    ({"Container": {"Format": "mp4"}, "DirectConcat": "true", "SceneChangeInfo": {"Mode": "FADE"}}, "DirectConcat"),
    ({"Container": {"Format": "mp4"}, "SceneChangeInfo": {"Mode": "FADE", "Time": "6"}}, "Time"),
    ({"Container": {"Format": "mp3"}, "Audio": {"Remove": "true"}}, "Remove"),
    ({"Container": {"Format": "mp4"}, "AudioMix": {"AudioSource": "a.mp3"}}, "not supported"),
])
def test_submit_time_checks(template: dict[str, Any], fragment: str) -> None:
    op = {"ConcatTemplate": {"ConcatFragment": [{"Url": "a.mp4"}], **template}}
    with pytest.raises(InvalidArgument) as err:
        tags.check_operation("Concat", op)
    assert fragment in err.value.message


def test_fragments_are_referenced_objects() -> None:
    op = {"ConcatTemplate": {"ConcatFragment": [
        {"Url": "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/in/a%20b.mp4"},
        {"Url": "/in/c.mp4"}, {"Url": "in/c.mp4"}], "Container": {"Format": "mp4"}}}
    assert tags.referenced_objects("Concat", op) == ["in/a b.mp4", "in/c.mp4"]
    assert tags.output_ext("Concat", {"ConcatTemplate": {"Container": {"Format": "hls"}}}) == "m3u8"
    assert tags.output_ext("Segment", {"Segment": {"Format": "dash"}}) == "mpd"
