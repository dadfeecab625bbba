"""VideoTag test clips made at test time: a real face, words drawn with the shipped fonts, Tts speech.

The face is scikit-image's `astronaut` picture (Eileen Collins, a NASA photograph in the public domain,
shipped inside the scikit-image wheel; never committed here). Its face box, marked by hand on the
512x512 original from hairline to chin and ear to ear, is FACE.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ci_jobs.media.fonts import FONT_DIR

from . import pictures as P

FACE = (178, 68, 272, 160)  # x1, y1, x2, y2 in the 512x512 astronaut picture
_HEAD = (125, 15, 325, 215)  # the square around it that is pasted into clips


@dataclass
class Truth:
    """What a clip holds: the face's box per whole second, the words drawn, the words spoken."""

    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    spoken: str = ""
    seconds: int = 0


def astronaut() -> np.ndarray:
    """The astronaut picture (RGB 512x512) from scikit-image's own data folder."""
    from skimage import data  # noqa: PLC0415 - the test extra

    return np.asarray(data.astronaut())


def text_picture(picture: np.ndarray, words: str, at: tuple[int, int], size: int, band: bool = True) -> np.ndarray:
    """`picture` with `words` drawn in white Liberation Sans Bold on a dark band (or straight on the picture)."""
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT_DIR / "LiberationSans-Bold.ttf"), size)
    left, top, right, bottom = draw.textbbox(at, words, font=font)
    if band:
        draw.rectangle((left - 6, top - 6, right + 6, bottom + 6), fill=(20, 20, 30))
    draw.text(at, words, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def make(path: Path, *, w: int = 320, h: int = 240, fps: int = 10, seconds: int = 6,
         face: tuple[int, int] = (1, 4), face_size: int = 140, face_at: tuple[int, int] | None = None,
         words: str = "", text: tuple[int, int] = (2, 5), text_size: int = 22, band: bool = True,
         speech: np.ndarray | None = None, seed: int = 3, crf: int = 18) -> Truth:
    """A clip over a slowly panning texture: the face in seconds [face), moving 4 px a second to the
    right from `face_at` (default (20, a third down)), `words` drawn in seconds [text), and `speech`
    (16 kHz mono) as its sound. Frames are made one at a time (a 720p minute fits in memory)."""
    truth = Truth(words=tuple(words.split()), seconds=seconds)
    head = np.asarray(Image.fromarray(astronaut()[_HEAD[1]:_HEAD[3], _HEAD[0]:_HEAD[2]]).resize(
        (face_size, face_size), Image.Resampling.LANCZOS))
    k = face_size / (_HEAD[2] - _HEAD[0])
    count = fps * seconds
    big = P.texture(w + count // 2 + 8, h + 8, seed)  # panned by half a pixel a frame
    x_start, y0 = face_at or (20, (h - face_size) // 3)

    def pictures() -> Iterator[np.ndarray]:
        for i in range(count):
            t = i / fps
            picture = big[4:4 + h, i // 2:i // 2 + w].copy()
            if face[0] <= t < face[1]:
                x0 = x_start + int(4 * t)
                picture[y0:y0 + face_size, x0:x0 + face_size] = head
                if i % fps == 0:
                    truth.boxes[i // fps] = (
                        x0 + round((FACE[0] - _HEAD[0]) * k), y0 + round((FACE[1] - _HEAD[1]) * k),
                        x0 + round((FACE[2] - _HEAD[0]) * k), y0 + round((FACE[3] - _HEAD[1]) * k))
            if words and text[0] <= t < text[1]:
                picture = text_picture(picture, words, (12, h - 18 - text_size), text_size, band)
            yield picture

    write(path, pictures(), fps, speech, count, crf)
    return truth


def write(path: Path, pictures: Iterable[np.ndarray], fps: int, speech: np.ndarray | None,
          count: int = 0, crf: int = 18) -> None:
    """H.264 pictures, and 16 kHz mono AAC of `speech` padded or cut to their length (silence if None)."""
    frames = list(pictures) if not count else pictures
    count = count or len(frames)  # type: ignore[arg-type]
    seconds = count / fps
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        a = out.add_stream("aac", rate=16000, layout="mono")
        for i, picture in enumerate(frames):
            if i == 0:
                vs.width, vs.height, vs.pix_fmt = picture.shape[1], picture.shape[0], "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        sound = np.zeros(int(16000 * seconds), np.float32)
        if speech is not None:
            sound[:min(len(sound), len(speech))] = speech[:len(sound)]
        for start in range(0, len(sound), 1024):
            af = av.AudioFrame.from_ndarray(sound[None, start:start + 1024], format="fltp", layout="mono")
            af.sample_rate = 16000
            out.mux(a.encode(af))
        out.mux(a.encode(None))


def spoken(text: str) -> np.ndarray:
    """`text` said by the Tts Tag's English voice (Hibari), 16 kHz mono at -20 dBFS RMS."""
    from ci_jobs.media.tts import synthesize  # noqa: PLC0415 - the speech extra

    voice = synthesize(text, "en", "f", 1.0)
    return (voice * (0.1 / (float(np.sqrt(np.mean(voice ** 2))) or 1.0))).astype(np.float32)
