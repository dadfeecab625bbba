"""VideoProcess (legacy): ColorEnhance and MsSharpen, each switched on by its Enable, while transcoding.

The transcode comes from TranscodeTemplateId or an inline Operation.Transcode (one is required).
Driver: media.videoenhance, over the same typed operation as VideoEnhance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, section
from .legacy import legacy_spec
from .rules import choice
from .videoenhance import Enhancement, check_color, check_sharpen, parse_color, parse_sharpen

NAME = "VideoProcess"


def enhancement(params: Mapping[str, Any]) -> Enhancement:
    """The enhancement of a checked VideoProcess container: only the parts whose Enable is true."""
    color, sharpen = section(params, "ColorEnhance"), section(params, "MsSharpen")
    return Enhancement(color=parse_color(color) if flag(color, "Enable") else None,
                       sharpen=parse_sharpen(sharpen) if flag(sharpen, "Enable") else None)


def check_params(params: Mapping[str, Any], where: str) -> None:
    """ColorEnhance and MsSharpen, not both absent."""
    if not section(params, "ColorEnhance") and not section(params, "MsSharpen"):
        raise InvalidArgument(f"{where} needs ColorEnhance or MsSharpen")
    for part in ("ColorEnhance", "MsSharpen"):
        choice(section(params, part), "Enable", f"{where}.{part}", ("true", "false"))
    check_color(section(params, "ColorEnhance"), f"{where}.ColorEnhance")
    check_sharpen(section(params, "MsSharpen"), f"{where}.MsSharpen")


SPEC = legacy_spec(NAME, ("ColorEnhance", "MsSharpen"), enhancement, check_params)
