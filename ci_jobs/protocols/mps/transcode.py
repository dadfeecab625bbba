"""A TranscodeTaskInput's RawParameter (MPS's custom transcode) as the Transcode Tag's parameter container.

What maps: Container (mp4 flv hls ts webm mkv mov mp3 flac m4a wav), RemoveVideo/RemoveAudio, Video
Codec (h264 h265 av1 vp8 vp9), Fps, Bitrate (kbps), Width/Height with ResolutionAdaptive close,
Gop in frames, FillType stretch/black, Vcrf with Mode VBR/VCRF, VideoProfile; Audio Codec (aac mp3
flac pcm16), Bitrate, SampleRate, AudioChannel. ResolutionAdaptive open (MPS's default: Width is the
long edge) needs the Transcode Tag's LongShortMode, which it refuses today, so a size needs `close`.
TEHDConfig Type TEHD-100 (TESHD) is the Transcode Tag's TSC mode, MaxVideoBitrate its Video.Maxrate.
Anything else that is set is refused by name.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidParameterValue, MissingParameter

CONTAINERS = ("mp4", "flv", "hls", "ts", "webm", "mkv", "mov", "mp3", "flac", "m4a", "wav")
AUDIO_ONLY = ("mp3", "flac", "m4a", "wav")
VIDEO_CODECS = {"h264": "H.264", "h265": "H.265", "av1": "AV1", "vp8": "VP8", "vp9": "VP9"}
AUDIO_CODECS = {"aac": "aac", "mp3": "mp3", "flac": "flac", "pcm16": "pcm_s16le"}
FILL_TYPES = {"stretch": "scale", "black": "pad"}
MIN_TEHD_KBPS, MAX_TEHD_KBPS = 10, 50000  # the Transcode Tag's Video.Maxrate range
MIN_VBV_KBIT = 1000  # its least Video.Bufsize


def raw_transcode(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """The Transcode container (Container, Video, Audio, TransConfig) for a RawTranscodeParameter."""
    fmt = raw.get("Container", "")
    if not fmt:
        raise MissingParameter(f"{where}.Container is required.")
    if fmt not in CONTAINERS:
        raise InvalidParameterValue(f"{where}.Container {fmt} is not supported; use one of {', '.join(CONTAINERS)}.",
                                    sub="Container")
    out: dict[str, Any] = {"Container": {"Format": fmt}}
    remove_video = _flag(raw, "RemoveVideo", where) or fmt in AUDIO_ONLY
    remove_audio = _flag(raw, "RemoveAudio", where)
    if remove_video and remove_audio:
        raise InvalidParameterValue(f"{where}: RemoveVideo and RemoveAudio cannot both drop their stream.")
    trans: dict[str, str] = {}
    if fmt in AUDIO_ONLY and raw.get("VideoTemplate"):
        raise InvalidParameterValue(f"{where}.VideoTemplate cannot apply to the audio-only container {fmt}.")
    if remove_video and fmt not in AUDIO_ONLY:
        out["Video"] = {"Remove": "true"}
    elif not remove_video:
        if "VideoTemplate" not in raw:
            raise MissingParameter(f"{where}.VideoTemplate is required when RemoveVideo is 0.")
        out["Video"] = _video(raw["VideoTemplate"], f"{where}.VideoTemplate", trans)
    if remove_audio:
        out["Audio"] = {"Remove": "true"}
    else:
        if "AudioTemplate" not in raw:
            raise MissingParameter(f"{where}.AudioTemplate is required when RemoveAudio is 0.")
        out["Audio"] = _audio(raw["AudioTemplate"], f"{where}.AudioTemplate")
    _tehd(raw, out, trans, where)
    if trans:
        out["TransConfig"] = trans
    return out


def _tehd(raw: dict[str, Any], out: dict[str, Any], trans: dict[str, str], where: str) -> None:
    """TEHDConfig: Type TEHD-100 runs the Transcode Tag's TSC mode (the content-adaptive H.264 encoder of CI's
    HighSpeedHd templates); MaxVideoBitrate (kbps, 0: none) caps it as the Video's Maxrate with a one-second
    VBV buffer (at least the Tag's 1000 kbit). Type empty is a Common transcode."""
    config = raw.get("TEHDConfig") or {}
    kind, cap = str(config.get("Type", "")), int(config.get("MaxVideoBitrate", 0))
    where = f"{where}.TEHDConfig"
    if not kind:
        if cap:
            raise InvalidParameterValue(f"{where}.MaxVideoBitrate applies to a TESHD transcode: give Type TEHD-100.",
                                        sub="TEHDType")
        return
    if kind != "TEHD-100":
        raise InvalidParameterValue(f"{where}.Type {kind} is not supported: ci-jobs runs TEHD-100 (video TESHD); "
                                    "TEHD-200 (audio) has no encoder here.", sub="TEHDType")
    video = out.get("Video") or {}
    if video.get("Remove") or video.get("Codec") != "H.264":
        raise InvalidParameterValue(f"{where}.Type TEHD-100 needs a video stream with VideoTemplate.Codec h264.",
                                    sub="TEHDType")
    if "Bitrate" in video:
        raise InvalidParameterValue(f"{where}: VideoTemplate.Bitrate is not taken with TEHD-100 (TESHD picks each "
                                    "scene's bitrate for the quality of a plain encode); cap it with "
                                    "TEHDConfig.MaxVideoBitrate.", sub="VideoBitrate")
    if cap < 0 or cap > MAX_TEHD_KBPS or 0 < cap < MIN_TEHD_KBPS:
        raise InvalidParameterValue(f"{where}.MaxVideoBitrate {cap} must be 0 (no cap) or within "
                                    f"[{MIN_TEHD_KBPS}, {MAX_TEHD_KBPS}] kbps.", sub="VideoBitrate")
    trans["TranscodeMode"] = "TSC"
    if cap:
        video["Maxrate"], video["Bufsize"] = str(cap), str(max(cap, MIN_VBV_KBIT))


def _flag(raw: dict[str, Any], name: str, where: str) -> bool:
    value = raw.get(name, 0)
    if value not in (0, 1):
        raise InvalidParameterValue(f"{where}.{name} must be 0 or 1.", sub=name)
    return bool(value)


def _video(video: dict[str, Any], where: str, trans: dict[str, str]) -> dict[str, str]:
    codec = video.get("Codec", "")
    if codec not in VIDEO_CODECS:
        raise InvalidParameterValue(f"{where}.Codec {codec or '(empty)'} is not supported; use one of "
                                    f"{', '.join(VIDEO_CODECS)}.", sub="VideoCodec")
    out = {"Codec": VIDEO_CODECS[codec]}
    _positive(video, "Fps", where, out, "Fps")
    _positive(video, "Bitrate", where, out, "Bitrate")
    _size(video, where, out, trans)
    if video.get("Gop"):
        if video.get("GopUnit", "frame") != "frame":
            raise InvalidParameterValue(f"{where}.GopUnit {video['GopUnit']} is not supported yet: give Gop in "
                                        "frames.", sub="Gop")
        _positive(video, "Gop", where, out, "Gop")
    mode = video.get("Mode", "VBR")
    if mode not in ("VBR", "VCRF"):
        raise InvalidParameterValue(f"{where}.Mode {mode} is not supported yet; use VBR or VCRF.")
    if video.get("Vcrf"):
        _positive(video, "Vcrf", where, out, "Crf")
    elif mode == "VCRF":
        raise MissingParameter(f"{where}.Vcrf is required when Mode is VCRF.")
    profile = video.get("VideoProfile", "default")
    if profile != "default":
        if codec != "h264" or profile not in ("baseline", "main", "high"):
            raise InvalidParameterValue(f"{where}.VideoProfile {profile} is not supported for {codec}.")
        out["Profile"] = profile
    return out


def _size(video: dict[str, Any], where: str, out: dict[str, str], trans: dict[str, str]) -> None:
    width, height = int(video.get("Width", 0)), int(video.get("Height", 0))
    if not (width or height):
        return
    if video.get("ResolutionAdaptive", "open") != "close":
        raise InvalidParameterValue(f"{where}.ResolutionAdaptive open (the default) is not supported yet with a "
                                    "Width or Height: set ResolutionAdaptive close (Width and Height as given).",
                                    sub="ResolutionAdaptive")
    for name, value in (("Width", width), ("Height", height)):
        if value and not 128 <= value <= 4096:
            raise InvalidParameterValue(f"{where}.{name} {value} must be 0 or within [128, 4096].", sub=name)
        if value:
            out[name] = str(value)
    fill = video.get("FillType", "black")
    if width and height:
        if fill not in FILL_TYPES:
            raise InvalidParameterValue(f"{where}.FillType {fill} is not supported yet; use stretch or black.",
                                        sub="FillType")
        trans["AdjDarMethod"] = FILL_TYPES[fill]


def _audio(audio: dict[str, Any], where: str) -> dict[str, str]:
    codec = audio.get("Codec", "")
    if codec not in AUDIO_CODECS:
        raise InvalidParameterValue(f"{where}.Codec {codec or '(empty)'} is not supported; use one of "
                                    f"{', '.join(AUDIO_CODECS)}.", sub="AudioCodec")
    out = {"Codec": AUDIO_CODECS[codec]}
    _positive(audio, "Bitrate", where, out, "Bitrate")
    _positive(audio, "SampleRate", where, out, "Samplerate")
    channels = int(audio.get("AudioChannel", 2))
    if channels not in (0, 1, 2, 6):
        raise InvalidParameterValue(f"{where}.AudioChannel {channels} must be 0, 1, 2 or 6.", sub="SoundSystem")
    if channels:
        out["Channels"] = str(channels)
    return out


def _positive(params: dict[str, Any], name: str, where: str, out: dict[str, str], ci_name: str) -> None:
    """Copy a number that means "as the source" when 0; refuse a negative one."""
    value = int(params.get(name, 0))
    if value < 0:
        raise InvalidParameterValue(f"{where}.{name} {value} must not be negative.")
    if value:
        out[ci_name] = str(value)


def override(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """OverrideParameter over a template's RawTranscodeParameter: a field given replaces the template's,
    VideoTemplate, AudioTemplate and TEHDConfig field by field; an audio-only Container drops the template's video."""
    out = dict(raw)
    if changes.get("Container") in AUDIO_ONLY and "VideoTemplate" not in changes:
        out.pop("VideoTemplate", None)
    for name, value in changes.items():
        if name in ("VideoTemplate", "AudioTemplate", "TEHDConfig") and isinstance(out.get(name), dict):
            out[name] = {**out[name], **value}
        else:
            out[name] = value
    return out
