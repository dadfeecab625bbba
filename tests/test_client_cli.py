"""`ci-jobs submit|jobs|queues|upload|download` run as subprocesses against a server from ci_jobs.testing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_jobs.pytest_plugin import ci_jobs_server  # noqa: F401 - the shipped fixture, used as users would
from ci_jobs.testing import Server, run_server

from .conftest import clip_bytes

JOB = """<?xml version="1.0" encoding="UTF-8"?>
<Request>
  <Tag>Transcode</Tag>
  <Input><Object>{input}</Object></Input>
  <Operation>
    <Transcode><Container><Format>mp4</Format></Container><Video><Codec>H.264</Codec><Height>128</Height></Video>
    </Transcode>
    <Output><Region>{region}</Region><Bucket>{bucket}</Bucket><Object>{output}</Object></Output>
  </Operation>
</Request>
"""


def cli(srv: Server, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m ci_jobs ...` with the server's endpoint and keys in the environment."""
    return subprocess.run([sys.executable, "-m", "ci_jobs", *args], env={**os.environ, **srv.env},
                          capture_output=True, input=stdin, timeout=60, check=False)


def job_file(srv: Server, tmp_path: Path, input_key: str, output_key: str) -> str:
    path = tmp_path / "job.xml"
    path.write_text(JOB.format(input=input_key, output=output_key, region=srv.region, bucket=srv.bucket))
    return str(path)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "tiny.mp4"
    clip_bytes(path, seconds=1.0)
    return path


def test_upload_submit_wait_download(ci_jobs_server: Server, clip_file: Path, tmp_path: Path) -> None:  # noqa: F811
    up = cli(ci_jobs_server, "upload", str(clip_file), "cli/in.mp4")
    assert up.returncode == 0, up.stderr
    done = cli(ci_jobs_server, "submit", job_file(ci_jobs_server, tmp_path, "cli/in.mp4", "cli/out.${ext}"), "--wait")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == ["cli/out.mp4"]
    progress = done.stderr.decode()
    assert "Transcode" in progress and "100%" in progress and "Success" in progress
    got = cli(ci_jobs_server, "download", "cli/out.mp4", str(tmp_path / "out.mp4"))
    assert got.returncode == 0, got.stderr
    stored = ci_jobs_server.client.get_object(Bucket=ci_jobs_server.bucket, Key="cli/out.mp4")["Body"].get_raw_stream()
    assert (tmp_path / "out.mp4").read_bytes() == stored.read()
    assert cli(ci_jobs_server, "download", "cli/in.mp4", "-").stdout == clip_file.read_bytes()


def test_failed_job_exits_non_zero_with_its_code(ci_jobs_server: Server, tmp_path: Path) -> None:  # noqa: F811
    ci_jobs_server.client.put_object(Bucket=ci_jobs_server.bucket, Key="cli/junk.mp4", Body=b"not a video" * 100)
    body = JOB.format(input="cli/junk.mp4", output="cli/junk-out.${ext}", region=ci_jobs_server.region,
                      bucket=ci_jobs_server.bucket)
    failed = cli(ci_jobs_server, "submit", "-", "--wait", stdin=body.encode())
    assert failed.returncode == 1
    last = failed.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("ci-jobs: job j") and " Failed: " in last and "InvalidInput" in last
    assert failed.stdout == b""


def test_queue_pause_list_show_cancel_resume(ci_jobs_server: Server, clip_file: Path,  # noqa: F811
                                            tmp_path: Path) -> None:
    queues = cli(ci_jobs_server, "queues", "list").stdout.decode().splitlines()
    queue_id, name, state = queues[0].split("\t")[:3]
    assert (name, state) == ("queue-1", "Active")
    assert cli(ci_jobs_server, "queues", "pause", queue_id).returncode == 0
    try:
        assert "\tPaused\t" in cli(ci_jobs_server, "queues", "list").stdout.decode()
        ci_jobs_server.client.upload_file(Bucket=ci_jobs_server.bucket, Key="cli/wait.mp4",
                                          LocalFilePath=str(clip_file))
        sub = cli(ci_jobs_server, "submit", job_file(ci_jobs_server, tmp_path, "cli/wait.mp4", "cli/never.mp4"))
        job_id = sub.stdout.decode().strip()
        assert sub.returncode == 0 and job_id.startswith("j"), sub.stderr
        assert json.loads(cli(ci_jobs_server, "jobs", "show", job_id).stdout)["State"] == "Pause"
        listed = cli(ci_jobs_server, "jobs", "list", "--tag", "Transcode", "--queue", queue_id,
                     "--state", "Pause", "--size", "5").stdout.decode()
        assert [line.split("\t")[:3] for line in listed.splitlines()] == [[job_id, "Transcode", "Pause"]]
        assert cli(ci_jobs_server, "jobs", "cancel", job_id).returncode == 0
        assert json.loads(cli(ci_jobs_server, "jobs", "show", job_id).stdout)["State"] == "Cancel"
    finally:
        assert cli(ci_jobs_server, "queues", "resume", queue_id).returncode == 0
    assert "\tActive\t" in cli(ci_jobs_server, "queues", "list").stdout.decode()


def test_errors_are_one_line(ci_jobs_server: Server) -> None:  # noqa: F811
    bad_key = cli(ci_jobs_server, "queues", "list", "--secret-key", "wrong")
    assert bad_key.returncode == 1
    assert bad_key.stderr.decode().startswith("ci-jobs: SignatureDoesNotMatch: ")
    assert len(bad_key.stderr.decode().strip().splitlines()) == 1
    nowhere = cli(ci_jobs_server, "queues", "list", "--endpoint", "http://127.0.0.1:9")
    assert nowhere.returncode == 1 and nowhere.stderr.decode().startswith("ci-jobs: cannot reach http://127.0.0.1:9")
    assert len(nowhere.stderr.decode().strip().splitlines()) == 1


def test_subprocess_server_and_reset(tmp_path: Path) -> None:
    with run_server(subprocess=True, workers=False) as srv:
        srv.client.put_object(Bucket=srv.bucket, Key="a.txt", Body=b"hello")
        assert cli(srv, "download", "a.txt", "-").stdout == b"hello"
        srv.reset()
        assert not srv.client.list_objects(Bucket=srv.bucket).get("Contents")
    assert not srv.data_dir.exists()


def test_bad_endpoint_and_missing_sdk_are_one_line() -> None:
    bad = subprocess.run([sys.executable, "-m", "ci_jobs", "queues", "list", "--endpoint", "ftp://x"],
                         capture_output=True, timeout=60, check=False)
    assert bad.returncode == 2 and bad.stderr.decode().strip() == (
        "ci-jobs: --endpoint must be http(s)://host[:port], not 'ftp://x'")
    hide = ("import sys; sys.modules['qcloud_cos'] = sys.modules['qcloud_cos.cos_exception'] = None; "
            "from ci_jobs.cli import main; sys.exit(main(['jobs', 'show', 'j1']))")
    missing = subprocess.run([sys.executable, "-c", hide], capture_output=True, timeout=60, check=False)
    assert missing.returncode == 2
    assert missing.stderr.decode().startswith("ci-jobs: the client commands need the COS SDK and tqdm: "
                                              "pip install 'ci-jobs[client]'")


def test_download_to_an_unwritable_path_is_one_line(ci_jobs_server: Server, clip_file: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    assert cli(ci_jobs_server, "upload", str(clip_file), "cli/dl.mp4").returncode == 0
    for target in (tmp_path, tmp_path / "missing" / "x.mp4"):  # a directory; a folder that does not exist
        got = cli(ci_jobs_server, "download", "cli/dl.mp4", str(target))
        assert got.returncode == 2 and b"Traceback" not in got.stderr, got.stderr
        assert got.stderr.decode().startswith(f"ci-jobs: cannot write {target}")


def test_serve_with_a_data_dir_it_cannot_use_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("x")
    for data_dir in (afile, afile / "below"):
        got = subprocess.run([sys.executable, "-m", "ci_jobs", "serve", "--no-workers", "--port", "1",
                              "--data-dir", str(data_dir)], capture_output=True, timeout=60, check=False,
                             stdin=subprocess.DEVNULL)
        assert got.returncode == 2 and b"Traceback" not in got.stderr, got.stderr
        assert got.stderr.decode().strip().startswith(f"ci-jobs: data_dir {data_dir}: cannot create or write it")


def test_serve_with_unreachable_s3_storage_exits(tmp_path: Path) -> None:
    """The error is printed and the process ends: the store opened before the storage failed is closed (its
    threads had kept the interpreter alive for ever)."""
    conf = tmp_path / "s3.toml"
    conf.write_text('[server]\nstorage = "s3://AK:SK@127.0.0.1:1/?region=us-east-1&secure=false"\n')
    got = subprocess.run([sys.executable, "-m", "ci_jobs", "serve", "--config", str(conf), "--port", "0",
                          "--data-dir", str(tmp_path / "data")], capture_output=True, timeout=90, check=False,
                         stdin=subprocess.DEVNULL)
    assert got.returncode == 2 and b"S3 request failed" in got.stderr, got.stderr
