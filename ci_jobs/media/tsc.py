"""Top-speed HD (TSC, 极速高清): per-scene, SSIM-targeted H.264 rate control.

Requested by `Transcode.TransConfig.TranscodeMode = TSC` (H.264 only). The quality target is
what the plain job would give: libx264 at the job's CRF (25 when unset), preset and profile.
Frames are cut into scenes at picture changes (or every `keyint` frames). For each scene:

1. the plain encoder encodes it; the mean luma SSIM of that encode against the frames is the
   scene's target, moved by the running surplus: quality won over the plain encode in earlier
   scenes may be spent (at most MAX_DIP per frame), quality lost must be made up, so the running
   mean SSIM never falls behind the plain encode's;
2. an SSIM-tuned libx264 (tune=ssim: no psy-rd/psy-trellis, aq-mode 3, 5 B-frames, 4 refs,
   trellis 2, `stitchable` headers) encodes it at CRF `crf + delta`; a secant search over delta
   (at most `PROBES` encodes, started from the previous scene's answer) keeps the encode with the
   fewest bits whose SSIM reaches the target;
3. the kept encode's packets go into the output as they are. Every scene starts with an IDR and
   the tuned encoders share one set of stitchable SPS/PPS, so the scenes join into one stream.

Where it stands (tests/media/test_tsc.py, 320x240 camera-like clip with sensor noise, CRF 23):
20.4-21.3% fewer bits than the plain output at equal or better SSIM when run alone (17-18% on a
busy machine: threaded x264 is not bit-exact, and the search amplifies that), in about 6-7x its
time (the tuned encoder runs x264's `slower` preset). Spending quality across scenes by rate-distortion slope
rather than per-scene targets would save more.

SSIM is measured on luma exactly as FFmpeg's ssim filter does (8x8 windows at a 4-pixel step),
on frames shrunk by an integer factor so that the width stays under about 640 pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.container import OutputContainer

from ..domain.failures import Failure
from ..errors import JobFailed

PROBES = 3
TUNED = {"preset": "slower", "tune": "ssim",
         "x264-params": "bframes=5:trellis=2:stitchable=1"}
MAX_DIP = 0.005      # at most this much SSIM below a scene's plain encode, paid by earlier surplus
_MARGIN = 0.0001     # a scene encoded alone scores a little apart from the same scene in one long encode
_SLOPE = 0.25        # dB of SSIM lost per CRF step, until a scene's own probes tell
_CUT_SCORE = 8.0     # scene-change score (0..100, as FFmpeg's scdet) that ends a scene
_MAX_BYTES = 256 << 20  # frames held for one scene at most
_PLAIN = av.video.frame.PictureType.NONE
Luma = np.ndarray[Any, np.dtype[np.float32]]


def tuned(plain: dict[str, str]) -> dict[str, str]:
    """The SSIM-tuned encoder options standing for the plain ones (the output stream uses them too)."""
    return {k: v for k, v in plain.items() if k not in ("preset", "tune")} | TUNED


def ssim(a: Luma, b: Luma) -> float:
    """Mean SSIM of two luma pictures as FFmpeg's ssim filter computes it: 8x8 windows at a 4-pixel step."""
    h, w = a.shape[0] // 4 * 4, a.shape[1] // 4 * 4
    x, y = a[:h, :w].astype(np.float64), b[:h, :w].astype(np.float64)
    s1, s2 = _windows(x, h, w), _windows(y, h, w)
    ss, s12 = _windows(x * x + y * y, h, w), _windows(x * y, h, w)
    c1, c2 = 0.01 ** 2 * 255 ** 2 * 64, 0.03 ** 2 * 255 ** 2 * 64 * 63
    variance, covariance = ss * 64 - s1 * s1 - s2 * s2, s12 * 64 - s1 * s2
    score = (2 * s1 * s2 + c1) * (2 * covariance + c2) / ((s1 * s1 + s2 * s2 + c1) * (variance + c2))
    return float(score.mean())


def _windows(values: np.ndarray[Any, np.dtype[np.float64]], h: int,
             w: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Sums over 8x8 windows stepping 4 pixels: 4x4 block sums, added in overlapping 2x2 groups."""
    blocks = values.reshape(h // 4, 4, w // 4, 4).sum(axis=(1, 3))
    out: np.ndarray[Any, np.dtype[np.float64]] = blocks[:-1, :-1] + blocks[1:, :-1] + blocks[:-1, 1:] + blocks[1:, 1:]
    return out


def luma(frame: av.VideoFrame, factor: int) -> Luma:
    """The frame's luma (8-bit scale) shrunk by `factor` with a box average."""
    plane = frame.planes[0]
    wide = plane.line_size // plane.width if plane.width else 1
    dtype = np.uint16 if wide >= 2 else np.uint8
    rows = np.frombuffer(memoryview(plane), dtype).reshape(plane.height, -1)[:, : plane.width]
    values = rows.astype(np.float32) / (4.0 if dtype == np.uint16 else 1.0)
    if factor > 1:
        h, w = values.shape[0] // factor * factor, values.shape[1] // factor * factor
        values = values[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    return values


@dataclass
class Probe:
    """One encode of a scene: its CRF offset, packets, size and SSIM."""

    delta: float
    packets: list[av.Packet[Any]]
    bits: int
    score: float
    extradata: bytes | None


@dataclass
class Stats:
    """What TSC did, for logs and tests."""

    scenes: int = 0
    encodes: int = 0
    deltas: list[float] = field(default_factory=list)
    plain_bits: int = 0
    bits: int = 0


class Encoder:
    """Collects a VideoLane's filtered frames scene by scene and muxes the chosen encodes."""

    def __init__(self, out: OutputContainer, stream: av.VideoStream, plain: dict[str, str],
                 crf: float, rate: Fraction, keyint: int) -> None:
        self.out, self.stream, self.rate = out, stream, rate
        self.plain, self.crf, self.tuned = dict(plain), crf, tuned(plain)
        self.keyint = max(1, keyint)
        self.global_header = bool(stream.codec_context.flags & av.codec.context.Flags.global_header)
        self.stats = Stats()
        self._frames: list[av.VideoFrame] = []
        self._thumb: Luma | None = None
        self._mafd = 0.0
        self._delta = 0.0
        self._surplus = 0.0  # sum over frames so far of (SSIM - the plain encode's SSIM)
        self._factor = 1

    def add(self, frame: av.VideoFrame) -> None:
        """Take one output frame; a scene that ends here is encoded and muxed."""
        if not self._frames:
            self._factor = max(1, math.ceil(frame.width / 640))
        limit = min(self.keyint, max(2, _MAX_BYTES // max(1, frame.width * frame.height * 3 // 2)))
        if self._frames and (self._cut(frame) or len(self._frames) >= limit):
            self._scene()
        self._frames.append(frame)

    def flush(self) -> None:
        """Encode and mux the last scene."""
        if self._frames:
            self._scene()

    def _cut(self, frame: av.VideoFrame) -> bool:
        """Scene change: FFmpeg scdet's score on 8x-pooled luma, at least half a second apart."""
        thumb = luma(frame, 8)
        previous, self._thumb = self._thumb, thumb
        if previous is None or previous.shape != thumb.shape:
            return False
        mafd = float(np.abs(thumb - previous).mean()) * 100 / 255
        score = min(mafd, abs(mafd - self._mafd))
        self._mafd = mafd
        return score > _CUT_SCORE and len(self._frames) >= max(2, int(self.rate / 2))

    def _scene(self) -> None:
        frames, self._frames = self._frames, []
        source = [luma(f, self._factor) for f in frames]
        plain = self._encode(frames, self.plain, None, source)
        # Quality ahead of the plain encode so far may be spent here (a little per frame), and
        # quality behind it must be made up: the running mean SSIM tracks the plain encode's.
        allowance = min(self._surplus / len(frames), MAX_DIP)
        best = self._search(frames, source, plain.score - allowance + _MARGIN)
        self._surplus += len(frames) * (best.score - plain.score - _MARGIN)
        self.stats.scenes += 1
        self.stats.plain_bits += plain.bits
        self.stats.bits += best.bits
        self.stats.deltas.append(best.delta)
        self._mux(best)

    def _search(self, frames: list[av.VideoFrame], source: list[Luma], target: float) -> Probe:
        """The tuned encode with the fewest bits reaching `target` (the best effort if none does)."""
        tried: list[Probe] = []
        delta = self._delta
        for _ in range(PROBES):
            tried.append(self._encode(frames, self.tuned, delta, source))
            step = _next_delta(tried, target)
            if step is None:
                break
            delta = step
        passing = [p for p in tried if p.score >= target]
        if not passing:  # one more, well below every failed offset
            tried.append(self._encode(frames, self.tuned, min(p.delta for p in tried) - 3.0, source))
            passing = [p for p in tried if p.score >= target] or [max(tried, key=lambda p: p.score)]
        best = min(passing, key=lambda p: p.bits)
        self._delta = best.delta
        return best

    def _encode(self, frames: list[av.VideoFrame], options: dict[str, str], delta: float | None,
                source: list[Luma]) -> Probe:
        context = av.CodecContext.create("libx264", "w")
        context.width, context.height = frames[0].width, frames[0].height
        context.pix_fmt = self.stream.pix_fmt
        context.time_base, context.framerate = 1 / self.rate, self.rate
        if self.global_header:
            context.flags |= av.codec.context.Flags.global_header
        crf = self.crf + (delta or 0.0)
        context.options = {**options, "crf": f"{min(51.0, max(0.0, crf)):.2f}"}
        packets: list[av.Packet[Any]] = []
        for frame in frames:
            frame.pts, frame.time_base = int(round((frame.time or 0.0) * self.rate)), 1 / self.rate
            frame.pict_type = _PLAIN
            packets.extend(context.encode(frame))
        packets.extend(context.encode(None))
        self.stats.encodes += 1
        extradata = context.extradata
        decoded = list(_decode(packets, extradata if self.global_header else None))
        scores = [ssim(s, luma(d, self._factor)) for s, d in zip(source, decoded, strict=False)]
        score = float(np.mean(scores)) if len(scores) == len(source) else -1.0
        return Probe(delta or 0.0, packets, sum(p.size for p in packets) * 8, score, extradata)

    def _mux(self, probe: Probe) -> None:
        for packet in probe.packets:
            packet.stream, packet.time_base = self.stream, 1 / self.rate
            self.out.mux(packet)
        mine = self.stream.codec_context.extradata
        if self.global_header and mine and probe.extradata and mine != probe.extradata:
            raise JobFailed(Failure.INTERNAL_ERROR, "TSC scene encodes do not share the output's H.264 headers")


def _decode(packets: list[av.Packet[Any]], extradata: bytes | None) -> Iterator[av.VideoFrame]:
    decoder = av.CodecContext.create("h264", "r")
    if extradata:
        decoder.extradata = extradata
    for packet in packets:
        yield from decoder.decode(packet)
    yield from decoder.decode(None)


def _quality(score: float) -> float:
    """SSIM as decibels, where equal steps of CRF give roughly equal steps."""
    return -10 * math.log10(max(1e-6, 1 - score))


def _next_delta(tried: list[Probe], target: float) -> float | None:
    """The next CRF offset to try, or None when the bracket is tight enough."""
    passing = [p.delta for p in tried if p.score >= target]
    failing = [p.delta for p in tried if p.score < target]
    lo, hi = (max(passing) if passing else None), (min(failing) if failing else None)
    if lo is not None and hi is not None:
        if hi - lo <= 0.25:
            return None
        a = next(p for p in tried if p.delta == lo)
        b = next(p for p in tried if p.delta == hi)
        span = _quality(a.score) - _quality(b.score)
        share = (_quality(a.score) - _quality(target)) / span if span > 0 else 0.5
        return lo + min(0.85, max(0.15, share)) * (hi - lo)
    known = sorted(tried, key=lambda p: p.delta)
    slope = _SLOPE
    if len(known) >= 2 and known[-1].delta > known[0].delta:
        measured = (_quality(known[0].score) - _quality(known[-1].score)) / (known[-1].delta - known[0].delta)
        slope = measured if measured > 0.02 else _SLOPE
    edge = next(p for p in tried if p.delta == (lo if lo is not None else hi))
    move = (_quality(edge.score) - _quality(target)) / slope
    return edge.delta + (min(4.0, max(0.5, move)) if lo is not None else max(-4.0, min(-0.5, move)))
