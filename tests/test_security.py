"""Regression tests for the holes an outside attack found: signatures, SSRF, reset, XML, HTTP errors."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from lxml import etree
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ci_jobs import auth, outbound
from ci_jobs.errors import AccessDenied, InvalidArgument
from ci_jobs.notify.url import UrlSender
from ci_jobs.server import create_app
from ci_jobs.store import Callback

from .conftest import BUCKET, SECRET_ID, SECRET_KEY, job_body, make_settings, sdk
from .harness import ServerThread
from .listener import Listener
from .signing import authorization, signed

HOST = f"{BUCKET}.cos.ap-guangzhou.myqcloud.com"


def error_of(resp: requests.Response) -> str:
    """The Code of a CI `<Error>` body (fails when the body is not one)."""
    root = etree.fromstring(resp.content)
    assert root.tag == "Error" and root.findtext("RequestId"), resp.content[:200]
    return str(root.findtext("Code"))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """An API-only server with the admin endpoint (nothing here needs a worker)."""
    data = tmp_path_factory.mktemp("security")
    srv = ServerThread(lambda: create_app(make_settings(data, workers_enabled=False))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """An API-only server on the shipped callback policy (no loopback, no link-local)."""
    data = tmp_path_factory.mktemp("strict")
    settings = make_settings(data, workers_enabled=False)
    from dataclasses import replace  # noqa: PLC0415

    settings = replace(settings, callbacks=replace(settings.callbacks, allow_loopback=False))
    srv = ServerThread(lambda: create_app(settings)).start()
    yield srv
    srv.stop()


# --- 1. the signed window is the one that counts -----------------------------------------------


def test_expired_key_time_is_not_revived_by_editing_sign_time() -> None:
    now = int(time.time())
    expired = f"{now - 7200};{now - 3600}"
    fresh = f"{now - 60};{now + 3600}"
    header = authorization("GET", "/jobs", HOST, expired, sign_time=fresh)
    cred = auth.parse_authorization(header)
    assert cred is not None
    with pytest.raises(AccessDenied):
        auth.verify(cred, SECRET_KEY, "GET", "/jobs", "", {"Host": HOST})
    revived = auth.Credential(SECRET_ID, fresh, expired, "host", "", cred.signature)
    with pytest.raises(AccessDenied):
        auth.verify(revived, SECRET_KEY, "GET", "/jobs", "", {"Host": HOST})


def test_edited_window_refused_over_http_header_and_presigned_url(api: ServerThread) -> None:
    client = sdk(api.port)
    client.put_object(Bucket=BUCKET, Key="sec/a.txt", Body=b"hello")
    now = int(time.time())
    expired, fresh = f"{now - 7200};{now - 3600}", f"{now - 60};{now + 3600}"
    host = f"127.0.0.1:{api.port}"
    header = authorization("GET", "/sec/a.txt", host, expired, sign_time=fresh)
    resp = requests.get(f"{api.endpoint}/sec/a.txt", headers={"Authorization": header}, timeout=10)
    assert resp.status_code == 403 and error_of(resp) == "AccessDenied"
    query = header.replace(";", "%3B")
    resp = requests.get(f"{api.endpoint}/sec/a.txt?{query}", timeout=10)
    assert resp.status_code == 403 and error_of(resp) == "AccessDenied"
    good = authorization("GET", "/sec/a.txt", host, fresh)
    assert requests.get(f"{api.endpoint}/sec/a.txt", headers={"Authorization": good}, timeout=10).content == b"hello"


def test_sign_time_outside_key_time_refused() -> None:
    now = int(time.time())
    cred = auth.parse_authorization(authorization("GET", "/jobs", HOST, f"{now - 60};{now + 60}",
                                                  sign_time=f"{now - 60};{now + 86400}"))
    assert cred is not None
    with pytest.raises(AccessDenied):
        auth.verify(cred, SECRET_KEY, "GET", "/jobs", "", {"Host": HOST})


# --- 2. SSRF: every spelling of a refused address ----------------------------------------------

REFUSED = [
    "http://[::ffff:169.254.169.254]/latest/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::ffff:127.0.0.1]:8080/",
    "http://169.254.169.254/latest/meta-data",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[fe80::1%25eth0]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[::169.254.169.254]/",
    "http://100.100.100.200/latest/meta-data",
    "http://[fd00:ec2::254]/",
    "http://127.0.0.1:9/",
    "http://127.1/",
    "http://2130706433/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://localhost:9000/",
    "http://api.localhost./",
    "http://224.0.0.1/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[::ffff:0:169.254.169.254]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused_spellings(url: str) -> None:
    with pytest.raises(InvalidArgument):
        outbound.check_url(url, outbound.Policy())


@pytest.mark.parametrize("url", ["http://203.0.113.7/cb", "https://example.com/cb", "http://10.1.2.3:8080/x",
                                 "http://[2001:db8::1]/cb"])
def test_ordinary_targets_pass(url: str) -> None:
    outbound.check_url(url, outbound.Policy())


def _own_addresses() -> list[str]:
    """This machine's non-loopback interface addresses, as the kernel lists them (ip(8)'s netlink view)."""
    import subprocess  # noqa: PLC0415 - only this test reads the interfaces
    try:
        out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    found = [line.split()[3].split("/")[0] for line in out.splitlines() if " inet" in line]
    return [a for a in found if not a.startswith(("127.", "::1", "fe80"))]


def test_is_own_tells_this_machines_addresses_from_others() -> None:
    assert outbound.is_own(ipaddress.ip_address("127.0.0.1"))
    assert not outbound.is_own(ipaddress.ip_address("203.0.113.7"))
    assert not outbound.is_own(ipaddress.ip_address("2001:db8::7"))


def test_this_machines_own_addresses_count_as_loopback() -> None:
    """A service bound to 0.0.0.0 answers on every address of the machine as on 127.0.0.1: a callback to
    the node's own interface address is refused unless allow_loopback, and allowed with it."""
    own = _own_addresses()
    if not own:  # a container without a network (--network none): only loopback, which its own rule refuses
        pytest.skip("this machine has no interface address besides loopback to call")
    for address in own:
        url = f"http://[{address}]:9/" if ":" in address else f"http://{address}:9/"
        with pytest.raises(InvalidArgument, match="an address of this machine"):
            outbound.check_url(url, outbound.Policy())
        outbound.check_url(url, outbound.Policy(allow_loopback=True))


def test_policy_switches() -> None:
    outbound.check_url("http://127.0.0.1:9/", outbound.Policy(allow_loopback=True))
    outbound.check_url("http://[::ffff:169.254.169.254]/", outbound.Policy(allow_link_local=True))
    with pytest.raises(InvalidArgument):
        outbound.check_url("http://[::ffff:169.254.169.254]/", outbound.Policy(allow_loopback=True))


@pytest.mark.parametrize("url", ["http://[::ffff:169.254.169.254]/latest/", "http://[::ffff:a9fe:a9fe]/",
                                 "http://2852039166/"])
def test_mapped_callbacks_refused_at_submit(strict: ServerThread, url: str) -> None:
    client = sdk(strict.port)
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("MediaInfo", "in.mp4", {}, CallBack=url))
    assert err.value.get_error_code() == "InvalidArgument" and "link-local" in err.value.get_error_msg()
    queue = client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]
    with pytest.raises(CosServiceError) as err:
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=queue["QueueId"], Request={
            "Name": queue["Name"], "State": "Active",
            "NotifyConfig": {"State": "On", "Type": "Url", "Url": url, "Event": "TaskFinish"}})
    assert err.value.get_error_code() == "InvalidArgument" and "NotifyConfig.Url" in err.value.get_error_msg()


def test_loopback_callback_refused_by_default(strict: ServerThread) -> None:
    client = sdk(strict.port)
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
            "MediaInfo", "in.mp4", {}, CallBack="http://127.0.0.1:9/cb"))
    assert "allow_loopback" in err.value.get_error_msg()


def _callback(url: str) -> Callback:
    return Callback(callback_id=1, job_id="j" + "0" * 32, target={"type": "Url", "url": url}, body=b"<x/>",
                    content_type="application/xml", attempts=0)


@pytest.mark.parametrize("url", ["http://[::ffff:169.254.169.254]/latest/", "http://[::ffff:a9fe:a9fe]/",
                                 "http://2852039166/", "http://0xa9fea9fe/"])
async def test_sender_never_connects_to_refused_addresses(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[Any] = []

    async def no_connect(*args: Any, **kwargs: Any) -> Any:
        connects.append(args)
        raise AssertionError("connected")

    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", no_connect)
    sender = UrlSender(2.0, outbound.Policy(allow_loopback=True))
    try:
        with pytest.raises(InvalidArgument):
            await sender.send(_callback(url))
    finally:
        await sender.close()
    assert not connects


async def test_name_resolving_to_metadata_refused_at_send(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "evil.test":
            return real("169.254.169.254", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(InvalidArgument, match="169.254.169.254"):
        await outbound.resolve("evil.test", 80, outbound.Policy(allow_loopback=True))


def test_sender_connects_to_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name is resolved once; a second answer (metadata) is never asked for."""
    listener = Listener().start()
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    asked: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            asked.append(host)
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)

    async def send() -> None:
        sender = UrlSender(5.0, outbound.Policy(allow_loopback=True))
        try:
            await sender.send(_callback(f"http://rebind.test:{listener.port}/cb"))
        finally:
            await sender.close()

    try:
        asyncio.run(send())
        got = listener.wait(1)
    finally:
        listener.stop()
    assert asked == ["rebind.test"] and got[0]["body"] == b"<x/>" and got[0]["path"] == "/cb"


# --- 3. the admin reset ------------------------------------------------------------------------


def test_reset_needs_a_signature_and_same_origin(api: ServerThread) -> None:
    host = f"127.0.0.1:{api.port}"
    client = sdk(api.port)
    client.put_object(Bucket=BUCKET, Key="sec/keep.txt", Body=b"x")
    resp = requests.post(api.endpoint + "/-/reset", timeout=10)
    assert resp.status_code == 403 and error_of(resp) == "AccessDenied"
    form = requests.post(api.endpoint + "/-/reset", data={"a": "b"}, timeout=10,
                         headers={**signed("POST", "/-/reset", host), "Origin": "http://evil.example"})
    assert form.status_code == 403 and error_of(form) == "AccessDenied"
    fetch = requests.post(api.endpoint + "/-/reset", timeout=10,
                          headers={**signed("POST", "/-/reset", host), "Sec-Fetch-Site": "cross-site"})
    assert fetch.status_code == 403
    other = requests.post(api.endpoint + "/-/reset", timeout=10, headers={
        "Authorization": authorization("POST", "/-/reset", host, f"{int(time.time())};{int(time.time()) + 60}")
        .replace(SECRET_ID, "AKIDNOBODY")})
    assert other.status_code == 403 and error_of(other) == "InvalidAccessKeyId"
    assert client.get_object(Bucket=BUCKET, Key="sec/keep.txt")["Body"].get_raw_stream().read() == b"x"
    get = requests.get(api.endpoint + "/-/reset", headers=signed("GET", "/-/reset", host), timeout=10)
    assert get.status_code == 405 and error_of(get) == "MethodNotAllowed"
    ok = requests.post(api.endpoint + "/-/reset", headers={**signed("POST", "/-/reset", host),
                                                           "Origin": f"http://{host}"}, timeout=10)
    assert ok.json() == {"status": "reset"}
    with pytest.raises(CosServiceError):
        client.head_object(Bucket=BUCKET, Key="sec/keep.txt")


# --- 4. DTDs in any encoding -------------------------------------------------------------------

DTD_BODIES = [
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Request [<!ENTITY x "MediaInfo">]>'
    '<Request><Tag>&x;</Tag><Input><Object>a.mp4</Object></Input></Request>',
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Request [<!ENTITY x "y">]>'
    '<Request><Tag>MediaInfo</Tag><Input><Object>a.mp4</Object></Input></Request>',
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Request SYSTEM "http://127.0.0.1:9/x.dtd">'
    '<Request><Tag>MediaInfo</Tag><Input><Object>a.mp4</Object></Input></Request>',
]


@pytest.mark.parametrize("enc", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("template", DTD_BODIES)
def test_dtd_refused_in_every_encoding(api: ServerThread, enc: str, template: str) -> None:
    host = f"127.0.0.1:{api.port}"
    text = template.format(enc=enc.split("-")[0] if enc == "utf-32" else enc.upper())
    body = text.encode(enc)
    resp = requests.post(api.endpoint + "/jobs", data=body, timeout=10,
                         headers={**signed("POST", "/jobs", host), "Content-Type": "application/xml"})
    assert resp.status_code == 400 and error_of(resp) == "MalformedXML", resp.content[:300]


# --- 6. HTTP-level errors are CI XML and 4xx ---------------------------------------------------


@pytest.mark.parametrize("path", ["/-/", "/-/anything", "/-/health/x", "/-/reset/x"])
def test_unsigned_ops_paths_answer_ci_xml(api: ServerThread, path: str) -> None:
    resp = requests.get(api.endpoint + path, timeout=10)
    assert 400 <= resp.status_code < 500 and error_of(resp) == "AccessDenied"


def test_signed_unknown_ops_path_is_an_object_key(api: ServerThread) -> None:
    host = f"127.0.0.1:{api.port}"
    resp = requests.get(api.endpoint + "/-/anything", headers=signed("GET", "/-/anything", host), timeout=10)
    assert resp.status_code == 404 and error_of(resp) == "NoSuchKey"


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"Y: " +
    b"c" * 8200 + b"\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_unreadable_requests_answer_ci_xml_without_echo(api: ServerThread, request_bytes: bytes) -> None:
    reply = _raw(api.port, request_bytes)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"400", head[:100]
    assert b"application/xml" in head
    root = etree.fromstring(body)
    assert root.tag == "Error" and root.findtext("Code") == "InvalidRequest"
    assert b"aaaa" not in body and b"bbbb" not in body and b"cccc" not in body


def test_long_headers_through_the_sdk_are_readable(api: ServerThread) -> None:
    client: CosS3Client = sdk(api.port)
    with pytest.raises(CosServiceError) as err:
        client.put_object(Bucket=BUCKET, Key="sec/long.txt", Body=b"x", Metadata={"x-cos-meta-a": "v" * 9000})
    assert err.value.get_status_code() == 400 and err.value.get_error_code() == "InvalidRequest"


def test_presigned_url_with_quoted_key_still_works(api: ServerThread, tmp_path: Path) -> None:
    client = sdk(api.port)
    key = "sec/中文 name.txt"
    client.put_object(Bucket=BUCKET, Key=key, Body=b"ok")
    url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Expired=60)
    assert requests.get(url, timeout=10).content == b"ok"
    assert quote("中文") in url
