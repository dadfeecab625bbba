"""CI's XML request bodies into the typed requests of the use cases (`app.requests`).

Job bodies are validated against schemas/<Tag>.xsd (the `Validator`), one Request per tagged
Operation of the multi-job form; template parameters are validated by the XSD of the job they would
make. What the use cases check (rules, templates, queues, callbacks) is left to them.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from ... import xmlio
from ...app.jobs import MAX_OPERATIONS
from ...app.requests import JobRequest, Operation, QueueUpdate, TemplateRequest
from ...app.templates import check_request, template_path
from ...config import Bucket
from ...errors import InvalidArgument
from .validation import Validator

CALLBACK_FIELDS = ("CallBack", "CallBackFormat", "CallBackType", "CallBackMqConfig")
ECHO_FIELDS = ("QueueType",)


def job_request(bucket: Bucket, body: bytes, validator: Validator) -> JobRequest:
    """A POST /jobs body (one Operation, or up to 6 tagged ones) as one JobRequest."""
    operations: list[Operation] = []
    request: dict[str, Any] = {}
    for root in _split_operations(xmlio.parse(body)):
        tag = validator.validate(root)
        request = xmlio.to_dict(root)
        if not isinstance(request, dict):
            raise InvalidArgument("Request must contain elements")
        operations.append(Operation(tag, dict(request.get("Operation") or {})))
    return JobRequest(
        bucket=bucket,
        input_key=str((request.get("Input") or {}).get("Object", "") if isinstance(request.get("Input"), dict)
                      else ""),
        operations=tuple(operations),
        queue_id=str(request.get("QueueId") or ""),
        callback={k: request[k] for k in CALLBACK_FIELDS if request.get(k)},
        echo={k: request[k] for k in ECHO_FIELDS if request.get(k)},
    )


def _split_operations(root: etree._Element) -> list[etree._Element]:
    """One Request per job: the body itself, or one per tagged Operation of the multi-job form."""
    if next(root.iterchildren("Tag"), None) is not None:  # iterchildren: no ElementPath parse per call
        return [root]
    ops = list(root.iterchildren("Operation"))
    if not ops or all(next(op.iterchildren("Tag"), None) is None for op in ops):
        return [root]
    if len(ops) > MAX_OPERATIONS:
        raise InvalidArgument(f"Request.Operation may occur at most {MAX_OPERATIONS} times")
    shared = [c for c in root if c.tag != "Operation"]
    out = []
    for op in ops:
        tag = op.find("Tag")
        if tag is None:
            raise InvalidArgument("Request.Operation.Tag is required when a request carries several Operations")
        req = etree.Element("Request")
        etree.SubElement(req, "Tag").text = tag.text
        for c in shared:
            req.append(copy.deepcopy(c))
        single = copy.deepcopy(op)
        single.remove(single.find("Tag"))
        req.append(single)
        out.append(req)
    return out


def template_request(body: bytes, validator: Validator) -> TemplateRequest:
    """A POST/PUT /template body, its parameters checked against the XSD of the job they would make."""
    root = xmlio.parse(body)
    request = xmlio.to_dict(root)
    if root.tag != "Request" or not isinstance(request, dict):
        raise InvalidArgument("the body must be a <Request> with Tag, Name and parameters")
    tag, name = str(request.get("Tag") or "").strip(), str(request.get("Name") or "").strip()
    extra = sorted(set(request) - {"Tag", "Name"})
    req = TemplateRequest(tag, name, {k: request[k] for k in extra})
    kind = check_request(req)
    if kind.job_tag is None or kind.job_tag not in validator.tags:
        return req
    job = etree.Element("Request")
    etree.SubElement(job, "Tag").text = kind.job_tag
    etree.SubElement(etree.SubElement(job, "Input"), "Object").text = "template-check.mp4"
    op = etree.SubElement(job, "Operation")
    holder = op if kind.wrapped else etree.SubElement(op, kind.inline)
    for child in root:
        if child.tag in kind.params:
            holder.append(copy.deepcopy(child))
    if kind.job_tag != tag and op.find(kind.job_tag) is None:  # a template-only kind (Watermark) needs a job
        etree.SubElement(etree.SubElement(etree.SubElement(op, kind.job_tag), "Container"), "Format").text = "mp4"
    out = etree.SubElement(op, "Output")
    for k, v in (("Region", "ap-guangzhou"), ("Bucket", "check-1250000000"), *kind.check_output):
        etree.SubElement(out, k).text = v
    try:
        validator.validate(job)
    except InvalidArgument as exc:
        raise InvalidArgument(template_path(exc.message, kind)) from exc
    return req


def queue_update(body: bytes) -> QueueUpdate:
    """A PUT /queue/<id> body."""
    request = xmlio.to_dict(xmlio.parse(body))
    if not isinstance(request, dict):
        raise InvalidArgument("Request.Name is required")
    notify = request.get("NotifyConfig")
    return QueueUpdate(str(request.get("Name") or ""), str(request.get("State") or ""),
                       notify if isinstance(notify, dict) else {})
