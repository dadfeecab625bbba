"""What the legacy enhancement Tags (VideoProcess, SuperResolution, SDRtoHDR) share: the parameter
container named as the Tag, the transcode at Operation.Transcode (TranscodeTemplateId resolves there)
and a template kind whose body is the container's children.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import section, text
from . import transcode
from .spec import TagSpec, TemplateKind
from .videoenhance import Enhancement, EnhanceOp, check_extras, check_hdr, output_ext, references

# The Output.Object of the job a template is checked as: that check has no transcode to carry.
TEMPLATE_CHECK = "template-check.${ext}"


def legacy_spec(name: str, params: tuple[str, ...], enhancement: Callable[[Mapping[str, Any]], Enhancement],
                check_params: Callable[[Mapping[str, Any], str], None], *, needs_hevc: bool = False) -> TagSpec:
    """The TagSpec of one legacy enhancement Tag."""

    def parse(op: Mapping[str, Any]) -> EnhanceOp:
        return EnhanceOp(transcode.parse(op), enhancement(section(op, name)))

    def check(op: Mapping[str, Any], container: dict[str, Any], where: str) -> None:
        check_params(container, where)
        inner = section(op, "Transcode")
        if not inner:
            if text(section(op, "Output"), "Object") == TEMPLATE_CHECK:
                return
            raise InvalidArgument("Request.Operation.TranscodeTemplateId or Request.Operation.Transcode is "
                                  f"required for Tag {name}")
        transcode.check(op, inner, "Request.Operation.Transcode")
        if needs_hevc:
            check_hdr(container, where, inner)

    def extras(op: Mapping[str, Any], container: Mapping[str, Any], where: str) -> None:
        check_extras(op, {"Transcode": section(op, "Transcode")}, where)

    template = TemplateKind(params=params, response=name, inline=name, wrapped=False, job_tag=name,
                            check_output=(("Object", TEMPLATE_CHECK),))
    return TagSpec(name=name, container=name, driver="videoenhance", parse=parse, check=check, extras=extras,
                   template=template, output_ext=output_ext, references=references,
                   data_container="DigitalWatermark")
