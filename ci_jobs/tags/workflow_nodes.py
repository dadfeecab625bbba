"""Which workflow node types may follow which: CI's table of a Topology's edges (node types are Tags,
plus CI's non-job nodes such as SCF and PicProcess). The domain checks a topology against it.
"""

from __future__ import annotations

from ..domain.workflows import START

# parent type -> the types that may follow it (CI's table, doc 436/78928). MediaInfo is this server's
# addition: a probe that may follow any node that makes media and is followed by End only.
EDGES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    START: "Snapshot Animation SmartCover Transcode Concat VoiceSeparate VideoMontage StreamPackConfig SDRtoHDR "
           "VideoProcess SCF SuperResolution Segment PicProcess Tts SpeechRecognition AIRecognition MediaInfo "
           "StreamExtract ImageInspect",
    "Snapshot": "PicProcess SCF End MediaInfo",
    "Animation": "SCF End MediaInfo",
    "SmartCover": "PicProcess SCF End",
    "Transcode": "Snapshot Animation SmartCover Concat VideoMontage SDRtoHDR VideoProcess SCF Segment "
                 "SpeechRecognition End MediaInfo StreamExtract",
    "Concat": "Transcode Snapshot Animation SmartCover SDRtoHDR VideoProcess SCF Segment End MediaInfo",
    "VoiceSeparate": "SCF SpeechRecognition End",
    "VideoMontage": "Snapshot Animation SDRtoHDR VideoProcess SCF SuperResolution Segment End",
    "StreamPackConfig": "VideoStream",
    "VideoStream": "StreamPack",
    "StreamPack": "End",
    "SDRtoHDR": "Transcode Concat VideoMontage VoiceSeparate SmartCover Animation VideoProcess SCF SuperResolution "
                "End",
    "VideoProcess": "Transcode Concat VideoMontage VoiceSeparate SmartCover Animation SDRtoHDR SCF Segment "
                    "SuperResolution End",
    "SCF": "SDRtoHDR Snapshot Transcode HighSpeedHd Concat VideoMontage VoiceSeparate SmartCover Animation "
           "VideoProcess End",
    "SuperResolution": "VideoMontage Transcode SmartCover Animation Snapshot SCF Segment SDRtoHDR VideoProcess End",
    "Segment": "End",
    "PicProcess": "SCF End",
    "Tts": "SCF Transcode End",
    "SpeechRecognition": "SCF Tts End",
    "AIRecognition": "End",
    "MediaInfo": "End",
    "StreamExtract": "End",
    "ImageInspect": "End",
}.items()}
