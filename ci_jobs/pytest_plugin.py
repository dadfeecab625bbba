"""pytest fixtures for suites that test their own code against ci-jobs: `ci_jobs_server`, `ci_jobs_client`.

Opt in from a conftest.py with `pytest_plugins = ["ci_jobs.pytest_plugin"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import Server, run_server


@pytest.fixture(scope="session")
def ci_jobs_server() -> Iterator[Server]:
    """One throwaway ci-jobs server (in a thread, temporary data) for the test session."""
    with run_server() as server:
        yield server


@pytest.fixture
def ci_jobs_client(ci_jobs_server: Server) -> Any:
    """The session server's `CosS3Client`, signed with its demo account."""
    return ci_jobs_server.client
