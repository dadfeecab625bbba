"""SuperResolution (legacy): the VideoEnhance super-resolution alone, while transcoding.

The transcode comes from TranscodeTemplateId or an inline Operation.Transcode (one is required).
Driver: media.videoenhance, over the same typed operation as VideoEnhance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .legacy import legacy_spec
from .videoenhance import Enhancement, check_super_resolution, parse_super_resolution

NAME = "SuperResolution"


def enhancement(params: Mapping[str, Any]) -> Enhancement:
    """The enhancement of a checked SuperResolution container."""
    return Enhancement(super_resolution=parse_super_resolution(params))


SPEC = legacy_spec(NAME, ("Resolution", "EnableScaleUp", "Version"), enhancement, check_super_resolution)
