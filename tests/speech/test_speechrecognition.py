"""SpeechRecognition: WER on Tts-made English (16k and 8k engines), srt cue times within 0.5 s of the speech,
per-channel recognition (ChannelNum 2, FirstChannelOnly), ConvertNumMode, FlashAsr Format,
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

from .conftest import CHINESE, ENGLISH, Runner, cer, hanzi, need_espeak, speak, wer, words, write

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
    print(f"srt cue start error: {max(abs(t - v) for t, v in zip(times, voiced, strict=True)):.2f} s")
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


def test_res_text_formats_and_punctuation(process: Runner, tmp_path: Path, english: list[np.ndarray]) -> None:
    """ResTextFormat 0: text only; 1: word detail without punctuation; 3: pieces cut at punctuation and at
    SentenceMaxLength; FilterPunc 2 drops every mark from the Result."""
    path = write(tmp_path / "one.wav", english[0])  # "The train to the airport leaves every twenty minutes."
    data, txt = recognize(process, path, EngineModelType="16k_en")
    assert "ResultDetail" not in data and txt == data["Result"] and data["Result"].rstrip().endswith(".")
    data, _ = recognize(process, path, EngineModelType="16k_en", FilterPunc="2")
    assert not re.search(r"[.,!?]", re.sub(r"\[[^]]*\]", "", data["Result"]))
    assert "airport" in data["Result"].lower()
    data, _ = recognize(process, path, EngineModelType="16k_en", ResTextFormat="1")
    detail = data["ResultDetail"][0]
    assert not re.search(r"[.,!?]", detail["FinalSentence"]) and int(detail["WordsNum"]) >= 8
    assert all(w["Word"] and w["Word"][-1] not in ".,!?" for w in detail["Words"])
    data, _ = recognize(process, path, EngineModelType="16k_en", ResTextFormat="3", SentenceMaxLength="12")
    lines = [re.sub(r"^\[[^]]*\]\s+", "", line) for line in data["Result"].splitlines()]
    assert len(lines) >= 3 and all(len(line.replace(" ", "")) <= 12 + 10 for line in lines)  # + the last word
    assert wer([words(ENGLISH[0])], [words(" ".join(lines))]) <= 0.15


def test_two_channels(process: Runner, tmp_path: Path, english: list[np.ndarray]) -> None:
    """A stereo file with one sentence on each side: FlashAsr's FirstChannelOnly 1 hears the left one only,
    0 gives one FlashResult per channel; Format must name what the input is; pcm is read raw."""
    n = max(len(english[0]), len(english[1]))
    stereo = np.zeros((2, n + 8000), np.float32)
    stereo[0, :len(english[0])] = english[0]
    stereo[1, 8000:8000 + len(english[1])] = english[1]
    path = write(tmp_path / "stereo.wav", stereo)
    data, _ = recognize(process, path, EngineModelType="16k_en", FlashAsr="true", Format="wav")
    assert [c["channel_id"] for c in data["FlashResult"]] == ["0"]
    assert "airport" in data["FlashResult"][0]["text"].lower() and "window" not in data["Result"].lower()
    data, _ = recognize(process, path, EngineModelType="16k_en", FlashAsr="true", Format="wav", FirstChannelOnly="0")
    left, right = data["FlashResult"]
    assert (left["channel_id"], right["channel_id"]) == ("0", "1")
    assert wer([words(ENGLISH[0]), words(ENGLISH[1])], [words(left["text"]), words(right["text"])]) <= 0.15
    assert int(right["sentence_list"][0]["start_time"]) >= 400  # the right side starts 0.5 s in

    from ci_jobs.errors import JobFailed
    with pytest.raises(JobFailed, match="Format mp3 does not match the input"):
        recognize(process, path, EngineModelType="16k_en", FlashAsr="true", Format="mp3")
    raw = tmp_path / "speech.pcm"
    raw.write_bytes((np.clip(english[2], -1, 1) * 32767).astype("<i2").tobytes())
    data, _ = recognize(process, str(raw), EngineModelType="16k_en", FlashAsr="true", Format="pcm")
    assert wer([words(ENGLISH[2])], [words(data["FlashResult"][0]["text"])]) <= 0.15


def test_phone_call_two_channels(process: Runner, tmp_path: Path) -> None:
    """8k_zh with ChannelNum 2: each side of a call recognized on its own; Result lines carry the channel
    (`[start,end,channel]`) and ResultDetail's SpeakerId names it; a mono input is refused."""
    need_espeak()
    first, second = speak(CHINESE[3], "ruxue"), speak(CHINESE[5], "ruxue")  # 我们明天去北京 / 妈妈在厨房做饭
    n = len(first) + len(second) + 16000
    call = np.zeros((2, n), np.float32)
    call[0, 8000:8000 + len(first)] = first
    call[1, n - len(second) - 4000:n - 4000] = second
    path = write(tmp_path / "call.wav", call)
    data, txt = recognize(process, path, EngineModelType="8k_zh", ChannelNum="2", ResTextFormat="2")
    lines = re.findall(r"\[[\d:.]+,[\d:.]+,(\d)\]\s+(.*)", data["Result"])
    assert [c for c, _ in lines] == ["0", "1"], data["Result"]
    assert cer([hanzi(CHINESE[3]), hanzi(CHINESE[5])], [hanzi(t) for _, t in lines]) <= 0.3
    assert [d["SpeakerId"] for d in data["ResultDetail"]] == ["0", "1"] and txt == data["Result"]
    from ci_jobs.errors import JobFailed
    with pytest.raises(JobFailed, match="ChannelNum 2 needs a two-channel input"):
        recognize(process, write(tmp_path / "mono.wav", first), EngineModelType="8k_zh", ChannelNum="2")


def _onset(samples: np.ndarray, near: float) -> float:
    """Where speech starts near `near` s (first 10 ms frame above -40 dB of the peak)."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    loud = np.sqrt(np.mean(frames ** 2, axis=1)) > np.max(np.abs(samples)) * 0.01
    idx = int(near * 100)
    return float(idx + np.argmax(loud[idx:]) if loud[idx:].any() else idx) / 100


def test_filters_and_numerals() -> None:
    said = (("嗯，", 0, 0.2), ("我有", 0.2, 0.5), ("25", 0.5, 0.8), ("个他妈的", 0.8, 1), ("苹果。", 1, 1.2))
    s = [Sentence(tuple(Word(*w) for w in said), False)]
    assert transcript.filtered(s, 0, 0, 0, None)[0].text() == "嗯，我有25个他妈的苹果。"
    assert transcript.filtered(s, 1, 1, 1, 0)[0].text() == "我有二十五个苹果"
    assert transcript.filtered(s, 2, 1, 2, 1)[0].text() == "我有25个***苹果"
    numbers = [transcript.chinese_number(n) for n in (10, 105, 2024, 30001)]
    assert numbers == ["十", "一百零五", "二千零二十四", "三万零一"]
    values = [transcript.chinese_value(r) for r in ("十五", "一百零五", "三万五千", "一亿两千万", "二零二四", "三四百")]
    assert values == [15, 105, 35000, 120000000, 2024, None]


@pytest.mark.parametrize(("heard", "mode", "written"), [
    ("他每天早上七点起床。", 1, "他每天早上7点起床。"),
    ("我有二十五个苹果，十一点见。", 1, "我有25个苹果，11点见。"),
    ("二零二四年百分之三十的人", 1, "2024年30%的人"),
    ("这个十分好，我们一起去，一点也不难。", 1, "这个十分好，我们一起去，一点也不难。"),  # words, not numbers
    ("三四百人", 1, "三四百人"),            # an estimate stays in words
    ("一加一等于二", 1, "一加一等于二"),
    ("一加一等于二", 3, "1+1=2"),           # 3: math-aware
    ("他7点起床，有25个", 0, "他七点起床，有二十五个"),
])
def test_convert_num_mode(heard: str, mode: int, written: str) -> None:
    """ConvertNumMode on Chinese text split into one word per character (as Whisper's word times are)."""
    s = [Sentence(tuple(Word(c, i / 10, (i + 1) / 10) for i, c in enumerate(heard)), False)]
    out = transcript.filtered(s, 0, 0, 0, mode)[0]
    assert out.text() == written
    assert out.words[0].start == 0 and out.end == pytest.approx(len(heard) / 10)  # times kept
    pieces = transcript.split_punctuation([Sentence((Word("Hello,", 0, 1), Word("world.", 1, 2)), True)], 0)
    assert [p.text() for p in pieces] == ["Hello,", "world."]


@pytest.mark.parametrize(("params", "message"), [
    ({"EngineModelType": "16k_ca"}, "16k_ca is not supported: the shipped model has no Cantonese"),
    ({"EngineModelType": "16k_xx"}, "must be one of 16k_zh"),
    ({"EngineModelType": "16k_zh", "SpeakerDiarization": "1"}, "no diarization model ships"),
    ({"EngineModelType": "16k_zh", "ChannelNum": "2"}, "ChannelNum 2 is only for EngineModelType 8k_zh"),
    ({"EngineModelType": "8k_zh", "ChannelNum": "2", "FlashAsr": "true", "Format": "wav"}, "without FlashAsr"),
    ({"EngineModelType": "8k_zh", "ChannelNum": "3"}, "ChannelNum 3 must be one of 1, 2"),
    ({"EngineModelType": "16k_zh", "SpeakerNumber": "2"}, "SpeakerNumber needs SpeakerDiarization 1"),
    ({"EngineModelType": "16k_en", "ConvertNumMode": "3"}, "ConvertNumMode 3 is for the Chinese engines"),
    ({"EngineModelType": "16k_en", "ConvertNumMode": "2"}, "ConvertNumMode 2 must be one of 0, 1, 3"),
    ({"EngineModelType": "16k_en", "SentenceMaxLength": "10"}, "SentenceMaxLength applies only with FlashAsr"),
    ({"EngineModelType": "16k_en", "FirstChannelOnly": "0"}, "FirstChannelOnly applies only with FlashAsr"),
    ({"EngineModelType": "16k_en", "FlashAsr": "maybe"}, "FlashAsr maybe must be one of true, false"),
    ({"EngineModelType": "16k_en", "WordInfo": "1"}, "WordInfo applies only with FlashAsr"),
    ({"EngineModelType": "16k_en", "Format": "wav"}, "Format applies only with FlashAsr"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true", "Format": "wav", "ResTextFormat": "2"},
     "ResTextFormat applies only without FlashAsr"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true", "Format": "silk"}, "no SILK decoder"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true"}, "Format is required when FlashAsr"),
    ({"EngineModelType": "16k_en", "FlashAsr": "true", "Format": "wav", "OutputFileType": "srt"}, "txt only"),
    ({"EngineModelType": "16k_en", "ResTextFormat": "3", "OutputFileType": "srt"}, "txt only"),
    ({"EngineModelType": "16k_en", "ResTextFormat": "4"}, "ResTextFormat 4 must be one of"),
])
def test_refusals(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        tags.check_operation("SpeechRecognition", {"SpeechRecognition": params})
