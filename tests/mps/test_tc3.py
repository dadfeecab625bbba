"""TC3-HMAC-SHA256 against the reference's vectors (Tencent's published one and one captured from the SDK)."""

from __future__ import annotations

import hashlib

import pytest

from ci_jobs.protocols.mps import tc3
from ci_jobs.protocols.mps.errors import InvalidAuthorization, SignatureExpire, SignatureFailure
from ci_jobs.protocols.mps.replay import ReplayCache

A_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
A_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
B_ID, B_KEY = "AKIDEXAMPLEEXAMPLEEXAMPLE0123456789", "SKEXAMPLEEXAMPLEEXAMPLE0123456789"
B_BODY = (b'{"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": "test-1250000000", "Region": "ap-guangzhou", '
          b'"Object": "/in/a.mp4"}}, "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": '
          b'"test-1250000000", "Region": "ap-guangzhou"}}, "OutputDir": "/out/", "MediaProcessTask": '
          b'{"TranscodeTaskSet": [{"Definition": 100030}]}, "TasksPriority": 5}')
B_SIG = "10cfe20d5aced12204aa42b3e5c7d78973373691f64cee18ae0ea39dfd6bd042"
B_HEADERS = {"Host": "127.0.0.1:8080", "Content-Type": "application/json", "X-TC-Action": "ProcessMedia"}
B_AUTH = (f"TC3-HMAC-SHA256 Credential={B_ID}/2023-11-14/mps/tc3_request, SignedHeaders=content-type;host, "
          f"Signature={B_SIG}")


def test_vector_a_tencent_published() -> None:
    assert hashlib.sha256(A_BODY).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    headers = [("content-type", "application/json; charset=utf-8"), ("host", "cvm.tencentcloudapi.com")]
    canonical = tc3.canonical_request("POST", "/", "", headers, hashlib.sha256(A_BODY).hexdigest())
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    assert tc3.signing_key(A_KEY, "2019-02-25", "cvm").hex() == (
        "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1")
    sts = tc3.string_to_sign("1551113065", "2019-02-25", "cvm", canonical)
    assert tc3.signature(A_KEY, "2019-02-25", "cvm", sts) == (
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_vector_b_sdk_request_verifies() -> None:
    cred = tc3.parse(B_AUTH)
    assert (cred.secret_id, cred.date, cred.service, cred.signed_headers) == (
        B_ID, "2023-11-14", "mps", ("content-type", "host"))
    assert hashlib.sha256(B_BODY).hexdigest() == "db3bbd6959e7786b5d2e6b667a1873c81853e11de131b0377b2915964b697f6b"
    tc3.verify(cred, B_KEY, "POST", "/", "", B_HEADERS, B_BODY, "1700000000")


@pytest.mark.parametrize("change", ["key", "body", "timestamp", "host"])
def test_vector_b_altered_fails(change: str) -> None:
    key, body, ts, headers = B_KEY, B_BODY, "1700000000", dict(B_HEADERS)
    if change == "key":
        key = B_KEY[:-1] + "X"
    elif change == "body":
        body = body.replace(b"100030", b"100040")
    elif change == "timestamp":
        ts = "1700000001"
    else:
        headers["Host"] = "127.0.0.1:8081"
    with pytest.raises(SignatureFailure):
        tc3.verify(tc3.parse(B_AUTH), key, "POST", "/", "", headers, body, ts)


def test_scope_must_be_mps_and_the_timestamps_utc_date() -> None:
    with pytest.raises(SignatureFailure, match="service"):
        tc3.verify(tc3.parse(B_AUTH.replace("/mps/", "/cvm/")), B_KEY, "POST", "/", "", B_HEADERS, B_BODY,
                   "1700000000")
    with pytest.raises(SignatureFailure, match="UTC date"):
        tc3.verify(tc3.parse(B_AUTH), B_KEY, "POST", "/", "", B_HEADERS, B_BODY, str(1700000000 + 86400))


def test_more_signed_headers_and_lower_cased_values() -> None:
    """Newer demos sign x-tc-action too, its value lower-cased."""
    ts, date = "1700000000", "2023-11-14"
    names = [("content-type", "application/json"), ("host", "127.0.0.1:8080"), ("x-tc-action", "processmedia")]
    canonical = tc3.canonical_request("POST", "/", "", names, hashlib.sha256(B_BODY).hexdigest())
    sig = tc3.signature(B_KEY, date, "mps", tc3.string_to_sign(ts, date, "mps", canonical))
    auth = (f"TC3-HMAC-SHA256 Credential={B_ID}/{date}/mps/tc3_request, "
            f"SignedHeaders=content-type;host;x-tc-action, Signature={sig}")
    tc3.verify(tc3.parse(auth), B_KEY, "POST", "/", "", B_HEADERS, B_BODY, ts)
    unsigned_host = auth.replace("content-type;host;x-tc-action", "content-type;x-tc-action")
    with pytest.raises(SignatureFailure, match="host"):
        tc3.verify(tc3.parse(unsigned_host), B_KEY, "POST", "/", "", B_HEADERS, B_BODY, ts)


@pytest.mark.parametrize("value", ["", "TC3-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00",
                                   "TC3-HMAC-SHA256 Credential=a/2023-11-14/mps/tc3_request, "
                                   "SignedHeaders=host;content-type, Signature=" + "0" * 64])
def test_malformed_authorization(value: str) -> None:
    with pytest.raises(InvalidAuthorization):
        tc3.parse(value)


def test_clock_skew_both_ways() -> None:
    tc3.check_time(1000, 1000 + 300, 300)
    tc3.check_time(1000, 1000 - 300, 300)
    for now in (1000 + 301, 1000 - 301):
        with pytest.raises(SignatureExpire):
            tc3.check_time(1000, now, 300)


def test_replay_cache_refuses_a_live_signature_once_more_and_forgets_it_after_its_window() -> None:
    cache = ReplayCache(limit=2)
    assert cache.first_use("a", until=10, now=0)
    assert not cache.first_use("a", until=10, now=5)
    assert cache.first_use("a", until=30, now=11)  # its window closed: the timestamp check refuses it anyway
    assert cache.first_use("b", until=30, now=12) and cache.first_use("c", until=30, now=12)
    assert len(cache) == 2


@pytest.mark.parametrize(("timestamp", "date"), [(0, "1970-01-01"), (86399, "1970-01-01"), (86400, "1970-01-02"),
                                                  (1700006399, "2023-11-14"), (1700006400, "2023-11-15")])
def test_scope_date_is_the_utc_day_either_side_of_midnight(timestamp: int, date: str) -> None:
    assert tc3._utc_date(timestamp // 86400) == date
