"""VideoTag (Scenario Stream): what can honestly be recognised offline in a video, as CI's
`VideoTagResult.StreamData`. No Output: the result is data shown at Operation.VideoTagResult.
Driver: media.videotag (which documents every tag it can report).

Only `Scenario` Stream is served (CI documents no other; the SDKs' ShortVideo is refused by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import section, text
from .spec import TagSpec

NAME = "VideoTag"
SCENARIOS = ("Stream",)
REFUSED = {"ShortVideo": "the ShortVideo scenario (listed in an SDK comment only) is not supported"}


@dataclass(frozen=True)
class VideoTagOp:
    """A VideoTag job: its scenario (Stream, the only one)."""

    scenario: str = "Stream"


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Scenario is required and must be Stream."""
    scenario = text(params, "Scenario")
    if not scenario:
        raise InvalidArgument(f"{where}.Scenario is required (Stream)")
    if scenario in REFUSED:
        raise InvalidArgument(f"{where}.Scenario {scenario}: {REFUSED[scenario]}; supported: Stream")
    if scenario not in SCENARIOS:
        raise InvalidArgument(f"{where}.Scenario {scenario} must be Stream")


def parse(op: Mapping[str, Any]) -> VideoTagOp:
    """The typed operation of a checked VideoTag Operation."""
    return VideoTagOp(text(section(op, "VideoTag"), "Scenario", "Stream"))


SPEC = TagSpec(name=NAME, container="VideoTag", driver="videotag", parse=parse, check=check,
               data_container="VideoTagResult", empty_result=False)
