"""A VideoMontage node in a workflow (CI's edge table lets it follow Start and precede Snapshot): an upload
of a clip with marked segments runs Start -> VideoMontage -> Snapshot, the reel lasting Duration."""

from __future__ import annotations

from pathlib import Path

from qcloud_cos import CosS3Client

from ..conftest import BUCKET
from ..media import montage_clips as M
from .conftest import decode, out, queue_id, wait_execution, wait_executions, workflow_body

MONTAGE = {"Type": "VideoMontage", "Operation": {
    "VideoMontage": {"Container": {"Format": "mp4"}, "Duration": "6", "Scene": "Video"},
    "Output": out("vmout/${RunId}/${InputName}-reel.${Ext}")}}
SNAPSHOT = {"Type": "Snapshot", "Operation": {
    "Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "1", "Count": "1"},
    "Output": out("vmout/${RunId}/reel-${Number}.jpg")}}


def test_upload_runs_a_montage_node_then_its_child(wf: CosS3Client, tmp_path: Path) -> None:
    body = workflow_body("montage-1", queue_id(wf), "montage/",
                         {"Start": "VideoMontage_1", "VideoMontage_1": "Snapshot_1", "Snapshot_1": "End"},
                         {"VideoMontage_1": MONTAGE, "Snapshot_1": SNAPSHOT})
    wid = str(wf.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"])
    wf.put_object(Bucket=BUCKET, Key="montage/match.mp4", Body=Path(M.write(tmp_path / "m.mp4")).read_bytes())
    run = wait_executions(wf, wid, 1)[0]
    ex = wait_execution(wf, run["RunId"])
    assert ex["State"] == "Success", ex
    assert {t["Name"]: t["State"] for t in ex["Tasks"]} == {"VideoMontage_1": "Success", "Snapshot_1": "Success"}
    with decode(wf, f"vmout/{run['RunId']}/match-reel.mp4", tmp_path) as c:
        assert abs(c.duration / 1_000_000 - 6) <= 0.6
    with decode(wf, f"vmout/{run['RunId']}/reel-0.jpg", tmp_path) as c:
        assert next(c.decode(video=0)).width == M.W
