"""The COS/CI request signature (q-sign-algorithm=sha1): parsing and verification.

Pure functions; the API layer feeds them the request's method, raw path, raw query and headers.
Only the parameters and headers that the client lists are signed, so the verifier never assumes a set.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote

from .errors import AccessDenied, InvalidAuthorization, RequestTimeTooSkewed, SignatureDoesNotMatch

FIELDS = ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list",
          "q-url-param-list", "q-signature")


class Credential(NamedTuple):
    """The q-* fields of one request (a tuple: made on every signed request, ~10x cheaper than a frozen dataclass)."""

    secret_id: str
    sign_time: str
    key_time: str
    header_list: str
    param_list: str
    signature: str


_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")


def enc(s: str) -> str:
    """COS UrlEncode: UTF-8, every byte outside A-Z a-z 0-9 - _ . ~ as uppercase %XX."""
    if _UNRESERVED.fullmatch(s):  # a host, a date, a length: nothing to encode (most signed values)
        return s
    return quote(s.encode("utf-8"), safe="-_.~")


def _canon(pairs: list[tuple[str, str]]) -> str:
    d = {enc(k).lower(): enc(v) for k, v in pairs}
    return "&".join(f"{k}={d[k]}" for k in sorted(d))


def parse_authorization(value: str) -> Credential | None:
    """Parse an Authorization header value; None when it is empty (anonymous)."""
    value = value.strip()
    if not value:
        return None
    parts: dict[str, str] = {}
    for item in value.split("&"):
        key, sep, val = item.partition("=")
        if not sep:
            raise InvalidAuthorization(f"malformed Authorization field {item!r}")
        parts[key.strip()] = val
    return _credential(parts)


def parse_query(query: Mapping[str, str]) -> Credential | None:
    """Extract a credential from pre-signed URL parameters (`q-*` or merged `sign=`)."""
    if "sign" in query and "q-signature" not in query:
        return parse_authorization(unquote(query["sign"]))
    if "q-signature" not in query and "q-ak" not in query:
        return None
    return _credential({k: query.get(k, "") for k in FIELDS})


def _credential(parts: dict[str, str]) -> Credential:
    missing = [f for f in FIELDS if f not in parts]
    if missing:
        raise InvalidAuthorization(f"Authorization lacks {', '.join(missing)}")
    if parts["q-sign-algorithm"].lower() != "sha1":
        raise InvalidAuthorization("q-sign-algorithm must be sha1")
    return Credential(parts["q-ak"], parts["q-sign-time"], parts["q-key-time"],
                      parts["q-header-list"], parts["q-url-param-list"], parts["q-signature"])


def _window(name: str, value: str) -> tuple[int, int]:
    """Return (start, end) of a `start;end` time pair of the field `name`."""
    try:
        start, end = (int(x) for x in value.split(";"))
    except ValueError as exc:
        raise InvalidAuthorization(f"malformed {name} {value!r}") from exc
    if start > end:
        raise InvalidAuthorization(f"{name} {value!r} ends before it starts")
    return start, end


@functools.lru_cache(maxsize=1024)
def _sign_key(secret_key: str, key_time: str) -> bytes:
    # SDKs reuse one KeyTime for all the requests of a second or more: computed once per window.
    return hmac.digest(secret_key.encode(), key_time.encode(), "sha1").hex().encode()


def signature(secret_key: str, key_time: str, method: str, path: str,
              params: list[tuple[str, str]], headers: list[tuple[str, str]]) -> str:
    """Compute the hex signature for a decoded `path` and the signed params and headers."""
    http_string = f"{method.lower()}\n{path}\n{_canon(params)}\n{_canon(headers)}\n"
    sts = f"sha1\n{key_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
    mac = _sign_mac(secret_key, key_time).copy()
    mac.update(sts.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=1024)
def _sign_mac(secret_key: str, key_time: str) -> hmac.HMAC:
    # The HMAC keyed with the window's SignKey, copied per request: no key schedule (nor OpenSSL's
    # digest lookup, which hmac.digest repeats on every call) per signature.
    return hmac.new(_sign_key(secret_key, key_time), digestmod=hashlib.sha1)


def verify(cred: Credential, secret_key: str, method: str, raw_path: str, raw_query: str,
           headers: Mapping[str, str], *, now: float | None = None, max_skew: int = 900) -> None:
    """Raise unless `cred` signs this request with `secret_key` and is inside its time windows.

    The signature covers `q-key-time` only (the signing key is derived from it), so that is the
    window that bounds the credential: editing the unsigned `q-sign-time` cannot revive an
    expired one. `q-sign-time` is checked too, and must lie inside `q-key-time`.
    """
    now = time.time() if now is None else now
    key_start, key_end = _window("q-key-time", cred.key_time)
    sign_start, sign_end = _window("q-sign-time", cred.sign_time)
    if not key_start <= sign_start <= sign_end <= key_end:
        raise AccessDenied("q-sign-time must lie inside q-key-time")
    if now > min(key_end, sign_end):
        raise AccessDenied("Request has expired")
    if now < max(key_start, sign_start) - max_skew:
        raise RequestTimeTooSkewed()
    query: dict[str, str] = {}
    if cred.param_list and raw_query:
        for k, v in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(enc(k).lower(), v)
    params = [(k, query.get(k, "")) for k in cred.param_list.split(";") if k]
    names = [k for k in cred.header_list.split(";") if k]
    hdrs = [(k, header(headers, k)) for k in names]
    path = unquote(raw_path)
    expected = signature(secret_key, cred.key_time, method, path, params, hdrs)
    if hmac.compare_digest(expected, cred.signature.lower()):
        return
    host = header(headers, "host")
    if "host" in names and ":" in host:
        hdrs = [(k, host.rsplit(":", 1)[0] if k == "host" else v) for k, v in hdrs]
        if hmac.compare_digest(signature(secret_key, cred.key_time, method, path, params, hdrs),
                               cred.signature.lower()):
            return
    raise SignatureDoesNotMatch()


def policy_signature(secret_key: str, key_time: str, policy: bytes) -> str:
    """The q-signature of a POST Object form: HMAC-SHA1 of SHA1(policy JSON) under the key-time's signing key."""
    string_to_sign = hashlib.sha1(policy).hexdigest()
    return hmac.digest(_sign_key(secret_key, key_time), string_to_sign.encode(), "sha1").hex()


def verify_policy(secret_key: str, key_time: str, policy: bytes, sig: str, *,
                  now: float | None = None, max_skew: int = 900) -> None:
    """Raise unless `sig` signs the decoded form `policy` with `secret_key` inside the `key_time` window."""
    now = time.time() if now is None else now
    start, end = _window("q-key-time", key_time)
    if now > end:
        raise AccessDenied("The form's q-key-time has expired")
    if now < start - max_skew:
        raise RequestTimeTooSkewed()
    if not hmac.compare_digest(policy_signature(secret_key, key_time, policy), sig.lower()):
        raise SignatureDoesNotMatch()


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by lower-case name (aiohttp's headers are case-insensitive; plain dicts are searched)."""
    value = headers.get(name)
    if value is None:
        for k, v in headers.items():
            if k.lower() == name:
                return v
        return ""
    return value


def presign(secret_id: str, secret_key: str, method: str, path: str, host: str,
            start: int, end: int) -> str:
    """Return the q-* query string of a pre-signed URL for `path` signing only `host`."""
    key_time = f"{start};{end}"
    sig = signature(secret_key, key_time, method, path, [], [("host", host)])
    kt = quote(key_time, safe="")
    return (f"q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={kt}&q-key-time={kt}"
            f"&q-header-list=host&q-url-param-list=&q-signature={sig}")
