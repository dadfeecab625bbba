"""xmlio's hot-path helpers: to_dict shapes trees as xmltodict does, copy_tree copies without sharing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ci_jobs import xmlio

NAMES = st.sampled_from(["A", "B", "Object", "Tag"])
TEXTS = st.sampled_from(["", " ", "x", " 1 ", "a&b", "\u4e2d"])


def _reference(el: etree._Element) -> Any:
    """The former (obviously right, slower) to_dict: element children only, leaves as stripped text."""
    children = list(el.iterchildren(etree.Element))
    if not children:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    for c in children:
        value = _reference(c)
        if c.tag in out:
            out[c.tag] = [*out[c.tag], value] if isinstance(out[c.tag], list) else [out[c.tag], value]
        else:
            out[c.tag] = value
    return out


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    el = etree.Element(draw(NAMES))
    el.text = draw(TEXTS)
    if depth < 3:
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                el.append(draw(trees(depth + 1)))
            else:
                el.append(etree.Comment("note"))  # not data: skipped, as the parser would drop it
    return el


@settings(max_examples=200, deadline=None)
@given(trees())
def test_to_dict_matches_reference(root: etree._Element) -> None:
    assert xmlio.to_dict(root) == _reference(root)


def test_to_dict_shapes() -> None:
    root = xmlio.parse(b"<Request><Tag> Transcode </Tag><W><N>1</N></W><W><N>2</N></W><E/>"
                       b"<C><!-- c --></C></Request>")
    assert xmlio.to_dict(root) == {"Tag": "Transcode", "W": [{"N": "1"}, {"N": "2"}], "E": "", "C": ""}


def test_copy_tree_shares_nothing_mutable() -> None:
    original: dict[str, Any] = {"A": {"B": ["1", {"C": "2"}]}, "N": 3, "F": None, "T": (1, [2])}
    copied = xmlio.copy_tree(original)
    assert copied == original
    copied["A"]["B"][1]["C"] = "changed"
    copied["A"]["B"].append("more")
    copied["T"][1].append(3)
    assert original == {"A": {"B": ["1", {"C": "2"}]}, "N": 3, "F": None, "T": (1, [2])}
