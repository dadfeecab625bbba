"""The WebVTT of a sprite sheet set (MPS's ImageSprite): one cue per tile, from its time to the next tile's,
naming its sheet relative to the WebVTT's own key with a `#xywh=` media fragment, as players' thumbnail
tracks read it."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from ..tags.output import Output
from ..wildcards import expand
from . import OutputFile, Task

NAME = "sprites.vtt"


@dataclass(frozen=True)
class Cue:
    """One tile: when it was taken (s), its sheet's number and its rectangle on that sheet."""

    at: float
    sheet: int
    x: int
    y: int
    width: int
    height: int


def stamp(seconds: float) -> str:
    """`HH:MM:SS.mmm`."""
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write(task: Task, cues: Sequence[Cue], total: float | None, output: Output) -> OutputFile:
    """Write the WebVTT into the staging dir; its OutputFile (role "vtt")."""
    here = posixpath.dirname(expand(output.webvtt_object, ext="vtt", number=0, job_id=task.job_id,
                                    input_key=task.input_key))
    lines = ["WEBVTT", ""]
    for i, cue in enumerate(cues):
        end = cues[i + 1].at if i + 1 < len(cues) else max(total or 0.0, cue.at + 0.001)
        sheet = expand(output.sprite_object or output.object, ext="jpg", number=cue.sheet, job_id=task.job_id,
                       input_key=task.input_key)
        ref = posixpath.relpath(sheet, here or ".")
        lines += [f"{stamp(cue.at)} --> {stamp(end)}", f"{ref}#xywh={cue.x},{cue.y},{cue.width},{cue.height}", ""]
    with open(os.path.join(task.outdir, NAME), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return OutputFile(NAME, "vtt", ext="vtt")
