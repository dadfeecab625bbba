"""CI-style identifiers (job, queue, template, workflow, request) and timestamps."""

from __future__ import annotations

import base64
import functools
import itertools
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=8))

# Ids take their 16 bytes from a pool of urandom bytes refilled 4 KiB at a time: a getrandom call per id
# was ~8 us of a POST /jobs under load. A forked child starts with an empty pool, never its parent's bytes.
_POOL_SIZE = 4096
_pool = memoryview(b"")
_pool_at = 0
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    global _pool, _pool_at  # noqa: PLW0603 - the module's one pool
    _pool, _pool_at = memoryview(b""), 0


os.register_at_fork(after_in_child=_forget_pool)


def random_bytes(n: int) -> bytes:
    """`n` bytes from the OS's CSPRNG, drawn from a pool refilled by one getrandom call (more than the pool
    holds: straight from the OS)."""
    global _pool, _pool_at  # noqa: PLW0603 - the module's one pool
    if n > _POOL_SIZE:
        return os.urandom(n)
    with _pool_lock:
        if _pool_at + n > len(_pool):
            _pool, _pool_at = memoryview(os.urandom(_POOL_SIZE)), 0
        out = bytes(_pool[_pool_at:_pool_at + n])
        _pool_at += n
        return out


def new_id(prefix: str) -> str:
    """Return `prefix` + 32 lowercase hex, as CI formats JobId (j), QueueId (p), WorkflowId (w): 12 hex of
    the time in milliseconds, then 80 random bits.

    Time first, as in CI's own ids (UUID version 1) and UUID version 7: a new id sorts after those made
    before it, so its entry in a B-tree index (the jobs' and tasks' keys, jobs by task) lands on the last
    page instead of a random one. Random ids made a POST /jobs commit of 32 jobs touch a leaf page per id
    and index: 78-82 us of the SQLite inserter's CPU a job, against 32-37 us time-ordered. The order is
    only a locality hint; nothing depends on it (a clock stepped back just costs that locality)."""
    return prefix + (time.time_ns() // 1_000_000).to_bytes(6, "big").hex() + random_bytes(10).hex()


def new_template_id() -> str:
    """Return a custom template id: `t1` + 32 hex."""
    return "t1" + uuid.uuid4().hex


_NODE = os.urandom(4).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(2), "big"))


def request_id() -> str:
    """Return an opaque CI-style request id: base64 of `<hex time>_<node>_<counter>` (unique per process)."""
    # `<hex time>_<node>_` is 18 bytes, a whole number of base64 groups: its encoding, made once a second,
    # is the id's prefix as it stands, and only the counter is encoded per request.
    return _id_prefix(int(time.time())) + base64.b64encode(b"%08x" % (next(_COUNTER) & 0xFFFFFFFF)).decode()


@functools.lru_cache(maxsize=2)
def _id_prefix(second: int) -> str:
    return base64.b64encode(f"{second:08x}_{_NODE}_".encode()).decode()


def fmt_time(ts: float | None) -> str:
    """Format a unix time as CI does (`2022-06-27T15:23:10+0800`); `-` when unset."""
    if ts is None:
        return "-"
    return _fmt_second(int(ts // 1))


@functools.lru_cache(maxsize=4096)
def _fmt_second(second: int) -> str:
    # The format has whole seconds: a job's times and a burst of submits share a few seconds' strings.
    return datetime.fromtimestamp(second, LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_time(text: str) -> float:
    """Parse `%Y-%m-%dT%H:%M:%S%z` (also `+08:00`, a space instead of `T`, or a `Z`) to unix time."""
    s = text.strip().replace(" ", "T", 1)
    if s.endswith("Z"):
        s = s[:-1] + "+0000"
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=LOCAL_TZ)
        return dt.timestamp()
    raise ValueError(f"invalid time {text!r}, expected like 2022-06-27T15:23:10+0800")
