"""Transcode's typed operation: parsed once from the checked wire Operation, defaults resolved, picklable."""

from __future__ import annotations

import pickle

from ci_jobs import tags
from ci_jobs.tags.streams import Crop, HlsEncrypt, Pad, SourceCap
from ci_jobs.tags.transcode import TranscodeOp


def test_defaults_are_resolved_at_parse() -> None:
    op = tags.parse("Transcode", {"Transcode": {"Container": {"Format": "mkv"}, "Audio": {"Codec": "opus"}},
                                  "Output": {"Bucket": "b-1250000000", "Object": "out.${ext}"}})
    assert isinstance(op, TranscodeOp)
    assert op.video is not None and op.video.codec == "h264" and op.video.pix_fmt == "yuv420p"
    assert op.video.profile == "high" and op.video.crop is None and op.video.rotate == 0.0
    assert op.audio is not None and op.audio.codec == "opus" and op.audio.samplerate == 48000
    assert op.trans.adj_dar_method == "scale" and not op.trans.tsc and op.trans.hls_encrypt is None
    assert op.segment_seconds == 5.0 and op.interval.start == 0.0 and op.interval.duration is None
    assert op.output.object == "out.${ext}" and not op.marks


def test_every_parameter_reaches_the_typed_op_and_survives_pickling() -> None:
    wire = {"Transcode": {
        "Container": {"Format": "hls", "ClipConfig": {"Duration": "2"}},
        "Video": {"Codec": "H.264", "Crop": "64:48:8:8", "Pad": "128:96:0:0:red", "Rotate": "90", "Gop": "12",
                  "Pixfmt": "auto", "Profile": "Main", "Bitrate": "auto"},
        "Audio": {"Codec": "aac", "Channels": "1", "Samplerate": "22050"},
        "TimeInterval": {"Start": "1", "Duration": "0"},
        "TransConfig": {"IsCheckReso": "true", "ResoAdjMethod": "1", "TranscodeMode": "tsc",
                        "TranscodeIndex": "2", "HlsEncrypt": {"IsHlsEncrypt": "true", "UriKey": "https://k"}},
        "AudioMix": {"AudioSource": "https://b-1250000000.cos.ap-x.myqcloud.com/bgm.mp3", "MixMode": "Once",
                     "EffectConfig": {"EnableStartFadein": "true", "StartFadeinTime": "2"}}},
        "Subtitles": {"Subtitle": [{"Url": "subs/a.srt", "FontColor": "#FF0000"}, {"Url": "subs/b.srt"}]},
        "Watermark": {"Type": "Text", "Text": {"Text": "hi"}},
        "Output": {"Bucket": "b-1250000000", "Object": "out.${ext}"}}
    op = tags.parse("Transcode", wire)
    assert pickle.loads(pickle.dumps(op)) == op
    assert op.container.muxer == "hls" and op.segment_seconds == 2.0
    assert op.video is not None and op.video.crop == Crop(64, 48, 8, 8) and op.video.pad == Pad(128, 96, 0, 0,
                                                                                                (255, 0, 0))
    assert op.video.rotate == 90.0 and op.video.gop == 12 and op.video.bitrate is None
    assert op.video.profile == "main" and op.video.pix_fmt == "yuv420p"
    assert op.audio is not None and op.audio.channels == 1 and op.audio.samplerate == 22050
    assert op.interval.start == 1.0 and op.interval.duration is None
    assert op.trans.reso == SourceCap(True, True) and op.trans.tsc and op.trans.transcode_index == 2
    assert op.trans.hls_encrypt == HlsEncrypt("https://k")
    (mix,) = op.audio_mix
    assert mix.key == "bgm.mp3" and not mix.repeat and mix.fade_in == 2.0 and mix.fade_out == 0.0
    assert [s.key for s in op.subtitles] == ["subs/a.srt", "subs/b.srt"] and op.subtitles[0].color == (255, 0, 0)
    assert len(op.marks.watermarks) == 1


def test_removed_streams_are_absent() -> None:
    op = tags.parse("Transcode", {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Remove": "true"}},
                                  "Output": {"Bucket": "b-1250000000", "Object": "o"}})
    assert op.video is None and op.audio is not None
    audio_only = tags.parse("Transcode", {"Transcode": {"Container": {"Format": "mp3"}},
                                          "Output": {"Bucket": "b-1250000000", "Object": "o"}})
    assert audio_only.video is None and audio_only.audio is not None and audio_only.audio.codec == "mp3"
