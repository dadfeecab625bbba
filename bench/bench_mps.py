"""`make bench` (MPS): ProcessMedia submissions per second against POST /jobs in the same run, and TC3 cost.

Both loads go to one `ci-jobs serve --no-workers` process, in short rounds of the three loads one after
the other (in turn forwards and backwards, as the server slows a little while its database grows); each
ratio is the median over rounds of a ProcessMedia round's rate against its own round's POST /jobs rate
(the machine's other load drifts over seconds, and a round's three loads share it):
POST /jobs with a Transcode (the reference), ProcessMedia with one preset transcode, once asking for the
input's MetaData (the default: the task's first job describes its input when it runs, so the submission
reads no input) and once with SkipMateData 1. Every ProcessMedia is signed anew
(a signature is good for one call) with a distinct SessionContext, before its round's clock starts (as
the POST /jobs header is signed once beforehand). TC3 verification is timed in-process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import _load, pause_queue, wait_port  # noqa: E402
from ci_jobs.protocols.mps import tc3  # noqa: E402
from tests.conftest import BUCKET, REGION, SECRET_ID, SECRET_KEY, clip_bytes, sdk  # noqa: E402
from tests.harness import free_port  # noqa: E402

KEY = "mps/in/bench.mp4"


def _headers(port: int, body: bytes) -> dict[str, str]:
    ts = int(time.time())
    date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    host = f"127.0.0.1:{port}"
    canonical = tc3.canonical_request("POST", "/", "", [("content-type", "application/json"), ("host", host)],
                                      hashlib.sha256(body).hexdigest())
    sig = tc3.signature(SECRET_KEY, date, "mps", tc3.string_to_sign(str(ts), date, "mps", canonical))
    return {"Host": host, "Content-Type": "application/json", "X-TC-Action": "ProcessMedia",
            "X-TC-Version": "2019-06-12", "X-TC-Timestamp": str(ts),
            "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/mps/tc3_request, "
                             f"SignedHeaders=content-type;host, Signature={sig}"}


def _body(i: int, skip: int) -> bytes:
    return json.dumps({"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION,
                                                                     "Object": "/" + KEY}},
                       "OutputDir": "/mps/bench/", "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
                       "SessionContext": f"bench-{i}-{time.perf_counter_ns()}", "SkipMateData": skip}).encode()


async def _mps_load(port: int, seconds: float, skip: int, concurrency: int = 32) -> float:
    # Signed before the clock starts, as POST /jobs' header is: the client shares these two cores with the
    # server, and its signing (~60 us a request) would otherwise count against ProcessMedia only. Every
    # request is still signed anew (a TC3 signature is good for one call), with a distinct SessionContext.
    prepared = [(body, _headers(port, body)) for body in (_body(i, skip) for i in range(int(seconds * 4000)))]
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker(w: int) -> None:
            nonlocal done
            i = w
            while time.perf_counter() < deadline:
                if i < len(prepared):
                    body, headers = prepared[i]
                else:
                    body = _body(i, skip)
                    headers = _headers(port, body)
                async with session.post(f"http://127.0.0.1:{port}/", data=body, headers=headers) as r:
                    answer = await r.json(content_type=None)
                    if "Error" in answer["Response"]:
                        raise RuntimeError(str(answer["Response"]["Error"]))
                done += 1
                i += concurrency
        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return done / (time.perf_counter() - start)


def bench_mps(seconds: float = 14.0, rounds: int = 7) -> dict[str, float]:
    """Median req/s of POST /jobs, ProcessMedia (MetaData) and ProcessMedia (SkipMateData 1) on one server,
    and the median per-round ratios of the two ProcessMedia loads to POST /jobs."""
    port = free_port()
    data = tempfile.mkdtemp(prefix="bench-mps-")
    env = {**os.environ, "CI_JOBS_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "ci_jobs", "serve", "--port", str(port), "--data-dir", data,
                             "--no-workers"], env=env, cwd=data, stdout=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        client = sdk(port)
        client.put_object(Bucket=BUCKET, Key=KEY, Body=clip_bytes(Path(data) / "c.mp4", seconds=2.0))
        pause_queue(client)
        asyncio.run(_load(port, 1.0))
        asyncio.run(_mps_load(port, 1.0, 0))
        runs: dict[str, list[float]] = {"jobs": [], "probed": [], "skipped": []}
        loads = {"jobs": lambda t: _load(port, t), "probed": lambda t: _mps_load(port, t, 0),
                 "skipped": lambda t: _mps_load(port, t, 1)}
        for n in range(rounds):  # the order turns round each time: the server slows as its database grows
            for name in list(loads) if n % 2 == 0 else list(loads)[::-1]:
                runs[name].append(asyncio.run(loads[name](seconds / rounds / 3)))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)
    out = {k: statistics.median(v) for k, v in runs.items()}
    for name in ("probed", "skipped"):
        out[f"{name}_ratio"] = statistics.median(m / j for m, j in zip(runs[name], runs["jobs"], strict=True))
    return out


def bench_tc3(number: int = 20000) -> float:
    """Microseconds to parse and verify one TC3 signature (a ProcessMedia-sized body)."""
    body = _body(0, 0)
    headers = _headers(8080, body)
    cred = tc3.parse(headers["Authorization"])

    def once() -> None:
        tc3.verify(tc3.parse(headers["Authorization"]), SECRET_KEY, "POST", "/", "", headers, body,
                   headers["X-TC-Timestamp"])

    assert cred.signature
    once()
    return min(timeit.repeat(once, number=number, repeat=3)) / number * 1e6


def main() -> None:
    rates = bench_mps()
    print(f"ProcessMedia: {rates['probed']:.0f} req/s with MetaData, {rates['skipped']:.0f} req/s with "
          f"SkipMateData 1; POST /jobs {rates['jobs']:.0f} req/s in the same run: ratios "
          f"{rates['probed_ratio']:.2f} / {rates['skipped_ratio']:.2f} (median per round; goal >= 0.80)", flush=True)
    print(f"TC3 verification: {bench_tc3():.1f} us per request")


if __name__ == "__main__":
    main()
