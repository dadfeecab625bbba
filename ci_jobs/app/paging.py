"""Paging and list parameters shared by the list use cases."""

from __future__ import annotations

from ..errors import InvalidArgument


def int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high] (absent: `default`)."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name} must be an integer, not {raw!r}") from exc
    if not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low} and {high}")
    return value
