"""The MPS transport over a real socket: who claims what, TC3 failures, replays, versions, sizes, the envelope."""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import models, mps_client

from ci_jobs.protocols.mps import tc3
from ci_jobs.protocols.mps.protocol import MAX_BODY

from ..conftest import BUCKET, SECRET_ID, SECRET_KEY
from ..harness import ServerThread
from .conftest import cos_input, mps, request

TRANSCODE = {"InputInfo": cos_input(), "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 1010}]}}


def signed(port: int, action: str, body: bytes, *, timestamp: int | None = None, key: str = SECRET_KEY,
           host: str | None = None, version: str = "2019-06-12") -> dict[str, str]:
    """Headers of a correctly TC3-signed call, as the SDK would send them."""
    ts = int(time.time()) if timestamp is None else timestamp
    date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    host = host or f"127.0.0.1:{port}"
    headers = [("content-type", "application/json"), ("host", host)]
    canonical = tc3.canonical_request("POST", "/", "", headers, hashlib.sha256(body).hexdigest())
    sig = tc3.signature(key, date, "mps", tc3.string_to_sign(str(ts), date, "mps", canonical))
    return {"Host": host, "Content-Type": "application/json", "X-TC-Action": action, "X-TC-Version": version,
            "X-TC-Timestamp": str(ts),
            "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/mps/tc3_request, "
                             f"SignedHeaders=content-type;host, Signature={sig}"}


def post(port: int, headers: dict[str, str], body: bytes, method: str = "POST") -> tuple[int, str, dict[str, Any]]:
    """Send raw; (status, content type, parsed JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, "/", body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.getheader("Content-Type", ""), json.loads(raw) if raw.startswith(b"{") else {}
    finally:
        conn.close()


def error(port: int, headers: dict[str, str], body: bytes, method: str = "POST") -> tuple[str, str]:
    status, ctype, payload = post(port, headers, body, method)
    assert status == 200 and ctype == "application/json", (status, ctype)
    assert payload["Response"]["RequestId"]
    return payload["Response"]["Error"]["Code"], payload["Response"]["Error"]["Message"]


def sdk_error(call: Any) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    assert info.value.get_request_id()
    return info.value


def test_sdk_wrong_key_is_a_signature_failure(mps_server: ServerThread) -> None:
    bad = mps(mps_server.port, secret_key="WRONGKEY")
    err = sdk_error(lambda: bad.DescribeTasks(request(models.DescribeTasksRequest, {})))
    assert err.get_code() == "AuthFailure.SignatureFailure"


def test_sdk_unknown_secret_id(mps_server: ServerThread) -> None:
    stranger = mps(mps_server.port, secret_id="AKIDNOBODY")
    err = sdk_error(lambda: stranger.DescribeTasks(request(models.DescribeTasksRequest, {})))
    assert err.get_code() == "AuthFailure.SecretIdNotFound"


def test_sdk_unknown_action(client: mps_client.MpsClient) -> None:
    err = sdk_error(lambda: client.call_json("DescribeNothing", {}))
    assert err.get_code() == "InvalidAction" and "DescribeNothing" in err.get_message()


def test_expired_and_future_signatures(mps_server: ServerThread) -> None:
    body = b"{}"
    for skew in (-3600, 3600):
        headers = signed(mps_server.port, "DescribeTasks", body, timestamp=int(time.time()) + skew)
        assert error(mps_server.port, headers, body)[0] == "AuthFailure.SignatureExpire"


def test_a_replayed_process_media_is_refused(mps_server: ServerThread, clip: str) -> None:
    body = json.dumps(TRANSCODE).encode()
    headers = signed(mps_server.port, "ProcessMedia", body)
    status, _, first = post(mps_server.port, headers, body)
    assert status == 200 and first["Response"]["TaskId"], first
    code, message = error(mps_server.port, headers, body)
    assert code == "AuthFailure.SignatureFailure" and "used already" in message


def test_reads_may_repeat_a_signature(mps_server: ServerThread) -> None:
    body = b"{}"
    headers = signed(mps_server.port, "DescribeTasks", body)
    for _ in range(2):
        status, _, payload = post(mps_server.port, headers, body)
        assert status == 200 and "Error" not in payload["Response"], payload


def test_tampered_body_fails(mps_server: ServerThread) -> None:
    headers = signed(mps_server.port, "DescribeTasks", b'{"Limit": 1}')
    assert error(mps_server.port, headers, b'{"Limit": 2}')[0] == "AuthFailure.SignatureFailure"


def test_oversized_body(mps_server: ServerThread) -> None:
    body = b'{"Pad": "' + b"x" * MAX_BODY + b'"}'
    headers = signed(mps_server.port, "ProcessMedia", body)
    assert error(mps_server.port, headers, body)[0] == "RequestSizeLimitExceeded"


def test_wrong_version(mps_server: ServerThread) -> None:
    headers = signed(mps_server.port, "DescribeTasks", b"{}", version="2018-07-17")
    assert error(mps_server.port, headers, b"{}")[0] == "NoSuchVersion"


def test_mps_host_names_are_mps_even_unsigned(mps_server: ServerThread) -> None:
    for host in ("mps.tencentcloudapi.com", "mps.ap-guangzhou.tencentcloudapi.com", "mps.intl.tencentcloudapi.com"):
        headers = {"Host": host, "Content-Type": "application/json", "X-TC-Action": "DescribeTasks",
                   "X-TC-Version": "2019-06-12", "X-TC-Timestamp": str(int(time.time()))}
        assert error(mps_server.port, headers, b"{}")[0] == "AuthFailure.InvalidAuthorization"
        assert error(mps_server.port, {"Host": host}, b"", method="GET")[0] == "UnsupportedProtocol"


def test_signed_for_mps_host_name(mps_server: ServerThread) -> None:
    headers = signed(mps_server.port, "DescribeTasks", b"{}", host="mps.tencentcloudapi.com")
    status, ctype, payload = post(mps_server.port, headers, b"{}")
    assert (status, ctype) == (200, "application/json") and "TaskSet" in payload["Response"], payload


def test_unknown_parameter_and_bad_types(client: mps_client.MpsClient) -> None:
    err = sdk_error(lambda: client.call_json("DescribeTasks", {"Colour": "blue"}))
    assert err.get_code() == "UnknownParameter" and "Colour" in err.get_message()
    err = sdk_error(lambda: client.call_json("DescribeTasks", {"Limit": "many"}))
    assert err.get_code() == "InvalidParameter" and "Limit" in err.get_message()


def test_cos_and_ci_requests_still_reach_their_protocols(mps_server: ServerThread, cos: CosS3Client) -> None:
    """A COS client on the same host:port is untouched: objects and CI's /jobs answer in XML as before."""
    cos.put_object(Bucket=BUCKET, Key="mps/plain.txt", Body=b"hello")
    assert cos.get_object(Bucket=BUCKET, Key="mps/plain.txt")["Body"].get_raw_stream().read() == b"hello"
    assert cos.ci_get_media_queue(Bucket=BUCKET)["QueueList"]
    # A POST / with X-TC-Action but a COS signature is not MPS's: COS answers (XML), not the JSON envelope.
    conn = http.client.HTTPConnection("127.0.0.1", mps_server.port, timeout=10)
    conn.request("POST", "/", body=b"{}", headers={"X-TC-Action": "ProcessMedia",
                                                   "Authorization": "q-sign-algorithm=sha1"})
    resp2 = conn.getresponse()
    assert "xml" in (resp2.getheader("Content-Type") or "") and b"<Error>" in resp2.read()
    conn.close()
