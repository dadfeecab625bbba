"""The MPS request models ci-jobs reads: every field of each model by name and type, checked at the edge.

Field names are those of `tencentcloud.mps.v20190612.models` (a test holds that every model here
lists exactly the SDK's fields, so names cannot drift); the SDK itself is not a run-time dependency.
A field that is not in the model is `UnknownParameter`; a field of the model that ci-jobs does not
honour yet is declared `NotYet` and refused by name (`InvalidParameterValue`) whenever it is set,
never accepted and ignored. `read` returns plain dicts holding only checked values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameter, InvalidParameterValue, UnknownParameter


@dataclass(frozen=True)
class Scalar:
    """A JSON scalar: `str`, `bool`, `int` (numeric strings too, as MPS takes `"Definition": "30"`), `float`."""

    kind: str


@dataclass(frozen=True)
class ListOf:
    """A JSON array of one type."""

    item: Kind


@dataclass(frozen=True)
class NotYet:
    """A field of the model that ci-jobs refuses whenever it is set, with why."""

    why: str = "is not supported by ci-jobs yet"


@dataclass(frozen=True)
class Model:
    """One request model: its SDK name and its fields."""

    name: str
    fields: Mapping[str, Kind]


Kind = Scalar | ListOf | NotYet | Model
STR, INT, FLOAT = Scalar("str"), Scalar("int"), Scalar("float")
NO = NotYet()


def model(name: str, **fields: Kind) -> Model:
    """A Model from keyword fields."""
    return Model(name, fields)


def read(value: Any, kind: Kind, where: str) -> Any:
    """`value` checked against `kind`: dicts for models (set fields only), lists, int/float/str."""
    if isinstance(kind, NotYet):
        raise InvalidParameterValue(f"{where} {kind.why}.")
    if isinstance(kind, Model):
        return _model(value, kind, where)
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            raise InvalidParameter(f"{where} must be an array.")
        return [read(v, kind.item, f"{where}[{i}]") for i, v in enumerate(value)]
    return _scalar(value, kind.kind, where)


def _model(value: Any, kind: Model, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParameter(f"{where or 'The request body'} must be a JSON object ({kind.name}).")
    out: dict[str, Any] = {}
    fields = kind.fields
    for name, item in value.items():
        field = fields.get(name)
        if field is None:
            raise UnknownParameter(f"{_path(where, name)} is not a parameter of {kind.name}.")
        if item is None:
            continue
        # A string where a string goes, or an int (not a bool) where an int goes, is itself: the common
        # case skips `read` and the field's path, which only a message needs.
        if field is STR and item.__class__ is str or field is INT and item.__class__ is int:
            out[name] = item
        else:
            out[name] = read(item, field, _path(where, name))
    return out


def _path(where: str, name: Any) -> str:
    return f"{where}.{name}" if where else str(name)


def _scalar(value: Any, kind: str, where: str) -> Any:
    if kind == "str":
        if not isinstance(value, str):
            raise InvalidParameter(f"{where} must be a string.")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidParameter(f"{where} must be true or false.")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidParameter(f"{where} must be a number.")
    try:
        number = float(value)
    except ValueError as exc:
        raise InvalidParameter(f"{where} must be a number, not {value!r}.") from exc
    if kind == "int":
        if not number.is_integer():
            raise InvalidParameter(f"{where} must be an integer, not {value!r}.")
        return int(number)
    return number


# --- ProcessMedia --------------------------------------------------------------------------------

_AI = "is not supported: ci-jobs runs MediaProcessTask only (the AI task families are not implemented)"
_STORAGE = "is not supported: ci-jobs reads and writes the COS buckets it serves"

COS_INPUT = model("CosInputInfo", Bucket=STR, Region=STR, Object=STR)
URL_INPUT = model("UrlInputInfo", Url=STR)
MEDIA_INPUT = model("MediaInputInfo", Type=STR, CosInputInfo=COS_INPUT, UrlInputInfo=URL_INPUT,
                    S3InputInfo=NotYet(_STORAGE), VODInputInfo=NotYet(_STORAGE))
COS_OUTPUT = model("CosOutputStorage", Bucket=STR, Region=STR)
OUTPUT_STORAGE = model("TaskOutputStorage", Type=STR, CosOutputStorage=COS_OUTPUT,
                       S3OutputStorage=NotYet(_STORAGE), VODOutputStorage=NotYet(_STORAGE))
NUMBER_FORMAT = model("NumberFormat", InitialValue=INT, Increment=INT, MinLength=INT, PlaceHolder=STR)

VIDEO_TEMPLATE = model(
    "VideoTemplateInfo", Codec=STR, Fps=INT, Bitrate=INT, ResolutionAdaptive=STR, Width=INT, Height=INT,
    Gop=INT, GopUnit=STR, FillType=STR, Vcrf=INT, Mode=STR, VideoProfile=STR,
    HlsTime=NO, SegmentType=NO, FpsDenominator=NO, Stereo3dType=NO, VideoLevel=NO, Bframes=NO, Sar=NO,
    NoScenecut=NO, BitDepth=NO, RawPts=NO, Compress=NO, SegmentSpecificInfo=NO, ScenarioBased=NO, SceneType=NO,
    CompressType=NO)
AUDIO_TEMPLATE = model("AudioTemplateInfo", Codec=STR, Bitrate=INT, SampleRate=INT, AudioChannel=INT,
                       TrackChannelInfo=NO, AudioLanguage=NO, AudioName=NO, DefaultTrack=NO)
TEHD_CONFIG = model("TEHDConfig", Type=STR, MaxVideoBitrate=INT)
TEHD_UPDATE = model("TEHDConfigForUpdate", Type=STR, MaxVideoBitrate=INT)
RAW_TRANSCODE = model("RawTranscodeParameter", Container=STR, RemoveVideo=INT, RemoveAudio=INT,
                      VideoTemplate=VIDEO_TEMPLATE, AudioTemplate=AUDIO_TEMPLATE, TEHDConfig=TEHD_CONFIG, StdExtInfo=NO,
                      EnhanceConfig=NO, SubtitleTemplate=NO)
VIDEO_UPDATE = model("VideoTemplateInfoForUpdate", **{**VIDEO_TEMPLATE.fields, "ContentAdaptStream": NO})
AUDIO_UPDATE = model("AudioTemplateInfoForUpdate", Codec=STR, Bitrate=INT, SampleRate=INT, AudioChannel=INT,
                     StreamSelects=NO)
OVERRIDE = model("OverrideTranscodeParameter", Container=STR, RemoveVideo=INT, RemoveAudio=INT,
                 VideoTemplate=VIDEO_UPDATE, AudioTemplate=AUDIO_UPDATE, TEHDConfig=TEHD_UPDATE, SubtitleTemplate=NO,
                 AddonAudioStream=NO, StdExtInfo=NO, AddOnSubtitles=NO)
RAW_IMAGE_WATERMARK = model("RawImageWatermarkInput", ImageContent=MEDIA_INPUT, Width=STR, Height=STR,
                            RepeatType=NO)
RAW_WATERMARK = model("RawWatermarkParameter", Type=STR, CoordinateOrigin=STR, XPos=STR, YPos=STR,
                      ImageTemplate=RAW_IMAGE_WATERMARK)
WATERMARK_INPUT = model("WatermarkInput", Definition=INT, RawParameter=RAW_WATERMARK, TextContent=STR,
                        SvgContent=NotYet("is not supported: ci-jobs draws image and text watermarks"),
                        StartTimeOffset=FLOAT, EndTimeOffset=FLOAT)
TRANSCODE_TASK = model(
    "TranscodeTaskInput", Definition=INT, RawParameter=RAW_TRANSCODE, OverrideParameter=OVERRIDE,
    WatermarkSet=ListOf(WATERMARK_INPUT),
    BlindWatermark=NO,
    MosaicSet=NotYet("is not supported yet: the Transcode Tag ci-jobs runs has no region blur/pixelation filter"),
    StartTimeOffset=FLOAT, EndTimeOffset=FLOAT, OutputStorage=OUTPUT_STORAGE,
    OutputObjectPath=STR, SegmentObjectName=NO, ObjectNumberFormat=NUMBER_FORMAT,
    HeadTailParameter=NotYet("is not supported yet: join head and tail videos with CI's Concat (a ConcatTemplate "
                             "job) after the transcode"))
ANIMATED_GRAPHIC_TASK = model("AnimatedGraphicTaskInput", Definition=INT, StartTimeOffset=FLOAT,
                              EndTimeOffset=FLOAT, OutputStorage=OUTPUT_STORAGE, OutputObjectPath=STR, ExtInfo=NO)
SNAPSHOT_BY_TIME_OFFSET_TASK = model(
    "SnapshotByTimeOffsetTaskInput", Definition=INT, ExtTimeOffsetSet=ListOf(STR), TimeOffsetSet=ListOf(FLOAT),
    WatermarkSet=NO, OutputStorage=OUTPUT_STORAGE, OutputObjectPath=STR, ObjectNumberFormat=NUMBER_FORMAT,
    ExtInfo=NO)
SAMPLE_SNAPSHOT_TASK = model("SampleSnapshotTaskInput", Definition=INT, WatermarkSet=NO,
                             OutputStorage=OUTPUT_STORAGE, OutputObjectPath=STR, ObjectNumberFormat=NUMBER_FORMAT,
                             ExtInfo=NO)
IMAGE_SPRITE_TASK = model("ImageSpriteTaskInput", Definition=INT, OutputStorage=OUTPUT_STORAGE, OutputObjectPath=STR,
                          WebVttObjectName=STR, ObjectNumberFormat=NUMBER_FORMAT, ExtInfo=NO)
ADAPTIVE_TASK = model(
    "AdaptiveDynamicStreamingTaskInput", Definition=INT, WatermarkSet=NO, BlindWatermark=NO,
    OutputStorage=OUTPUT_STORAGE, OutputObjectPath=STR, SubStreamObjectName=STR, SegmentObjectName=NO,
    AddOnSubtitles=NO, DrmInfo=NO, DefinitionType=STR, SubtitleTemplate=NO, StdExtInfo=NO, KeyPTSList=NO,
    AddOnAudios=NO, StdExtStreamInfos=NO)
TASK_NOTIFY_CONFIG = model(
    "TaskNotifyConfig", NotifyType=STR, NotifyMode=STR, NotifyUrl=STR, CmqModel=STR, CmqRegion=STR, TopicName=STR,
    QueueName=STR, AwsSQS=NotYet("is not supported: ci-jobs sends URL callbacks and TDMQ-CMQ/CMQ messages"),
    NotifyKey=STR)
AI_QUALITY_CONTROL_TASK = model(
    "AiQualityControlTaskInput", Definition=INT,
    ChannelExtPara=NotYet("is not supported: ci-jobs's quality inspection has no channel extensions"))
MEDIA_PROCESS_TASK = model(
    "MediaProcessTaskInput", TranscodeTaskSet=ListOf(TRANSCODE_TASK),
    AnimatedGraphicTaskSet=ListOf(ANIMATED_GRAPHIC_TASK),
    SnapshotByTimeOffsetTaskSet=ListOf(SNAPSHOT_BY_TIME_OFFSET_TASK),
    SampleSnapshotTaskSet=ListOf(SAMPLE_SNAPSHOT_TASK), ImageSpriteTaskSet=ListOf(IMAGE_SPRITE_TASK),
    AdaptiveDynamicStreamingTaskSet=ListOf(ADAPTIVE_TASK))
PROCESS_MEDIA = model(
    "ProcessMediaRequest", InputInfo=MEDIA_INPUT, OutputStorage=OUTPUT_STORAGE, OutputDir=STR,
    ScheduleId=NotYet("is not supported yet: orchestrations (schedules) are not implemented"),
    MediaProcessTask=MEDIA_PROCESS_TASK,
    AiContentReviewTask=NotYet(_AI), AiAnalysisTask=NotYet(_AI), AiRecognitionTask=NotYet(_AI),
    AiQualityControlTask=AI_QUALITY_CONTROL_TASK,
    SmartSubtitlesTask=NotYet(_AI), SmartEraseTask=NotYet(_AI), AIDubbingTask=NotYet(_AI),
    TaskNotifyConfig=TASK_NOTIFY_CONFIG,
    TasksPriority=INT, SessionId=STR, SessionContext=STR, TaskType=STR, ResourceId=STR,
    Activities=NotYet("is not supported yet: orchestrations (schedules) are not implemented"),
    SkipMateData=INT)

# --- queries -------------------------------------------------------------------------------------

DESCRIBE_TASK_DETAIL = model("DescribeTaskDetailRequest", TaskId=STR)
DESCRIBE_TASKS = model("DescribeTasksRequest", Status=STR, SubTaskHasFailed=Scalar("bool"), Limit=INT,
                       ScrollToken=STR, StartTime=STR, EndTime=STR)

PARSE_NOTIFICATION = model("ParseNotificationRequest", Content=STR)
MANAGE_TASK = model("ManageTaskRequest", OperationType=STR, TaskId=STR)
DESCRIBE_MEDIA_META_DATA = model("DescribeMediaMetaDataRequest", InputInfo=MEDIA_INPUT, Mode=INT)

MODELS = (COS_INPUT, URL_INPUT, MEDIA_INPUT, COS_OUTPUT, OUTPUT_STORAGE, NUMBER_FORMAT, VIDEO_TEMPLATE, TEHD_CONFIG,
          TEHD_UPDATE,
          AUDIO_TEMPLATE, RAW_TRANSCODE, VIDEO_UPDATE, AUDIO_UPDATE, OVERRIDE, RAW_IMAGE_WATERMARK, RAW_WATERMARK,
          WATERMARK_INPUT, TRANSCODE_TASK, ANIMATED_GRAPHIC_TASK, SNAPSHOT_BY_TIME_OFFSET_TASK,
          SAMPLE_SNAPSHOT_TASK, IMAGE_SPRITE_TASK, ADAPTIVE_TASK, MEDIA_PROCESS_TASK, AI_QUALITY_CONTROL_TASK,
          TASK_NOTIFY_CONFIG, PROCESS_MEDIA,
          DESCRIBE_TASK_DETAIL, DESCRIBE_TASKS, PARSE_NOTIFICATION, MANAGE_TASK, DESCRIBE_MEDIA_META_DATA)
