"""The COS object API driven by the official Python SDK (IP/Port and proxy modes) and by requests."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import requests
from qcloud_cos import CosS3Client, CosServiceError

from ci_jobs.storage.crc64 import crc64

from ..harness import ServerThread
from .conftest import BUCKET, COS_HOST, ip_client, proxy_client

KEY = "dir/中 文+a(1).txt"


def fresh(prefix: str) -> str:
    """A key prefix no other test (or the other addressing mode) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}/"


def body(resp: dict[str, object]) -> bytes:
    return resp["Body"].get_raw_stream().read()  # type: ignore[attr-defined,no-any-return]


def error_of(exc: pytest.ExceptionInfo[CosServiceError]) -> tuple[int, str]:
    return exc.value.get_status_code(), exc.value.get_error_code()


def test_put_get_head_delete_utf8_key(cos: CosS3Client) -> None:
    key = fresh("obj") + KEY
    put = cos.put_object(Bucket=BUCKET, Key=key, Body=b"hello world", EnableMD5=True,
                         ContentType="text/plain", CacheControl="max-age=60",
                         Metadata={"x-cos-meta-color": "blue"})
    assert put["ETag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    assert put["x-cos-hash-crc64ecma"] == "5981764153023615706"
    got = cos.get_object(Bucket=BUCKET, Key=key)
    assert body(got) == b"hello world"
    head = cos.head_object(Bucket=BUCKET, Key=key)
    assert head["Content-Length"] == "11" and head["ETag"] == put["ETag"]
    assert head["Content-Type"] == "text/plain" and head["Cache-Control"] == "max-age=60"
    assert head["x-cos-meta-color"] == "blue" and head["Accept-Ranges"] == "bytes"
    assert head["Last-Modified"].endswith(" GMT") and head["Server"] == "tencent-cos"
    cos.delete_object(Bucket=BUCKET, Key=key)
    cos.delete_object(Bucket=BUCKET, Key=key)  # deleting a missing key is fine
    with pytest.raises(CosServiceError) as exc:
        cos.get_object(Bucket=BUCKET, Key=key)
    assert error_of(exc) == (404, "NoSuchKey")
    with pytest.raises(CosServiceError) as exc:
        cos.head_object(Bucket=BUCKET, Key=key)
    assert exc.value.get_status_code() == 404


def test_default_content_type_and_response_overrides(cos: CosS3Client) -> None:
    key = fresh("ctype") + "clip.mp4"
    cos.put_object(Bucket=BUCKET, Key=key, Body=b"not really a movie")
    assert cos.head_object(Bucket=BUCKET, Key=key)["Content-Type"] == "video/mp4"
    got = cos.get_object(Bucket=BUCKET, Key=key, ResponseContentType="application/json",
                         ResponseContentDisposition="attachment; filename=x.json",
                         ResponseCacheControl="no-cache")
    assert got["Content-Type"] == "application/json" and got["Cache-Control"] == "no-cache"
    assert got["Content-Disposition"] == "attachment; filename=x.json"


def test_empty_and_folder_objects_and_bad_md5(cos: CosS3Client) -> None:
    base = fresh("empty")
    cos.put_object(Bucket=BUCKET, Key=base, Body=b"")
    cos.put_object(Bucket=BUCKET, Key=base + "e.txt", Body=b"")
    got = cos.get_object(Bucket=BUCKET, Key=base + "e.txt")
    assert body(got) == b"" and got["Content-Length"] == "0" and got["x-cos-hash-crc64ecma"] == "0"
    assert [c["Key"] for c in cos.list_objects(Bucket=BUCKET, Prefix=base)["Contents"]] == [base, base + "e.txt"]
    with pytest.raises(CosServiceError) as exc:
        cos.get_object(Bucket=BUCKET, Key=base + "e.txt", Range="bytes=0-")
    assert error_of(exc) == (416, "InvalidRange")
    with pytest.raises(CosServiceError) as exc:
        cos.put_object(Bucket=BUCKET, Key=base + "m.txt", Body=b"hello there",
                       ContentMD5="XrY7u+Ae7tCTyyK7j1rNww==")
    assert error_of(exc) == (400, "BadDigest")
    with pytest.raises(CosServiceError) as exc:
        cos.head_object(Bucket=BUCKET, Key=base + "m.txt")
    assert exc.value.get_status_code() == 404


def test_keys_below_ci_path_names_are_objects(cos: CosS3Client) -> None:
    for key in ("jobs/out.mp4", "template/", "queue/a/b.txt", "workflow/w.json"):
        cos.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        assert body(cos.get_object(Bucket=BUCKET, Key=key)) == key.encode()
        cos.delete_object(Bucket=BUCKET, Key=key)


def test_ranged_get(cos: CosS3Client) -> None:
    key = fresh("range") + "r.txt"
    data = bytes(range(256)) * 10
    cos.put_object(Bucket=BUCKET, Key=key, Body=data)
    part = cos.get_object(Bucket=BUCKET, Key=key, Range="bytes=2-5")
    assert body(part) == data[2:6]
    assert part["Content-Range"] == f"bytes 2-5/{len(data)}" and part["Content-Length"] == "4"
    assert part["x-cos-hash-crc64ecma"] == str(crc64(data))
    assert body(cos.get_object(Bucket=BUCKET, Key=key, Range="bytes=-3")) == data[-3:]
    assert body(cos.get_object(Bucket=BUCKET, Key=key, Range="bytes=2550-9999")) == data[2550:]
    with pytest.raises(CosServiceError) as exc:
        cos.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={len(data)}-")
    assert error_of(exc) == (416, "InvalidRange")


def test_list_objects_prefix_marker_delimiter_paging(cos: CosS3Client) -> None:
    base = fresh("list")
    names = ["a b.txt", "a+b.txt", "b/1.txt", "b/2.txt", "c/x/y.txt", "中文.txt", "z(1).txt"]
    for name in names:
        cos.put_object(Bucket=BUCKET, Key=base + name, Body=name.encode())
    everything = cos.list_objects(Bucket=BUCKET, Prefix=base)
    keys = [c["Key"] for c in everything["Contents"]]
    assert keys == sorted((base + n for n in names), key=lambda k: k.encode())
    assert everything["IsTruncated"] == "false"
    assert everything["Contents"][0]["Size"] == str(len(names[0].encode()))
    seen, marker, pages = [], "", 0
    while True:
        page = cos.list_objects(Bucket=BUCKET, Prefix=base, Delimiter="/", MaxKeys=2, Marker=marker)
        pages += 1
        got = [c["Key"] for c in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert len(got) <= 2
        seen += got
        if page["IsTruncated"] == "false":
            break
        marker = page["NextMarker"]
    assert pages == 3
    assert sorted(seen) == sorted([base + "a b.txt", base + "a+b.txt", base + "b/", base + "c/",
                                   base + "中文.txt", base + "z(1).txt"])
    after = cos.list_objects(Bucket=BUCKET, Prefix=base, Marker=base + "b/2.txt")
    assert [c["Key"] for c in after["Contents"]] == [base + "c/x/y.txt", base + "z(1).txt", base + "中文.txt"]


def test_upload_file_multipart_and_download_file(cos: CosS3Client, tmp_path: Path) -> None:
    key = fresh("mp") + "big video.bin"
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 4321)
    src.write_bytes(data)
    result = cos.upload_file(Bucket=BUCKET, Key=key, LocalFilePath=str(src), PartSize=1, MAXThread=4)
    assert result["ETag"].strip('"').endswith("-4")
    head = cos.head_object(Bucket=BUCKET, Key=key)
    assert head["Content-Length"] == str(len(data)) and head["x-cos-hash-crc64ecma"] == str(crc64(data))
    dst = tmp_path / "dst.bin"
    cos.download_file(Bucket=BUCKET, Key=key, DestFilePath=str(dst), PartSize=1, MAXThread=3, EnableCRC=True)
    assert hashlib.md5(dst.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()
    assert "Upload" not in cos.list_multipart_uploads(Bucket=BUCKET, Prefix=key)


def test_upload_file_resumes_an_open_upload(cos: CosS3Client, tmp_path: Path) -> None:
    key = fresh("resume") + "v.bin"
    src = tmp_path / "src.bin"
    data = os.urandom(2 * 1024 * 1024 + 10)
    src.write_bytes(data)
    upload_id = cos.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    cos.upload_part(Bucket=BUCKET, Key=key, Body=data[:1024 * 1024], PartNumber=1, UploadId=upload_id)
    listed = cos.list_multipart_uploads(Bucket=BUCKET, Prefix=key)["Upload"]
    assert [u["UploadId"] for u in listed] == [upload_id] and listed[0]["Key"] == key
    cos.upload_file(Bucket=BUCKET, Key=key, LocalFilePath=str(src), PartSize=1)
    assert body(cos.get_object(Bucket=BUCKET, Key=key)) == data
    with pytest.raises(CosServiceError) as exc:  # the resumed upload was the one completed
        cos.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)
    assert error_of(exc) == (404, "NoSuchUpload")


def test_multipart_errors_and_abort(cos: CosS3Client) -> None:
    key = fresh("mperr") + "x.bin"
    upload_id = cos.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    e1 = cos.upload_part(Bucket=BUCKET, Key=key, Body=b"tiny", PartNumber=1, UploadId=upload_id)["ETag"]
    e2 = cos.upload_part(Bucket=BUCKET, Key=key, Body=b"tail", PartNumber=2, UploadId=upload_id)["ETag"]
    parts = cos.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Part"]] == [("1", e1, "4"), ("2", e2, "4")]
    assert parts["IsTruncated"] == "false"
    paged = cos.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id, MaxParts=1)
    assert paged["IsTruncated"] == "true" and paged["NextPartNumberMarker"] == "1"
    cases = [([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}], "EntityTooSmall"),
             ([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}], "InvalidPartOrder"),
             ([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}], "InvalidPart")]
    for part_list, code in cases:
        with pytest.raises(CosServiceError) as exc:
            cos.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                          MultipartUpload={"Part": part_list})
        assert error_of(exc) == (400, code)
    cos.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)
    with pytest.raises(CosServiceError) as exc:
        cos.upload_part(Bucket=BUCKET, Key=key, Body=b"late", PartNumber=3, UploadId=upload_id)
    assert error_of(exc) == (404, "NoSuchUpload")


def test_key_escaping_the_bucket_is_refused(cos: CosS3Client) -> None:
    for key in ("../escape.txt", "a/../../escape.txt"):
        with pytest.raises(CosServiceError) as exc:
            cos.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        assert error_of(exc) == (400, "InvalidArgument")


def test_head_bucket(cos: CosS3Client) -> None:
    cos.head_bucket(Bucket=BUCKET)


def test_wrong_secret_key(cos_server: ServerThread) -> None:
    for client in (ip_client(cos_server.port, SecretKey="WRONG"),
                   proxy_client(cos_server.endpoint, SecretKey="WRONG")):
        with pytest.raises(CosServiceError) as exc:
            client.put_object(Bucket=BUCKET, Key="k.txt", Body=b"x")
        assert error_of(exc) == (403, "SignatureDoesNotMatch")


def test_unknown_bucket(cos: CosS3Client) -> None:
    with pytest.raises(CosServiceError) as exc:
        cos.put_object(Bucket="nosuchbucket-1250000000", Key="k.txt", Body=b"x")
    assert error_of(exc) == (404, "NoSuchBucket")


def test_presigned_urls(cos_server: ServerThread) -> None:
    client = proxy_client(cos_server.endpoint)
    key = fresh("presign") + "p q+r.txt"
    client.put_object(Bucket=BUCKET, Key=key, Body=b"signed")
    proxies = {"http": cos_server.endpoint}
    url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Expired=300)
    assert url.startswith(f"http://{COS_HOST}/")
    resp = requests.get(url, proxies=proxies, timeout=10)
    assert resp.status_code == 200 and resp.content == b"signed"
    direct = requests.get(url.replace(f"http://{COS_HOST}", cos_server.endpoint),
                          headers={"Host": COS_HOST}, timeout=10)
    assert direct.content == b"signed"
    etag = resp.headers["ETag"]
    assert requests.get(url, proxies=proxies, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    assert requests.get(url, proxies=proxies, headers={"If-Match": '"nope"'}, timeout=10).status_code == 412
    last_modified = resp.headers["Last-Modified"]
    assert requests.get(url, proxies=proxies, headers={"If-Modified-Since": last_modified},
                        timeout=10).status_code == 304
    put_url = client.get_presigned_url(Bucket=BUCKET, Key=key + ".chunked", Method="PUT", Expired=300)
    chunked = requests.put(put_url, data=iter([b"chunked ", b"body"]), proxies=proxies, timeout=10)
    assert chunked.status_code == 200 and chunked.headers["ETag"] == f'"{hashlib.md5(b"chunked body").hexdigest()}"'
    expired = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Expired=-30)
    refused = requests.get(expired, proxies=proxies, timeout=10)
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text


def test_unsigned_request_is_denied(cos_server: ServerThread) -> None:
    resp = requests.get(f"{cos_server.endpoint}/{KEY}", headers={"Host": COS_HOST}, timeout=10)
    assert resp.status_code == 403
    assert "<Code>AccessDenied</Code>" in resp.text and resp.headers["x-cos-request-id"]
