"""The SpeechRecognition driver: Whisper on the input's audio, shaped as CI's SpeechRecognitionResult."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.speechrecognition import DEMUXERS, SpeechRecognitionOp
from . import OutputFile, Progress, Result, Task, audio, models, transcript
from .common import open_input
from .transcript import Sentence, Word

RATE = 16000
FRAME = 0.01


def voiced(samples: Any) -> list[bool]:
    """Per 10 ms frame: louder than 1 % of the peak (-40 dB)."""
    hop = int(RATE * FRAME)
    frames = np.asarray(samples[: len(samples) // hop * hop]).reshape(-1, hop)
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return [bool(v) for v in np.sqrt(np.mean(frames ** 2, axis=1)) > peak * 0.01]


def run(task: Task, progress: Progress) -> Result:
    """Recognize each asked channel, filter, shape; write the txt or srt file."""
    op: SpeechRecognitionOp = task.op
    samples = _channels(op, task.inputs[0])
    if op.rate != RATE:  # a phone engine hears the 8 kHz band only, then Whisper's 16 kHz
        samples = audio.resample(samples, op.rate, RATE)
    seconds = samples.shape[1] / RATE
    sentences: list[Sentence] = []
    for channel, heard in enumerate(samples):
        def report(at: float, done: int = channel) -> None:
            progress(0.9 * min(1.0, (done + at / max(seconds, 1e-3)) / len(samples)))
        found = transcript.onsets(recognize(heard, op.language, report), voiced(heard), FRAME)
        sentences += [replace(s, channel=channel) for s in found]
    sentences.sort(key=lambda s: (s.start, s.channel))
    sentences = transcript.filtered(sentences, op.filter_dirty, op.filter_modal, op.filter_punc,
                                    op.convert_num_mode if op.language == "zh" else None)
    data = _data(op, sentences, seconds, len(samples))
    name = f"result.{op.output_file_type}"
    body = transcript.srt(sentences) if op.output_file_type == "srt" else str(data["Result"])
    with open(os.path.join(task.outdir, name), "w", encoding="utf-8") as fh:
        fh.write(body)
    return Result(files=(OutputFile(name),), ext=op.output_file_type, data=data)


def _channels(op: SpeechRecognitionOp, path: str) -> Any:
    """(channels, n) samples at the engine's rate: the mono downmix; both channels for ChannelNum 2 (8k_zh) and
    for FlashAsr with FirstChannelOnly 0; the first channel alone for FlashAsr's FirstChannelOnly 1."""
    if op.flash and op.format == "pcm":
        return _raw_pcm(path, op.rate)
    if op.flash:
        _check_format(path, op.format)
    count = audio.source_channels(path)
    if op.channel_num == 2 and count != 2:
        raise JobFailed(Failure.INVALID_INPUT, f"ChannelNum 2 needs a two-channel input; this one has {count}")
    if op.flash and not op.first_channel_only and count > 2:
        raise JobFailed(Failure.INVALID_INPUT, f"FirstChannelOnly 0 recognizes up to two channels; this input "
                                               f"has {count}")
    if op.channel_num == 2 or (op.flash and count >= 2):
        both = audio.load(path, op.rate, 2)
        return both if op.channel_num == 2 or not op.first_channel_only else both[:1]
    return audio.load(path, op.rate)


def _raw_pcm(path: str, rate: int) -> Any:
    """Format pcm: headerless 16-bit little-endian mono at the engine's rate."""
    data = Path(path).read_bytes()
    if len(data) < 2:
        raise JobFailed(Failure.INVALID_INPUT, "the pcm input holds no samples")
    return (np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768)[None, :]


def _check_format(path: str, declared: str) -> None:
    """FlashAsr's Format must name what the input is."""
    with open_input(path) as container:
        names = set(container.format.name.split(","))
    if not names & set(DEMUXERS[declared]):
        raise JobFailed(Failure.INVALID_INPUT, f"Format {declared} does not match the input, which is "
                                               f"{container.format.name}")


def _data(op: SpeechRecognitionOp, sentences: list[Sentence], seconds: float, channels: int) -> dict[str, Any]:
    data: dict[str, Any] = {"AudioTime": f"{seconds:.3f}"}
    if op.flash:
        if op.sentence_max_length:
            sentences = transcript.split_punctuation(sentences, op.sentence_max_length)
        data["Result"] = transcript.result_text(sentences)
        data["FlashResult"] = transcript.flash_result(sentences, op.word_info, channels)
        return data
    if op.res_text_format == 3:
        sentences = transcript.split_punctuation(sentences, op.sentence_max_length)
    punctuation = op.res_text_format != 1
    data["Result"] = transcript.result_text(sentences, punctuation, op.channel_num == 2)
    if op.res_text_format >= 1:
        data["ResultDetail"] = transcript.result_detail(sentences, punctuation)
    return data


def recognize(samples: Any, language: str, progress: Any = None) -> list[Sentence]:
    """Sentences with word times from 16 kHz mono samples (Chinese in simplified characters)."""
    model = models.whisper()
    convert = models.need("zhconv", "speech recognition in Chinese").convert if language == "zh" else None
    # Whisper falls back to sampling (temperature > 0) on audio it finds hard; a fixed seed makes the
    # same audio give the same transcript on every run and every worker.
    import ctranslate2  # faster-whisper's runtime, installed with it
    ctranslate2.set_random_seed(0)
    segments, _ = model.transcribe(samples, language=language, beam_size=5, word_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False)
    sentences = []
    for segment in segments:
        words = tuple(Word(convert(w.word, "zh-cn") if convert else w.word, float(w.start), float(w.end))
                      for w in segment.words or ())
        if words:
            sentences.append(Sentence(words, spaced=language != "zh"))
        if progress is not None:
            progress(float(segment.end))
    return [replace(s, words=tuple(Word(w.text.strip(), w.start, w.end) for w in s.words)) for s in sentences]
