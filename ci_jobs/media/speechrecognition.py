"""The SpeechRecognition driver: Whisper on the input's audio, shaped as CI's SpeechRecognitionResult."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..tags.speechrecognition import SpeechRecognitionOp
from . import OutputFile, Progress, Result, Task, audio, models, transcript
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
    """Recognize, filter, shape; write the txt or srt file."""
    op: SpeechRecognitionOp = task.op
    samples = audio.load(task.inputs[0], op.rate)
    if op.rate != RATE:  # a phone engine hears the 8 kHz band only, then Whisper's 16 kHz
        samples = audio.resample(samples, op.rate, RATE)
    seconds = samples.shape[1] / RATE
    sentences = recognize(samples[0], op.language, lambda at: progress(0.9 * min(1.0, at / max(seconds, 1e-3))))
    sentences = transcript.onsets(sentences, voiced(samples[0]), FRAME)
    sentences = transcript.filtered(sentences, op.filter_dirty, op.filter_modal, op.filter_punc,
                                    op.language == "zh" and op.convert_num_mode == 0)
    data = _data(op, sentences, seconds)
    name = f"result.{op.output_file_type}"
    body = transcript.srt(sentences) if op.output_file_type == "srt" else str(data["Result"])
    with open(os.path.join(task.outdir, name), "w", encoding="utf-8") as fh:
        fh.write(body)
    return Result(files=(OutputFile(name),), ext=op.output_file_type, data=data)


def _data(op: SpeechRecognitionOp, sentences: list[Sentence], seconds: float) -> dict[str, Any]:
    data: dict[str, Any] = {"AudioTime": f"{seconds:.3f}"}
    if op.flash:
        if op.sentence_max_length:
            sentences = transcript.split_punctuation(sentences, op.sentence_max_length)
        data["Result"] = transcript.result_text(sentences)
        data["FlashResult"] = transcript.flash_result(sentences, op.word_info)
        return data
    if op.res_text_format == 3:
        sentences = transcript.split_punctuation(sentences, op.sentence_max_length)
    punctuation = op.res_text_format != 1
    data["Result"] = transcript.result_text(sentences, punctuation)
    if op.res_text_format >= 1:
        data["ResultDetail"] = transcript.result_detail(sentences, punctuation)
    return data


def recognize(samples: Any, language: str, progress: Any = None) -> list[Sentence]:
    """Sentences with word times from 16 kHz mono samples (Chinese in simplified characters)."""
    model = models.whisper()
    convert = models.need("zhconv", "speech recognition in Chinese").convert if language == "zh" else None
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
    return [Sentence(tuple(Word(w.text.strip(), w.start, w.end) for w in s.words), s.spaced) for s in sentences]
