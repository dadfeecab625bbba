"""`make bench`: upload-to-execution-start latency of a workflow on an idle server (p50, p99).

From the put_object's 200 to the moment the first node's job is Running (its `started` in the store),
for a one-node MediaInfo workflow; 50 uploads, one at a time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs.server import NODE, create_app  # noqa: E402
from tests.conftest import BUCKET, clip_bytes, make_settings, sdk  # noqa: E402
from tests.harness import ServerThread  # noqa: E402


def main(runs: int = 50) -> None:
    work = Path(tempfile.mkdtemp(prefix="ci-jobs-bench-wf-"))
    srv = ServerThread(lambda: create_app(make_settings(work / "srv"))).start()
    try:
        client = sdk(srv.port)
        assert srv.app is not None
        store = srv.app[NODE].store
        queue = client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]["QueueId"]
        body = {"MediaWorkflow": {"Name": "bench", "State": "Active", "Topology": {
            "Dependencies": {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
            "Nodes": {"Start": {"Type": "Start", "Input": {"QueueId": queue, "ObjectPrefix": "up/"}},
                      "MediaInfo_1": {"Type": "MediaInfo", "Operation": {}}}}}}
        wid = client.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"]
        clip = clip_bytes(work / "c.mp4", seconds=0.5, size="160x120")
        lat = []
        for i in range(runs):
            client.put_object(Bucket=BUCKET, Key=f"up/{i}.mp4", Body=clip)
            t0 = time.time()
            while True:
                page = client.ci_list_workflowexecution(Bucket=BUCKET, WorkflowId=wid, Size=1)
                run = page.get("WorkflowExecutionList")
                ex = srv.call(store.get_execution(BUCKET, run["RunId"])) if run else None
                job_ids = list((ex.detail.get("Nodes") or {}).values()) if ex and ex.object == f"up/{i}.mp4" else []
                jobs = srv.call(store.get_jobs(BUCKET, job_ids)) if job_ids else []
                if jobs and jobs[0].started:
                    lat.append(jobs[0].started - t0)
                    break
                time.sleep(0.005)
            while srv.call(store.get_jobs(BUCKET, job_ids))[0].state not in ("Success", "Failed"):
                time.sleep(0.01)  # idle again before the next upload
    finally:
        srv.stop()
    lat.sort()
    p50, p99 = statistics.median(lat) * 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(f"upload-to-execution-start latency (idle, one MediaInfo node): p50 {p50:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
