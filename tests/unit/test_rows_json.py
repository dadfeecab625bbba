"""The JSON columns' text: exactly json.dumps(value, ensure_ascii=False), from one shared C encoder."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_jobs.store import rows

_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                               max_size=4),
                       max_leaves=30)


@given(_VALUES)
def test_same_text_as_json_dumps(value: object) -> None:
    assert rows.json_text(value) == json.dumps(value, ensure_ascii=False)


def test_non_ascii_kept_and_specials_as_json_writes_them() -> None:
    value = {"Object": "视频/é.mp4", "n": [math.inf, -0.0, 1e300], "t": (1, "a"), "q": '"\\\n\u2028'}
    assert rows.json_text(value) == json.dumps(value, ensure_ascii=False)
    assert "视频" in rows.json_text(value)


def test_what_json_refuses_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        rows.json_text({"a": {1, 2}})
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        rows.json_text(loop)
