"""VoiceSeparate: vocals and background (MusicMode: also bass and drums) of an audio file, one file per stem.

Driver: media.voiceseparate (classical masks, or a separator the user plugs in). Output keys: `Object`
(background), `AuObject` (vocals), `BassObject`, `DrumObject`. Templates hold AudioMode and AudioConfig.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import num, section, text
from .output import Output, parse_output
from .rules import choice, number_range
from .spec import Role, TagSpec, TemplateKind

MODES = ("IsAudio", "IsBackground", "AudioAndBackground", "MusicMode")
RATES = (8000, 11025, 22050, 32000, 44100, 48000, 96000)
CODECS = {"aac": (1, 2, 4, 5, 6, 8), "mp3": (1, 2), "flac": (1, 2, 4, 5, 6, 8), "amr": (1,), "wav": (1, 2)}
MUSIC_CODECS = ("mp3", "wav", "aac")
STEMS = {"IsAudio": ("vocals",), "IsBackground": ("background",), "AudioAndBackground": ("vocals", "background"),
         "MusicMode": ("vocals", "background", "bass", "drums")}
KEYS = {"vocals": "AuObject", "background": "Object", "bass": "BassObject", "drums": "DrumObject"}


@dataclass(frozen=True)
class StemOutput:
    """Output with the key of each stem (Object = background, AuObject = vocals, BassObject, DrumObject)."""

    base: Output = Output()
    keys: tuple[tuple[str, str], ...] = ()  # (stem, key pattern)


@dataclass(frozen=True)
class VoiceSeparateOp:
    """A VoiceSeparate job: which stems, and how each is encoded."""

    stems: tuple[str, ...]
    codec: str = "aac"
    samplerate: int = 44100
    bitrate_kbps: int = 0   # 0: the encoder's default
    channels: int = 0       # 0: the input's (mono or stereo)
    output: StemOutput = StemOutput()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """AudioMode required; AudioConfig's codec/rate/channels/bitrate combinations as CI allows them."""
    mode = text(params, "AudioMode")
    if not mode:
        raise InvalidArgument(f"{where}.AudioMode is required")
    choice(params, "AudioMode", where, MODES)
    config, at = section(params, "AudioConfig"), f"{where}.AudioConfig"
    music = mode.lower() == "musicmode"
    codec = text(config, "Codec", "aac").lower()
    choice(config, "Codec", at, MUSIC_CODECS if music else ("aac", "mp3", "flac", "amr"))
    number_range(config, "Bitrate", at, 8, 1000)
    if num(config, "Bitrate") and codec in ("flac", "wav"):
        raise InvalidArgument(f"{at}.Bitrate does not apply to Codec {codec} (lossless)")
    number_range(config, "Channels", at, 1, 8, choices=CODECS[codec])
    if not music:
        number_range(config, "Samplerate", at, 8000, 96000, choices=RATES)
        rate = int(num(config, "Samplerate") or 44100)
        if (codec in ("aac", "flac") and rate == 8000) or (codec == "mp3" and rate in (8000, 96000)) or \
                (codec == "amr" and rate != 8000):
            raise InvalidArgument(f"{at}.Samplerate {rate} is not allowed with Codec {codec}")
    _check_keys(op, mode, where)


def _check_keys(op: Mapping[str, Any], mode: str, where: str) -> None:
    out = section(op, "Output")
    stems = next(v for k, v in STEMS.items() if k.lower() == mode.lower())
    for stem in stems:
        if not text(out, KEYS[stem]):
            raise InvalidArgument(f"Request.Operation.Output.{KEYS[stem]} is required for AudioMode {mode} "
                                  f"({stem})")


def parse(op: Mapping[str, Any]) -> VoiceSeparateOp:
    """The typed operation; MusicMode keeps 44100 Hz whatever Samplerate says (CI ignores it there)."""
    params = section(op, "VoiceSeparate")
    mode = next(m for m in MODES if m.lower() == text(params, "AudioMode").lower())
    config = section(params, "AudioConfig")
    rate = 44100 if mode == "MusicMode" else int(num(config, "Samplerate") or 44100)
    out = section(op, "Output")
    keys = tuple((stem, text(out, KEYS[stem])) for stem in STEMS[mode])
    return VoiceSeparateOp(STEMS[mode], text(config, "Codec", "aac").lower(), rate, int(num(config, "Bitrate") or 0),
                           int(num(config, "Channels") or 0), StemOutput(parse_output(op), keys))


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the codec's usual extension."""
    return {"aac": "m4a"}.get(codec := text(section(section(op, "VoiceSeparate"), "AudioConfig"), "Codec",
                                            "aac").lower(), codec)


SPEC = TagSpec(
    name="VoiceSeparate", container="VoiceSeparate", driver="voiceseparate", check=check, parse=parse,
    template=TemplateKind(("AudioMode", "AudioConfig"), "VoiceSeparate", "VoiceSeparate", False,
                          job_tag="VoiceSeparate",
                          check_output=(("Object", "b.${ext}"), ("AuObject", "v.${ext}"), ("BassObject", "s.${ext}"),
                                        ("DrumObject", "d.${ext}"))),
    output_ext=output_ext,
    roles={"main": Role(per_file=True)},  # every stem carries its own key: OutputFile.ObjectName lists them all
)
