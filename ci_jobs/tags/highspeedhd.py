"""HighSpeedHd (极速高清, TSC): a template kind of its own whose body is a Transcode template's, applied
by the TemplateId of a Transcode job with TransConfig.TranscodeMode forced to TSC, the content-adaptive
encoder of media.tsc. CI documents no TSC preset ids, so none are listed as Official.
"""

from __future__ import annotations

from dataclasses import replace

from . import transcode

NAME = "HighSpeedHd"
assert transcode.SPEC.template is not None
TEMPLATE = replace(transcode.SPEC.template, stands_for=transcode.SPEC.name,
                   forced=(("TransConfig", "TranscodeMode", "TSC"),))
