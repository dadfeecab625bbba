"""The README's MPS example runs against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..harness import ServerThread

ROOT = Path(__file__).resolve().parents[2]


def test_mps_example_runs(mps_server: ServerThread) -> None:
    env = {**os.environ, "CI_JOBS_PORT": str(mps_server.port)}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "mps_process_media.py")], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("downloaded") == 4, out.stdout
