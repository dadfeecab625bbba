"""`make bench` (issue 16): VideoMontage speed, in seconds of processing per minute of 720p input.

The media driver runs in-process as a worker runs it (`dispatch.run` on the Task its Tag parses) on a
720p 25 fps lavfi testsrc2 clip with a 440 Hz sine, encoded here with PyAV. The analysis pass (decode
every frame, score motion, loudness, sharpness and faces when OpenCV's cascades are installed) is timed
on its own, then whole jobs (analysis + cutting a Duration-second reel, libx264 at its defaults).
The analysis grows with the input's length, the cutting with Duration: the table gives both, s per
minute of input and (job - analysis) s per second of reel.

Writes bench/results/montage.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs import tags  # noqa: E402
from ci_jobs.engine.dispatch import run  # noqa: E402
from ci_jobs.media import Task  # noqa: E402
from ci_jobs.media.common import Ticker, open_input  # noqa: E402
from ci_jobs.media.interest import analyse, signals_used  # noqa: E402
from tests.media.conftest import make_clip  # noqa: E402

FPS, SECONDS = 25, 12.0
OUT = {"Region": "ap-guangzhou", "Bucket": "examplebucket-1250000000", "Object": "reel.${ext}"}
RESULTS = ROOT / "bench" / "results" / "montage.json"


def timed(operation: dict[str, Any], src: str, tmp: Path) -> float:
    """Seconds one VideoMontage driver run takes on `src` (parse excluded)."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    task = Task("VideoMontage", tags.parse("VideoMontage", operation), (src,), str(out))
    start = time.perf_counter()
    run(task, lambda fraction: None)
    return time.perf_counter() - start


def main() -> None:
    """Print the table and write the JSON."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        hd = make_clip(tmp / "720p.mp4", 1280, 720, SECONDS, FPS, pattern="testsrc2")
        start = time.perf_counter()
        with open_input(hd) as inp:
            signals = analyse(inp, Ticker(lambda p: None, None))
        analysis = time.perf_counter() - start
        rows.append({"what": f"analysis ({', '.join(signals_used(signals))})", "seconds": analysis,
                     "seconds_per_minute": analysis * 60 / SECONDS})
        for duration, scene in (("3", "Video"), ("6", "Video"), ("3", "Soccer")):
            op = {"VideoMontage": {"Container": {"Format": "mp4"}, "Duration": duration, "Scene": scene},
                  "Output": OUT}
            seconds = timed(op, hd, tmp)
            rows.append({"what": f"job, Duration {duration} s, Scene {scene}", "seconds": seconds,
                         "seconds_per_minute": seconds * 60 / SECONDS,
                         "cut_seconds_per_reel_second": max(0.0, seconds - analysis) / float(duration)})
    print(f"VideoMontage, in-process driver (720p {SECONDS:g} s testsrc2 + sine, {FPS} fps; s per minute of input)")
    print(f"{'what':44s} {'wall s':>8s} {'s/min 720p':>12s} {'cut s/reel s':>13s}")
    for row in rows:
        cut = f"{row['cut_seconds_per_reel_second']:13.2f}" if "cut_seconds_per_reel_second" in row else ""
        print(f"{row['what']:44s} {row['seconds']:8.2f} {row['seconds_per_minute']:12.1f} {cut}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"fps": FPS, "clip_seconds": SECONDS, "rows": rows}, indent=2) + "\n",
                       encoding="utf-8")


if __name__ == "__main__":
    main()
