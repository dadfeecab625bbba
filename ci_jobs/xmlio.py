"""Safe XML in, CI-shaped XML out.

Parsing never resolves entities, never loads a DTD and never touches the network; a body with a
DOCTYPE is refused outright. Trees become plain dicts the way xmltodict (the SDK's own library)
shapes them: a leaf is its text, repeated children become a list, attributes are dropped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from lxml import etree

from .errors import MalformedXML, MissingContent

T = TypeVar("T")

MAX_BODY = 1 << 20  # 1 MiB is far above any CI request body

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse(body: bytes) -> etree._Element:
    """Parse a request body safely; raise MalformedXML / MissingContent on bad input."""
    if not body or not body.strip():
        raise MissingContent("The request body is missing.")
    if len(body) > MAX_BODY:
        raise MalformedXML(f"The request body exceeds {MAX_BODY} bytes.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedXML("DOCTYPE and ENTITY declarations are not allowed.")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"The XML you provided was not well-formed: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # The byte search above misses UTF-16/UTF-32 bodies: the parsed tree is what counts.
        raise MalformedXML("DOCTYPE and ENTITY declarations are not allowed.")
    if b"xmlns" in body:
        _strip_namespaces(root)
    return root


def _strip_namespaces(root: etree._Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    etree.cleanup_namespaces(root)


def to_dict(el: etree._Element) -> Any:
    """Turn an element into str (leaf) or dict (children; repeated names become lists)."""
    # On the submit path: plain iteration and len() (no filtered iterator per element) halve its cost.
    if len(el):
        out: dict[str, Any] = {}
        for c in el:
            tag = c.tag
            if tag.__class__ is not str:  # a comment, PI or entity node carries no data
                continue
            value = to_dict(c)
            if tag in out:
                prev = out[tag]
                if prev.__class__ is list:
                    prev.append(value)
                else:
                    out[tag] = [prev, value]
            else:
                out[tag] = value
        if out:
            return out
    text = el.text
    return text.strip() if text else ""


def copy_tree(value: T) -> T:
    """A deep copy of a parsed request value (dicts, lists, leaves), much cheaper than copy.deepcopy."""
    return _copy(value)  # type: ignore[no-any-return]


def _copy(value: Any) -> Any:
    if value.__class__ is dict:
        return {k: _copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_copy(v) for v in value]
    if value is None or value.__class__ in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool, bytes})


def build(tag: str, value: Any) -> etree._Element:
    """Build an element from a str / number / bool / dict / list value (lists repeat the tag)."""
    el = etree.Element(tag)
    _fill(el, value)
    return el


def _fill(el: etree._Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            append(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def append(parent: etree._Element, tag: str, value: Any) -> None:
    """Append `tag` children to `parent`; a list value appends one sibling per item."""
    if isinstance(value, list):
        for item in value:
            append(parent, tag, item)
        return
    child = etree.SubElement(parent, tag)
    _fill(child, value)


def dumps(tag: str, value: Any) -> bytes:
    """Serialise `value` under a root `tag` with an XML declaration (same output as `build`, faster)."""
    parts: list[str] = ["<?xml version='1.0' encoding='utf-8'?>\n"]
    _write(parts, tag, value)
    return "".join(parts).encode("utf-8")


def _write(parts: list[str], tag: str, value: Any) -> None:
    # The submit hot path (a JobsDetail echo is ~30 elements, most of them text): exact-class checks, the
    # text leaf first, one regex search per leaf.
    cls = value.__class__
    if cls is str:
        text = value
    elif cls is dict or (cls is not list and isinstance(value, dict)):
        if not value:
            parts.append(f"<{tag}/>")
            return
        parts.append(f"<{tag}>")
        for k, v in value.items():
            _write(parts, k, v)
        parts.append(f"</{tag}>")
        return
    elif cls is list or isinstance(value, list):
        for item in value:
            _write(parts, tag, item)
        return
    elif value is None:
        parts.append(f"<{tag}/>")
        return
    else:
        text = ("true" if value else "false") if cls is bool else str(value)
    if not text:
        parts.append(f"<{tag}/>")
    elif _SPECIAL.search(text) is None:
        parts.append(f"<{tag}>{text}</{tag}>")
    else:
        parts.append(f"<{tag}>{_escape(text)}</{tag}>")


_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff&<>\r]")  # what _escape changes


def _escape(text: str) -> str:
    text = _INVALID.sub("", text)  # characters XML 1.0 cannot carry (FFmpeg messages may hold them)
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def as_list(value: Any) -> list[Any]:
    """Normalise a maybe-repeated dict value to a list (absent -> [])."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def first(items: Iterable[Any], default: Any = None) -> Any:
    """Return the first item or `default`."""
    for item in items:
        return item
    return default
