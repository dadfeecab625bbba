"""SpeechRecognition: WER on Tts-made English (16k and 8k engines), srt cue times within 0.5 s of the speech,
CI's result shapes (ResTextFormat 0-3, FlashResult, ResultDetail), filters and refusals."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument
from ci_jobs.media import transcript
from ci_jobs.media.transcript import Sentence, Word

from .conftest import ENGLISH, Runner, speak, wer, words, write

OUT = {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "asr.${ext}"}


@pytest.fixture(scope="module")
def english() -> list[np.ndarray]:
    return [speak(s) for s in ENGLISH[:5]]


def recognize(process: Runner, path: str, **params: str) -> tuple[dict, str]:
    result, folder = process("SpeechRecognition", {"SpeechRecognition": params, "Output": OUT}, path)
    assert result.data is not None
    return result.data, (folder / result.files[0].name).read_text(encoding="utf-8")


def test_wer_16k_and_8k(process: Runner, tmp_path: Path, english: list[np.ndarray]) -> None:
    refs = [words(s) for s in ENGLISH[:5]]
    for engine in ("16k_en", "8k_en"):
        hyps = []
        for i, samples in enumerate(english):
            data, _ = recognize(process, write(tmp_path / f"{engine}{i}.wav", samples), EngineModelType=engine)
            hyps.append(words(re.sub(r"\[[^]]*\]", " ", data["Result"])))
        print(f"{engine} WER {wer(refs, hyps):.3f}")
        assert wer(refs, hyps) <= 0.15


def test_srt_times_and_shapes(process: Runner, tmp_path: Path, english: list[np.ndarray]) -> None:
    gap = np.zeros(16000 * 2, np.float32)
    first, second = english[0], english[1]
    path = write(tmp_path / "two.wav", np.concatenate([gap[:8000], first, gap, second]))
    starts = (0.5, 0.5 + (len(first) + len(gap)) / 16000)
    _, srt = recognize(process, path, EngineModelType="16k_en", OutputFileType="srt")
    cues = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) -->", srt)
    times = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in cues]
    assert len(times) == 2
    voiced = [_onset(np.concatenate([gap[:8000], first, gap, second]), t) for t in starts]
    assert all(abs(t - v) <= 0.5 for t, v in zip(times, voiced, strict=True)), (times, voiced)

    data, txt = recognize(process, path, EngineModelType="16k_en", ResTextFormat="2")
    assert txt == data["Result"] and txt.startswith("[0:0")
    detail = data["ResultDetail"]
    assert len(detail) == 2 and int(detail[1]["StartMs"]) == pytest.approx(times[1] * 1000, abs=500)
    assert detail[0]["Words"][0]["Word"].lower() == "the" and float(data["AudioTime"]) > 5

    data, _ = recognize(process, path, EngineModelType="16k_en", FlashAsr="true", Format="wav", WordInfo="1")
    flash = data["FlashResult"][0]
    assert flash["channel_id"] == "0" and len(flash["sentence_list"]) == 2
    assert flash["sentence_list"][1]["word_list"][0]["start_time"].isdigit()


def _onset(samples: np.ndarray, near: float) -> float:
    """Where speech starts near `near` s (first 10 ms frame above -40 dB of the peak)."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    loud = np.sqrt(np.mean(frames ** 2, axis=1)) > np.max(np.abs(samples)) * 0.01
    idx = int(near * 100)
    return float(idx + np.argmax(loud[idx:]) if loud[idx:].any() else idx) / 100


def test_filters_and_numerals() -> None:
    said = (("嗯，", 0, 0.2), ("我有", 0.2, 0.5), ("25", 0.5, 0.8), ("个他妈的", 0.8, 1), ("苹果。", 1, 1.2))
    s = [Sentence(tuple(Word(*w) for w in said), False)]
    assert transcript.filtered(s, 0, 0, 0, False)[0].text() == "嗯，我有25个他妈的苹果。"
    assert transcript.filtered(s, 1, 1, 1, True)[0].text() == "我有二十五个苹果"
    assert transcript.filtered(s, 2, 1, 2, False)[0].text() == "我有25个***苹果"
    numbers = [transcript.chinese_number(n) for n in (10, 105, 2024, 30001)]
    assert numbers == ["十", "一百零五", "二千零二十四", "三万零一"]
    pieces = transcript.split_punctuation([Sentence((Word("Hello,", 0, 1), Word("world.", 1, 2)), True)], 0)
    assert [p.text() for p in pieces] == ["Hello,", "world."]


@pytest.mark.parametrize(("params", "message"), [
    ({"EngineModelType": "16k_ca"}, "16k_ca is not supported: the shipped model has no Cantonese"),
    ({"EngineModelType": "16k_xx"}, "must be one of 16k_zh"),
    ({"EngineModelType": "16k_zh", "SpeakerDiarization": "1"}, "no diarization model ships"),
    ({"EngineModelType": "16k_zh", "ChannelNum": "2"}, "ChannelNum 2 is not supported"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true"}, "Format is required when FlashAsr"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true", "Format": "wav", "OutputFileType": "srt"}, "txt only"),
    ({"EngineModelType": "16k_en", "ResTextFormat": "3", "OutputFileType": "srt"}, "txt only"),
    ({"EngineModelType": "16k_en", "ResTextFormat": "4"}, "ResTextFormat 4 must be one of"),
])
def test_refusals(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        tags.check_operation("SpeechRecognition", {"SpeechRecognition": params})
