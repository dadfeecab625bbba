"""HTTP callback delivery to the address that was checked (see `ci_jobs.outbound`)."""

from __future__ import annotations

import aiohttp
from yarl import URL

from ..outbound import Policy, check_url, resolve
from ..store import Callback


class UrlSender:
    """POSTs callback bodies with one shared aiohttp session."""

    def __init__(self, timeout: float, policy: Policy) -> None:
        self.timeout = timeout
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    async def send(self, cb: Callback) -> None:
        """Deliver once; raise on any failure (non-2xx, timeout, refused target)."""
        url = str(cb.target["url"])
        check_url(url, self.policy)
        target = URL(url)
        host = target.raw_host or ""
        port = target.port or (443 if target.scheme == "https" else 80)
        address = await resolve(host, port, self.policy)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = {"Content-Type": cb.content_type, "Host": _host_header(target)}
        async with self._session.post(target.with_host(address), data=cb.body, headers=headers,
                                      allow_redirects=False,
                                      server_hostname=host if target.scheme == "https" else None) as resp:
            await resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"callback answered HTTP {resp.status}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()


def _host_header(url: URL) -> str:
    host = url.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    return host if url.explicit_port is None else f"{host}:{url.explicit_port}"
