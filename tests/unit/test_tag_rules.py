"""Tag rules that keep a parameter from being accepted and then left out of the output."""

from __future__ import annotations

import pytest

from ci_jobs import tags
from ci_jobs.errors import InvalidArgument

MARK = {"Type": "Text", "Pos": "TopLeft", "Text": {"Text": "hi"}}
OPS = {
    "Segment": {"Segment": {"Format": "mp4", "Duration": "5"}, "Output": {"Object": "o-${Number}.mp4"}},
    "Concat": {"ConcatTemplate": {"ConcatFragment": [{"Url": "a.mp4"}, {"Url": "b.mp4"}],
                                  "Container": {"Format": "mp4"}}, "Output": {"Object": "o.mp4"}},
}


@pytest.mark.parametrize("tag", sorted(OPS))
@pytest.mark.parametrize("extra", [{"Watermark": MARK}, {"WatermarkTemplateId": "t123"},
                                   {"RemoveWatermark": {"Dx": "1", "Dy": "1", "Width": "9", "Height": "9"}}])
def test_tags_that_draw_nothing_refuse_watermarks_by_name(tag: str, extra: dict[str, object]) -> None:
    tags.parse(tag, OPS[tag])  # fine without
    (key,) = extra
    with pytest.raises(InvalidArgument, match=f"Request.Operation.{key} is not supported for this Tag"):
        tags.parse(tag, {**OPS[tag], **extra})
