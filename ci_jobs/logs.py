"""Logging for `serve` and `worker`: human lines by default, one JSON object per line with `--log-format json`.

What is logged at INFO: an access line per request (`ci_jobs.access`: remote, method, path without
the query string, status, time, protocol, request id), each job's lifecycle (submitted, started on
which worker, every quarter of progress, finished with its Code), callbacks delivered, retried or
kept as dead letters, and the node's start and stop. Secrets are never logged: signatures travel in
headers or query strings, neither of which is written.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("human", "json")
_HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(level: str, fmt: str = "human") -> None:
    """Send every ci-jobs (and library) record at `level` or above to stderr in `fmt`."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(_HUMAN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # ci_jobs.access writes the access lines
