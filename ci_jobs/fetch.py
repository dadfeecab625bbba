"""URL inputs: a job's input downloaded to a local file under the callbacks' SSRF guard, bounded in size and time.

The rules are `outbound`'s: the URL must be http(s), its host is resolved once and every answer
checked (loopback and link-local/metadata refused unless `[callbacks]` allows them, in every
spelling), and the connection goes to the address that was checked. Redirects are followed by
hand, at most MAX_REDIRECTS, each hop checked the same way. A body over MAX_BYTES, or a download
that takes longer than TIMEOUT seconds in all (or stalls for READ_TIMEOUT), fails the job.
"""

from __future__ import annotations

import contextlib
import posixpath
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from .domain.failures import Failure
from .errors import InvalidArgument, JobFailed
from .outbound import Policy, check_url, resolve

MAX_BYTES = 4 * 1024 ** 3  # 4 GiB: larger inputs belong in a bucket
TIMEOUT = 1800.0           # seconds for the whole download
READ_TIMEOUT = 60.0        # seconds without a byte
MAX_REDIRECTS = 5
_CHUNK = 1 << 20


@contextlib.asynccontextmanager
async def local_copy(url: str, folder: Path, policy: Policy, *, max_bytes: int = MAX_BYTES,
                     timeout: float = TIMEOUT) -> AsyncIterator[Path]:
    """The body of `url` in a temporary file under `folder` (removed on exit); JobFailed when it cannot be had."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="url-", dir=folder) as tmp:
        path = Path(tmp) / (_name(url) or "input")
        try:
            await _download(url, path, policy, max_bytes, timeout)
        except TimeoutError as exc:
            raise JobFailed(Failure.INPUT_NOT_FOUND, f"The input URL {url} took longer than {timeout:g} s "
                                                     "to download.") from exc
        except aiohttp.ClientError as exc:
            raise JobFailed(Failure.INPUT_NOT_FOUND, f"The input URL {url} could not be downloaded: "
                                                     f"{exc or type(exc).__name__}.") from exc
        except InvalidArgument as exc:
            raise JobFailed(Failure.INPUT_NOT_FOUND, f"The input URL is refused: {exc.message}.") from exc
        yield path


def _name(url: str) -> str:
    """The URL's file name, safe as a local name (the extension helps demuxers guess)."""
    name = posixpath.basename(urlsplit(url).path)
    return "".join(c for c in name if c.isalnum() or c in "._-")[-100:].lstrip(".")


async def _download(url: str, path: Path, policy: Policy, max_bytes: int, timeout: float) -> None:
    limits = aiohttp.ClientTimeout(total=timeout, sock_read=min(READ_TIMEOUT, timeout))
    async with aiohttp.ClientSession(timeout=limits, auto_decompress=False) as session:
        for _ in range(MAX_REDIRECTS + 1):
            async with await _get(session, url, policy) as resp:
                if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status != 200:
                    raise JobFailed(Failure.INPUT_NOT_FOUND, f"The input URL {url} answered HTTP {resp.status}.")
                if (resp.content_length or 0) > max_bytes:
                    raise JobFailed(Failure.INVALID_INPUT, f"The input URL {url} is {resp.content_length} "
                                                           f"bytes; at most {max_bytes} are fetched.")
                await _save(resp, path, url, max_bytes)
                return
    raise JobFailed(Failure.INPUT_NOT_FOUND, f"The input URL redirects more than {MAX_REDIRECTS} times.")


async def _get(session: aiohttp.ClientSession, url: str, policy: Policy) -> aiohttp.ClientResponse:
    """GET `url` from the address its host was checked to resolve to."""
    check_url(url, policy, "InputInfo.UrlInputInfo.Url")
    target = URL(url)
    host = target.raw_host or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    address = await resolve(host, port, policy, "input URL")
    netloc = f"[{host}]" if ":" in host else host
    headers = {"Host": netloc if target.explicit_port is None else f"{netloc}:{target.explicit_port}"}
    return await session.get(target.with_host(address), headers=headers, allow_redirects=False,
                             server_hostname=host if target.scheme == "https" else None)


async def _save(resp: aiohttp.ClientResponse, path: Path, url: str, max_bytes: int) -> None:
    size = 0
    with path.open("wb") as out:
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise JobFailed(Failure.INVALID_INPUT, f"The input URL {url} is over {max_bytes} bytes; "
                                                       "that many at most are fetched.")
            out.write(chunk)
