"""DigitalWatermark: embed an invisible text (Operation.DigitalWatermark) while re-encoding the video as
H.264/AAC MP4 at the source's size. Driver: media.digitalwatermark (the Transcode driver with a marker).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from . import transcode, watermark
from .spec import TagSpec
from .transcode import TranscodeOp

NAME = "DigitalWatermark"
# What the marked copy is: CI says nothing of its codec; high quality so the copy stands for the source.
_TRANSCODE = {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "18"}, "Audio": {"Codec": "aac"}}


def parse(op: Mapping[str, Any]) -> TranscodeOp:
    """The typed operation: a high-quality MP4 transcode carrying the mark."""
    return transcode.parse({**op, "Transcode": _TRANSCODE})


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Type, Message, Version and IgnoreError as §1.9.9; Output is required."""
    watermark.check_digital(op, where)
    if not isinstance(op.get("Output"), Mapping):
        raise InvalidArgument("Request.Operation.Output is required")


def _no_visible_marks(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
    for key in ("Watermark", "WatermarkTemplateId", "RemoveWatermark"):
        if op.get(key):
            raise InvalidArgument(f"Request.Operation.{key} is not supported for this Tag: it only embeds the "
                                  "DigitalWatermark (use Transcode or VideoEnhance with a DigitalWatermark)")


SPEC = TagSpec(name=NAME, container="DigitalWatermark", driver="digitalwatermark", parse=parse, check=check,
               extras=_no_visible_marks, output_ext=lambda op: "mp4",
               data_container="DigitalWatermark")
