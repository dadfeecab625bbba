"""HTTP callback delivery, refusing link-local targets (cloud metadata endpoints) unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp

from ..errors import InvalidArgument
from ..store import Callback


def check_url(url: str, allow_link_local: bool) -> None:
    """Refuse non-http(s) URLs and literal link-local addresses (submit-time check)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"CallBack {url!r} must be an http(s) URL")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if ip.is_link_local and not allow_link_local:
        raise InvalidArgument(f"CallBack {url!r} targets a link-local address, which is not allowed")


async def _check_resolved(host: str, port: int, allow_link_local: bool) -> None:
    if allow_link_local:
        return
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        if ipaddress.ip_address(info[4][0]).is_link_local:
            raise InvalidArgument(f"callback host {host} resolves to a link-local address")


class UrlSender:
    """POSTs callback bodies with one shared aiohttp session."""

    def __init__(self, timeout: float, allow_link_local: bool) -> None:
        self.timeout = timeout
        self.allow_link_local = allow_link_local
        self._session: aiohttp.ClientSession | None = None

    async def send(self, cb: Callback) -> None:
        """Deliver once; raise on any failure (non-2xx, timeout, refused target)."""
        url = str(cb.target["url"])
        check_url(url, self.allow_link_local)
        parts = urlsplit(url)
        await _check_resolved(parts.hostname or "", parts.port or 80, self.allow_link_local)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        async with self._session.post(url, data=cb.body, headers={"Content-Type": cb.content_type},
                                      allow_redirects=False) as resp:
            await resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"callback answered HTTP {resp.status}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
