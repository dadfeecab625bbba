"""Tts: speech from text (TtsConfig Text, or Url naming a UTF-8 object), no Input. Driver: media.tts.

`TtsTpl{Mode, Codec, VoiceType, Volume, Speed, Emotion}` is the inline container and what templates
hold. VOICES maps CI's VoiceType ids onto the voices ci-jobs ships; other ids are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import num, object_key, section, text
from .output import Output, parse_output
from .rules import choice, number_range
from .spec import TagSpec, TemplateKind

# VoiceType -> (language, gender). Chinese voices: espeak-ng; English: Hibari (female) or espeak-ng (male).
VOICES = {
    "ruxue": ("zh", "f"), "zhiyu": ("zh", "f"), "zhiling": ("zh", "f"), "zhimei": ("zh", "f"), "zhili": ("zh", "f"),
    "zhiyun": ("zh", "m"), "zhihua": ("zh", "m"), "zhiyan": ("zh", "f"),
    "werose": ("en", "f"), "wejack": ("en", "m"),
}
MODES = ("Asyc", "Sync")
SYNC_CHARS, ASYC_CHARS = 300, 10000


@dataclass(frozen=True)
class TtsOp:
    """A Tts job: the text (or the object holding it), the voice, its pace and loudness, the codec."""

    text: str = ""
    text_key: str = ""       # InputType Url: the object whose UTF-8 text is spoken
    mode: str = "Asyc"
    codec: str = "pcm"
    voice: str = "ruxue"
    volume: float = 0.0      # [-10, 10]: 0.6 dB a step
    speed: float = 100.0     # [50, 200] percent of the voice's pace
    output: Output = Output()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Mode, Codec (Asyc: pcm only), a VoiceType ci-jobs has, Volume and Speed ranges."""
    choice(params, "Mode", where, MODES)
    choice(params, "Codec", where, ("wav", "mp3", "pcm"))
    mode = text(params, "Mode", "Asyc").lower()
    if mode == "asyc" and text(params, "Codec", "pcm").lower() != "pcm":
        raise InvalidArgument(f"{where}.Codec {text(params, 'Codec')} needs Mode Sync (Asyc writes pcm only)")
    voice = text(params, "VoiceType", "ruxue")
    if voice.lower() not in VOICES:
        raise InvalidArgument(f"{where}.VoiceType {voice} is not a voice of this server; "
                              f"voices: {', '.join(sorted(VOICES))}")
    number_range(params, "Volume", where, -10, 10)
    number_range(params, "Speed", where, 50, 200)
    if text(params, "Emotion"):
        raise InvalidArgument(f"{where}.Emotion is not supported: the shipped voices have no emotions")


def extras(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """TtsConfig: InputType Text (at most 300/10000 characters, Sync/Asyc) or Url."""
    config, at = section(op, "TtsConfig"), "Request.Operation.TtsConfig"
    kind = text(config, "InputType")
    if not kind:
        raise InvalidArgument(f"{at}.InputType is required")
    choice(config, "InputType", at, ("Text", "Url"))
    body = text(config, "Input")
    if not body:
        raise InvalidArgument(f"{at}.Input is required")
    limit = SYNC_CHARS if text(params, "Mode", "Asyc").lower() == "sync" else ASYC_CHARS
    if kind.lower() == "text" and len(body) > limit:
        raise InvalidArgument(f"{at}.Input has {len(body)} characters; at most {limit} in this Mode")


def parse(op: Mapping[str, Any]) -> TtsOp:
    """The typed operation (Asyc/pcm/ruxue, volume 0, speed 100 unless given)."""
    params, config = section(op, "TtsTpl"), section(op, "TtsConfig")
    mode = "Sync" if text(params, "Mode").lower() == "sync" else "Asyc"
    codec = text(params, "Codec", "wav" if mode == "Sync" else "pcm").lower()
    url = text(config, "InputType").lower() == "url"
    body = text(config, "Input")
    return TtsOp("" if url else body, object_key(body) if url else "", mode, codec,
                 text(params, "VoiceType", "ruxue").lower(), num(params, "Volume") or 0.0,
                 num(params, "Speed") or 100.0, parse_output(op))


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the codec."""
    params = section(op, "TtsTpl")
    mode = text(params, "Mode").lower()
    return text(params, "Codec", "wav" if mode == "sync" else "pcm").lower()


def references(op: Mapping[str, Any]) -> list[str]:
    """InputType Url: the object holding the text."""
    config = section(op, "TtsConfig")
    return [text(config, "Input")] if text(config, "InputType").lower() == "url" else []


SPEC = TagSpec(
    name="Tts", container="TtsTpl", driver="tts", check=check, extras=extras, parse=parse,
    template=TemplateKind(("Mode", "Codec", "VoiceType", "Volume", "Speed", "Emotion"), "TtsTpl", "TtsTpl", False,
                          job_tag=None),
    needs_input=False, output_ext=output_ext, references=references,
)
