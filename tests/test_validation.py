"""Request validation: examples pass in any child order; each kind of mistake gets a CI-style message."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import xmltodict
from lxml import etree

from ci_jobs import xmlio
from ci_jobs.errors import InvalidArgument, MalformedXML
from ci_jobs.protocols.ci.validation import Validator
from ci_jobs.tags import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "examples" / "jobs"
TAGS = sorted(p.stem for p in SCHEMAS.glob("*.xsd") if p.stem[:1].isupper())
CONTAINER_TAGS = ["Animation", "Snapshot", "Transcode"]


@pytest.fixture(scope="module")
def validator() -> Validator:
    """One validator for the module: loading the schemas is the slow part."""
    return Validator(SCHEMAS)


def example(tag: str) -> etree._Element:
    """The parsed examples/jobs/<tag>.xml."""
    return xmlio.parse((EXAMPLES / f"{tag}.xml").read_bytes())


def shuffled(root: etree._Element, seed: int) -> etree._Element:
    """A copy of ``root`` with every element's children in a random order."""
    rng = random.Random(seed)
    doc = copy.deepcopy(root)
    for el in list(doc.iter()):
        kids = list(el)
        rng.shuffle(kids)
        el[:] = kids
    return doc


def edited(tag: str, edit: Callable[[etree._Element], object]) -> etree._Element:
    """The example for ``tag`` after ``edit`` changed it in place."""
    root = example(tag)
    edit(root)
    return root


def one(root: etree._Element, path: str) -> etree._Element:
    """The single element at ``path`` below ``root``."""
    found = root.find(path)
    assert found is not None, path
    return found


def remove(path: str) -> Callable[[etree._Element], None]:
    """An edit that removes the element at ``path``."""

    def edit(root: etree._Element) -> None:
        el = one(root, path)
        parent = el.getparent()
        assert parent is not None
        parent.remove(el)

    return edit


def set_text(path: str, text: str) -> Callable[[etree._Element], None]:
    """An edit that sets the text of the element at ``path``."""

    def edit(root: etree._Element) -> None:
        one(root, path).text = text

    return edit


def add(path: str, xml: str, count: int = 1) -> Callable[[etree._Element], None]:
    """An edit that appends ``count`` copies of ``xml`` under the element at ``path``."""

    def edit(root: etree._Element) -> None:
        parent = one(root, path) if path else root
        for _ in range(count):
            parent.append(etree.fromstring(xml))

    return edit


def message(validator: Validator, root: etree._Element) -> str:
    """The InvalidArgument message ``root`` gets, in document order and shuffled."""
    with pytest.raises(InvalidArgument) as caught:
        validator.validate(root)
    with pytest.raises(InvalidArgument) as caught_shuffled:
        validator.validate(shuffled(root, seed=3))
    assert caught_shuffled.value.message == caught.value.message
    return caught.value.message


# --- conventions --------------------------------------------------------------------------


def test_every_tag_schema_has_an_example() -> None:
    assert TAGS, "no schemas/<Tag>.xsd found"
    missing = [tag for tag in TAGS if not (EXAMPLES / f"{tag}.xml").is_file()]
    assert not missing, f"schemas without examples/jobs/<Tag>.xml: {missing}"


def test_validator_loads_every_tag_schema(validator: Validator) -> None:
    assert validator.tags == frozenset(TAGS)


def test_request_children_after_operation_agree_across_tags() -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    shapes = {}
    for tag in TAGS:
        request = one(etree.parse(str(SCHEMAS / f"{tag}.xsd")).getroot(), f"{xs}element[@name='Request']")
        decls = [d for d in request.iterdescendants(f"{xs}element") if d.get("name") not in ("Tag", "Operation")]
        if not REGISTRY[tag].needs_input:  # Concat: Input, and Input.Object, may be left out
            assert one(request, f".//{xs}element[@name='Input']").get("minOccurs") == "0"
            decls = [d for d in decls if d.get("name") != "Input"]
            decls.append(etree.fromstring(f'<xs:element xmlns:xs="{xs[1:-1]}" name="Input" type="Input"/>'))
        shapes[tag] = sorted(etree.tostring(d, with_tail=False) for d in decls)
    assert len({tuple(v) for v in shapes.values()}) == 1, "Request children differ between Tag schemas"


# --- valid bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_example_validates(validator: Validator, tag: str) -> None:
    assert validator.validate(example(tag)) == tag


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tag", TAGS)
def test_child_order_does_not_matter(validator: Validator, tag: str, seed: int) -> None:
    assert validator.validate(shuffled(example(tag), seed)) == tag


def test_validate_leaves_the_tree_alone(validator: Validator) -> None:
    root = shuffled(example("Transcode"), seed=1)
    before = etree.tostring(root)
    validator.validate(root)
    assert etree.tostring(root) == before


def test_template_id_replaces_the_inline_container(validator: Validator) -> None:
    root = edited("Transcode", remove("Operation/Transcode"))
    one(root, "Operation").insert(0, etree.fromstring("<TemplateId>t1460606b9752148c4ab182f55163ba7cd</TemplateId>"))
    assert validator.validate(root) == "Transcode"


@pytest.mark.parametrize("empty", ["<Width/>", "<Width></Width>", "<Width>  </Width>"])
def test_empty_optional_values_are_accepted(validator: Validator, empty: str) -> None:
    root = edited("Transcode", remove("Operation/Transcode/Video/Width"))
    one(root, "Operation/Transcode/Video").append(etree.fromstring(empty))
    one(root, "Operation").append(etree.fromstring("<JobLevel/>"))
    one(root, "Operation").remove(one(root, "Operation/JobLevel"))
    assert validator.validate(root) == "Transcode"


def test_values_may_carry_surrounding_whitespace(validator: Validator) -> None:
    root = edited("Transcode", set_text("Operation/Transcode/Video/Width", "\n  1280 \n"))
    one(root, "Operation/Transcode/Container/Format").text = " mp4 "
    assert validator.validate(root) == "Transcode"


def test_sdk_style_body_from_xmltodict_validates(validator: Validator) -> None:
    # the shape and key order of the SDK demos: Input before Tag, Output before the container,
    # unset fields as "" or None
    body = {
        "Request": {
            "Input": {"Object": "input/demo.mp4"},
            "Tag": "Transcode",
            "Operation": {
                "Output": {"Bucket": "examplebucket-1250000000", "Region": "ap-guangzhou",
                           "Object": "output/demo.${ext}"},
                "Transcode": {
                    "Video": {"Width": "1280", "Height": "", "Codec": "H.264", "Fps": None, "Remove": False},
                    "Container": {"Format": "mp4"},
                    "Audio": {"Samplerate": "44100", "Codec": "aac"},
                },
                "Watermark": [
                    {"Type": "Text", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "8", "Dy": "8",
                     "Text": {"Text": "one", "FontSize": "20"}},
                    {"Dy": "8", "Dx": "8", "LocMode": "Relativity", "Pos": "BottomRight", "Type": "Text",
                     "Text": {"FontColor": "#FFFFFF", "Text": "two"}},
                ],
                "JobLevel": 1,
                "UserData": "",
            },
            "CallBackType": "Url",
        }
    }
    root = xmlio.parse(xmltodict.unparse(body).encode())
    assert validator.validate(root) == "Transcode"


def test_media_info_needs_no_output(validator: Validator) -> None:
    body = b"<Request><Operation/><Input><Object>a.mp4</Object></Input><Tag>MediaInfo</Tag></Request>"
    assert validator.validate(xmlio.parse(body)) == "MediaInfo"


# --- the Tag ------------------------------------------------------------------------------


def test_missing_tag(validator: Validator) -> None:
    root = edited("Transcode", remove("Tag"))
    assert message(validator, root) == "Request.Tag is required"


def test_empty_tag(validator: Validator) -> None:
    root = edited("Transcode", set_text("Tag", " "))
    assert message(validator, root) == "Request.Tag is required"


def test_unknown_tag(validator: Validator) -> None:
    root = edited("Transcode", set_text("Tag", "Foo"))
    assert message(validator, root) == (
        "Request.Tag 'Foo' is not supported; supported tags: " + ", ".join(sorted(TAGS))
    )


def test_multi_operation_form_says_it_is_not_supported(validator: Validator) -> None:
    root = edited("Transcode", remove("Tag"))
    one(root, "Operation").append(etree.fromstring("<Tag>Transcode</Tag>"))
    assert message(validator, root).startswith("Request.Tag is required (requests with several tagged")


def test_root_must_be_request(validator: Validator) -> None:
    with pytest.raises(InvalidArgument, match="root element must be Request, not 'Job'"):
        validator.validate(xmlio.parse(b"<Job><Tag>Transcode</Tag></Job>"))


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Operation/Output/Bucket", "Request.Operation.Output.Bucket is required"),
        ("Operation/Output/Region", "Request.Operation.Output.Region is required"),
        ("Operation/Output", "Request.Operation.Output is required"),
        ("Operation/Transcode/Container", "Request.Operation.Transcode.Container is required"),
        ("Operation/Watermark/Pos", "Request.Operation.Watermark.Pos is required"),
        ("Input", "Request.Input is required"),
        ("Operation", "Request.Operation is required"),
    ],
)
def test_missing_required_child(validator: Validator, path: str, expected: str) -> None:
    assert message(validator, edited("Transcode", remove(path))) == expected


@pytest.mark.parametrize("tag", [t for t in TAGS if REGISTRY[t].needs_input])
def test_input_object_is_required(validator: Validator, tag: str) -> None:
    assert message(validator, edited(tag, remove("Input/Object"))) == "Request.Input.Object is required"
    assert message(validator, edited(tag, set_text("Input/Object", ""))) == "Request.Input.Object is required"


@pytest.mark.parametrize("tag", CONTAINER_TAGS)
def test_template_id_or_container_is_required(validator: Validator, tag: str) -> None:
    root = edited(tag, remove(f"Operation/{tag}"))
    expected = f"Request.Operation.{tag} or Request.Operation.TemplateId is required"
    assert message(validator, root) == expected
    one(root, "Operation").append(etree.fromstring("<TemplateId/>"))
    assert message(validator, root) == expected


@pytest.mark.parametrize(
    ("path", "xml", "expected"),
    [
        ("Operation", "<Foo>1</Foo>", "Request.Operation.Foo is not allowed here"),
        ("Operation/Transcode/Video", "<Colour>red</Colour>",
         "Request.Operation.Transcode.Video.Colour is not allowed here"),
        ("", "<Priority>1</Priority>", "Request.Priority is not allowed here"),
    ],
)
def test_unknown_element(validator: Validator, path: str, xml: str, expected: str) -> None:
    assert message(validator, edited("Transcode", add(path, xml))) == expected


def test_unknown_element_inside_unknown_element_names_the_outer_one(validator: Validator) -> None:
    root = edited("Transcode", add("Operation", "<Extra><Width>1</Width></Extra>"))
    assert message(validator, root) == "Request.Operation.Extra is not allowed here"


def test_too_many_watermarks(validator: Validator) -> None:
    watermark = etree.tostring(one(example("Transcode"), "Operation/Watermark"), with_tail=False).decode()
    root = edited("Transcode", add("Operation", watermark, 3))
    assert message(validator, root) == "Request.Operation.Watermark may occur at most 3 times"


@pytest.mark.parametrize(
    ("path", "xml", "expected"),
    [
        ("Operation", "<JobLevel>1</JobLevel>", "Request.Operation.JobLevel may occur at most once"),
        ("Operation/Transcode/Video", "<Width>640</Width>",
         "Request.Operation.Transcode.Video.Width may occur at most once"),
        ("", "<Input><Object>b.mp4</Object></Input>", "Request.Input may occur at most once"),
    ],
)
def test_repeated_single_element(validator: Validator, path: str, xml: str, expected: str) -> None:
    assert message(validator, edited("Transcode", add(path, xml))) == expected


def test_text_where_elements_belong(validator: Validator) -> None:
    root = edited("Transcode", set_text("Operation/Transcode/TimeInterval", "5"))
    assert message(validator, root) == "Request.Operation.Transcode.TimeInterval must contain elements, not text"


def test_elements_where_a_value_belongs(validator: Validator) -> None:
    root = edited("Transcode", add("Operation/JobLevel", "<Value>1</Value>"))
    assert message(validator, root) == "Request.Operation.JobLevel must be a plain value, not contain elements"


def test_attributes_are_refused(validator: Validator) -> None:
    root = edited("Transcode", lambda r: one(r, "Operation/Output").set("kind", "cos"))
    assert message(validator, root) == "Request.Operation.Output must not carry attributes (found 'kind')"


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "path", "value", "expected"),
    [
        ("Transcode", "Operation/JobLevel", "5",
         "Request.Operation.JobLevel has an invalid value '5'; expected one of 0, 1, 2"),
        ("Transcode", "Operation/Transcode/Video/Width", "5000",
         "Request.Operation.Transcode.Video.Width has an invalid value '5000'; expected an integer in [128, 4096]"),
        ("Transcode", "Operation/Transcode/Video/Fps", "fast",
         "Request.Operation.Transcode.Video.Fps has an invalid value 'fast'; "
         "expected a number > 0 or a fraction such as 30000/1001"),
        ("Transcode", "Operation/Transcode/Video/Bitrate", "9",
         "Request.Operation.Transcode.Video.Bitrate has an invalid value '9'; "
         "expected an integer in [10, 50000] or auto"),
        ("Transcode", "Operation/Transcode/Container/Format", "mp5",
         "Request.Operation.Transcode.Container.Format has an invalid value 'mp5'; expected one of mp4, flv, hls, "
         "ts, mkv, avi, mov, dash, WebM, webm, mxf, aac, mp3, flac, amr, adts, m4a, wav"),
        ("Transcode", "Operation/Output/Bucket", "Example_Bucket",
         "Request.Operation.Output.Bucket has an invalid value 'Example_Bucket'; "
         "expected a bucket name such as examplebucket-1250000000"),
        ("Transcode", "Operation/Watermark/Dx", "left",
         "Request.Operation.Watermark.Dx has an invalid value 'left'; expected a number"),
        ("Transcode", "Operation/Transcode/TimeInterval/Start", "-1",
         "Request.Operation.Transcode.TimeInterval.Start has an invalid value '-1'; expected a number >= 0"),
        ("Snapshot", "Operation/Snapshot/Count", "0",
         "Request.Operation.Snapshot.Count has an invalid value '0'; expected an integer in [1, 10000]"),
        ("Snapshot", "Operation/Snapshot/TimeInterval", "0",
         "Request.Operation.Snapshot.TimeInterval has an invalid value '0'; expected a number in (0, 3600]"),
        ("Animation", "Operation/Animation/Video/Codec", "H.264",
         "Request.Operation.Animation.Video.Codec has an invalid value 'H.264'; expected one of gif, webp"),
        ("Animation", "Operation/Animation/Video/AnimateOnlyKeepKeyFrame", "yes",
         "Request.Operation.Animation.Video.AnimateOnlyKeepKeyFrame has an invalid value 'yes'; "
         "expected one of true, false"),
        ("MediaInfo", "Operation/JobLevel", "high",
         "Request.Operation.JobLevel has an invalid value 'high'; expected one of 0, 1, 2"),
    ],
)
def test_invalid_value(validator: Validator, tag: str, path: str, value: str, expected: str) -> None:
    assert message(validator, edited(tag, set_text(path, value))) == expected


def test_empty_required_value(validator: Validator) -> None:
    root = edited("Transcode", set_text("Operation/Output/Bucket", ""))
    assert message(validator, root) == "Request.Operation.Output.Bucket is required"


def test_long_values_are_cut_in_messages(validator: Validator) -> None:
    root = edited("Transcode", set_text("Operation/UserData", "x" * 1025))
    assert message(validator, root) == (
        f"Request.Operation.UserData has an invalid value '{'x' * 64}...'; "
        "expected printable ASCII text of at most 1024 characters"
    )


def test_only_the_first_error_is_reported(validator: Validator) -> None:
    root = edited("Transcode", set_text("Operation/JobLevel", "7"))
    one(root, "Operation/Output/Bucket").text = "NOPE"
    text = message(validator, root)
    assert text.count("invalid value") == 1


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Request><Tag>&x;</Tag></Request>",
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><Request><Tag>&b;</Tag></Request>',
    ],
)
def test_entity_bodies_are_refused_before_validation(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        xmlio.parse(body)
