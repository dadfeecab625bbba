"""Running it day to day: settings refused with the key named, secrets never printed, a busy port and a
newer database schema answered in one line, --ephemeral cleaned up."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ci_jobs import config
from ci_jobs.errors import InvalidArgument

from .harness import free_port


def ci_jobs(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m ci_jobs ...` as a user runs it (no CI_JOBS_* variables of the test run leak in)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CI_JOBS_")}
    return subprocess.run([sys.executable, "-m", "ci_jobs", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


BAD = {
    "[schedular]\nworkers = 1\n": "unknown setting schedular",
    "[server]\nprot = 8080\n": "unknown setting server.prot",
    "[server]\nadmin = \"flase\"\n": "setting server.admin = 'flase'",
    "[scheduler]\nworkers = 2.7\n": "setting scheduler.workers = 2.7",
    "[server]\nport = -1\n": "setting server.port = -1",
    "[scheduler]\nmax_attempts = 0\n": "setting scheduler.max_attempts = 0",
    "[callbacks]\ntimeout = -2\n": "setting callbacks.timeout = -2",
    "[[accounts]]\nappid = \"1250000000\"\nsecret_id = \"AKIDx\"\n": "setting accounts.0.secret_key is required",
    "[[buckets]]\nname = \"nobucketappid\"\nregion = \"ap-guangzhou\"\n": "setting buckets.0.name = 'nobucketappid'",
    "[mq]\nurl = \"amqp://x\"\nregoins = {}\n": "unknown setting mq.regoins",
}


@pytest.mark.parametrize("body", sorted(BAD))
def test_a_bad_setting_is_one_line_naming_the_key(tmp_path: Path, body: str) -> None:
    (tmp_path / "bad.toml").write_text(body)
    with pytest.raises(InvalidArgument) as refused:
        config.load(tmp_path / "bad.toml", environ={})
    assert BAD[body] in refused.value.message and "\n" not in refused.value.message
    run = ci_jobs("check-config", "--config", "bad.toml", cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("ci-jobs: ") and BAD[body] in run.stderr and run.stderr.count("\n") == 1


def test_environment_values_follow_the_same_rules() -> None:
    assert config.load(environ={"CI_JOBS_SCHEDULER_WORKERS": "3", "CI_JOBS_ADMIN": "true"}).scheduler.workers == 3
    for name, value in (("CI_JOBS_SCHEDULER_WORKERS", "-1"), ("CI_JOBS_ADMIN", "flase"), ("CI_JOBS_PORT", "http")):
        with pytest.raises(InvalidArgument, match=name.removeprefix("CI_JOBS_").lower().replace("_", ".", 1)
                           if "SCHEDULER" in name else "server."):
            config.load(environ={name: value})


def test_check_config_and_the_banner_never_print_a_real_secret_key(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('[[accounts]]\nappid = "1250000000"\nsecret_id = "AKIDmine"\n'
                                        'secret_key = "s3cr3t-do-not-print"\n')
    run = ci_jobs("check-config", "--config", "mine.toml", cwd=tmp_path)
    assert run.returncode == 0 and "AKIDmine" in run.stdout and "[scheduler]" in run.stdout
    assert "s3cr3t" not in run.stdout and "do-not-print" not in run.stdout
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ci_jobs", "serve", "--config", "mine.toml", "--port", str(port),
                               "--data-dir", str(tmp_path / "var")], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={k: v for k, v in os.environ.items() if not k.startswith("CI_JOBS_")})
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert "listening" in first
        creds = server.stdout.readline()
        assert "AKIDmine" in creds and "s3cr3t" not in creds
    finally:
        server.terminate()
        server.wait(30)


def test_a_busy_port_is_one_line_and_ephemeral_leaves_no_temp_dir(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        run = ci_jobs("serve", "--ephemeral", "--port", str(port), cwd=tmp_path, env={"TMPDIR": str(tmp)})
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().count("\n") == 0 and f"127.0.0.1:{port}" in run.stderr and "in use" in run.stderr
    assert "listening" not in run.stdout and "Traceback" not in run.stderr
    assert list(tmp.iterdir()) == []  # the --ephemeral data dir went with it


def test_a_database_from_a_newer_ci_jobs_is_refused_not_served(tmp_path: Path) -> None:
    ci_jobs("migrate", "--data-dir", str(tmp_path), cwd=tmp_path).check_returncode()
    with sqlite3.connect(tmp_path / "ci-jobs.db") as db:
        db.execute("PRAGMA user_version = 999")
    run = ci_jobs("serve", "--data-dir", str(tmp_path), "--port", str(free_port()), cwd=tmp_path)
    assert run.returncode == 2 and "schema version 999, newer than this ci-jobs knows" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_callbacks_command_lists_dead_letters_and_resends_them(tmp_path: Path) -> None:
    import asyncio

    from ci_jobs.store import Callback
    from ci_jobs.store.sqlite import SqliteStore

    async def plant() -> int:
        store = SqliteStore(tmp_path / "ci-jobs.db")
        await store.open()
        await store.add_callbacks([Callback({"type": "Url", "url": "http://listener.example/cb"}, b"x", "text/xml",
                                            job_id="jdead")], 0.0)
        (cb,) = await store.due_callbacks(1.0, 10)
        await store.callback_dead(cb.callback_id, 295, "connection refused", 86400.0)
        await store.close()
        return cb.callback_id
    callback_id = asyncio.run(plant())
    listed = ci_jobs("callbacks", "dead", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert listed.returncode == 0 and f"{callback_id}\tjob jdead\thttp://listener.example/cb" in listed.stdout
    assert "after 295 attempts\tconnection refused" in listed.stdout and "1 dead letter(s)" in listed.stderr
    resent = ci_jobs("callbacks", "resend", str(callback_id), "--data-dir", str(tmp_path), cwd=tmp_path)
    assert resent.returncode == 0 and "1 callback(s) due again now" in resent.stdout
    again = ci_jobs("callbacks", "resend", str(callback_id), "--data-dir", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 1 and f"not dead letters: {callback_id}" in again.stderr
    assert "0 dead letter(s)" in ci_jobs("callbacks", "dead", "--data-dir", str(tmp_path), cwd=tmp_path).stderr
