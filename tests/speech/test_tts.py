"""Tts: the project's ASR understands 10 English sentences (WER <= 15 %); Chinese is measured (CER, target 30 %);
Speed changes the duration and Volume the loudness as asked; Url input, codecs and refusals."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument
from ci_jobs.media import Task, audio
from ci_jobs.media import tts as driver

from .conftest import CHINESE, ENGLISH, Runner, cer, hanzi, need_espeak, transcribe, wer, words

OUT = {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "tts.${ext}"}


def spoken(process: Runner, text: str, **tpl: str) -> np.ndarray:
    params = {"Mode": "Sync", "Codec": "wav", **tpl}
    result, folder = process("Tts", {"TtsTpl": params, "TtsConfig": {"InputType": "Text", "Input": text},
                                     "Output": OUT})
    return audio.load(str(folder / result.files[0].name), 16000)[0]


def test_english_wer(process: Runner) -> None:
    hyps = [words(transcribe(spoken(process, s, VoiceType="WeRose"), "en")) for s in ENGLISH]
    score = wer([words(s) for s in ENGLISH], hyps)
    print(f"Tts English (Hibari) -> Whisper base WER {score:.3f}")
    assert score <= 0.15


def test_chinese_cer(process: Runner) -> None:
    """The issue's bar: the project's ASR reads the Chinese voice (espeak-ng Mandarin, variant Annie) back
    at a character error rate <= 30 % over 10 sentences (measured 0.18-0.22; f3 was 0.30-0.38)."""
    need_espeak()
    hyps = [hanzi(transcribe(spoken(process, s, VoiceType="ruxue"), "zh")) for s in CHINESE]
    score = cer([hanzi(s) for s in CHINESE], hyps)
    print(f"Tts Chinese (espeak-ng) -> Whisper base CER {score:.3f}")
    assert score <= 0.30


def test_speed_and_volume(process: Runner) -> None:
    text = ENGLISH[0]
    normal, fast, slow = (spoken(process, text, VoiceType="WeRose", Speed=s) for s in ("100", "200", "50"))
    assert len(fast) < 0.7 * len(normal) < 0.7 * 0.7 * len(slow)
    quiet, loud = (spoken(process, text, VoiceType="WeRose", Volume=v) for v in ("-10", "10"))

    def rms(x: np.ndarray) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(x ** 2))))
    assert rms(loud) - rms(quiet) == pytest.approx(12, abs=1.5)  # 0.6 dB a step


def test_chinese_speed_and_mp3(process: Runner) -> None:
    """Speed paces the espeak-ng voices too; Codec mp3 writes a real mp3 (16 kHz mono)."""
    need_espeak()
    normal, fast = (spoken(process, CHINESE[4], VoiceType="ruxue", Speed=s) for s in ("100", "200"))
    assert len(fast) < 0.7 * len(normal)
    result, folder = process("Tts", {"TtsTpl": {"Mode": "Sync", "Codec": "mp3", "VoiceType": "zhiyun"},
                                     "TtsConfig": {"InputType": "Text", "Input": CHINESE[0]}, "Output": OUT})
    assert result.files[0].name.endswith(".mp3")
    with av.open(str(folder / result.files[0].name)) as c:
        stream = c.streams.audio[0]
        assert (c.format.name, stream.sample_rate, stream.channels) == ("mp3", 16000, 1)
        assert sum(f.samples for f in c.decode(stream)) > 16000 * 0.5


def test_male_voices_url_input_and_pcm(tmp_path: Path) -> None:
    need_espeak()
    text = tmp_path / "text.txt"
    text.write_text("Good morning everyone.", encoding="utf-8")
    op = tags.parse("Tts", {"TtsTpl": {"VoiceType": "WeJack"},
                            "TtsConfig": {"InputType": "Url", "Input": "https://b-1250000000.cos.x/docs/text.txt"},
                            "Output": OUT})
    assert (op.mode, op.codec, op.text_key) == ("Asyc", "pcm", "docs/text.txt")
    result = driver.run(Task("Tts", op, (), str(tmp_path), objects={"docs/text.txt": str(text)}), lambda f: None)
    pcm = np.frombuffer((tmp_path / result.files[0].name).read_bytes(), np.int16)
    assert len(pcm) > 16000 * 0.6
    assert words(transcribe(pcm.astype(np.float32) / 32768, "en")) == "good morning everyone"


def test_refusals() -> None:
    config = {"InputType": "Text", "Input": "hi"}
    for tpl, message in (({"Mode": "Asyc", "Codec": "wav"}, "needs Mode Sync"),
                         ({"VoiceType": "nobody"}, "VoiceType nobody is not a voice of this server"),
                         ({"Speed": "300"}, "Speed 300 is out of range"),
                         ({"Emotion": "happy"}, "Emotion is not supported")):
        with pytest.raises(InvalidArgument, match=message):
            tags.check_operation("Tts", {"TtsTpl": tpl, "TtsConfig": config})
    with pytest.raises(InvalidArgument, match="at most 300 in this Mode"):
        tags.check_operation("Tts", {"TtsTpl": {"Mode": "Sync", "Codec": "wav"},
                                     "TtsConfig": {"InputType": "Text", "Input": "x" * 301}})
    with pytest.raises(InvalidArgument, match="TtsConfig.InputType is required"):
        tags.check_operation("Tts", {"TtsTpl": {}, "TtsConfig": {}})
