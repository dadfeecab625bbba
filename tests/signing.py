"""COS signatures for tests that speak raw HTTP (requests, sockets) instead of the SDK."""

from __future__ import annotations

import time

from ci_jobs import auth

from .conftest import SECRET_ID, SECRET_KEY


def authorization(method: str, path: str, host: str, key_time: str, sign_time: str | None = None) -> str:
    """A COS Authorization header signing only `host`, with an optional (unsigned) q-sign-time."""
    sig = auth.signature(SECRET_KEY, key_time, method, path, [], [("host", host)])
    return (f"q-sign-algorithm=sha1&q-ak={SECRET_ID}&q-sign-time={sign_time or key_time}"
            f"&q-key-time={key_time}&q-header-list=host&q-url-param-list=&q-signature={sig}")


def signed(method: str, path: str, host: str) -> dict[str, str]:
    """Headers that sign a request to `host` for the next hour."""
    now = int(time.time())
    return {"Authorization": authorization(method, path, host, f"{now - 60};{now + 3600}"), "Host": host}
