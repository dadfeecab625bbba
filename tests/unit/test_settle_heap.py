"""settle_heap, which `ci-jobs serve` and `ci-jobs worker` call once started: the start-up heap leaves the
cyclic collector's reach, young collections run less often, and garbage made later is still collected."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, weakref
from ci_jobs.server import GC_YOUNG_THRESHOLD, settle_heap

class Node:
    pass

kept = [Node() for _ in range(1000)]
settle_heap()
assert gc.get_freeze_count() >= len(kept), gc.get_freeze_count()
assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700

a, b = Node(), Node()  # a cycle made after start-up
a.other, b.other = b, a
dead = weakref.ref(a)
del a, b
gc.collect()
assert dead() is None, "a cycle made after settle_heap was not collected"
print("ok")
"""


def test_settle_heap_freezes_start_up_and_still_collects_later_cycles() -> None:
    # In a child: freezing this test process's heap would keep its garbage for the rest of the session.
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
