"""VideoMontage's interest signals: what makes a stretch of a video worth a highlight reel, per 0.25 s window.

One decoding pass measures, per window:
- motion: mean absolute difference of 64x36 grey thumbnails sampled 8 times a second;
- loudness: RMS level (dBFS) of the sound, mixed to mono at 16 kHz, per window;
- sharpness: log10(1 + Laplacian variance) of a 160 px wide grey copy, 4 times a second;
- faces: the share of the picture covered by OpenCV Haar frontal faces (final-stage weight >= 2.5) on a
  320 px copy, once a second, counted only where the `vision` extra's OpenCV 4 with its Haar
  cascade is installed (opencv-python < 5; 5.x ships none);
- speech: the share of the window that Silero VAD (shipped inside faster-whisper, the `speech` extra;
  not counted without it) calls speech, run a minute of sound at a time.
A window without a sample (a low frame rate) takes its neighbours' value. Each signal is scaled to
0-1 between its 10th and 95th percentile over the clip; a signal whose
spread is under its floor (motion 0.5 grey level, loudness 6 dB, sharpness 0.3, faces 1 % of the
picture) carries nothing and scores 0, so a steady picture or a constant hum does not pick windows.

Scene Video: score = 0.35 motion + 0.35 loudness + 0.1 sharpness + 0.2 faces + 0.2 speech (the weights of the
signals present, renormalised), averaged over 3 windows (0.75 s).
Scene Soccer (there is no ball or goal detector offline): a highlight is a crowd-noise peak and a
burst of motion over the match's own level, so loudness and motion count as their excess over a
21 s running median (what is loud for this match, not loud at all; a commentator's steady voice
is not a peak), score = 0.5 loudness peak + 0.4 motion burst + 0.1 sharpness, and each window
takes at least 0.8 x the best score of the 2 s after it: the build-up before the roar comes along."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from av.container import InputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from . import vision
from .common import Resampler, Ticker, decodable, decoded, duration, origin

WINDOW = 0.25  # seconds of one scored window
_MOTION_STEP, _DETAIL_STEP, _FACE_STEP = 0.125, 0.25, 1.0  # seconds between motion, sharpness, face samples
_RATE = 16000  # Hz of the mono copy the loudness is measured on
_FLOOR = {"motion": 0.5, "loudness": 6.0, "sharpness": 0.3, "faces": 0.01, "speech": 0.1}
_WEIGHTS = {"motion": 0.35, "loudness": 0.35, "sharpness": 0.1, "faces": 0.2, "speech": 0.2}
_SOCCER = {"loudness": 0.5, "motion": 0.4, "sharpness": 0.1}
_BASELINE = 85  # windows of Soccer's running median (21 s)
_LEAD, _LEAD_SHARE = 8, 0.8  # Soccer: windows of build-up before a peak (2 s), and the share they take
_FACE_WEIGHT = 2.5  # the Haar final-stage weight a face must reach
_VAD_CHUNK = 60.0  # seconds of sound the VAD sees at a time



@dataclass(frozen=True)
class Signals:
    """The per-window measures of one input (NaN where a window had no sample)."""

    total: float
    motion: np.ndarray
    loudness: np.ndarray
    sharpness: np.ndarray
    faces: np.ndarray | None  # None: no face detector installed
    speech: np.ndarray | None = None  # share of each window that is speech; None: no VAD installed


def signals_used(signals: Signals) -> list[str]:
    """The names of the signals that can pick windows for this input."""
    found = [name for name in ("motion", "loudness", "sharpness") if np.isfinite(getattr(signals, name)).any()]
    return found + [name for name in ("faces", "speech") if getattr(signals, name) is not None]



def analyse(inp: InputContainer, ticker: Ticker) -> Signals:
    """Measure motion, loudness, sharpness (and faces) of every window in one decoding pass."""
    total = duration(inp)
    if not total:
        raise JobFailed(Failure.INVALID_INPUT, "The duration of the input is unknown")
    vin = next((s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)
    ain = next(iter(inp.streams.audio), None)
    streams = [decodable(s) for s in (vin, ain) if s is not None]
    if not streams:
        raise JobFailed(Failure.INVALID_INPUT, "The input has no video or audio stream to make a montage of")
    count = max(1, math.ceil(total / WINDOW))
    pictures = _Pictures(count, face_detector())
    sound = _Sound(count, _vad())
    zero = origin(inp)
    for frame in decoded(inp, *streams):
        if frame.time is None:
            continue
        at = frame.time - zero
        if isinstance(frame, av.VideoFrame):
            pictures.add(frame, at)
        else:
            sound.add(frame, at)
        ticker.at(at)
    sound.finish()
    return Signals(total, pictures.motion.mean(), sound.levels(), pictures.sharp.mean(),
                   pictures.faces.mean() if pictures.detector is not None else None,
                   sound.speech if sound.vad is not None and ain is not None else None)


class _Sums:
    """Per-window running sums: the mean of what was added, NaN where nothing was."""

    def __init__(self, count: int) -> None:
        self.total, self.n = np.zeros(count), np.zeros(count)

    def add(self, at: float, value: float) -> None:
        index = min(len(self.n) - 1, max(0, int(at / WINDOW)))
        self.total[index] += value
        self.n[index] += 1

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(self.n > 0, self.total / np.maximum(self.n, 1), np.nan)


class _Pictures:
    """Motion, sharpness and faces of the sampled video frames."""

    def __init__(self, count: int, detector: Any) -> None:
        self.motion, self.sharp, self.faces = _Sums(count), _Sums(count), _Sums(count)
        self.detector = detector
        self.previous: np.ndarray | None = None
        self.next_motion = self.next_detail = self.next_face = -1.0

    def add(self, frame: av.VideoFrame, at: float) -> None:
        if at + 1e-6 >= self.next_motion:
            self.next_motion = at + _MOTION_STEP
            thumb = frame.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.float32)
            if self.previous is not None:
                self.motion.add(at, float(np.abs(thumb - self.previous).mean()))
            self.previous = thumb
        if at + 1e-6 >= self.next_detail:
            self.next_detail = at + _DETAIL_STEP
            self._detail(frame, at)

    def _detail(self, frame: av.VideoFrame, at: float) -> None:
        width = 160 if frame.width >= frame.height else max(2, round(160 * frame.width / frame.height) // 2 * 2)
        height = max(2, round(width * frame.height / frame.width) // 2 * 2)
        grey = frame.reformat(width=width, height=height, format="gray").to_ndarray()
        lap = (4 * grey[1:-1, 1:-1].astype(np.float32) - grey[:-2, 1:-1] - grey[2:, 1:-1]
               - grey[1:-1, :-2] - grey[1:-1, 2:])
        self.sharp.add(at, math.log10(1.0 + float(lap.var())))
        if self.detector is not None and at + 1e-6 >= self.next_face:
            self.next_face = at + _FACE_STEP
            self.faces.add(at, _face_share(self.detector, frame, width * 2, height * 2))


def _face_share(detector: Any, frame: av.VideoFrame, width: int, height: int) -> float:
    """The share of the picture that Haar faces cover, counting detections whose final-stage weight
    reaches _FACE_WEIGHT (VideoTag measured true faces at 2.95-6.4, texture false hits at 1.2-2.3)."""
    cv = vision.cv2()
    grey = cv.equalizeHist(frame.reformat(width=width, height=height, format="gray").to_ndarray())
    rects, _, weights = detector.detectMultiScale3(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24),
                                                   outputRejectLevels=True)
    boxes = np.asarray(rects).reshape(-1, 4)
    strong = np.asarray(weights).ravel()[:len(boxes)] >= _FACE_WEIGHT
    return float((boxes[strong, 2] * boxes[strong, 3]).sum()) / float(grey.size)


class _Sound:
    """RMS level per window of the sound mixed to mono at 16 kHz, and the share of it Silero VAD calls speech."""

    def __init__(self, count: int, vad: Any = None) -> None:
        self.energy, self.n = np.zeros(count), np.zeros(count)
        self.speech = np.zeros(count)
        self.vad = vad
        self.resampler = Resampler("fltp", "mono", _RATE)
        self.position: int | None = None  # sample index of the next resampled sample
        self.pending: list[np.ndarray] = []  # sound not yet through the VAD
        self.pending_from = 0

    def add(self, frame: av.AudioFrame, at: float) -> None:
        if self.position is None:
            self.position = self.pending_from = max(0, int(round(at * _RATE)))
        frame.pts = None
        for out in self.resampler.resample(frame):
            self._take(out.to_ndarray()[0].astype(np.float32))

    def finish(self) -> None:
        if self.position is not None:
            for out in self.resampler.resample(None):
                self._take(out.to_ndarray()[0].astype(np.float32))
            self._detect()

    def _take(self, samples: np.ndarray) -> None:
        assert self.position is not None
        index = np.minimum(len(self.n) - 1, (self.position + np.arange(len(samples))) // int(_RATE * WINDOW))
        wide = samples.astype(np.float64)
        np.add.at(self.energy, index, wide * wide)
        np.add.at(self.n, index, 1)
        self.position += len(samples)
        if self.vad is not None:
            self.pending.append(samples)
            if self.position - self.pending_from >= _VAD_CHUNK * _RATE:
                self._detect()

    def _detect(self) -> None:
        """Run the VAD over the pending sound (a minute at a time, so memory stays flat)."""
        if self.vad is None or not self.pending:
            return
        chunk = np.concatenate(self.pending)
        per = int(_RATE * WINDOW)
        for span in self.vad(chunk):
            first, last = self.pending_from + int(span["start"]), self.pending_from + int(span["end"])
            for window in range(first // per, min(len(self.speech) - 1, (last - 1) // per) + 1):
                lo, hi = max(first, window * per), min(last, (window + 1) * per)
                self.speech[window] += max(0, hi - lo) / per
        self.pending_from += len(chunk)
        self.pending = []

    def levels(self) -> np.ndarray:
        if not self.n.any():
            return np.full(len(self.n), np.nan)
        mean = np.where(self.n > 0, self.energy / np.maximum(self.n, 1), 0.0)
        return np.asarray(np.clip(10 * np.log10(mean + 1e-10), -70.0, 0.0))


def _vad() -> Any:
    """Silero VAD as faster-whisper ships it (the `speech` extra): samples -> speech spans; None without it."""
    if importlib.util.find_spec("faster_whisper") is None:
        return None
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100, min_speech_duration_ms=250)

    def spans(samples: np.ndarray) -> list[dict[str, int]]:
        return list(get_speech_timestamps(samples, options, sampling_rate=_RATE))

    return spans


def face_detector() -> Any:
    """OpenCV's Haar frontal-face cascade (VideoTag's loader), or None without an OpenCV 4 that ships it."""
    try:
        return vision.face_cascade()
    except JobFailed:
        return None


# --- scoring ---------------------------------------------------------------------------------


def filled(values: np.ndarray) -> np.ndarray:
    """`values` with each NaN (a window without a sample) replaced by its neighbours' value."""
    known = np.flatnonzero(np.isfinite(values))
    if not len(known):
        return np.zeros(len(values))
    return np.asarray(np.interp(np.arange(len(values)), known, values[known]))


def normalised(values: np.ndarray, floor: float) -> np.ndarray:
    """`values` scaled to 0-1 between their 10th and 95th percentile (zeros when they hardly vary)."""
    base = filled(values)
    lo, hi = np.percentile(base, 10), np.percentile(base, 95)
    if hi - lo < floor:
        return np.zeros(len(values))
    return np.asarray(np.clip((base - lo) / (hi - lo), 0.0, 1.0))


def _excess(values: np.ndarray) -> np.ndarray:
    """How far each window lies above the running median of the windows around it."""
    base = filled(values)
    half = _BASELINE // 2
    padded = np.pad(base, half, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(padded, _BASELINE), axis=1)
    return np.asarray(np.maximum(0.0, base - median))


def score(signals: Signals, scene: str) -> np.ndarray:
    """The interest of every window, 0-1, for Scene `scene` (video or soccer)."""
    if scene == "soccer":
        raw = _weighted({"loudness": normalised(_excess(signals.loudness), _FLOOR["loudness"] / 2),
                         "motion": normalised(_excess(signals.motion), _FLOOR["motion"]),
                         "sharpness": normalised(signals.sharpness, _FLOOR["sharpness"])}, _SOCCER)
        ahead = np.asarray([raw[i + 1:i + 1 + _LEAD].max() if i + 1 < len(raw) else 0.0 for i in range(len(raw))])
        return np.asarray(np.maximum(raw, _LEAD_SHARE * ahead))
    parts = {"motion": signals.motion, "loudness": signals.loudness, "sharpness": signals.sharpness}
    for name in ("faces", "speech"):
        if getattr(signals, name) is not None:
            parts[name] = getattr(signals, name)
    raw = _weighted({k: normalised(v, _FLOOR[k]) for k, v in parts.items()}, _WEIGHTS)
    return np.asarray(np.convolve(np.pad(raw, 1, mode="edge"), np.ones(3) / 3, "valid"))


def _weighted(parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The weighted mean of the signals present."""
    total = np.zeros(len(next(iter(parts.values()))))
    for key, values in parts.items():
        total += weights[key] * values
    return total / sum(weights[key] for key in parts)
