"""The test server thread now ships in the package (`ci_jobs.testing`); this name stays for older imports."""

from __future__ import annotations

from ci_jobs.testing import ServerThread, free_port

__all__ = ["ServerThread", "free_port"]
