"""The building blocks of submit-time rules: ranges, choices, sizes and time windows of wire values.

Each raises InvalidArgument naming the element by its dotted path (`Request.Operation.Transcode.Video.Fps`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import num, parse_color, section, text


def many(value: Any) -> list[dict[str, Any]]:
    """A maybe-repeated container as a list of dicts (absent -> [])."""
    items = value if isinstance(value, list) else [value]
    return [dict(i) for i in items if isinstance(i, dict)]


def number_range(parent: Mapping[str, Any], key: str, where: str, lo: float, hi: float, *,
                 lo_open: bool = False, hi_open: bool = False, zero_ok: bool = False,
                 choices: tuple[int, ...] = ()) -> None:
    """Refuse leaf `key` unless it is a number in [lo, hi] (open ends, 0 allowed or a set of choices)."""
    raw = text(parent, key)
    if not raw:
        return
    value = _number(raw)
    name = f"{where}.{key} {raw}"
    if value is None:
        raise InvalidArgument(f"{name} is not a number")
    if zero_ok and value == 0:
        return
    if choices and value not in choices:
        raise InvalidArgument(f"{name} must be one of {', '.join(map(str, choices))}")
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise InvalidArgument(f"{name} is out of range {left}{lo:g}, {hi:g}{right}")


def _number(raw: str) -> float | None:
    """A finite number, as `num` reads it, from already-stripped text."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def choice(parent: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> None:
    """Refuse leaf `key` unless it is one of `allowed` (case-insensitive)."""
    raw = text(parent, key)
    if raw and raw.lower() not in _lowered(allowed):
        raise InvalidArgument(f"{where}.{key} {raw} must be one of {', '.join(allowed)}")


@functools.lru_cache(maxsize=256)
def _lowered(allowed: tuple[str, ...]) -> frozenset[str]:
    # The rule tables are module constants: each is lowered once, not on every submitted job.
    return frozenset(a.lower() for a in allowed)


def size(parent: Mapping[str, Any], where: str) -> None:
    """Width and Height: 0 (follow the source) or 128-4096 px."""
    for key in ("Width", "Height"):
        number_range(parent, key, where, 128, 4096, zero_ok=True)


def time_interval(params: Mapping[str, Any], where: str) -> None:
    """TimeInterval{Start, Duration}: non-negative seconds."""
    interval = section(params, "TimeInterval")
    for key in ("Start", "Duration"):
        number_range(interval, key, f"{where}.TimeInterval", 0, 1e9)


def window(params: Mapping[str, Any], start: str, end: str, where: str,
           phrase: str = "must be greater than") -> None:
    """Two time leaves: non-negative seconds, the end after the start."""
    number_range(params, start, where, 0, 1e9)
    number_range(params, end, where, 0, 1e9)
    lo, hi = num(params, start), num(params, end)
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidArgument(f"{where}.{end} {hi:g} {phrase} {start} {lo:g}")


def color(params: Mapping[str, Any], key: str, where: str) -> None:
    """Refuse leaf `key` unless it is a colour FFmpeg understands."""
    raw = text(params, key)
    if raw and parse_color(raw) is None:
        raise InvalidArgument(f"{where}.{key} {raw} is not a colour such as 0xFF0000 or #FF0000")
