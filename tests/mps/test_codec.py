"""Every preset Definition becomes an operation the Tag's own rules accept (no server, no media)."""

from __future__ import annotations

import pytest

from ci_jobs import config, tags
from ci_jobs.protocols.mps import codec, presets

from ..conftest import BUCKET, REGION

SETTINGS = config.load(environ={})
ACCOUNT = SETTINGS.accounts[0]
INPUT = {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/in/a.mov"}}


@pytest.mark.parametrize("definition", sorted(presets.TRANSCODE))
def test_transcode_presets_pass_the_tag_rules(definition: int) -> None:
    req = codec.process_media({"InputInfo": INPUT, "MediaProcessTask": {"TranscodeTaskSet": [
        {"Definition": definition, "OutputObjectPath": "{inputName}_from_{inputFormat}_{definition}.{format}"}]}},
        ACCOUNT, SETTINGS)
    (op,) = req.operations
    tags.check_operation(op.tag, op.params)
    ext = presets.EXTENSIONS[op.params["Transcode"]["Container"]["Format"]]
    assert op.params["Output"]["Object"] == f"in/${{InputName}}_from_mov_{definition}.{ext}"
    assert req.origin == "mps" and req.kind == "MpsTask" and req.detail["Subtasks"][0]["Definition"] == definition


@pytest.mark.parametrize("definition", sorted(presets.ANIMATED))
def test_animated_presets_pass_the_tag_rules(definition: int) -> None:
    req = codec.process_media({"InputInfo": INPUT, "MediaProcessTask": {"AnimatedGraphicTaskSet": [
        {"Definition": definition, "StartTimeOffset": 1, "EndTimeOffset": 3}]}}, ACCOUNT, SETTINGS)
    (op,) = req.operations
    tags.check_operation(op.tag, op.params)
    assert op.params["Animation"]["TimeInterval"] == {"Start": "1", "Duration": "2"}


def test_output_storage_and_absolute_paths() -> None:
    req = codec.process_media({"InputInfo": INPUT, "OutputDir": "/ignored/", "MediaProcessTask": {
        "SampleSnapshotTaskSet": [{"Definition": 10, "OutputObjectPath": "/abs/{number}.{format}",
                                   "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET}}}]}},
        ACCOUNT, SETTINGS)
    (op,) = req.operations
    tags.check_operation(op.tag, op.params)
    assert op.params["Output"] == {"Region": REGION, "Bucket": BUCKET, "Object": "abs/${Number}.jpg"}
