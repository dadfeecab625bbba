"""AudioMix / AudioMixArray: background tracks heard in the output (FFT peaks), looped, faded, replacing."""

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
RATE = 44100


def tone(path: Path, frequency: int, seconds: float) -> str:
    """An AAC .m4a holding a sine of `frequency` Hz."""
    with av.open(str(path), "w", format="ipod") as out, \
            av.open(f"sine=frequency={frequency}:duration={seconds}:sample_rate={RATE}", format="lavfi") as sine:
        stream = out.add_stream("aac", rate=RATE, layout="stereo")
        for frame in sine.decode(audio=0):
            frame.pts = None
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def operation(*mixes: dict[str, Any], array: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {"Container": {"Format": "mp4"}}
    if array:
        params["AudioMixArray"] = list(mixes)
    else:
        params["AudioMix"] = mixes[0]
    return {"Transcode": params, "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.mp4"}}


def samples(path: str) -> np.ndarray[Any, Any]:
    """The output's first channel as floats."""
    with av.open(path) as container:
        chunks = [f.to_ndarray()[0] for f in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float64)


def level(signal: np.ndarray[Any, Any], frequency: float) -> float:
    """Amplitude of `frequency` in `signal` (Hann-windowed FFT peak near it)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)))) / len(signal) * 4
    bins = np.fft.rfftfreq(len(signal), 1 / RATE)
    near = np.abs(bins - frequency) < 15
    return float(spectrum[near].max())


@pytest.fixture
def source(clip: Clip) -> str:
    """A 2 s clip whose audio is a 440 Hz sine."""
    return clip(seconds=2.0, w=160, h=128)


def test_mixed_output_carries_both_tones(process: Process, source: str, tmp_path: Path) -> None:
    bgm = {"bgm/tone.m4a": tone(tmp_path / "bgm.m4a", 1000, 2.0)}
    out = process("Transcode", operation({"AudioSource": "bgm/tone.m4a"}), source, objects=bgm)
    signal = samples(out.path())
    assert len(signal) >= 1.9 * RATE
    assert level(signal, 440) > 0.05 and level(signal, 1000) > 0.05
    assert level(signal, 700) < 0.01


def test_replace_drops_the_input_audio(process: Process, source: str, tmp_path: Path) -> None:
    bgm = {"tone.m4a": tone(tmp_path / "bgm.m4a", 1000, 2.0)}
    out = process("Transcode", operation({"AudioSource": "tone.m4a", "Replace": "true"}), source, objects=bgm)
    signal = samples(out.path())
    assert level(signal, 1000) > 0.05 and level(signal, 440) < 0.01


def test_repeat_loops_and_once_stops(process: Process, source: str, tmp_path: Path) -> None:
    bgm = {"short.m4a": tone(tmp_path / "short.m4a", 1000, 0.5)}
    looped = samples(process("Transcode", operation({"AudioSource": "short.m4a"}), source, objects=bgm).path())
    once = samples(process("Transcode", operation({"AudioSource": "short.m4a", "MixMode": "Once"}), source,
                           objects=bgm).path())
    late = slice(int(1.2 * RATE), int(1.8 * RATE))
    assert level(looped[late], 1000) > 0.05
    assert level(once[late], 1000) < 0.01 and level(once[: int(0.4 * RATE)], 1000) > 0.05


def test_two_tracks_and_fades(process: Process, source: str, tmp_path: Path) -> None:
    objects = {"a.m4a": tone(tmp_path / "a.m4a", 1000, 2.0), "b.m4a": tone(tmp_path / "b.m4a", 2500, 2.0)}
    fade = {"EnableStartFadein": "true", "StartFadeinTime": "1", "EnableEndFadeout": "true", "EndFadeoutTime": "0.5"}
    op = operation({"AudioSource": "a.m4a", "EffectConfig": fade}, {"AudioSource": "b.m4a"}, array=True)
    signal = samples(process("Transcode", op, source, objects=objects).path())
    first, middle, last = (signal[int(a * RATE):int(b * RATE)] for a, b in ((0, 0.2), (1.1, 1.4), (1.85, 1.95)))
    assert level(signal, 2500) > 0.05
    assert level(first, 1000) < 0.5 * level(middle, 1000)   # faded in
    assert level(last, 1000) < 0.5 * level(middle, 1000)    # faded out
    assert level(last, 2500) > 0.7 * level(middle, 2500)    # the other track keeps its level


@pytest.mark.parametrize(("params", "message"), [
    ({"Container": {"Format": "mp4"}, "Audio": {"Remove": "true"}, "AudioMix": {"AudioSource": "a.mp3"}},
     "Audio.Remove"),
    ({"Container": {"Format": "mp4"}, "AudioMixArray": [{"AudioSource": "a"}] * 3}, "at most 2"),
    ({"Container": {"Format": "mp4"}, "AudioMix": {"AudioSource": "a", "MixMode": "Twice"}}, "MixMode"),
    ({"Container": {"Format": "mp4"}, "AudioMix": {"AudioSource": "a", "EffectConfig": {"EnableBgmFade": "true"}}},
     "BgmFadeTime is required"),
])
def test_rules(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check("Transcode", {"Transcode": params, "Output": {}})
