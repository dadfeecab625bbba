"""The VideoMontage Tag: a highlight reel of about Duration seconds from the input's most interesting
stretches, kept in source order and re-encoded so that every cut starts on a fresh key frame.

What is interesting is `interest`'s score of each 0.25 s window (motion, loudness, sharpness, faces,
speech; Scene Soccer: crowd-noise peaks and motion bursts with their build-up).

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

import itertools
import os
from contextlib import ExitStack
from typing import Any, cast

import av
import numpy as np
from av.container import InputContainer, OutputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.videomontage import VideoMontageOp
from . import Progress, Result, Task, audiomix
from .blend import AudioFeed, Edges, Held, VideoFeed
from .common import Ticker, decoded, duration, open_input, origin, seek
from .interest import WINDOW, analyse, score, signals_used
from .streaming import SEGMENT_SECONDS, Package, finish, open_hls, stem
from .transcode import AudioLane, VideoLane

_MIN_RUN, _MAX_GAP = 6, 2  # windows: shortest stretch kept (1.5 s), longest gap filled (0.5 s)
_DECLICK = 0.005  # seconds of sound fade either side of a cut
_AUTO_MIN = 5.0  # seconds: the shortest reel chosen without Duration (the input, when shorter)


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



# --- choice ----------------------------------------------------------------------------------


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
        alane.mixer = audiomix.mixer(op.audio_mix, task.objects, alane.rate, alane.layout, length,
                                     "Request.Operation.VideoMontage.AudioMix")
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
