"""Source separation behind one interface: classical masks by default, or a separator the user provides.

`Separator.separate(samples, rate)` takes (channels, n) float32 and returns stems by name (vocals,
background, bass, drums), each shaped like the input. The classical one combines
- a centre-channel mask for stereo (vocals are usually panned to the middle: bins where left and
  right agree in level and phase),
- REPET-SIM (a repeating-background model: each frame's magnitude replaced by the median of its most
  similar frames, so a looped accompaniment is kept and the non-repeating voice is not), and
- harmonic/percussive separation by median filtering across time and across frequency (drums are
  the percussive part of the background; bass is its harmonic part below 200 Hz).
`CI_JOBS_SPEECH_SEPARATOR` names a folder holding `separator.py` with `separate(samples, rate) -> dict`
(a learned model the user brings, such as Demucs); it is loaded once per worker process.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any, Protocol

import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed

Samples = np.ndarray[Any, np.dtype[np.float32]]
SEPARATOR_ENV = "CI_JOBS_SPEECH_SEPARATOR"
FFT, HOP = 2048, 512


class Separator(Protocol):
    """Anything that splits a mix into named stems."""

    def separate(self, samples: Samples, rate: int) -> dict[str, Samples]:
        """Stems (vocals, background, and in MusicMode bass, drums) shaped like `samples`."""
        ...


class Classical:
    """Centre-channel + REPET-SIM + HPSS soft masks (no model)."""

    def separate(self, samples: Samples, rate: int) -> dict[str, Samples]:
        """The four stems of (channels, n) samples."""
        specs = [_stft(ch) for ch in samples]
        mix = np.mean(np.abs(np.stack(specs)), axis=0)
        voice = _repet_mask(mix)
        if len(specs) == 2:
            voice = voice * _centre_mask(specs[0], specs[1])
        harmonic, percussive = _hpss_masks(mix)
        freqs = np.fft.rfftfreq(FFT, 1.0 / rate)[:, None]
        low = (freqs < 200).astype(np.float32)
        stems: dict[str, list[Samples]] = {"vocals": [], "background": [], "bass": [], "drums": []}
        n = samples.shape[1]
        for spec in specs:
            bg = 1.0 - voice
            stems["vocals"].append(_istft(spec * voice, n))
            stems["background"].append(_istft(spec * bg, n))
            stems["bass"].append(_istft(spec * bg * harmonic * low, n))
            stems["drums"].append(_istft(spec * bg * percussive, n))
        return {name: np.stack(chans).astype(np.float32) for name, chans in stems.items()}


def _stft(x: Samples) -> np.ndarray[Any, np.dtype[np.complex64]]:
    window = np.hanning(FFT).astype(np.float32)
    padded = np.pad(x, (FFT // 2, FFT // 2 + FFT))
    count = 1 + (len(padded) - FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, (count, FFT), (padded.strides[0] * HOP, padded.strides[0]))
    return np.fft.rfft(frames * window, axis=1).T.astype(np.complex64)


def _istft(spec: np.ndarray[Any, Any], n: int) -> Samples:
    window = np.hanning(FFT).astype(np.float32)
    frames = np.fft.irfft(spec.T, n=FFT, axis=1) * window
    length = FFT + HOP * (frames.shape[0] - 1)
    out, norm = np.zeros(length, np.float32), np.zeros(length, np.float32)
    for i, frame in enumerate(frames):
        out[i * HOP:i * HOP + FFT] += frame
        norm[i * HOP:i * HOP + FFT] += window ** 2
    out /= np.maximum(norm, 1e-8)
    return out[FFT // 2:FFT // 2 + n]


def _repet_mask(mag: np.ndarray[Any, Any], neighbours: int = 100, min_gap: int = 8) -> np.ndarray[Any, Any]:
    """REPET-SIM: soft mask of what does not repeat (the voice).

    Many neighbours (100; 10-40 measured 2-3.7 dB worse on a looped accompaniment) make the median a
    steadier model of the accompaniment; blocks of 128 frames bound the memory of that median.
    """
    frames = mag.shape[1]
    unit = mag / np.maximum(np.linalg.norm(mag, axis=0, keepdims=True), 1e-8)
    similarity = unit.T @ unit
    for offset in range(-min_gap + 1, min_gap):  # a frame is not its own repetition, nor are its neighbours
        idx = np.arange(max(0, -offset), min(frames, frames - offset))
        similarity[idx, idx + offset] = -1.0
    count = min(neighbours, max(1, frames - 2 * min_gap))
    nearest = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
    repeating = np.empty_like(mag)
    for start in range(0, frames, 128):
        block = nearest[start:start + 128]
        repeating[:, start:start + 128] = np.median(mag[:, block], axis=2)
    repeating = np.minimum(repeating, mag)
    mask: np.ndarray[Any, Any] = np.clip(1.0 - (repeating ** 2) / np.maximum(mag ** 2, 1e-12), 0.0, 1.0)
    return mask.astype(np.float32)


def _centre_mask(left: np.ndarray[Any, Any], right: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """How centred each bin is: 1 where left and right agree, 0 where one side carries it alone."""
    # Avendano's panning similarity: 1 for equal levels, falling as one side dominates; sharpened
    cross = np.abs(left) * np.abs(right)
    power = 0.5 * (np.abs(left) ** 2 + np.abs(right) ** 2)
    similarity = np.clip(cross / np.maximum(power, 1e-12), 0.0, 1.0)
    sharpened: np.ndarray[Any, Any] = similarity ** 8
    return sharpened.astype(np.float32)


def _hpss_masks(mag: np.ndarray[Any, Any], width: int = 17) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Soft harmonic and percussive masks: medians along time (harmonic) and along frequency (percussive)."""
    harmonic = _median(mag, width, axis=1)
    percussive = _median(mag, width, axis=0)
    total = np.maximum(harmonic ** 2 + percussive ** 2, 1e-12)
    return (harmonic ** 2 / total).astype(np.float32), (percussive ** 2 / total).astype(np.float32)


def _median(mag: np.ndarray[Any, Any], width: int, axis: int) -> np.ndarray[Any, Any]:
    half = width // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(mag, pad, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=axis)
    median: np.ndarray[Any, Any] = np.median(windows, axis=-1)
    return median


@functools.cache
def separator() -> Separator:
    """The user's separator when CI_JOBS_SPEECH_SEPARATOR names one, else the classical one."""
    folder = os.environ.get(SEPARATOR_ENV, "")
    if not folder:
        return Classical()
    path = os.path.join(folder, "separator.py")
    spec = importlib.util.spec_from_file_location("ci_jobs_user_separator", path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise JobFailed(Failure.INTERNAL_ERROR, f"{SEPARATOR_ENV}={folder} holds no separator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return _Plugin(module)


class _Plugin:
    def __init__(self, module: Any) -> None:
        self._module = module

    def separate(self, samples: Samples, rate: int) -> dict[str, Samples]:
        stems = self._module.separate(samples, rate)
        return {k: np.asarray(v, np.float32).reshape(samples.shape) for k, v in dict(stems).items()}
