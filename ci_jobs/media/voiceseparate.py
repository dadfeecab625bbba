"""The VoiceSeparate driver: split the input's audio into stems and encode each one as asked."""

from __future__ import annotations

import os

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.voiceseparate import VoiceSeparateOp
from . import OutputFile, Progress, Result, Task, audio
from .separation import separator

WORK_RATE = 44100
FORMAT_OF = {"aac": "m4a", "mp3": "mp3", "flac": "flac", "amr": "amr", "wav": "wav"}
EXT_OF = {"aac": "m4a"}


def run(task: Task, progress: Progress) -> Result:
    """One file per asked stem, each at the asked codec, rate, bitrate and channel count."""
    op: VoiceSeparateOp = task.op
    channels = min(2, audio.source_channels(task.inputs[0]) or 1)
    samples = audio.load(task.inputs[0], WORK_RATE, channels)
    progress(0.2)
    stems = separator().separate(samples, WORK_RATE)
    progress(0.8)
    files = []
    ext = EXT_OF.get(op.codec, op.codec)
    for stem, key in op.output.keys:
        if stem not in stems:
            raise JobFailed(Failure.INTERNAL_ERROR, f"the separator gave no {stem} stem")
        name = f"{stem}.{ext}"
        data = audio.resample(stems[stem], WORK_RATE, op.samplerate)
        audio.save(os.path.join(task.outdir, name), audio.peak_normalize(data), op.samplerate, FORMAT_OF[op.codec],
                   _bitrate(op), op.channels or (1 if op.codec == "amr" else channels))
        files.append(OutputFile(name, "main", ext, key))
    return Result(files=tuple(files), ext=ext)


def _bitrate(op: VoiceSeparateOp) -> float:
    """kbps for the encoder: AMR-NB has fixed modes up to 12.2 kbps (its encoder refuses others)."""
    if op.codec == "amr":
        modes = (4.75, 5.15, 5.9, 6.7, 7.4, 7.95, 10.2, 12.2)
        return max(m for m in modes if m <= max(op.bitrate_kbps or 12.2, 4.75))
    return float(op.bitrate_kbps)
