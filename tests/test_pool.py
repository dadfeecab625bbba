"""The worker pool: a worker killed mid-job (as by a decoder segfault) fails only that job and is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from ci_jobs.engine.pool import Pool
from ci_jobs.errors import JobFailed

from .conftest import clip_bytes
from .tasks import make_task


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pool") / "long.mp4"
    clip_bytes(path, seconds=12, size="640x480")
    return path


async def test_crashed_worker_fails_its_job_and_is_replaced(long_clip: Path, tmp_path: Path) -> None:
    pool = Pool(1, 0)
    await pool.start()
    worker = pool.general[0]
    try:
        task = make_task("Transcode", {"Transcode": {"Container": {"Format": "mp4"},
                                                "Video": {"Codec": "H.265", "Preset": "slow"}},
                                  "Output": {"Object": "o.mp4"}}, (str(long_clip),), str(tmp_path))
        seen: list[float] = []
        running = asyncio.create_task(worker.run(task, seen.append))
        while not seen:
            await asyncio.sleep(0.05)
        pid = worker._proc.pid
        os.kill(pid, signal.SIGSEGV)
        with pytest.raises(JobFailed) as err:
            await running
        assert err.value.code == "ProcessCrashed" and "SIGSEGV" in err.value.message
        assert worker._proc.pid != pid
        out = tmp_path / "again"
        out.mkdir()
        result = await worker.run(make_task("MediaInfo", {}, (str(long_clip),), str(out)), lambda p: None)
        assert result.media_info["Format"]["Duration"].startswith("12.")
    finally:
        await pool.close()


async def test_processor_error_keeps_worker(tmp_path: Path) -> None:
    pool = Pool(1, 0)
    await pool.start()
    try:
        junk = tmp_path / "junk.mp4"
        junk.write_bytes(os.urandom(4096))
        worker = pool.general[0]
        pid = worker._proc.pid
        with pytest.raises(JobFailed) as err:
            await worker.run(make_task("MediaInfo", {}, (str(junk),), str(tmp_path)), lambda p: None)
        assert err.value.code == "InvalidInput"
        assert worker._proc.pid == pid
    finally:
        await pool.close()
