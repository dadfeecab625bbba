"""Audio in and out for the speech Tags: decode any input's audio to float samples, encode samples to a file.

Samples are float32 arrays shaped (channels, n) in [-1, 1]. Decoding goes through the input's own
checks (`common.open_input`) and follows mid-stream format changes (`common.Resampler`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed
from .common import Resampler, decodable, decoded, open_input

Samples = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Format:
    """How one audio file is written: container, codec and its PyAV sample format."""

    container: str
    codec: str
    sample_format: str
    ext: str


FORMATS = {
    "wav": Format("wav", "pcm_s16le", "s16", "wav"),
    "pcm": Format("s16le", "pcm_s16le", "s16", "pcm"),
    "mp3": Format("mp3", "libmp3lame", "fltp", "mp3"),
    "m4a": Format("ipod", "aac", "fltp", "m4a"),
    "aac": Format("adts", "aac", "fltp", "aac"),
    "flac": Format("flac", "flac", "s16", "flac"),
    "amr": Format("amr", "libopencore_amrnb", "s16", "amr"),
}


def load(path: str, rate: int, channels: int = 1) -> Samples:
    """The first audio stream of `path` at `rate` Hz as (channels, n) float32 (1 = a mono downmix)."""
    layout = "mono" if channels == 1 else "stereo"
    try:
        with open_input(path) as container:
            if not container.streams.audio:
                raise JobFailed(Failure.INVALID_INPUT, "the input has no audio stream")
            stream = decodable(container.streams.audio[0])
            blocks: list[Samples] = []
            resampler = Resampler("fltp", layout, rate)
            for frame in decoded(container, stream):  # a damaged packet costs its frame, not the job
                assert isinstance(frame, av.AudioFrame)
                frame.pts = None
                blocks.extend(f.to_ndarray().astype(np.float32) for f in resampler.resample(frame))
            blocks.extend(f.to_ndarray().astype(np.float32) for f in resampler.resample(None))
    except av.FFmpegError as exc:
        raise JobFailed(Failure.INVALID_INPUT, f"the input cannot be decoded: {exc.strerror or exc}") from exc
    if not blocks or not sum(b.shape[1] for b in blocks):
        raise JobFailed(Failure.INVALID_INPUT, "the input holds no audio")
    return np.concatenate(blocks, axis=1)


def source_channels(path: str) -> int:
    """How many channels the input's first audio stream has (0 without one)."""
    with open_input(path) as container:
        return container.streams.audio[0].channels if container.streams.audio else 0


def save(path: str, samples: Samples, rate: int, fmt: str, bitrate_kbps: float = 0, channels: int = 0) -> None:
    """Encode (channels, n) float samples at `rate` into `path` as `fmt` (a FORMATS key), flushing the encoder."""
    spec = FORMATS[fmt]
    samples = _channels(np.clip(samples, -1.0, 1.0).astype(np.float32), channels or samples.shape[0])
    layout = layout_of(samples.shape[0])
    with av.open(path, "w", format=spec.container) as out:
        stream = out.add_stream(spec.codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        if bitrate_kbps:
            stream.bit_rate = int(bitrate_kbps * 1000)
        size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=spec.sample_format, layout=layout, rate=rate)
        for start in range(0, samples.shape[1], size):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + size]),
                                               format="fltp", layout=layout)
            frame.sample_rate = rate
            for piece in resampler.resample(frame):
                out.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))


LAYOUTS = {1: "mono", 2: "stereo", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}


def layout_of(channels: int) -> str:
    """FFmpeg's layout name for a channel count (CI's counts: 1, 2, 4, 5, 6, 8)."""
    return LAYOUTS[channels]


def _channels(samples: Samples, count: int) -> Samples:
    if samples.shape[0] == count:
        return samples
    mono = samples.mean(axis=0, keepdims=True)
    return np.repeat(mono, count, axis=0).astype(np.float32)


def peak_normalize(samples: Samples, peak: float = 0.95) -> Samples:
    """Scale down (never up) so the loudest sample is at most `peak`."""
    top = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (peak / top) if top > peak else samples


def resample(samples: Samples, rate: int, target: int) -> Samples:
    """(channels, n) float samples from `rate` to `target` Hz through FFmpeg's resampler."""
    if rate == target:
        return samples
    layout = layout_of(samples.shape[0])
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=target)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout)
    frame.sample_rate = rate
    blocks = [f.to_ndarray() for f in resampler.resample(frame)] + [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(blocks, axis=1).astype(np.float32) if blocks else samples[:, :0]
