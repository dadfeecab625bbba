"""Concat's feeds: one piece's frames made uniform, trimmed to length and faded into Transcode's lanes.

A VideoFeed turns a piece's pictures into exactly round(length x rate) upright, letterboxed
yuv420p frames at the output rate (the last frame repeated, or black when the piece has no
video); an AudioFeed turns its sound into exactly round(length x rate) planar-float samples
(silence where there is none). At a junction both apply the piece's Edges: FADE darkens and
silences towards it (a linear gain on pictures and sound), GRADIENT holds the last
Time seconds back in `Held` and mixes them into the next piece's first Time seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from av.container import InputContainer

from ..tags.concat import SceneChange
from .common import Chain, Filters, Resampler, resize, turn, upright
from .transcode import AudioLane, VideoLane

_EPS = 1e-3


@dataclass(frozen=True)
class Edges:
    """What happens at the two ends of one piece, in seconds."""

    fade_in: float = 0.0
    fade_out: float = 0.0
    overlap_in: float = 0.0  # crossfaded with the end of the previous piece
    overlap_out: float = 0.0  # crossfaded into the start of the next piece


@dataclass
class Held:
    """The end of the previous piece, held back to be crossfaded into the next one."""

    video: list[np.ndarray] = field(default_factory=list)
    audio: np.ndarray | None = None


def edges(scene: SceneChange, lengths: list[float]) -> list[Edges]:
    """Each piece's Edges for SceneChangeInfo; Time is capped at half the shortest piece."""
    mode = scene.mode
    if mode not in ("fade", "gradient") or len(lengths) < 2:
        return [Edges() for _ in lengths]
    wanted = scene.time
    last = len(lengths) - 1
    if mode == "fade":  # half of Time on each side: a piece between two junctions is at most all fade
        span = min(wanted, min(lengths))
        return [Edges(fade_in=span / 2 if i else 0.0, fade_out=span / 2 if i < last else 0.0)
                for i in range(len(lengths))]
    span = min(wanted, min(lengths) / 2)  # a piece between two junctions overlaps at both ends
    return [Edges(overlap_in=span if i else 0.0, overlap_out=span if i < last else 0.0)
            for i in range(len(lengths))]


class VideoFeed:
    """One piece's pictures into the video lane."""

    kind = "video"

    def __init__(self, lane: VideoLane, container: InputContainer, stream: av.VideoStream | None, length: float,
                 offset: float, edge: Edges, held: Held) -> None:
        self.lane, self.stream, self.offset, self.held = lane, stream, offset, held
        self.rate = Fraction(lane.rate)
        self.length = length
        self.count = int(round(length * self.rate))
        self.mix = held.video
        self.hold = int(round(edge.overlap_out * self.rate))
        self.turn = upright(container, stream) if stream is not None else 0
        self.fade_in, self.fade_out = int(round(edge.fade_in * self.rate)), int(round(edge.fade_out * self.rate))
        self.black = _black(lane.size)
        self.chain: Chain | None = None
        self.made = 0
        self.last: np.ndarray | None = None
        self.done = stream is None
        held.video = []

    def push(self, frame: av.VideoFrame, at: float) -> None:
        """Take one decoded frame playing `at` seconds into the piece."""
        if at < -_EPS or self.done:
            return
        if at >= self.length - _EPS or self.made >= self.count:
            self.done = True
            return
        assert self.stream is not None
        tb = self.stream.time_base or Fraction(1, 90000)
        frame.pts, frame.time_base = int(round(at / tb)), tb
        if frame.duration:  # a damaged one may last hours: the fps filter would repeat the frame for all of them
            frame.duration = max(1, min(frame.duration, int(round((self.length - at) / tb))))
        if self.chain is None:
            size = (frame.height, frame.width) if self.turn in (90, 270) else (frame.width, frame.height)
            filters: Filters = [*turn(self.turn), ("fps", f"fps={self.rate}:start_time=0")]
            filters += resize(size, self.lane.size, "pad") + [("format", "yuv420p")]
            self.chain = Chain(frame, tb, self.stream.sample_aspect_ratio, filters)
        for out in self.chain.push(frame):
            self._emit(out.to_ndarray(format="yuv420p"))

    def finish(self) -> None:
        """Drain the filters; repeat the last picture (black when none) up to the piece's length."""
        if self.chain is not None:
            for out in self.chain.push(None):
                self._emit(out.to_ndarray(format="yuv420p"))
        while self.made < self.count:
            self._emit(self.last if self.last is not None else self.black)

    def _emit(self, image: np.ndarray) -> None:
        index = self.made
        if index >= self.count:
            return
        self.made += 1
        self.last = image
        gain = self._gain(index)
        if gain < 1:  # fading through black: the first frame after a junction, and the last before, are black
            image = (self.black * (1 - gain) + image * gain).round().astype(np.uint8)
        if index < len(self.mix):
            alpha = (index + 1) / (len(self.mix) + 1)
            image = (self.mix[index] * (1 - alpha) + image * alpha).round().astype(np.uint8)
        if index >= self.count - self.hold:
            self.held.video.append(image)
            return
        self._push(image, index)

    def _push(self, image: np.ndarray, index: int) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        # The lane times frames in its source's time base; a duration lets its fps filter
        # keep the very last frame at end of stream.
        tb = self.lane.src.time_base or Fraction(1, 90000)
        frame.duration = int(round(1 / (self.rate * tb)))
        self.lane.push(frame, self.offset + float(index / self.rate))

    def _gain(self, index: int) -> float:
        gain = 1.0
        if self.fade_in:
            gain = min(gain, index / self.fade_in)
        if self.fade_out:
            gain = min(gain, (self.count - 1 - index) / self.fade_out)
        return max(0.0, gain)


class AudioFeed:
    """One piece's sound into the audio lane, as planar float at the lane's rate and layout."""

    kind = "audio"

    def __init__(self, lane: AudioLane, stream: av.AudioStream | None, length: float, offset: float,
                 edge: Edges, held: Held) -> None:
        self.lane, self.stream, self.offset, self.held = lane, stream, offset, held
        self.rate = lane.rate
        self.layout = lane.stream.codec_context.layout.name
        self.channels = lane.stream.codec_context.layout.nb_channels
        self.length = length
        self.need = int(round(length * self.rate))
        self.fade_in, self.fade_out = int(edge.fade_in * self.rate), int(edge.fade_out * self.rate)
        self.hold = int(round(edge.overlap_out * self.rate))
        self.mix = held.audio
        held.audio = None
        self.kept: list[np.ndarray] = []
        self.resampler = Resampler("fltp", self.layout, self.rate)
        self.started = False
        self.skip = 0
        self.sent = 0
        self.done = stream is None

    def push(self, frame: av.AudioFrame, at: float) -> None:
        """Take one decoded frame starting `at` seconds into the piece."""
        span = frame.samples / (frame.sample_rate or self.rate)
        if self.done or at + span <= 0:
            return
        if at >= self.length - _EPS or self.sent >= self.need:
            self.done = True
            return
        if not self.started:
            self.started = True
            lead = int(round(at * self.rate))
            if lead > 0:
                self._emit(np.zeros((self.channels, lead), np.float32))  # the sound starts late
            self.skip = max(0, -lead)
        frame.pts = None
        for out in self.resampler.resample(frame):
            self._take(out.to_ndarray())

    def finish(self) -> None:
        """Drain the resampler; pad with silence up to the piece's length."""
        if self.started:
            for out in self.resampler.resample(None):
                self._take(out.to_ndarray())
        if self.sent < self.need:
            self._emit(np.zeros((self.channels, self.need - self.sent), np.float32))
        if self.kept:
            self.held.audio = np.concatenate(self.kept, axis=1)

    def _take(self, samples: np.ndarray) -> None:
        cut = min(self.skip, samples.shape[1])
        self.skip -= cut
        if samples.shape[1] > cut:
            self._emit(samples[:, cut:])

    def _emit(self, samples: np.ndarray) -> None:
        count = min(samples.shape[1], self.need - self.sent)
        if count <= 0:
            return
        where = np.arange(self.sent, self.sent + count)
        chunk = samples[:, :count].astype(np.float32) * self._gain(where)
        if self.mix is not None and self.sent < self.mix.shape[1]:
            inside = where < self.mix.shape[1]
            alpha = (where[inside] + 1) / (self.mix.shape[1] + 1)
            chunk[:, inside] = chunk[:, inside] * alpha + self.mix[:, where[inside]] * (1 - alpha)
        start = self.sent
        self.sent += count
        keep = int(np.count_nonzero(where < self.need - self.hold))
        if keep < count:
            self.kept.append(chunk[:, keep:])
        if keep:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk[:, :keep]), format="fltp",
                                               layout=self.layout)
            frame.sample_rate = self.rate
            self.lane.push(frame, self.offset + start / self.rate)

    def _gain(self, where: np.ndarray) -> np.ndarray:
        gain = np.ones(len(where), np.float32)
        if self.fade_in:
            gain = np.minimum(gain, (where + 1) / self.fade_in)
        if self.fade_out:
            gain = np.minimum(gain, (self.need - where) / self.fade_out)
        return gain.astype(np.float32)


def _black(size: tuple[int, int]) -> np.ndarray:
    """A black yuv420p picture as PyAV lays it out: the Y plane, then U and V below it."""
    width, height = size
    image = np.full((height * 3 // 2, width), 128, np.uint8)
    image[:height] = 16
    return image
