"""Transcripts: sentences with word times, CI's filters (dirty words, modal particles, punctuation,
numerals) and the shapes CI returns them in (Result text, ResultDetail, FlashResult, txt, srt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

PUNCT = "，。！？、；：,.!?;:…"
FINAL = "。！？.!?…"
# A small list (the engine's own is not published): what FilterDirty 1/2 removes or stars out
DIRTY = ("fuck", "fucking", "shit", "bitch", "asshole", "bastard", "他妈的", "傻逼", "操你", "混蛋", "王八蛋")
MODAL_PARTIAL = ("嗯", "呃", "额", "um", "uh", "er", "erm")
MODAL_STRICT = MODAL_PARTIAL + ("啊", "哦", "唉", "呢", "嘛", "ah", "hmm", "oh", "mm")
DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Word:
    """One recognized word (or Chinese character run) and its time in seconds."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Sentence:
    """One sentence: its words and time span."""

    words: tuple[Word, ...]
    spaced: bool   # English: words joined by spaces

    @property
    def start(self) -> float:
        """Its first word's start."""
        return self.words[0].start if self.words else 0.0

    @property
    def end(self) -> float:
        """Its last word's end."""
        return self.words[-1].end if self.words else 0.0

    def text(self, punctuation: bool = True) -> str:
        """Its words joined (without punctuation if asked)."""
        parts = [w.text if punctuation else strip_punct(w.text) for w in self.words]
        return (" " if self.spaced else "").join(p for p in parts if p).strip()


def onsets(sentences: list[Sentence], loud: list[bool], frame: float) -> list[Sentence]:
    """Each word's start moved to the first loud frame inside it (Whisper snaps starts to segment edges)."""
    out = []
    for s in sentences:
        moved = []
        for w in s.words:
            first, last = int(w.start / frame), int(w.end / frame)
            hit = next((i for i in range(first, min(last, len(loud))) if loud[i]), None)
            moved.append(replace(w, start=hit * frame) if hit is not None else w)
        out.append(Sentence(tuple(moved), s.spaced))
    return out


def strip_punct(s: str) -> str:
    """`s` without punctuation."""
    return "".join(c for c in s if c not in PUNCT)


def filtered(sentences: list[Sentence], dirty: int, modal: int, punc: int, chinese_numerals: bool) -> list[Sentence]:
    """The sentences after FilterDirty, FilterModal, FilterPunc and ConvertNumMode 0."""
    out = []
    for s in sentences:
        words = [w for w in (_word(w, dirty, modal, chinese_numerals) for w in s.words) if strip_punct(w.text).strip()
                 or (punc == 0 and w.text.strip())]
        words = [replace(w, text=_punc(w.text, punc, i == len(words) - 1)) for i, w in enumerate(words)]
        words = [w for w in words if w.text.strip()]
        if words:
            out.append(Sentence(tuple(words), s.spaced))
    return out


def _word(w: Word, dirty: int, modal: int, numerals: bool) -> Word:
    body = w.text
    bare = strip_punct(body).strip().lower()
    if modal and bare in (MODAL_PARTIAL if modal == 1 else MODAL_STRICT):
        return replace(w, text="")  # the particle and the pause mark after it
    for bad in DIRTY if dirty else ():
        body = re.sub(re.escape(bad), "" if dirty == 1 else "*" * len(bad), body, flags=re.IGNORECASE)
    if numerals:
        body = re.sub(r"\d+", lambda m: chinese_number(int(m.group())), body)
    return replace(w, text=body)


def _punc(text: str, mode: int, last: bool) -> str:
    if mode == 2:
        return strip_punct(text)
    if mode == 1 and last:
        return text.rstrip(FINAL)
    return text


def chinese_number(n: int) -> str:
    """An integer in Chinese numerals (123 -> 一百二十三; past 亿, digit by digit)."""
    if n >= 10 ** 8:
        return "".join(DIGITS[int(d)] for d in str(n))
    if n >= 10 ** 4:
        high, low = divmod(n, 10 ** 4)
        return chinese_number(high) + "万" + (("零" if low < 1000 and low else "") + chinese_number(low) if low else "")
    if n == 0:
        return "零"
    out, zero = "", False
    for unit, value in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        digit, n = divmod(n, value)
        if digit:
            out += ("零" if zero and out else "") + DIGITS[digit] + unit
            zero = False
        else:
            zero = bool(out)
    return out[1:] if out.startswith("一十") else out


def split_punctuation(sentences: list[Sentence], max_length: int) -> list[Sentence]:
    """ResTextFormat 3: pieces ending at punctuation, each at most `max_length` characters (0: no limit)."""
    pieces: list[Sentence] = []
    for s in sentences:
        current: list[Word] = []
        for w in s.words:
            current.append(w)
            size = len(Sentence(tuple(current), s.spaced).text(False))
            if w.text.rstrip()[-1:] in PUNCT or (max_length and size >= max_length):
                pieces.append(Sentence(tuple(current), s.spaced))
                current = []
        if current:
            pieces.append(Sentence(tuple(current), s.spaced))
    return pieces


def stamp(seconds: float) -> str:
    """Tencent ASR's `m:s.mmm`."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:06.3f}"


def result_text(sentences: list[Sentence], punctuation: bool = True) -> str:
    """The Result text: one `[start,end]  text` line per sentence."""
    return "".join(f"[{stamp(s.start)},{stamp(s.end)}]  {s.text(punctuation)}\n" for s in sentences)


def result_detail(sentences: list[Sentence], punctuation: bool) -> list[dict[str, Any]]:
    """ResultDetail: each sentence with its words, offsets relative to the sentence start."""
    detail = []
    for s in sentences:
        start_ms, end_ms = round(s.start * 1000), round(s.end * 1000)
        words = [w for w in s.words if strip_punct(w.text).strip()]
        seconds = max(s.end - s.start, 1e-3)
        detail.append({
            "FinalSentence": s.text(punctuation), "SliceSentence": " ".join(strip_punct(w.text).strip() for w in words),
            "StartMs": str(start_ms), "EndMs": str(end_ms), "WordsNum": str(len(words)),
            "SpeechSpeed": f"{len(words) / seconds:.1f}", "SpeakerId": "0",
            "Words": [{"Word": strip_punct(w.text).strip() if not punctuation else w.text.strip(),
                       "OffsetStartMs": str(round(w.start * 1000) - start_ms),
                       "OffsetEndMs": str(round(w.end * 1000) - start_ms)} for w in words]})
    return detail


def flash_result(sentences: list[Sentence], word_info: int) -> list[dict[str, Any]]:
    """FlashResult: one channel with its sentences (and words when WordInfo is 1 or 2), times in ms."""
    listed = []
    for s in sentences:
        entry: dict[str, Any] = {"text": s.text(), "start_time": str(round(s.start * 1000)),
                                 "end_time": str(round(s.end * 1000)), "speaker_id": "0"}
        if word_info:
            entry["word_list"] = [{"word": w.text.strip() if word_info == 2 else strip_punct(w.text).strip(),
                                   "start_time": str(round(w.start * 1000)), "end_time": str(round(w.end * 1000))}
                                  for w in s.words if word_info == 2 or strip_punct(w.text).strip()]
        listed.append(entry)
    text = ("" if not sentences or not sentences[0].spaced else " ").join(s.text() for s in sentences)
    return [{"channel_id": "0", "text": text, "sentence_list": listed}]


def srt(sentences: list[Sentence]) -> str:
    """SubRip cues, one per sentence."""
    def t(sec: float) -> str:
        ms = round(max(0.0, sec) * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return "".join(f"{i}\n{t(s.start)} --> {t(s.end)}\n{s.text()}\n\n" for i, s in enumerate(sentences, 1))
