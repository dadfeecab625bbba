"""VideoMontage: on a clip with three marked segments (fast pan + loud noise) among quiet still ones the
reel lasts Duration (within 10 %), shows >= 80 % of the marked seconds, and decodes with no glitch at the
cuts; Scene Soccer brings the build-up along; Container/Video/Audio/AudioMix change the output; the rest
is refused by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs.errors import InvalidArgument
from ci_jobs.media.interest import WINDOW, filled, normalised
from ci_jobs.media.videomontage import choose
from ci_jobs.tags import check_operation

from . import montage_clips as M
from .conftest import Outcome
from .test_audiomix import level, samples, tone

Run = Callable[..., Outcome]
SOCCER_MARKS = ((4.0, 7.0), (12.0, 15.0))
SHORT_MARKS = ((2.0, 4.5), (6.0, 8.5))


@pytest.fixture(scope="module")
def marked_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    return M.write(tmp_path_factory.mktemp("montage") / "marked.mp4")


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """10 s, two marked segments: enough for the tests of what each parameter does to the output."""
    return M.write(tmp_path_factory.mktemp("montage") / "short.mp4", SHORT_MARKS, seconds=10.0)


@pytest.fixture(scope="module")
def soccer_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    return M.write(tmp_path_factory.mktemp("montage") / "soccer.mp4", SOCCER_MARKS)


def montage(process: Run, path: str, key: str = "m/reel.${ext}", objects: dict[str, str] | None = None,
            **params: Any) -> Outcome:
    params.setdefault("Container", {"Format": "mp4"})
    return process("VideoMontage", {"VideoMontage": params, "Output": {"Object": key}}, path, objects=objects)


def spans(done: Outcome) -> list[tuple[float, float]]:
    assert done.result.data is not None
    return [(float(s["Start"]), float(s["End"])) for s in done.result.data["Segments"]]


def test_reel_lasts_duration_covers_the_marked_segments_and_cuts_cleanly(process: Run, marked_clip: str) -> None:
    done = montage(process, marked_clip, Duration="10")
    reel = M.decode_clean(done.path())
    assert abs(reel.length - 10) <= 1.0, reel.length
    assert abs(reel.audio_samples / reel.audio_rate - 10) <= 1.0
    assert M.coverage(reel, marked_clip) >= 0.8
    assert M.inside(reel, marked_clip) >= 0.8  # and little else
    cuts = np.cumsum([b - a for a, b in spans(done)])[:-1]
    assert len(cuts) == 2  # three stretches, in source order
    assert all(any(abs(k - c) < 0.5 / reel.fps for k in reel.keys) for c in cuts)  # each cut opens a key frame
    assert done.result.data is not None and "motion" in done.result.data["Signals"]
    assert [a for a, _ in spans(done)] == sorted(a for a, _ in spans(done))


@pytest.mark.parametrize("duration", [5.0, 14.0])
def test_duration_sets_the_reel_length(process: Run, marked_clip: str, duration: float) -> None:
    reel = M.decode_clean(montage(process, marked_clip, Duration=str(duration)).path())
    assert abs(reel.length - duration) <= 0.1 * duration, reel.length
    if duration < 9:  # shorter than the marked seconds: only marked pictures
        assert M.inside(reel, marked_clip) >= 0.9
    else:
        assert M.coverage(reel, marked_clip) >= 0.9


def test_without_duration_the_reel_is_what_stands_out(process: Run, marked_clip: str) -> None:
    reel = M.decode_clean(montage(process, marked_clip).path())
    assert 7.5 <= reel.length <= 10.5, reel.length  # the 9 marked seconds, within [5 s, half the clip]
    assert M.coverage(reel, marked_clip) >= 0.8 and M.inside(reel, marked_clip) >= 0.8
    reel = M.decode_clean(montage(process, marked_clip, Duration="auto").path())
    assert 7.5 <= reel.length <= 10.5


def test_a_duration_past_the_input_gives_all_of_it(process: Run, marked_clip: str) -> None:
    done = montage(process, marked_clip, Duration="60")
    assert len(spans(done)) == 1 and spans(done)[0] == pytest.approx((0.0, M.SECONDS), abs=0.1)
    assert abs(M.decode_clean(done.path()).length - M.SECONDS) < 0.2


def test_soccer_brings_the_build_up_before_each_peak(process: Run, soccer_clip: str) -> None:
    def lead(done: Outcome) -> list[float]:  # seconds of the 2 s before each marked segment that are kept
        return [sum(max(0.0, min(b, s) - max(a, s - 2)) for a, b in spans(done)) for s, _ in SOCCER_MARKS]

    soccer = montage(process, soccer_clip, Duration="10", Scene="Soccer")
    video = montage(process, soccer_clip, Duration="10", Scene="Video")
    assert all(x >= 1.5 for x in lead(soccer)), spans(soccer)
    assert all(x <= 1.0 for x in lead(video)), spans(video)
    reel = M.decode_clean(soccer.path())
    assert abs(reel.length - 10) <= 1.0
    assert M.coverage(reel, soccer_clip, SOCCER_MARKS) >= 0.8


def test_choice_fills_short_gaps_and_meets_the_count_exactly() -> None:
    scores = np.zeros(40)
    scores[[4, 5, 6, 9, 10, 11, 30]] = 1.0  # a 1 s gap between two stretches, and a lone window
    runs = choose(scores, 10 * WINDOW, 40 * WINDOW)
    assert sum(b - a for a, b in runs) == pytest.approx(10 * WINDOW)
    assert len(runs) == 1 and runs[0][0] <= 4 * WINDOW and runs[0][1] >= 12 * WINDOW  # gap filled, loner gone


def test_windows_without_a_sample_take_their_neighbours_value() -> None:
    nan = float("nan")
    assert filled(np.array([nan, 2.0, nan, 4.0, nan])).tolist() == [2.0, 2.0, 3.0, 4.0, 4.0]
    assert normalised(np.array([nan, 0.0, nan, 10.0] * 10), 1.0).max() == 1.0
    assert not normalised(np.array([5.0, 5.2, 5.1] * 10), 1.0).any()  # under its floor: no information


@pytest.mark.parametrize("fmt,muxer", [("flv", "flv"), ("ts", "mpegts"), ("mkv", "matroska"), ("mp4", "mov")])
def test_container_format_is_written(process: Run, short_clip: str, fmt: str, muxer: str) -> None:
    done = montage(process, short_clip, Duration="4", Container={"Format": fmt})
    assert done.path().endswith("." + fmt)
    with av.open(done.path()) as c:
        assert muxer in c.format.name
    reel = M.decode_clean(done.path())
    assert abs(reel.length - 4) <= 0.4


def test_hls_writes_a_playlist_and_segments(process: Run, short_clip: str) -> None:
    done = montage(process, short_clip, key="m/reel.m3u8", Duration="5", Container={"Format": "hls"})
    roles = [f.role for f in done.result.files]
    assert done.path().endswith(".m3u8") and roles[0] == "main" and "segment" in roles
    reel = M.decode_clean(done.path())
    assert abs(reel.length - 5) <= 0.5


@pytest.mark.parametrize("video,check", [
    ({"Width": "256", "Height": "144"}, lambda s: (s.codec_context.width, s.codec_context.height) == (256, 144)),
    ({"Width": "128"}, lambda s: (s.codec_context.width, s.codec_context.height) == (128, 72)),
    ({"Fps": "10"}, lambda s: float(s.average_rate) == 10),
    ({"Codec": "H.264"}, lambda s: s.codec_context.codec.name == "h264"),
])
def test_video_parameters_shape_the_picture(process: Run, short_clip: str, video: dict[str, str],
                                           check: Callable[[Any], bool]) -> None:
    done = montage(process, short_clip, Duration="4", Video=video)
    with av.open(done.path()) as c:
        assert check(c.streams.video[0])
    assert abs(M.decode_clean(done.path()).length - 4) <= 0.4


@pytest.mark.parametrize("key,low,high", [("Bitrate", "30", "600"), ("Crf", "45", "15")])
def test_video_rate_control_changes_the_size(process: Run, short_clip: str, key: str, low: str,
                                             high: str) -> None:
    sizes = [Path(montage(process, short_clip, Duration="6", Video={key: v}, Audio={"Remove": "true"}).path())
             .stat().st_size for v in (low, high)]
    assert sizes[0] * 2 < sizes[1], sizes


def test_video_remove_leaves_sound_only(process: Run, short_clip: str) -> None:
    done = montage(process, short_clip, Duration="5", Video={"Remove": "true"})
    with av.open(done.path()) as c:
        assert not c.streams.video and c.streams.audio
    assert abs(M.decode_clean(done.path()).length - 5) <= 0.5


@pytest.mark.parametrize("audio,check", [
    ({"Codec": "mp3"}, lambda s: s.codec_context.codec.name.startswith("mp3")),
    ({"Samplerate": "22050"}, lambda s: s.codec_context.sample_rate == 22050),
    ({"Channels": "2"}, lambda s: s.codec_context.channels == 2),
    ({"Channels": "1"}, lambda s: s.codec_context.channels == 1),
])
def test_audio_parameters_shape_the_sound(process: Run, short_clip: str, audio: dict[str, str],
                                          check: Callable[[Any], bool]) -> None:
    done = montage(process, short_clip, Duration="4", Audio=audio)
    with av.open(done.path()) as c:
        assert check(c.streams.audio[0])
    M.decode_clean(done.path())


def test_audio_bitrate_and_remove(process: Run, short_clip: str) -> None:
    def audio_bytes(bitrate: str) -> int:
        done = montage(process, short_clip, Duration="6", Video={"Remove": "true"}, Audio={"Bitrate": bitrate})
        return Path(done.path()).stat().st_size

    assert audio_bytes("32") * 2 < audio_bytes("192")
    done = montage(process, short_clip, Duration="4", Audio={"Remove": "true"})
    with av.open(done.path()) as c:
        assert c.streams.video and not c.streams.audio


def test_audio_mix_lays_music_under_the_reel(process: Run, short_clip: str, tmp_path: Path) -> None:
    music = tone(tmp_path / "music.m4a", 1000, 3.0)
    mix = {"AudioSource": "https://b-1250000000.cos.ap-guangzhou.myqcloud.com/bgm.m4a"}
    objects = {"bgm.m4a": music}
    mixed = montage(process, short_clip, Duration="6", AudioMix=mix, objects=objects)
    plain = montage(process, short_clip, Duration="6")
    heard, before = samples(mixed.path()), samples(plain.path())
    assert level(heard, 1000) > 0.1 and level(before, 1000) < 0.02  # looped (Repeat) under all 8 s
    assert level(heard[-44100:], 1000) > 0.1
    replaced = montage(process, short_clip, Duration="6", AudioMix={**mix, "Replace": "true"}, objects=objects)
    only = samples(replaced.path())
    assert level(only, 1000) > 0.1 and np.std(only - np.mean(only)) < np.std(heard)  # the noise is gone
    once = montage(process, short_clip, Duration="6", AudioMix={**mix, "MixMode": "Once", "Replace": "true"},
                   objects=objects)
    tail = samples(once.path())[-2 * 44100:]
    assert np.abs(tail).max() < 0.01  # the 3 s track played once: silence after it
    M.decode_clean(mixed.path())


@pytest.mark.parametrize("params,named", [
    ({"Container": {"Format": "webm"}}, "Container.Format"),
    ({"Container": {}}, "Container.Format"),
    ({"Video": {"Codec": "H.265"}}, "Video.Codec"),
    ({"Video": {"Gop": "50"}}, "Video.Gop"),
    ({"Video": {"Rotate": "90"}}, "Video.Rotate"),
    ({"Video": {"Width": "161"}}, "Video.Width"),
    ({"Video": {"Width": "100"}}, "Video.Width"),
    ({"Video": {"Fps": "61"}}, "Video.Fps"),
    ({"Video": {"Bitrate": "5"}}, "Video.Bitrate"),
    ({"Video": {"Crf": "52"}}, "Video.Crf"),
    ({"Audio": {"Codec": "opus"}}, "Audio.Codec"),
    ({"Audio": {"SampleFormat": "fltp"}}, "Audio.SampleFormat"),
    ({"Audio": {"Bitrate": "2000"}}, "Audio.Bitrate"),
    ({"Audio": {"Samplerate": "12345"}}, "Audio.Samplerate"),
    ({"Audio": {"Remove": "true"}, "Video": {"Remove": "true"}}, "Audio.Remove"),
    ({"Duration": "0"}, "Duration"),
    ({"Duration": "-3"}, "Duration"),
    ({"Duration": "ten"}, "Duration"),
    ({"Scene": "Tennis"}, "Scene"),
    ({"TimeInterval": {"Start": "1"}}, "TimeInterval"),
    ({"AudioMix": {"MixMode": "Once"}}, "AudioMix.AudioSource"),
    ({"AudioMix": {"AudioSource": "x.mp3"}, "Audio": {"Remove": "true"}}, "AudioMix"),
    ({"AudioMixArray": [{"AudioSource": "a"}, {"AudioSource": "b"}, {"AudioSource": "c"}]}, "AudioMixArray"),
])
def test_wrong_parameters_are_refused_by_name(params: dict[str, Any], named: str) -> None:
    body = {"Container": {"Format": "mp4"}, **params}
    with pytest.raises(InvalidArgument) as err:
        check_operation("VideoMontage", {"VideoMontage": body, "Output": {"Object": "o.mp4"}})
    assert f"Request.Operation.VideoMontage.{named}" in err.value.message


def test_an_input_without_pictures_or_sound_fails(process: Run, tmp_path: Path) -> None:
    from ci_jobs.errors import JobFailed

    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00" * 4096)
    with pytest.raises(JobFailed):
        montage(process, str(path), Duration="3")


def test_inputs_without_sound_or_pictures_and_turned_ones(process: Run, clip: Callable[..., str],
                                                          tmp_path: Path) -> None:
    from ci_jobs.errors import JobFailed

    sound = clip(video=False, seconds=8.0)
    done = montage(process, sound, Duration="3")
    with av.open(done.path()) as c:
        assert not c.streams.video and c.streams.audio
    assert abs(M.decode_clean(done.path()).length - 3) <= 0.3
    silent = clip(audio=False, seconds=6.0, w=160, h=96)
    reel = M.decode_clean(montage(process, silent, Duration="3").path())
    assert abs(reel.length - 3) <= 0.3 and reel.audio_samples == 0
    music = tone(tmp_path / "bgm.m4a", 1000, 2.0)
    with pytest.raises(JobFailed) as err:
        montage(process, silent, Duration="3", AudioMix={"AudioSource": "bgm.m4a"}, objects={"bgm.m4a": music})
    assert "VideoMontage.AudioMix" in err.value.message
    turned = clip(seconds=4.0, w=160, h=96, rotation=90)
    with av.open(montage(process, turned, Duration="2").path()) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (96, 160)  # stood upright


def test_faces_pick_the_shot_with_a_face(process: Run, tmp_path: Path) -> None:
    """Three still, equally quiet 4 s shots of a grainy picture; the middle one, less sharp, shows a face (the
    `vision` extra's Haar cascade): it is chosen, and without the face signal another shot would be."""
    import os
    from dataclasses import replace

    from PIL import Image

    from ci_jobs.media.common import Ticker, open_input
    from ci_jobs.media.interest import analyse, face_detector, score

    if face_detector() is None:
        message = "faces need OpenCV 4 with its Haar cascade: pip install 'ci-jobs[vision]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from .videotag_clips import astronaut

    grain = np.random.default_rng(0).normal(0, 40, (M.H, M.W, 1))
    still = np.clip(M.P.texture(M.W, M.H, seed=2) + grain, 0, 255).astype(np.uint8)
    face = still.copy()
    face[5:85, 40:120] = np.asarray(Image.fromarray(astronaut()[15:215, 125:325]).resize(
        (80, 80), Image.Resampling.LANCZOS))
    pictures = [still] * (4 * M.FPS) + [face] * (4 * M.FPS) + [still] * (4 * M.FPS)
    path = M.P.write(tmp_path / "face.mp4", pictures, fps=M.FPS, audio=True)
    done = montage(process, path, Duration="3")
    assert done.result.data is not None and "faces" in done.result.data["Signals"]
    assert all(4.0 <= a and b <= 8.0 for a, b in spans(done)), spans(done)
    with open_input(path) as inp:
        signals = analyse(inp, Ticker(lambda p: None, None))
    blind = choose(score(replace(signals, faces=None), "video"), 3.0, signals.total)
    assert all(b <= 4.0 or a >= 8.0 for a, b in blind), blind  # the sharper faceless shots win without it


def test_speech_picks_the_talk_among_equally_loud_noise(process: Run, tmp_path: Path) -> None:
    """A still picture; 4 s of noise, 4 s of Tts speech, 4 s of noise, all at -20 dBFS RMS: the Silero VAD
    signal (the `speech` extra) chooses the talk, which loudness alone would not."""
    from dataclasses import replace

    from ci_jobs.media.common import Ticker, open_input
    from ci_jobs.media.interest import analyse, score

    pytest.importorskip("faster_whisper", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")
    pytest.importorskip("hibari", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")
    from .videotag_clips import spoken
    from .videotag_clips import write as write_clip

    talk = spoken("Good evening and welcome to the museum, where the new paintings are on show tonight.")
    talk = np.concatenate([talk, np.zeros(max(0, 4 * 16000 - len(talk)), np.float32)])[:4 * 16000]
    noise = np.random.default_rng(4).normal(0, 0.1, 4 * 16000).astype(np.float32)
    sound = np.concatenate([noise, talk, np.random.default_rng(5).normal(0, 0.1, 4 * 16000).astype(np.float32)])
    path = tmp_path / "talk.mp4"
    write_clip(path, [M.P.texture(M.W, M.H, seed=2)] * (12 * M.FPS), M.FPS, sound)
    done = montage(process, str(path), Duration="3")
    assert done.result.data is not None and "speech" in done.result.data["Signals"]
    assert all(4.0 <= a and b <= 8.0 for a, b in spans(done)), spans(done)
    with open_input(str(path)) as inp:
        signals = analyse(inp, Ticker(lambda p: None, None))
    deaf = choose(score(replace(signals, speech=None), "video"), 3.0, signals.total)
    assert not all(4.0 <= a and b <= 8.0 for a, b in deaf), deaf  # loudness alone picks noise too


def test_damaged_input_and_music_still_make_a_clean_reel_or_a_named_failure(process: Run, marked_clip: str,
                                                                           tmp_path: Path) -> None:
    from ci_jobs.errors import JobFailed

    data = bytearray(Path(marked_clip).read_bytes())
    rng = np.random.default_rng(3)
    for at in rng.integers(len(data) // 3, 2 * len(data) // 3, 200):  # 200 flipped bytes in the middle third
        data[at] ^= 0xFF
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    reel = M.decode_clean(montage(process, str(damaged), Duration="10").path())
    assert abs(reel.length - 10) <= 1.0 and M.coverage(reel, marked_clip) >= 0.7
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"\x00" * 2048)
    with pytest.raises(JobFailed) as err:
        montage(process, marked_clip, Duration="4", AudioMix={"AudioSource": "junk.m4a"},
                objects={"junk.m4a": str(junk)})
    assert "Request.Operation.VideoMontage.AudioMix[1].AudioSource" in err.value.message


def test_audio_mix_array_and_effects_follow_the_reel(process: Run, short_clip: str, tmp_path: Path) -> None:
    objects = {"a.m4a": tone(tmp_path / "a.m4a", 1000, 2.0), "b.m4a": tone(tmp_path / "b.m4a", 1500, 2.0)}
    fade = {"EnableStartFadein": "true", "StartFadeinTime": "1", "EnableEndFadeout": "true", "EndFadeoutTime": "1"}
    done = montage(process, short_clip, Duration="5", Audio={"Remove": "false"},
                   AudioMixArray=[{"AudioSource": "a.m4a", "Replace": "true", "EffectConfig": fade},
                                  {"AudioSource": "b.m4a"}], objects=objects)
    heard = samples(done.path())
    assert level(heard, 1000) > 0.03 and level(heard, 1500) > 0.05  # both tracks, looped
    first, middle, last = heard[:2205], heard[2 * 44100:3 * 44100], heard[-2205:]
    assert level(middle, 1000) > 4 * level(first, 1000) and level(middle, 1000) > 4 * level(last, 1000)
    assert abs(len(heard) / 44100 - 5) < 0.1  # the fade-out ends with the 5 s reel
