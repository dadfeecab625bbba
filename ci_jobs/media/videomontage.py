"""The VideoMontage Tag: a highlight reel of about Duration seconds from the input's most interesting
stretches, kept in source order and re-encoded so that every cut starts on a fresh key frame.

Analysis, one decoding pass, in 0.25 s windows:
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
takes at least 0.8 x the best score of the 2 s after it: the build-up before the roar comes along.

Choice: the best round(Duration / 0.25) windows; gaps of at most 0.5 s between chosen stretches are
filled and stretches under 1.5 s dropped; then stretches grow at their best neighbouring window
or shrink at their worst edge window until the count is met again, and the last stretch's end
takes up the remainder, so the reel lasts Duration (all of the input when it is shorter).
Without Duration the reel is what scores at least half the best, within [min(5 s, input),
half the input].

Cuts: every stretch is decoded from the key frame before it and re-encoded through Transcode's
lanes with Concat's feeds (`blend`), trimmed or padded to exactly its length, so the reel's
timestamps run on without gaps and each stretch starts on a new key frame; the sound fades over
5 ms either side of each cut (no click). AudioMix is laid under the whole reel (`audiomix`).
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, cast

import av
import numpy as np
from av.container import InputContainer, OutputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.videomontage import VideoMontageOp
from . import Progress, Result, Task, audiomix, vision
from .blend import AudioFeed, Edges, Held, VideoFeed
from .common import Resampler, Ticker, decodable, decoded, duration, open_input, origin, seek
from .streaming import SEGMENT_SECONDS, Package, finish, open_hls, stem
from .transcode import AudioLane, VideoLane

WINDOW = 0.25  # seconds of one scored window
_MOTION_STEP, _DETAIL_STEP, _FACE_STEP = 0.125, 0.25, 1.0  # seconds between motion, sharpness, face samples
_RATE = 16000  # Hz of the mono copy the loudness is measured on
_FLOOR = {"motion": 0.5, "loudness": 6.0, "sharpness": 0.3, "faces": 0.01, "speech": 0.1}
_WEIGHTS = {"motion": 0.35, "loudness": 0.35, "sharpness": 0.1, "faces": 0.2, "speech": 0.2}
_SOCCER = {"loudness": 0.5, "motion": 0.4, "sharpness": 0.1}
_BASELINE = 85  # windows of Soccer's running median (21 s)
_LEAD, _LEAD_SHARE = 8, 0.8  # Soccer: windows of build-up before a peak (2 s), and the share they take
_MIN_RUN, _MAX_GAP = 6, 2  # windows: shortest stretch kept (1.5 s), longest gap filled (0.5 s)
_DECLICK = 0.005  # seconds of sound fade either side of a cut
_AUTO_MIN = 5.0
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


def run(task: Task, progress: Progress) -> Result:
    """Cut the reel that the typed VideoMontage op (`task.op`) asks for out of `task.inputs[0]`."""
    op: VideoMontageOp = task.op
    progress(0.0)
    with open_input(task.inputs[0]) as inp:
        signals = analyse(inp, Ticker(progress, duration(inp), 0.0, 40.0))
    scores = score(signals, op.scene)
    want = op.duration if op.duration is not None else auto_duration(scores, signals.total)
    pieces = choose(scores, want, signals.total)
    progress(40.0)
    length = sum(end - start for start, end in pieces)
    with ExitStack() as stack:
        inp = stack.enter_context(open_input(task.inputs[0]))
        package = _output(task, op)
        stack.callback(package.container.close)  # also on failure; closing twice is harmless
        _splice(task, op, inp, package.container, pieces, Ticker(progress, length, 40.0, 99.0))
        files, info = finish(package)
    progress(100.0)
    segments = [{"Start": f"{a:.3f}", "End": f"{b:.3f}"} for a, b in pieces]
    return Result(files, op.container.ext, info, data={"Segments": segments, "Duration": f"{length:.3f}",
                                                       "Signals": signals_used(signals)})


def signals_used(signals: Signals) -> list[str]:
    """The names of the signals that can pick windows for this input."""
    found = [name for name in ("motion", "loudness", "sharpness") if np.isfinite(getattr(signals, name)).any()]
    return found + [name for name in ("faces", "speech") if getattr(signals, name) is not None]


# --- analysis -------------------------------------------------------------------------------


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
    pictures = _Pictures(count, _face_detector())
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


def _face_detector() -> Any:
    """OpenCV's Haar frontal-face cascade (VideoTag's loader), or None without an OpenCV 4 that ships it."""
    try:
        return vision.face_cascade()
    except JobFailed:
        return None


# --- scoring and choice ---------------------------------------------------------------------


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


def auto_duration(scores: np.ndarray, total: float) -> float:
    """The reel's length when Duration is not given: what scores at least half the best, bounded."""
    best = float(scores.max()) if len(scores) else 0.0
    wanted = float(np.count_nonzero(scores >= best / 2)) * WINDOW if best > 0 else 0.0
    lo = min(_AUTO_MIN, total)
    return min(max(wanted, lo), max(lo, total / 2))


def choose(scores: np.ndarray, want: float, total: float) -> list[tuple[float, float]]:
    """The (start, end) seconds of the stretches making a reel of `want` seconds, in source order."""
    if want >= total - 1e-6:
        return [(0.0, total)]
    count = len(scores)
    k = min(count, max(1, round(want / WINDOW)))
    chosen = np.zeros(count, bool)
    chosen[np.argsort(-scores, kind="stable")[:k]] = True
    chosen = _tidy(chosen)
    while chosen.sum() != k:
        chosen = _grow(chosen, scores) if chosen.sum() < k else _shrink(chosen, scores)
    runs = [(a * WINDOW, min(total, b * WINDOW)) for a, b in _runs(chosen)]
    start, end = runs[-1]
    runs[-1] = (start, max(start + WINDOW / 2, min(total, end + want - sum(b - a for a, b in runs))))
    return runs


def _runs(chosen: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) window indices of each stretch of chosen windows."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], chosen.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _tidy(chosen: np.ndarray) -> np.ndarray:
    """Fill short gaps between stretches; drop stretches too short to watch (unless all are)."""
    out = chosen.copy()
    runs = _runs(out)
    for (_, end), (start, _) in zip(runs, runs[1:], strict=False):
        if start - end <= _MAX_GAP:
            out[end:start] = True
    kept = out.copy()
    for start, end in _runs(out):
        if end - start < _MIN_RUN:
            kept[start:end] = False
    return kept if kept.any() else out


def _grow(chosen: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Add the best window next to a stretch (the best window at all when none is chosen)."""
    out = chosen.copy()
    near = np.zeros(len(out), bool)
    near[:-1] |= out[1:]
    near[1:] |= out[:-1]
    candidates = np.flatnonzero(near & ~out)
    if not len(candidates):
        candidates = np.flatnonzero(~out)
    out[candidates[np.argmax(scores[candidates])]] = True
    return out


def _shrink(chosen: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Drop the worst window at the edge of a stretch."""
    out = chosen.copy()
    edges = [i for start, end in _runs(out) for i in {start, end - 1}]
    out[min(edges, key=lambda i: (scores[i], -i))] = False
    return out


# --- the reel -------------------------------------------------------------------------------


def _output(task: Task, op: VideoMontageOp) -> Package:
    spec = op.container
    if spec.muxer == "hls":
        return open_hls(task.outdir, stem(task, op.output.object, spec.ext), SEGMENT_SECONDS)
    name = f"montage.{spec.ext}"
    options = {"movflags": "+faststart"} if spec.muxer == "mp4" else {}
    out = av.open(os.path.join(task.outdir, name), "w", format=spec.muxer, container_options=options)
    return Package(out, task.outdir, name)


def _lanes(task: Task, op: VideoMontageOp, inp: InputContainer, out: OutputContainer,
           length: float) -> tuple[VideoLane | None, AudioLane | None]:
    vin = next((s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)
    ain = next(iter(inp.streams.audio), None)
    vlane = VideoLane(out, vin, op.container, op.video) if vin is not None and op.video is not None else None
    if vlane is not None:
        vlane.turn = 0  # the feeds stand every picture upright before it reaches the lane
    alane = AudioLane(out, ain, op.audio) if ain is not None and op.audio is not None else None
    if op.audio_mix and alane is None:
        raise JobFailed(Failure.INVALID_ARGUMENT, "Request.Operation.VideoMontage.AudioMix needs an audio "
                        "stream: the input has none or Audio.Remove drops it")
    if alane is not None:
        alane.mixer = audiomix.mixer(op.audio_mix, task.objects, alane.rate, alane.layout, length)
    if vlane is None and alane is None:
        raise JobFailed(Failure.INVALID_ARGUMENT, "The montage would have no stream: the input has no stream "
                        "that Video/Audio keep")
    return vlane, alane


def _splice(task: Task, op: VideoMontageOp, inp: InputContainer, out: OutputContainer,
            pieces: list[tuple[float, float]], ticker: Ticker) -> None:
    """Decode each stretch from the key frame before it and feed exactly its length to the lanes."""
    length = sum(end - start for start, end in pieces)
    vlane, alane = _lanes(task, op, inp, out, length)
    held, offset, last = Held(), 0.0, len(pieces) - 1
    if vlane is not None:
        cuts = list(itertools.accumulate(end - start for start, end in pieces[:-1]))
        vlane.decorator = cast(Any, _KeyFrames(cuts, float(1 / vlane.rate)))
    zero = origin(inp)
    for n, (start, end) in enumerate(pieces):
        edge = Edges(fade_in=_DECLICK if n else 0.0, fade_out=_DECLICK if n < last else 0.0)
        feeds: list[VideoFeed | AudioFeed] = []
        if vlane is not None:
            feeds.append(VideoFeed(vlane, inp, vlane.src, end - start, offset, edge, held))
        if alane is not None:
            feeds.append(AudioFeed(alane, alane.src, end - start, offset, edge, held))
        streams = [f.stream for f in feeds if f.stream is not None]
        seek(inp, streams[0], start)
        for frame in decoded(inp, *streams):
            if frame.time is None:
                continue
            at = frame.time - zero - start
            feed = feeds[0] if isinstance(frame, av.VideoFrame) else feeds[-1]
            feed.push(frame, at)  # type: ignore[arg-type]
            ticker.at(offset + max(0.0, at))
            if all(f.done for f in feeds):
                break
        for feed in feeds:
            feed.finish()
        offset += end - start
    for lane in (vlane, alane):
        if lane is not None:
            lane.flush()


class _KeyFrames:
    """Makes the first frame of every stretch a key frame (the lane's decorator hook, which sees each
    frame just before it is encoded): a cut never depends on pictures from before it."""

    def __init__(self, cuts: list[float], frame: float) -> None:
        self.cuts, self.half = cuts, frame / 2

    def paint(self, frame: av.VideoFrame, seconds: float) -> av.VideoFrame:
        if any(abs(seconds - cut) < self.half for cut in self.cuts):
            frame.pict_type = av.video.frame.PictureType.I
        return frame
