"""`make bench` (TSC): plain CRF against TSC on six synthetic clips, bits and FFmpeg SSIM per clip, time ratio.

libx264 at CRF 23, preset medium, one thread (runs repeat). The issue's bar: never more bits on any
clip at an SSIM at least the plain one's, at least 15 % fewer bits on the mean, at most 3x the time.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.media import tsc_clips as clips  # noqa: E402

W, H, N = 640, 360, 75
OPTIONS = {"crf": "23", "preset": "medium", "threads": "1"}


def main() -> None:
    """Print the table and the verdict."""
    savings, times, ok = [], [0.0, 0.0], True
    print(f"TSC vs plain CRF 23 ({W}x{H}, {N} frames, libx264 medium, 1 thread)")
    print(f"{'clip':9s} {'plain bits':>11s} {'SSIM':>8s} {'TSC bits':>11s} {'SSIM':>8s} {'saved':>7s} {'time':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in clips.CLIPS:
            frames = clips.frames(kind, W, H, N)
            plain, fast = Path(tmp) / "plain.mp4", Path(tmp) / "tsc.mp4"
            tp, tq = clips.encode(frames, plain, OPTIONS, False), clips.encode(frames, fast, OPTIONS, True)
            bp, bq = clips.video_bits(plain), clips.video_bits(fast)
            sp, sq = clips.ssim_y(frames, plain), clips.ssim_y(frames, fast)
            ok &= bq <= bp and sq >= sp
            savings.append(1 - bq / bp)
            times[0] += tp
            times[1] += tq
            print(f"{kind:9s} {bp:11d} {sp:8.5f} {bq:11d} {sq:8.5f} {1 - bq / bp:+7.1%} {tq / tp:5.2f}x", flush=True)
    mean, ratio = sum(savings) / len(savings), times[1] / times[0]
    print(f"mean saving {mean:.1%}, time {ratio:.2f}x; never more bits at >= SSIM: {ok}; "
          f"bar met: {ok and mean >= 0.15 and ratio <= 3.0}")


if __name__ == "__main__":
    main()
