"""Synchronous `?ci-process=` (snapshot, videoinfo, pm3u8) through the official SDK and plain requests.

The server runs without worker processes: synchronous processing never uses them. Snapshots are
checked by decoding them and finding which frame of the source (decoded here) they show.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import select
import signal
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
import pytest
import requests
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ci_jobs import auth, config, playlist, xmlio
from ci_jobs.app import sync as sync_module
from ci_jobs.app.sync import SnapshotSpec, SyncProcessor
from ci_jobs.engine.procpool import ProcPool
from ci_jobs.errors import InvalidArgument, ServiceUnavailable
from ci_jobs.protocols.cos.ci_process import MAX_TIME, snapshot_spec
from ci_jobs.protocols.keys import SYNC
from ci_jobs.server import create_app
from ci_jobs.storage import ObjectMeta

from .conftest import BUCKET, REGION, SECRET_ID, SECRET_KEY, make_settings, sdk
from .harness import ServerThread

COS_HOST = f"{BUCKET}.cos.{REGION}.myqcloud.com"
FPS = 25
GOP = 75  # key frames at 0 s and 3 s of the 6 s clip
FRAMES = 150

Pixels = np.ndarray[Any, Any]


def make_clip(path: Path, seconds: float = FRAMES / FPS, size: tuple[int, int] = (320, 240),
              rotation: int = 0) -> bytes:
    """testsrc2 (a running timer: every frame differs) as H.264 with B frames and a fixed GOP."""
    with av.open(f"testsrc2=size={size[0]}x{size[1]}:rate={FPS}:duration={seconds}",
                 format="lavfi") as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS,
                            options={"preset": "veryfast", "g": str(GOP), "sc_threshold": "0"})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if rotation:
            vs.set_display_rotation(rotation)  # counter-clockwise, as phones store portrait video
        for i, picture in enumerate(src.decode(video=0)):
            picture.pts, picture.pict_type = i, av.video.frame.PictureType.NONE
            picture.time_base = Fraction(1, FPS)
            out.mux(vs.encode(picture))
        out.mux(vs.encode(None))
    return path.read_bytes()


def reference_frames(data: bytes) -> list[Pixels]:
    """Every frame of a clip as RGB, decoded from the start (no seeking)."""
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def image(data: bytes) -> Pixels:
    """Decode a jpg/png with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int16)


def shown_frame(reference: list[Pixels], picture: Pixels) -> tuple[int, float]:
    """(index, mean abs difference) of the reference frame `picture` is closest to."""
    diffs = [float(np.abs(ref - picture).mean()) for ref in reference]
    best = int(np.argmin(diffs))
    return best, diffs[best]


def body(resp: dict[str, Any]) -> bytes:
    return bytes(resp["Body"].get_raw_stream().read())


def error_of(exc: pytest.ExceptionInfo[CosServiceError]) -> tuple[int, str, str]:
    return exc.value.get_status_code(), exc.value.get_error_code(), exc.value.get_error_msg()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    data = tmp_path_factory.mktemp("sync-server")
    (data / "queues").mkdir()
    srv = ServerThread(lambda: create_app(make_settings(data, workers_enabled=False))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: ServerThread) -> CosS3Client:
    return sdk(server.port)


@pytest.fixture(scope="module")
def video(client: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Pixels]]:
    """(key, reference frames) of the uploaded 6 s 320x240 clip."""
    data = make_clip(tmp_path_factory.mktemp("clip") / "timer.mp4")
    key = f"sync-{uuid.uuid4().hex[:6]}/timer clip.mp4"
    client.put_object(Bucket=BUCKET, Key=key, Body=data)
    frames = reference_frames(data)
    assert len(frames) == FRAMES
    return key, frames


# --- snapshot -----------------------------------------------------------------------------


@pytest.mark.parametrize(("when", "mode", "expected"), [
    (0, "exactframe", 0), (0.52, "exactframe", 13), (2.96, "exactframe", 74),
    (3.0, "exactframe", 75), (4.44, "exactframe", 111), (5.96, "exactframe", 149),
    (99, "exactframe", 149),  # past the end: the last frame
    (0.52, "keyframe", 0), (2.96, "keyframe", 0), (3.0, "keyframe", 75), (4.44, "keyframe", 75),
    (99, "keyframe", 75),
    (99999999999999999999999, "exactframe", 149), (99999999999999999999999, "keyframe", 75),  # no overflow
])
def test_snapshot_shows_the_frame_at_the_time(client: CosS3Client, video: tuple[str, list[Pixels]],
                                              when: float, mode: str, expected: int) -> None:
    key, reference = video
    resp = client.get_snapshot(Bucket=BUCKET, Key=key, Time=str(when), Format="png", Mode=mode)
    assert resp["Content-Type"] == "image/png" and resp["Server"] == "tencent-ci"
    data = body(resp)
    assert int(resp["Content-Length"]) == len(data)
    picture = image(data)
    assert picture.shape == (240, 320, 3)
    index, diff = shown_frame(reference, picture)
    assert (index, diff < 1.0) == (expected, True)


@pytest.mark.parametrize(("width", "height", "fmt", "size"), [
    (None, None, "jpg", (320, 240)), ("160", None, "jpg", (160, 120)), (None, "60", "png", (80, 60)),
    ("100", "100", "png", (100, 100)), ("0", "0", "jpg", (320, 240)),
])
def test_snapshot_sizes_and_formats(client: CosS3Client, video: tuple[str, list[Pixels]],
                                    width: str | None, height: str | None, fmt: str,
                                    size: tuple[int, int]) -> None:
    key, reference = video
    resp = client.get_snapshot(Bucket=BUCKET, Key=key, Time="1", Width=width, Height=height, Format=fmt)
    assert resp["Content-Type"] == {"jpg": "image/jpeg", "png": "image/png"}[fmt]
    data = body(resp)
    assert data.startswith(b"\xff\xd8" if fmt == "jpg" else b"\x89PNG")
    picture = image(data)
    assert (picture.shape[1], picture.shape[0]) == size
    if size == (320, 240):
        assert shown_frame(reference, picture)[0] == 25


def test_snapshot_rotate_auto_stands_the_picture_upright(client: CosS3Client, tmp_path: Path) -> None:
    data = make_clip(tmp_path / "phone.mp4", seconds=0.4, rotation=90)
    upright = np.rot90(reference_frames(data)[0], k=1)  # the display matrix turns it 90 degrees ccw
    key = f"sync-{uuid.uuid4().hex[:6]}/phone.mp4"
    client.put_object(Bucket=BUCKET, Key=key, Body=data)
    auto = image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="0", Format="png")))
    assert auto.shape == (320, 240, 3) and float(np.abs(auto - upright).mean()) < 1.0
    raw = image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="0", Format="png", Rotate="off")))
    assert raw.shape == (240, 320, 3)
    small = image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="0", Width="120")))
    assert small.shape == (160, 120, 3)
    key_frame = image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="0.2", Format="png",
                                               Mode="keyframe")))
    assert float(np.abs(key_frame - upright).mean()) < 1.0


def test_presigned_snapshot_url_works_with_plain_requests(client: CosS3Client,
                                                          video: tuple[str, list[Pixels]]) -> None:
    key, reference = video
    url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET",
                                   Params={"ci-process": "snapshot", "time": "1"})
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "image/jpeg" and resp.headers["Server"] == "tencent-ci"
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    assert shown_frame(reference, image(resp.content))[0] == 25
    assert url.endswith("&ci-process=snapshot&time=1")
    tampered = requests.get(url[:-1] + "2", timeout=30)  # `time` is signed
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content


def test_snapshot_errors(client: CosS3Client, video: tuple[str, list[Pixels]], tmp_path: Path) -> None:
    key, _ = video
    with pytest.raises(CosServiceError) as err:
        client.ci_process(Bucket=BUCKET, Key=key, CiProcess="snapshot")
    assert error_of(err)[:2] == (400, "InvalidArgument") and "time" in error_of(err)[2]
    bad = [({"Time": "-1"}, "time"), ({"Time": "abc"}, "time"), ({"Time": "nan"}, "time"),
           ({"Time": "1", "Width": "abc"}, "width"), ({"Time": "1", "Height": "9000"}, "height"),
           ({"Time": "1", "Format": "gif"}, "format"), ({"Time": "1", "Rotate": "left"}, "rotate"),
           ({"Time": "1", "Mode": "fast"}, "mode")]
    for params, name in bad:
        with pytest.raises(CosServiceError) as err:
            client.get_snapshot(Bucket=BUCKET, Key=key, **params)
        status, code, message = error_of(err)
        assert (status, code, f"parameter {name}" in message) == (400, "InvalidArgument", True), params
    with pytest.raises(CosServiceError) as err:
        client.get_snapshot(Bucket=BUCKET, Key="sync-missing/none.mp4", Time="1")
    assert error_of(err)[:2] == (404, "NoSuchKey")
    client.put_object(Bucket=BUCKET, Key="sync-text/notes.mp4", Body=b"hello world, not a video")
    with pytest.raises(CosServiceError) as err:
        client.get_snapshot(Bucket=BUCKET, Key="sync-text/notes.mp4", Time="1")
    status, code, message = error_of(err)
    assert (status, code, "not a media file" in message) == (400, "InvalidArgument", True)
    client.put_object(Bucket=BUCKET, Key="sync-audio/tone.m4a", Body=_tone(tmp_path / "tone.m4a"))
    with pytest.raises(CosServiceError) as err:
        client.get_snapshot(Bucket=BUCKET, Key="sync-audio/tone.m4a", Time="0")
    status, code, message = error_of(err)
    assert (status, code, "no video stream" in message) == (400, "InvalidArgument", True)
    with pytest.raises(CosServiceError) as err:
        client.ci_process(Bucket=BUCKET, Key=key, CiProcess="transmogrify")
    assert error_of(err)[:2] == (400, "InvalidArgument")


def _tone(path: Path) -> bytes:
    with av.open("sine=frequency=440:duration=0.5", format="lavfi") as src, av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        for samples in src.decode(audio=0):
            samples.pts = None
            out.mux(stream.encode(samples))
        out.mux(stream.encode(None))
    return path.read_bytes()


def test_saturated_server_answers_503(client: CosS3Client, server: ServerThread,
                                      video: tuple[str, list[Pixels]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert server.app is not None
    monkeypatch.setattr(server.app[SYNC], "limit", 0)
    with pytest.raises(CosServiceError) as err:
        client.get_snapshot(Bucket=BUCKET, Key=video[0], Time="1")
    assert error_of(err)[:2] == (503, "ServiceUnavailable")


# --- videoinfo ----------------------------------------------------------------------------


def test_videoinfo(client: CosS3Client, video: tuple[str, list[Pixels]]) -> None:
    key, _ = video
    info = client.get_media_info(Bucket=BUCKET, Key=key)["MediaInfo"][0]
    stream = info["Stream"]["Video"]
    assert (stream["CodecName"], stream["Width"], stream["Height"]) == ("h264", "320", "240")
    assert stream["NumFrames"] == str(FRAMES)
    assert abs(float(info["Format"]["Duration"]) - FRAMES / FPS) < 0.05
    url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Params={"ci-process": "videoinfo"})
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/xml" and resp.headers["Server"] == "tencent-ci"
    assert xmlio.parse(resp.content).tag == "Response"
    with pytest.raises(CosServiceError) as err:
        client.get_media_info(Bucket=BUCKET, Key="sync-missing/none.mp4")
    assert error_of(err)[:2] == (404, "NoSuchKey")


# --- pm3u8 --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hls(client: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, bytes]]:
    """(playlist key, {segment name: bytes}) of a 3 s HLS stream made by FFmpeg's hls muxer."""
    folder = tmp_path_factory.mktemp("hls")
    with av.open("testsrc2=size=160x120:rate=25:duration=3", format="lavfi") as src, \
            av.open(str(folder / "index.m3u8"), "w", format="hls",
                    options={"hls_time": "1", "hls_list_size": "0",
                             "hls_segment_filename": str(folder / "seg%d.ts")}) as out:
        vs = out.add_stream("libx264", rate=25, options={"g": "25", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        for picture in src.decode(video=0):
            picture.pts, picture.pict_type = None, av.video.frame.PictureType.NONE
            out.mux(vs.encode(picture))
        out.mux(vs.encode(None))
    prefix = f"sync-hls-{uuid.uuid4().hex[:6]}/"
    segments = {p.name: p.read_bytes() for p in folder.glob("*.ts")}
    assert len(segments) >= 3
    for path in folder.iterdir():
        client.put_object(Bucket=BUCKET, Key=prefix + path.name, Body=path.read_bytes())
    return prefix + "index.m3u8", segments


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _fetch(server: ServerThread, playlist_key: str, uri: str) -> requests.Response:
    """GET a (relative) playlist URI as a player would, with the Host the URL was signed for."""
    folder = playlist_key.rsplit("/", 1)[0]
    return requests.get(f"{server.endpoint}/{folder}/{uri}", headers={"Host": COS_HOST}, timeout=30)


def test_pm3u8_signs_every_segment(client: CosS3Client, server: ServerThread,
                                   hls: tuple[str, dict[str, bytes]]) -> None:
    key, segments = hls
    before = int(time.time())
    resp = client.get_pm3u8(Bucket=BUCKET, Key=key, Expires="3600")
    assert resp["Content-Type"] == "application/x-mpegURL" and resp["Server"] == "tencent-ci"
    text = body(resp).decode()
    assert text.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in text
    uris = _lines(text)
    assert sorted(u.split("?")[0] for u in uris) == sorted(segments)
    for uri in uris:
        q = parse_qs(urlsplit(uri).query, keep_blank_values=True)
        start, end = (int(x) for x in q["q-sign-time"][0].split(";"))
        assert before <= start <= before + 5 and end - start == 3600
        assert (q["q-ak"], q["q-header-list"], q["q-url-param-list"]) == ([SECRET_ID], ["host"], [""])
        fetched = _fetch(server, key, uri)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == segments[uri.split("?")[0]]
    unsigned = requests.get(f"{server.endpoint}/{key.rsplit('/', 1)[0]}/seg0.ts",
                            headers={"Host": COS_HOST}, timeout=30)
    assert unsigned.status_code == 403


class _Clock:
    """Stands in for the `time` module in ci_jobs.auth: the verifier's clock, moved on."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


def test_pm3u8_urls_expire(client: CosS3Client, server: ServerThread, hls: tuple[str, dict[str, bytes]],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    key, _ = hls
    uri = _lines(body(client.get_pm3u8(Bucket=BUCKET, Key=key, Expires="3600")).decode())[0]
    monkeypatch.setattr(auth, "time", _Clock(3500))
    assert _fetch(server, key, uri).status_code == 200
    monkeypatch.setattr(auth, "time", _Clock(3610))
    late = _fetch(server, key, uri)
    assert late.status_code == 403
    error = xmlio.to_dict(xmlio.parse(late.content))
    assert (error["Code"], error["Message"]) == ("AccessDenied", "Request has expired")


def test_pm3u8_rewrite_signed_in_the_past_is_refused(server: ServerThread,
                                                     hls: tuple[str, dict[str, bytes]]) -> None:
    key, _ = hls
    now = int(time.time())
    signer = playlist.Signer(SECRET_ID, SECRET_KEY, COS_HOST, now - 7200, now - 3600)
    text = playlist.sign("#EXTM3U\n#EXTINF:1.0,\nseg0.ts\n", key, signer)
    resp = _fetch(server, key, _lines(text)[0])
    assert resp.status_code == 403 and b"Request has expired" in resp.content
    fresh = playlist.Signer.for_window(SECRET_ID, SECRET_KEY, COS_HOST, 3600)
    assert _fetch(server, key, _lines(playlist.sign(text.split("?")[0], key, fresh))[0]).status_code == 200


def test_pm3u8_master_playlist_key_uri_and_foreign_urls(client: CosS3Client, server: ServerThread,
                                                        hls: tuple[str, dict[str, bytes]]) -> None:
    key, segments = hls
    folder = key.rsplit("/", 1)[0]
    variant = ("#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"keys/k.bin\",IV=0x01\r\n"
               "#EXTINF:1.0,\r\nseg0.ts\r\n#EXTINF:1.0,\r\nhttps://cdn.example.com/elsewhere.ts\r\n#EXT-X-ENDLIST\r\n")
    master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nvariant.m3u8\n"
    client.put_object(Bucket=BUCKET, Key=f"{folder}/variant.m3u8", Body=variant.encode())
    client.put_object(Bucket=BUCKET, Key=f"{folder}/master.m3u8", Body=master.encode())
    client.put_object(Bucket=BUCKET, Key=f"{folder}/keys/k.bin", Body=b"0123456789abcdef")
    signed_master = body(client.get_pm3u8(Bucket=BUCKET, Key=f"{folder}/master.m3u8", Expires="7200")).decode()
    (variant_uri,) = _lines(signed_master)
    assert variant_uri.startswith("variant.m3u8?") and variant_uri.endswith("&ci-process=pm3u8&expires=7200")
    signed_variant = _fetch(server, key, variant_uri)
    assert signed_variant.status_code == 200
    assert signed_variant.headers["Content-Type"] == "application/x-mpegURL"
    text = signed_variant.text
    assert "\r\n" in text and "https://cdn.example.com/elsewhere.ts\r\n" in text
    segment = next(u for u in _lines(text) if u.startswith("seg0.ts?"))
    assert _fetch(server, key, segment).content == segments["seg0.ts"]
    key_uri = text.split('URI="', 1)[1].split('"', 1)[0]
    assert key_uri.startswith("keys/k.bin?q-sign-algorithm=sha1")
    assert _fetch(server, key, key_uri).content == b"0123456789abcdef"


def test_pm3u8_on_the_ci_host_gives_absolute_urls(client: CosS3Client, server: ServerThread,
                                                   hls: tuple[str, dict[str, bytes]]) -> None:
    key, segments = hls
    params = {"object": key, "expires": "3600"}
    authorization = client.get_auth(Method="GET", Bucket=BUCKET, Key="pm3u8", Params=params,
                                    Headers={"Host": COS_HOST})
    resp = requests.get(f"{server.endpoint}/pm3u8", params=params, timeout=30,
                        headers={"Host": COS_HOST, "Authorization": authorization})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/x-mpegURL"
    urls = _lines(resp.text)
    assert urls and all(u.startswith(f"http://{COS_HOST}/{key.rsplit('/', 1)[0]}/seg") for u in urls)
    proxies = {"http": server.endpoint}  # the player resolves the COS host; here a proxy stands in
    for url in urls:
        fetched = requests.get(url, proxies=proxies, timeout=30)
        assert fetched.content == segments[urlsplit(url).path.rsplit("/", 1)[1]]


def test_pm3u8_errors(client: CosS3Client, hls: tuple[str, dict[str, bytes]],
                      video: tuple[str, list[Pixels]]) -> None:
    for expires in ("60", "50000", "abc"):
        with pytest.raises(CosServiceError) as err:
            client.get_pm3u8(Bucket=BUCKET, Key=hls[0], Expires=expires)
        status, code, message = error_of(err)
        assert (status, code, "expires" in message) == (400, "InvalidArgument", True)
    with pytest.raises(CosServiceError) as err:
        client.get_pm3u8(Bucket=BUCKET, Key=video[0], Expires="3600")
    status, code, message = error_of(err)
    assert (status, code, "not an HLS playlist" in message) == (400, "InvalidArgument", True)
    with pytest.raises(CosServiceError) as err:
        client.get_pm3u8(Bucket=BUCKET, Key="sync-missing/none.m3u8", Expires="3600")
    assert error_of(err)[:2] == (404, "NoSuchKey")


# --- the rewrite itself (pure) --------------------------------------------------------------

VECTOR_KEY = ("AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q", "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz")
VECTOR_HOST = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"


def test_rewrite_matches_the_reference_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playlist.time, "time", lambda: 1700000000.4)
    signer = playlist.Signer.for_window(*VECTOR_KEY, VECTOR_HOST, 3600)
    text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.000000,\ndemo-0.ts\n#EXT-X-ENDLIST\n"
    assert playlist.sign(text, "hls/demo.m3u8", signer).splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10", "#EXTINF:10.000000,",
        "demo-0.ts?q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
        "&q-sign-time=1700000000%3B1700003600&q-key-time=1700000000%3B1700003600&q-header-list=host"
        "&q-url-param-list=&q-signature=def3e2148ad53efe2ba91de40717c5d254511dd5",
        "#EXT-X-ENDLIST"]


def _verifies(uri: str, path: str, now: float = 1700000100) -> bool:
    query = urlsplit(uri).query
    cred = auth.parse_query({k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()})
    assert cred is not None
    auth.verify(cred, VECTOR_KEY[1], "GET", path, query, {"Host": VECTOR_HOST}, now=now)
    return True


def test_rewrite_resolves_relative_uris_and_leaves_foreign_ones() -> None:
    signer = playlist.Signer(*VECTOR_KEY, VECTOR_HOST, 1700000000, 1700003600)
    text = ("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"../keys/k%201.bin\"\n"
            "#EXTINF:2,\n  sub dir/a.ts?v=1  \n#EXTINF:2,\n/root.ts\n#EXTINF:2,\nhttps://cdn.example.com/x.ts\n"
            f"#EXTINF:2,\nhttp://{VECTOR_HOST}/abs/b.ts\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key-id\"\n"
            "# a comment\n\n#EXT-X-ENDLIST")
    out = playlist.sign(text, "hls/中文/demo.m3u8", signer).split("\n")
    init = out[1].split('URI="')[1].rstrip('"')
    assert init.startswith("init.mp4?q-sign-algorithm") and _verifies(init, "/hls/%E4%B8%AD%E6%96%87/init.mp4")
    key = out[2].split('URI="')[1].split('"')[0]
    assert key.startswith("../keys/k%201.bin?") and _verifies(key, "/hls/keys/k%201.bin")
    assert out[4].startswith("  sub dir/a.ts?v=1&q-sign-algorithm") and out[4].endswith("  ")
    assert _verifies(out[4].strip(), "/hls/%E4%B8%AD%E6%96%87/sub%20dir/a.ts")
    assert out[6].startswith("/root.ts?") and _verifies(out[6], "/root.ts")
    assert out[8] == "https://cdn.example.com/x.ts"
    assert out[10].startswith(f"http://{VECTOR_HOST}/abs/b.ts?") and _verifies(out[10], "/abs/b.ts")
    assert out[11:] == ['#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key-id"', "# a comment", "", "#EXT-X-ENDLIST"]


def test_rewrite_signs_variant_playlists_for_pm3u8() -> None:
    signer = playlist.Signer(*VECTOR_KEY, VECTOR_HOST, 1700000000, 1700003600)
    (line,) = _lines(playlist.sign("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/index.m3u8\n", "hls/m.m3u8", signer))
    assert line.startswith("low/index.m3u8?") and "q-url-param-list=ci-process%3Bexpires" in line
    assert line.endswith("&ci-process=pm3u8&expires=3600") and _verifies(line, "/hls/low/index.m3u8")


# --- admission (unit) ---------------------------------------------------------------------


class _Storage:
    """Just enough storage for SyncProcessor: every key is a local file path."""

    @asynccontextmanager
    async def local_input(self, bucket: str, key: str) -> AsyncIterator[Path]:
        yield Path(key)

    async def head(self, bucket: str, key: str) -> ObjectMeta:
        st = os.stat(key)
        return ObjectMeta(key=key, size=st.st_size, etag=f"{st.st_ino:x}", last_modified=st.st_mtime)


def _gated_grab(gate: str, path: str, spec: SnapshotSpec) -> bytes:
    """In the worker: wait for one byte on the FIFO `gate` (the test opening the gate)."""
    with open(gate, "rb", buffering=0) as fifo:  # unbuffered: take one byte, leave the next
        return b"img" if fifo.read(1) else b""


async def test_admission_is_bounded_and_released(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "gate")
    gate = os.open(tmp_path / "gate", os.O_RDWR)  # never blocks; the worker's reads wait for bytes
    monkeypatch.setattr(sync_module, "grab_frame", functools.partial(_gated_grab, str(tmp_path / "gate")))
    sync = SyncProcessor(config.load(environ={}), _Storage(), workers=1, backlog=1)  # type: ignore[arg-type]
    try:
        first = asyncio.ensure_future(sync.snapshot(BUCKET, "a.mp4", SnapshotSpec(1.0)))
        second = asyncio.ensure_future(sync.snapshot(BUCKET, "b.mp4", SnapshotSpec(1.0)))
        await asyncio.sleep(0)
        assert sync.busy == 2
        with pytest.raises(ServiceUnavailable):
            await sync.snapshot(BUCKET, "c.mp4", SnapshotSpec(1.0))
        second.cancel()  # a client that goes away: its work still holds its place until done
        await asyncio.sleep(0.05)
        assert sync.busy == 2
        os.write(gate, b"go")  # a byte for each request
        assert await first == b"img"
        for _ in range(100):
            if sync.busy == 0:
                break
            await asyncio.sleep(0.01)
        assert sync.busy == 0
    finally:
        os.close(gate)
        sync.close()


# --- isolation: the PyAV work runs in worker processes ------------------------------------


def _segfault(path: str, spec: SnapshotSpec) -> bytes:
    """In the worker: crash as a decoder can on a hostile file."""
    os.kill(os.getpid(), signal.SIGSEGV)
    return b""


def test_a_crashing_worker_answers_400_and_is_replaced(client: CosS3Client, server: ServerThread,
                                                       video: tuple[str, list[Pixels]],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    key, reference = video
    assert server.app is not None
    pool = server.app[SYNC].pool
    assert shown_frame(reference, image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="1"))))[0] == 25
    before = set(pool.pids)
    monkeypatch.setattr(sync_module, "grab_frame", _segfault)
    with pytest.raises(CosServiceError) as err:
        client.get_snapshot(Bucket=BUCKET, Key=key, Time="1")
    status, code, message = error_of(err)
    assert (status, code, "crashed" in message, key in message) == (400, "InvalidArgument", True, True)
    assert before - set(pool.pids)  # the crashed worker is gone
    monkeypatch.undo()
    picture = image(body(client.get_snapshot(Bucket=BUCKET, Key=key, Time="1", Format="png")))
    assert shown_frame(reference, picture)[0] == 25
    assert client.get_media_info(Bucket=BUCKET, Key=key)["MediaInfo"][0]["Stream"]["Video"]["Width"] == "320"


async def test_a_worker_killed_while_idle_costs_no_call(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=0.4)
    sync = SyncProcessor(config.load(environ={}), _Storage(), workers=1)  # type: ignore[arg-type]
    try:
        assert (await sync.media_info(BUCKET, str(clip)))["Stream"]["Video"][0]["Width"] == "320"
        (pid,) = sync.pool.pids
        exited = os.pidfd_open(pid)
        os.kill(pid, signal.SIGKILL)
        assert select.select([exited], [], [], 10)[0]  # readable once it has exited
        os.close(exited)
        assert (await sync.snapshot(BUCKET, str(clip), SnapshotSpec(0.1))).startswith(b"\xff\xd8")
        assert pid not in sync.pool.pids
    finally:
        sync.close()
    assert sync.pool.pids == []


async def test_a_worker_that_grew_too_big_after_a_call_is_replaced() -> None:
    pool = ProcPool(1, "test", max_rss=1)  # every worker is too big once it has run a call
    try:
        first = await pool.call(os.getpid)
        assert await pool.call(os.getpid) != first
        assert first not in pool.pids
    finally:
        pool.close()


def _png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` RGB pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _rss() -> int:
    """This process's resident memory in bytes: the API process, as the server runs in a thread here."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0]) * 1024


def test_a_huge_decode_does_not_grow_the_api_process(client: CosS3Client) -> None:
    key = f"sync-{uuid.uuid4().hex[:6]}/bomb.png"
    client.put_object(Bucket=BUCKET, Key=key, Body=_png(16000, 16000))
    url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET",
                                   Params={"ci-process": "snapshot", "time": "0"})
    before = _rss()
    resp = requests.get(url, timeout=120)
    growth = _rss() - before
    assert resp.status_code in (200, 400), resp.text  # an image, or refused by a pixel budget
    if resp.status_code == 400:
        assert xmlio.parse(resp.content).findtext("Code") == "InvalidArgument"
    assert growth < 50 * 1024**2, f"the API process grew by {growth >> 20} MiB"


def _unprocessable(clip: bytes) -> dict[str, bytes]:
    """Objects named .mp4 that no processor can handle, each a different way."""
    flipped = bytearray(clip)
    for i in range(0, len(flipped), 97):
        flipped[i] ^= 0xFF
    return {
        "codec-flipped.mp4": clip.replace(b"avc1", bytes(b ^ 0xFF for b in b"avc1")),  # no decoder
        "every-97th-flipped.mp4": bytes(flipped),
        "drawing.mp4": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
    }


@pytest.mark.parametrize("params", [{"ci-process": "snapshot", "time": "1"}, {"ci-process": "videoinfo"}])
def test_unprocessable_media_answers_400_never_500(client: CosS3Client, tmp_path: Path,
                                                   params: dict[str, str]) -> None:
    folder = f"sync-bad-{uuid.uuid4().hex[:6]}"
    for name, data in _unprocessable(make_clip(tmp_path / "clip.mp4", seconds=1)).items():
        key = f"{folder}/{name}"
        client.put_object(Bucket=BUCKET, Key=key, Body=data)
        resp = requests.get(client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Params=params),
                            timeout=30)
        error = xmlio.parse(resp.content)
        assert (resp.status_code, error.tag, error.findtext("Code")) == (400, "Error", "InvalidArgument"), name
        message = error.findtext("Message") or ""
        assert key in message and "not a media file" in message and str(tmp_path) not in message, message


def test_absurd_snapshot_times_mean_past_the_end() -> None:
    assert snapshot_spec({"time": "99999999999999999999999"}).time == MAX_TIME
    assert snapshot_spec({"time": "1e308"}).time == MAX_TIME
    assert snapshot_spec({"time": "2.5"}).time == 2.5
    with pytest.raises(InvalidArgument):
        snapshot_spec({"time": "1e309"})  # inf


async def test_media_info_is_probed_once_per_object_version(tmp_path: Path) -> None:
    """A second MediaInfo of the same object version costs no worker call (nor do callers arriving
    during the probe); a rewritten object is probed again; a caller's changes to its answer do not
    reach the next caller; a failed probe is not kept."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=0.4)
    sync = SyncProcessor(config.load(environ={}), _Storage(), workers=1)  # type: ignore[arg-type]
    calls = 0
    real_call = sync.pool.call

    async def counted(*args: object) -> object:
        nonlocal calls
        calls += 1
        return await real_call(*args)  # type: ignore[arg-type]

    sync.pool.call = counted  # type: ignore[method-assign]
    try:
        first, again = await asyncio.gather(sync.media_info(BUCKET, str(clip)), sync.media_info(BUCKET, str(clip)))
        assert (calls, again) == (1, first)  # callers arriving while it is probed wait for that probe
        first["Stream"]["Video"][0]["Width"] = "changed"
        second = await sync.media_info(BUCKET, str(clip))
        assert (calls, second["Stream"]["Video"][0]["Width"]) == (1, "320")
        make_clip(clip, seconds=0.8)  # a new version of the object: new size and mtime
        os.utime(clip, (1.0, 1.0))
        third = await sync.media_info(BUCKET, str(clip))
        assert calls == 2 and float(third["Format"]["Duration"]) > float(second["Format"]["Duration"])
        (tmp_path / "bad.mp4").write_bytes(b"not a video")
        for _ in range(2):
            with pytest.raises(InvalidArgument):
                await sync.media_info(BUCKET, str(tmp_path / "bad.mp4"))
        assert calls == 4
    finally:
        sync.close()


async def test_media_view_is_made_once_per_object_version(tmp_path: Path) -> None:
    """A view of the MediaInfo (MPS's MetaData) is made once per object version and view: callers get
    their own copies; a rewritten object gets a new probe and a new view."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=0.4)
    sync = SyncProcessor(config.load(environ={}), _Storage(), workers=1)  # type: ignore[arg-type]
    made: list[str] = []

    def width(info: dict[str, Any]) -> dict[str, Any]:
        made.append(info["Stream"]["Video"][0]["Width"])
        return {"Width": int(info["Stream"]["Video"][0]["Width"]), "Duration": info["Format"]["Duration"]}

    try:
        first = await sync.media_view(BUCKET, str(clip), width)
        first["Width"] = 0
        second = await sync.media_view(BUCKET, str(clip), width)
        assert (made, second["Width"]) == (["320"], 320)
        make_clip(clip, seconds=0.8)
        os.utime(clip, (1.0, 1.0))
        third = await sync.media_view(BUCKET, str(clip), width)
        assert len(made) == 2 and float(third["Duration"]) > float(second["Duration"])
    finally:
        sync.close()
