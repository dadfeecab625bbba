"""Template use cases: create/update/list/delete custom templates, list Official presets, resolve ids.

A template carries a Tag (or a template-only kind such as Watermark), a Name and the parameter
containers of that Tag. Its parameters must pass the rules of the job they would make
(`tags.check_operation`); the wire checks of those parameters (CI's XSD) are the codec's.
A template may also carry a `Note`: another protocol's own record of it (MPS keeps its Definition,
Comment and request fields there), stored beside the parameters and never applied to a job.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from .. import ids, xmlio
from ..config import Bucket
from ..errors import AccessDenied, InvalidArgument, NoSuchTemplate
from ..presets import OFFICIAL
from ..store import Store, TemplateRecord
from ..store.flows import WorkflowRecord
from ..tags import TEMPLATE_KINDS, TemplateKind, check_operation
from .requests import TemplateRequest

CATEGORIES = ("Custom", "Official")
NOTE = "Note"


def parameters(params: dict[str, Any]) -> dict[str, Any]:
    """A template's parameter containers, without its Note."""
    return {k: v for k, v in params.items() if k != NOTE}


def inline(t: TemplateRecord) -> Any:
    """The value of the job's inline container that this template stands for."""
    kind = TEMPLATE_KINDS[t.tag]
    return copy.deepcopy(t.params[kind.params[0]] if kind.wrapped else parameters(t.params))


def check_request(req: TemplateRequest) -> TemplateKind:
    """Refuse a template whose kind, name or containers are wrong; return its kind."""
    if req.tag not in TEMPLATE_KINDS:
        raise InvalidArgument(f"Request.Tag {req.tag!r} must be one of {', '.join(TEMPLATE_KINDS)}")
    if not req.name or len(req.name) > 64:
        raise InvalidArgument("Request.Name is required (at most 64 characters)")
    kind = TEMPLATE_KINDS[req.tag]
    unknown = sorted(set(req.params) - set(kind.params) - {NOTE})
    if unknown:
        raise InvalidArgument(f"Request.{unknown[0]} is not allowed in a {req.tag} template")
    if kind.wrapped and not isinstance(req.params.get(kind.params[0]), dict):
        raise InvalidArgument(f"Request.{kind.params[0]} is required")
    if kind.needs_container and "Container" not in req.params:
        raise InvalidArgument("Request.Container is required")
    return kind


def check_operation_of(req: TemplateRequest, kind: TemplateKind) -> None:
    """The job rules over the operation the template would make (names point at the template body)."""
    if kind.job_tag is None:
        return
    op: dict[str, Any] = {} if kind.wrapped else {kind.inline: {}}
    holder = op if kind.wrapped else op[kind.inline]
    holder.update(kind.apply(copy.deepcopy(parameters(req.params))))  # as a job runs it (HighSpeedHd: TSC)
    if kind.job_tag != req.tag:  # a template-only kind (Watermark) checked inside a minimal job of its Tag
        op.setdefault(kind.job_tag, {"Container": {"Format": "mp4"}})
    op["Output"] = {"Region": "ap-guangzhou", "Bucket": "check-1250000000", **dict(kind.check_output)}
    try:
        check_operation(kind.job_tag, op)
    except InvalidArgument as exc:
        raise InvalidArgument(template_path(exc.message, kind)) from exc


def template_path(message: str, kind: TemplateKind) -> str:
    """Say `Request.Video.Codec` (the template body) where the job check said `Request.Operation.Transcode.Video`."""
    prefix = "Request.Operation." if kind.wrapped else f"Request.Operation.{kind.inline}."
    return message.replace(prefix, "Request.")


_TEMPLATE_KEYS = frozenset({"TemplateId", "TranscodeTemplateId", "WatermarkTemplateId"})
_WORKFLOW_PAGE = 100


def _names_template(value: Any, template_id: str) -> bool:
    """Whether a parsed body names `template_id` under one of the template-id keys, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TEMPLATE_KEYS and template_id in (str(i).strip() for i in xmlio.as_list(item)):
                return True
            if _names_template(item, template_id):
                return True
    elif isinstance(value, list):
        return any(_names_template(item, template_id) for item in value)
    return False


class Templates:
    """Template use cases over the Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, bucket: Bucket, req: TemplateRequest, template_id: str = "") -> TemplateRecord:
        """POST /template (another protocol may choose the id, e.g. from its own numbering)."""
        check_operation_of(req, check_request(req))
        now = time.time()
        t = TemplateRecord(template_id or ids.new_template_id(), bucket.name, req.name, req.tag, req.params, now, now)
        await self.store.put_template(t)
        return t

    async def update(self, bucket: Bucket, template_id: str, req: TemplateRequest) -> TemplateRecord:
        """PUT /template/<id>: a full replace; Official presets cannot change."""
        old = await self.get(bucket, template_id)
        if old.template_id in OFFICIAL:
            raise AccessDenied(f"Official template {template_id} cannot be modified.")
        check_operation_of(req, check_request(req))
        if req.tag != old.tag:
            raise InvalidArgument(f"Request.Tag cannot change from {old.tag} to {req.tag}")
        t = TemplateRecord(template_id, bucket.name, req.name, req.tag, req.params, old.created, time.time())
        await self.store.put_template(t)
        return t

    async def delete(self, bucket: Bucket, template_id: str) -> None:
        """DELETE /template/<id>."""
        if template_id in OFFICIAL:
            raise AccessDenied(f"Official template {template_id} cannot be deleted.")
        user = await self._workflow_using(bucket, template_id)
        if user is not None:
            raise InvalidArgument(f"The template {template_id} is used by workflow {user.workflow_id} ({user.name}): "
                                  "change or delete the workflow first")
        if not await self.store.delete_template(bucket.name, template_id):
            raise NoSuchTemplate(f"The template {template_id} does not exist.")

    async def _workflow_using(self, bucket: Bucket, template_id: str) -> WorkflowRecord | None:
        """A workflow of the bucket whose nodes name the template (TemplateId, TranscodeTemplateId or
        WatermarkTemplateId): deleting it would fail every execution of the workflow from then on."""
        offset = 0
        while True:
            page, total = await self.store.list_workflows(bucket.name, [], "", offset, _WORKFLOW_PAGE)
            for workflow in page:
                if _names_template(workflow.topology, template_id):
                    return workflow
            offset += len(page)
            if not page or offset >= total:
                return None

    async def get(self, bucket: Bucket, template_id: str) -> TemplateRecord:
        """A custom template of the bucket or an Official one."""
        found = OFFICIAL.get(template_id) or await self.store.get_template(bucket.name, template_id)
        if found is None:
            raise NoSuchTemplate(f"The template {template_id} does not exist.")
        return found

    async def describe(self, bucket: Bucket, params: dict[str, str]) -> tuple[list[TemplateRecord], int, int, int]:
        """GET /template: (page, total, pageNumber, pageSize)."""
        category = params.get("category") or "Custom"
        if category not in CATEGORIES:
            raise InvalidArgument(f"category must be Custom or Official, not {category!r}")
        tag = params.get("tag") or ""
        tag = "" if tag == "All" else tag
        if tag and tag not in TEMPLATE_KINDS:
            raise InvalidArgument(f"tag {tag!r} must be All or one of {', '.join(TEMPLATE_KINDS)}")
        page, size = _int(params, "pageNumber", 1, 1, 10**6), _int(params, "pageSize", 10, 1, 100)
        wanted = [i for i in (params.get("ids") or "").split(",") if i]
        name = params.get("name") or ""
        if category == "Official":
            rows = [t for t in OFFICIAL.values() if (not tag or t.tag == tag) and t.name.startswith(name)
                    and (not wanted or t.template_id in wanted)]
            return rows[(page - 1) * size:page * size], len(rows), page, size
        found, total = await self.store.list_templates(bucket.name, tag, name, wanted, (page - 1) * size, size)
        return found, total, page, size


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidArgument(f"{name} must be an integer between {low} and {high}")
    return int(raw)
