"""The console API's JSON request bodies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ...errors import InvalidArgument


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; InvalidArgument for anything else (not JSON, nested past the parser's
    depth, an array or a scalar), never an internal error."""
    try:
        value = await request.json()
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidArgument(f"the body is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(value, dict):
        raise InvalidArgument("the body must be a JSON object")
    return value
