"""MPS template actions (Create/Describe/Modify/Delete<Kind>Template(s) for the seven kinds of template_kinds)
over the template use cases, and the Library ProcessMedia reads Definitions from.

An MPS template is a CI template of the account's default bucket (its first bucket in configuration
order), stored as the CI Tag of its kind (Transcode, Animation, Snapshot, AdaptiveStreaming, Watermark)
with CI's parameters, so the Tag's rules check it and CI clients can use it too; its MPS fields live in
the template's Note. Its id is `mps-<APPID>-<Definition>`; custom Definitions are random 8-digit numbers
(presets are all below 10^6). Presets (reference §6) are answered by Describe as Type Preset and cannot
be modified or deleted.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ...app.requests import TemplateRequest
from ...app.templates import NOTE
from ...config import Bucket
from ...errors import CiJobsError, NoSuchTemplate
from ...store import TemplateRecord
from . import schema, schema_templates
from .errors import InvalidParameterValue, MissingParameter, ResourceNotFound
from .presenter import mps_time
from .template_kinds import KINDS, Kind, Library, body_of
from .watermark import image_object

MAX_LIMIT = 100
MAX_NAME, MAX_COMMENT = 64, 256
_PAGE = 100


def default_bucket(buckets: list[Bucket]) -> Bucket:
    """The bucket an account's MPS templates are kept in: its first."""
    if not buckets:
        raise ResourceNotFound("This account has no bucket on this server to keep templates in.",
                               sub="CosBucketNotExist")
    return buckets[0]


def template_id(appid: str, definition: int) -> str:
    """The CI template id of an MPS Definition."""
    return f"mps-{appid}-{definition}"


async def library(templates: Any, bucket: Bucket, appid: str, wanted: Iterable[tuple[str, int]]) -> Library:
    """The custom templates among `wanted` (kind, Definition) that the account has (presets need no lookup)."""
    custom: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, definition in set(wanted):
        if definition in KINDS[kind].presets:
            continue
        try:
            t = await templates.get(bucket, template_id(appid, definition))
        except NoSuchTemplate:
            continue
        note = t.params.get(NOTE) or {}
        if note.get("Kind") == kind:
            custom[(kind, definition)] = note["Template"]
    return Library(custom)


# --- actions ----------------------------------------------------------------------------------------

Handler = Callable[[Any], Awaitable[dict[str, Any]]]


def _named(req: dict[str, Any], where: str = "") -> None:
    if len(req.get("Name", "")) > MAX_NAME:
        raise InvalidParameterValue(f"{where}Name is longer than {MAX_NAME} characters.", sub="Name")
    if len(req.get("Comment", "")) > MAX_COMMENT:
        raise InvalidParameterValue(f"{where}Comment is longer than {MAX_COMMENT} characters.", sub="Comment")


def _request(kind: Kind, template: dict[str, Any], definition: int) -> TemplateRequest:
    """The CI template request: the kind's CI parameters and the Note with the MPS fields."""
    params = kind.convert(body_of(template), "")
    params[NOTE] = {"Kind": kind.name, "Definition": definition, "Template": template}
    return TemplateRequest(kind.tag, template.get("Name") or f"{kind.name}-{definition}", params)


async def _store(call: Any, kind: Kind, template: dict[str, Any], definition: int, old: TemplateRecord | None) -> None:
    bucket = default_bucket(call.buckets())
    if kind.name == "Watermark" and str(template.get("Type", "")).lower() == "image":
        name, _ = image_object(template, "")
        if name not in {b.name for b in call.buckets()}:
            raise ResourceNotFound(f"ImageTemplate.ImageContent.CosInputInfo.Bucket {name} is not a bucket of this "
                                   "account on this server.", sub="CosBucketNotExist")
    try:
        if old is None:
            await call.service.templates.create(bucket, _request(kind, template, definition),
                                                template_id(call.account.appid, definition))
        else:
            await call.service.templates.update(bucket, old.template_id, _request(kind, template, definition))
    except CiJobsError as exc:
        if isinstance(exc, InvalidParameterValue | MissingParameter):
            raise
        raise InvalidParameterValue(f"The template breaks the {kind.tag} rules: {exc.message}.") from exc


def create(kind: Kind) -> Handler:
    """Create<Kind>Template: a new custom Definition."""
    async def run(call: Any) -> dict[str, Any]:
        req = schema.read(call.params, schema_templates.CREATE[kind.name], "")
        _named(req)
        template = {**kind.defaults, "Name": "", "Comment": "", **req}
        definition = await _free_definition(call)
        await _store(call, kind, template, definition, None)
        out: dict[str, Any] = {"Definition": definition}
        if kind.name == "Watermark":
            out["ImageUrl"] = _image_url(template)
        return out
    return run


async def _free_definition(call: Any) -> int:
    bucket = default_bucket(call.buckets())
    while True:
        definition = random.randint(10**7, 10**8 - 1)
        try:
            await call.service.templates.get(bucket, template_id(call.account.appid, definition))
        except NoSuchTemplate:
            return definition


async def _custom(call: Any, kind: Kind, definition: int | None) -> tuple[TemplateRecord, dict[str, Any]]:
    if definition is None:
        raise MissingParameter("Definition is required.")
    if definition in kind.presets:
        raise InvalidParameterValue(f"Definition {definition} is a preset {kind.name} template: presets cannot "
                                    "change.", sub="Definition")
    bucket = default_bucket(call.buckets())
    try:
        t = await call.service.templates.get(bucket, template_id(call.account.appid, definition))
    except NoSuchTemplate:
        t = None
    note = (t.params.get(NOTE) or {}) if t is not None else {}
    if t is None or note.get("Kind") != kind.name:
        raise ResourceNotFound(f"The {kind.name} template {definition} does not exist.", sub="TemplateNotExist")
    return t, note["Template"]


def modify(kind: Kind) -> Handler:
    """Modify<Kind>Template: the given fields replace the template's (VideoTemplate/AudioTemplate/ImageTemplate/
    TextTemplate field by field)."""
    async def run(call: Any) -> dict[str, Any]:
        req = schema.read(call.params, schema_templates.MODIFY[kind.name], "")
        _named(req)
        old, template = await _custom(call, kind, req.pop("Definition", None))
        for name, value in req.items():
            merge = isinstance(value, dict) and isinstance(template.get(name), dict)
            template[name] = {**template[name], **value} if merge else value
        await _store(call, kind, template, old.params[NOTE]["Definition"], old)
        return {"ImageUrl": _image_url(template)} if kind.name == "Watermark" else {}
    return run


def delete(kind: Kind) -> Handler:
    """Delete<Kind>Template."""
    async def run(call: Any) -> dict[str, Any]:
        req = schema.read(call.params, schema_templates.DELETE[kind.name], "")
        old, _ = await _custom(call, kind, req.get("Definition"))
        await call.service.templates.delete(default_bucket(call.buckets()), old.template_id)
        return {}
    return run


def describe(kind: Kind) -> Handler:
    """Describe<Kind>Templates: presets then custom ones (oldest first), filtered, Offset/Limit."""
    async def run(call: Any) -> dict[str, Any]:
        req = schema.read(call.params, schema_templates.DESCRIBE[kind.name], "")
        limit, offset = int(req.get("Limit", 10)), int(req.get("Offset", 0))
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise InvalidParameterValue(f"Limit must be within [1, {MAX_LIMIT}] and Offset 0 or more.", sub="Limit")
        kept = [v for v in await _views(call, kind, req.get("Type", "")) if _keep(kind, v, req)]
        return {"TotalCount": len(kept), kind.set_name: kept[offset:offset + limit]}
    return run


async def _views(call: Any, kind: Kind, kind_type: str) -> list[dict[str, Any]]:
    if kind_type not in ("", "Preset", "Custom"):
        raise InvalidParameterValue(f"Type {kind_type} must be Preset or Custom.", sub="Type")
    out: list[dict[str, Any]] = []
    if kind_type != "Custom":
        out = [_view(kind, d, b, "Preset", 0, 0) for d, b in kind.presets.items()]
    if kind_type != "Preset" and call.buckets():
        for t in await _customs(call, kind):
            note = t.params[NOTE]
            out.append(_view(kind, note["Definition"], note["Template"], "Custom", t.created, t.updated))
    return out


async def _customs(call: Any, kind: Kind) -> list[TemplateRecord]:
    bucket, page = default_bucket(call.buckets()), 1
    out: list[TemplateRecord] = []
    while True:
        found, total, _, _ = await call.service.templates.describe(
            bucket, {"category": "Custom", "tag": kind.tag, "pageNumber": str(page), "pageSize": str(_PAGE)})
        out.extend(t for t in found if (t.params.get(NOTE) or {}).get("Kind") == kind.name)
        if page * _PAGE >= total:
            return out
        page += 1


def _keep(kind: Kind, view: dict[str, Any], req: dict[str, Any]) -> bool:
    if req.get("Definitions") and int(view["Definition"]) not in req["Definitions"]:
        return False
    if req.get("Name") and view["Name"] != req["Name"]:
        return False
    if "PureAudio" in req and view.get("PureAudio", 0) != req["PureAudio"]:
        return False
    if kind.name != "Transcode":
        return True
    container_type = req.get("ContainerType", "")
    if container_type not in ("", "Video", "PureAudio"):
        raise InvalidParameterValue(f"ContainerType {container_type} must be Video or PureAudio.",
                                    sub="ContainerType")
    if container_type and view["ContainerType"] != container_type:
        return False
    wanted = req.get("TranscodeType") or req.get("TEHDType") or ""
    if wanted not in ("", "Common", "TEHD", "TEHD-100"):
        raise InvalidParameterValue(f"TranscodeType {wanted} is not one ci-jobs has: Common or TEHD.",
                                    sub="TranscodeType")
    tehd = bool((view.get("TEHDConfig") or {}).get("Type"))
    return not wanted or tehd == (wanted != "Common")


def _view(kind: Kind, definition: int, template: dict[str, Any], kind_type: str, created: float,
          updated: float) -> dict[str, Any]:
    """The <Kind>Template model of a template."""
    view = {**kind.defaults, **template, "Definition": definition, "Type": kind_type,
            "CreateTime": mps_time(created or None), "UpdateTime": mps_time(updated or None)}
    if kind.name == "Transcode":
        audio_only = bool(template.get("RemoveVideo")) or template.get("Container") in ("mp3", "flac", "m4a", "wav")
        view.update(Definition=str(definition), ContainerType="PureAudio" if audio_only else "Video", AliasName="",
                    TEHDConfig={"Type": "", "MaxVideoBitrate": 0, **(template.get("TEHDConfig") or {})})
    if kind.name == "Watermark" and template.get("ImageTemplate"):
        image = {k: v for k, v in template["ImageTemplate"].items() if k != "ImageContent"}
        view["ImageTemplate"] = {"ImageUrl": _image_url(template), "Width": "10%", "Height": "0px", **image}
    return view


def _image_url(template: dict[str, Any]) -> str:
    cos = ((template.get("ImageTemplate") or {}).get("ImageContent") or {}).get("CosInputInfo") or {}
    if not cos:
        return ""
    return f"https://{cos.get('Bucket')}.cos.{cos.get('Region', '')}.myqcloud.com/{str(cos.get('Object')).lstrip('/')}"


def actions() -> dict[str, tuple[Handler, bool]]:
    """Every template action's handler and whether it changes state."""
    out: dict[str, tuple[Handler, bool]] = {}
    for kind in KINDS.values():
        out[f"Create{kind.name}Template"] = (create(kind), True)
        out[f"Modify{kind.name}Template"] = (modify(kind), True)
        out[f"Delete{kind.name}Template"] = (delete(kind), True)
        out[f"Describe{kind.name}Templates"] = (describe(kind), False)
    return out
