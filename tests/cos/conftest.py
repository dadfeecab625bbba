"""A COS-only server (no job service) over each storage adapter, and the official SDK aimed at it two ways.

The server runs once per module and adapter: `local` (files in a temp dir) and `s3` (S3Storage on the
storage tests' moto server, with a bucket prefix of its own), so the SDK suite checks the COS API
unchanged on top of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from qcloud_cos import CosConfig, CosS3Client

from ci_jobs import config
from ci_jobs.protocols.root import build_app
from ci_jobs.storage import Storage
from ci_jobs.storage.local import LocalStorage
from ci_jobs.storage.s3 import S3Storage

from ..harness import ServerThread
from ..storage.conftest import s3_url

BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"
SECRET_ID = "AKIDEXAMPLE"
SECRET_KEY = "EXAMPLEKEY"
COS_HOST = f"{BUCKET}.cos.{REGION}.myqcloud.com"


@pytest.fixture(scope="module", params=["local", "s3"])
def cos_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The API with the shipped demo settings over a private storage of each adapter, on loopback."""
    root = tmp_path_factory.mktemp("cos")
    settings = config.load(environ={})
    storage: Storage = (LocalStorage(Path(root) / "buckets") if request.param == "local"
                        else S3Storage.from_url(s3_url("c") + f"&tmp_dir={root}"))

    async def factory() -> web.Application:
        for bucket in settings.buckets:  # S3Storage opens its client here, on the server's loop
            await storage.ensure_bucket(bucket.name)
        app = build_app(settings, service=None, storage=storage)
        if isinstance(storage, S3Storage):
            app.on_cleanup.append(lambda _: storage.close())
        return app

    srv = ServerThread(factory).start()
    yield srv
    srv.stop()


def ip_client(port: int, **conf: Any) -> CosS3Client:
    """IP/Port mode: requests go to 127.0.0.1 with `Host: <bucket>.cos.<region>.myqcloud.com`."""
    conf.setdefault("SecretKey", SECRET_KEY)
    return CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID, IP="127.0.0.1", Port=port,
                                 Scheme="http", **conf), retry=0)


def proxy_client(endpoint: str, **conf: Any) -> CosS3Client:
    """Default host names through an HTTP proxy: the server sees absolute request URIs."""
    conf.setdefault("SecretKey", SECRET_KEY)
    return CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID, Scheme="http",
                                 Proxies={"http": endpoint}, **conf), retry=0)


@pytest.fixture(params=["ip", "proxy"])
def cos(request: pytest.FixtureRequest, cos_server: ServerThread) -> CosS3Client:
    """The SDK in each addressing mode."""
    if request.param == "ip":
        return ip_client(cos_server.port)
    return proxy_client(cos_server.endpoint)
