"""CI's Official (system preset) templates, with the ids the public documentation lists.

Transcode presets keep their documented ids, names and parameters (width fixed, height following
the aspect). Snapshot and Animation preset ids are not published: ci-jobs defines its own `t0…` ids
for them (listed in the README). Official templates can be used and listed, never changed.
"""

from __future__ import annotations

from typing import Any

from .store import TemplateRecord

CREATED = 1_640_995_200.0  # 2022-01-01T08:00:00+0800: presets predate every custom template


def _transcode(fmt: str, width: int, vkbps: int, akbps: int) -> dict[str, Any]:
    return {"Container": {"Format": fmt},
            "Video": {"Codec": "H.264", "Profile": "high", "Width": str(width), "Bitrate": str(vkbps),
                      "Preset": "medium"},
            "Audio": {"Codec": "aac", "Samplerate": "44100", "Bitrate": str(akbps), "Channels": "2"}}


_TRANSCODE = [
    ("t0e2b9f4cd25184c6ab73d0c85a6ee9cb5", "H264-MP4-流畅", "mp4", 640, 500, 80),
    ("t0876739cd865042d1957d73c78f0484fb", "H264-MP4-标清", "mp4", 720, 800, 80),
    ("t0852e7ff4acd4484e99ba104f3840d3cb", "H264-MP4-高清", "mp4", 1280, 2000, 128),
    ("t04df9eb0c373c4a8780ec894ce05469a7", "H264-MP4-全高清", "mp4", 1920, 3500, 160),
    ("t09d027135634d47048e5a30dc1e19ee90", "H264-MP4-2K", "mp4", 2048, 4800, 160),
    ("t08788470df1df4e8a898d0fc1efd9c21e", "H264-MP4-4K", "mp4", 3840, 5600, 160),
    ("t0e634622e8dfb49339ba478d60ddc7188", "H264-HLS-流畅", "hls", 640, 500, 80),
    ("t0fa5bdbf58bb348e88bf73fae5d674fdf", "H264-HLS-标清", "hls", 720, 800, 80),
    ("t09d0f419921e44ed98190f355ec9fd629", "H264-HLS-高清", "hls", 1280, 2000, 128),
    ("t080ae8a06f9074f3daa46201078f8d4b1", "H264-HLS-全高清", "hls", 1920, 3500, 160),
    ("t0ab68939cef0f40d19c4a135df540239f", "H264-HLS-2K", "hls", 2048, 4800, 160),
    ("t097d981567414454e99ae7eb7a9caf659", "H264-HLS-4K", "hls", 3840, 5600, 160),
    ("t0e165bef65ed24d568eeecc8661248af6", "H264-FLV-流畅", "flv", 640, 500, 80),
    ("t057d0410c32444e48b9220f9571e6097a", "H264-FLV-标清", "flv", 720, 800, 80),
    ("t0c1a5e0e1b3c54d7c9a2b7e6f3d8e9a41", "H264-FLV-高清", "flv", 1280, 2000, 128),
]

_SNAPSHOT = [
    ("t0b1c0a9f1e2d34c5b8a7d6e5f4c3b2a10", "Snapshot-Interval-1s", {"Mode": "Interval", "Start": "0",
                                                                    "TimeInterval": "1", "Count": "10"}),
    ("t0b1c0a9f1e2d34c5b8a7d6e5f4c3b2a11", "Snapshot-Average-10", {"Mode": "Average", "Start": "0",
                                                                   "Count": "10"}),
    ("t0b1c0a9f1e2d34c5b8a7d6e5f4c3b2a12", "Snapshot-KeyFrame-10", {"Mode": "KeyFrame", "Start": "0",
                                                                    "Count": "10"}),
]

_ANIMATION = [
    ("t0d2e1f0a9b8c74d6e5f4a3b2c1d0e9f20", "GIF-480-10fps", "gif", "gif", 480, 10),
    ("t0d2e1f0a9b8c74d6e5f4a3b2c1d0e9f21", "GIF-320-8fps", "gif", "gif", 320, 8),
    ("t0d2e1f0a9b8c74d6e5f4a3b2c1d0e9f22", "WEBP-480-15fps", "webp", "webp", 480, 15),
]


def _all() -> list[TemplateRecord]:
    out = [TemplateRecord(tid, "", name, "Transcode", _transcode(fmt, w, v, a), CREATED, CREATED)
           for tid, name, fmt, w, v, a in _TRANSCODE]
    out += [TemplateRecord(tid, "", name, "Snapshot", {"Snapshot": params}, CREATED, CREATED)
            for tid, name, params in _SNAPSHOT]
    out += [TemplateRecord(tid, "", name, "Animation",
                           {"Container": {"Format": fmt},
                            "Video": {"Codec": codec, "Width": str(w), "Fps": str(fps)}}, CREATED, CREATED)
            for tid, name, fmt, codec, w, fps in _ANIMATION]
    return out


OFFICIAL: dict[str, TemplateRecord] = {t.template_id: t for t in _all()}
