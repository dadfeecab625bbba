"""What the generic code needs to know about one Tag: the TagSpec (and a template kind's TemplateKind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Operation = Mapping[str, Any]
Check = Callable[[Operation, dict[str, Any], str], None]  # (Operation, its parameter container, where)
Parse = Callable[[Operation], Any]  # a checked Operation -> the Tag's typed operation (a frozen dataclass)


class Lane(StrEnum):
    """Which worker slots may run a Tag's jobs: any, or also the fast lane kept for short work."""

    GENERAL = "general"
    FAST = "fast"


@dataclass(frozen=True)
class TemplateKind:
    """How a template of this Tag is written, answered and applied to a job."""

    params: tuple[str, ...]   # elements of the create body that carry parameters
    response: str             # container name in the Template response
    inline: str               # the job's inline container the template stands for
    wrapped: bool             # params are one container (Snapshot{...}) rather than several
    job_tag: str | None       # the Tag whose job rules validate it (None: stored as given)
    needs_container: bool = False  # an unwrapped body must carry Container
    check_output: tuple[tuple[str, str], ...] = (("Object", "o-${Number}.${ext}"),)  # Output of the check job
    stands_for: str = ""           # a job Tag whose TemplateId it may be besides its own (HighSpeedHd: Transcode)
    forced: tuple[tuple[str, str, str], ...] = ()  # (container, element, value) set whenever it is applied

    def apply(self, params: dict[str, Any]) -> dict[str, Any]:
        """The template's inline parameters as a job runs them: `forced` elements set."""
        for container, key, value in self.forced:
            inner = params.get(container)
            params[container] = {**(inner if isinstance(inner, dict) else {}), key: value}
        return params


@dataclass(frozen=True)
class Role:
    """One kind of output file a driver produces and where the runner publishes it."""

    key_field: str = "Object"      # the Output field holding its key pattern
    fallback: str = ""             # another Output field used when `key_field` is empty
    beside: str = ""               # published next to the first file of this role, under its own name
    ext: str = ""                  # ${ext} for this role ('' = the driver's)
    result_field: str = ""         # its container inside MediaResult.OutputFile ('' = OutputFile itself)
    per_file: bool = False         # each file carries its own key pattern ("key") and may carry its "ext"


@dataclass(frozen=True)
class TagSpec:
    """One job Tag: its parameters, rules, lane, template kind, outputs and driver."""

    name: str
    container: str                         # the inline parameter container in Request.Operation
    driver: str                            # its media driver, a module of ci_jobs.media
    parse: Parse                           # a checked Operation -> the typed op (frozen dataclass) the driver reads
    check: Check | None = None             # submit-time rules of the parameter container
    extras: Check | None = None            # rules for the Operation's other elements (watermarks ...)
    lane: Lane = Lane.GENERAL
    template: TemplateKind | None = None
    needs_input: bool = True               # False: Request.Input may be absent (Concat)
    output_ext: Callable[[Operation], str] = field(default=lambda op: "")
    references: Callable[[Operation], list[str]] = field(default=lambda op: [])  # other bucket objects read
    roles: Mapping[str, Role] = field(default_factory=lambda: {"main": Role()})
    empty_result: bool = True              # no output files: the result still carries MediaResult
    data_container: str = ""               # where CI shows a data result (a score, tags) in the Operation
    id_prefix: str = "j"                   # its JobIds' first letter (CI's ASR jobs are `s...`)
