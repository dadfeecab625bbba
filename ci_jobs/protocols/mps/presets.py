"""MPS's preset template Definitions (reference §6) as the Transcode, Animation and Snapshot parameters
ci-jobs runs: each preset is a CI-shaped parameter container, so the Tag's own rules check it.

Transcode: the H.264/AAC MP4 and HLS ladders (100010...100080, 100210...100280; the classic ids
10/20/30/40 are aliases of 100010...100040), the audio-only MP3/M4A ones (1010...1140) and TESHD
(100810...100840, run as CI's TSC mode: content-adaptive H.264). A preset fixes the output height
and scales the width to the source's aspect ratio; 25 fps; AAC 44.1 kHz stereo.
100800 (TESHD "same as source", audio copied) and the H.265 family are not presets here yet.
AnimatedGraphic 20000 (GIF) and 20001 (WebP), 10 fps at the source size, are ci-jobs's own: the
reference could not confirm MPS's values for that range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

H264 = "H.264"


@dataclass(frozen=True)
class TranscodePreset:
    """One transcode Definition: CI's Container.Format, Video (None: audio only), Audio and TransConfig."""

    container: str
    video: dict[str, str] | None
    audio: dict[str, str]
    trans: dict[str, str] = field(default_factory=dict)

    def raw(self) -> dict[str, Any]:
        """The preset as MPS's RawTranscodeParameter (what Describe answers and OverrideParameter edits):
        the height fixed and the width scaled (ResolutionAdaptive close with Width 0)."""
        out: dict[str, Any] = {"Container": self.container, "RemoveVideo": int(self.video is None), "RemoveAudio": 0,
                               "AudioTemplate": {"Codec": self.audio["Codec"], "Bitrate": int(self.audio["Bitrate"]),
                                                 "SampleRate": int(self.audio["Samplerate"]),
                                                 "AudioChannel": int(self.audio["Channels"])}}
        if self.video is not None:
            out["VideoTemplate"] = {"Codec": "h264", "Fps": int(self.video["Fps"]),
                                    "Bitrate": int(self.video.get("Bitrate", 0)), "ResolutionAdaptive": "close",
                                    "Width": 0, "Height": int(self.video["Height"])}
        if self.trans.get("TranscodeMode") == "TSC":
            out["TEHDConfig"] = {"Type": "TEHD-100", "MaxVideoBitrate": 0}
        return out

    def transcode(self) -> dict[str, Any]:
        """The Transcode container of a CI operation."""
        out: dict[str, Any] = {"Container": {"Format": self.container}, "Audio": dict(self.audio)}
        if self.video is not None:
            out["Video"] = dict(self.video)
        if self.trans:
            out["TransConfig"] = dict(self.trans)
        return out


def _video(height: int, kbps: int | None) -> dict[str, str]:
    video = {"Codec": H264, "Height": str(height), "Fps": "25"}
    if kbps is not None:
        video["Bitrate"] = str(kbps)
    return video


def _aac(kbps: int) -> dict[str, str]:
    return {"Codec": "aac", "Samplerate": "44100", "Bitrate": str(kbps), "Channels": "2"}


# grade: (MP4 id, HLS id, height, video kbps, audio kbps)
_LADDER = ((100010, 100210, 360, 400, 64), (100020, 100220, 540, 1000, 64), (100030, 100230, 720, 1800, 128),
           (100040, 100240, 1080, 2500, 128), (100070, 100270, 1440, 3000, 160),
           (100080, 100280, 2160, 6000, 160))
_AUDIO = ((1010, "mp3", "mp3", 128), (1020, "mp3", "mp3", 320), (1100, "m4a", "aac", 24), (1110, "m4a", "aac", 48),
          (1120, "m4a", "aac", 96), (1130, "m4a", "aac", 192), (1140, "m4a", "aac", 256))
_TESHD = ((100810, 360, 64), (100820, 540, 64), (100830, 720, 128), (100840, 1080, 128))

TRANSCODE: dict[int, TranscodePreset] = {}
for _mp4, _hls, _height, _vk, _ak in _LADDER:
    TRANSCODE[_mp4] = TranscodePreset("mp4", _video(_height, _vk), _aac(_ak))
    TRANSCODE[_hls] = TranscodePreset("hls", _video(_height, _vk), _aac(_ak))
for _alias in (10, 20, 30, 40):
    TRANSCODE[_alias] = TRANSCODE[100000 + _alias]
for _id, _fmt, _codec, _ak in _AUDIO:
    TRANSCODE[_id] = TranscodePreset(_fmt, None, {"Codec": _codec, "Samplerate": "44100", "Bitrate": str(_ak),
                                                   "Channels": "2"})
for _id, _height, _ak in _TESHD:
    TRANSCODE[_id] = TranscodePreset("mp4", _video(_height, None), _aac(_ak), {"TranscodeMode": "TSC"})

# The extension of each CI container, for {format}.
EXTENSIONS = {"mp4": "mp4", "hls": "m3u8", "mp3": "mp3", "m4a": "m4a", "flv": "flv", "ts": "ts", "webm": "webm",
              "mkv": "mkv", "mov": "mov", "flac": "flac", "wav": "wav"}


@dataclass(frozen=True)
class AnimatedPreset:
    """One AnimatedGraphic Definition: GIF or WebP at a frame rate, source size."""

    format: str
    fps: int

    def animation(self) -> dict[str, Any]:
        """The Animation container of a CI operation (TimeInterval added by the caller)."""
        return {"Container": {"Format": self.format}, "Video": {"Codec": self.format, "Fps": str(self.fps)}}


ANIMATED: dict[int, AnimatedPreset] = {20000: AnimatedPreset("gif", 10), 20001: AnimatedPreset("webp", 10)}

# SnapshotByTimeOffset 10: JPG at the source size. SampleSnapshot 10: JPG, one every 10 % of the duration.
SNAPSHOT_FORMATS = {10: "jpg"}
SAMPLE_PERCENT = {10: 10}


@dataclass(frozen=True)
class SpritePreset:
    """One ImageSprite Definition: JPG tiles of width x height, `columns` x `lines` a sheet, one every `interval` s."""

    width: int
    height: int
    columns: int
    lines: int
    interval: float


# ImageSprite 10 (reference §6.4): JPG, tile 142x80, 10 rows x 10 columns, a tile every 10 s.
IMAGE_SPRITE = {10: SpritePreset(142, 80, 10, 10, 10.0)}


@dataclass(frozen=True)
class AdaptivePreset:
    """One AdaptiveDynamicStreaming Definition: HLS or DASH, and its rungs as transcode Definitions."""

    format: str  # hls or dash
    rungs: tuple[int, ...]


# 10 is MPS's "Adpative-HLS" (its rungs are not documented: ci-jobs uses the 360p/540p/720p presets);
# 20 is ci-jobs's own DASH ladder of the same rungs (MPS has no DASH preset).
ADAPTIVE = {10: AdaptivePreset("hls", (100210, 100220, 100230)), 20: AdaptivePreset("dash", (100210, 100220, 100230))}
PACKAGES = {"hls": "HLS", "dash": "MPEG-DASH"}

# AiQualityControlTask: 30, the Definition of the reference's quality-inspection example (seed 001), runs
# QualityEstimate vqaPlus: the no-reference score (100 - BRISQUE) and the content defects it detects.
QUALITY_CONTROL = {30: "content inspection and no-reference score"}
