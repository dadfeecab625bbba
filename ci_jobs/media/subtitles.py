"""Operation.Subtitles: subtitle files (srt, vtt, ass) embedded as streams or burnt into frames.

FFmpeg's own demuxers and decoders read the files (any of srt/WebVTT/ASS/SSA, told apart by
content); a file that is not UTF-8 is converted first (GB18030, then Latin-1, as Chinese subtitle
files are often GBK). Cue times follow the source timeline, so they are shifted by
TimeInterval.Start. Embed=true muxes a stream (mov_text in mp4, the file's ASS or SubRip in mkv);
otherwise the cues are drawn bottom-centre onto the frames with an outline, `VMargin` pixels
above the bottom edge, through `watermark.Decorator`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av
from av.container import OutputContainer
from av.subtitles.codeccontext import SubtitleCodecContext
from av.subtitles.subtitle import SubtitleSet

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.transcode import Subtitle
from .fonts import draw_text
from .watermark import Layer, LayerSource, Size

WHERE = "Request.Operation.Subtitles.Subtitle"
_MS = Fraction(1, 1000)
_OVERRIDE = re.compile(r"\{[^}]*\}")
_EMBED_CODECS = {"mp4": "mov_text", "mkv": "subrip"}
_DEFAULT_HEADER = (
    "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
    "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
    "MarginL, MarginR, MarginV, Encoding\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)


@dataclass(frozen=True)
class Cue:
    """One subtitle event in output seconds; `dialogue` is its ASS Text field (override tags kept)."""

    start: float
    end: float
    dialogue: str

    @property
    def plain(self) -> str:
        """The text to draw: override tags dropped, ASS line breaks made real."""
        raw = _OVERRIDE.sub("", self.dialogue)
        return raw.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ").strip()


@dataclass(frozen=True)
class Track:
    """A parsed subtitle file: its cues in output time and, for ASS files, the style header."""

    cues: tuple[Cue, ...]
    ass_header: str | None


def load(sub: Subtitle, objects: Mapping[str, str], workdir: str, shift: float,
         end: float | None, index: int) -> Track:
    """Read the file named by one Subtitle element; keep the cues inside the output window."""
    url = sub.url
    path = objects.get(sub.key)
    if path is None:
        raise JobFailed(Failure.INPUT_NOT_FOUND, f"{WHERE}[{index}].Url {url} was not fetched")
    with open(path, "rb") as fh:
        raw = fh.read()
    content = _decode(raw)
    fmt = "webvtt" if content.lstrip().startswith("WEBVTT") else \
        "ass" if "[Events]" in content or "[Script Info]" in content else "srt"
    copy = os.path.join(workdir, f"subtitle-{index}.{fmt}")
    with open(copy, "w", encoding="utf-8") as fh:
        fh.write(content)
    try:
        cues, header = _read(copy, fmt)
    except av.FFmpegError as exc:
        raise JobFailed(Failure.INVALID_INPUT, f"{WHERE}[{index}].Url {url} cannot be read as {fmt}: "
                                        f"{exc.strerror or exc}") from exc
    finally:
        os.unlink(copy)
    if not cues:
        raise JobFailed(Failure.INVALID_INPUT, f"{WHERE}[{index}].Url {url} holds no subtitle cue")
    kept = [Cue(max(0.0, c.start - shift), c.end - shift, c.dialogue) for c in cues
            if c.end > shift and (end is None or c.start < end)]
    return Track(tuple(kept), header if fmt == "ass" else None)


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _read(path: str, fmt: str) -> tuple[list[Cue], str | None]:
    cues: list[Cue] = []
    with av.open(path, format=fmt) as container:
        stream = container.streams.subtitles[0]
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = float(packet.pts * packet.time_base)
            length = float((packet.duration or 0) * packet.time_base) or 5.0
            for rect in stream.codec_context.decode2(packet) or ():
                dialogue = bytes(getattr(rect, "ass", b"")).decode("utf-8", "replace")
                cues.append(Cue(start, start + length, dialogue.split(",", 8)[-1]))
        header = stream.codec_context.subtitle_header or stream.codec_context.extradata  # set once opened
    return sorted(cues, key=lambda c: c.start), header.decode("utf-8", "replace") if header else None


class Embedded:
    """A subtitle stream of the output, its cues muxed as the video reaches their start time."""

    def __init__(self, out: OutputContainer, track: Track, ext: str) -> None:
        codec = _EMBED_CODECS.get(ext)
        if codec is None:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}.Embed true needs an mp4 or mkv output, not {ext}")
        if codec == "subrip" and track.ass_header:
            codec = "ass"  # keep an ASS file's styles in Matroska
        self.out, self.track = out, track
        self.stream = out.add_stream(codec)
        self.stream.time_base = _MS
        context = cast(SubtitleCodecContext, self.stream.codec_context)
        self.context = context
        context.time_base = _MS
        context.subtitle_header = ((track.ass_header if codec == "ass" else None) or _DEFAULT_HEADER).encode()
        self._next = 0

    def until(self, at: float) -> None:
        """Mux every cue that starts before output time `at` (math.inf: all the rest)."""
        cues = self.track.cues
        while self._next < len(cues) and cues[self._next].start <= at:
            self._mux(self._next, cues[self._next])
            self._next += 1

    def _mux(self, order: int, cue: Cue) -> None:
        start, length = int(round(cue.start * 1000)), max(1, int(round((cue.end - cue.start) * 1000)))
        event = SubtitleSet.create(f"{order},0,Default,,0,0,0,,{cue.dialogue}".encode(), 0, length, start)
        packet = self.context.encode_subtitle(event)
        packet.stream, packet.time_base = self.stream, _MS
        packet.pts = packet.dts = start
        packet.duration = length
        self.out.mux(packet)


class Burner:
    """A LayerSource drawing one track's current cues bottom-centre onto frames of `size`."""

    def __init__(self, track: Track, sub: Subtitle, size: Size) -> None:
        self.track, self.size = track, size
        self.font_type = sub.font_type
        self.font_size = int(sub.font_size or max(12, round(size[1] / 18)))
        self.color = sub.color
        self.outline = sub.outline
        self.margin = int(sub.vmargin or round(size[1] * 0.05))
        self._cache: dict[tuple[int, ...], Layer] = {}

    def __call__(self, at: float) -> Sequence[Layer]:
        active = tuple(i for i, c in enumerate(self.track.cues) if c.start <= at < c.end)
        if not active:
            return ()
        if active not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            lines = "\n".join(self.track.cues[i].plain for i in active)
            picture = draw_text(lines or " ", self.font_size, self.color, font_type=self.font_type,
                                outline=self.outline, outline_width=max(1, self.font_size // 12))
            h, w = picture.shape[:2]
            self._cache[active] = Layer(picture, (self.size[0] - w) // 2, self.size[1] - h - self.margin)
        return (self._cache[active],)


def prepare(out: OutputContainer | None, subs: Sequence[Subtitle], objects: Mapping[str, str],
            workdir: str, ext: str, window: tuple[float, float | None],
            size: Size | None) -> tuple[list[Embedded], list[LayerSource]]:
    """Embedded streams and burn-in layer sources for every Subtitle of the job."""
    embedded: list[Embedded] = []
    burners: list[LayerSource] = []
    start, end = window
    for index, sub in enumerate(subs, 1):
        track = load(sub, objects, workdir, start, end, index)
        if sub.embed:
            if out is None:
                raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}[{index}].Embed true needs a video output")
            embedded.append(Embedded(out, track, ext))
        elif size is not None:
            burners.append(Burner(track, sub, size))
        else:
            raise JobFailed(Failure.INVALID_ARGUMENT, f"{WHERE}[{index}] can only be burnt into a video stream")
    return embedded, burners

