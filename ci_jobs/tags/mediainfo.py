"""MediaInfo: the container and stream facts of the input, as data (no output files). Driver: media.mediainfo."""

from __future__ import annotations

from .spec import Lane, TagSpec

SPEC = TagSpec(name="MediaInfo", container="MediaInfo", driver="mediainfo", lane=Lane.FAST, roles={},
               empty_result=False)
