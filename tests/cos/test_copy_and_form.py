"""PUT Object - Copy through the official SDK and POST Object (browser form upload) through `requests`.

One server per module and storage adapter, with a second bucket of the same APPID and a bucket of
another APPID (its own key), so cross-bucket copies and their refusals are real. The form policy
and its signature are built here as COS documents them, independently of ci_jobs.auth.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from qcloud_cos import CosConfig, CosS3Client, CosServiceError

from ci_jobs import config
from ci_jobs.protocols.root import build_app
from ci_jobs.storage import Storage
from ci_jobs.storage.crc64 import crc64
from ci_jobs.storage.local import LocalStorage
from ci_jobs.storage.s3 import S3Storage

from ..harness import ServerThread
from ..signing import form_fields
from ..storage.conftest import s3_url
from .conftest import BUCKET, COS_HOST, REGION, SECRET_ID, SECRET_KEY, ip_client, proxy_client

SECOND = "secondbucket-1250000000"
FOREIGN = "foreign-1300000000"
SETTINGS = f"""
[[accounts]]
appid = "1250000000"
secret_id = "{SECRET_ID}"
secret_key = "{SECRET_KEY}"

[[accounts]]
appid = "1300000000"
secret_id = "AKIDFOREIGN"
secret_key = "FOREIGNKEY"

[[buckets]]
name = "{BUCKET}"
region = "{REGION}"

[[buckets]]
name = "{SECOND}"
region = "{REGION}"

[[buckets]]
name = "{FOREIGN}"
region = "{REGION}"
"""


@pytest.fixture(scope="module", params=["local", "s3"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A COS-only server with three buckets over each storage adapter."""
    root = tmp_path_factory.mktemp("copy")
    (root / "settings.toml").write_text(SETTINGS)
    settings = config.load(root / "settings.toml", environ={})
    storage: Storage = (LocalStorage(Path(root) / "buckets") if request.param == "local"
                        else S3Storage.from_url(s3_url("cp") + f"&tmp_dir={root}"))

    async def factory() -> web.Application:
        for bucket in settings.buckets:
            await storage.ensure_bucket(bucket.name)
        app = build_app(settings, service=None, storage=storage)
        if isinstance(storage, S3Storage):
            app.on_cleanup.append(lambda _: storage.close())
        return app

    srv = ServerThread(factory).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cos(server: ServerThread) -> CosS3Client:
    return ip_client(server.port)


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}/"


def read(client: CosS3Client, key: str, bucket: str = BUCKET) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()  # type: ignore[no-any-return]


def source(key: str, bucket: str = BUCKET) -> dict[str, str]:
    return {"Bucket": bucket, "Key": key, "Region": REGION}


def refused(call: Any, **kw: Any) -> tuple[int, str, str]:
    with pytest.raises(CosServiceError) as exc:
        call(**kw)
    return exc.value.get_status_code(), exc.value.get_error_code(), exc.value.get_error_msg()


# --- copy -----------------------------------------------------------------------------------


def test_copy_object_content_crc64_and_metadata_directive(cos: CosS3Client) -> None:
    base = fresh("cp")
    data = bytes(range(256)) * 4099
    cos.put_object(Bucket=BUCKET, Key=base + "src 中+.bin", Body=data, ContentType="video/x-test",
                   Metadata={"x-cos-meta-color": "blue"}, CacheControl="max-age=9")
    got = cos.copy_object(Bucket=BUCKET, Key=base + "kept.bin", CopySource=source(base + "src 中+.bin"))
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and got["CRC64"] == str(crc64(data))
    assert got["LastModified"].endswith("Z") and got["x-cos-hash-crc64ecma"] == str(crc64(data))
    assert read(cos, base + "kept.bin") == data
    head = cos.head_object(Bucket=BUCKET, Key=base + "kept.bin")
    assert head["Content-Type"] == "video/x-test" and head["x-cos-meta-color"] == "blue"
    assert head["Cache-Control"] == "max-age=9"

    cos.copy_object(Bucket=SECOND, Key=base + "new.mp4", CopySource=source(base + "src 中+.bin"),
                    CopyStatus="Replaced", Metadata={"x-cos-meta-shape": "round"})
    head = cos.head_object(Bucket=SECOND, Key=base + "new.mp4")
    assert head["Content-Type"] == "video/mp4" and head["x-cos-meta-shape"] == "round"
    assert "x-cos-meta-color" not in head and "Cache-Control" not in head
    assert read(cos, base + "new.mp4", SECOND) == data

    # onto itself: only with Replaced (COS's rule), which rewrites the metadata
    assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "kept.bin",
                   CopySource=source(base + "kept.bin"))[:2] == (400, "InvalidRequest")
    cos.copy_object(Bucket=BUCKET, Key=base + "kept.bin", CopySource=source(base + "kept.bin"),
                    CopyStatus="Replaced", ContentType="text/plain")
    assert cos.head_object(Bucket=BUCKET, Key=base + "kept.bin")["Content-Type"] == "text/plain"
    assert read(cos, base + "kept.bin") == data


def test_sdk_copy_goes_through_copy_object(server: ServerThread) -> None:
    # `copy` HEADs the source by its own host name: only the proxy mode reaches the server that way
    client = proxy_client(server.endpoint)
    base = fresh("sdkcopy")
    client.put_object(Bucket=BUCKET, Key=base + "a.txt", Body=b"hello world")
    got = client.copy(Bucket=SECOND, Key=base + "b.txt", CopySource=source(base + "a.txt"))
    assert got["CRC64"] == "5981764153023615706"
    assert read(client, base + "b.txt", SECOND) == b"hello world"


def test_copy_source_conditions(cos: CosS3Client) -> None:
    base = fresh("cond")
    etag = cos.put_object(Bucket=BUCKET, Key=base + "s", Body=b"x")["ETag"]
    ok = cos.copy_object(Bucket=BUCKET, Key=base + "d", CopySource=source(base + "s"), CopySourceIfMatch=etag)
    assert ok["ETag"] == etag
    for kw in ({"CopySourceIfMatch": '"0"'}, {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfModifiedSince": "Fri, 01 Jan 2100 00:00:00 GMT"},
               {"CopySourceIfUnmodifiedSince": "Thu, 01 Jan 1970 00:00:00 GMT"}):
        assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "d", CopySource=source(base + "s"),
                       **kw)[:2] == (412, "PreconditionFailed"), kw


def test_copy_refusals(cos: CosS3Client, server: ServerThread) -> None:
    base = fresh("bad")
    foreign = CosS3Client(CosConfig(Region=REGION, SecretId="AKIDFOREIGN", SecretKey="FOREIGNKEY", IP="127.0.0.1",
                                    Port=server.port, Scheme="http"), retry=0)
    foreign.put_object(Bucket=FOREIGN, Key=base + "theirs", Body=b"secret")
    status, code, msg = refused(cos.copy_object, Bucket=BUCKET, Key=base + "stolen",
                                CopySource=source(base + "theirs", FOREIGN))
    assert (status, code) == (403, "AccessDenied") and "another APPID" in msg
    assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "d",
                   CopySource=source(base + "missing"))[:2] == (404, "NoSuchKey")
    assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "d",
                   CopySource=source("x", "nobucket-1250000000"))[:2] == (404, "NoSuchBucket")
    cos.put_object(Bucket=BUCKET, Key=base + "s", Body=b"x")
    status, code, msg = refused(cos.copy_object, Bucket=BUCKET, Key=base + "d",
                                CopySource={**source(base + "s"), "VersionId": "v1"})
    assert (status, code) == (400, "InvalidArgument") and "versionId" in msg
    assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "d",
                   CopySource=source(base + "../../" + FOREIGN + "/x"))[:2] == (400, "InvalidArgument")
    assert refused(cos.copy_object, Bucket=BUCKET, Key=base + "d", CopySource=source(base + "s"),
                   CopySourceIfModifiedSince="not a date")[:2] == (400, "InvalidArgument")
    assert "d" not in [c["Key"].rsplit("/", 1)[-1] for c in cos.list_objects(Bucket=BUCKET, Prefix=base)
                       .get("Contents", [])]


# --- form upload ----------------------------------------------------------------------------


def post(server: ServerThread, fields: dict[str, str], data: bytes, filename: str = "photo.jpg",
         host: str = COS_HOST) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{server.port}/", data=fields, files={"file": (filename, data)},
                         headers={"Host": host}, timeout=30)


def test_form_upload_stores_the_file(server: ServerThread, cos: CosS3Client) -> None:
    base = fresh("form")
    fields = form_fields([{"bucket": BUCKET}, ["starts-with", "$key", base],
                          ["content-length-range", 1, 1000]])
    resp = post(server, {**fields, "key": base + "${filename}", "Content-Type": "image/x-test",
                         "x-cos-meta-from": "browser"}, b"hello world")
    assert resp.status_code == 204, resp.text
    assert resp.headers["ETag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    assert resp.headers["x-cos-hash-crc64ecma"] == "5981764153023615706"
    assert read(cos, base + "photo.jpg") == b"hello world"
    head = cos.head_object(Bucket=BUCKET, Key=base + "photo.jpg")
    assert head["Content-Type"] == "image/x-test" and head["x-cos-meta-from"] == "browser"

    created = post(server, {**fields, "key": base + "b.txt", "success_action_status": "201"}, b"abc")
    assert created.status_code == 201 and "<Key>" + base + "b.txt</Key>" in created.text
    assert "900150983cd24fb0d6963f7d28e17f72" in created.text.split("<ETag>")[1]
    assert post(server, {**fields, "key": base + "c.txt", "success_action_status": "200"}, b"x").status_code == 200


def test_form_upload_refusals(server: ServerThread, cos: CosS3Client) -> None:
    base = fresh("formbad")
    good = form_fields([{"bucket": BUCKET}, ["starts-with", "$key", base], ["content-length-range", 2, 10]])

    def code(resp: requests.Response) -> tuple[int, str]:
        return resp.status_code, resp.text.split("<Code>")[1].split("</Code>")[0]

    assert code(post(server, {**good, "key": "elsewhere/x"}, b"abc")) == (403, "AccessDenied")
    assert code(post(server, {**good, "key": base + "big"}, b"x" * 11)) == (400, "EntityTooLarge")
    assert code(post(server, {**good, "key": base + "small"}, b"x")) == (400, "EntityTooSmall")
    tampered = {**good, "policy": base64.b64encode(b'{"expiration":"2100-01-01T00:00:00Z","conditions":[]}')
                .decode()}
    assert code(post(server, {**tampered, "key": base + "t"}, b"abc")) == (403, "SignatureDoesNotMatch")
    assert code(post(server, {**good, "q-signature": "0" * 40, "key": base + "t"}, b"abc"))[1] == \
        "SignatureDoesNotMatch"
    other_bucket = form_fields([{"bucket": SECOND}])
    assert code(post(server, {**other_bucket, "key": base + "t"}, b"abc")) == (403, "AccessDenied")
    expired = form_fields([], expires_in=-10, key_time=f"{int(time.time()) - 100};{int(time.time()) + 100}")
    assert code(post(server, {**expired, "key": base + "t"}, b"abc")) == (403, "AccessDenied")
    foreign = form_fields([], secret_id="AKIDFOREIGN", secret_key="FOREIGNKEY")
    assert code(post(server, {**foreign, "key": base + "t"}, b"abc")) == (403, "AccessDenied")
    assert code(post(server, {"key": base + "t"}, b"abc")) == (403, "AccessDenied")
    assert code(post(server, {**good, "key": base + "../../x"}, b"abc")) == (400, "InvalidArgument")
    assert code(post(server, {**good, "key": base + "${filename}"}, b"abc", filename="../../etc")) == \
        (400, "InvalidArgument")
    assert code(post(server, {**good, "key": base + "t", "pad": "x" * 70000}, b"abc")) == (400, "EntityTooLarge")
    nofile = requests.post(f"http://127.0.0.1:{server.port}/", files={**{k: (None, v) for k, v in good.items()},
                                                                        "key": (None, base + "t")},
                           headers={"Host": COS_HOST}, timeout=30)
    assert code(nofile) == (400, "InvalidArgument")
    assert "Contents" not in cos.list_objects(Bucket=BUCKET, Prefix=base)


def _raw_form(server: ServerThread, body: bytes, content_type: str = "multipart/form-data; boundary=XX") -> \
        requests.Response:
    return requests.post(f"http://127.0.0.1:{server.port}/", data=body, timeout=30,
                         headers={"Host": COS_HOST, "Content-Type": content_type})


def _part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--XX\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


@pytest.mark.parametrize(("body", "content_type"), [
    (_part("key", b"up/x") + b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\x00b"\r\n\r\nD\r\n'
     b"--XX--\r\n", None),
    (b"--XX\r\n\r\nx\r\n--XX--\r\n", "multipart/form-data"),
    (b'--XX\r\nContent-Disposition: form-data; name="key"\r\n\r\nup/', None),
    (b"--XX\r\nthis is not a header\r\n\r\nx\r\n--XX--\r\n", None),
    (b"--XX\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\nx\r\n--XX--\r\n", None),
], ids=["nul-in-part-header", "no-boundary", "ends-in-a-field", "not-a-header", "part-header-too-long"])
def test_form_that_is_not_multipart_is_malformed_post_request(server: ServerThread, body: bytes,
                                                              content_type: str | None) -> None:
    """What COS answers for a body that is not multipart/form-data: 400 MalformedPOSTRequest, before any
    signature is looked at (these carry none), never an internal error."""
    resp = _raw_form(server, body, content_type or "multipart/form-data; boundary=XX")
    assert resp.status_code == 400, resp.text
    assert "<Code>MalformedPOSTRequest</Code>" in resp.text


def test_form_whose_file_part_never_closes_stores_nothing(server: ServerThread, cos: CosS3Client) -> None:
    """A signed form whose body ends inside the file part (no closing boundary) is a truncated upload: it
    is refused and nothing is stored, as when the connection drops."""
    key = fresh("formcut") + "f.bin"
    fields = {**form_fields([{"bucket": BUCKET}, ["starts-with", "$key", ""]]), "key": key}
    head = b"".join(_part(k, v.encode()) for k, v in fields.items())
    resp = _raw_form(server, head + b'--XX\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'
                     + b"Z" * 1000)
    assert resp.status_code == 400 and "<Code>MalformedPOSTRequest</Code>" in resp.text, resp.text
    assert not cos.object_exists(Bucket=BUCKET, Key=key)
    whole = _raw_form(server, head + _part("file", b"Z" * 1000, "f.bin") + b"--XX--\r\n")
    assert whole.status_code == 204, whole.text
    assert read(cos, key) == b"Z" * 1000
