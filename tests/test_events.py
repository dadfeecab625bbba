"""Domain events: ObjectCreated from every way an object is written (PUT, multipart, job outputs) and
JobFinished after a job's outcome is committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qcloud_cos import CosS3Client

from ci_jobs.domain.events import EventBus, JobFinished, ObjectCreated, Source
from ci_jobs.server import NODE, create_app

from .conftest import BUCKET, job_body, make_settings, output, sdk, wait_job
from .harness import ServerThread


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, list[Any]]]:
    """A server whose event bus records every ObjectCreated and JobFinished."""
    srv = ServerThread(lambda: create_app(make_settings(tmp_path_factory.mktemp("events")))).start()
    seen: list[Any] = []

    async def record(event: Any) -> None:
        seen.append(event)

    assert srv.app is not None
    bus = srv.app[NODE].events
    bus.subscribe(ObjectCreated, record)
    bus.subscribe(JobFinished, record)
    yield srv, seen
    srv.stop()


def test_put_and_multipart_raise_object_created(recorded: tuple[ServerThread, list[Any]], tmp_path: Path) -> None:
    srv, seen = recorded
    client: CosS3Client = sdk(srv.port)
    client.put_object(Bucket=BUCKET, Key="ev/put.bin", Body=b"12345")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (3 * 1024 * 1024))
    client.upload_file(Bucket=BUCKET, Key="ev/multi.bin", LocalFilePath=str(big), PartSize=1, MAXThread=2)
    created = {(e.key, e.source, e.size) for e in seen if isinstance(e, ObjectCreated)}
    assert ("ev/put.bin", Source.PUT, 5) in created
    assert ("ev/multi.bin", Source.MULTIPART, 3 * 1024 * 1024) in created


def test_job_outputs_raise_object_created_then_job_finished(recorded: tuple[ServerThread, list[Any]],
                                                            clip: bytes) -> None:
    srv, seen = recorded
    client = sdk(srv.port)
    client.put_object(Bucket=BUCKET, Key="ev/in.mp4", Body=clip)
    op = {"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("ev/out.${ext}")}
    job_id = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "ev/in.mp4", op))[
        "JobsDetail"][0]["JobId"]
    assert wait_job(client, job_id)["State"] == "Success"
    made = [e for e in seen if isinstance(e, ObjectCreated) and e.source == Source.JOB]
    finished = [e for e in seen if isinstance(e, JobFinished) and e.job_id == job_id]
    assert [e.key for e in made] == ["ev/out.mp4"] and made[0].size > 0
    assert finished and finished[0].state == "Success" and finished[0].code == "Success"
    assert seen.index(made[0]) < seen.index(finished[0])


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus, got = EventBus(), []

    async def broken(event: Any) -> None:
        raise RuntimeError("bug")

    async def good(event: Any) -> None:
        got.append(event)

    bus.subscribe(ObjectCreated, broken)
    bus.subscribe(ObjectCreated, good)
    event = ObjectCreated("b-1250000000", "k", 1, "e", Source.PUT)
    await bus.publish(event)
    assert got == [event]
