"""The VideoEnhance Tag (and the legacy VideoProcess, SuperResolution and SDRtoHDR): the Transcode
driver with an `enhance.Enhancer` on its video lane. HDR output is 10-bit HEVC whatever Video.Codec
left unset says (the Tag's rules refuse another codec).
"""

from __future__ import annotations

from dataclasses import replace

from ..tags.videoenhance import EnhanceOp
from . import Progress, Result, Task
from .enhance import Enhancer
from .transcode import transcode


def run(task: Task, progress: Progress) -> Result:
    """Enhance and transcode `task.inputs[0]` into `task.outdir`; return the file and its MediaInfo."""
    op: EnhanceOp = task.op
    tc = op.transcode
    if op.enhancement.hdr and tc.video is not None:
        tc = replace(tc, video=replace(tc.video, codec="h265", pix_fmt="yuv420p10le"))
    return transcode(task, tc, progress, Enhancer(op.enhancement))
