"""StreamExtract jobs driven by the official SDK against a live server: one object per listed stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, REGION, wait_job
from .media.conftest import make_clip

INPUT = "se/in/clip.mp4"


@pytest.fixture(scope="module")
def uploaded(client: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2 s H.264 (stream 0) + AAC (stream 1) mp4 in the bucket; its local path."""
    path = make_clip(tmp_path_factory.mktemp("se") / "clip.mp4")
    client.put_object(Bucket=BUCKET, Key=INPUT, Body=Path(path).read_bytes())
    return path


def body(*pairs: tuple[str, str]) -> dict[str, Any]:
    """A StreamExtract job on the uploaded clip listing (Index, Object) pairs."""
    entries = [{"Index": index, "Object": obj} for index, obj in pairs]
    return {"Tag": "StreamExtract", "Input": {"Object": INPUT},
            "Operation": {"Output": {"Region": REGION, "Bucket": BUCKET, "StreamExtract": entries}}}


def run_job(client: CosS3Client, job: dict[str, Any]) -> dict[str, Any]:
    """Submit `job` and wait for its end."""
    detail = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job)["JobsDetail"][0]
    return wait_job(client, detail["JobId"])


def decoded(client: CosS3Client, key: str, tmp_path: Path) -> tuple[int, str, int]:
    """Download `key`: its stream count, the codec of its stream and the frames it decodes to."""
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read())
    with av.open(str(path)) as c:
        return len(c.streams), c.streams[0].codec_context.codec.canonical_name, sum(1 for _ in c.decode(c.streams[0]))


def source_frames(path: str, index: int) -> int:
    """Frames the uploaded clip's stream `index` decodes to."""
    with av.open(path) as c:
        return sum(1 for _ in c.decode(c.streams[index]))


def test_each_listed_stream_becomes_an_object_in_the_order_listed(client: CosS3Client, uploaded: str,
                                                                   tmp_path: Path) -> None:
    done = run_job(client, body(("1", "se/out/${jobid}/audio-${Number}.${ext}"), ("0", "se/out/${jobid}/video.mkv")))
    assert done["State"] == "Success", done
    folder = f"se/out/{done['JobId']}"
    result = done["Operation"]["MediaResult"]["OutputFile"]
    assert result["ObjectName"] == [f"{folder}/audio-0.m4a", f"{folder}/video.mkv"]
    assert [m["ObjectName"] for m in result["Md5Info"]] == result["ObjectName"]
    assert (result["Bucket"], result["Region"]) == (BUCKET, REGION)
    assert done["Operation"]["MediaInfo"]["Format"]["NumStream"] == "2"
    assert done["Operation"]["Output"]["StreamExtract"][0]["Index"] == "1"  # the request is echoed
    assert decoded(client, f"{folder}/audio-0.m4a", tmp_path) == (1, "aac", source_frames(uploaded, 1))
    assert decoded(client, f"{folder}/video.mkv", tmp_path) == (1, "h264", source_frames(uploaded, 0))


def test_one_stream_gives_one_object(client: CosS3Client, uploaded: str, tmp_path: Path) -> None:
    done = run_job(client, body(("0", "se/out/${InputName}-video.${ext}")))
    assert done["State"] == "Success", done
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == "se/out/clip-video.mp4"
    assert decoded(client, "se/out/clip-video.mp4", tmp_path) == (1, "h264", source_frames(uploaded, 0))


def test_one_pattern_with_number_serves_every_stream(client: CosS3Client, uploaded: str) -> None:
    pattern = "se/out/${jobid}/stream-${Number}.${ext}"
    done = run_job(client, body(("0", pattern), ("1", pattern)))
    assert done["State"] == "Success", done
    folder = f"se/out/{done['JobId']}"
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == [f"{folder}/stream-0.mp4",
                                                                            f"{folder}/stream-1.m4a"]


def test_an_index_the_input_lacks_fails_the_job(client: CosS3Client, uploaded: str) -> None:
    done = run_job(client, body(("0", "se/out/never-v.${ext}"), ("7", "se/out/never-x.${ext}")))
    assert (done["State"], done["Code"]) == ("Failed", "InvalidArgument")
    assert done["Message"] == ("Request.Operation.Output.StreamExtract[1].Index 7: the input has no stream 7; "
                               "its streams are 0 (video h264), 1 (audio aac)")
    with pytest.raises(CosServiceError):
        client.head_object(Bucket=BUCKET, Key="se/out/never-v.mp4")  # nothing is published by a failed job


def test_an_extension_the_codec_does_not_fit_fails_the_job(client: CosS3Client, uploaded: str) -> None:
    done = run_job(client, body(("1", "se/out/audio.mp3")))
    assert (done["State"], done["Code"]) == ("Failed", "InvalidArgument")
    assert done["Message"].startswith("Request.Operation.Output.StreamExtract[0].Object se/out/audio.mp3 ends with "
                                      ".mp3, which cannot carry stream 1 (audio aac)")


@pytest.mark.parametrize(("job", "fragment"), [
    ({**body(), "Operation": {"Output": {"Region": REGION, "Bucket": BUCKET, "Object": "x.mp4"}}},
     "Request.Operation.Output.StreamExtract is required"),
    (body(("0", "a.${ext}"), ("0", "b.${ext}")),
     "Request.Operation.Output.StreamExtract[1].Index 0 repeats Request.Operation.Output.StreamExtract[0].Index"),
    (body(("0", "same"), ("1", "same")),
     "Request.Operation.Output.StreamExtract[1].Object same repeats Request.Operation.Output.StreamExtract[0].Object"),
    (body(("0", "v.bin")), "Request.Operation.Output.StreamExtract[0].Object v.bin ends with .bin, which is not"),
    (body(("0", "../up.mp4")), "Request.Operation.Output.StreamExtract[0].Object is invalid"),
    (body(("-1", "v.mp4")), "Request.Operation.Output.StreamExtract.Index has an invalid value '-1'"),
])
def test_bad_lists_are_refused_at_submit(client: CosS3Client, job: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job)
    assert (err.value.get_status_code(), err.value.get_error_code()) == (400, "InvalidArgument")
    assert fragment in err.value.get_error_msg()
