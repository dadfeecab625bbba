"""SpeechRecognition: a transcript of the input's speech (Whisper), as data and as a txt/srt object.

Driver: media.speechrecognition. Job ids start with `s` (CI's ASR ids); the legacy /asr_jobs
routes reach the same Tag. Engines are those the shipped model can honour; others are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, num, section, text
from .output import Output, parse_output
from .rules import choice, number_range
from .spec import TagSpec, TemplateKind

# EngineModelType -> (language, sample rate the engine is meant for)
ENGINES = {"16k_zh": ("zh", 16000), "16k_zh_video": ("zh", 16000), "16k_en": ("en", 16000),
           "8k_zh": ("zh", 8000), "8k_en": ("en", 8000)}
REFUSED = {"8k_zh_s": "a phone model with speaker separation", "16k_ca": "Cantonese", "16k_ja": "Japanese",
           "16k_zh_edu": "an education model", "16k_en_edu": "an education model", "16k_zh_medical": "a medical model",
           "16k_th": "Thai", "16k_zh_dialect": "Chinese dialects", "16k_ms": "Malay", "16k_zh-PY": "pinyin output"}
FLASH_FORMATS = ("wav", "pcm", "ogg-opus", "speex", "silk", "mp3", "m4a", "aac")
# Format -> the demuxers FFmpeg names for it (the input must be one of them)
DEMUXERS = {"wav": ("wav",), "mp3": ("mp3",), "m4a": ("mov", "mp4", "m4a"), "aac": ("aac", "mov", "mp4", "m4a"),
            "ogg-opus": ("ogg",), "speex": ("ogg",)}


@dataclass(frozen=True)
class SpeechRecognitionOp:
    """A SpeechRecognition job: engine, result shape, filters, and the txt/srt file."""

    engine: str
    language: str
    rate: int
    res_text_format: int = 0
    filter_dirty: int = 0
    filter_modal: int = 0
    filter_punc: int = 0
    convert_num_mode: int = 1
    output_file_type: str = "txt"
    flash: bool = False
    word_info: int = 0
    first_channel_only: bool = True
    sentence_max_length: int = 0
    channel_num: int = 1
    format: str = ""         # FlashAsr: the input's declared format (pcm: headerless 16-bit mono at the rate)
    output: Output = Output()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """The engine, its options and their combinations as CI documents them; what cannot be honoured is refused."""
    engine = text(params, "EngineModelType")
    if not engine:
        raise InvalidArgument(f"{where}.EngineModelType is required")
    if engine in REFUSED:
        raise InvalidArgument(f"{where}.EngineModelType {engine} is not supported: the shipped model has no "
                              f"{REFUSED[engine]}; supported: {', '.join(ENGINES)}")
    if engine not in ENGINES:
        raise InvalidArgument(f"{where}.EngineModelType {engine} must be one of {', '.join(ENGINES)}")
    choice(params, "FlashAsr", where, ("true", "false"))
    flash = flag(params, "FlashAsr")
    number_range(params, "ChannelNum", where, 1, 2, choices=(1, 2))
    if (num(params, "ChannelNum") or 1) == 2 and (engine != "8k_zh" or flash):
        raise InvalidArgument(f"{where}.ChannelNum 2 is only for EngineModelType 8k_zh without FlashAsr (two "
                              f"channels, one call party each); FlashAsr takes FirstChannelOnly 0 instead")
    for key, hi in (("ResTextFormat", 3), ("FilterDirty", 2), ("FilterModal", 2), ("FilterPunc", 2),
                    ("ConvertNumMode", 3), ("WordInfo", 2), ("FirstChannelOnly", 1), ("SpeakerDiarization", 1)):
        number_range(params, key, where, 0, hi, choices=tuple(range(hi + 1)))
    _check_numbers_and_speakers(params, engine, where)
    _check_mode_only(params, flash, where)
    choice(params, "OutputFileType", where, ("txt", "srt"))
    srt = text(params, "OutputFileType").lower() == "srt"
    if srt and flash:
        raise InvalidArgument(f"{where}.OutputFileType srt is not allowed with FlashAsr (txt only)")
    if srt and num(params, "ResTextFormat") == 3:
        raise InvalidArgument(f"{where}.OutputFileType srt is not allowed with ResTextFormat 3 (txt only)")
    if flash:
        if not text(params, "Format"):
            raise InvalidArgument(f"{where}.Format is required when FlashAsr is true")
        choice(params, "Format", where, FLASH_FORMATS)
        if text(params, "Format").lower() == "silk":
            raise InvalidArgument(f"{where}.Format silk is not supported: this server has no SILK decoder")


def _check_numbers_and_speakers(params: dict[str, Any], engine: str, where: str) -> None:
    """ConvertNumMode 0/1/3 (3 on the Chinese engines); no diarization, so no SpeakerNumber."""
    if num(params, "ConvertNumMode") == 2:
        raise InvalidArgument(f"{where}.ConvertNumMode 2 must be one of 0, 1, 3")
    if num(params, "ConvertNumMode") == 3 and ENGINES[engine][0] != "zh":
        raise InvalidArgument(f"{where}.ConvertNumMode 3 is for the Chinese engines (numbers in {engine} are "
                              f"written as the model hears them)")
    if (num(params, "SpeakerDiarization") or 0) == 1:
        raise InvalidArgument(f"{where}.SpeakerDiarization 1 is not supported: no diarization model ships")
    number_range(params, "SpeakerNumber", where, 0, 10)
    if num(params, "SpeakerNumber"):
        raise InvalidArgument(f"{where}.SpeakerNumber needs SpeakerDiarization 1, which is not supported")


def _check_mode_only(params: dict[str, Any], flash: bool, where: str) -> None:
    """Options of one mode (FlashAsr or not) refused in the other, where they would do nothing."""
    number_range(params, "SentenceMaxLength", where, 6, 40, zero_ok=True)
    if num(params, "SentenceMaxLength") and not flash and num(params, "ResTextFormat") != 3:
        raise InvalidArgument(f"{where}.SentenceMaxLength applies only with FlashAsr true or ResTextFormat 3")
    if not flash:
        # the SDK's template call always sends FirstChannelOnly 1 and WordInfo 0: those defaults pass
        if num(params, "FirstChannelOnly") == 0:
            raise InvalidArgument(f"{where}.FirstChannelOnly applies only with FlashAsr true (ChannelNum otherwise)")
        if num(params, "WordInfo"):
            raise InvalidArgument(f"{where}.WordInfo applies only with FlashAsr true (ResTextFormat otherwise)")
        if text(params, "Format"):
            raise InvalidArgument(f"{where}.Format applies only with FlashAsr true (otherwise the input is probed)")
    elif num(params, "ResTextFormat"):
        raise InvalidArgument(f"{where}.ResTextFormat applies only without FlashAsr (FlashAsr takes WordInfo)")


def parse(op: Mapping[str, Any]) -> SpeechRecognitionOp:
    """The typed operation (ResTextFormat 0, filters off, ConvertNumMode 1, txt unless given)."""
    p = section(op, "SpeechRecognition")
    engine = text(p, "EngineModelType")
    language, rate = ENGINES[engine]

    def whole(key: str, default: int = 0) -> int:
        value = num(p, key)
        return default if value is None else int(value)

    return SpeechRecognitionOp(
        engine, language, rate, whole("ResTextFormat"), whole("FilterDirty"), whole("FilterModal"),
        whole("FilterPunc"), whole("ConvertNumMode", 1), text(p, "OutputFileType", "txt").lower(),
        flag(p, "FlashAsr"), whole("WordInfo"), whole("FirstChannelOnly", 1) == 1, whole("SentenceMaxLength"),
        whole("ChannelNum", 1), text(p, "Format").lower(), parse_output(op))


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: txt or srt."""
    return text(section(op, "SpeechRecognition"), "OutputFileType", "txt").lower()


SPEC = TagSpec(
    name="SpeechRecognition", container="SpeechRecognition", driver="speechrecognition", check=check, parse=parse,
    template=TemplateKind(("SpeechRecognition",), "SpeechRecognition", "SpeechRecognition", True,
                          job_tag="SpeechRecognition"),
    output_ext=output_ext, data_container="SpeechRecognitionResult", empty_result=False, id_prefix="s",
)
