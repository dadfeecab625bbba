"""The Tags: one module per Tag holding its TagSpec, gathered in one REGISTRY that generic code iterates.

Adding a Tag = `tags/<tag>.py` (its SPEC) + `media/<driver>.py` (its driver) + `schemas/<Tag>.xsd` +
`examples/jobs/<Tag>.xml`, and one line below. Nothing outside this package names a Tag, except its
media driver and the CI presets table (a convention test holds that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import object_bucket, object_key, section, text
from . import (
    adaptivestreaming,
    animation,
    concat,
    digitalwatermark,
    extractdigitalwatermark,
    highspeedhd,
    mediainfo,
    noisereduction,
    qualityestimate,
    sdrtohdr,
    segment,
    smartcover,
    snapshot,
    speechrecognition,
    streamextract,
    superresolution,
    transcode,
    tts,
    videoenhance,
    videomontage,
    videoprocess,
    videotag,
    voiceseparate,
    watermark,
)
from .spec import Lane, Role, TagSpec, TemplateKind

__all__ = ["REGISTRY", "TEMPLATE_KINDS", "Lane", "Role", "TagSpec", "TemplateKind", "check_operation",
           "fast_tags", "output_ext", "parse", "referenced_objects", "spec"]

REGISTRY: dict[str, TagSpec] = {s.name: s for s in (
    transcode.SPEC, snapshot.SPEC, animation.SPEC, mediainfo.SPEC, segment.SPEC, concat.SPEC,
    streamextract.SPEC, adaptivestreaming.SPEC,
    videoenhance.SPEC, videoprocess.SPEC, superresolution.SPEC, sdrtohdr.SPEC, qualityestimate.SPEC,
    digitalwatermark.SPEC, extractdigitalwatermark.SPEC,
    noisereduction.SPEC, voiceseparate.SPEC, tts.SPEC, speechrecognition.SPEC,
    smartcover.SPEC, videomontage.SPEC, videotag.SPEC)}

# Every Tag a template can be made for: the job Tags that have a kind, and template-only kinds.
TEMPLATE_KINDS: dict[str, TemplateKind] = {
    **{name: s.template for name, s in REGISTRY.items() if s.template is not None},
    watermark.NAME: watermark.TEMPLATE,
    highspeedhd.NAME: highspeedhd.TEMPLATE,
}


def spec(tag: str) -> TagSpec:
    """The TagSpec of a job Tag; InvalidArgument naming the supported ones otherwise."""
    found = REGISTRY.get(tag)
    if found is None:
        raise InvalidArgument(f"Request.Tag '{tag}' is not supported; supported tags: {', '.join(sorted(REGISTRY))}")
    return found


def fast_tags() -> frozenset[str]:
    """The Tags the fast lane may run."""
    return frozenset(name for name, s in REGISTRY.items() if s.lane == Lane.FAST)


def output_ext(tag: str, operation: Mapping[str, Any]) -> str:
    """The value of `${ext}` for a job's output."""
    found = REGISTRY.get(tag)
    return found.output_ext(operation) if found is not None else ""


def check_operation(tag: str, operation: Mapping[str, Any]) -> None:
    """Refuse a media operation whose parameters CI would reject (raises InvalidArgument)."""
    found = REGISTRY.get(tag)
    if found is None or found.check is None:
        return
    key = found.container
    where = f"Request.Operation.{key}"
    if key not in operation and text(operation, "TemplateId"):
        return  # the template's own parameters were checked when it was saved
    if not isinstance(operation.get(key), Mapping):
        raise InvalidArgument(f"{where} is required")
    params = section(operation, key)
    found.check(operation, params, where)
    if found.extras is not None:
        found.extras(operation, params, where)


def parse(tag: str, operation: Mapping[str, Any]) -> Any:
    """The typed operation of a job: its Operation (templates applied) checked, then parsed by its Tag.

    Raises InvalidArgument as `check_operation` does. Submit calls it to refuse what CI refuses; the
    runner calls it again on the stored Operation and hands the result to the worker, which never
    sees the wire dict.
    """
    check_operation(tag, operation)
    return spec(tag).parse(operation)


def check_references(tag: str, operation: Mapping[str, Any], bucket: str) -> None:
    """Refuse an object URL among the objects a job reads besides its input (watermark images, Concat
    fragments, AudioMix sources, subtitles, a TTS text) that names another bucket or another host: CI reads
    them from the job's own bucket, and the runner only ever fetches that bucket's keys (a plain key is
    the job's bucket's)."""
    found = REGISTRY.get(tag)
    for ref in found.references(operation) if found is not None else []:
        if "://" in ref and object_bucket(ref) != bucket:
            raise InvalidArgument(f"Request.Operation: {ref.strip()[:256]} is not an object of bucket {bucket}: "
                                  "watermark images, fragments, AudioMix sources, subtitles and texts are read "
                                  "from the job's own bucket (give its object URL or the object key)")


def referenced_objects(tag: str, operation: Mapping[str, Any]) -> list[str]:
    """Keys of the bucket objects a job reads besides Input.Object (watermark images, fragments, ...).

    The runner fetches each one and hands the driver `Task.objects[key] = local path`.
    """
    found = REGISTRY.get(tag)
    keys: list[str] = []
    for ref in found.references(operation) if found is not None else []:
        key = object_key(ref)
        if key and key not in keys:
            keys.append(key)
    return keys
