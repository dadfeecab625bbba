"""Transcripts: sentences with word times, CI's filters (dirty words, modal particles, punctuation,
numerals) and the shapes CI returns them in (Result text, ResultDetail, FlashResult, txt, srt).
"""

from __future__ import annotations

import itertools
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
    spaced: bool      # English: words joined by spaces
    channel: int = 0  # ChannelNum 2 / FirstChannelOnly 0: the channel it was heard on

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
        out.append(replace(s, words=tuple(moved)))
    return out


def strip_punct(s: str) -> str:
    """`s` without punctuation."""
    return "".join(c for c in s if c not in PUNCT)


def filtered(sentences: list[Sentence], dirty: int, modal: int, punc: int, numerals: int | None) -> list[Sentence]:
    """The sentences after FilterDirty, FilterModal, FilterPunc and ConvertNumMode (None: not Chinese, untouched)."""
    out = []
    for s in sentences:
        if numerals is not None:
            s = convert_numerals(s, numerals)
        words = [w for w in (_word(w, dirty, modal) for w in s.words) if strip_punct(w.text).strip()
                 or (punc == 0 and w.text.strip())]
        words = [replace(w, text=_punc(w.text, punc, i == len(words) - 1)) for i, w in enumerate(words)]
        words = [w for w in words if w.text.strip()]
        if words:
            out.append(replace(s, words=tuple(words)))
    return out


def _word(w: Word, dirty: int, modal: int) -> Word:
    body = w.text
    bare = strip_punct(body).strip().lower()
    if modal and bare in (MODAL_PARTIAL if modal == 1 else MODAL_STRICT):
        return replace(w, text="")  # the particle and the pause mark after it
    for bad in DIRTY if dirty else ():
        body = re.sub(re.escape(bad), "" if dirty == 1 else "*" * len(bad), body, flags=re.IGNORECASE)
    return replace(w, text=body)


NUMERAL = "零〇一二两三四五六七八九十百千万亿"
NUMERALS = re.compile(f"[{NUMERAL}]+")
# after a single numeral these make it a quantity worth digits (七点, 三号, 五岁); 一 alone stays a word
UNITS = "点号年月日时分秒岁元块度倍层楼路米克斤届次"
# words that hold numerals but are not numbers (十分 'very', 一点 'a little', 万一 'in case'...)
NOT_NUMBERS = ("十分", "一点", "一些", "一下", "一起", "一样", "一直", "一定", "一切", "一般", "一边", "万一", "千万",
               "一会", "一旦", "统一", "唯一", "一致", "一共", "一点儿", "三心二意", "一心一意", "乱七八糟")
OPERATORS = (("加上", "+"), ("加", "+"), ("减去", "-"), ("减", "-"), ("乘以", "×"), ("乘", "×"), ("除以", "÷"),
             ("等于", "="))


def convert_numerals(s: Sentence, mode: int) -> Sentence:
    """ConvertNumMode on one Chinese sentence: 0 digits -> Chinese numerals; 1 numbers -> Arabic digits
    (runs of two or more numerals, a numeral before a unit, 百分之N -> N%); 3 also 加减乘除等于 between numbers."""
    text = "".join(w.text for w in s.words)
    if mode == 0:  # digits may be split over words (2|5): converted on the joined text
        spans = [(m.start(), m.end(), chinese_number(int(m.group()))) for m in re.finditer(r"\d+", text)]
        return _respell(s, spans) if spans else s
    if not NUMERALS.search(text):
        return s
    spans = _number_spans(text, mode == 3)
    if mode == 3:
        spans += _operator_spans(text, spans)
    if not spans:
        return s
    return _respell(s, sorted(spans))


def _number_spans(text: str, math: bool) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of each Chinese number in `text` that becomes digits (math: also a single
    numeral beside an operator word)."""
    guarded = [(m.start(), m.end()) for word in NOT_NUMBERS for m in re.finditer(word, text)]
    spans = []
    for m in NUMERALS.finditer(text):
        start, end, run = m.start(), m.end(), m.group()
        if any(lo <= start and end <= hi for lo, hi in guarded):  # 十分 is 'very'; 十一点 is still 11点
            continue
        value = chinese_value(run)
        after = text[end:end + 1]
        beside = math and any(text[end:].startswith(w) or text[:start].endswith(w) for w, _ in OPERATORS)
        if value is None or (len(run) == 1 and not beside and (not after or after not in UNITS or run in "一两")):
            continue
        if text[max(0, start - 3):start] == "百分之":
            spans.append((start - 3, end, f"{value}%"))
        else:
            spans.append((start, end, str(value)))
    return spans


def _operator_spans(text: str, numbers: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Operators standing between two converted numbers."""
    out = []
    for (_, end, _), (start, _, _) in itertools.pairwise(numbers):
        between = text[end:start]
        symbol = next((sym for word, sym in OPERATORS if between == word), None)
        if symbol:
            out.append((end, start, symbol))
    return out


def _respell(s: Sentence, spans: list[tuple[int, int, str]]) -> Sentence:
    """Replace character spans of the joined text; each replacement goes to the word its span starts in."""
    bounds, at = [], 0
    for w in s.words:
        bounds.append((at, at + len(w.text)))
        at += len(w.text)
    texts = [list(w.text) for w in s.words]
    for start, end, new in spans:
        for i, (lo, hi) in enumerate(bounds):
            for pos in range(max(lo, start), min(hi, end)):
                texts[i][pos - lo] = new if pos == start else ""
    return replace(s, words=tuple(replace(w, text="".join(t)) for w, t in zip(s.words, texts, strict=True)))


def chinese_value(run: str) -> int | None:
    """The integer a run of Chinese numerals spells (二零二四 digit by digit, 三千零五 with units), or None
    for a run that is no one number (三四百, an estimate)."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    if all(c in digits for c in run):
        return int("".join(str(digits[c]) for c in run))
    total = section = number = 0
    previous_digit = False
    for c in run:
        if c in digits:
            if previous_digit and digits[c]:
                return None
            number, previous_digit = digits[c], bool(digits[c])
            continue
        previous_digit = False
        if c in "十百千":
            section += (number or 1) * {"十": 10, "百": 100, "千": 1000}[c]
        elif c == "万":
            total += (section + number) * 10 ** 4
            section = 0
        else:  # 亿
            total = (total + section + number) * 10 ** 8
            section = 0
        number = 0
    return total + section + number


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
                pieces.append(replace(s, words=tuple(current)))
                current = []
        if current:
            pieces.append(replace(s, words=tuple(current)))
    return pieces


def stamp(seconds: float) -> str:
    """Tencent ASR's `m:s.mmm`."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:06.3f}"


def result_text(sentences: list[Sentence], punctuation: bool = True, channels: bool = False) -> str:
    """The Result text: one `[start,end]  text` line per sentence (`[start,end,channel]` for two channels)."""
    return "".join(f"[{stamp(s.start)},{stamp(s.end)}{f',{s.channel}' if channels else ''}]  {s.text(punctuation)}\n"
                   for s in sentences)


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
            "SpeechSpeed": f"{len(words) / seconds:.1f}", "SpeakerId": str(s.channel),
            "Words": [{"Word": strip_punct(w.text).strip() if not punctuation else w.text.strip(),
                       "OffsetStartMs": str(round(w.start * 1000) - start_ms),
                       "OffsetEndMs": str(round(w.end * 1000) - start_ms)} for w in words]})
    return detail


def flash_result(sentences: list[Sentence], word_info: int, channels: int = 1) -> list[dict[str, Any]]:
    """FlashResult: one entry per channel with its sentences (and words when WordInfo is 1 or 2), times in ms."""
    return [_flash_channel([s for s in sentences if s.channel == c], word_info, c) for c in range(channels)]


def _flash_channel(sentences: list[Sentence], word_info: int, channel: int) -> dict[str, Any]:
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
    return {"channel_id": str(channel), "text": text, "sentence_list": listed}


def srt(sentences: list[Sentence]) -> str:
    """SubRip cues, one per sentence."""
    def t(sec: float) -> str:
        ms = round(max(0.0, sec) * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return "".join(f"{i}\n{t(s.start)} --> {t(s.end)}\n{s.text()}\n\n" for i, s in enumerate(sentences, 1))
