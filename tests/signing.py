"""COS signatures for tests that speak raw HTTP (requests, sockets) instead of the SDK."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

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


def form_fields(conditions: list[Any], *, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY,
                expires_in: int = 600, key_time: str | None = None) -> dict[str, str]:
    """A policy and its q-signature as COS documents POST Object (SignKey over KeyTime, SHA1 of the policy)."""
    now = int(time.time())
    key_time = key_time or f"{now - 60};{now + expires_in}"
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + expires_in))
    policy = json.dumps({"expiration": expiration, "conditions": [
        {"q-sign-algorithm": "sha1"}, {"q-ak": secret_id}, {"q-sign-time": key_time}, *conditions]})
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    string_to_sign = hashlib.sha1(policy.encode()).hexdigest()
    signature = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()
    return {"policy": base64.b64encode(policy.encode()).decode(), "q-sign-algorithm": "sha1",
            "q-ak": secret_id, "q-key-time": key_time, "q-signature": signature}
