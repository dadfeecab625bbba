"""VideoMontage (精彩集锦): a highlight reel of about Duration seconds cut from the input's most
interesting shots, re-encoded into Container/Video/Audio with AudioMix under it. Driver:
media.videomontage (which documents the scoring and the cuts).

Only what CI documents for VideoMontage is taken: Container.Format mp4/flv/hls/ts/mkv; Video Codec
(H.264 only), Width, Height (even, 128-4096), Fps (0, 60], Bitrate (10-50000 or auto), Crf (0, 51],
Remove; Audio Codec aac/mp3, Samplerate, Bitrate (8-1000), Channels, Remove; AudioMix/AudioMixArray
(Transcode's rules); Duration (seconds > 0; absent or `auto`: chosen from the scores); Scene Video or Soccer.
Transcode's other Video/Audio fields are refused by name rather than ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import CONCAT_CONTAINERS, CONTAINERS, ContainerSpec, flag, num, section, text, video_codec
from .output import Output, parse_output
from .rules import choice, many, number_range
from .spec import Role, TagSpec, TemplateKind
from .streams import Audio, Video, check_audio, check_video, parse_audio, parse_video
from .transcode import AudioMix, check_audio_mix, parse_mixes

NAME = "VideoMontage"
WHERE = "Request.Operation.VideoMontage"
SCENES = ("Video", "Soccer")
# CI's VideoMontage containers, each carrying H.264 video and AAC or MP3 audio
MONTAGE_CONTAINERS: dict[str, ContainerSpec] = {
    "mp4": ContainerSpec("mp4", "mp4", ("h264",), ("aac", "mp3"), "h264", "aac"),
    "flv": CONTAINERS["flv"],
    "hls": CONCAT_CONTAINERS["hls"],
    "ts": CONTAINERS["ts"],
    "mkv": ContainerSpec("matroska", "mkv", ("h264",), ("aac", "mp3"), "h264", "aac"),
}
VIDEO_FIELDS = ("Codec", "Width", "Height", "Fps", "Bitrate", "Crf", "Remove")
AUDIO_FIELDS = ("Codec", "Samplerate", "Bitrate", "Channels", "Remove")
_PARAMS = ("Container", "Video", "Audio", "AudioMix", "AudioMixArray", "Duration", "Scene")


@dataclass(frozen=True)
class VideoMontageOp:
    """A VideoMontage job's typed operation: what its driver reads."""

    container: ContainerSpec
    video: Video | None              # None: Video.Remove
    audio: Audio | None              # None: Audio.Remove
    duration: float | None = None    # seconds of reel wanted; None: chosen from the scores
    scene: str = "video"             # lower-case: video or soccer
    audio_mix: tuple[AudioMix, ...] = ()
    output: Output = Output()


def parse(op: Mapping[str, Any]) -> VideoMontageOp:
    """The typed operation of a checked VideoMontage Operation."""
    params = section(op, "VideoMontage")
    fmt = text(section(params, "Container"), "Format", "mp4").lower()
    spec = MONTAGE_CONTAINERS.get(fmt, MONTAGE_CONTAINERS["mp4"])
    return VideoMontageOp(spec, parse_video(params, spec, f"{WHERE}.Video", geometry=False),
                          parse_audio(params, spec), num(params, "Duration"),
                          text(params, "Scene", "Video").lower() or "video", parse_mixes(params), parse_output(op))


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Container, Video, Audio (CI's VideoMontage fields only), AudioMix, Duration and Scene."""
    for key in params:
        if key not in _PARAMS:
            raise InvalidArgument(f"{where}.{key} is not a VideoMontage parameter")
    fmt = text(section(params, "Container"), "Format")
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    if fmt.lower() not in MONTAGE_CONTAINERS:
        raise InvalidArgument(f"{where}.Container.Format {fmt} must be one of {', '.join(MONTAGE_CONTAINERS)}")
    spec = MONTAGE_CONTAINERS[fmt.lower()]
    _check_video(params, spec, fmt, f"{where}.Video")
    audio = section(params, "Audio")
    _only(audio, AUDIO_FIELDS, f"{where}.Audio")
    check_audio(params, spec, fmt, f"{where}.Audio")
    if flag(audio, "Remove") and flag(section(params, "Video"), "Remove"):
        raise InvalidArgument(f"{where}.Video.Remove and {where}.Audio.Remove cannot both be true")
    check_audio_mix(params, where)
    raw = text(params, "Duration")
    value = num(params, "Duration")
    if raw and raw.lower() != "auto" and (value is None or value <= 0):
        raise InvalidArgument(f"{where}.Duration {raw} must be a number of seconds above 0")
    choice(params, "Scene", where, SCENES)
    if not text(section(op, "Output"), "Object"):
        raise InvalidArgument("Request.Operation.Output.Object is required")


def _check_video(params: Mapping[str, Any], spec: ContainerSpec, fmt: str, where: str) -> None:
    video = section(params, "Video")
    _only(video, VIDEO_FIELDS, where)
    if flag(video, "Remove"):
        return
    codec = text(video, "Codec", "H.264")
    if video_codec(codec) != "h264":
        raise InvalidArgument(f"{where}.Codec {codec} must be H.264")
    check_video(params, spec, fmt, where)
    number_range(video, "Fps", where, 0, 60, lo_open=True)
    for key in ("Width", "Height"):
        value = num(video, key)
        if value and int(value) % 2:
            raise InvalidArgument(f"{where}.{key} {text(video, key)} must be even")


def _only(params: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in params:
        if key not in allowed:
            raise InvalidArgument(f"{where}.{key} is not supported for VideoMontage; it takes "
                                  f"{', '.join(allowed)}")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the extension of the output container."""
    fmt = text(section(section(op, "VideoMontage"), "Container"), "Format", "mp4").lower()
    return MONTAGE_CONTAINERS[fmt].ext if fmt in MONTAGE_CONTAINERS else fmt


def references(op: Mapping[str, Any]) -> list[str]:
    """The AudioMix sources."""
    params = section(op, "VideoMontage")
    return [text(m, "AudioSource") for m in many(params.get("AudioMix")) + many(params.get("AudioMixArray"))]


SPEC = TagSpec(
    name=NAME, container="VideoMontage", driver="videomontage", check=check, parse=parse,
    template=TemplateKind(_PARAMS, "VideoMontage", "VideoMontage", False, job_tag=NAME, needs_container=True),
    output_ext=output_ext, references=references,
    roles={"main": Role(), "segment": Role(beside="main")},
)
