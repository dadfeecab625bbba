"""CI FontType names -> the fonts shipped in ci_jobs/fonts, and text drawn into RGBA pictures.

This FFmpeg build has no drawtext filter, so text (watermarks, burnt-in subtitles) is drawn with
Pillow into an RGBA array that `watermark.Decorator` blends into the frames.

CI's fonts are Windows/macOS fonts that cannot be shipped; each name maps to an openly licensed
font of the same kind (licences next to the files):

| CI FontType                                                       | shipped file               |
|-------------------------------------------------------------------|----------------------------|
| simfang.ttf, simhei.ttf, simkai.ttf, simsun.ttc, STHeiti-Light.ttc,| wqy-microhei.ttc           |
| STHeiti-Medium.ttc, youyuan.TTF, an unknown or empty name          | (WenQuanYi Micro Hei)      |
| arial.ttf, Helvetica.dfont, HelveticaNeue.dfont                    | LiberationSans-Regular.ttf |
| ariblk.ttf, ahronbd.ttf                                            | LiberationSans-Bold.ttf    |

A Latin font asked to draw text it has no glyphs for (CJK, kana, hangul) falls back to
WenQuanYi Micro Hei, so text never comes out as empty boxes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
CJK = "wqy-microhei.ttc"
_LATIN = {"arial.ttf": "LiberationSans-Regular.ttf", "helvetica.dfont": "LiberationSans-Regular.ttf",
          "helveticaneue.dfont": "LiberationSans-Regular.ttf", "ariblk.ttf": "LiberationSans-Bold.ttf",
          "ahronbd.ttf": "LiberationSans-Bold.ttf"}
_LATIN_LAST = 0x024F  # end of Latin Extended-B: what Liberation Sans is sure to cover

RGB = tuple[int, int, int]
Picture = np.ndarray[Any, np.dtype[np.uint8]]  # (height, width, 4) RGBA


def font_file(font_type: str, text: str = "") -> Path:
    """The shipped font standing for CI's `font_type`, able to draw `text`."""
    latin = _LATIN.get(font_type.strip().lower())
    if latin and all(ord(ch) <= _LATIN_LAST for ch in text):
        return FONT_DIR / latin
    return FONT_DIR / CJK


@lru_cache(maxsize=32)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def draw_text(text: str, size: int, color: RGB, *, font_type: str = "", opacity: float = 1.0,
              outline: RGB | None = None, outline_width: int = 0) -> Picture:
    """`text` (lines split on newlines, centred) drawn tightly into an RGBA picture."""
    font = _font(font_file(font_type, text), max(1, size))
    stroke = outline_width if outline is not None else 0
    box = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox(
        (0, 0), text, font=font, stroke_width=stroke, align="center")
    width, height = max(1, math.ceil(box[2] - box[0])), max(1, math.ceil(box[3] - box[1]))
    image = Image.new("RGBA", (width, height), (*color, 0))
    ImageDraw.Draw(image).multiline_text(
        (-box[0], -box[1]), text, font=font, fill=(*color, 255), align="center", stroke_width=stroke,
        stroke_fill=(*(outline or color), 255))
    picture: Picture = np.array(image, dtype=np.uint8)
    if opacity < 1.0:
        picture[..., 3] = (picture[..., 3].astype(np.float32) * max(0.0, opacity)).astype(np.uint8)
    return picture
