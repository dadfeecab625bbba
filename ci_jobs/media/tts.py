"""The Tts driver: Chinese through pinyin and espeak-ng, English through Hibari (female) or espeak-ng (male).

The voice's language follows the text: any Chinese character means the Chinese voice of the asked
gender. Output is 16 kHz mono, loudness set to -28 dBFS RMS and then moved by Volume (0.6 dB a step).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.tts import VOICES, TtsOp
from . import OutputFile, Progress, Result, Task, audio, models

RATE = 16000
CJK = re.compile(r"[\u3400-\u9fff]")
LEVEL_DB = -28.0  # RMS at Volume 0: Volume 10 (+6 dB) still leaves speech peaks below full scale
ESPEAK_WPM = {"zh": 150, "en": 165}
# espeak-ng voice variant by (voice, gender). Mandarin female: `Annie` (pitch 120-280, its own formants
# and intonation) took the ASR's CER on the test sentences from 0.32-0.34 (f3) to 0.18-0.22; the other
# female variants measured were worse (README). English female is Hibari's; f3 is kept for it as espeak-ng's.
ESPEAK_VARIANTS = {("cmn-latn-pinyin", "f"): "Annie", ("cmn-latn-pinyin", "m"): "m3",
                   ("en-us", "f"): "f3", ("en-us", "m"): "m3"}


def run(task: Task, progress: Progress) -> Result:
    """Speak the text into `out.<codec>`."""
    op: TtsOp = task.op
    words = _text(task, op)
    if not words.strip():
        raise JobFailed(Failure.INVALID_ARGUMENT, "Request.Operation.TtsConfig.Input holds no text")
    language = "zh" if CJK.search(words) else "en"
    gender = VOICES[op.voice][1]
    samples = synthesize(words, language, gender, op.speed / 100.0)
    progress(0.8)
    rms = float(np.sqrt(np.mean(samples ** 2))) or 1.0
    samples = (samples * (10 ** ((LEVEL_DB + 0.6 * op.volume) / 20) / rms)).astype(np.float32)
    name = f"out.{op.codec}"
    audio.save(os.path.join(task.outdir, name), audio.peak_normalize(samples[None, :], 0.99), RATE, op.codec)
    return Result(files=(OutputFile(name),), ext=op.codec)


def _text(task: Task, op: TtsOp) -> str:
    if not op.text_key:
        return op.text
    try:
        return Path(task.objects[op.text_key]).read_bytes().decode("utf-8-sig")
    except (KeyError, OSError) as exc:
        raise JobFailed(Failure.INPUT_NOT_FOUND, f"Request.Operation.TtsConfig.Input {op.text_key} not found") from exc
    except UnicodeDecodeError as exc:
        raise JobFailed(Failure.INVALID_ARGUMENT,
                        f"Request.Operation.TtsConfig.Input {op.text_key} is not UTF-8 text") from exc


def synthesize(words: str, language: str, gender: str, pace: float) -> audio.Samples:
    """16 kHz mono float32 speech of `words` (pace 1.0 = the voice's own)."""
    if language == "en" and gender == "f":
        voice = models.hibari()
        spoken: audio.Samples = np.asarray(voice(words, speed=pace), np.float32)[None, :]
        resampled: audio.Samples = audio.resample(spoken, int(voice.sample_rate), RATE)[0]
        return resampled
    if language == "zh":
        pinyin = models.need("pypinyin", "Tts in Chinese")
        syllables = pinyin.lazy_pinyin(words, style=pinyin.Style.TONE3, neutral_tone_with_five=True)
        return _espeak(" ".join(syllables), "cmn-latn-pinyin", gender, ESPEAK_WPM["zh"] * pace)
    return _espeak(words, "en-us", gender, ESPEAK_WPM["en"] * pace)


def _espeak(words: str, voice: str, gender: str, wpm: float) -> audio.Samples:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise JobFailed(Failure.INTERNAL_ERROR, "this voice needs espeak-ng (Debian: apt-get install espeak-ng)")
    variant = f"{voice}+{ESPEAK_VARIANTS[(voice, gender)]}"
    folder = models.scratch()
    wav = os.path.join(folder, "speech.wav")
    try:
        # words go on stdin, never on the command line: text is the user's
        done = subprocess.run([binary, "-v", variant, "-s", str(int(max(80, min(450, wpm)))), "-w", wav, "--stdin"],
                              input=words.encode(), capture_output=True, timeout=600, check=False)
        if done.returncode != 0 or not os.path.exists(wav):
            raise JobFailed(Failure.INTERNAL_ERROR, f"espeak-ng failed: {done.stderr.decode(errors='replace')[:200]}")
        loaded: audio.Samples = audio.load(wav, RATE)[0]
        return loaded
    finally:
        shutil.rmtree(folder, ignore_errors=True)
