"""MediaInfo: the container and stream facts of the input, as data (no output files). Driver: media.mediainfo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .spec import Lane, TagSpec


@dataclass(frozen=True)
class MediaInfoOp:
    """A MediaInfo operation: it has no parameters and writes no files; the input is all it reads."""


def parse(op: Mapping[str, Any]) -> MediaInfoOp:
    """The typed MediaInfo operation (the same for every Operation)."""
    return MediaInfoOp()


SPEC = TagSpec(name="MediaInfo", container="MediaInfo", driver="mediainfo", parse=parse, lane=Lane.FAST, roles={},
               empty_result=False)
