"""The signature verifier against the reference's test vectors."""

from __future__ import annotations

import pytest

from ci_jobs import auth
from ci_jobs.errors import AccessDenied, InvalidAuthorization, SignatureDoesNotMatch

SK = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
AK = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"


def test_vector_a_official_put() -> None:
    headers = {
        "Date": "Thu, 16 May 2019 06:45:51 GMT",
        "Host": "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
        "Content-Type": "text/plain",
        "Content-Length": "13",
        "Content-MD5": "mQ/fVh815F3k6TAUm8m0eg==",
        "x-cos-acl": "private",
        "x-cos-grant-read": 'uin="100000000011"',
    }
    names = "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
    lower = {k.lower(): v for k, v in headers.items()}
    sig = auth.signature(SK, "1557989151;1557996351", "PUT", "/exampleobject(腾讯云)", [],
                         [(n, lower[n]) for n in names.split(";")])
    assert sig == "3b8851a11a569213c17ba8fa7dcf2abec6935172"


def test_vector_a2_official_get_with_params() -> None:
    host = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
    cred = auth.Credential(AK, "1557989753;1557996953", "1557989753;1557996953", "date;host",
                           "response-cache-control;response-content-type", "")
    params = [("response-cache-control", "max-age=600"),
              ("response-content-type", "application/octet-stream")]
    sig = auth.signature(SK, cred.key_time, "GET", "/exampleobject(腾讯云)", params,
                         [("date", "Thu, 16 May 2019 06:55:53 GMT"), ("host", host)])
    assert sig == "01681b8c9d798a678e43b685a9f1bba0f6c0e012"


def test_vector_b1_sdk_queue_query_verifies() -> None:
    header = ("q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1699999940;1700010000"
              "&q-key-time=1699999940;1700010000&q-header-list=host"
              "&q-url-param-list=pagenumber;pagesize;queueids;state"
              "&q-signature=25cc51e203049d7e5e8bba00bbc5d87db33bb53c")
    cred = auth.parse_authorization(header)
    assert cred is not None
    auth.verify(cred, SK, "GET", "/queue",
                "queueIds=p4a17eeea29334bf499b7e20e2fbfd99d&state=Active&pageNumber=1&pageSize=10",
                {"Host": "examplebucket-1250000000.ci.ap-guangzhou.myqcloud.com"}, now=1700000000)


def test_vector_b2_token_header_and_encoded_path() -> None:
    cred = auth.Credential(AK, "1699999940;1700010000", "1699999940;1700010000",
                           "content-length;content-type;host;x-cos-security-token", "",
                           "1d9d9004e5a889702595d93da326549d177951e5")
    auth.verify(cred, SK, "PUT", "/input/my%20video.mp4", "",
                {"Content-Type": "video/mp4", "x-cos-security-token": "EXAMPLETOKEN",
                 "Content-Length": "11",
                 "Host": "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"}, now=1700000000)


def test_vector_b3_presigned_query() -> None:
    query = {"q-sign-algorithm": "sha1", "q-ak": AK, "q-sign-time": "1699999940;1700003600",
             "q-key-time": "1699999940;1700003600", "q-header-list": "host",
             "q-url-param-list": "ci-process;format;time",
             "q-signature": "4b548e6eb7e250f1ec0150c981f8574204c315b2"}
    cred = auth.parse_query(query)
    assert cred is not None
    raw_query = ("q-sign-algorithm=sha1&q-ak=x&q-signature=y&ci-process=snapshot&time=1.5&format=jpg")
    auth.verify(cred, SK, "GET", "/input/my%20video.mp4", raw_query,
                {"Host": "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"}, now=1700000000)


def test_pm3u8_vector_presign() -> None:
    q = auth.presign(AK, SK, "get", "/hls/demo-0.ts",
                     "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com", 1700000000, 1700003600)
    assert q.endswith("q-signature=def3e2148ad53efe2ba91de40717c5d254511dd5")
    assert "q-sign-time=1700000000%3B1700003600" in q


def test_expired_and_tampered() -> None:
    cred = auth.Credential(AK, "1699999940;1700010000", "1699999940;1700010000", "host",
                           "pagenumber;pagesize;queueids;state",
                           "25cc51e203049d7e5e8bba00bbc5d87db33bb53c")
    q = "queueIds=p4a17eeea29334bf499b7e20e2fbfd99d&state=Active&pageNumber=1&pageSize=10"
    host = {"Host": "examplebucket-1250000000.ci.ap-guangzhou.myqcloud.com"}
    with pytest.raises(AccessDenied, match="expired"):
        auth.verify(cred, SK, "GET", "/queue", q, host, now=1700010001)
    with pytest.raises(SignatureDoesNotMatch):
        auth.verify(cred, SK, "GET", "/queue", q.replace("Active", "Paused"), host, now=1700000000)
    with pytest.raises(SignatureDoesNotMatch):
        auth.verify(cred, "wrong", "GET", "/queue", q, host, now=1700000000)


def test_host_port_retry_and_malformed() -> None:
    host = "examplebucket-1250000000.ci.ap-guangzhou.myqcloud.com"
    sig = auth.signature(SK, "1;2000000000", "GET", "/jobs", [], [("host", host)])
    cred = auth.Credential(AK, "1;2000000000", "1;2000000000", "host", "", sig)
    auth.verify(cred, SK, "GET", "/jobs", "", {"Host": host + ":8080"}, now=1700000000)
    assert auth.parse_authorization("") is None
    with pytest.raises(InvalidAuthorization):
        auth.parse_authorization("q-sign-algorithm=md5&q-ak=a")
