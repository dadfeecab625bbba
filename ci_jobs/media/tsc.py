"""Top-speed HD (TSC, 极速高清): per-scene, SSIM-targeted H.264 that never spends more bits than the plain encode.

Requested by `Transcode.TransConfig.TranscodeMode = TSC` (H.264 only) or a HighSpeedHd template. The
quality target is what the plain job gives: libx264 at the job's CRF (25 when unset), preset and
profile. Frames are cut into scenes at picture changes (or every `keyint` frames). For each scene:

1. the plain encoder encodes it: its luma SSIM against the frames (FFmpeg's `ssim` filter) is the
   scene's target and its bits the ceiling. A cheap look at the first frame's luma (`classify`)
   puts the scene in a class, flat / screen / detail, that sets where the search starts and how
   fast SSIM moves with CRF there;
2. an SSIM-tuned libx264 (`tuned`: psy-rd and psy-trellis off, aq-mode 2, as `tune=ssim`; 5
   B-frames and no scene cuts of its own, TSC cuts the scenes; the plain encoder's chroma QP offset,
   so colour is kept as plain keeps it; by class and bits: trellis on every decision and subme 9
   (RD_PARAMS) unless the scene is grain (GRAIN_PARAMS, HEAVY_BPP); screen content: variance AQ and no
   deblocking; detail: umh motion search and lighter deblocking) encodes the scene `delta` CRF steps
   above the plain CRF (a rate zone, `_zone`), delta starting from the class's `start` (flat
   pictures: further down the smoother they are per pixel) or what the previous scene of the class
   needed; a second encode moves delta by the SSIM surplus or deficit at the class's slope, when
   the first missed or its surplus pays for at least _REFINE steps (`_next_delta`); a third goes
   between a passing and a failing delta, or a little past two passing ones, where SSIM measured
   in dB says the target lies (`_between`). At most `PROBES` tuned encodes;
3. the tuned encode with the fewest bits that reaches the target AND spends fewer bits than the
   plain one goes into the output; when none does, the plain encode's own packets do (all the
   encoders write the same SPS/PPS, so scenes from either join into one stream). A video of one
   scene therefore never gets more bits nor a lower SSIM than the plain encode, by construction.

Quality won over the plain encode in earlier scenes may be spent in later ones (at most MAX_DIP
SSIM per frame), so the running mean SSIM tracks the plain encode's; a scene of a longer video is
held to a small margin above its own plain encode, which scores a little apart from the same frames
inside one long plain encode.

MaxVideoBitrate / Video.Maxrate caps every encode (plain and tuned) through x264's VBV; a cap
without a buffer size gets a buffer of one second at the cap (x264 ignores a maxrate without one).

Figures: bench/bench_tsc.py (`make bench`) and the README.
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
# No scene cuts of x264's own inside a TSC scene: it took every frame of a gradient under light grain for
# a cut and coded it P, without B-frames (720p, at the plain CRF: 0.81 of the plain bits; without cuts,
# B-frames and 0.20, both at +0.13 dB of SSIM).
TUNED_PARAMS = "bframes=5:scenecut=0"
# Flat panels and sharp glyphs: variance AQ, no deblocking (720p screen content at the plain CRF: light
# deblocking 0.93 of the plain bits at +0.10 dB of SSIM, none 0.90 at +0.32 dB).
SCREEN_PARAMS = "aq-mode=1:no-deblock=1"
# Detail and motion: a wider motion search (720p fast motion with RD_PARAMS, bits at the plain SSIM:
# 8 -> 14 % fewer, at about 1.2x the encode's time; a static texture gains nothing from it) and lighter
# deblocking (a fine texture one step up: +0.19 dB of SSIM instead of +0.06 at the same bits).
DETAIL_PARAMS = "me=umh:subme=8:deblock=-1,-1"
# Rate-distortion refinement everywhere: trellis on every decision and subme 9 (720p, bits at the plain
# encode's SSIM, each clip encoded whole at a sweep of CRFs: flat gradients 21 -> 33 % fewer, fast motion
# 1 -> 14 %, a fine texture 1 -> 6 %, screen 3 -> 6 %), at 1.0-1.5x the tuned encode's time.
RD_PARAMS = "trellis=2:subme=9"
# Grain (a plain encode above HEAVY_BPP bits per pixel): trellis has many more coefficients to weigh and
# costs twice for what the plain tuned encoder saves, and a wide motion search finds nothing in noise
# (720p, sigma 9 grain, 0.5 steps up: umh and subme 8 took 1.37x the plain encode's time for +0.02 dB of
# SSIM at 3.5 % fewer bits; medium's hex search and subme 7, 0.94x for +0.03 dB). Light deblocking keeps
# the grain the SSIM counts: -2 gives +0.18 dB at the same bits.
GRAIN_PARAMS = "subme=7:deblock=-2,-2"
HEAVY_BPP = 0.3
# The first probe's CRF offset by content class (measured on bench/bench_tsc.py's clips, 720p): smooth
# pictures keep SSIM over several CRF steps down while the tuned encoder halves their bits; screen
# content needs the plain quality almost as it is; natural detail affords about half a step more.
START = {"flat": -6.0, "screen": 0.0, "detail": 0.5}  # flat: the floor of `start`'s offsets
# A flat picture starts at _FLAT_START when its luma moves _FLAT_STEP levels a pixel, and
# _FLAT_PER_HALVING steps further down each time that halves (`start`).
_FLAT_START, _FLAT_STEP, _FLAT_PER_HALVING = -1.5, 0.116, 1.95
# dB of SSIM (-10 log10(1 - SSIM)) lost per CRF step by class, measured on the same clips: smooth
# pictures move slowly (0.2-0.3), detail by 0.4 (fast motion) to 1.0 (a fine texture, a test card: 0.96
# over 0.5-2.4 steps up), screen content (SSIM 0.999, where 0.0001 is 0.15 dB) by about 0.8-1.
SLOPE = {"flat": 0.25, "screen": 1.0, "detail": 0.9}
# A passing probe is refined only when its surplus pays for this many CRF steps: a refinement costs
# another encode (1.3-1.5x the plain one with RD_PARAMS); a fine texture's first probe (0.5 steps up,
# +0.58 dB) pays for 0.49 and there, 1.0 steps up, gets 5.5 % fewer bits instead of 2.5 %.
_REFINE = 0.25
_UP = 0.85  # a refinement goes up by this part of the steps the surplus pays for (at the class slope)
_SHORT = 0.05  # a last probe between a pass and a miss aims this many steps under where they cross
_LAST = 0.2    # and is made only when it lies this many steps above the best offset that passed
_BITS_PER_STEP = 0.19  # ln of the tuned encoder's bits ratio per CRF step down (measured, flat 720p)
MAX_DIP = 0.002      # at most this much SSIM below a scene's plain encode, paid by earlier surplus
_MARGIN = 0.0002     # a scene encoded alone scores a little apart from the same scene in one long encode
_CUT_SCORE = 8.0     # scene-change score (0..100, as FFmpeg's scdet) that ends a scene
_MAX_BYTES = 256 << 20  # frames held for one scene at most
_PLAIN = av.video.frame.PictureType.NONE
Luma = np.ndarray[Any, np.dtype[np.float32]]


def _params(options: dict[str, str], extra: str) -> dict[str, str]:
    """`options` with `extra` x264 parameters appended (after the job's own, so they win)."""
    mine = options.get("x264-params", "")
    return {**options, "x264-params": f"{mine}:{extra}" if mine else extra}


def _capped(options: dict[str, str]) -> dict[str, str]:
    """A maxrate with no bufsize gets one second of buffer: x264 ignores a maxrate without one."""
    if options.get("maxrate") and not options.get("bufsize"):
        return {**options, "bufsize": options["maxrate"]}
    return dict(options)


def plain_options(plain: dict[str, str]) -> dict[str, str]:
    """The plain encoder as TSC runs it: the job's own options (a cap gets its buffer)."""
    return _capped(plain)


def tuned(plain: dict[str, str]) -> dict[str, str]:
    """The SSIM-tuned encoder options standing for the plain ones (the output stream uses them too).

    tune=ssim turns psy-rd off, which also drops the -2 chroma QP offset x264 adds under psy-rd:
    putting it back keeps chroma as the plain encode keeps it, and the PPS equal to the plain one's.
    The CRF stays the plain one (its integer part is the PPS's pic_init_qp); a scene's CRF offset is a
    rate zone over the whole scene (`_zone`), so the plain and every tuned encode share SPS and PPS."""
    options = {k: v for k, v in _capped(plain).items() if k != "tune"} | {"tune": "ssim"}
    options.setdefault("preset", "medium")
    return _params(options, f"{TUNED_PARAMS}:chroma-qp-offset=-2")


def _zone(options: dict[str, str], delta: float) -> dict[str, str]:
    """`options` at `delta` CRF steps above their CRF: x264's bits factor 2**(-delta/6) on all frames
    (its quantiser scale doubles every 6 steps), which leaves the stream headers as they are."""
    if not delta:
        return options
    return _params(options, f"zones=0,{1 << 30},b={2 ** (-delta / 6):.5f}")


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


def ssim_y(reference: list[av.VideoFrame], distorted: list[av.VideoFrame]) -> float:
    """Mean luma SSIM over frame pairs, from FFmpeg's own `ssim` filter (-1 when the counts differ)."""
    if len(reference) != len(distorted) or not reference:
        return -1.0
    first = reference[0]
    args = (f"video_size={first.width}x{first.height}:pix_fmt={first.format.name}:time_base=1/25:"
            "pixel_aspect=1/1")
    graph = av.filter.Graph()
    left, right, meter, sink = graph.add("buffer", args), graph.add("buffer", args), graph.add("ssim"), \
        graph.add("buffersink")
    left.link_to(meter, 0, 0)
    right.link_to(meter, 0, 1)
    meter.link_to(sink)
    graph.configure()
    values: list[float] = []
    for i, (x, y) in enumerate([*zip(reference, distorted, strict=True), (None, None)]):
        if x is not None and y is not None:
            x, y = _restamped(x, i), _restamped(y.reformat(format=first.format.name), i)
        left.push(x)
        right.push(y)
        while True:
            try:
                values.append(float(sink.pull().metadata["lavfi.ssim.Y"]))
            except (av.BlockingIOError, av.EOFError):
                break
    return float(np.mean(values)) if len(values) == len(reference) else -1.0


def _restamped(frame: av.VideoFrame, index: int) -> av.VideoFrame:
    copy = frame.reformat()
    copy.pts, copy.time_base = index, Fraction(1, 25)
    return copy


@dataclass
class Probe:
    """One encode of a scene: its CRF offset, packets, size and SSIM."""

    delta: float
    packets: list[av.Packet[Any]]
    bits: int
    score: float
    extradata: bytes | None
    plain: bool = False


@dataclass
class Stats:
    """What TSC did, for logs and tests."""

    scenes: int = 0
    encodes: int = 0
    fallbacks: int = 0        # scenes whose plain encode went out (no tuned one beat it)
    deltas: list[float] = field(default_factory=list)
    plain_bits: int = 0
    bits: int = 0
    plain_ssim: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)


class Encoder:
    """Collects a VideoLane's filtered frames scene by scene and muxes the chosen encodes."""

    def __init__(self, out: OutputContainer, stream: av.VideoStream, plain: dict[str, str],
                 crf: float, rate: Fraction, keyint: int) -> None:
        self.out, self.stream, self.rate = out, stream, rate
        self.plain, self.crf, self.tuned = plain_options(plain), crf, tuned(plain)
        self.screen = _params(self.tuned, SCREEN_PARAMS)
        self.detail = _params(self.tuned, DETAIL_PARAMS)
        self.keyint = max(1, keyint)
        self.global_header = bool(stream.codec_context.flags & av.codec.context.Flags.global_header)
        self.stats = Stats()
        self._frames: list[av.VideoFrame] = []
        self._thumb: Luma | None = None
        self._mafd = 0.0
        self._delta = 0.0
        self._kind = ""
        self._surplus = 0.0  # sum over frames so far of (SSIM - the plain encode's SSIM)
        self._stamps: list[int] = []  # the scene's frame times in 1/rate (the SSIM meter restamps frames)

    def add(self, frame: av.VideoFrame) -> None:
        """Take one output frame; a scene that ends here is encoded and muxed."""
        limit = min(self.keyint, max(2, _MAX_BYTES // max(1, frame.width * frame.height * 3 // 2)))
        if self._frames and (self._cut(frame) or len(self._frames) >= limit):
            self._scene()
        self._frames.append(frame)

    def flush(self) -> None:
        """Encode and mux the last scene."""
        if self._frames:
            self._scene(whole=not self.stats.scenes)

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

    def _scene(self, whole: bool = False) -> None:
        """Encode the held frames as one scene (`whole`: they are all the video, so the plain encode of
        the scene is the plain job's own output and needs no margin)."""
        frames, self._frames = self._frames, []
        self._stamps = [int(round((f.time or 0.0) * self.rate)) for f in frames]
        kind, step = classify(frames[0])
        if self._kind != kind:
            self._kind, self._delta = kind, start(kind, step)
        plain = self._encode(frames, self.plain, 0.0)
        plain.plain = True
        # Quality ahead of the plain encode so far may be spent here (a little per frame), and
        # quality behind it must be made up: the running mean SSIM tracks the plain encode's.
        allowance = min(self._surplus / len(frames), MAX_DIP)
        margin = 0.0 if whole else _MARGIN
        target = plain.score - allowance + margin
        best = self._search(frames, target, plain)
        self._surplus += len(frames) * (best.score - plain.score - (0.0 if best.plain else margin))
        self.stats.scenes += 1
        self.stats.fallbacks += best.plain
        self.stats.plain_bits += plain.bits
        self.stats.bits += best.bits
        self.stats.plain_ssim.append(plain.score)
        self.stats.ssim.append(best.score)
        self.stats.deltas.append(best.delta)
        self._mux(best)

    def _search(self, frames: list[av.VideoFrame], target: float, plain: Probe) -> Probe:
        """The tuned encode with the fewest bits reaching `target` under the plain bits, else the plain one."""
        def good(p: Probe) -> bool:
            return p.score >= target and p.bits < plain.bits
        options = self._options(frames, plain)
        tried = [self._encode(frames, options, self._delta)]
        while len(tried) < PROBES:
            step = (_next_delta(tried[-1], target, plain.bits, self._kind) if len(tried) == 1
                    else _between(tried, target))
            if step is None:
                break
            tried.append(self._encode(frames, options, step))
        passing = [p for p in tried if good(p)]
        if passing:
            best = min(passing, key=lambda p: p.bits)
            self._delta = best.delta
            return best
        if self._stitches(plain):
            return plain
        # Headers differ (an unusual preset): the tuned encode nearest the target, at the best SSIM.
        return max(tried, key=lambda p: p.score)

    def _options(self, frames: list[av.VideoFrame], plain: Probe) -> dict[str, str]:
        """The tuned encoder for the scene's class with RD_PARAMS, or GRAIN_PARAMS when its plain encode
        says grain."""
        first = frames[0]
        if plain.bits >= HEAVY_BPP * first.width * first.height * len(frames):
            return _params(self.tuned, GRAIN_PARAMS)
        options = {"screen": self.screen, "detail": self.detail}.get(self._kind, self.tuned)
        return _params(options, RD_PARAMS)

    def _stitches(self, plain: Probe) -> bool:
        """Whether the plain encode's packets may go into the stream the tuned encoders' headers open."""
        mine = self.stream.codec_context.extradata
        return not self.global_header or not mine or plain.extradata == mine

    def _encode(self, frames: list[av.VideoFrame], options: dict[str, str], delta: float) -> Probe:
        context = av.CodecContext.create("libx264", "w")
        context.width, context.height = frames[0].width, frames[0].height
        context.pix_fmt = self.stream.pix_fmt
        context.time_base, context.framerate = 1 / self.rate, self.rate
        context.thread_type = self.stream.codec_context.thread_type
        context.thread_count = self.stream.codec_context.thread_count
        if self.global_header:
            context.flags |= av.codec.context.Flags.global_header
        context.options = {**_zone(options, delta), "crf": f"{self.crf:g}"}
        packets: list[av.Packet[Any]] = []
        for frame, stamp in zip(frames, self._stamps, strict=True):
            frame.pts, frame.time_base = stamp, 1 / self.rate
            frame.pict_type = _PLAIN
            packets.extend(context.encode(frame))
        packets.extend(context.encode(None))
        self.stats.encodes += 1
        extradata = context.extradata
        decoded = list(_decode(packets, extradata if self.global_header else None))
        return Probe(delta, packets, sum(p.size for p in packets) * 8, ssim_y(frames, decoded), extradata)

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


def start(kind: str, step: float) -> float:
    """The first probe's CRF offset for a scene of `kind` whose luma moves `step` levels a pixel: the
    smoother a flat picture is per pixel (the same gradients at a higher resolution), the further down
    it goes (flat clip: the best offset -1.5 at 320x180 (0.12 levels a pixel), -5.2 to -5.5 at 1280x720 (0.03))."""
    if kind != "flat":
        return START[kind]
    halvings = math.log2(_FLAT_STEP / max(step, 1e-3))
    return min(-1.0, max(START["flat"], _FLAT_START - _FLAT_PER_HALVING * halvings))


def classify(frame: av.VideoFrame) -> tuple[str, float]:
    """The scene's content class from its first frame's luma: "screen" when at least 30 % of its 8x8
    blocks are one flat level (panels, backgrounds of text) and 3 % hold sharp edges (glyphs); "flat"
    when the mean step between neighbouring pixels is under 1.5 levels (gradients, sky, walls) and
    under 2 % of the blocks hold an edge (a test card or a slide is mostly flat too, but behaves as
    detail: it needs its edges); "detail" otherwise. With the class, that mean step (0 for screen)."""
    y = luma(frame, 1)
    h, w = y.shape[0] // 8 * 8, y.shape[1] // 8 * 8
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8)
    spread = blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))
    if h and w and float((spread <= 1).mean()) >= 0.3 and float((spread >= 96).mean()) >= 0.03:
        return "screen", 0.0
    step = float(np.abs(np.diff(y, axis=1)).mean()) if y.shape[1] > 1 else 0.0
    edges = float((spread >= 48).mean()) if h and w else 0.0
    return ("flat" if step < 1.5 and edges < 0.02 else "detail"), step


def _next_delta(probe: Probe, target: float, ceiling: int, kind: str) -> float | None:
    """The second probe's CRF offset, from the first one's SSIM surplus or deficit at the class's SSIM
    slope: up by part of the steps the surplus pays for, down by the steps the deficit needs and a
    little more. None when an encode is unlikely to pay (the time stays near three plain encodes)."""
    # A probe far under the plain bits behaves as a smooth picture whatever its first frame looked like
    # (grain over a gradient): its SSIM moves slowly with CRF.
    slope = SLOPE["flat" if probe.bits < 0.75 * ceiling else kind]
    surplus = _quality(probe.score) - _quality(target)  # dB of SSIM over the target
    if probe.score >= target:
        step = _UP * surplus / slope
        if probe.bits < ceiling:
            return probe.delta + min(3.0, step) if step >= _REFINE else None
        over = math.log(probe.bits / ceiling) / _BITS_PER_STEP + 0.1  # steps up to come under the plain bits
        return probe.delta + min(3.0, max(over, step)) if over <= surplus / slope else None
    if probe.bits >= ceiling:
        return None  # short of the target with the plain bits spent already: a lower CRF only costs more
    # Down by the steps the deficit needs, but not past 3 % under the plain bits (x264's bits grow about
    # 19 % a step down here): a miss there costs an encode, an overshoot the saving. (With 15 %, a probe
    # 8 % under the plain bits and 0.00001 short of its SSIM was never retried: 320x180 screen.)
    # With much room under the plain bits, down by half of it (at most a step) even for a tiny deficit:
    # near its target a smooth picture's SSIM need not rise with the bits at all (320x180 gradients: 0.2
    # steps down from 42 % under the plain bits and 0.00001 short of the SSIM gave 0.00001 less).
    room = math.log(0.97 * ceiling / probe.bits) / _BITS_PER_STEP
    need = max(-surplus / slope + 0.15, min(room / 2, 1.0))
    if room < min(need, 0.5):
        return None  # the bits would reach the plain ones before the SSIM does: not worth an encode
    return probe.delta - min(3.0, need, room)


def _between(tried: list[Probe], target: float) -> float | None:
    """A last probe's CRF offset from the SSIM the earlier ones measured, in dB: between the highest offset
    that reached `target` and the lowest above it that did not, or, when the last two both reached it,
    past the last at the slope between them, by at most half their distance. None unless it lies at
    least _LAST steps above the best offset that reached the target (less is not worth an encode)."""
    want = _quality(target)
    above = [p for p in tried if p.score >= target]
    if not above:
        return None
    best = max(above, key=lambda p: p.delta)
    over = [p for p in tried if p.score < target and p.delta > best.delta]
    if over:
        miss = min(over, key=lambda p: p.delta)
        q0, q1 = _quality(best.score), _quality(miss.score)
        delta = best.delta + (miss.delta - best.delta) * (q0 - want) / (q0 - q1) - _SHORT
    else:
        a, b = sorted(tried[-2:], key=lambda p: p.delta)
        fall = (_quality(a.score) - _quality(b.score)) / (b.delta - a.delta) if b.delta > a.delta else 0.0
        if b is not best or fall <= 0.02:
            return None
        # SSIM falls off a cliff past some offset (a fine texture: +0.46 dB 1.14 steps up, -0.10 dB at 1.3,
        # after 0.35 dB a step from 0.5): extrapolate only within half the interval measured.
        step = 0.9 * (_quality(best.score) - want) / fall
        if step > (b.delta - a.delta) / 2:
            return None
        delta = best.delta + step
    return delta if delta - best.delta >= _LAST else None
