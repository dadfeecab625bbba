"""Output: where a job's files go (bucket, region and the key patterns its roles read)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..mediarules import section, text


@dataclass(frozen=True)
class Output:
    """Request.Operation.Output: the bucket and region written to and the key pattern of each role."""

    bucket: str = ""
    region: str = ""
    object: str = ""         # Object: the main files
    sprite_object: str = ""  # SpriteObject: Snapshot's sprite sheets
    webvtt_object: str = ""  # WebVttObject: the WebVTT of Snapshot's sprite tiles (MPS's ImageSprite; not CI's)


def parse_output(op: Mapping[str, Any]) -> Output:
    """The Output element of a checked Operation."""
    out = section(op, "Output")
    return Output(text(out, "Bucket"), text(out, "Region"), text(out, "Object"), text(out, "SpriteObject"),
                  text(out, "WebVttObject"))
