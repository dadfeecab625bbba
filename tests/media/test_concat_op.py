"""Concat's typed operation: parsed once from the checked wire Operation, defaults resolved, picklable."""

from __future__ import annotations

import pickle

from ci_jobs import tags
from ci_jobs.tags.concat import ConcatOp, Fragment, SceneChange

OUTPUT = {"Bucket": "b-1250000000", "Object": "joined.${ext}"}


def test_fragments_come_in_fragment_index_order_with_their_windows() -> None:
    op = tags.parse("Concat", {"ConcatTemplate": {
        "ConcatFragment": [{"Url": "b.mp4", "FragmentIndex": "2", "Mode": "Start"},
                           {"Url": "a.mp4", "FragmentIndex": "1", "StartTime": "1", "EndTime": "3"}],
        "Container": {"Format": "mp4"}, "Index": "1", "SceneChangeInfo": {"Mode": "FADE"}}, "Output": OUTPUT})
    assert isinstance(op, ConcatOp) and pickle.loads(pickle.dumps(op)) == op
    assert op.fragments == (Fragment("a.mp4", "a.mp4", 1.0, 3.0), Fragment("b.mp4", "b.mp4", before_input=True))
    assert op.index == 1 and not op.direct and op.scene == SceneChange("fade", 3.0)
    assert op.video is not None and op.video.codec == "h264" and op.audio is not None and op.audio.codec == "aac"
    assert op.output.object == "joined.${ext}"


def test_direct_concat_leaves_the_ignored_geometry_unread() -> None:
    op = tags.parse("Concat", {"ConcatTemplate": {
        "ConcatFragment": [{"Url": "a.mp4"}, {"Url": "b.mp4"}], "Container": {"Format": "mp4"},
        "Video": {"Crop": "8:8", "Rotate": "90"}, "DirectConcat": "true"}, "Output": OUTPUT})
    assert op.direct and op.video is not None and op.video.crop is None and op.video.rotate == 0.0
    assert [f.key for f in op.fragments] == ["a.mp4", "b.mp4"] and op.index is None
