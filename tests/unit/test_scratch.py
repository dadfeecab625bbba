"""Scratch folders: a node's own under work/, locked while it lives; folders of dead nodes swept at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ci_jobs.engine.scratch import Scratch


def test_start_sweeps_dead_nodes_and_leftovers_but_never_a_live_node(tmp_path: Path) -> None:
    work = tmp_path / "work"
    live = Scratch(work, "node-live")
    live.open()
    (live.folder / "j1-abc").mkdir()
    (live.folder / "j1-abc" / "input.mp4").write_bytes(b"in use")
    dead = work / "node-dead" / "j2-def"
    dead.mkdir(parents=True)
    (dead / "segment-00001.ts").write_bytes(b"cut off")
    (work / "node-dead.lock").write_text("")  # its process is gone: nobody holds the lock
    (work / "j3-old").mkdir()  # a staging dir of a server from before per-node folders
    (work / "stray.part").write_bytes(b"x")
    mine = Scratch(work, "node-new")
    swept = mine.open()
    assert sorted(swept) == ["j3-old", "node-dead", "stray.part"]
    assert (live.folder / "j1-abc" / "input.mp4").read_bytes() == b"in use"
    assert sorted(p.name for p in work.iterdir()) == ["node-live", "node-live.lock", "node-new", "node-new.lock"]
    mine.close()
    live.close()
    assert list(work.iterdir()) == []


def test_a_node_killed_without_cleanup_leaves_a_lock_nobody_holds(tmp_path: Path) -> None:
    work = tmp_path / "work"
    script = ("import os, sys; from pathlib import Path; from ci_jobs.engine.scratch import Scratch\n"
              f"s = Scratch(Path({str(work)!r}), 'node-child'); s.open()\n"
              "(s.folder / 'half.mp4').write_bytes(b'x'); os._exit(0)  # no close(): as after kill -9\n")
    subprocess.run([sys.executable, "-c", script], check=True)
    assert (work / "node-child" / "half.mp4").exists()
    assert Scratch(work, "node-next").open() == ["node-child"]
    assert not (work / "node-child").exists() and not (work / "node-child.lock").exists()
