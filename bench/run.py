"""`make bench`: ci-jobs speed as ratios against references measured in the same run.

1. POST /jobs throughput (signed, validated, committed; queue paused) vs a bare aiohttp handler.
2. One 1080p->720p H.264 transcode and one Segment copy through ci-jobs (submit to the job's callback)
   vs the ffmpeg CLI, if installed.
3. Submit-to-Running latency on an idle server (p50, p99).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs.auth import signature  # noqa: E402
from ci_jobs.server import NODE, create_app  # noqa: E402
from tests.conftest import BUCKET, REGION, clip_bytes, make_settings, sdk  # noqa: E402
from tests.harness import ServerThread, free_port  # noqa: E402
from tests.listener import Listener  # noqa: E402

HOST = f"{BUCKET}.cos.{REGION}.myqcloud.com"
BARE = """
import sys
from aiohttp import web
async def h(request):
    await request.read()
    return web.Response(body=b'<Response><JobsDetail><JobId>j0</JobId></JobsDetail></Response>',
                        content_type='application/xml')
app = web.Application(); app.router.add_post('/jobs', h)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


def auth_header(method: str, path: str) -> str:
    now = int(time.time())
    kt = f"{now - 60};{now + 3600}"
    sig = signature("EXAMPLEKEY", kt, method, path, [], [("host", HOST)])
    return (f"q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time={kt}&q-key-time={kt}&q-header-list=host"
            f"&q-url-param-list=&q-signature={sig}")


def job_xml(i: int) -> bytes:
    return (f"<Request><Tag>Transcode</Tag><Input><Object>input/{i}.mp4</Object></Input><Operation>"
            "<Transcode><Container><Format>mp4</Format></Container><Video><Codec>H.264</Codec>"
            "<Height>720</Height><Crf>23</Crf></Video><Audio><Codec>aac</Codec></Audio></Transcode>"
            f"<Output><Region>{REGION}</Region><Bucket>{BUCKET}</Bucket><Object>out/{i}.mp4</Object></Output>"
            "</Operation></Request>").encode()


async def _load(port: int, seconds: float, concurrency: int = 32) -> float:
    headers = {"Host": HOST, "Authorization": auth_header("POST", "/jobs")}
    bodies = [job_xml(i) for i in range(64)]
    done = 0
    deadline = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def worker(w: int) -> None:
            nonlocal done
            i = w
            while time.perf_counter() < deadline:
                async with session.post(f"http://127.0.0.1:{port}/jobs", data=bodies[i % 64],
                                        headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}: {await resp.text()}")
                done += 1
                i += concurrency
        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return done / (time.perf_counter() - start)


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def pause_queue(client: Any) -> None:
    """Pause the bucket's default queue, its notifications off: submitted jobs are committed and never run."""
    q = client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]
    client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                 Request={"Name": q["Name"], "State": "Paused", "NotifyConfig": {"State": "Off"}})


def bench_submit(seconds: float = 10.0, rounds: int = 5) -> dict[str, float]:
    """Throughput of POST /jobs vs a bare aiohttp handler, each in its own process."""
    port_bare, port_ci = free_port(), free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port_bare)])
    data = tempfile.mkdtemp(prefix="bench-")
    env = {**os.environ, "CI_JOBS_LOG_LEVEL": "WARNING"}
    ci = subprocess.Popen([sys.executable, "-m", "ci_jobs", "serve", "--port", str(port_ci), "--data-dir", data,
                           "--no-workers"], env=env, cwd=data, stdout=subprocess.DEVNULL)
    try:
        wait_port(port_bare, bare)
        wait_port(port_ci, ci)
        pause_queue(sdk(port_ci))
        asyncio.run(_load(port_bare, 1.0))
        asyncio.run(_load(port_ci, 1.0))
        # Alternate short rounds and take medians: the machine's other load drifts over seconds.
        bare_runs, ci_runs = [], []
        for _ in range(rounds):
            bare_runs.append(asyncio.run(_load(port_bare, seconds / rounds)))
            ci_runs.append(asyncio.run(_load(port_ci, seconds / rounds)))
        bare_rps, ci_rps = statistics.median(bare_runs), statistics.median(ci_runs)
    finally:
        for p in (bare, ci):
            p.terminate()
            p.wait(10)
        shutil.rmtree(data, ignore_errors=True)
    return {"bare_rps": bare_rps, "ci_rps": ci_rps, "ratio": ci_rps / bare_rps}


def bench_transcode(work: Path) -> dict[str, float]:
    """One 1080p->720p H.264 transcode and one Segment copy: ci-jobs from submit to the job's callback vs the
    ffmpeg CLI."""
    src = work / "in1080.mp4"
    clip_bytes(src, seconds=10, size="1920x1080", rate=30)
    srv = ServerThread(lambda: create_app(make_settings(work / "srv"))).start()
    callbacks = Listener().start()
    try:
        client = sdk(srv.port)
        client.upload_file(Bucket=BUCKET, Key="bench/in1080.mp4", LocalFilePath=str(src))
        body = {"Tag": "Transcode", "Input": {"Object": "bench/in1080.mp4"}, "Operation": {
            "Transcode": {"Container": {"Format": "mp4"},
                          "Video": {"Codec": "H.264", "Height": "720", "Crf": "23", "Preset": "medium"},
                          "Audio": {"Codec": "aac", "Bitrate": "128"}},
            "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "bench/out720.mp4"}}}
        ci_s = min(run_job(client, body, callbacks) for _ in range(2))
        segment = {"Tag": "Segment", "Input": {"Object": "bench/in1080.mp4"}, "Operation": {
            "Segment": {"Format": "ts", "Duration": "5"},
            "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "bench/seg-${Number}.ts"}}}
        seg_s = min(run_job(client, segment, callbacks) for _ in range(3))
    finally:
        callbacks.stop()
        srv.stop()
    out: dict[str, float] = {"ci_seconds": ci_s, "segment_seconds": seg_s}
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(src), "-vf", "scale=-2:720", "-c:v", "libx264",
                            "-crf", "23", "-preset", "medium", "-c:a", "aac", "-b:a", "128k", str(work / "ff.mp4")],
                           check=True)
            runs.append(time.perf_counter() - t0)
        out["ffmpeg_seconds"] = min(runs)
        out["ratio"] = ci_s / out["ffmpeg_seconds"]
        seg_ff = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(src), "-c", "copy", "-f", "segment",
                            "-segment_time", "5", "-reset_timestamps", "1", str(work / "ffseg-%03d.ts")], check=True)
            seg_ff.append(time.perf_counter() - t0)
        out["segment_ffmpeg_seconds"] = min(seg_ff)
        out["segment_ratio"] = seg_s / out["segment_ffmpeg_seconds"]
    return out


def run_job(client: Any, body: dict[str, Any], callbacks: Listener) -> float:
    """Submit a job with a CI callback to `callbacks`; seconds from submit to its callback (then checks Success).

    The bench learns that a job ended the way a CI user does, without polling. Polling a 4 s transcode
    through the SDK every 5 ms took ~0.55 s of CPU in this process (an SDK request and an answer each time)
    from an encoder that wants both cores: 1.11-1.18x the ffmpeg CLI, against 0.95-1.0x for the same
    transcode run in-process; a 20 ms poll added up to 20 ms to a Segment job of ~100 ms."""
    t0 = time.perf_counter()
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs={**body, "CallBack": callbacks.url})["JobsDetail"][0]
    callbacks.wait_job(job["JobId"], timeout=600)
    took = time.perf_counter() - t0
    job = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=job["JobId"])["JobsDetail"][0]
    if job["State"] != "Success":
        raise RuntimeError(f"{body['Tag']} failed: {job['Code']} {job['Message']}")
    return took


def bench_latency(work: Path, runs: int = 50) -> dict[str, float]:
    """Submit-to-Running latency of MediaInfo jobs on an idle server."""
    srv = ServerThread(lambda: create_app(make_settings(work / "lat"))).start()
    try:
        client = sdk(srv.port)
        client.put_object(Bucket=BUCKET, Key="lat/in.mp4", Body=clip_bytes(work / "lat.mp4", seconds=1))
        assert srv.app is not None
        node = srv.app[NODE]
        lat = []
        for _ in range(runs):
            t0 = time.time()
            job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs={
                "Tag": "MediaInfo", "Input": {"Object": "lat/in.mp4"}, "Operation": {}})["JobsDetail"][0]
            while True:
                rec = srv.call(node.store.get_jobs(BUCKET, [job["JobId"]]))[0]
                if rec.state in ("Success", "Failed"):
                    break
                time.sleep(0.01)
            lat.append((rec.started or t0) - t0)
    finally:
        srv.stop()
    lat.sort()
    return {"p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ci-jobs-bench-"))
    try:
        sub = bench_submit()
        print(f"POST /jobs: ci-jobs {sub['ci_rps']:.0f} req/s, bare aiohttp {sub['bare_rps']:.0f} req/s, "
              f"ratio {sub['ratio']:.2f} (target >= 0.35)", flush=True)
        lat = bench_latency(work)
        print(f"submit-to-Running latency (idle, MediaInfo): p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms",
              flush=True)
        tc = bench_transcode(work)
        if "ratio" in tc:
            print(f"1080p->720p H.264: ci-jobs {tc['ci_seconds']:.2f} s, ffmpeg CLI {tc['ffmpeg_seconds']:.2f} s, "
                  f"ratio {tc['ratio']:.2f} (target <= 1.05)")
            print(f"Segment copy (1080p 10 s -> 5 s ts): ci-jobs {tc['segment_seconds']:.3f} s submit-to-callback,"
                  f" ffmpeg -c copy {tc['segment_ffmpeg_seconds']:.3f} s, ratio {tc['segment_ratio']:.2f}"
                  " (target <= 1.30)")
        else:
            print(f"1080p->720p H.264: ci-jobs {tc['ci_seconds']:.2f} s (ffmpeg CLI not installed: no ratio)")
            print(f"Segment copy: ci-jobs {tc['segment_seconds']:.3f} s (ffmpeg CLI not installed: no ratio)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
