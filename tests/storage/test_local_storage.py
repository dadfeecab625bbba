"""What only the local adapter promises: a browsable layout, path limits, crash repair, no litter."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ci_jobs.errors import InvalidArgument, KeyTooLong, NoSuchKey
from ci_jobs.storage.local import LocalStorage

from .conftest import BUCKET
from .test_storage_contract import chunks, failing, read_all


@pytest.fixture
async def local(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path)
    await storage.ensure_bucket(BUCKET)
    return storage


async def test_objects_are_files_at_their_key(local: LocalStorage, tmp_path: Path) -> None:
    await local.put(BUCKET, "in/中 文.mp4", chunks(b"movie"))
    assert (tmp_path / BUCKET / "in" / "中 文.mp4").read_bytes() == b"movie"
    async with local.local_input(BUCKET, "in/中 文.mp4") as path:
        assert path == tmp_path / BUCKET / "in" / "中 文.mp4"


async def test_file_and_folder_of_one_name_conflict(local: LocalStorage, tmp_path: Path) -> None:
    await local.put(BUCKET, "a", chunks(b"1"))
    with pytest.raises(InvalidArgument, match="conflicts"):
        await local.put(BUCKET, "a/b", chunks(b"2"))
    with pytest.raises(InvalidArgument, match="conflicts"):
        await local.put(BUCKET, "a/", chunks(b""))
    await local.put(BUCKET, "c/d", chunks(b"3"))
    with pytest.raises(InvalidArgument, match="conflicts"):
        await local.put(BUCKET, "c", chunks(b"4"))
    assert await read_all(local, "a") == b"1" and await read_all(local, "c/d") == b"3"
    await local.delete(BUCKET, "c/d")
    await local.put(BUCKET, "c", chunks(b"5"))  # the emptied folder was pruned
    assert sorted(p.name for p in (tmp_path / BUCKET).iterdir()) == ["a", "c"]


async def test_keys_a_file_system_cannot_hold(local: LocalStorage) -> None:
    for key in ("a//b", "a/./b", "./a", "x/.cos-folder"):
        with pytest.raises(InvalidArgument):
            await local.put(BUCKET, key, chunks(b"x"))
    with pytest.raises(KeyTooLong):
        await local.put(BUCKET, "d/" + "n" * 256, chunks(b"x"))


async def test_sidecar_rebuilt_after_a_crash_between_renames(local: LocalStorage, tmp_path: Path) -> None:
    await local.put(BUCKET, "v.bin", chunks(b"old bytes"))
    new = tmp_path / "new"
    new.write_bytes(b"new bytes, longer")
    os.replace(new, tmp_path / BUCKET / "v.bin")  # the data rename happened, the sidecar one did not
    meta = await local.head(BUCKET, "v.bin")
    assert (meta.size, meta.etag) == (17, hashlib.md5(b"new bytes, longer").hexdigest())
    assert await read_all(local, "v.bin") == b"new bytes, longer"


async def test_data_without_sidecar_is_not_an_object(local: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / BUCKET / "orphan").write_bytes(b"x")
    with pytest.raises(NoSuchKey):
        await local.head(BUCKET, "orphan")
    assert (await local.list(BUCKET)).objects == ()


async def test_no_temp_files_left_behind(local: LocalStorage, tmp_path: Path) -> None:
    await local.put(BUCKET, "ok", chunks(b"x"))
    with pytest.raises(ConnectionResetError):
        await local.put(BUCKET, "broken", failing(b"y"))
    upload_id = await local.create_upload(BUCKET, "mp")
    part = await local.upload_part(BUCKET, "mp", upload_id, 1, chunks(b"z"))
    await local.complete_upload(BUCKET, "mp", upload_id, [(1, part.etag)])
    assert list((tmp_path / ".tmp").iterdir()) == []
    assert list((tmp_path / ".uploads").iterdir()) == []


async def test_invalid_bucket_names(local: LocalStorage) -> None:
    for bucket in ("../x", ".meta", "A"):
        with pytest.raises(InvalidArgument):
            await local.put(bucket, "k", chunks(b"x"))


async def test_crash_leftovers_are_swept(local: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / ".tmp").mkdir(exist_ok=True)
    old, new = tmp_path / ".tmp" / "old", tmp_path / ".tmp" / "new"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    claimed = tmp_path / ".uploads" / "00ff.completing"
    claimed.mkdir(parents=True)
    for p in (old, claimed):
        os.utime(p, (1, 1))
    await local.ensure_bucket(BUCKET)
    assert not old.exists() and not claimed.exists() and new.exists()


async def test_head_follows_every_new_version_past_the_kept_sidecars(local: LocalStorage,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """HEADs answer from kept sidecars, re-read when an object is written again, and stay right once more
    keys were read than are kept."""
    import ci_jobs.storage.local as local_module
    monkeypatch.setattr(local_module, "SIDECARS_KEPT", 3)
    for round_ in range(3):
        for i in range(6):
            body = f"{round_}-{i}".encode() * (round_ + 1)
            await local.put(BUCKET, f"k/{i}", chunks(body))
            meta = await local.head(BUCKET, f"k/{i}")
            assert (meta.size, meta.etag) == (len(body), hashlib.md5(body).hexdigest())
        for i in range(6):
            assert (await local.head(BUCKET, f"k/{i}")).size == len(f"{round_}-{i}".encode() * (round_ + 1))
    assert len(local._sidecars) <= 3 and len(local._known_paths) <= 3
    await local.delete(BUCKET, "k/0")
    with pytest.raises(NoSuchKey):
        await local.head(BUCKET, "k/0")
