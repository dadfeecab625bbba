"""VideoEnhance: for now a template kind only; its templates are stored as given until the Tag has a driver."""

from __future__ import annotations

from .spec import TemplateKind

NAME = "VideoEnhance"
TEMPLATE = TemplateKind(params=("VideoEnhance",), response="VideoEnhance", inline="VideoEnhance", wrapped=True,
                        job_tag=None)
