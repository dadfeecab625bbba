"""Validate POST /jobs bodies against schemas/<Tag>.xsd, whatever order the children come in.

Request time uses libxml2 (lxml's ``XMLSchema``). CI clients send children in any order (the
Python SDK builds bodies from user dicts): content models whose children occur at most once
are xs:all, which libxml2 matches in any order; the few that XSD 1.0 forces to be xs:sequence
(a child repeats, or a group is referenced) are made order-free here. Each schema is read once,
at load time, into a table of its content models; a body that fails as sent is validated again
from a copy whose sequence models had their children sorted into the declared order, and only
that verdict counts. Children the schema does not know sort last, where libxml2 reports them as
unexpected.

libxml2's messages are turned into CI-style ones that name the element by its dotted path
(``Request.Operation.Output.Bucket is required``); the first problem found is reported as
``InvalidArgument``. Rules that span elements in an order-free way (TemplateId or the inline
parameter container) are checked in code after the schema.

One ``Validator`` serves one thread: lxml keeps each schema's error log on the schema object.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema.names import (
    XSD_MAX_EXCLUSIVE,
    XSD_MAX_INCLUSIVE,
    XSD_MAX_LENGTH,
    XSD_MIN_EXCLUSIVE,
    XSD_MIN_INCLUSIVE,
    XSD_MIN_LENGTH,
    XSD_PATTERN,
)

from ...errors import InvalidArgument
from ...tags import REGISTRY

_LAST = 1 << 30  # rank of a child the schema does not declare
_SHOWN_VALUE = 64  # longest value echoed in a message
_XSD_PARSER = etree.XMLParser(no_network=True, resolve_entities=False)
_by_rank = itemgetter(0)

_ATTRIBUTE_ERRORS = frozenset(
    {"SCHEMAV_CVC_TYPE_3_1_1", "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1", "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2"}
)
# (facet, as one end of an interval, as the only bound) for numeric ranges in messages
_BOUNDS = (
    (XSD_MIN_INCLUSIVE, "[{}", ">= {}"),
    (XSD_MIN_EXCLUSIVE, "({}", "> {}"),
    (XSD_MAX_INCLUSIVE, "{}]", "<= {}"),
    (XSD_MAX_EXCLUSIVE, "{})", "< {}"),
)

# xmlschema's component classes; their facet API is dynamic, so they are handled as Any here
_XsdType = Any


@dataclass(frozen=True, slots=True)
class _Child:
    """One child declaration of a content model."""

    min_occurs: int
    max_occurs: int | None
    expected: str  # what a simple value must look like; "" for complex children


@dataclass(frozen=True, slots=True)
class _Node:
    """The content model of a complex element: child declarations and canonical order."""

    order: dict[str, int]
    children: dict[str, _Child]
    subnodes: dict[str, _Node]
    ordered: bool  # an xs:sequence of several names: children must be sorted before validation
    via: dict[str, _Node]  # complex children that are, or contain, ordered models


@dataclass(frozen=True, slots=True)
class _TagSchema:
    """Everything needed to validate the bodies of one Tag."""

    tag: str
    xsd: etree.XMLSchema
    tree: _Node  # content of the Request element
    container: str | None  # inline parameter container that TemplateId can stand in for


class Validator:
    """Validates job request bodies against one XSD per Tag."""

    def __init__(self, schema_dir: Path) -> None:
        """Load every schemas/<Tag>.xsd; shared-type files have lowercase names and are skipped."""
        paths = sorted(p for p in Path(schema_dir).glob("*.xsd") if p.stem[:1].isupper())
        if not paths:
            raise ValueError(f"no <Tag>.xsd schema in {schema_dir}")
        self._schemas = {p.stem: _load(p) for p in paths}

    @property
    def tags(self) -> frozenset[str]:
        """The Tags this validator has a schema for."""
        return frozenset(self._schemas)

    def validate(self, root: etree._Element) -> str:
        """Check a parsed body; return its Tag or raise InvalidArgument. ``root`` is not changed."""
        schema = self._schema_for(root)
        if not schema.xsd.validate(root):
            _validate_canonical(schema, root)
        _check_template_or_container(schema, root)
        return schema.tag

    def _schema_for(self, root: etree._Element) -> _TagSchema:
        if root.tag != "Request":
            raise InvalidArgument(f"The root element must be Request, not '{root.tag}'")
        tag = _text(_child(root, "Tag"))
        if not tag:
            hint = ""
            if root.find("Operation/Tag") is not None:
                hint = " (requests with several tagged Operations are not supported yet)"
            raise InvalidArgument(f"Request.Tag is required{hint}")
        schema = self._schemas.get(tag)
        if schema is None:
            supported = ", ".join(sorted(self._schemas))
            raise InvalidArgument(f"Request.Tag '{tag}' is not supported; supported tags: {supported}")
        return schema


# --- request time ---------------------------------------------------------------------------


def _validate_canonical(schema: _TagSchema, root: etree._Element) -> None:
    doc = copy.deepcopy(root)
    _reorder(doc, schema.tree)
    if schema.xsd.validate(doc):
        return
    entry = next(iter(schema.xsd.error_log))
    raise InvalidArgument(_explain(schema.tree, doc, entry))


def _reorder(el: etree._Element, node: _Node) -> None:
    """Sort the children of sequence models into declared order (stable; unknown names last)."""
    if node.ordered:
        order = node.order
        kids = list(el)
        ranks = [order.get(k.tag, _LAST) for k in kids]
        if ranks != sorted(ranks):
            el[:] = [k for _, k in sorted(zip(ranks, kids, strict=True), key=_by_rank)]
    for name, sub in node.via.items():
        for child in el.iterchildren(name):
            _reorder(child, sub)


def _check_template_or_container(schema: _TagSchema, root: etree._Element) -> None:
    if schema.container is None:
        return
    op = _child(root, "Operation")
    if op is None or _text(_child(op, "TemplateId")) or _child(op, schema.container) is not None:
        return
    raise InvalidArgument(
        f"Request.Operation.{schema.container} or Request.Operation.TemplateId is required"
    )


def _child(el: etree._Element, name: str) -> etree._Element | None:
    # iterchildren filters in C; find() parses an ElementPath on every call
    return next(el.iterchildren(name), None)


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


# --- error messages -------------------------------------------------------------------------


def _explain(tree: _Node, doc: etree._Element, entry: etree._LogEntry) -> str:
    """Turn libxml2's first error into a message that names the element by its dotted path."""
    found = doc.getroottree().xpath(entry.path) if entry.path else []
    if not found:
        return f"The request body is invalid: {entry.message}"
    el = found[0]
    kind = entry.type_name
    if kind == "SCHEMAV_ELEMENT_CONTENT":
        parent = el if "Missing child" in entry.message else el.getparent()
        problem = _structure_problem(tree, parent) if parent is not None else None
        return problem or f"{_dotted(el)} is invalid: {entry.message}"
    if kind == "SCHEMAV_CVC_COMPLEX_TYPE_2_3":
        return f"{_dotted(el)} must contain elements, not text"
    if kind in ("SCHEMAV_CVC_TYPE_3_1_2", "SCHEMAV_CVC_COMPLEX_TYPE_2_1"):
        return f"{_dotted(el)} must be a plain value, not contain elements"
    if kind in _ATTRIBUTE_ERRORS and el.attrib:
        return f"{_dotted(el)} must not carry attributes (found '{next(iter(el.attrib))}')"
    return _value_problem(tree, el) or f"{_dotted(el)} is invalid: {entry.message}"


def _structure_problem(tree: _Node, parent: etree._Element) -> str | None:
    """Say which child of ``parent`` is unknown, repeated too often or missing."""
    node = _node_of(tree, parent)
    if node is None:
        return None
    where = _dotted(parent)
    names = [k.tag for k in parent if isinstance(k.tag, str)]
    for name in names:
        if name not in node.children:
            return f"{where}.{name} is not allowed here"
    counts = Counter(names)
    for name, child in node.children.items():
        if child.max_occurs is not None and counts[name] > child.max_occurs:
            times = "once" if child.max_occurs == 1 else f"{child.max_occurs} times"
            return f"{where}.{name} may occur at most {times}"
    for name, child in node.children.items():
        if counts[name] < child.min_occurs:
            return f"{where}.{name} is required"
    return None


def _value_problem(tree: _Node, el: etree._Element) -> str | None:
    parent = el.getparent()
    node = _node_of(tree, parent) if parent is not None else None
    child = node.children.get(el.tag) if node is not None else None
    if child is None:
        return None
    value = _text(el)
    if not value:
        return f"{_dotted(el)} is required"
    if len(value) > _SHOWN_VALUE:
        value = value[:_SHOWN_VALUE] + "..."
    expected = f"; expected {child.expected}" if child.expected else ""
    return f"{_dotted(el)} has an invalid value '{value}'{expected}"


def _node_of(tree: _Node, el: etree._Element) -> _Node | None:
    node: _Node | None = tree
    for name in _path(el)[1:]:
        node = node.subnodes.get(name) if node is not None else None
    return node


def _path(el: etree._Element) -> list[str]:
    names = [el.tag, *(a.tag for a in el.iterancestors())]
    names.reverse()
    return names


def _dotted(el: etree._Element) -> str:
    return ".".join(_path(el))


# --- load time ------------------------------------------------------------------------------


def _load(path: Path) -> _TagSchema:
    xsd = etree.XMLSchema(etree.parse(str(path), _XSD_PARSER))
    model = xmlschema.XMLSchema10(str(path))
    request = model.elements.get("Request")
    if request is None:
        raise ValueError(f"{path} declares no Request element")
    tree = _content_model(request.type)
    op = tree.subnodes.get("Operation")
    tag = path.stem
    name = REGISTRY[tag].container if tag in REGISTRY else tag
    container = name if op is not None and name in op.subnodes and "TemplateId" in op.children else None
    return _TagSchema(tag=tag, xsd=xsd, tree=tree, container=container)


def _content_model(ctype: _XsdType) -> _Node:
    """Read a complex type's child declarations in sequence order (the schemas are not recursive)."""
    order: dict[str, int] = {}
    children: dict[str, _Child] = {}
    subnodes: dict[str, _Node] = {}
    content = ctype.content
    for rank, decl in enumerate(content.iter_elements()):
        name = decl.local_name
        if name in order:
            continue
        order[name] = rank
        if decl.type.is_simple() or decl.type.has_simple_content():
            simple = decl.type if decl.type.is_simple() else decl.type.content
            children[name] = _Child(decl.min_occurs, decl.max_occurs, _describe(simple))
        else:
            children[name] = _Child(decl.min_occurs, decl.max_occurs, "")
            subnodes[name] = _content_model(decl.type)
    ordered = content.model == "sequence" and len(order) > 1
    via = {name: sub for name, sub in subnodes.items() if sub.ordered or sub.via}
    return _Node(order, children, subnodes, ordered, via)


def _describe(stype: _XsdType) -> str:
    """What a value of a simple type must look like, for error messages."""
    annotation = getattr(stype, "annotation", None)
    documented = " ".join(d.text or "" for d in getattr(annotation, "documentation", ()))
    if documented.strip():
        return " ".join(documented.split())
    if stype.is_union():
        parts = [_describe(m) for m in stype.member_types if getattr(m, "max_length", None) != 0]
        return " or ".join(parts)
    enumeration = getattr(stype, "enumeration", None)
    if enumeration:
        values = [str(v) for v in enumeration]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    facets = _facets(stype)
    if stype.primitive_type.local_name in ("decimal", "float", "double"):
        return _describe_number(stype, facets)
    return _describe_text(facets)


def _facets(stype: _XsdType) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    while stype is not None:
        for key, facet in (getattr(stype, "facets", None) or {}).items():
            if key is not None:
                merged.setdefault(key, facet)
        stype = getattr(stype, "base_type", None)
    return merged


def _describe_number(stype: _XsdType, facets: dict[str, Any]) -> str:
    kind = "a number"
    base = stype
    while base is not None:
        if base.local_name == "integer":
            kind = "an integer"
        base = getattr(base, "base_type", None)
    ends = [(end.format(facets[key].value), alone.format(facets[key].value))
            for key, end, alone in _BOUNDS if key in facets]
    if len(ends) == 2:
        return f"{kind} in {ends[0][0]}, {ends[1][0]}"
    if ends:
        return f"{kind} {ends[0][1]}"
    return kind


def _describe_text(facets: dict[str, Any]) -> str:
    min_length = facets[XSD_MIN_LENGTH].value if XSD_MIN_LENGTH in facets else 0
    text = "a non-empty value" if min_length else "a value"
    if XSD_MAX_LENGTH in facets:
        text += f" of at most {facets[XSD_MAX_LENGTH].value} characters"
    if XSD_PATTERN in facets:
        text += " matching " + " or ".join(facets[XSD_PATTERN].regexps)
    return text
