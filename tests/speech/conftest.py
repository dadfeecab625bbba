"""Speech test material made at test time: Tts-spoken sentences, noises, music, and a driver runner."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.engine.dispatch import run
from ci_jobs.media import Result, Task, audio

from ..services import missing

pytest.importorskip("faster_whisper", reason="the speech extra is not installed: pip install 'ci-jobs[speech]'")

ENGLISH = (
    "The train to the airport leaves every twenty minutes.",
    "Please close the window before you go to bed.",
    "My sister bought a new bicycle last weekend.",
    "We will meet in the library after lunch.",
    "The weather today is warm and sunny.",
    "He forgot his umbrella at the office again.",
    "Can you send me the report by Friday?",
    "The children played football in the park.",
    "This coffee tastes better with a little milk.",
    "Our flight was delayed because of the storm.",
)
CHINESE = (
    "今天天气很好。", "他每天早上七点起床。", "请把这份文件发给我。", "我们明天去北京。", "这家饭店的菜很好吃。",
    "妈妈在厨房做饭。", "学生们正在上课。", "我喜欢喝绿茶。", "火车马上就要开了。", "谢谢你的帮助。",
)
Runner = Callable[..., tuple[Result, Path]]


def need_espeak() -> None:
    """Skip loudly where Debian's espeak-ng is missing; under CI (which installs it) fail instead."""
    if shutil.which("espeak-ng") is None:
        missing("espeak-ng (apt-get install espeak-ng; .ci/services.sh installs it)")


@pytest.fixture
def process(tmp_path: Path) -> Runner:
    """Run a Tag's driver on wire parameters through the registry, as a worker does: (Result, its folder)."""
    counter = iter(range(1000))

    def go(tag: str, operation: dict[str, Any], *inputs: str) -> tuple[Result, Path]:
        op = tags.parse(tag, operation)
        out = tmp_path / f"out{next(counter)}"
        out.mkdir()
        return run(Task(tag, op, tuple(inputs), str(out)), lambda f: None), out
    return go


def speak(text: str, voice: str = "werose", speed: int = 100, volume: int = 0) -> np.ndarray:
    """16 kHz mono speech of `text` from the Tts driver's voices."""
    from ci_jobs.media import tts
    from ci_jobs.tags.tts import VOICES
    language = "zh" if tts.CJK.search(text) else "en"
    samples = tts.synthesize(text, language, VOICES[voice][1], speed / 100)
    return samples.astype(np.float32)


def write(path: Path, samples: np.ndarray, rate: int = 16000) -> str:
    """A wav file of (n,) or (channels, n) samples."""
    audio.save(str(path), samples if samples.ndim == 2 else samples[None, :], rate, "wav")
    return str(path)


def words(text: str) -> str:
    """Lower-case words without punctuation (for WER)."""
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def hanzi(text: str) -> str:
    """Chinese characters and digits only (for CER)."""
    return re.sub(r"[^\u4e00-\u9fff0-9]", "", text)


def wer(refs: list[str], hyps: list[str]) -> float:
    """Word error rate over a set."""
    import jiwer
    return float(jiwer.wer(refs, hyps))


def cer(refs: list[str], hyps: list[str]) -> float:
    """Character error rate over a set."""
    import jiwer
    return float(jiwer.cer(refs, [h or "-" for h in hyps]))


def transcribe(samples: np.ndarray, language: str) -> str:
    """The project's ASR on 16 kHz samples, as one string."""
    from ci_jobs.media.speechrecognition import recognize
    return " ".join(s.text() for s in recognize(samples.astype(np.float32), language))


def snr(ref: np.ndarray, est: np.ndarray) -> float:
    """SNR (dB) of `est` against `ref` after the best gain."""
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    gain = float(np.dot(est, ref) / max(np.dot(est, est), 1e-12))
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - gain * est) ** 2), 1e-12)))
