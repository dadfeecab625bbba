"""Each node's scratch folder for staging job files, and the sweep of folders whose node died.

A node stages its jobs under `work/<node>/` and holds an exclusive `flock` on `work/<node>.lock` for
as long as it lives. The kernel drops the lock when the process ends, however it ends (kill -9
included), so at start a node removes every folder under `work/` whose lock nobody holds: the
inputs, half-written outputs and segments of runs that a crash cut off. Several nodes may share one
data dir (`ci-jobs serve` and `ci-jobs worker` on one machine); a live node's folder is never swept.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
LOCK = ".lock"


class Scratch:
    """`root/<node>/`, this node's, locked while open."""

    def __init__(self, root: Path, node: str) -> None:
        self.root = root
        self.folder = root / node
        self._lock_path = root / f"{node}{LOCK}"
        self._lock: int | None = None

    def open(self) -> list[str]:
        """Sweep dead nodes' folders, then take this node's lock; return what was swept."""
        self.root.mkdir(parents=True, exist_ok=True)
        swept = sweep(self.root)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = fd
        self.folder.mkdir(exist_ok=True)
        if swept:
            log.info("swept scratch files of %d interrupted run(s) from %s", len(swept), self.root)
        return swept

    def close(self) -> None:
        """Remove this node's folder and give up the lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock_path.unlink()
            os.close(self._lock)
            self._lock = None


def sweep(root: Path) -> list[str]:
    """Remove the entries of `root` that no live node holds (their `<name>.lock` is free or absent)."""
    swept = []
    for entry in sorted(root.iterdir()):
        if entry.name.endswith(LOCK):
            if not entry.with_name(entry.name[: -len(LOCK)]).exists() and not _held(entry):
                with contextlib.suppress(OSError):
                    entry.unlink()
            continue
        lock = root / f"{entry.name}{LOCK}"
        if lock.exists() and _held(lock):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        with contextlib.suppress(OSError):
            lock.unlink()
        swept.append(entry.name)
    return swept


def _held(lock: Path) -> bool:
    """Whether a live process holds `lock` (a lock we can take ourselves is nobody's)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this check took
    return False
