"""Property-based fuzzing of `POST /jobs`: whatever the body, no 5xx, and every 4xx is CI error XML."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ci_jobs import xmlio
from ci_jobs.server import create_app

from .conftest import make_settings
from .harness import ServerThread
from .signing import signed

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "jobs").glob("*.xml"))
NAMES = ["Request", "Tag", "Input", "Object", "Operation", "Transcode", "Snapshot", "Animation", "MediaInfo",
         "Segment", "Concat", "Container", "Format", "Video", "Audio", "Codec", "Width", "Height", "Fps",
         "Bitrate", "Crf", "Output", "Bucket", "Region", "QueueId", "CallBack", "CallBackType", "TemplateId",
         "JobLevel", "Mode", "Count", "Start", "Duration", "TimeInterval", "Watermark", "Text", "Url",
         "ConcatTemplate", "ConcatFragment", "UserData", "WatermarkTemplateId", "SpriteObject", "Rotate"]
TEXT = st.one_of(st.sampled_from(["", "0", "-1", "1e309", "nan", "mp4", "H.264", "Transcode", "${ext}",
                                  "../../etc/passwd", "a" * 2000, "9" * 40, "http://169.254.169.254/"]),
                 st.text(max_size=40))
TREE = st.recursive(TEXT, lambda children: st.dictionaries(st.sampled_from(NAMES), children | st.lists(
    children, max_size=3), max_size=6), max_leaves=30)


def _mutate(data: bytes, rnd: random.Random, edits: int) -> bytes:
    buf = bytearray(data)
    for _ in range(edits):
        op = rnd.randrange(3)
        pos = rnd.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rnd.randrange(256)
        elif op == 1:
            buf[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
        else:
            del buf[pos:pos + rnd.randrange(1, 16)]
    return bytes(buf)


BODIES = st.one_of(
    TREE.map(lambda tree: xmlio.dumps("Request", tree if isinstance(tree, dict) else {"Tag": tree})),
    st.tuples(st.sampled_from(EXAMPLES), st.integers(0, 2**32), st.integers(1, 12)).map(
        lambda t: _mutate(t[0].read_bytes(), random.Random(t[1]), t[2])),
    st.tuples(st.sampled_from(EXAMPLES), st.sampled_from(["utf-16", "utf-32", "utf-16-be", "latin-1"])).map(
        lambda t: t[0].read_text().replace("utf-8", t[1]).encode(t[1], "replace")),
    st.binary(max_size=300),
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """An API-only server: accepted jobs stay Submitted, nothing runs."""
    srv = ServerThread(lambda: create_app(make_settings(tmp_path_factory.mktemp("fuzz"),
                                                        workers_enabled=False))).start()
    yield srv
    srv.stop()


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
def test_post_jobs_never_5xx(api: ServerThread, body: bytes) -> None:
    host = f"127.0.0.1:{api.port}"
    resp = requests.post(api.endpoint + "/jobs", data=body, timeout=10,
                         headers={**signed("POST", "/jobs", host), "Content-Type": "application/xml"})
    assert resp.status_code < 500, (resp.status_code, body[:200], resp.content[:300])
    root: Any = etree.fromstring(resp.content)
    if resp.status_code >= 400:
        assert root.tag == "Error" and root.findtext("Code") and root.findtext("RequestId")
    else:
        assert root.tag == "Response" and root.find("JobsDetail") is not None
