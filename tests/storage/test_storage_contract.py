"""The Storage contract: atomic streamed puts, ranges, listing order and paging, multipart."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ci_jobs.errors import (
    BadDigest,
    EntityTooSmall,
    InvalidArgument,
    InvalidDigest,
    InvalidPart,
    InvalidPartOrder,
    KeyTooLong,
    NoSuchKey,
    NoSuchUpload,
)
from ci_jobs.storage import FileHashes, ObjectMeta, Storage, hash_path
from ci_jobs.storage.crc64 import crc64

from .conftest import BUCKET

MiB = 1 << 20


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def failing(data: bytes) -> AsyncIterator[bytes]:
    yield data
    raise ConnectionResetError("client went away")


async def put(storage: Storage, key: str, data: bytes, **kw: object) -> ObjectMeta:
    return await storage.put(BUCKET, key, chunks(data), **kw)  # type: ignore[arg-type]


async def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    if end is None:
        end = (await storage.head(BUCKET, key)).size - 1
    return b"".join([c async for c in storage.read(BUCKET, key, start, end)])


async def all_keys(storage: Storage, prefix: str = "", max_keys: int = 1000, delimiter: str = "") -> list[str]:
    """Every key and common prefix, page by page via NextMarker."""
    out: list[str] = []
    marker = ""
    while True:
        page = await storage.list(BUCKET, prefix, marker, max_keys, delimiter)
        assert len(page.objects) + len(page.common_prefixes) <= max_keys
        out += [o.key for o in page.objects] + list(page.common_prefixes)
        if not page.is_truncated:
            return out
        assert page.next_marker > marker
        marker = page.next_marker


# --- objects --------------------------------------------------------------------------------


async def test_put_head_read_roundtrip(storage: Storage) -> None:
    data = b"hello world"
    meta = await put(storage, "dir/中 文+a(1).txt", data, content_type="text/plain",
                     headers={"x-cos-meta-color": "blue", "Cache-Control": "max-age=60"})
    assert meta.etag == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    assert meta.crc64 == "5981764153023615706"
    head = await storage.head(BUCKET, "dir/中 文+a(1).txt")
    assert (head.size, head.etag, head.crc64, head.content_type) == (11, meta.etag, meta.crc64, "text/plain")
    assert head.headers == {"x-cos-meta-color": "blue", "Cache-Control": "max-age=60"}
    assert head.last_modified == pytest.approx(meta.last_modified, abs=2)
    assert await read_all(storage, "dir/中 文+a(1).txt") == data


async def test_large_object_in_odd_chunks(storage: Storage) -> None:
    data = os.urandom(3 * MiB + 12345)
    meta = await storage.put(BUCKET, "big.bin", chunks(data, 70001))
    assert meta.size == len(data)
    assert meta.etag == hashlib.md5(data).hexdigest()
    assert meta.crc64 == str(crc64(data))
    assert await read_all(storage, "big.bin") == data


async def test_ranges_are_inclusive(storage: Storage) -> None:
    data = os.urandom(2 * MiB + 7)
    await put(storage, "r.bin", data)
    assert await read_all(storage, "r.bin", 0, 0) == data[:1]
    assert await read_all(storage, "r.bin", 5, 9) == data[5:10]
    assert await read_all(storage, "r.bin", MiB - 3, 2 * MiB + 6) == data[MiB - 3:]
    assert await read_all(storage, "r.bin", len(data) - 1, len(data) - 1) == data[-1:]


async def test_empty_object(storage: Storage) -> None:
    meta = await put(storage, "empty", b"")
    assert (meta.size, meta.etag, meta.crc64) == (0, hashlib.md5(b"").hexdigest(), "0")
    assert await read_all(storage, "empty") == b""


async def test_missing_key(storage: Storage) -> None:
    with pytest.raises(NoSuchKey):
        await storage.head(BUCKET, "nope")
    with pytest.raises(NoSuchKey):
        await read_all(storage, "nope", 0, 10)
    with pytest.raises(NoSuchKey):
        async with storage.local_input(BUCKET, "nope"):
            pass


async def test_overwrite_replaces_whole_object(storage: Storage) -> None:
    await put(storage, "k", b"first version")
    meta = await put(storage, "k", b"second")
    assert (await storage.head(BUCKET, "k")).etag == meta.etag == hashlib.md5(b"second").hexdigest()
    assert await read_all(storage, "k") == b"second"


async def test_content_md5(storage: Storage) -> None:
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    await put(storage, "m", b"abc", content_md5=good)
    with pytest.raises(BadDigest):
        await put(storage, "m", b"abd", content_md5=good)
    with pytest.raises(InvalidDigest):
        await put(storage, "m", b"abc", content_md5="not base64!")
    assert await read_all(storage, "m") == b"abc"  # the refused puts left the object alone


async def test_failed_upload_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(ConnectionResetError):
        await storage.put(BUCKET, "half", failing(b"x" * 1000))
    with pytest.raises(NoSuchKey):
        await storage.head(BUCKET, "half")
    await put(storage, "kept", b"old")
    with pytest.raises(ConnectionResetError):
        await storage.put(BUCKET, "kept", failing(b"new"))
    assert await read_all(storage, "kept") == b"old"


async def test_concurrent_puts_leave_one_whole_version(storage: Storage) -> None:
    versions = [bytes([i]) * (MiB + i) for i in range(4)]
    await asyncio.gather(*(put(storage, "race", v) for v in versions))
    meta = await storage.head(BUCKET, "race")
    body = await read_all(storage, "race")
    assert body in versions and meta.etag == hashlib.md5(body).hexdigest()


async def test_delete(storage: Storage) -> None:
    await put(storage, "a/b/c", b"1")
    await put(storage, "a/b/d", b"2")
    await storage.delete(BUCKET, "a/b/c")
    await storage.delete(BUCKET, "a/b/c")  # missing is fine
    await storage.delete(BUCKET, "never/was")
    with pytest.raises(NoSuchKey):
        await storage.head(BUCKET, "a/b/c")
    assert await all_keys(storage) == ["a/b/d"]


async def test_folder_objects(storage: Storage) -> None:
    await put(storage, "out/", b"")
    await put(storage, "out/x.mp4", b"video")
    assert (await storage.head(BUCKET, "out/")).size == 0
    assert await all_keys(storage) == ["out/", "out/x.mp4"]
    assert await all_keys(storage, delimiter="/") == ["out/"]
    assert await all_keys(storage, prefix="out/", delimiter="/") == ["out/", "out/x.mp4"]
    await storage.delete(BUCKET, "out/")
    assert await all_keys(storage) == ["out/x.mp4"]


async def test_unsafe_keys_refused(storage: Storage) -> None:
    for key in ("../escape", "a/../../b", "/abs", "", "a\x00b", "..\\win"):
        with pytest.raises(InvalidArgument):
            await put(storage, key, b"x")
    with pytest.raises(KeyTooLong):
        await put(storage, "k" * 851, b"x")


async def test_local_input_and_put_file(storage: Storage, tmp_path: Path) -> None:
    src = tmp_path / "out.mp4"
    src.write_bytes(b"rendered" * 1000)
    meta = await storage.put_file(BUCKET, "jobs/out.mp4", src, content_type="video/mp4")
    assert src.read_bytes() == b"rendered" * 1000  # the source is left in place
    assert meta.etag == hashlib.md5(src.read_bytes()).hexdigest() and meta.content_type == "video/mp4"
    async with storage.local_input(BUCKET, "jobs/out.mp4") as path:
        assert Path(path).read_bytes() == src.read_bytes()


async def test_put_file_owned_survives_the_staged_file(storage: Storage, tmp_path: Path) -> None:
    """An owned file (a job's staged output) may be linked in: the object outlives the staged file and a
    second put over the same key, and its metadata is that of the bytes."""
    src = tmp_path / "seg.ts"
    src.write_bytes(b"segment" * 5000)
    meta = await storage.put_file(BUCKET, "jobs/seg.ts", src, content_type="video/mp2t", owned=True)
    assert meta.etag == hashlib.md5(b"segment" * 5000).hexdigest() and meta.size == 35000
    src.unlink()  # the runner removes its staging folder
    assert (await storage.head(BUCKET, "jobs/seg.ts")).etag == meta.etag
    async with storage.local_input(BUCKET, "jobs/seg.ts") as path:
        assert Path(path).read_bytes() == b"segment" * 5000
    again = tmp_path / "seg2.ts"
    again.write_bytes(b"other")
    await storage.put_file(BUCKET, "jobs/seg.ts", again, owned=True)
    again.unlink()
    async with storage.local_input(BUCKET, "jobs/seg.ts") as path:
        assert Path(path).read_bytes() == b"other"
    assert (await storage.head(BUCKET, "jobs/seg.ts")).etag == hashlib.md5(b"other").hexdigest()


async def test_put_file_takes_the_hashes_its_writer_worked_out(storage: Storage, tmp_path: Path) -> None:
    """A job's worker hashes its outputs while it runs: given hashes are taken as they are (the file is not
    read to hash it), unless their size is not the file's, when the file is hashed after all."""
    src = tmp_path / "piece.ts"
    src.write_bytes(b"piece" * 3000)
    known = hash_path(src)
    assert known == FileHashes(15000, hashlib.md5(b"piece" * 3000).hexdigest(), str(crc64(b"piece" * 3000)))
    marked = FileHashes(known.size, "0" * 32, "1")
    meta = await storage.put_file(BUCKET, "jobs/p0.ts", src, owned=True, hashes=marked)
    assert (meta.etag, meta.crc64) == ("0" * 32, "1")  # taken, not recomputed
    stale = FileHashes(known.size + 1, "0" * 32, "1")
    meta = await storage.put_file(BUCKET, "jobs/p1.ts", src, owned=True, hashes=stale)
    assert (meta.size, meta.etag, meta.crc64) == (known.size, known.md5, known.crc64)
    head = await storage.head(BUCKET, "jobs/p1.ts")
    assert (head.size, head.etag) == (known.size, known.md5)


# --- listing --------------------------------------------------------------------------------

KEYS = ["a-b", "a.c", "a/b", "a/c/d", "a/c/e", "a0", "Z", "é", "中文/x", "~", "b/", "b/1", "b/2/3"]


async def test_list_order_is_utf8_binary(storage: Storage) -> None:
    for k in KEYS:
        await put(storage, k, k.encode())
    page = await storage.list(BUCKET)
    assert [o.key for o in page.objects] == sorted(KEYS, key=lambda k: k.encode())
    assert not page.is_truncated and page.next_marker == ""
    assert page.objects[0].size == len(page.objects[0].key.encode())


async def test_list_prefix_marker_paging(storage: Storage) -> None:
    for k in KEYS:
        await put(storage, k, b"x")
    ordered = sorted(KEYS, key=lambda k: k.encode())
    assert await all_keys(storage, prefix="a/") == ["a/b", "a/c/d", "a/c/e"]
    assert await all_keys(storage, prefix="a/c") == ["a/c/d", "a/c/e"]
    assert await all_keys(storage, prefix="zz") == []
    assert await all_keys(storage, prefix="../") == []
    for size in (1, 2, 5):
        assert await all_keys(storage, max_keys=size) == ordered
    page = await storage.list(BUCKET, "", "a0", 1000, "")
    assert [o.key for o in page.objects] == ordered[ordered.index("a0") + 1:]
    first = await storage.list(BUCKET, "", "", 3, "")
    assert first.is_truncated and first.next_marker == first.objects[-1].key


async def test_list_delimiter_rolls_up_and_counts(storage: Storage) -> None:
    for k in KEYS:
        await put(storage, k, b"x")
    top = await storage.list(BUCKET, "", "", 1000, "/")
    assert list(top.common_prefixes) == ["a/", "b/", "中文/"]
    assert [o.key for o in top.objects] == ["Z", "a-b", "a.c", "a0", "~", "é"]
    assert await all_keys(storage, prefix="a/", delimiter="/") == ["a/b", "a/c/"]
    for size in (1, 2, 3):  # common prefixes count against max-keys, each returned once
        got = await all_keys(storage, max_keys=size, delimiter="/")
        assert sorted(got) == sorted(["Z", "a-b", "a.c", "a0", "~", "é", "a/", "b/", "中文/"])
    dash = await storage.list(BUCKET, "a", "", 1000, "-")
    assert list(dash.common_prefixes) == ["a-"]


# --- multipart ------------------------------------------------------------------------------


async def upload(storage: Storage, key: str, parts: list[bytes]) -> tuple[str, list[tuple[int, str]]]:
    upload_id = await storage.create_upload(BUCKET, key, content_type="video/mp4",
                                            headers={"x-cos-meta-src": "test"})
    infos = await asyncio.gather(*(storage.upload_part(BUCKET, key, upload_id, n, chunks(p))
                                   for n, p in reversed(list(enumerate(parts, 1)))))
    return upload_id, sorted((i.part_number, i.etag) for i in infos)


async def test_multipart_roundtrip(storage: Storage) -> None:
    parts = [os.urandom(MiB), os.urandom(MiB + 5), os.urandom(1000)]
    upload_id, etags = await upload(storage, "mp/video.mp4", parts)
    listed = await storage.list_parts(BUCKET, "mp/video.mp4", upload_id)
    assert [(p.part_number, p.etag, p.size) for p in listed] == [
        (n, hashlib.md5(p).hexdigest(), len(p)) for n, p in enumerate(parts, 1)]
    assert [u.upload_id for u in await storage.list_uploads(BUCKET, "mp/")] == [upload_id]
    meta = await storage.complete_upload(BUCKET, "mp/video.mp4", upload_id, etags)
    whole = b"".join(parts)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert meta.etag == f"{hashlib.md5(md5s).hexdigest()}-3"
    assert (meta.size, meta.crc64) == (len(whole), str(crc64(whole)))
    head = await storage.head(BUCKET, "mp/video.mp4")
    assert (head.content_type, head.headers) == ("video/mp4", {"x-cos-meta-src": "test"})
    assert await read_all(storage, "mp/video.mp4") == whole
    assert await storage.list_uploads(BUCKET) == []
    with pytest.raises(NoSuchUpload):
        await storage.complete_upload(BUCKET, "mp/video.mp4", upload_id, etags)


async def test_complete_accepts_quoted_etags_and_a_subset(storage: Storage) -> None:
    upload_id, etags = await upload(storage, "sub", [b"a" * MiB, b"b" * MiB, b"c"])
    meta = await storage.complete_upload(BUCKET, "sub", upload_id, [(1, f'"{etags[0][1]}"'), etags[2]])
    assert meta.size == MiB + 1
    assert await read_all(storage, "sub") == b"a" * MiB + b"c"


async def test_complete_errors_keep_the_upload(storage: Storage) -> None:
    upload_id, etags = await upload(storage, "bad", [b"small", b"x" * MiB])
    with pytest.raises(InvalidPartOrder):
        await storage.complete_upload(BUCKET, "bad", upload_id, list(reversed(etags)))
    with pytest.raises(InvalidPart):
        await storage.complete_upload(BUCKET, "bad", upload_id, [(1, "0" * 32), etags[1]])
    with pytest.raises(InvalidPart):
        await storage.complete_upload(BUCKET, "bad", upload_id, [*etags, (3, "0" * 32)])
    with pytest.raises(EntityTooSmall):
        await storage.complete_upload(BUCKET, "bad", upload_id, etags)
    with pytest.raises(NoSuchUpload):
        await storage.complete_upload(BUCKET, "other-key", upload_id, etags)
    fixed = await storage.upload_part(BUCKET, "bad", upload_id, 1, chunks(b"y" * MiB))
    meta = await storage.complete_upload(BUCKET, "bad", upload_id, [(1, fixed.etag), etags[1]])
    assert meta.size == 2 * MiB
    assert await read_all(storage, "bad", 0, 2) == b"yyy"


async def test_unknown_uploads(storage: Storage) -> None:
    for bogus in ("0123456789abcdef0123", "../../etc", ""):
        with pytest.raises(NoSuchUpload):
            await storage.upload_part(BUCKET, "k", bogus, 1, chunks(b"x"))
        with pytest.raises(NoSuchUpload):
            await storage.list_parts(BUCKET, "k", bogus)
        with pytest.raises(NoSuchUpload):
            await storage.abort_upload(BUCKET, "k", bogus)
    upload_id = await storage.create_upload(BUCKET, "k")
    with pytest.raises(InvalidArgument):
        await storage.upload_part(BUCKET, "k", upload_id, 0, chunks(b"x"))
    with pytest.raises(InvalidArgument):
        await storage.upload_part(BUCKET, "k", upload_id, 10001, chunks(b"x"))


async def test_abort_and_list_uploads_order(storage: Storage) -> None:
    ids = [await storage.create_upload(BUCKET, key) for key in ("v/1.mp4", "v/1.mp4", "w/2.mp4")]
    listed = await storage.list_uploads(BUCKET)
    assert [u.upload_id for u in listed] == ids
    assert listed[0].initiated <= listed[1].initiated <= listed[2].initiated
    assert [u.key for u in await storage.list_uploads(BUCKET, "w/")] == ["w/2.mp4"]
    await storage.abort_upload(BUCKET, "v/1.mp4", ids[0])
    assert [u.upload_id for u in await storage.list_uploads(BUCKET)] == ids[1:]
    with pytest.raises(NoSuchUpload):
        await storage.upload_part(BUCKET, "v/1.mp4", ids[0], 1, chunks(b"x"))


async def test_reupload_replaces_a_part(storage: Storage) -> None:
    upload_id = await storage.create_upload(BUCKET, "re")
    await storage.upload_part(BUCKET, "re", upload_id, 1, chunks(b"old"))
    new = await storage.upload_part(BUCKET, "re", upload_id, 1, chunks(b"new!"))
    parts = await storage.list_parts(BUCKET, "re", upload_id)
    assert [(p.part_number, p.etag, p.size) for p in parts] == [(1, new.etag, 4)]
    await storage.complete_upload(BUCKET, "re", upload_id, [(1, new.etag)])
    assert await read_all(storage, "re") == b"new!"


async def test_reset(storage: Storage) -> None:
    await put(storage, "x/y", b"1")
    await storage.create_upload(BUCKET, "z")
    await storage.reset()
    assert await all_keys(storage) == [] and await storage.list_uploads(BUCKET) == []
    await put(storage, "x/y", b"2")
    assert await read_all(storage, "x/y") == b"2"
