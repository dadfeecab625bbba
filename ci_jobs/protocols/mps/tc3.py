"""TC3-HMAC-SHA256, the Tencent Cloud API 3.0 signature: parsing the Authorization header and verifying it.

Pure functions over the request's parts. The verifier honours whatever `SignedHeaders` lists (it must
include `content-type` and `host`, as Tencent's own gateway requires), canonicalises each header as
Tencent documents (lower-case name; trimmed value, lower-cased), and also accepts a value signed as
sent, since the Python SDK signs Host and Content-Type without lower-casing them. The scope's date
must be the UTC date of `X-TC-Timestamp`, its service `mps` (whatever Host the client used).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ...auth import header
from .errors import InvalidAuthorization, SignatureExpire, SignatureFailure

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "mps"
UNSIGNED = "UNSIGNED-PAYLOAD"
REQUIRED_HEADERS = ("content-type", "host")
_AUTH = re.compile(r"^TC3-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)"
                   r"\s*,\s*Signature=(?P<sig>[0-9a-fA-F]{64})\s*$")


@dataclass(frozen=True)
class Credential:
    """The parts of one TC3 Authorization header."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def is_tc3(authorization: str) -> bool:
    """Whether an Authorization header value claims the TC3-HMAC-SHA256 algorithm."""
    return authorization.lstrip().startswith(ALGORITHM)


def parse(authorization: str) -> Credential:
    """Parse `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=..., Signature=...`."""
    m = _AUTH.match(authorization.strip())
    if m is None:
        raise InvalidAuthorization("The Authorization header must be TC3-HMAC-SHA256 Credential=<SecretId>/"
                                   "<date>/mps/tc3_request, SignedHeaders=<names>, Signature=<64 hex>.")
    parts = m["cred"].split("/")
    if len(parts) != 4 or parts[3] != "tc3_request" or not all(parts):
        raise InvalidAuthorization(f"The Authorization Credential {m['cred']!r} must be "
                                   "<SecretId>/<YYYY-MM-DD>/<service>/tc3_request.")
    signed = tuple(m["signed"].lower().split(";"))
    if any(not h for h in signed) or list(signed) != sorted(set(signed)):
        raise InvalidAuthorization(f"SignedHeaders {m['signed']!r} must be lower-case names, sorted, joined by ';'.")
    return Credential(parts[0], parts[1], parts[2], signed, m["sig"].lower())


@functools.lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, service: str) -> bytes:
    """SecretSigning: HMAC chain over the date, the service and `tc3_request` (cached: one per key and day)."""
    secret_date = hmac.digest(("TC3" + secret_key).encode(), date.encode(), "sha256")
    secret_service = hmac.digest(secret_date, service.encode(), "sha256")
    return hmac.digest(secret_service, b"tc3_request", "sha256")


@functools.lru_cache(maxsize=4)
def _utc_date(day: int) -> str:
    # The scope's date of a timestamp: one strftime per UTC day (a call spans at most a day's boundary).
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")


def canonical_request(method: str, path: str, query: str, headers: list[tuple[str, str]], payload_hash: str) -> str:
    """The CanonicalRequest of reference §2: method, URI, query, `name:value\\n` lines, names, payload hash."""
    lines = "".join(f"{name}:{value}\n" for name, value in headers)
    names = ";".join(name for name, _ in headers)
    return f"{method}\n{path}\n{query}\n{lines}\n{names}\n{payload_hash}"


def string_to_sign(timestamp: str, date: str, service: str, canonical: str) -> str:
    """The StringToSign: algorithm, timestamp, credential scope and the hash of the canonical request."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(secret_key: str, date: str, service: str, sts: str) -> str:
    """The hex signature of a StringToSign."""
    return hmac.digest(signing_key(secret_key, date, service), sts.encode(), "sha256").hex()


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """sha256 of the body, or of `UNSIGNED-PAYLOAD` when the client chose X-TC-Content-SHA256: UNSIGNED-PAYLOAD."""
    if header(headers, "x-tc-content-sha256").strip() == UNSIGNED:
        return hashlib.sha256(UNSIGNED.encode()).hexdigest()
    return hashlib.sha256(body).hexdigest()


def check_time(timestamp: int, now: float, max_skew: int) -> None:
    """Refuse a timestamp more than `max_skew` seconds away from `now` (either way)."""
    if abs(now - timestamp) > max_skew:
        raise SignatureExpire(f"X-TC-Timestamp {timestamp} is more than {max_skew} s away from the server's "
                              f"time {int(now)}: the signature has expired (or the clocks disagree).")


def verify(cred: Credential, secret_key: str, method: str, path: str, query: str,
           headers: Mapping[str, str], body: bytes, timestamp: str) -> None:
    """Raise unless `cred` signs this request with `secret_key` (the time window is `check_time`'s)."""
    if cred.service != SERVICE:
        raise SignatureFailure(f"The credential scope's service is {cred.service!r}; ci-jobs serves 'mps'.")
    date = _utc_date(int(timestamp) // 86400)
    if cred.date != date:
        raise SignatureFailure(f"The credential scope's date {cred.date} is not the UTC date {date} of "
                               f"X-TC-Timestamp {timestamp}.")
    missing = [h for h in REQUIRED_HEADERS if h not in cred.signed_headers]
    if missing:
        raise SignatureFailure(f"SignedHeaders must include {' and '.join(missing)}.")
    digest = payload_hash(body, headers)
    raw = [(name, header(headers, name).strip()) for name in cred.signed_headers]
    for values in ([(n, v.lower()) for n, v in raw], raw):
        sts = string_to_sign(timestamp, date, SERVICE, canonical_request(method, path, query, values, digest))
        if hmac.compare_digest(signature(secret_key, date, SERVICE, sts), cred.signature):
            return
    raise SignatureFailure("The provided credentials could not be validated: the request signature does not "
                           "match the one computed with this SecretId's key.")
