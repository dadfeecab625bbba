"""Ids and times: the urandom pool behind new_id, the once-a-second caches behind request_id and fmt_time."""

from __future__ import annotations

import base64
import os
import re
import time
from datetime import datetime

import pytest

from ci_jobs import ids


def test_new_ids_are_unique_and_ci_shaped() -> None:
    made = [ids.new_id("j") for _ in range(20_000)]  # several refills of the 4 KiB pool
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"j[0-9a-f]{32}", i) for i in made)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_never_reuses_its_parents_pool() -> None:
    ids.new_id("j")  # the parent's pool now holds bytes a child would otherwise repeat
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, ids.new_id("j").encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child[13:] != ids.new_id("j")[13:]  # the random part: the time part may well be the same


def test_new_ids_lead_with_the_time_so_later_ids_sort_after() -> None:
    before = time.time_ns() // 1_000_000
    first = ids.new_id("j")
    time.sleep(0.003)
    second = ids.new_id("j")
    assert before <= int(first[1:13], 16) <= time.time_ns() // 1_000_000
    assert second > first  # an index on the ids grows at its end
    assert first[13:] != second[13:] and len({ids.new_id("j")[13:] for _ in range(1000)}) == 1000


def test_request_ids_decode_to_time_node_and_counter() -> None:
    first, second = ids.request_id(), ids.request_id()
    raw = base64.b64decode(first).decode()
    stamp, node, counter = raw.split("_")
    assert abs(int(stamp, 16) - time.time()) < 5 and node == ids._NODE and len(counter) == 8
    assert int(base64.b64decode(second).decode().split("_")[2], 16) == (int(counter, 16) + 1) & 0xFFFFFFFF


@pytest.mark.parametrize("ts", [0.0, 0.999, -0.5, 1_700_000_000.25, 4_102_444_800.0])
def test_fmt_time_is_the_whole_second_in_utc8(ts: float) -> None:
    assert ids.fmt_time(ts) == datetime.fromtimestamp(ts, ids.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert ids.fmt_time(None) == "-"
