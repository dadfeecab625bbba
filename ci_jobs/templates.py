"""Templates: create/update/list/delete custom ones, list Official presets, resolve ids in jobs.

A template body carries a Tag, a Name and the parameter containers of that Tag (as CI's create API
takes them); the parameters are validated by building the job they would make and running it
through the same XSD and media rules as POST /jobs.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from lxml import etree

from . import ids, xmlio
from .config import Bucket
from .errors import AccessDenied, InvalidArgument, NoSuchTemplate
from .presets import OFFICIAL
from .store import Store, TemplateRecord
from .tags import TEMPLATE_KINDS, TemplateKind, check_operation
from .validation import Validator

CATEGORIES = ("Custom", "Official")


def detail(t: TemplateRecord) -> dict[str, Any]:
    """The Template / TemplateList element of a template."""
    kind = TEMPLATE_KINDS[t.tag]
    body = t.params.get(kind.response, t.params.get(kind.params[0])) if kind.wrapped else t.params
    return {"TemplateId": t.template_id, "Name": t.name, "Tag": t.tag, "BucketId": t.bucket,
            "Category": "Official" if t.template_id in OFFICIAL else "Custom",
            "CreateTime": ids.fmt_time(t.created), "UpdateTime": ids.fmt_time(t.updated),
            kind.response: body}


def inline(t: TemplateRecord) -> Any:
    """The value of the job's inline container that this template stands for."""
    kind = TEMPLATE_KINDS[t.tag]
    return copy.deepcopy(t.params[kind.params[0]] if kind.wrapped else t.params)


class Templates:
    """Template use cases over the Store."""

    def __init__(self, store: Store, validator: Validator) -> None:
        self.store = store
        self.validator = validator

    async def create(self, bucket: Bucket, body: bytes) -> TemplateRecord:
        """POST /template."""
        tag, name, params = self._parse(body)
        now = time.time()
        t = TemplateRecord(ids.new_template_id(), bucket.name, name, tag, params, now, now)
        await self.store.put_template(t)
        return t

    async def update(self, bucket: Bucket, template_id: str, body: bytes) -> TemplateRecord:
        """PUT /template/<id>: a full replace; Official presets cannot change."""
        old = await self.get(bucket, template_id)
        if old.template_id in OFFICIAL:
            raise AccessDenied(f"Official template {template_id} cannot be modified.")
        tag, name, params = self._parse(body)
        if tag != old.tag:
            raise InvalidArgument(f"Request.Tag cannot change from {old.tag} to {tag}")
        t = TemplateRecord(template_id, bucket.name, name, tag, params, old.created, time.time())
        await self.store.put_template(t)
        return t

    async def delete(self, bucket: Bucket, template_id: str) -> None:
        """DELETE /template/<id>."""
        if template_id in OFFICIAL:
            raise AccessDenied(f"Official template {template_id} cannot be deleted.")
        if not await self.store.delete_template(bucket.name, template_id):
            raise NoSuchTemplate(f"The template {template_id} does not exist.")

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

    def _parse(self, body: bytes) -> tuple[str, str, dict[str, Any]]:
        root = xmlio.parse(body)
        request = xmlio.to_dict(root)
        if root.tag != "Request" or not isinstance(request, dict):
            raise InvalidArgument("the body must be a <Request> with Tag, Name and parameters")
        tag, name = str(request.get("Tag") or "").strip(), str(request.get("Name") or "").strip()
        if tag not in TEMPLATE_KINDS:
            raise InvalidArgument(f"Request.Tag {tag!r} must be one of {', '.join(TEMPLATE_KINDS)}")
        if not name or len(name) > 64:
            raise InvalidArgument("Request.Name is required (at most 64 characters)")
        kind = TEMPLATE_KINDS[tag]
        unknown = sorted(set(request) - {"Tag", "Name", *kind.params})
        if unknown:
            raise InvalidArgument(f"Request.{unknown[0]} is not allowed in a {tag} template")
        params = {k: request[k] for k in kind.params if k in request}
        if kind.wrapped and not isinstance(params.get(kind.params[0]), dict):
            raise InvalidArgument(f"Request.{kind.params[0]} is required")
        if kind.needs_container and "Container" not in params:
            raise InvalidArgument("Request.Container is required")
        self._check(root, tag)
        return tag, name, params

    def _check(self, root: etree._Element, tag: str) -> None:
        """Validate the parameters as the job they would make (where the kind has a job Tag)."""
        kind = TEMPLATE_KINDS[tag]
        job_tag = kind.job_tag
        if job_tag is None or job_tag not in self.validator.tags:
            return
        job = etree.Element("Request")
        etree.SubElement(job, "Tag").text = job_tag
        etree.SubElement(etree.SubElement(job, "Input"), "Object").text = "template-check.mp4"
        op = etree.SubElement(job, "Operation")
        holder = op if kind.wrapped else etree.SubElement(op, kind.inline)
        for child in root:
            if child.tag in kind.params:
                holder.append(copy.deepcopy(child))
        if job_tag != tag:  # a template-only kind (Watermark) checked inside a minimal job of its Tag
            etree.SubElement(etree.SubElement(etree.SubElement(op, job_tag), "Container"), "Format").text = "mp4"
        out = etree.SubElement(op, "Output")
        for k, v in (("Region", "ap-guangzhou"), ("Bucket", "check-1250000000"), *kind.check_output):
            etree.SubElement(out, k).text = v
        try:
            self.validator.validate(job)
            check_operation(job_tag, xmlio.to_dict(op))
        except InvalidArgument as exc:
            raise InvalidArgument(_template_path(exc.message, kind)) from exc


def _template_path(message: str, kind: TemplateKind) -> str:
    """Say `Request.Video.Codec` (the template body) where the job check said `Request.Operation.Transcode.Video`."""
    prefix = "Request.Operation." if kind.wrapped else f"Request.Operation.{kind.inline}."
    return message.replace(prefix, "Request.")


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidArgument(f"{name} must be an integer between {low} and {high}")
    return int(raw)
