"""VoiceSeparate: on a voice + looped-music mix made here the vocal stem beats the mix by >= 3 dB SDR (mono);
every stem is written with the asked codec, rate and channels."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument
from ci_jobs.media import audio

from .conftest import Runner, snr, speak, write

RATE = 44100
OUT = {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "bg.${ext}", "AuObject": "v.${ext}",
       "BassObject": "bass.${ext}", "DrumObject": "drums.${ext}"}


def music(n: int) -> np.ndarray:
    """A looped accompaniment: chords, a bass line and a noise-burst drum every half second."""
    t, out, beat = np.arange(n) / RATE, np.zeros(n), int(0.5 * RATE)
    chords = ((220, 277, 330), (196, 247, 294), (175, 220, 262), (196, 247, 294))
    drum = np.random.default_rng(1).standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    for i, start in enumerate(range(0, n, beat)):
        seg = t[:min(beat, n - start)]
        f = chords[(i // 2) % 4]
        out[start:start + len(seg)] += sum(0.15 * np.sin(2 * np.pi * x * seg) for x in f) * np.exp(-2 * seg)
        out[start:start + len(seg)] += 0.3 * np.sin(np.pi * f[0] * seg)
        out[start:start + min(2000, len(seg))] += 0.4 * drum[:min(2000, len(seg))]
    return out


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    spoken = speak("The weather is lovely today, so we walked along the river and talked about our summer plans.")
    return audio.resample(spoken[None, :], 16000, RATE)[0]


def separate(process: Runner, path: str, mode: str, **config: str) -> tuple[list[str], Path]:
    result, folder = process("VoiceSeparate", {"VoiceSeparate": {"AudioMode": mode, "AudioConfig": config},
                                               "Output": OUT}, path)
    return [str(folder / f.name) for f in result.files], folder


def test_vocal_sdr_beats_the_mix(process: Runner, tmp_path: Path, voice: np.ndarray) -> None:
    accompaniment = music(len(voice))
    accompaniment *= np.sqrt(np.mean(voice ** 2) / np.mean(accompaniment ** 2))
    mono = (voice + accompaniment) * 0.5
    files, _ = separate(process, write(tmp_path / "mono.wav", mono[None, :], RATE), "IsAudio", Codec="flac")
    vocals = audio.load(files[0], RATE)[0]
    gain = snr(voice, vocals) - snr(voice, mono)
    stereo = np.stack([voice + 0.9 * accompaniment, voice + 0.3 * accompaniment]) * 0.5
    files, _ = separate(process, write(tmp_path / "stereo.wav", stereo, RATE), "IsAudio", Codec="flac", Channels="2")
    left = audio.load(files[0], RATE, 2)[0]
    stereo_gain = snr(voice, left) - snr(voice, stereo[0])
    print(f"vocal SDR gain: mono {gain:.1f} dB, stereo (left) {stereo_gain:.1f} dB")
    assert gain >= 3
    assert stereo_gain >= 2


@pytest.mark.parametrize(("mode", "config", "stems", "rate", "channels", "codec"), [
    ("MusicMode", {"Codec": "mp3", "Channels": "2"}, 4, 44100, 2, "mp3"),
    ("AudioAndBackground", {"Codec": "aac", "Samplerate": "22050", "Channels": "1", "Bitrate": "64"}, 2, 22050, 1,
     "aac"),
    ("IsBackground", {"Codec": "amr", "Samplerate": "8000"}, 1, 8000, 1, "amrnb"),
    ("IsAudio", {"Codec": "flac", "Samplerate": "48000", "Channels": "6"}, 1, 48000, 6, "flac"),
])
def test_stems_codec_rate_channels(process: Runner, tmp_path: Path, voice: np.ndarray, mode: str,
                                   config: dict[str, str], stems: int, rate: int, channels: int, codec: str) -> None:
    clip = write(tmp_path / "in.wav", np.stack([voice[:RATE * 2], voice[:RATE * 2]]) * 0.5, RATE)
    files, _ = separate(process, clip, mode, **config)
    assert len(files) == stems
    for path in files:
        with av.open(path) as c:
            stream = c.streams.audio[0]
            assert stream.codec_context.name.startswith(codec)  # mp3 decodes as mp3float
            assert (stream.sample_rate, stream.channels) == (rate, channels)
            assert sum(f.samples for f in c.decode(stream)) > rate
            if "Bitrate" in config:  # the encoder's average rate is the asked one
                assert stream.bit_rate == pytest.approx(int(config["Bitrate"]) * 1000, rel=0.25)


def test_refusals() -> None:
    for params, message in (({}, "AudioMode is required"),
                            ({"AudioMode": "IsAudio", "AudioConfig": {"Codec": "amr", "Samplerate": "44100"}},
                             "Samplerate 44100 is not allowed with Codec amr"),
                            ({"AudioMode": "MusicMode", "AudioConfig": {"Codec": "flac"}}, "must be one of mp3"),
                            ({"AudioMode": "IsAudio", "AudioConfig": {"Codec": "mp3", "Channels": "6"}},
                             "Channels 6 must be one of 1, 2"),
                            ({"AudioMode": "IsAudio", "AudioConfig": {"Codec": "flac", "Bitrate": "128"}},
                             "Bitrate does not apply to Codec flac"),
                            ({"AudioMode": "MusicMode", "AudioConfig": {"Codec": "wav", "Bitrate": "128"}},
                             "Bitrate does not apply to Codec wav")):
        with pytest.raises(InvalidArgument, match=message):
            tags.check_operation("VoiceSeparate", {"VoiceSeparate": params, "Output": OUT})
    with pytest.raises(InvalidArgument, match="Output.BassObject is required for AudioMode MusicMode"):
        tags.check_operation("VoiceSeparate", {"VoiceSeparate": {"AudioMode": "MusicMode"},
                                               "Output": {"Object": "a", "AuObject": "b"}})
