"""Reading a CI request body with a size limit."""

from __future__ import annotations

from aiohttp import web

from ...errors import EntityTooLarge
from ...xmlio import MAX_BODY


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """Read a CI request body, refusing more than `limit` bytes without buffering them."""
    if request.content_length is not None and request.content_length > limit:
        raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise EntityTooLarge(f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)
