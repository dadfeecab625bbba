"""Latency of the synchronous `?ci-process=snapshot` on a 1080p 10 s H.264 clip, through the SDK.

Makes the clip with PyAV (25 fps, one key frame every `--gop` frames, x264 `veryfast` with B
frames), uploads it to a live ci-jobs server on loopback (in a thread; no worker processes, which
synchronous processing does not use), then times `--calls` sequential `get_snapshot` calls at
times spread over the clip, in each mode, and prints p50/p99/max. The same grabs without HTTP
(`frame.grab` on the local file) are the reference for what the server adds.

Run: .venv/bin/python bench/bench_sync.py [--calls 50] [--gop 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs.media import frame  # noqa: E402
from ci_jobs.server import create_app  # noqa: E402
from tests.conftest import BUCKET, make_settings, sdk  # noqa: E402
from tests.harness import ServerThread  # noqa: E402

KEY = "bench/1080p.mp4"


def make_clip(path: Path, gop: int, seconds: int = 10, size: tuple[int, int] = (1920, 1080),
              fps: int = 25) -> None:
    """A testsrc2 1080p H.264 mp4 with a real GOP (lavfi marks every frame I: reset that)."""
    import av  # noqa: PLC0415 - bench only

    with av.open(f"testsrc2=size={size[0]}x{size[1]}:rate={fps}:duration={seconds}",
                 format="lavfi") as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps,
                            options={"preset": "veryfast", "g": str(gop), "sc_threshold": "0"})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        for picture in src.decode(video=0):
            picture.pts, picture.pict_type = None, av.video.frame.PictureType.NONE
            out.mux(vs.encode(picture))
        out.mux(vs.encode(None))


def stats(samples: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:6.0f} ms   p99 {cuts[98] * 1000:6.0f} ms   max {max(samples) * 1000:6.0f} ms"


def timed(calls: list[float], fn: Callable[[float], bytes]) -> list[float]:
    """Seconds per call of `fn(t)` for each time `t`."""
    out = []
    for t in calls:
        start = time.perf_counter()
        assert fn(t)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    """Make the clip, start the server, time the snapshots, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--gop", type=int, default=50, help="frames between key frames (x264 default: 250)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    clip = work / "1080p.mp4"
    make_clip(clip, args.gop)
    (work / "data" / "queues").mkdir(parents=True)
    server = ServerThread(lambda: create_app(make_settings(work / "data", workers_enabled=False))).start()
    try:
        client = sdk(server.port)
        client.put_object(Bucket=BUCKET, Key=KEY, Body=clip.read_bytes())
        times = [round((i * 3.7) % 10.0, 2) for i in range(args.calls)]  # spread over the clip

        def over_http(mode: str) -> Callable[[float], bytes]:
            def call(t: float) -> bytes:
                resp = client.get_snapshot(Bucket=BUCKET, Key=KEY, Time=str(t), Mode=mode)
                return bytes(resp["Body"].get_raw_stream().read())
            return call

        over_http("exactframe")(1.0)  # warm-up: loads PyAV in the server
        print(f"1080p 10 s H.264, key frame every {args.gop} frames, {args.calls} sequential calls, "
              f"times spread over 0-10 s")
        for mode in ("exactframe", "keyframe"):
            http = timed(times, over_http(mode))
            local = timed(times, lambda t, m=mode: frame.grab(str(clip), t, 0, 0, "jpg", "auto", m))
            print(f"  get_snapshot {mode:<10}  {stats(http)}")
            print(f"  frame.grab   {mode:<10}  {stats(local)}   (no HTTP)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
