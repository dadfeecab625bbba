"""CI's workflow and batch-job bodies into typed requests; each node's (and a Type Job batch's) operation is
validated against its Tag's XSD as the POST /jobs body it will become, so a misspelt or unknown
parameter is refused by name when the workflow is saved, not when an upload runs it."""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from ... import xmlio
from ...app.flow_requests import BatchRequest, WorkflowRequest
from ...errors import InvalidArgument
from .validation import Validator

WORKFLOW_FIELDS = frozenset({"Name", "State", "Topology"})
BATCH_FIELDS = frozenset({"Name", "Type", "Input", "Operation"})


def workflow_request(body: bytes, validator: Validator) -> WorkflowRequest:
    """A POST /workflow or PUT /workflow/<id> body."""
    root = xmlio.parse(body)
    flow = root.find("MediaWorkflow")
    if root.tag != "Request" or flow is None:
        raise InvalidArgument("the body must be <Request><MediaWorkflow>...</MediaWorkflow></Request>")
    for child in flow:
        if child.tag not in WORKFLOW_FIELDS:
            raise InvalidArgument(f"Request.MediaWorkflow.{child.tag} is not a workflow field; "
                                  f"use {', '.join(sorted(WORKFLOW_FIELDS))}")
    topology = flow.find("Topology")
    nodes = topology.find("Nodes") if topology is not None else None
    for node in nodes if nodes is not None else ():
        _validate_node(node, validator)
    value = xmlio.to_dict(flow)
    if not isinstance(value, dict):
        raise InvalidArgument("Request.MediaWorkflow.Name is required")
    topo = value.get("Topology")
    return WorkflowRequest(str(value.get("Name") or "").strip(), str(value.get("State") or "").strip(),
                           topo if isinstance(topo, dict) else {})


def _validate_node(node: etree._Element, validator: Validator) -> None:
    kind, op = node.findtext("Type", "").strip(), node.find("Operation")
    if kind not in validator.tags or op is None:
        return  # Start, End and types the use case refuses by name
    where = f"Request.MediaWorkflow.Topology.Nodes.{node.tag}"
    _validate_job(kind, op, validator, where)


def _validate_job(tag: str, op: etree._Element, validator: Validator, where: str) -> None:
    job = etree.Element("Request")
    etree.SubElement(job, "Tag").text = tag
    etree.SubElement(etree.SubElement(job, "Input"), "Object").text = "check.mp4"
    operation = copy.deepcopy(op)
    operation.tag = "Operation"
    job.append(operation)
    try:
        validator.validate(job)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{where}: {exc.message.replace('Request.Operation', 'Operation')}") from exc


def batch_request(body: bytes, validator: Validator) -> BatchRequest:
    """A POST /inventorytriggerjob body (Type Job: its JobParam validated as the job's Operation)."""
    root = xmlio.parse(body)
    if root.tag != "Request":
        raise InvalidArgument("the body must be a <Request> with Name, Type, Input and Operation")
    for child in root:
        if child.tag not in BATCH_FIELDS:
            raise InvalidArgument(f"Request.{child.tag} is not a batch job field; "
                                  f"use {', '.join(sorted(BATCH_FIELDS))}")
    value: Any = xmlio.to_dict(root)
    op = value.get("Operation") if isinstance(value.get("Operation"), dict) else {}
    kind = str(value.get("Type") or "").strip() or ("Workflow" if op.get("WorkflowIds") else "Job")
    param = root.find("Operation/JobParam")
    if kind == "Job" and param is not None and str(op.get("Tag") or "") in validator.tags:
        _validate_job(str(op["Tag"]), param, validator, "Request.Operation.JobParam")
    source = value.get("Input")
    return BatchRequest(str(value.get("Name") or ""), kind, source if isinstance(source, dict) else {}, op)
