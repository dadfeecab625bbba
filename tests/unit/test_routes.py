"""The CI protocol's declared route table: every route found by method and path shape, the rest refused."""

from __future__ import annotations

import pytest

from ci_jobs.errors import MethodNotAllowed, NoSuchResource
from ci_jobs.protocols.ci import handlers
from ci_jobs.protocols.ci.handlers import ROUTES


@pytest.mark.parametrize(("method", "path", "handler", "rest"), [
    ("POST", "/jobs", handlers.submit_jobs, ""),
    ("GET", "/jobs", handlers.list_jobs, ""),
    ("GET", "/jobs/j1,j2", handlers.describe_jobs, "j1,j2"),
    ("PUT", "/jobs/j1", handlers.cancel_jobs, "j1"),
    ("GET", "/queue", handlers.describe_queues, ""),
    ("PUT", "/queue/p1", handlers.update_queue, "p1"),
    ("POST", "/queue/p1", handlers.update_queue, "p1"),
    ("GET", "/template/", handlers.describe_templates, ""),
    ("DELETE", "/template/t1", handlers.delete_template, "t1"),
    ("GET", "/mediabucket", handlers.media_buckets, ""),
])
def test_routes_are_found(method: str, path: str, handler: object, rest: str) -> None:
    assert ROUTES.find(method, path) == (handler, rest)


@pytest.mark.parametrize(("method", "path", "error"), [
    ("DELETE", "/jobs", MethodNotAllowed),
    ("POST", "/jobs/j1", MethodNotAllowed),
    ("PUT", "/template", MethodNotAllowed),
    ("GET", "/pic_jobs", NoSuchResource),
    ("GET", "/nothing", NoSuchResource),
])
def test_other_requests_are_refused(method: str, path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        ROUTES.find(method, path)
