"""Distributed mode end to end: two API nodes, two workers, PostgreSQL, S3 (moto) and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import av

from ..conftest import BUCKET, clip_bytes, job_body, output, wait_job
from ..listener import Listener
from .conftest import Cluster


def submit(cluster: Cluster, i: int, body: dict[str, Any]) -> str:
    client = cluster.clients[i % 2]
    return str(client.ci_create_media_jobs(Bucket=BUCKET, Jobs=body)["JobsDetail"][0]["JobId"])


def transcode(key: str, out: str, **video: str) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "160", **video}},
            "Output": output(out)}


def queue_id(cluster: Cluster, name: str) -> str:
    queues = cluster.clients[0].ci_get_media_queue(Bucket=BUCKET)["QueueList"]
    return str(next(q["QueueId"] for q in queues if q["Name"] == name))


def set_state(cluster: Cluster, node: int, name: str, state: str) -> None:
    cluster.clients[node].ci_update_media_queue(
        Bucket=BUCKET, QueueId=queue_id(cluster, name),
        Request={"Name": name, "State": state, "NotifyConfig": {"State": "Off"}})


def test_twenty_jobs_through_both_api_nodes(cluster: Cluster, cluster_clip: str, tmp_path: Path) -> None:
    ids = [submit(cluster, i, job_body("Transcode", cluster_clip, transcode(cluster_clip, f"out/{i}.mp4")))
           for i in range(20)]
    for i, job_id in enumerate(ids):
        assert wait_job(cluster.clients[(i + 1) % 2], job_id, timeout=180)["State"] == "Success"
    rows = cluster.rows(ids)
    assert all(r["attempts"] == 1 for r in rows.values()), rows
    assert len({r["node"] for r in rows.values()}) == 2, "work was not spread over both workers"
    for i in (0, 7, 19):
        path = tmp_path / f"{i}.mp4"
        body = cluster.clients[1].get_object(Bucket=BUCKET, Key=f"out/{i}.mp4")["Body"]
        path.write_bytes(body.get_raw_stream().read())
        with av.open(str(path)) as c:
            frames = sum(1 for _ in c.decode(video=0))
            assert c.streams.video[0].codec_context.width == 160 and frames >= 45


def test_max_concurrent_one_holds_across_workers(cluster: Cluster, cluster_clip: str) -> None:
    serial = queue_id(cluster, "serial")
    ids = [submit(cluster, i, job_body("Transcode", cluster_clip, transcode(cluster_clip, f"serial/{i}.mp4"),
                                       QueueId=serial)) for i in range(4)]
    for job_id in ids:
        assert wait_job(cluster.clients[0], job_id, timeout=120)["State"] == "Success"
    spans = sorted((r["started"], r["ended"]) for r in cluster.rows(ids).values())
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end - 0.05, f"two jobs of a MaxConcurrent=1 queue overlapped: {spans}"


def test_pause_on_one_api_node_is_seen_by_all_workers(cluster: Cluster, cluster_clip: str) -> None:
    set_state(cluster, 0, "queue-1", "Paused")
    try:
        ids = [submit(cluster, 1, job_body("MediaInfo", cluster_clip, {})) for _ in range(3)]
        time.sleep(2.5)
        states = cluster.clients[0].ci_get_media_jobs(Bucket=BUCKET, JobIDs=",".join(ids))["JobsDetail"]
        assert {d["State"] for d in states} == {"Pause"}
    finally:
        set_state(cluster, 1, "queue-1", "Active")
    for job_id in ids:
        assert wait_job(cluster.clients[0], job_id, timeout=60)["State"] == "Success"


def test_kill9_worker_mid_job_finishes_on_the_other(cluster: Cluster, tmp_path: Path) -> None:
    client = cluster.clients[0]
    client.put_object(Bucket=BUCKET, Key="in/long.mp4", Body=clip_bytes(tmp_path / "l.mp4", seconds=8,
                                                                        size="640x480"))
    listener = Listener().start()
    try:
        op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Preset": "slower"}},
              "Output": output("out/survivor.mp4")}
        job_id = submit(cluster, 0, job_body("Transcode", "in/long.mp4", op, CallBack=listener.url))
        wait_job(client, job_id, until=frozenset({"Running"}))
        victim = cluster.rows([job_id])[job_id]["node"]
        cluster.kill9(victim)
        done = wait_job(client, job_id, timeout=180)
        assert done["State"] == "Success", done
        row = cluster.rows([job_id])[job_id]
        assert row["attempts"] == 2 and row["node"] != victim
        time.sleep(1.5)
        got = [r for r in listener.received if job_id.encode() in r["body"]]
        assert len(got) == 1, "expected exactly one TaskFinish callback"
    finally:
        listener.stop()
        cluster.start_worker()


def test_sigterm_worker_mid_job_hands_it_over_at_once_without_spending_an_attempt(cluster: Cluster,
                                                                                 tmp_path: Path) -> None:
    client = cluster.clients[0]
    client.put_object(Bucket=BUCKET, Key="in/long2.mp4", Body=clip_bytes(tmp_path / "l.mp4", seconds=8,
                                                                         size="640x480"))
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Preset": "slower"}},
          "Output": output("out/handed-over.mp4")}
    job_id = submit(cluster, 0, job_body("Transcode", "in/long2.mp4", op))
    try:
        wait_job(client, job_id, until=frozenset({"Running"}))
        victim = cluster.rows([job_id])[job_id]["node"]
        proc = cluster.workers.pop(victim)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        stopped = time.monotonic()
        row = cluster.rows([job_id])[job_id]  # given back as the node stopped: not left to its 4 s lease
        assert row["state"] == "Submitted" or (row["state"] == "Running" and row["node"] != victim), row
        taken_over = None
        while time.monotonic() - stopped < 10:
            row = cluster.rows([job_id])[job_id]
            if row["state"] == "Running" and row["node"] != victim:
                taken_over = time.monotonic() - stopped
                break
            time.sleep(0.05)
        assert taken_over is not None and taken_over < 2.0, taken_over  # of the stop's end
        done = wait_job(client, job_id, timeout=180)
        assert done["State"] == "Success", done
        assert cluster.rows([job_id])[job_id]["attempts"] == 1  # the cut-off run was given back unspent
    finally:
        cluster.start_worker()


async def _consume(amqp: str, queue: str, timeout: float = 30) -> aio_pika.abc.AbstractIncomingMessage:
    conn = await aio_pika.connect_robust(amqp)
    try:
        channel = await conn.channel()
        q = await channel.declare_queue(queue, durable=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = await q.get(no_ack=True, fail=False)
            if msg is not None:
                await q.delete(if_unused=False, if_empty=False)
                return msg
            await asyncio.sleep(0.2)
        raise AssertionError(f"no message in {queue}")
    finally:
        await conn.close()


def _restart_broker(cluster: Cluster) -> None:
    """As a broker restart looks to its clients: every connection dropped, none taken for a while."""
    assert cluster.outage is not None
    cluster.outage.down()
    time.sleep(2)
    cluster.outage.up()


def test_mq_callback_arrives_in_rabbitmq_and_after_broker_restart(cluster: Cluster, cluster_clip: str) -> None:
    for attempt in ("before", "after"):
        if attempt == "after":
            _restart_broker(cluster)
        name = f"ci-jobs-test-{uuid.uuid4().hex[:8]}"
        body = job_body("MediaInfo", cluster_clip, {"UserData": attempt}, CallBackType="TDMQ",
                        CallBackFormat="JSON", CallBackMqConfig={"MqMode": "Queue", "MqName": name,
                                                                 "MqRegion": "gz"})
        job_id = submit(cluster, 1, body)
        assert wait_job(cluster.clients[0], job_id, timeout=60)["State"] == "Success"
        msg = asyncio.run(_consume(cluster.amqp, name, timeout=60))
        event = json.loads(msg.body)
        assert event["EventName"] == "TaskFinish" and event["JobsDetail"]["JobId"] == job_id
        assert event["JobsDetail"]["Operation"]["UserData"] == attempt
        assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


def test_cancel_from_another_node_and_progress(cluster: Cluster, tmp_path: Path) -> None:
    client = cluster.clients[1]
    client.put_object(Bucket=BUCKET, Key="in/cancel.mp4", Body=clip_bytes(tmp_path / "c.mp4", seconds=12,
                                                                          size="640x480"))
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.265", "Preset": "slow"}},
          "Output": output("out/cancelled.mp4")}
    job_id = submit(cluster, 0, job_body("Transcode", "in/cancel.mp4", op))
    wait_job(client, job_id, until=frozenset({"Running"}), timeout=60)
    deadline = time.monotonic() + 60
    while int(client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=job_id)["JobsDetail"][0]["Progress"]) == 0:
        assert time.monotonic() < deadline, "no progress seen through the API node"
        time.sleep(0.1)
    started = time.monotonic()
    cluster.clients[0].ci_cancel_jobs(Bucket=BUCKET, JobID=job_id)
    final = wait_job(client, job_id, timeout=15)
    assert final["State"] == "Cancel" and time.monotonic() - started < 5
    rows = cluster.rows([job_id])
    assert rows[job_id]["state"] == "Cancel"


def test_a_tc3_signature_replayed_to_the_other_api_node_is_refused(cluster: Cluster, cluster_clip: str) -> None:
    """The replay check is the store's (the nonces table on PostgreSQL), not only each node's memory."""
    from ..mps.conftest import cos_input, mps, wait_finish  # noqa: PLC0415 - the MPS helpers, used here only
    from ..mps.test_transport import error, post, signed  # noqa: PLC0415

    first_node, other_node = cluster.api_ports
    body = json.dumps({"InputInfo": cos_input(cluster_clip), "MediaProcessTask": {
        "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}]}}).encode()
    headers = signed(first_node, "ProcessMedia", body)  # Host is the first node's: the signature covers it
    status, _, accepted = post(first_node, headers, body)
    assert status == 200 and accepted["Response"].get("TaskId"), accepted
    code, message = error(other_node, headers, body)
    assert code == "AuthFailure.SignatureFailure" and "used already" in message
    done = wait_finish(mps(first_node), accepted["Response"]["TaskId"])  # the first one ran, once
    assert done.WorkflowTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask.Status == "SUCCESS"
