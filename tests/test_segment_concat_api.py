"""Segment and Concat jobs driven by the official SDK against a live server: objects in, objects out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import pytest
from Crypto.Cipher import AES  # pycryptodome, installed with the COS SDK
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, REGION, output, wait_job
from .media.conftest import make_clip


def submit(client: CosS3Client, body: dict[str, Any]) -> dict[str, Any]:
    return dict(client.ci_create_media_jobs(Bucket=BUCKET, Jobs=body)["JobsDetail"][0])


def get(client: CosS3Client, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read()
    return data


def upload(client: CosS3Client, key: str, path: str) -> str:
    client.put_object(Bucket=BUCKET, Key=key, Body=Path(path).read_bytes())
    return key


def count_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_segment_hls_with_aes128(client: CosS3Client, tmp_path: Path) -> None:
    source = upload(client, "seg/in/long clip.mp4",
                    make_clip(tmp_path / "long.mp4", w=160, h=120, seconds=11.0, fps=10, gop=10))
    op = {"Segment": {"Format": "hls", "Duration": "5", "HlsEncrypt": {"IsHlsEncrypt": "true"}},
          "Output": output("seg/out/${jobid}/index.${ext}")}
    detail = submit(client, {"Tag": "Segment", "Input": {"Object": source}, "Operation": op})
    done = wait_job(client, detail["JobId"])
    assert done["State"] == "Success", done
    folder = f"seg/out/{detail['JobId']}"
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == f"{folder}/index.m3u8"
    assert float(done["Operation"]["MediaInfo"]["Format"]["Duration"]) == pytest.approx(11.0, abs=0.2)
    playlist = get(client, f"{folder}/index.m3u8").decode()
    key = get(client, f"{folder}/index.key")
    assert len(key) == 16
    segments = re.findall(r"^(index-\d{5}\.ts)$", playlist, re.MULTILINE)
    ivs = re.findall(r'#EXT-X-KEY:METHOD=AES-128,URI="index\.key",IV=0x([0-9a-f]{32})', playlist)
    assert len(segments) == len(ivs) == 3
    frames = 0
    for n, (name, iv) in enumerate(zip(segments, ivs, strict=True)):
        assert int(iv, 16) == n  # the media sequence number, as HLS defaults to
        plain = AES.new(key, AES.MODE_CBC, bytes.fromhex(iv)).decrypt(get(client, f"{folder}/{name}"))
        ts = tmp_path / name
        ts.write_bytes(plain[: -plain[-1]])
        frames += count_frames(ts)
    assert frames == 110


@pytest.fixture(scope="module")
def fragments(client: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """Two uploaded clips (2 s 320x240 and 1 s 160x120), by key, with their durations."""
    d = tmp_path_factory.mktemp("cat")
    out = {}
    for key, path in (("cat/in/a.mp4", make_clip(d / "a.mp4", seconds=2.0)),
                      ("cat/in/b.mp4", make_clip(d / "b.mp4", w=160, h=120, seconds=1.0))):
        with av.open(path) as c:
            out[upload(client, key, path)] = float(c.duration) / 1e6
    return out


def fetch_length(client: CosS3Client, key: str, tmp_path: Path) -> tuple[float, int]:
    """Download `key`; its duration and its number of video frames."""
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(get(client, key))
    with av.open(str(path)) as c:
        return float(c.duration) / 1e6, count_frames(path)


def test_concat_two_uploaded_fragments(client: CosS3Client, fragments: dict[str, float], tmp_path: Path) -> None:
    url = f"https://{BUCKET}.cos.{REGION}.myqcloud.com/cat/in/a.mp4"
    op = {"ConcatTemplate": {"ConcatFragment": [{"Url": url}, {"Url": "cat/in/b.mp4"}], "Container": {"Format": "mp4"},
                             "Audio": {"Codec": "aac"}, "Video": {"Codec": "H.264"}},
          "Output": output("cat/out/joined.${ext}")}
    detail = submit(client, {"Tag": "Concat", "Operation": op})  # no Input: the fragments are the media
    done = wait_job(client, detail["JobId"])
    assert done["State"] == "Success", done
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == "cat/out/joined.mp4"
    total = sum(fragments.values())
    seconds, frames = fetch_length(client, "cat/out/joined.mp4", tmp_path)
    assert seconds == pytest.approx(total, abs=0.05) and frames == pytest.approx(25 * total, abs=1)


def test_concat_fragment_of_another_bucket_is_refused(client: CosS3Client) -> None:
    """A fragment URL naming another bucket is refused at submit, not read from this bucket's same path."""
    url = f"https://other-1250000001.cos.{REGION}.myqcloud.com/cat/in/a.mp4"
    op = {"ConcatTemplate": {"ConcatFragment": [{"Url": url}, {"Url": "cat/in/b.mp4"}], "Container": {"Format": "mp4"}},
          "Output": output("cat/out/never.mp4")}
    with pytest.raises(CosServiceError) as err:
        submit(client, {"Tag": "Concat", "Operation": op})
    assert err.value.get_error_code() == "InvalidArgument" and url in err.value.get_error_msg()


def test_concat_template_puts_an_intro_before_the_input(client: CosS3Client, fragments: dict[str, float],
                                                        tmp_path: Path) -> None:
    template = client.ci_create_template(Bucket=BUCKET, Template={
        "Tag": "Concat", "Name": "intro",
        "ConcatTemplate": {"ConcatFragment": {"Url": "cat/in/b.mp4", "Mode": "Start"}, "Container": {"Format": "mp4"},
                           "SceneChangeInfo": {"Mode": "FADE", "Time": "0.4"}}})["Template"]
    op = {"TemplateId": template["TemplateId"], "Output": output("cat/out/with-intro.mp4")}
    done = wait_job(client, submit(client, {"Tag": "Concat", "Input": {"Object": "cat/in/a.mp4"}, "Operation": op})
                    ["JobId"])
    assert done["State"] == "Success", done
    assert done["Operation"]["TemplateName"] == "intro"
    seconds, _ = fetch_length(client, "cat/out/with-intro.mp4", tmp_path)
    assert seconds == pytest.approx(sum(fragments.values()), abs=0.05)


def test_concat_with_a_missing_fragment_fails_the_job(client: CosS3Client) -> None:
    op = {"ConcatTemplate": {"ConcatFragment": [{"Url": "cat/in/nothing-here.mp4"}], "Container": {"Format": "mp4"}},
          "Output": output("cat/out/never.${ext}")}
    done = wait_job(client, submit(client, {"Tag": "Concat", "Operation": op})["JobId"])
    assert (done["State"], done["Code"]) == ("Failed", "InputNotFound")
    assert "cat/in/nothing-here.mp4" in done["Message"]


@pytest.mark.parametrize(("tag", "op", "fragment"), [
    ("Segment", {"Segment": {"Format": "mp4", "Duration": "10"}, "Output": output("o/piece.mp4")}, "${Number}"),
    ("Segment", {"Segment": {"Format": "wav"}, "Output": output("o/x.wav")}, "Format"),
    ("Concat", {"ConcatTemplate": {"Container": {"Format": "mp4"}}, "Output": output("o/x.mp4")}, "ConcatFragment"),
    ("Concat", {"Output": output("o/x.mp4")}, "ConcatTemplate"),
])
def test_invalid_bodies_are_refused(client: CosS3Client, tag: str, op: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs={"Tag": tag, "Input": {"Object": "a.mp4"}, "Operation": op})
    assert (err.value.get_status_code(), err.value.get_error_code()) == (400, "InvalidArgument")
    assert fragment in err.value.get_error_msg()
