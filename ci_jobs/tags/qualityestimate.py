"""QualityEstimate: a no-reference quality score of a video (Mode general), with the defects found and
when (Mode vqaPlus). No output file: the result is data shown at Operation.QualityEstimate.
Driver: media.qualityestimate.

Score: 0-100, higher is better: 100 minus BRISQUE (Mittal et al. 2012, the LIVE-trained SVM shipped in
the `brisque` package), clipped, averaged over sampled frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import num, section, text
from .rules import choice
from .spec import TagSpec

NAME = "QualityEstimate"
MODES = ("general", "vqaPlus")
ROTATES = (0, 90, 180, 270)


@dataclass(frozen=True)
class QualityOp:
    """A QualityEstimate job: the mode and the clockwise turn applied to frames before scoring."""

    vqa_plus: bool = False
    rotate: int = 0  # ignored in vqaPlus, as CI documents


def parse(op: Mapping[str, Any]) -> QualityOp:
    """The typed operation of a checked QualityEstimate Operation (QualityEstimateConfig is optional)."""
    config = section(op, "QualityEstimateConfig")
    check(config)
    vqa = text(config, "Mode", "general").lower() == "vqaplus"
    return QualityOp(vqa, 0 if vqa else int(num(config, "Rotate", 0) or 0))


def check(config: Mapping[str, Any]) -> None:
    """Mode general or vqaPlus; Rotate 0, 90, 180 or 270."""
    where = "Request.Operation.QualityEstimateConfig"
    choice(config, "Mode", where, MODES)
    rotate = text(config, "Rotate")
    if rotate and num(config, "Rotate") not in ROTATES:
        raise InvalidArgument(f"{where}.Rotate {rotate} must be one of 0, 90, 180, 270")


SPEC = TagSpec(name=NAME, container="QualityEstimateConfig", driver="qualityestimate", parse=parse,
               data_container="QualityEstimate")
