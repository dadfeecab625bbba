"""NoiseReduction: speech denoising of an audio file or of a video's audio, to wav/mp3/m4a at a chosen rate.

Driver: media.noisereduction (DeepFilterNet3). Templates hold `NoiseReduction{Format, Samplerate}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..mediarules import num, section, text
from .output import Output, parse_output
from .rules import choice, number_range
from .spec import TagSpec, TemplateKind

FORMATS = ("wav", "mp3", "m4a")
RATES = (8000, 12000, 16000, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class NoiseReductionOp:
    """A NoiseReduction job: the output format and sample rate, and where it goes."""

    format: str = "wav"
    samplerate: int = 16000
    output: Output = Output()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Format one of wav/mp3/m4a; Samplerate one of CI's rates."""
    choice(params, "Format", where, FORMATS)
    number_range(params, "Samplerate", where, RATES[0], RATES[-1], choices=RATES)


def parse(op: Mapping[str, Any]) -> NoiseReductionOp:
    """The typed operation (defaults wav, 16000 Hz)."""
    params = section(op, "NoiseReduction")
    return NoiseReductionOp(text(params, "Format", "wav").lower(), int(num(params, "Samplerate") or 16000),
                            parse_output(op))


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the output format."""
    return text(section(op, "NoiseReduction"), "Format", "wav").lower()


SPEC = TagSpec(
    name="NoiseReduction", container="NoiseReduction", driver="noisereduction", check=check, parse=parse,
    template=TemplateKind(("NoiseReduction",), "NoiseReduction", "NoiseReduction", True, job_tag="NoiseReduction"),
    output_ext=output_ext,
)
