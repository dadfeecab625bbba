"""The MPS body's JSON: UTF-8 text as clients send it, and what json.loads takes as bytes besides."""

from __future__ import annotations

import codecs

import pytest

from ci_jobs.protocols.mps.errors import InvalidParameter
from ci_jobs.protocols.mps.protocol import _params

BODY = '{"SessionContext": "caf\u00e9 \u89c6\u9891", "TasksPriority": 3}'


@pytest.mark.parametrize("raw", [BODY.encode(), codecs.BOM_UTF8 + BODY.encode(), BODY.encode("utf-16"),
                                 BODY.encode("utf-16-le"), BODY.encode("utf-32")],
                         ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le", "utf-32"])
def test_encodings_json_accepts(raw: bytes) -> None:
    assert _params(raw) == {"SessionContext": "caf\u00e9 \u89c6\u9891", "TasksPriority": 3}


def test_empty_body_is_an_empty_object() -> None:
    assert _params(b"") == {}


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe\xfd", b"[1, 2]", b"null", "{\"a\": 1}".encode("cp1252") + b"\x81"])
def test_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(InvalidParameter):
        _params(raw)


def test_nesting_past_the_parsers_depth_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="not JSON"):
        _params(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(InvalidParameter, match="not JSON"):
        _params(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
