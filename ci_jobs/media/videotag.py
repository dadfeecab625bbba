"""The VideoTag driver: CI's `VideoTagResult.StreamData` filled with what ships offline can recognise.

One frame a second is analysed (the first frame at or after each whole second, scaled to a short
side of at most 540 px and stood upright); every frame is seen for motion and cuts (mean absolute
difference of 64x36 grey thumbnails of consecutive frames).

What is reported, and nothing else (no place, action or object model ships, so PlaceTags carry only
technical tags of each shot, and ActionTags and ObjectTags are never filled):
- `PersonTags`: faces found by OpenCV's Haar frontal-face cascade, linked across seconds into
  anonymous people named `person-1`, `person-2`... (nobody is identified: no recognition model ships).
  A face joins the person whose box in the last 2 s overlaps it (IoU >= 0.3), or whose face colour
  histogram matches it (correlation >= 0.8, after a cut); otherwise it starts a new person.
  `DetailPerSecond` gives each second's box (source pixels) and confidence; `Count` is the number of
  seconds seen. A person seen in a single second only, or whose mean confidence is under 0.5, is
  dropped (the Haar false hits on textures measured so).
- `Tags` with `TagCls` `OnScreenText`: words read by PP-OCRv4 (RapidOCR) on the analysed frames (a frame
  is read again only when its 160x90 thumbnail changed by more than 1 or 5 s passed); a word is a run
  of letters (any script; CJK runs are kept whole, no word segmenter ships), Latin words of at least 2
  letters, minus English stop words; digits alone are no keyword, nor two found words run together
  (the recogniser drops the spaces of small Latin text: a word is also split where a lower-case
  letter meets a capital when each part keeps 3 letters, so HarbourFestival gives Harbour, Festival).
  The same text is read once a second, so a word of >= 5 letters within len/4 edits of one read more
  often is that word misread (Harbout, Tckets): it is dropped, and the word's confidence is its best
  recogniser score times its share of those reads (readings that disagree are not confident).
- `Tags` with `TagCls` `Speech`: words of the speech Whisper base recognises (the SpeechRecognition
  Tag's model, the `speech` extra, after Silero VAD so music and tones give none), filtered as above,
  the 20 most frequent; without the speech extra these tags are omitted.
- `Tags` with `TagCls` `Technical`, and the same per shot in `PlaceTags[].Tags`: `dark` (mean luma of
  the analysed frame under 40), `static` (mean frame-to-frame change under 0.5), `high-motion` (over
  10, cuts excluded), `talking-head` (a face at least 15 % of the picture height while voice is
  present: Whisper's speech segments, or without the speech extra audio 10 ms frames above 1 % of the
  peak for at least a third of the second). Confidence = the share of the video's (or shot's) seconds
  where the condition holds; reported at 0.5 or more.
- `PlaceTags[]`: the shots (a cut where a frame differs from the previous by more than 20 and 4 x the
  median change of the 5 frames before: a spike, so a fast pan is no cut), StartTime/EndTime in
  seconds, StartIndex/EndIndex frame numbers.

Confidence of faces, text and speech is a mapping of each model's own score measured on test clips
(bench/bench_videotag.py prints the share of tags at >= 0.8 that were right; the README has it).
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.videotag import VideoTagOp
from . import Progress, Result, Task, audio, vision
from .common import duration, open_input, picture_stream, upright

_NONE = np.zeros((0, 0, 3), np.uint8)
MAX_SECONDS = 1800.0  # CI: over 30 minutes needs a ticket
_SHORT = 540
_CUT, _CUT_RATIO, _CUT_WINDOW = 20.0, 4.0, 5
_DARK, _STATIC, _MOTION = 40.0, 0.5, 10.0
_SHARE = 0.5  # technical tags reported when they hold for at least this share of the seconds
_FACE_MIN = 0.06  # smallest face side searched, as a share of the short side
_LINK_IOU, _LINK_HIST, _LINK_GAP = 0.3, 0.8, 2.0
_HEAD = 0.15  # face height share of the picture for a talking head
_OCR_CHANGE, _OCR_EVERY = 1.0, 5.0
_OCR_MIN, _SPEECH_MIN = 0.6, 0.5  # model scores under these are no keyword
_SPEECH_TOP = 20
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
STOP = frozenset("""a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves also let lets ll re ve don didn
doesn isn wasn weren won wouldn shouldn couldn oh okay ok yes yeah um uh""".split())
# Haar stage-sum weight -> confidence: logistic fitted on faces and face-free frames (bench_videotag.py)
_FACE_W0, _FACE_WS = 2.5, 0.4
_PERSON_MIN = 0.5  # people whose mean face confidence is lower are not reported


@dataclass
class Second:
    """One analysed frame (one a second) and what was measured around it."""

    at: float
    index: int
    rgb: np.ndarray
    scale: float  # source pixels per analysed pixel
    luma: float
    motion: float = 0.0
    voice: bool = False
    faces: list[tuple[tuple[int, int, int, int], float, np.ndarray]] = field(default_factory=list)


@dataclass
class Person:
    """A face followed over seconds: (second, box in source pixels, confidence) and a colour histogram."""

    seen: list[tuple[int, tuple[int, int, int, int], float]]
    hist: np.ndarray


def run(task: Task, progress: Progress) -> Result:
    """Tag `task.inputs[0]`; the result is data: `StreamData` as CI shows it in `VideoTagResult`."""
    op: VideoTagOp = task.op
    assert op.scenario == "Stream"
    vision.face_cascade()  # a missing extra fails before any decoding
    vision.ocr()
    with open_input(task.inputs[0]) as inp:
        total = duration(inp) or 0.0
        if total > MAX_SECONDS:
            raise JobFailed(Failure.INVALID_INPUT, f"VideoTag takes videos of at most 30 minutes; this one lasts "
                            f"{total:.0f} s")
        vin = picture_stream(inp, "tag")
        degrees = upright(inp, vin)
        height = vin.codec_context.height
        reader = _Reader()
        seconds, cuts, times = _scan(inp, vin, degrees, total, reader, progress)
        has_audio = bool(inp.streams.audio)
    if not seconds:
        raise JobFailed(Failure.INVALID_INPUT, "No frame could be decoded to tag")
    if degrees in (90, 270):
        height = vin.codec_context.width
    words = reader.tags()
    speech, spans = _speech(task.inputs[0]) if has_audio else ([], None)
    progress(90.0)
    _voice(task.inputs[0], seconds, spans, has_audio)
    people = _people(seconds)
    data: dict[str, Any] = {"Tags": _technical(seconds, people, height) + words + speech}
    if people:
        data["PersonTags"] = [_person_tag(i, p, seconds) for i, p in enumerate(people)]
    data["PlaceTags"] = _shots(seconds, cuts, times, _heads(seconds, people, height))
    progress(100.0)
    return Result(data={"StreamData": {"SubErrCode": "0", "SubErrMsg": "ok", "Data": data}})


def _scan(inp: av.container.InputContainer, vin: av.VideoStream, degrees: int, total: float,
          reader: _Reader, progress: Progress) -> tuple[list[Second], list[int], list[float]]:
    """Every frame's change and time; each analysed frame's faces and text, its picture then let go."""
    seconds: list[Second] = []
    changes: list[tuple[int, int, float]] = []  # (frame index, its analysed second, change from the previous)
    times: list[float] = []  # of every frame
    previous, index, next_at = None, -1, 0.0
    try:
        for frame in inp.decode(vin):
            index += 1
            at = float(frame.time or 0.0)
            times.append(at)
            thumb = frame.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.float32)
            if at + 1e-6 >= next_at:
                while next_at <= at + 1e-6:
                    next_at += 1.0
                rgb, scale = _picture(frame, degrees)
                y = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
                second = Second(at, index, rgb, scale, float(y.mean()))
                second.faces = _faces(second)
                reader.feed(second)
                second.rgb = _NONE  # a 30-minute video keeps no pictures
                seconds.append(second)
                if total:
                    progress(80 * min(1.0, at / total))
            if previous is not None:
                changes.append((index, len(seconds) - 1, float(np.abs(thumb - previous).mean())))
            previous = thumb
    except av.FFmpegError as exc:
        if not seconds:
            raise JobFailed(Failure.INVALID_INPUT, f"the input cannot be decoded: {exc.strerror or exc}") from exc
    values = [c for _, _, c in changes]
    cuts: list[int] = []
    per: dict[int, list[float]] = defaultdict(list)
    for n, (i, k, c) in enumerate(changes):
        before = values[max(0, n - _CUT_WINDOW):n]
        if c > max(_CUT, _CUT_RATIO * float(np.median(before)) if before else 0.0):
            cuts.append(i)
        else:
            per[k].append(c)
    for k, s in enumerate(seconds):
        s.motion = float(np.mean(per[k])) if per.get(k) else 0.0
    return seconds, cuts, times


def _picture(frame: av.VideoFrame, degrees: int) -> tuple[np.ndarray, float]:
    k = min(1.0, _SHORT / min(frame.width, frame.height))
    w, h = max(2, int(frame.width * k) // 2 * 2), max(2, int(frame.height * k) // 2 * 2)
    rgb: np.ndarray = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    if degrees:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-degrees // 90))
    return rgb, frame.width / w


def face_confidence(weight: float) -> float:
    """A Haar detection's confidence from its final stage weight (the logistic fitted in the bench)."""
    return float(1.0 / (1.0 + np.exp(-(weight - _FACE_W0) / _FACE_WS)))


def _faces(s: Second) -> list[tuple[tuple[int, int, int, int], float, np.ndarray]]:
    cv2 = vision.cv2()
    grey = cv2.equalizeHist(cv2.cvtColor(s.rgb, cv2.COLOR_RGB2GRAY))
    side = max(20, int(_FACE_MIN * min(grey.shape)))
    rects, _, weights = vision.face_cascade().detectMultiScale3(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side), outputRejectLevels=True)
    found = []
    for (x, y, w, h), weight in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).ravel(), strict=False):
        box = tuple(int(round(v * s.scale)) for v in (x, y, x + w, y + h))
        hsv = cv2.cvtColor(s.rgb[y:y + h, x:x + w], cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
        found.append((box, face_confidence(float(weight)), cv2.normalize(hist, None).ravel()))
    return found  # type: ignore[return-value]


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def _people(seconds: list[Second]) -> list[Person]:
    cv2 = vision.cv2()
    people: list[Person] = []
    for k, s in enumerate(seconds):
        taken: set[int] = set()
        for box, conf, hist in sorted(s.faces, key=lambda f: -f[1]):
            best, score = None, 0.0
            for i, p in enumerate(people):
                last_k, last_box, _ = p.seen[-1]
                if i in taken or last_k == k:
                    continue
                overlap = iou(box, last_box) if s.at - seconds[last_k].at <= _LINK_GAP + 1e-6 else 0.0
                if overlap >= _LINK_IOU and overlap + 1 > score:
                    best, score = i, overlap + 1
                elif score < 1:
                    similar = float(cv2.compareHist(hist.astype(np.float32), p.hist.astype(np.float32),
                                                    cv2.HISTCMP_CORREL))
                    if similar >= _LINK_HIST and similar > score:
                        best, score = i, similar
            if best is None:
                people.append(Person([(k, box, conf)], hist))
                taken.add(len(people) - 1)
            else:
                people[best].seen.append((k, box, conf))
                people[best].hist = (people[best].hist + hist) / 2
                taken.add(best)
    return [p for p in people if len(p.seen) >= 2 and np.mean([c for _, _, c in p.seen]) >= _PERSON_MIN]


def _person_tag(i: int, p: Person, seconds: list[Second]) -> dict[str, Any]:
    detail = [{"TimeStamp": f"{seconds[k].at:.3f}", "Confidence": f"{c:.3f}",
               "BBox": {"X1": str(b[0]), "Y1": str(b[1]), "X2": str(b[2]), "Y2": str(b[3])}} for k, b, c in p.seen]
    return {"Name": f"person-{i + 1}", "Confidence": f"{float(np.mean([c for _, _, c in p.seen])):.3f}",
            "Count": str(len(p.seen)), "DetailPerSecond": detail}


def keywords(line: str) -> list[str]:
    """The keywords of a line of text: letter runs (CJK runs whole, >= 2 chars), minus stop words."""
    out = []
    for word in _WORD.findall(line):
        if len(word) < 2 or (not _CJK.search(word) and word.lower().replace("\u2019", "'").split("'")[0] in STOP):
            continue
        out.append(word)
    return out


class _Reader:
    """On-screen words of the analysed frames, read again only when the picture changed (or 5 s passed)."""

    def __init__(self) -> None:
        self.best: dict[str, tuple[str, float]] = {}  # lower-case word -> (as shown, best score)
        self.seen: Counter[str] = Counter()
        self.last_thumb: np.ndarray | None = None
        self.last_at = -1e9
        self.last_lines: list[tuple[str, float]] = []

    def feed(self, s: Second) -> None:
        """Read (or carry over) the text of one analysed frame."""
        cv2 = vision.cv2()
        thumb = cv2.resize(cv2.cvtColor(s.rgb, cv2.COLOR_RGB2GRAY), (160, 90), interpolation=cv2.INTER_AREA)
        thumb = thumb.astype(np.float32)
        if (self.last_thumb is None or float(np.abs(thumb - self.last_thumb).mean()) > _OCR_CHANGE
                or s.at - self.last_at >= _OCR_EVERY):
            found, _ = vision.ocr()(s.rgb)
            self.last_lines = [(str(t), float(score)) for _, t, score in found or ()]
            self.last_thumb, self.last_at = thumb, s.at
        for line, score in self.last_lines:
            if score < _OCR_MIN:
                continue
            for word in (part for w in keywords(line) for part in unjoin(w)):
                key = word.lower()
                self.seen[key] += 1
                if key not in self.best or score > self.best[key][1]:
                    self.best[key] = (word, score)

    def tags(self) -> list[dict[str, Any]]:
        """The OnScreenText tags: misreadings folded into the word read most, confidence x agreement."""
        best, seen = self.best, self.seen
        kept: dict[str, int] = {}  # word -> reads of it and of its misreadings
        for key in sorted((k for k in best if not _joined(k, best)), key=lambda k: (-seen[k], -best[k][1], k)):
            same = next((other for other in kept if _variant(key, other)), None)
            if same is None:
                kept[key] = seen[key]
            else:  # a misreading of a word read more often
                kept[same] += seen[key]
        return [{"Tag": best[k][0], "TagCls": "OnScreenText", "Confidence": f"{best[k][1] * seen[k] / reads:.3f}"}
                for k, reads in kept.items()]


def unjoin(word: str) -> list[str]:
    """A Latin word split where a lower-case letter meets a capital, when every part has >= 3 letters
    (PP-OCRv4 drops the spaces of small Latin text: HarbourFestival; McDonald and iPhone stay whole)."""
    parts = _CAMEL.split(word)
    return parts if len(parts) > 1 and all(len(p) >= 3 for p in parts) else [word]


def _variant(word: str, other: str) -> bool:
    """Whether `word` (>= 5 letters) is within len/4 edits of `other`: the same text read differently."""
    if len(word) < 5 or abs(len(word) - len(other)) > len(word) // 4:
        return False
    row = list(range(len(other) + 1))
    for i, a in enumerate(word, 1):
        prev, row[0] = row[0], i
        for j, b in enumerate(other, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (a != b))
    return row[-1] <= len(word) // 4


def _joined(key: str, found: dict[str, Any]) -> bool:
    """Whether `key` is two other found words run together (OCR sometimes drops a space)."""
    return any(key.startswith(a) and key[len(a):] in found for a in found if a != key and len(a) < len(key))


def speech_extra() -> bool:
    """Whether the speech extra (faster-whisper and the shipped Whisper) is installed."""
    return importlib.util.find_spec("faster_whisper") is not None


def _speech(path: str) -> tuple[list[dict[str, Any]], list[tuple[float, float]] | None]:
    """Speech keywords and the spans of speech; ([], None) without the speech extra."""
    if not speech_extra():
        return [], None
    from . import models  # noqa: PLC0415 - the speech extra's loader

    try:
        samples = audio.load(path, 16000)[0]
    except JobFailed:
        return [], []
    segments, _ = models.whisper().transcribe(samples, beam_size=5, word_timestamps=True, vad_filter=True,
                                              condition_on_previous_text=False)
    scores: dict[str, list[float]] = defaultdict(list)
    spans = []
    for seg in segments:
        if seg.no_speech_prob > 0.6:
            continue
        spans.append((float(seg.start), float(seg.end)))
        words = list(seg.words or ())
        for w in words:
            for word in keywords(w.word):
                scores[word.lower()].append(float(w.probability))
        if not words:
            continue
        if any(_CJK.search(w.word) for w in words):  # CJK comes a character or two a word: score the runs
            mean = float(np.mean([w.probability for w in words]))
            for word in keywords(seg.text):
                if _CJK.search(word):
                    scores[word].append(mean)
    ranked = sorted(((w, float(np.mean(p)), len(p)) for w, p in scores.items() if np.mean(p) >= _SPEECH_MIN),
                    key=lambda t: (-t[2], -t[1], t[0]))[:_SPEECH_TOP]
    return [{"Tag": w, "TagCls": "Speech", "Confidence": f"{c:.3f}"} for w, c, _ in ranked], spans


def _voice(path: str, seconds: list[Second], spans: list[tuple[float, float]] | None, has_audio: bool) -> None:
    if not has_audio:
        return
    if spans is not None:
        for s in seconds:
            s.voice = any(a < s.at + 1 and b > s.at for a, b in spans)
        return
    try:
        samples = audio.load(path, 16000)[0]
    except JobFailed:
        return
    hop = 160
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    loud = np.sqrt(np.mean(frames ** 2, axis=1)) > 0.01 * (float(np.max(np.abs(samples))) or 1.0)
    for s in seconds:
        part = loud[int(s.at * 100):int(s.at * 100) + 100]
        s.voice = bool(part.size and part.mean() >= 1 / 3)


def _conditions(s: Second, head: bool) -> dict[str, bool]:
    return {"dark": s.luma < _DARK, "static": s.motion < _STATIC, "high-motion": s.motion > _MOTION,
            "talking-head": head and s.voice}


def _heads(seconds: list[Second], people: list[Person], height: int) -> set[int]:
    return {k for p in people for k, b, _ in p.seen if (b[3] - b[1]) >= _HEAD * height}


def _tags_of(seconds: list[Second], ks: list[int], heads: set[int]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for k in ks:
        counts.update(name for name, on in _conditions(seconds[k], k in heads).items() if on)
    out = []
    for name in ("dark", "static", "high-motion", "talking-head"):
        share = counts[name] / max(1, len(ks))
        if share >= _SHARE:
            out.append({"Tag": name, "TagCls": "Technical", "Confidence": f"{share:.3f}"})
    return out


def _technical(seconds: list[Second], people: list[Person], height: int) -> list[dict[str, Any]]:
    return _tags_of(seconds, list(range(len(seconds))), _heads(seconds, people, height))


def _shots(seconds: list[Second], cuts: list[int], times: list[float], heads: set[int]) -> list[dict[str, Any]]:
    frames = len(times)
    step = float(np.median(np.diff(times))) if frames > 1 else 0.0
    edges = [0, *cuts, frames]
    shots = []
    for start, end in zip(edges, edges[1:], strict=False):
        if end <= start:
            continue
        ks = [k for k, s in enumerate(seconds) if start <= s.index < end]
        last = times[end] if end < frames else times[-1] + step
        shot: dict[str, Any] = {"StartTime": f"{times[start]:.3f}", "EndTime": f"{last:.3f}",
                                "StartIndex": str(start), "EndIndex": str(end - 1)}
        tags = _tags_of(seconds, ks, heads) if ks else []
        if tags:
            shot["Tags"] = tags
        shots.append(shot)
    return shots
