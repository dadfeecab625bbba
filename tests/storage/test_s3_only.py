"""What only the S3 adapter needs: multipart-sized puts, clean failures, streamed downloads,
objects written by other S3 clients, part regrouping, and the storage URL."""

from __future__ import annotations

import base64
import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from ci_jobs.errors import BadDigest, InvalidArgument, StorageError
from ci_jobs.storage.crc64 import crc64
from ci_jobs.storage.s3 import S3Storage
from ci_jobs.storage.s3_io import S3Settings

from .conftest import BUCKET, moto, s3_url
from .test_storage_contract import chunks, read_all

MiB = 1 << 20


@pytest.fixture
async def s3(tmp_path: Path) -> AsyncIterator[S3Storage]:
    storage = S3Storage.from_url(s3_url() + f"&tmp_dir={tmp_path}")
    await storage.ensure_bucket(BUCKET)
    yield storage
    await storage.reset()
    await storage.close()


@pytest.fixture
def raw(s3: S3Storage) -> Iterator[Any]:
    """A plain boto3 client on the same moto server: what other S3 clients see."""
    client = boto3.client("s3", endpoint_url=moto().endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
    yield client
    client.close()


def bucket_of(s3: S3Storage) -> str:
    return s3.settings.bucket_prefix + BUCKET


def leftovers(s3: S3Storage, raw: Any) -> dict[str, list[str]]:
    """Open S3 multipart uploads and staging objects (there should be none after any put)."""
    out = {}
    for name in (bucket_of(s3), s3.settings.staging_bucket):
        uploads = raw.list_multipart_uploads(Bucket=name).get("Uploads", [])
        out[f"{name} uploads"] = [u["Key"] for u in uploads]
    staged = raw.list_objects_v2(Bucket=s3.settings.staging_bucket).get("Contents", [])
    out["staged"] = [o["Key"] for o in staged]
    return out


def assert_clean(s3: S3Storage, raw: Any) -> None:
    found = leftovers(s3, raw)
    assert all(v == [] for v in found.values()), found


async def test_multipart_sized_put_roundtrips(s3: S3Storage, raw: Any) -> None:
    data = os.urandom(20 * MiB + 12345)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    meta = await s3.put(BUCKET, "big/video.mp4", chunks(data, 1 << 18), content_type="video/mp4",
                        headers={"x-cos-meta-src": "中文", "Cache-Control": "no-cache"}, content_md5=md5)
    assert (meta.size, meta.etag, meta.crc64) == (len(data), hashlib.md5(data).hexdigest(), str(crc64(data)))
    head = await s3.head(BUCKET, "big/video.mp4")
    assert (head.size, head.etag, head.crc64, head.content_type) == (meta.size, meta.etag, meta.crc64, "video/mp4")
    assert head.headers == {"x-cos-meta-src": "中文", "Cache-Control": "no-cache"}
    assert await read_all(s3, "big/video.mp4") == data
    assert await read_all(s3, "big/video.mp4", 9 * MiB - 5, 9 * MiB + 5) == data[9 * MiB - 5:9 * MiB + 6]
    native = raw.head_object(Bucket=bucket_of(s3), Key="big/video.mp4")  # what other S3 clients see
    assert native["Metadata"]["ci-md5"] == meta.etag and native["ContentType"] == "video/mp4"
    assert native["CacheControl"] == "no-cache"
    page = await s3.list(BUCKET, "big/")
    assert [(o.key, o.etag, o.size) for o in page.objects] == [("big/video.mp4", meta.etag, len(data))]
    assert_clean(s3, raw)


async def test_bad_digest_on_multipart_sized_put_leaves_nothing(s3: S3Storage, raw: Any) -> None:
    data = os.urandom(17 * MiB)
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(BadDigest):
        await s3.put(BUCKET, "bad.bin", chunks(data, MiB), content_md5=wrong)
    assert "Contents" not in raw.list_objects_v2(Bucket=bucket_of(s3))
    assert_clean(s3, raw)


async def test_client_gone_midway_leaves_nothing(s3: S3Storage, raw: Any) -> None:
    async def dies_after_two_parts() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield os.urandom(MiB)
        raise ConnectionResetError("client went away")

    await s3.put(BUCKET, "kept.bin", chunks(b"old"))
    with pytest.raises(ConnectionResetError):
        await s3.put(BUCKET, "kept.bin", dies_after_two_parts())
    assert await read_all(s3, "kept.bin") == b"old"
    assert_clean(s3, raw)


async def test_put_file_above_the_threshold(s3: S3Storage, raw: Any, tmp_path: Path) -> None:
    src = tmp_path / "out.mp4"
    data = os.urandom(19 * MiB + 1)
    src.write_bytes(data)
    meta = await s3.put_file(BUCKET, "jobs/out.mp4", src, content_type="video/mp4")
    assert (meta.etag, meta.crc64) == (hashlib.md5(data).hexdigest(), str(crc64(data)))
    native = raw.head_object(Bucket=bucket_of(s3), Key="jobs/out.mp4")
    assert native["ETag"].strip('"').endswith("-3")  # uploaded straight to its key in three parts
    assert (await s3.head(BUCKET, "jobs/out.mp4")).etag == meta.etag
    assert await read_all(s3, "jobs/out.mp4") == data
    assert_clean(s3, raw)


async def test_local_input_streams_ranges_to_disk(s3: S3Storage, tmp_path: Path) -> None:
    data = os.urandom(40 * MiB + 7)
    await s3.put(BUCKET, "in/large.mov", chunks(data, MiB))
    tracemalloc.start()
    try:
        async with s3.local_input(BUCKET, "in/large.mov") as path:
            _, peak = tracemalloc.get_traced_memory()
            assert path.parent == tmp_path and path.suffix == ".mov"
            assert path.stat().st_size == len(data)
            assert hashlib.md5(path.read_bytes()).digest() == hashlib.md5(data).digest()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, f"local_input held {peak / MiB:.1f} MiB in memory"
    assert not path.exists()


async def test_objects_written_by_other_s3_clients(s3: S3Storage, raw: Any) -> None:
    name = bucket_of(s3)
    raw.put_object(Bucket=name, Key="ext/plain.txt", Body=b"from boto3", ContentType="text/plain",
                   CacheControl="max-age=5", Metadata={"color": "blue"})
    head = await s3.head(BUCKET, "ext/plain.txt")
    assert (head.etag, head.size, head.content_type, head.crc64) == (
        hashlib.md5(b"from boto3").hexdigest(), 10, "text/plain", "")
    assert head.headers == {"Cache-Control": "max-age=5", "x-cos-meta-color": "blue"}
    assert await read_all(s3, "ext/plain.txt") == b"from boto3"
    parts = [os.urandom(5 * MiB), os.urandom(1000)]
    upload = raw.create_multipart_upload(Bucket=name, Key="ext/multi.bin")
    etags = [raw.upload_part(Bucket=name, Key="ext/multi.bin", UploadId=upload["UploadId"], PartNumber=n,
                             Body=p)["ETag"] for n, p in enumerate(parts, 1)]
    raw.complete_multipart_upload(Bucket=name, Key="ext/multi.bin", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    multi = await s3.head(BUCKET, "ext/multi.bin")
    assert multi.etag.endswith("-2") and multi.size == len(parts[0]) + 1000
    async with s3.local_input(BUCKET, "ext/multi.bin") as path:
        assert path.read_bytes() == b"".join(parts)
    listed = await s3.list(BUCKET, "ext/")
    assert [(o.key, o.etag) for o in listed.objects] == [("ext/multi.bin", multi.etag), ("ext/plain.txt", head.etag)]


async def test_complete_regroups_small_and_large_parts(s3: S3Storage, raw: Any) -> None:
    """COS parts may be 1 MiB; S3 wants 5 MiB: small parts are regrouped, large ones copied."""
    sizes = [MiB, 6 * MiB, MiB, MiB + 3, 12 * MiB, 3]
    parts = [os.urandom(n) for n in sizes]
    upload_id = await s3.create_upload(BUCKET, "mp/mixed.bin", content_type="video/mp4")
    infos = [await s3.upload_part(BUCKET, "mp/mixed.bin", upload_id, n, chunks(p, MiB))
             for n, p in enumerate(parts, 1)]
    assert [i.etag for i in infos] == [hashlib.md5(p).hexdigest() for p in parts]
    assert [p.size for p in await s3.list_parts(BUCKET, "mp/mixed.bin", upload_id)] == sizes
    meta = await s3.complete_upload(BUCKET, "mp/mixed.bin", upload_id, [(i.part_number, i.etag) for i in infos])
    whole = b"".join(parts)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert (meta.etag, meta.crc64, meta.size) == (f"{hashlib.md5(md5s).hexdigest()}-6", str(crc64(whole)), len(whole))
    assert await read_all(s3, "mp/mixed.bin") == whole
    head = await s3.head(BUCKET, "mp/mixed.bin")
    assert (head.etag, head.crc64, head.content_type) == (meta.etag, meta.crc64, "video/mp4")
    assert [o.etag for o in (await s3.list(BUCKET, "mp/")).objects] == [meta.etag]
    assert await s3.list_uploads(BUCKET) == []
    assert_clean(s3, raw)


def test_storage_url() -> None:
    s = S3Settings.from_url("s3://AK%2Fx:se%40cr%3At@minio.internal:9000/?region=eu-west-1&bucket_prefix=ci-"
                            "&secure=false")
    assert (s.endpoint_url, s.region, s.access_key, s.secret_key) == (
        "http://minio.internal:9000", "eu-west-1", "AK/x", "se@cr:t")
    assert (s.bucket_prefix, s.staging_bucket, s.addressing_style) == ("ci-", "ci-ci-jobs-staging", "path")
    aws = S3Settings.from_url("s3:///?region=ap-guangzhou")
    assert (aws.endpoint_url, aws.access_key, aws.addressing_style) == (None, None, "auto")
    assert S3Settings.from_url("s3://k:s@[::1]:9000/").endpoint_url == "https://[::1]:9000"
    for bad in ("http://host/", "s3://h/?regoin=x", "s3://h/?secure=maybe", "s3://h/?part_size=1024",
                "s3://h/?bucket_prefix=UPPER"):
        with pytest.raises(InvalidArgument):
            S3Settings.from_url(bad)


async def test_driver_errors_are_storage_errors(tmp_path: Path) -> None:
    from ..services import free_port

    storage = S3Storage.from_url(f"s3://k:s@127.0.0.1:{free_port()}/?secure=false")
    try:
        with pytest.raises(StorageError):
            await storage.head(BUCKET, "x")
    finally:
        await storage.close()
