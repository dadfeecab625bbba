"""ExtractDigitalWatermark: read back the text a DigitalWatermark job embedded. No output file; the text
is shown at Operation.ExtractDigitalWatermark.Message (State Success), or State Failed with an empty
Message when the video carries no mark. Driver: media.extractdigitalwatermark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import text
from .rules import choice
from .spec import TagSpec

NAME = "ExtractDigitalWatermark"


@dataclass(frozen=True)
class ExtractOp:
    """An extraction job (Type Text, Version V1: the only ones)."""

    type: str = "Text"
    version: str = "V1"


def parse(op: Mapping[str, Any]) -> ExtractOp:
    """The typed operation of a checked ExtractDigitalWatermark Operation."""
    return ExtractOp()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Type Text and Version V1, both required."""
    for key, allowed in (("Type", "Text"), ("Version", "V1")):
        if not text(params, key):
            raise InvalidArgument(f"{where}.{key} is required")
        choice(params, key, where, (allowed,))


SPEC = TagSpec(name=NAME, container="ExtractDigitalWatermark", driver="extractdigitalwatermark", parse=parse,
               check=check, data_container="ExtractDigitalWatermark")
