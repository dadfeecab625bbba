"""The NoiseReduction driver: DeepFilterNet3 on the input's audio (48 kHz mono), written at the asked rate."""

from __future__ import annotations

import os

from ..tags.noisereduction import NoiseReductionOp
from . import OutputFile, Progress, Result, Task, audio, models
from .models import DF_RATE

AUDIO_FORMATS = {"wav": "wav", "mp3": "mp3", "m4a": "m4a"}
# DeepFilterNet removes at most this much from any band. Unlimited, it leaves artefacts that cost the ASR
# words at 0 dB white noise (WER 8.8 % against 6.7 % on the noisy input, 108 clips of 3 sentences); at
# 20 dB the ASR does better than on the noisy input (6.3 %) and the SNR gain stays 7.8 dB (7.9 unlimited).
ATTENUATION_LIMIT_DB = 20.0


def run(task: Task, progress: Progress) -> Result:
    """Denoise the first audio stream of the input into `out.<format>`."""
    op: NoiseReductionOp = task.op
    denoiser = models.deepfilter()
    samples = audio.load(task.inputs[0], DF_RATE)[0]
    clean = denoiser.process(samples, limit_db=ATTENUATION_LIMIT_DB, progress=lambda f: progress(0.9 * f))
    name = f"out.{op.format}"
    resampled = audio.resample(clean[None, :], DF_RATE, op.samplerate)
    audio.save(os.path.join(task.outdir, name), audio.peak_normalize(resampled), op.samplerate,
               AUDIO_FORMATS[op.format], bitrate_kbps=128 if op.format != "wav" else 0)
    return Result(files=(OutputFile(name),), ext=op.format)
