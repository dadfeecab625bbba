"""COS Multi-Object Delete (`delete_objects`, POST /?delete) and keys that begin with `-/`."""

from __future__ import annotations

from qcloud_cos import CosS3Client

from ..conftest import BUCKET


def test_delete_objects(wf: CosS3Client) -> None:
    for k in ("md/a.txt", "md/b.txt", "md/keep.txt"):
        wf.put_object(Bucket=BUCKET, Key=k, Body=b"x")
    got = wf.delete_objects(Bucket=BUCKET, Delete={"Quiet": "false", "Object": [
        {"Key": "md/a.txt"}, {"Key": "md/b.txt"}, {"Key": "md/never-was.txt"}]})
    assert sorted(d["Key"] for d in got["Deleted"]) == ["md/a.txt", "md/b.txt", "md/never-was.txt"]
    assert "Error" not in got or not got["Error"]
    listed = wf.list_objects(Bucket=BUCKET, Prefix="md/")
    assert [c["Key"] for c in listed["Contents"]] == ["md/keep.txt"]
    quiet = wf.delete_objects(Bucket=BUCKET, Delete={"Quiet": "true", "Object": [{"Key": "md/keep.txt"}]})
    assert not quiet.get("Deleted")
    assert "Contents" not in wf.list_objects(Bucket=BUCKET, Prefix="md/")


def test_keys_beginning_with_dash_slash(wf: CosS3Client) -> None:
    # (-/health, -/ready, -/metrics and -/reset are the ops endpoints of the root app and still shadow those keys)
    for key in ("-/a.txt", "-/dir/b.mp4", "-/"):
        wf.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        assert wf.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read() == key.encode()
        wf.delete_object(Bucket=BUCKET, Key=key)
