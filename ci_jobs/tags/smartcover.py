"""SmartCover: the Count best cover pictures of a video, near-duplicates removed when asked.
Driver: media.smartcover (which documents the score).

Output.Object must carry `${Number}` when Count is above 1; `${ext}` is Format. The Object key is used
as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, num, section, text
from ..wildcards import has_number
from .output import Output, parse_output
from .rules import choice, number_range, size
from .spec import TagSpec, TemplateKind

NAME = "SmartCover"
FORMATS = ("jpg", "png", "webp")
DEFAULT_COUNT = 3


@dataclass(frozen=True)
class SmartCoverOp:
    """A checked SmartCover operation: image format, size (None: the source's), how many, de-duplication."""

    format: str = "jpg"
    width: float | None = None
    height: float | None = None
    count: int = DEFAULT_COUNT
    delete_duplicates: bool = False
    output: Output = Output()


def parse(op: Mapping[str, Any]) -> SmartCoverOp:
    """The typed SmartCover operation of a checked Operation, its defaults resolved."""
    params = section(op, "SmartCover")
    return SmartCoverOp(text(params, "Format", "jpg").lower() or "jpg", num(params, "Width"), num(params, "Height"),
                        int(num(params, "Count", DEFAULT_COUNT) or DEFAULT_COUNT),
                        flag(params, "DeleteDuplicates"), parse_output(op))


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Format jpg/png/webp, Width/Height 128-4096, Count 1-10, DeleteDuplicates a bool, `${Number}` keys."""
    choice(params, "Format", where, FORMATS)
    size(params, where)
    number_range(params, "Count", where, 1, 10)
    count = num(params, "Count", DEFAULT_COUNT)
    if count is not None and count != int(count):
        raise InvalidArgument(f"{where}.Count {text(params, 'Count')} must be a whole number")
    choice(params, "DeleteDuplicates", where, ("true", "false"))
    obj = text(section(op, "Output"), "Object")
    if not obj:
        raise InvalidArgument("Request.Operation.Output.Object is required")
    if int(count or DEFAULT_COUNT) > 1 and not has_number(obj):
        raise InvalidArgument("Request.Operation.Output.Object must contain ${Number} when Count is greater than 1")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the covers' Format."""
    return text(section(op, "SmartCover"), "Format", "jpg").lower() or "jpg"


SPEC = TagSpec(
    name=NAME, container="SmartCover", driver="smartcover", parse=parse, check=check, output_ext=output_ext,
    template=TemplateKind(("SmartCover",), "SmartCover", "SmartCover", True, job_tag=NAME,
                          check_output=(("Object", "cover-${Number}.jpg"),)),
)
