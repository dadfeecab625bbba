"""SDRtoHDR (legacy): HDR10 or HLG output (10-bit HEVC, BT.2020) from SDR, while transcoding.

The transcode comes from TranscodeTemplateId or an inline Operation.Transcode (one is required).
Driver: media.videoenhance, over the same typed operation as VideoEnhance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..mediarules import text
from .legacy import legacy_spec
from .videoenhance import Enhancement, check_hdr

NAME = "SDRtoHDR"


def enhancement(params: Mapping[str, Any]) -> Enhancement:
    """The enhancement of a checked SDRtoHDR container."""
    return Enhancement(hdr=text(params, "HdrMode").lower())


def check_params(params: Mapping[str, Any], where: str) -> None:
    """HdrMode (required). The codec rule is checked against Operation.Transcode by the legacy spec."""
    check_hdr(params, where, {})


SPEC = legacy_spec(NAME, ("HdrMode",), enhancement, check_params, needs_hevc=True)
