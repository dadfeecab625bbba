"""ProcessMedia's JSON body into the use cases' JobRequest: one Task of kind MpsTask, one job per subtask
(SnapshotByTimeOffset: one per irregularly spaced offset), each a CI-shaped Operation that the Tag's own
rules check. What the Task's presenter needs (the subtasks' inputs and how many jobs each has) goes
into the Task's detail.

Output keys: OutputObjectPath (or MPS's default) with `{inputName}`, `{inputFormat}`, `{format}`,
`{definition}` and `{number}`; a relative path lies under OutputDir, an absolute one ignores it.
OutputDir defaults to the input object's folder, OutputStorage to the input bucket.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ...app.jobs import MAX_OPERATIONS
from ...app.requests import JobRequest, Operation
from ...config import Account, Bucket, Settings
from ...domain import priority
from ...domain.tasks import TaskKind
from ...errors import InvalidArgument
from ...outbound import check_url
from .. import hosts
from . import notify, presets, schema
from .errors import InvalidParameterValue, LimitExceeded, MissingParameter, ResourceNotFound
from .template_kinds import KINDS, Library, image_format
from .template_kinds import rungs as template_rungs
from .transcode import override, raw_transcode
from .watermark import watermark_set

NO_CUSTOM = Library({})
_VARIABLE = re.compile(r"\{([A-Za-z]+)\}")
MAX_SESSION_CONTEXT = 1000
MAX_SESSION_ID = 50
DEFAULT_NUMBER_FORMAT = {"InitialValue": 0, "Increment": 1, "MinLength": 1, "PlaceHolder": "0"}


@dataclass(frozen=True)
class Source:
    """The input of a task: its bucket, key (or a URL the runner downloads) and the echo of InputInfo."""

    bucket: Bucket
    key: str
    info: dict[str, Any]
    url: str = ""

    @property
    def ext(self) -> str:
        """`{inputFormat}`: the input's extension."""
        name = posixpath.basename(self.key or urlsplit(self.url).path)
        return name.rsplit(".", 1)[1] if "." in name else ""

    @property
    def name(self) -> str:
        """`{inputName}`: `${InputName}` (the runner's) for an object, the file name's stem for a URL."""
        if not self.url:
            return "${InputName}"
        stem = posixpath.basename(urlsplit(self.url).path).rsplit(".", 1)[0]
        return "".join(c for c in unquote(stem) if c.isalnum() or c in "._-") or "input"


@dataclass(frozen=True)
class Place:
    """Where a subtask's outputs go: a bucket and OutputDir (`/.../`)."""

    bucket: Bucket
    directory: str


@dataclass
class Subtask:
    """One element of a TaskSet: its MPS type, the echo of its input, its jobs' Operations, presenter facts."""

    type: str
    input: dict[str, Any]
    operations: list[Operation]
    facts: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        """What the Task keeps of it."""
        return {"Type": self.type, "Input": self.input, "Jobs": len(self.operations), **self.facts}


def process_media(body: Any, account: Account, settings: Settings, library: Library = NO_CUSTOM) -> JobRequest:
    """A ProcessMedia body as one JobRequest (a Task of kind MpsTask); custom Definitions from `library`."""
    req = schema.read(body, schema.PROCESS_MEDIA, "")
    _check_request(req)
    if "InputInfo" not in req:
        raise MissingParameter("InputInfo is required.")
    source = _source(req["InputInfo"], account, settings, req.get("OutputStorage"))
    place = Place(_storage(req.get("OutputStorage"), source.bucket, account, settings, "OutputStorage"),
                  _directory(req, source))
    subtasks = _subtasks(req.get("MediaProcessTask") or {}, source, place, account, settings, library,
                         required="AiQualityControlTask" not in req)
    if "AiQualityControlTask" in req:
        subtasks.append(_quality_control(req["AiQualityControlTask"], "AiQualityControlTask"))
    operations = [op for s in subtasks for op in s.operations]
    if len(operations) > MAX_OPERATIONS:
        raise LimitExceeded(f"MediaProcessTask asks for {len(operations)} jobs; ci-jobs runs at most "
                            f"{MAX_OPERATIONS} per task (each subtask is one job, each irregular "
                            "SnapshotByTimeOffset offset one more).")
    detail = {"TaskType": "WorkflowTask", "InputInfo": req["InputInfo"], "Subtasks": [s.detail() for s in subtasks],
              "SessionId": req.get("SessionId", ""), "SessionContext": req.get("SessionContext", ""),
              "TasksPriority": req.get("TasksPriority", 0)}
    # CallBack "no" keeps the queue's CI NotifyConfig out of MPS tasks; NotifyTarget routes the outcomes
    # of a task with a TaskNotifyConfig to its notifications (notify.py).
    callback: dict[str, Any] = {"CallBack": "no"}
    if req.get("TaskNotifyConfig"):
        detail["TaskNotifyConfig"] = notify.read_config(req["TaskNotifyConfig"], settings)
        callback["NotifyTarget"] = {"type": notify.TARGET, "format": "JSON"}
    return JobRequest(bucket=source.bucket, input_key=source.key, input_url=source.url, operations=tuple(operations),
                      callback=callback, origin="mps", kind=TaskKind.MPS_TASK, detail=detail,
                      probe_input=not req.get("SkipMateData", 0),
                      level=priority.from_tasks_priority(req.get("TasksPriority", 0),
                                                         offline=req.get("TaskType", "Online") == "Offline"))


def _check_request(req: dict[str, Any]) -> None:
    if not priority.MIN_PRIORITY <= req.get("TasksPriority", 0) <= priority.MAX_PRIORITY:
        raise InvalidParameterValue(f"TasksPriority {req['TasksPriority']} must be within "
                                    f"[{priority.MIN_PRIORITY}, {priority.MAX_PRIORITY}].")
    if len(req.get("SessionId", "")) > MAX_SESSION_ID:
        raise InvalidParameterValue(f"SessionId is longer than {MAX_SESSION_ID} characters.", sub="SessionIdTooLong")
    if len(req.get("SessionContext", "")) > MAX_SESSION_CONTEXT:
        raise InvalidParameterValue(f"SessionContext is longer than {MAX_SESSION_CONTEXT} characters.",
                                    sub="SessionContextTooLong")
    if req.get("TaskType", "Online") not in ("Online", "Offline"):
        raise InvalidParameterValue(f"TaskType {req['TaskType']} must be Online or Offline.")
    if req.get("SkipMateData", 0) not in (0, 1):
        raise InvalidParameterValue("SkipMateData must be 0 or 1.")


def media_input(info: dict[str, Any], account: Account, settings: Settings) -> Source:
    """A MediaInputInfo's object of this server (DescribeMediaMetaData)."""
    source = _source(info, account, settings, None)
    if source.url:
        raise InvalidParameterValue("InputInfo.UrlInputInfo.Url: DescribeMediaMetaData probes objects of this "
                                    "server's buckets (a COS input, or a URL of one of them); other URLs are "
                                    "not downloaded for it.", sub="InputInfo")
    return source


def _source(info: dict[str, Any], account: Account, settings: Settings, storage: dict[str, Any] | None) -> Source:
    kind = info.get("Type", "")
    if kind == "URL":
        return _url_source(info, account, settings, storage)
    if kind != "COS":
        raise InvalidParameterValue(f"InputInfo.Type {kind or '(empty)'} is not supported: ci-jobs reads COS "
                                    "inputs of its own buckets and URLs.", sub="InputInfo")
    cos = info.get("CosInputInfo")
    if not cos:
        raise MissingParameter("InputInfo.CosInputInfo is required when InputInfo.Type is COS.")
    for name in ("Bucket", "Region", "Object"):
        if not cos.get(name):
            raise MissingParameter(f"InputInfo.CosInputInfo.{name} is required.")
    bucket = _bucket(cos["Bucket"], cos["Region"], account, settings, "InputInfo.CosInputInfo")
    key = cos["Object"].lstrip("/")
    if not key or key.endswith("/"):
        raise InvalidParameterValue(f"InputInfo.CosInputInfo.Object {cos['Object']} is not an object key.",
                                    sub="InputInfo")
    return Source(bucket, key, info)


def _url_source(info: dict[str, Any], account: Account, settings: Settings,
                storage: dict[str, Any] | None) -> Source:
    """A URL input: an object of this server's buckets is read from storage; any other URL is downloaded by
    the runner under the callbacks' SSRF rules (checked here too, so a literal address is refused at once)."""
    url = str((info.get("UrlInputInfo") or {}).get("Url") or "").strip()
    if not url:
        raise MissingParameter("InputInfo.UrlInputInfo.Url is required when InputInfo.Type is URL.")
    where = "InputInfo.UrlInputInfo.Url"
    parts = urlsplit(url)
    own = settings.bucket(hosts.bucket_host(parts.hostname or "") or "")
    if own is not None and parts.scheme in ("http", "https"):
        if own.appid != account.appid:
            raise ResourceNotFound(f"{where} {url} is an object of a bucket of another account.",
                                   sub="CosBucketNotExist")
        key = unquote(parts.path).lstrip("/")
        if not key or key.endswith("/"):
            raise InvalidParameterValue(f"{where} {url} does not name an object.", sub="InputInfo")
        return Source(own, key, info)
    try:
        check_url(url, settings.callbacks.policy, where)
    except InvalidArgument as exc:
        raise InvalidParameterValue(exc.message + ".", sub="InputInfo") from exc
    cos = (storage or {}).get("CosOutputStorage") or {}
    if not cos.get("Bucket"):
        raise MissingParameter("OutputStorage.CosOutputStorage.Bucket is required when InputInfo.Type is URL.")
    bucket = _bucket(cos["Bucket"], cos.get("Region", ""), account, settings, "OutputStorage.CosOutputStorage")
    return Source(bucket, "", info, url=url)


def _bucket(name: str, region: str, account: Account, settings: Settings, where: str) -> Bucket:
    bucket = settings.bucket(name)
    if bucket is None or bucket.appid != account.appid:
        raise ResourceNotFound(f"{where}.Bucket {name} is not a bucket of this account on this server.",
                               sub="CosBucketNotExist")
    if region and region != bucket.region:
        raise ResourceNotFound(f"{where}.Region {region}: bucket {name} is in {bucket.region}.",
                               sub="CosBucketNotExist")
    return bucket


def _storage(storage: dict[str, Any] | None, default: Bucket, account: Account, settings: Settings,
             where: str) -> Bucket:
    """The bucket an OutputStorage names (empty: `default`)."""
    if not storage:
        return default
    if storage.get("Type", "COS") != "COS":
        raise InvalidParameterValue(f"{where}.Type {storage['Type']} is not supported: ci-jobs writes to its "
                                    "own COS buckets.")
    cos = storage.get("CosOutputStorage") or {}
    if not cos.get("Bucket"):
        if cos.get("Region") and cos["Region"] != default.region:
            raise ResourceNotFound(f"{where}.CosOutputStorage.Region {cos['Region']} without a Bucket does not "
                                   f"match {default.name}'s region {default.region}.", sub="CosBucketNotExist")
        return default
    return _bucket(cos["Bucket"], cos.get("Region", ""), account, settings, f"{where}.CosOutputStorage")


def _directory(req: dict[str, Any], source: Source) -> str:
    if "OutputDir" not in req:
        folder = posixpath.dirname(source.key)  # a downloaded URL's outputs: the bucket's root
        return f"/{folder}/" if folder else "/"
    out = str(req["OutputDir"])
    if not (out.startswith("/") and out.endswith("/")):
        raise InvalidParameterValue(f"OutputDir {out!r} must start and end with /, e.g. /movie/201907/.")
    return out


# --- subtasks --------------------------------------------------------------------------------------

Builder = Callable[[dict[str, Any], Source, Place, str, Library], Subtask]


def _subtasks(task: dict[str, Any], source: Source, place: Place, account: Account,
              settings: Settings, library: Library, required: bool = True) -> list[Subtask]:
    sets: tuple[tuple[str, Builder], ...] = (
        ("TranscodeTaskSet", _transcode), ("AnimatedGraphicTaskSet", _animated_graphic),
        ("SnapshotByTimeOffsetTaskSet", _snapshot_by_time_offset), ("SampleSnapshotTaskSet", _sample_snapshot),
        ("ImageSpriteTaskSet", _image_sprite), ("AdaptiveDynamicStreamingTaskSet", _adaptive))
    out: list[Subtask] = []
    for name, build in sets:
        for index, item in enumerate(task.get(name) or []):
            where = f"MediaProcessTask.{name}[{index}]"
            bucket = _storage(item.get("OutputStorage"), place.bucket, account, settings, f"{where}.OutputStorage")
            _number_format(item.get("ObjectNumberFormat"), f"{where}.ObjectNumberFormat")
            out.append(build(item, source, Place(bucket, place.directory), where, library))
    if not out and required:
        raise MissingParameter(f"MediaProcessTask needs at least one of {', '.join(n for n, _ in sets)} "
                               "(or give AiQualityControlTask).")
    return out


def _quality_control(item: dict[str, Any], where: str) -> Subtask:
    """AiQualityControlTask: one QualityEstimate job in vqaPlus (the no-reference score and the defects found,
    presets.QUALITY_CONTROL); its result is WorkflowTask.AiQualityControlTaskResult (presenter.py)."""
    if "Definition" not in item:
        raise MissingParameter(f"{where}.Definition is required.")
    definition = int(item["Definition"])
    if definition not in presets.QUALITY_CONTROL:
        raise InvalidParameterValue(f"{where}.Definition {definition} is not a quality-control template of "
                                    f"ci-jobs: the presets are {', '.join(map(str, presets.QUALITY_CONTROL))} "
                                    "(custom quality-control templates are not supported).", sub="Definition")
    op = {"QualityEstimateConfig": {"Mode": "vqaPlus"}}
    return Subtask("AiQualityControl", item, [Operation("QualityEstimate", op)], {"Definition": definition})


def _number_format(value: dict[str, Any] | None, where: str) -> None:
    for name, default in (value or {}).items():
        if default != DEFAULT_NUMBER_FORMAT[name]:
            raise InvalidParameterValue(f"{where}.{name} {default!r} is not supported yet: {{number}} counts "
                                        "0, 1, 2 ... without padding.")


def _definition(item: dict[str, Any], kind: str, library: Library, where: str) -> tuple[int, dict[str, Any]]:
    """The Definition of a subtask and its template's body (a preset's or a custom one's)."""
    if "Definition" not in item:
        raise MissingParameter(f"{where}.Definition is required.")
    definition = int(item["Definition"])
    return definition, library.body(kind, definition, where)


def _substitute(pattern: str, values: dict[str, str], where: str) -> str:
    """An MPS path pattern with its variables replaced (one not in `values` refused by name)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise InvalidParameterValue(f"{where} variable {{{m.group(1)}}} is not supported here; use "
                                        f"{', '.join('{' + v + '}' for v in values)}.")
        return values[m.group(1)]

    return _VARIABLE.sub(sub, pattern)


def _output(place: Place, pattern: str, values: dict[str, str], where: str) -> dict[str, str]:
    """CI's Output container for an MPS output path (its variables replaced; `{number}` -> ${Number})."""
    path = _substitute(pattern, values, where)
    if not path.startswith("/"):
        path = place.directory + path
    key = path.lstrip("/")
    if not key or key.endswith("/"):
        raise InvalidParameterValue(f"{where} {pattern!r} does not name an object.")
    return {"Region": place.bucket.region, "Bucket": place.bucket.name, "Object": key}


def _values(source: Source, definition: int, fmt: str, number: str | None = None) -> dict[str, str]:
    values = {"inputName": source.name, "inputFormat": source.ext, "format": fmt, "definition": str(definition)}
    if number is not None:
        values["number"] = number
    return values


def _storage_fact(place: Place) -> dict[str, str]:
    return {"Bucket": place.bucket.name, "Region": place.bucket.region}


def _time_interval(item: dict[str, Any], where: str, required: bool = False) -> dict[str, str]:
    """CI's TimeInterval for Start/EndTimeOffset (seconds from the start; 0 or absent: start / end)."""
    start, end = float(item.get("StartTimeOffset", 0)), float(item.get("EndTimeOffset", 0))
    if start < 0 or end < 0:
        raise InvalidParameterValue(f"{where}: negative Start/EndTimeOffset (counted from the end) are not "
                                    "supported yet.")
    if required and not end:
        raise MissingParameter(f"{where}.EndTimeOffset is required.")
    if end and end <= start:
        raise InvalidParameterValue(f"{where}.EndTimeOffset {end:g} must be after StartTimeOffset {start:g}.")
    out = {"Start": f"{start:g}"} if start else {}
    if end:
        out["Duration"] = f"{end - start:g}"
    return out


def _transcode(item: dict[str, Any], source: Source, place: Place, where: str, library: Library) -> Subtask:
    definition = int(item.get("Definition", 0))
    if definition == 0:
        if "RawParameter" not in item:
            raise MissingParameter(f"{where}.RawParameter is required when Definition is 0.")
        if "OverrideParameter" in item:
            raise InvalidParameterValue(f"{where}.OverrideParameter applies to a template: with Definition 0 "
                                        "give the values in RawParameter.")
        params = raw_transcode(item["RawParameter"], f"{where}.RawParameter")
    else:
        if "RawParameter" in item:
            raise InvalidParameterValue(f"{where}.RawParameter is used only with Definition 0.")
        params = _template_transcode(item, definition, library, where)
    interval = _time_interval(item, where)
    if interval:
        params["TimeInterval"] = interval
    fmt = presets.EXTENSIONS[params["Container"]["Format"]]
    out = _output(place, item.get("OutputObjectPath") or "{inputName}_transcode_{definition}.{format}",
                  _values(source, definition, fmt), f"{where}.OutputObjectPath")
    op: dict[str, Any] = {"Transcode": params, "Output": out}
    marks = watermark_set(item.get("WatermarkSet") or [], library, source.bucket.name, f"{where}.WatermarkSet")
    if marks:
        op["Watermark"] = marks if len(marks) > 1 else marks[0]
    return Subtask("Transcode", item, [Operation("Transcode", op)],
                   {"Definition": definition, "Storage": _storage_fact(place)})


def _template_transcode(item: dict[str, Any], definition: int, library: Library, where: str) -> dict[str, Any]:
    """A preset's or custom template's Transcode parameters, OverrideParameter's fields over its own."""
    preset = presets.TRANSCODE.get(definition)
    if preset is not None and "OverrideParameter" not in item:
        return preset.transcode()
    body = preset.raw() if preset is not None else library.body("Transcode", definition, where)
    params = raw_transcode(override(body, item.get("OverrideParameter") or {}), f"{where}.OverrideParameter"
                           if "OverrideParameter" in item else where)
    if preset is not None and preset.trans:
        params["TransConfig"] = {**params.get("TransConfig", {}), **preset.trans}
    return params


def _animated_graphic(item: dict[str, Any], source: Source, place: Place, where: str, library: Library) -> Subtask:
    definition, body = _definition(item, "AnimatedGraphics", library, where)
    params = KINDS["AnimatedGraphics"].convert(body, where)
    params["TimeInterval"] = _time_interval(item, where, required=True)
    out = _output(place, item.get("OutputObjectPath") or "{inputName}_animatedGraphic_{definition}.{format}",
                  _values(source, definition, params["Container"]["Format"]), f"{where}.OutputObjectPath")
    return Subtask("AnimatedGraphics", item, [Operation("Animation", {"Animation": params, "Output": out})],
                   {"Definition": definition, "Storage": _storage_fact(place)})


def _offsets(item: dict[str, Any], where: str) -> list[float]:
    if "ExtTimeOffsetSet" in item and "TimeOffsetSet" in item:
        raise InvalidParameterValue(f"{where}: give ExtTimeOffsetSet or TimeOffsetSet, not both.")
    offsets: list[float] = []
    for i, text in enumerate(item.get("ExtTimeOffsetSet") or []):
        raw = text.strip()
        if raw.endswith("%"):
            raise InvalidParameterValue(f"{where}.ExtTimeOffsetSet[{i}] {text}: offsets in percent are not "
                                        "supported yet; give seconds (3.5s).")
        try:
            offsets.append(float(raw.removesuffix("s")))
        except ValueError as exc:
            raise InvalidParameterValue(f"{where}.ExtTimeOffsetSet[{i}] {text!r} must be seconds like 3.5s.") from exc
    offsets.extend(float(v) for v in item.get("TimeOffsetSet") or [])
    if not offsets:
        raise MissingParameter(f"{where}.ExtTimeOffsetSet is required.")
    if any(not math.isfinite(o) or o < 0 for o in offsets):
        raise InvalidParameterValue(f"{where}: time offsets must be 0 or more seconds.")
    return offsets


def _even_step(offsets: list[float]) -> float | None:
    """The step of evenly spaced, increasing offsets (one Interval job takes them all), else None."""
    if len(offsets) < 2:
        return None
    step = offsets[1] - offsets[0]
    if step <= 0 or any(abs(b - a - step) > 1e-6 for a, b in zip(offsets, offsets[1:], strict=False)):
        return None
    return step


def _snapshot_by_time_offset(item: dict[str, Any], source: Source, place: Place, where: str,
                             library: Library) -> Subtask:
    definition, body = _definition(item, "SnapshotByTimeOffset", library, where)
    fmt = image_format(body, where)
    size = {k: v for k, v in KINDS["SnapshotByTimeOffset"].convert(body, where)["Snapshot"].items()
            if k in ("Width", "Height")}
    offsets = _offsets(item, where)
    pattern = item.get("OutputObjectPath") or "{inputName}_snapshotByTimeOffset_{definition}_{number}.{format}"
    if len(offsets) > 1 and "{number}" not in pattern:
        raise InvalidParameterValue(f"{where}.OutputObjectPath must contain {{number}} when there are several "
                                    "offsets.")
    step = _even_step(offsets)
    ops: list[Operation] = []
    if step is not None:
        shot = {"Mode": "Interval", "Start": f"{offsets[0]:g}", "TimeInterval": f"{step:g}",
                "Count": str(len(offsets)), **size}
        out = _output(place, pattern, _values(source, definition, fmt, "${Number}"), f"{where}.OutputObjectPath")
        ops.append(Operation("Snapshot", {"Snapshot": shot, "Output": out}))
    else:
        for i, offset in enumerate(offsets):
            shot = {"Mode": "Interval", "Start": f"{offset:g}", "Count": "1", **size}
            out = _output(place, pattern, _values(source, definition, fmt, str(i)), f"{where}.OutputObjectPath")
            ops.append(Operation("Snapshot", {"Snapshot": shot, "Output": out}))
    return Subtask("SnapshotByTimeOffset", item, ops,
                   {"Definition": definition, "Offsets": offsets, "Storage": _storage_fact(place)})


def _sample_snapshot(item: dict[str, Any], source: Source, place: Place, where: str, library: Library) -> Subtask:
    definition, body = _definition(item, "SampleSnapshot", library, where)
    shot = KINDS["SampleSnapshot"].convert(body, where)["Snapshot"]
    pattern = item.get("OutputObjectPath") or "{inputName}_sampleSnapshot_{definition}_{number}.{format}"
    if "{number}" not in pattern:
        raise InvalidParameterValue(f"{where}.OutputObjectPath must contain {{number}}.")
    out = _output(place, pattern, _values(source, definition, image_format(body, where), "${Number}"),
                  f"{where}.OutputObjectPath")
    return Subtask("SampleSnapshot", item, [Operation("Snapshot", {"Snapshot": shot, "Output": out})],
                   {"Definition": definition, "SampleType": body.get("SampleType"),
                    "Interval": body.get("SampleInterval"), "Storage": _storage_fact(place)})


def _image_sprite(item: dict[str, Any], source: Source, place: Place, where: str, library: Library) -> Subtask:
    """Snapshot's sprite mode (OnlySprite) sampled as the template says, and its WebVTT (Output.WebVttObject)."""
    definition, body = _definition(item, "ImageSprite", library, where)
    shot = KINDS["ImageSprite"].convert(body, where)["Snapshot"]
    pattern = item.get("OutputObjectPath") or "{inputName}_imageSprite_{definition}_{number}.{format}"
    if "{number}" not in pattern:
        raise InvalidParameterValue(f"{where}.OutputObjectPath must contain {{number}} (one image per sheet).")
    vtt = item.get("WebVttObjectName") or "{inputName}_imageSprite_{definition}.{format}"
    if vtt.startswith("/"):
        raise InvalidParameterValue(f"{where}.WebVttObjectName {vtt!r} must be relative (to OutputDir).")
    if "{number}" in vtt:
        raise InvalidParameterValue(f"{where}.WebVttObjectName {vtt!r} names one file: {{number}} is not taken.")
    sheets = _output(place, pattern, _values(source, definition, "jpg", "${Number}"), f"{where}.OutputObjectPath")
    track = _output(place, vtt, _values(source, definition, "vtt"), f"{where}.WebVttObjectName")
    out = {**sheets, "SpriteObject": sheets["Object"], "WebVttObject": track["Object"]}
    return Subtask("ImageSprites", item, [Operation("Snapshot", {"Snapshot": shot, "Output": out})],
                   {"Definition": definition, "Width": body["Width"], "Height": body["Height"],
                    "Storage": _storage_fact(place)})


def _adaptive(item: dict[str, Any], source: Source, place: Place, where: str, library: Library) -> Subtask:
    """An AdaptiveStreaming job: the template's rungs named by SubStreamObjectName beside the master playlist /
    manifest of OutputObjectPath."""
    definition, body = _definition(item, "AdaptiveDynamicStreaming", library, where)
    fmt_name, rungs = template_rungs(body, where)
    if item.get("DefinitionType", "Common") != "Common":
        raise InvalidParameterValue(f"{where}.DefinitionType {item['DefinitionType']} is not supported: ci-jobs "
                                    "runs video ladders (Common).")
    fmt = "m3u8" if fmt_name == "hls" else "mpd"
    manifest = item.get("OutputObjectPath") or "{inputName}_adaptiveDynamicStreaming_{definition}.{format}"
    master = _output(place, manifest, _values(source, definition, fmt), f"{where}.OutputObjectPath")
    pattern = item.get("SubStreamObjectName") or \
        "{inputName}_adaptiveDynamicStreaming_{definition}_{subStreamNumber}.{format}"
    if "/" in pattern or "{subStreamNumber}" not in pattern:
        raise InvalidParameterValue(f"{where}.SubStreamObjectName {pattern!r} must be a file name (it lies beside "
                                    "the manifest) with {subStreamNumber}.")
    streams = []
    for n, params in enumerate(rungs):
        name = _substitute(pattern, {**_values(source, definition, fmt), "subStreamNumber": str(n)},
                           f"{where}.SubStreamObjectName")
        streams.append({"Transcode": params, "Object": name})
    op = {"AdaptiveStreaming": {"Format": fmt_name, "Stream": streams}, "Output": master}
    return Subtask("AdaptiveDynamicStreaming", item, [Operation("AdaptiveStreaming", op)],
                   {"Definition": definition, "Package": presets.PACKAGES[fmt_name],
                    "Storage": _storage_fact(place)})
