"""VideoEnhance: picture-quality enhancement (super-resolution, colour, sharpening, SDR to HDR, frame
doubling) applied while transcoding; its typed operation (`EnhanceOp`) is shared by the legacy Tags
VideoProcess, SuperResolution and SDRtoHDR. Driver: media.videoenhance.

What each parameter does (ci-jobs's reading of CI's ranges; see the README's VideoEnhance section):
SuperResolution doubles the picture (Version Base: Lanczos + adaptive sharpening; Enhance: the
Real-ESRGAN animevideov3 x2 model), EnableScaleUp goes on up to the Resolution's class (short side
1080 for sdtohd, 2160 for hdto4k), and Transcode's Width/Height, when set, size the result.
ColorEnhance's Contrast [0,100] stretches luma about its mean by up to 1.5x, Saturation [0,300] scales
chroma by up to 2.5x, Correction [0,1000] pulls the mean chroma towards grey (1000: fully); an empty
field is automatic. MsSharpen's SharpenLevel [0,10] is an unsharp-mask amount (empty: 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, num, section, text
from . import transcode, watermark
from .rules import choice, number_range
from .spec import TagSpec, TemplateKind
from .transcode import TranscodeOp

NAME = "VideoEnhance"
WHERE = "Request.Operation.VideoEnhance"
RESOLUTIONS = ("sdtohd", "hdto4k")
VERSIONS = ("Base", "Enhance")
HDR_MODES = ("HDR10", "HLG")
CLASS_SHORT_SIDE = {"sdtohd": 1080, "hdto4k": 2160}
AUTO_SHARPEN = 4.0
_PARTS = ("SuperResolution", "ColorEnhance", "MsSharpen", "SDRtoHDR", "FrameEnhance")


@dataclass(frozen=True)
class SuperResolution:
    """SuperResolution: a 2x upscale (`enhance`: the learned model), up to the Resolution's class with scale_up."""

    resolution: str = "sdtohd"
    scale_up: bool = False
    enhance: bool = False  # Version Enhance

    @property
    def short_side(self) -> int:
        """The short side of the Resolution's class (EnableScaleUp's target)."""
        return CLASS_SHORT_SIDE[self.resolution]


@dataclass(frozen=True)
class ColorEnhance:
    """ColorEnhance strengths (None: automatic)."""

    contrast: float | None = None     # [0, 100]
    correction: float | None = None   # [0, 1000]
    saturation: float | None = None   # [0, 300]


@dataclass(frozen=True)
class Enhancement:
    """Everything a VideoEnhance (or legacy) job does to the picture, in the order the driver applies it."""

    super_resolution: SuperResolution | None = None
    color: ColorEnhance | None = None
    sharpen: float | None = None      # SharpenLevel [0, 10]; None: no MsSharpen
    hdr: str = ""                     # '' (stay SDR), 'hdr10' or 'hlg'
    frame_doubling: bool = False

    def __bool__(self) -> bool:
        return bool(self.super_resolution or self.color or self.sharpen is not None or self.hdr
                    or self.frame_doubling)


@dataclass(frozen=True)
class EnhanceOp:
    """A VideoEnhance / VideoProcess / SuperResolution / SDRtoHDR job: the transcode and the enhancement."""

    transcode: TranscodeOp
    enhancement: Enhancement = Enhancement()


def _level(params: Mapping[str, Any], key: str) -> float | None:
    return num(params, key) if text(params, key) else None


def parse_super_resolution(params: Mapping[str, Any]) -> SuperResolution:
    """A checked SuperResolution container."""
    return SuperResolution(text(params, "Resolution", "sdtohd").lower(), flag(params, "EnableScaleUp"),
                           text(params, "Version", "Base").lower() == "enhance")


def parse_color(params: Mapping[str, Any]) -> ColorEnhance:
    """A checked ColorEnhance container."""
    return ColorEnhance(_level(params, "Contrast"), _level(params, "Correction"), _level(params, "Saturation"))


def parse_sharpen(params: Mapping[str, Any]) -> float:
    """A checked MsSharpen container's level (empty: automatic)."""
    level = _level(params, "SharpenLevel")
    return AUTO_SHARPEN if level is None else level


def transcode_of(op: Mapping[str, Any], inner: Mapping[str, Any]) -> TranscodeOp:
    """The transcode of an enhancement job: Operation.Transcode (a TranscodeTemplateId resolved there
    wins) else `inner` (VideoEnhance.Transcode), with the Operation's watermarks and Output."""
    params = section(op, "Transcode") or dict(inner)
    return transcode.parse({**op, "Transcode": params})


def _on(params: Mapping[str, Any], part: str) -> bool:
    """Whether a ColorEnhance or MsSharpen container is there and not switched off: VideoEnhance's
    containers need no Enable (CI's VideoEnhance lists none), but Enable false, as VideoProcess takes
    it, turns the part off."""
    return part in params and text(section(params, part), "Enable", "true").lower() != "false"


def parse(op: Mapping[str, Any]) -> EnhanceOp:
    """The typed operation of a checked VideoEnhance Operation."""
    params = section(op, "VideoEnhance")
    sr = section(params, "SuperResolution")
    hdr = text(section(params, "SDRtoHDR"), "HdrMode").lower()
    enhancement = Enhancement(parse_super_resolution(sr) if sr else None,
                              parse_color(section(params, "ColorEnhance")) if _on(params, "ColorEnhance") else None,
                              parse_sharpen(section(params, "MsSharpen")) if _on(params, "MsSharpen") else None,
                              hdr, flag(section(params, "FrameEnhance"), "FrameDoubling"))
    return EnhanceOp(transcode_of(op, section(params, "Transcode")), enhancement)


def check_super_resolution(params: Mapping[str, Any], where: str) -> None:
    """SuperResolution: Resolution (required), EnableScaleUp, Version."""
    if not text(params, "Resolution"):
        raise InvalidArgument(f"{where}.Resolution is required")
    choice(params, "Resolution", where, RESOLUTIONS)
    choice(params, "EnableScaleUp", where, ("true", "false"))
    choice(params, "Version", where, VERSIONS)


def check_color(params: Mapping[str, Any], where: str) -> None:
    """ColorEnhance: Contrast [0,100], Correction [0,1000], Saturation [0,300]."""
    number_range(params, "Contrast", where, 0, 100)
    number_range(params, "Correction", where, 0, 1000)
    number_range(params, "Saturation", where, 0, 300)


def check_sharpen(params: Mapping[str, Any], where: str) -> None:
    """MsSharpen: SharpenLevel [0,10]."""
    number_range(params, "SharpenLevel", where, 0, 10)


def check_hdr(params: Mapping[str, Any], where: str, transcode_params: Mapping[str, Any]) -> None:
    """SDRtoHDR: HdrMode (required) HDR10 or HLG. The output is 10-bit HEVC whatever Video.Codec says
    (CI's own sample asks H.264 with HDR10), so the container must carry HEVC."""
    if not text(params, "HdrMode"):
        raise InvalidArgument(f"{where}.HdrMode is required")
    choice(params, "HdrMode", where, HDR_MODES)
    fmt = text(section(transcode_params, "Container"), "Format", "mp4").lower()
    if fmt not in ("mp4", "mkv", "mov", "hls", "ts"):
        raise InvalidArgument(f"{where}.HdrMode needs a container that carries HEVC, not {fmt}")


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Transcode (required) and at least one enhancement, each within CI's ranges."""
    inner = section(op, "Transcode") or section(params, "Transcode")
    if not inner:
        raise InvalidArgument(f"{where}.Transcode is required")
    transcode.check(op, inner, f"{where}.Transcode")
    if not any(k in params for k in _PARTS):
        raise InvalidArgument(f"{where} needs at least one of {', '.join(_PARTS)}")
    if "SuperResolution" in params:
        check_super_resolution(section(params, "SuperResolution"), f"{where}.SuperResolution")
    for part in ("ColorEnhance", "MsSharpen"):
        choice(section(params, part), "Enable", f"{where}.{part}", ("true", "false"))
    check_color(section(params, "ColorEnhance"), f"{where}.ColorEnhance")
    check_sharpen(section(params, "MsSharpen"), f"{where}.MsSharpen")
    if "SDRtoHDR" in params:
        check_hdr(section(params, "SDRtoHDR"), f"{where}.SDRtoHDR", inner)
    choice(section(params, "FrameEnhance"), "FrameDoubling", f"{where}.FrameEnhance", ("true", "false"))


def check_extras(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
    """Watermarks and DigitalWatermark as Transcode takes them."""
    inner = section(op, "Transcode") or section(params, "Transcode")
    transcode.check_extras(op, inner, where)
    if "SDRtoHDR" in params and op.get("DigitalWatermark"):
        raise InvalidArgument("Request.Operation.DigitalWatermark cannot be combined with SDRtoHDR: the mark is "
                              "embedded in 8-bit SDR luma")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the container's extension."""
    inner = section(op, "Transcode") or section(section(op, "VideoEnhance"), "Transcode")
    return transcode.output_ext({"Transcode": inner})


def references(op: Mapping[str, Any]) -> list[str]:
    """Watermark images."""
    return watermark.images(op)


TEMPLATE = TemplateKind(params=("VideoEnhance",), response="VideoEnhance", inline="VideoEnhance", wrapped=True,
                        job_tag=NAME)
SPEC = TagSpec(name=NAME, container="VideoEnhance", driver="videoenhance", parse=parse, check=check,
               extras=check_extras, template=TEMPLATE, output_ext=output_ext, references=references,
               data_container="DigitalWatermark")
