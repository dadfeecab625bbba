"""Transcode.AudioMix / AudioMixArray: background tracks mixed into the output audio with numpy.

Each AudioSource is decoded once (up to the output length) into float samples at the output
rate and layout. Output sample n then receives, from every track, its sample n (MixMode Once:
silence after the track ends; Repeat, the default: the track looped) times the track's gain:
EffectConfig's start fade-in over the first StartFadeinTime seconds, end fade-out over the last
EndFadeoutTime seconds of the output, and with EnableBgmFade a fade-out/fade-in of BgmFadeTime
seconds at every loop seam. Replace=true on any track drops the input's own audio. The sum is
clipped to [-1, 1], as a plain `amix` with normalisation off would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from av.container import InputContainer

from ..domain.failures import Failure
from ..errors import JobFailed
from ..tags.transcode import AudioMix
from .common import Resampler, decodable, decoded, open_input

WHERE = "Request.Operation.Transcode.AudioMix"
Samples = np.ndarray[Any, np.dtype[np.float32]]  # (channels, count)


@dataclass(frozen=True)
class Track:
    """One decoded background track and how it is laid under the output."""

    samples: Samples
    repeat: bool
    fade_in: float   # seconds, 0 = none
    fade_out: float
    seam: float      # fade at each loop seam


class Mixer:
    """Mixes the background tracks into blocks of output audio."""

    def __init__(self, tracks: list[Track], replace: bool, rate: int, total: float | None) -> None:
        self.tracks, self.replace, self.rate = tracks, replace, rate
        self.total = int(total * rate) if total else None

    def mix(self, main: Samples, offset: int) -> Samples:
        """Output samples [offset, offset + n) from the input's own block `main` (channels, n)."""
        out = np.zeros_like(main) if self.replace else main.astype(np.float32, copy=True)
        index = np.arange(offset, offset + main.shape[1])
        for track in self.tracks:
            out += self._layer(track, index)
        np.clip(out, -1.0, 1.0, out=out)
        return out

    def _layer(self, track: Track, index: np.ndarray[Any, np.dtype[np.int64]]) -> Samples:
        length = track.samples.shape[1]
        local = index % length if track.repeat else index
        inside = local < length
        picked = track.samples[:, np.minimum(local, length - 1)] * inside
        gain = np.ones(index.shape, np.float32)
        if track.fade_in:
            gain *= np.clip(index / (track.fade_in * self.rate), 0, 1)
        if track.fade_out and self.total:
            gain *= np.clip((self.total - index) / (track.fade_out * self.rate), 0, 1)
        if track.seam and track.repeat:
            width = track.seam * self.rate
            loops = index // length
            gain *= np.where(loops > 0, np.clip(local / width, 0, 1), 1)
            more = self.total is None or (loops + 1) * length < self.total
            gain *= np.where(more, np.clip((length - local) / width, 0, 1), 1)
        mixed: Samples = (picked * gain).astype(np.float32)
        return mixed


def mixer(mixes: Sequence[AudioMix], objects: Mapping[str, str], rate: int, layout: str,
          total: float | None, where: str = WHERE) -> Mixer | None:
    """The Mixer of a job's AudioMix elements (None when there is none); messages name them at `where`."""
    if not mixes:
        return None
    tracks = [_track(m, objects, rate, layout, total, f"{where}[{i}]") for i, m in enumerate(mixes, 1)]
    return Mixer(tracks, any(m.replace for m in mixes), rate, total)


def _track(mix: AudioMix, objects: Mapping[str, str], rate: int, layout: str,
           total: float | None, name: str) -> Track:
    path = objects.get(mix.key)
    if path is None:
        raise JobFailed(Failure.INPUT_NOT_FOUND, f"{name}.AudioSource {mix.url} was not fetched")
    samples = _decode(path, rate, layout, None if total is None else total + 1.0, mix.url, name)
    return Track(samples, mix.repeat, mix.fade_in, mix.fade_out, mix.seam)


def _decode(path: str, rate: int, layout: str, limit: float | None, url: str, name: str) -> Samples:
    """Decode the first audio stream to planar float at `rate`/`layout`, at most `limit` seconds."""
    source = f"{name}.AudioSource {url}"
    try:
        with open_input(path) as container:  # the input's own checks and pixel budget apply
            if not container.streams.audio:
                raise JobFailed(Failure.INVALID_INPUT, "the file has no audio stream")
            blocks = _samples(container, decodable(container.streams.audio[0]), rate, layout, limit)
    except JobFailed as exc:
        raise JobFailed(exc.code, f"{source}: {exc.message}") from exc
    except av.FFmpegError as exc:
        raise JobFailed(Failure.INVALID_INPUT, f"{source} cannot be decoded: {exc.strerror or exc}") from exc
    if not blocks or not sum(b.shape[1] for b in blocks):
        raise JobFailed(Failure.INVALID_INPUT, f"{source} holds no audio")
    return np.concatenate(blocks, axis=1)


def _samples(container: InputContainer, stream: av.AudioStream, rate: int, layout: str,
             limit: float | None) -> list[Samples]:
    blocks: list[Samples] = []
    got, cap = 0, int(limit * rate) if limit else None
    resampler = Resampler("fltp", layout, rate)
    for frame in decoded(container, stream):  # a damaged packet costs its frame, not the job
        assert isinstance(frame, av.AudioFrame)
        frame.pts = None
        for out in resampler.resample(frame):
            blocks.append(out.to_ndarray().astype(np.float32))
            got += out.samples
        if cap is not None and got >= cap:
            break
    for out in resampler.resample(None):
        blocks.append(out.to_ndarray().astype(np.float32))
    return blocks
