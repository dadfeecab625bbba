"""The MPS template request models (Create/Modify/Describe/Delete of seven template kinds), field by field.

As in schema.py the names are the SDK's (a test holds each model to `tencentcloud.mps.v20190612.models`);
fields ci-jobs does not honour are `NotYet` and refused by name when set.
"""

from __future__ import annotations

from .schema import (
    AUDIO_TEMPLATE,
    AUDIO_UPDATE,
    FLOAT,
    INT,
    MEDIA_INPUT,
    NO,
    STR,
    TEHD_CONFIG,
    TEHD_UPDATE,
    VIDEO_TEMPLATE,
    VIDEO_UPDATE,
    Kind,
    ListOf,
    NotYet,
    model,
)

_ENHANCE = NotYet("is not supported yet: use CI's VideoEnhance templates")
_SVG = NotYet("is not supported: ci-jobs draws image and text watermarks")

IMAGE_WATERMARK = model("ImageWatermarkInput", ImageContent=MEDIA_INPUT, Width=STR, Height=STR, RepeatType=NO)
IMAGE_WATERMARK_UPDATE = model("ImageWatermarkInputForUpdate", ImageContent=MEDIA_INPUT, Width=STR, Height=STR,
                               RepeatType=NO)
TEXT_WATERMARK = model("TextWatermarkTemplateInput", FontType=STR, FontSize=STR, FontColor=STR, FontAlpha=FLOAT,
                       TextContent=STR)
TEXT_WATERMARK_UPDATE = model("TextWatermarkTemplateInputForUpdate", FontType=STR, FontSize=STR, FontColor=STR,
                              FontAlpha=FLOAT, TextContent=STR)
STREAM = model("AdaptiveStreamTemplate", Video=VIDEO_TEMPLATE, Audio=AUDIO_TEMPLATE, RemoveAudio=INT,
               RemoveVideo=INT, AudioList=NotYet("is not supported yet: each rung has one audio track"))

_COMMON: dict[str, Kind] = {"Name": STR, "Comment": STR}
_SIZE: dict[str, Kind] = {"Width": INT, "Height": INT, "ResolutionAdaptive": STR, "Format": STR, "FillType": STR}
_SAMPLE: dict[str, Kind] = {"SampleType": STR, "SampleInterval": INT}

# Each kind's fields as its Create request has them; Modify adds Definition (and may differ: see below).
TRANSCODE: dict[str, Kind] = {**_COMMON, "Container": STR, "RemoveVideo": INT, "RemoveAudio": INT,
                              "VideoTemplate": VIDEO_TEMPLATE, "AudioTemplate": AUDIO_TEMPLATE,
                              "TEHDConfig": TEHD_CONFIG,
                              "EnhanceConfig": _ENHANCE, "StdExtInfo": NO}
ANIMATED: dict[str, Kind] = {**_COMMON, "Fps": INT, "Width": INT, "Height": INT, "ResolutionAdaptive": STR,
                             "Format": STR, "Quality": FLOAT}
SNAPSHOT: dict[str, Kind] = {**_COMMON, **_SIZE}
SAMPLE: dict[str, Kind] = {**_COMMON, **_SIZE, **_SAMPLE}
SPRITE: dict[str, Kind] = {**_COMMON, **_SIZE, **_SAMPLE, "RowCount": INT, "ColumnCount": INT}
ADAPTIVE: dict[str, Kind] = {**_COMMON, "Format": STR, "StreamInfos": ListOf(STREAM), "DisableHigherVideoBitrate": INT,
            "DisableHigherVideoResolution": INT, "PureAudio": INT, "SegmentType": STR}
WATERMARK: dict[str, Kind] = {**_COMMON, "Type": STR, "CoordinateOrigin": STR, "XPos": STR, "YPos": STR,
             "ImageTemplate": IMAGE_WATERMARK, "TextTemplate": TEXT_WATERMARK, "SvgTemplate": _SVG}

_DESCRIBE: dict[str, Kind] = {"Definitions": ListOf(INT), "Offset": INT, "Limit": INT, "Type": STR, "Name": STR}
_ENHANCE_FILTER = NotYet("is not supported: ci-jobs has no enhancement transcode templates")


CREATE = {
    "Transcode": model("CreateTranscodeTemplateRequest", **TRANSCODE),
    "AnimatedGraphics": model("CreateAnimatedGraphicsTemplateRequest", **ANIMATED),
    "SnapshotByTimeOffset": model("CreateSnapshotByTimeOffsetTemplateRequest", **SNAPSHOT),
    "SampleSnapshot": model("CreateSampleSnapshotTemplateRequest", **SAMPLE),
    "ImageSprite": model("CreateImageSpriteTemplateRequest", **SPRITE),
    "AdaptiveDynamicStreaming": model("CreateAdaptiveDynamicStreamingTemplateRequest", **ADAPTIVE),
    "Watermark": model("CreateWatermarkTemplateRequest", **WATERMARK),
}
_TRANSCODE_UPDATE: dict[str, Kind] = {**{k: v for k, v in TRANSCODE.items() if k != "StdExtInfo"},
                                      "VideoTemplate": VIDEO_UPDATE, "AudioTemplate": AUDIO_UPDATE,
                                      "TEHDConfig": TEHD_UPDATE}
_WATERMARK_UPDATE: dict[str, Kind] = {**{k: v for k, v in WATERMARK.items() if k != "Type"},
                                      "ImageTemplate": IMAGE_WATERMARK_UPDATE, "TextTemplate": TEXT_WATERMARK_UPDATE}
MODIFY = {
    "Transcode": model("ModifyTranscodeTemplateRequest", Definition=INT, **_TRANSCODE_UPDATE),
    "AnimatedGraphics": model("ModifyAnimatedGraphicsTemplateRequest", Definition=INT, **ANIMATED),
    "SnapshotByTimeOffset": model("ModifySnapshotByTimeOffsetTemplateRequest", Definition=INT, **SNAPSHOT),
    "SampleSnapshot": model("ModifySampleSnapshotTemplateRequest", Definition=INT, **SAMPLE),
    "ImageSprite": model("ModifyImageSpriteTemplateRequest", Definition=INT, **SPRITE),
    "AdaptiveDynamicStreaming": model("ModifyAdaptiveDynamicStreamingTemplateRequest", Definition=INT, **ADAPTIVE),
    "Watermark": model("ModifyWatermarkTemplateRequest", Definition=INT, **_WATERMARK_UPDATE),
}
DESCRIBE = {
    "Transcode": model("DescribeTranscodeTemplatesRequest", **_DESCRIBE, ContainerType=STR, TEHDType=STR,
                       TranscodeType=STR, SceneType=_ENHANCE_FILTER, CompressType=_ENHANCE_FILTER,
                       EnhanceSceneType=_ENHANCE_FILTER, EnhanceTranscodeType=_ENHANCE_FILTER,
                       EnhanceType=_ENHANCE_FILTER),
    "AnimatedGraphics": model("DescribeAnimatedGraphicsTemplatesRequest", **_DESCRIBE),
    "SnapshotByTimeOffset": model("DescribeSnapshotByTimeOffsetTemplatesRequest", **_DESCRIBE),
    "SampleSnapshot": model("DescribeSampleSnapshotTemplatesRequest", **_DESCRIBE),
    "ImageSprite": model("DescribeImageSpriteTemplatesRequest", **_DESCRIBE),
    "AdaptiveDynamicStreaming": model("DescribeAdaptiveDynamicStreamingTemplatesRequest", **_DESCRIBE,
                                      PureAudio=INT),
    "Watermark": model("DescribeWatermarkTemplatesRequest", **_DESCRIBE),
}
DELETE = {kind: model(f"Delete{kind}TemplateRequest", Definition=INT) for kind in CREATE}

MODELS = (IMAGE_WATERMARK, IMAGE_WATERMARK_UPDATE, TEXT_WATERMARK, TEXT_WATERMARK_UPDATE, STREAM,
          *CREATE.values(), *MODIFY.values(), *DESCRIBE.values(), *DELETE.values())
