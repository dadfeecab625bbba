"""URL inputs: downloaded by the runner under the callbacks' SSRF rules; URLs of this server's own objects read
from storage; refusals of loopback, link-local and metadata addresses in their spellings."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiohttp import web
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import mps_client

from ci_jobs import config, fetch
from ci_jobs.errors import JobFailed
from ci_jobs.outbound import Policy
from ci_jobs.protocols.mps import codec
from ci_jobs.protocols.mps.errors import InvalidParameterValue

from ..conftest import BUCKET, REGION, clip_bytes
from ..harness import ServerThread
from .conftest import fetch as download
from .conftest import process, wait_finish

OUT = {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}}
SHOT = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}]}


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A plain HTTP server with the clip at /media/clip.mp4, a redirect to it and one to the metadata address."""
    body = clip_bytes(tmp_path_factory.mktemp("origin") / "clip.mp4", seconds=1.0, size="160x120")

    def factory() -> web.Application:
        app = web.Application()

        async def clip(_: web.Request) -> web.Response:
            return web.Response(body=body, content_type="video/mp4")

        async def moved(_: web.Request) -> web.Response:
            raise web.HTTPFound("/media/clip.mp4")

        async def metadata(_: web.Request) -> web.Response:
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

        app.router.add_get("/media/clip.mp4", clip)
        app.router.add_get("/moved.mp4", moved)
        app.router.add_get("/sneaky.mp4", metadata)
        return app

    srv = ServerThread(factory).start()
    yield srv
    srv.stop()


def url_input(url: str) -> dict[str, Any]:
    return {"Type": "URL", "UrlInputInfo": {"Url": url}}


def test_a_url_is_downloaded_and_processed(client: mps_client.MpsClient, cos: CosS3Client, origin: ServerThread,
                                           tmp_path: Path) -> None:
    task_id = process(client, {"InputInfo": url_input(f"{origin.endpoint}/moved.mp4?sig=1"), "OutputStorage": OUT,
                               "OutputDir": "/mps/url/", "MediaProcessTask": {
                                   "TranscodeTaskSet": [{"Definition": 1010}], **SHOT}})
    resp = wait_finish(client, task_id)
    assert resp.WorkflowTask.InputInfo.UrlInputInfo.Url.endswith("/moved.mp4?sig=1")
    transcode, shot = (r.TranscodeTask or r.SnapshotByTimeOffsetTask for r in resp.WorkflowTask.MediaProcessResultSet)
    assert (transcode.Status, shot.Status) == ("SUCCESS", "SUCCESS"), (transcode.Message, shot.Message)
    assert transcode.Output.Path == "/mps/url/moved_transcode_1010.mp3"
    meta = resp.WorkflowTask.MetaData  # described by the job that downloaded it
    assert (meta.Width, meta.Height) == (160, 120) and meta.Duration == pytest.approx(1.0, abs=0.15)
    with av.open(str(download(cos, transcode.Output.Path, tmp_path))) as c:
        assert float(c.duration or 0) / 1e6 == pytest.approx(1.0, abs=0.15)
    with av.open(str(download(cos, shot.Output.PicInfoSet[0].Path, tmp_path))) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (160, 120)


def test_a_url_of_this_servers_own_object_is_read_from_storage(client: mps_client.MpsClient, clip: str) -> None:
    """The bucket's COS host does not resolve here: the object is read directly, and probed for MetaData."""
    url = f"http://{BUCKET}.cos.{REGION}.myqcloud.com/{clip}"
    resp = wait_finish(client, process(client, {"InputInfo": url_input(url), "MediaProcessTask": SHOT}))
    shot = resp.WorkflowTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask
    assert shot.Status == "SUCCESS", shot.Message
    assert shot.Output.PicInfoSet[0].Path == "/mps/in/clip_snapshotByTimeOffset_10_0.jpg"
    assert resp.WorkflowTask.MetaData.Width == 160


def test_a_redirect_to_the_metadata_address_fails_the_subtask(client: mps_client.MpsClient,
                                                              origin: ServerThread) -> None:
    resp = wait_finish(client, process(client, {"InputInfo": url_input(f"{origin.endpoint}/sneaky.mp4"),
                                                "OutputStorage": OUT, "MediaProcessTask": SHOT}))
    shot = resp.WorkflowTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask
    assert (shot.Status, shot.ErrCodeExt) == ("FAIL", "InputNotFound")
    assert "169.254.169.254" in shot.Message and "link-local" in shot.Message


@pytest.mark.parametrize("url", ["http://169.254.169.254/a.mp4", "http://[::ffff:169.254.169.254]/a.mp4",
                                 "http://2852039166/a.mp4", "http://0xa9.0xfe.0xa9.0xfe/a.mp4",
                                 "http://100.100.100.200/a.mp4", "http://[fe80::1]/a.mp4"])
def test_link_local_and_metadata_urls_are_refused_at_submit(client: mps_client.MpsClient, url: str) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        process(client, {"InputInfo": url_input(url), "OutputStorage": OUT, "MediaProcessTask": SHOT})
    assert info.value.get_code() == "InvalidParameterValue.InputInfo"
    assert "UrlInputInfo.Url" in info.value.get_message()


def test_a_url_input_needs_an_output_bucket(client: mps_client.MpsClient, origin: ServerThread) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        process(client, {"InputInfo": url_input(f"{origin.endpoint}/media/clip.mp4"), "MediaProcessTask": SHOT})
    assert info.value.get_code() == "MissingParameter" and "OutputStorage" in info.value.get_message()


@pytest.mark.parametrize("url", ["http://127.0.0.1/a.mp4", "http://localhost/a.mp4", "http://2130706433/a.mp4",
                                 "http://0177.0.0.1/a.mp4", "http://[::1]/a.mp4", "http://[::ffff:7f00:1]/a.mp4",
                                 "http://0.0.0.0/a.mp4"])
def test_loopback_urls_are_refused_unless_allowed(tmp_path: Path, url: str) -> None:
    settings = config.load(None, {"data_dir": str(tmp_path)}, environ={})
    assert not settings.callbacks.allow_loopback
    body = {"InputInfo": url_input(url), "OutputStorage": OUT, "MediaProcessTask": SHOT}
    with pytest.raises(InvalidParameterValue) as info:
        codec.process_media(body, settings.accounts[0], settings)
    assert "UrlInputInfo.Url" in info.value.message


def test_the_runner_side_guard_and_the_size_bound(origin: ServerThread, tmp_path: Path) -> None:
    """A host that resolves to loopback is refused at download time; a body over the bound fails the job."""
    async def attempt(url: str, policy: Policy, max_bytes: int = fetch.MAX_BYTES) -> int:
        async with fetch.local_copy(url, tmp_path, policy, max_bytes=max_bytes) as path:
            return path.stat().st_size

    names = ["localhost."]
    if socket.gethostbyname(socket.gethostname()).startswith("127."):
        names.append(socket.gethostname())  # a plain name that only the resolver maps to loopback
    for name in names:
        with pytest.raises(JobFailed) as info:
            asyncio.run(attempt(f"http://{name}:{origin.port}/media/clip.mp4", Policy()))
        assert "loopback" in info.value.message
    assert asyncio.run(attempt(f"{origin.endpoint}/media/clip.mp4", Policy(allow_loopback=True))) > 1000
    with pytest.raises(JobFailed) as info:
        asyncio.run(attempt(f"{origin.endpoint}/media/clip.mp4", Policy(allow_loopback=True), max_bytes=100))
    assert "at most 100" in info.value.message
    assert not list(tmp_path.iterdir())  # the temporary copies are gone
