"""A COS-only server (local storage, no job service) and the official SDK aimed at it two ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from qcloud_cos import CosConfig, CosS3Client

from ci_jobs import config
from ci_jobs.api.app import build_app
from ci_jobs.storage.local import LocalStorage

from ..harness import ServerThread

BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"
SECRET_ID = "AKIDEXAMPLE"
SECRET_KEY = "EXAMPLEKEY"
COS_HOST = f"{BUCKET}.cos.{REGION}.myqcloud.com"


@pytest.fixture(scope="module")
def cos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The API with the shipped demo settings over a private LocalStorage, on loopback."""
    root = tmp_path_factory.mktemp("cos")
    settings = config.load(environ={})
    storage = LocalStorage(Path(root) / "buckets")

    async def factory() -> web.Application:
        for bucket in settings.buckets:
            await storage.ensure_bucket(bucket.name)
        return build_app(settings, service=None, storage=storage)

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
